//! Simulates compaction strategies without I/O: flushes equal tables of
//! uniformly spread keys, runs every task a strategy plans (one at a time,
//! modelling outputs: merges write their inputs' bytes, split as the task asks)
//! and prints write amplification and table counts.
//!
//! Usage: `compaction-sim [flushes] [flush_mib]` (defaults 200 and 64).

use std::collections::HashSet;
use storage::compaction::{CompactionTask, SsTableDescriptor, TaskKind, strategy_for};
use storage::{CompactionStrategyOptions, TimeWindowOptions};
use storage::{DecoratedKey, Timestamp, Token};

const MIB: u64 = 1 << 20;
const KEYS: i64 = 1 << 40;
/// Ten minutes between flushes, in µs.
const FLUSH_INTERVAL_US: i64 = 600 * 1_000_000;

fn table(
    generation: u64,
    size: u64,
    level: u32,
    keys: (i64, i64),
    ts: (i64, i64),
) -> SsTableDescriptor {
    SsTableDescriptor {
        generation,
        size_bytes: size,
        level,
        min_key: DecoratedKey::new(Token(keys.0), Vec::new()),
        max_key: DecoratedKey::new(Token(keys.1), Vec::new()),
        min_timestamp: Timestamp(ts.0),
        max_timestamp: Timestamp(ts.1),
        max_local_deletion_time: i64::MAX,
        droppable_tombstone_ratio: 0.0,
    }
}

/// Replaces the task's inputs by its modelled outputs; returns bytes written.
fn apply(tables: &mut Vec<SsTableDescriptor>, task: &CompactionTask, next_gen: &mut u64) -> u64 {
    let (inputs, rest): (Vec<_>, Vec<_>) = tables
        .drain(..)
        .partition(|t| task.inputs.contains(&t.generation));
    *tables = rest;
    if task.kind == TaskKind::Move {
        tables.extend(inputs.into_iter().map(|t| SsTableDescriptor {
            level: task.output_level,
            ..t
        }));
        return 0;
    }
    let (Some(lo), Some(hi)) = (
        inputs.iter().map(|t| t.min_key.token.0).min(),
        inputs.iter().map(|t| t.max_key.token.0).max(),
    ) else {
        return 0;
    };
    if task.kind == TaskKind::DropExpired {
        return 0;
    }
    let bytes: u64 = inputs.iter().map(|t| t.size_bytes).sum();
    let ts = (
        inputs.iter().map(|t| t.min_timestamp.0).min().unwrap_or(0),
        inputs.iter().map(|t| t.max_timestamp.0).max().unwrap_or(0),
    );
    let parts = task
        .max_output_bytes
        .map_or(1, |m| bytes.div_ceil(m.max(1)))
        .max(1);
    let width = (hi - lo) / parts as i64 + 1;
    for i in 0..parts as i64 {
        let start = lo + i * width;
        let end = (start + width - 1).min(hi);
        tables.push(table(
            *next_gen,
            bytes / parts,
            task.output_level,
            (start, end),
            ts,
        ));
        *next_gen += 1;
    }
    bytes
}

struct Outcome {
    write_amplification: f64,
    tables: usize,
    max_tables: usize,
    levels: Vec<usize>,
}

fn simulate(opts: &CompactionStrategyOptions, flushes: u64, flush_bytes: u64) -> Outcome {
    let strategy = strategy_for(opts);
    let (mut tables, mut next_gen, mut written, mut max_tables) = (Vec::new(), 1u64, 0u64, 0);
    for i in 0..flushes as i64 {
        let ts = (i * FLUSH_INTERVAL_US, (i + 1) * FLUSH_INTERVAL_US - 1);
        tables.push(table(next_gen, flush_bytes, 0, (0, KEYS), ts));
        next_gen += 1;
        written += flush_bytes;
        max_tables = max_tables.max(tables.len());
        while let Some(task) = strategy.next_task(&tables, &HashSet::new(), 0) {
            written += apply(&mut tables, &task, &mut next_gen);
        }
    }
    let mut levels = vec![0; 9];
    for t in &tables {
        levels[(t.level as usize).min(8)] += 1;
    }
    Outcome {
        write_amplification: written as f64 / (flushes * flush_bytes) as f64,
        tables: tables.len(),
        max_tables,
        levels,
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let flushes = args.next().and_then(Result::ok).unwrap_or(200);
    let flush_mib = args.next().and_then(Result::ok).unwrap_or(64);
    println!("{flushes} flushes of {flush_mib} MiB, keys spread over the whole ring");
    let strategies = [
        ("size-tiered", CompactionStrategyOptions::default()),
        (
            "leveled",
            CompactionStrategyOptions::Leveled(Default::default()),
        ),
        (
            "time-window (1 h)",
            CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
                window_size_seconds: 3600,
                ..Default::default()
            }),
        ),
    ];
    for (name, opts) in strategies {
        let o = simulate(&opts, flushes, flush_mib * MIB);
        let levels: Vec<String> = o.levels.iter().map(usize::to_string).collect();
        println!(
            "{name:>18}: write amplification {:5.2}, {:4} tables at the end (peak {:4}), per level {}",
            o.write_amplification,
            o.tables,
            o.max_tables,
            levels.join("/")
        );
    }
}
