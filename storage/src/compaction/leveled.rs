//! Leveled compaction: bounded read and space amplification for update-heavy tables.
//!
//! Flushes land in L0, whose tables overlap. Every level N ≥ 1 is a sorted run
//! of non-overlapping tables of about `sstable_size` bytes, with a target size
//! of `sstable_size × fanout^N`. Once L0 holds four tables they are merged with
//! the L1 tables they overlap into L1; once a level exceeds its target, one of
//! its tables (round-robin through the key space, as in Cassandra) is merged
//! with the tables it overlaps in the next level. The level with the highest
//! score (L0: tables / 4; others: size / target) goes first.
//!
//! A table that overlaps nothing in the next level is moved there without
//! being rewritten ([`TaskKind::Move`]). Major compaction merges everything
//! into one sorted run in L1; moves then push the excess down level by level
//! at no I/O cost.
//!
//! Concurrent tasks must not create overlaps in a level. A task into level
//! N+1 ≥ 2 takes every N+1 table its source table overlaps, so it is refused if
//! one of them is compacting: a running task's output lies within its inputs'
//! key range, which is connected (each next-level input overlaps the source
//! table), so a range that meets no running task's input meets no running
//! task's output. L0 inputs can be far apart, and one output may span the gap
//! between them, so a task into L1 is also refused while its range meets the
//! key hull of all compacting L0 tables. A major compaction takes every level
//! at once: background planning must pause while it runs.

use super::strategy::{CompactionStrategy, available, drop_expired_task};
use super::{CompactionTask, SsTableDescriptor, TaskKind};
use crate::key::DecoratedKey;
use crate::options::LeveledOptions;
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// The deepest level; it is never compacted further.
pub const MAX_LEVEL: u32 = 8;
/// L0 tables that trigger an L0 → L1 compaction (Cassandra's value).
const L0_TRIGGER: usize = 4;
/// The most L0 tables merged at once (Cassandra's `max_threshold`).
const L0_MAX_INPUTS: usize = 32;

/// The leveled planner.
#[derive(Debug)]
pub struct LeveledStrategy {
    opts: LeveledOptions,
    /// Per level, the last key compacted out of it: the next pick starts after it.
    last_compacted: Mutex<Vec<Option<DecoratedKey>>>,
}

impl LeveledStrategy {
    /// A planner with these options.
    pub fn new(opts: LeveledOptions) -> Self {
        LeveledStrategy {
            opts,
            last_compacted: Mutex::new(vec![None; MAX_LEVEL as usize + 1]),
        }
    }

    /// The target size of `level` (≥ 1).
    pub fn target_bytes(&self, level: u32) -> u64 {
        self.opts
            .sstable_size_bytes
            .saturating_mul(self.opts.fanout.saturating_pow(level))
    }

    /// Levels that need compaction, most urgent first.
    fn scores(&self, levels: &[Vec<&SsTableDescriptor>]) -> Vec<(f64, u32)> {
        let mut scores = Vec::new();
        if levels[0].len() >= L0_TRIGGER {
            scores.push((levels[0].len() as f64 / L0_TRIGGER as f64, 0));
        }
        for n in 1..MAX_LEVEL {
            let bytes: u64 = levels[n as usize].iter().map(|t| t.size_bytes).sum();
            let score = bytes as f64 / self.target_bytes(n) as f64;
            if score > 1.0 {
                scores.push((score, n));
            }
        }
        // Highest score first; on a tie the upper level, which reads touch first.
        scores.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scores
    }

    /// L0 → L1: the oldest available L0 tables with every L1 table they overlap.
    fn l0_task(
        &self,
        levels: &[Vec<&SsTableDescriptor>],
        busy: &Busy<'_>,
    ) -> Option<CompactionTask> {
        let mut l0: Vec<&SsTableDescriptor> = levels[0]
            .iter()
            .copied()
            .filter(|t| !busy.is_compacting(t))
            .collect();
        l0.sort_by_key(|t| t.generation);
        l0.truncate(L0_MAX_INPUTS);
        let (min, max) = hull(&l0)?;
        let l1 = overlapping(&levels[1], min, max);
        if busy.blocks(1, min, max, &l1) {
            return None;
        }
        let inputs = l0.iter().chain(&l1).map(|t| t.generation).collect();
        Some(self.merge_into(1, inputs))
    }

    /// Level N → N+1: the next available table after the last one compacted
    /// out of level N, with its overlaps in N+1.
    fn level_task(
        &self,
        n: u32,
        levels: &[Vec<&SsTableDescriptor>],
        busy: &Busy<'_>,
    ) -> Option<CompactionTask> {
        let mut last = self
            .last_compacted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut run: Vec<&SsTableDescriptor> = levels[n as usize].clone();
        run.sort_by(|a, b| a.min_key.cmp(&b.min_key));
        let start = last[n as usize]
            .as_ref()
            .map_or(0, |k| run.iter().position(|t| t.min_key > *k).unwrap_or(0));
        let next = &levels[n as usize + 1];
        for t in run[start..].iter().chain(&run[..start]) {
            if busy.is_compacting(t) {
                continue;
            }
            let below = overlapping(next, &t.min_key, &t.max_key);
            let (min, max) = hull(&below).map_or((&t.min_key, &t.max_key), |(lo, hi)| {
                (lo.min(&t.min_key), hi.max(&t.max_key))
            });
            if busy.blocks(n + 1, min, max, &below) {
                continue;
            }
            last[n as usize] = Some(t.max_key.clone());
            if below.is_empty() {
                return Some(CompactionTask {
                    inputs: vec![t.generation],
                    output_level: n + 1,
                    max_output_bytes: None,
                    kind: TaskKind::Move,
                });
            }
            let inputs = std::iter::once(t)
                .chain(&below)
                .map(|t| t.generation)
                .collect();
            return Some(self.merge_into(n + 1, inputs));
        }
        None
    }

    fn merge_into(&self, level: u32, inputs: Vec<u64>) -> CompactionTask {
        CompactionTask {
            inputs,
            output_level: level,
            max_output_bytes: Some(self.opts.sstable_size_bytes),
            kind: TaskKind::Merge,
        }
    }
}

/// Tables by level; levels beyond [`MAX_LEVEL`] count as the last.
fn by_level(sstables: &[SsTableDescriptor]) -> Vec<Vec<&SsTableDescriptor>> {
    let mut levels = vec![Vec::new(); MAX_LEVEL as usize + 1];
    for t in sstables {
        levels[t.level.min(MAX_LEVEL) as usize].push(t);
    }
    levels
}

/// The smallest and largest key of `tables`.
fn hull<'a>(tables: &[&'a SsTableDescriptor]) -> Option<(&'a DecoratedKey, &'a DecoratedKey)> {
    let min = tables.iter().map(|t| &t.min_key).min()?;
    let max = tables.iter().map(|t| &t.max_key).max()?;
    Some((min, max))
}

fn overlapping<'a>(
    level: &[&'a SsTableDescriptor],
    min: &DecoratedKey,
    max: &DecoratedKey,
) -> Vec<&'a SsTableDescriptor> {
    level
        .iter()
        .copied()
        .filter(|t| t.overlaps_range(min, max))
        .collect()
}

/// What running tasks hold.
struct Busy<'a> {
    compacting: &'a HashSet<u64>,
    l0_hull: Option<(&'a DecoratedKey, &'a DecoratedKey)>,
}

impl Busy<'_> {
    fn is_compacting(&self, t: &SsTableDescriptor) -> bool {
        self.compacting.contains(&t.generation)
    }

    /// Whether a task writing `[min, max]` into `level`, with `inputs` from that
    /// level, could collide with a running task.
    fn blocks(
        &self,
        level: u32,
        min: &DecoratedKey,
        max: &DecoratedKey,
        inputs: &[&SsTableDescriptor],
    ) -> bool {
        inputs.iter().any(|t| self.is_compacting(t))
            || (level == 1 && self.l0_hull.is_some_and(|(lo, hi)| lo <= max && min <= hi))
    }
}

impl CompactionStrategy for LeveledStrategy {
    fn next_task(
        &self,
        sstables: &[SsTableDescriptor],
        compacting: &HashSet<u64>,
        gc_before: i64,
    ) -> Option<CompactionTask> {
        if let Some(t) = drop_expired_task(sstables, compacting, gc_before) {
            return Some(t);
        }
        let levels = by_level(sstables);
        let busy_l0: Vec<_> = levels[0]
            .iter()
            .copied()
            .filter(|t| compacting.contains(&t.generation))
            .collect();
        let busy = Busy {
            compacting,
            l0_hull: hull(&busy_l0),
        };
        self.scores(&levels).into_iter().find_map(|(_, n)| match n {
            0 => self.l0_task(&levels, &busy),
            n => self.level_task(n, &levels, &busy),
        })
    }

    fn pending_tasks(&self, sstables: &[SsTableDescriptor]) -> usize {
        let levels = by_level(sstables);
        let mut n = if levels[0].len() >= L0_TRIGGER {
            levels[0].len().div_ceil(L0_MAX_INPUTS)
        } else {
            0
        };
        for l in 1..MAX_LEVEL {
            let bytes: u64 = levels[l as usize].iter().map(|t| t.size_bytes).sum();
            let excess = bytes.saturating_sub(self.target_bytes(l));
            n += excess.div_ceil(self.opts.sstable_size_bytes.max(1)) as usize;
        }
        n
    }

    /// Everything into one sorted run in L1, split at `sstable_size`.
    fn major_tasks(&self, sstables: &[SsTableDescriptor]) -> Vec<CompactionTask> {
        if sstables.is_empty() {
            return Vec::new();
        }
        let inputs = available(sstables, &HashSet::new())
            .iter()
            .map(|t| t.generation)
            .collect();
        vec![CompactionTask {
            kind: TaskKind::Major,
            ..self.merge_into(1, inputs)
        }]
    }
}
