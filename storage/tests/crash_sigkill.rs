//! Crash recovery under SIGKILL: a child process writes in `batch` or `group`
//! mode and reports each acknowledged write; the parent kills it at a random
//! moment, reopens the data directory, and checks that every acknowledged write
//! is present, that nothing was invented, and that nothing is duplicated.
//!
//! The child is this same test binary, re-run with `--ignored --exact` on the
//! `child_writer` entry point and told what to do through the environment.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::ManualClock;
use storage::StdFs;
use storage::SyncMode;
use storage::{
    Cell, ClusteringKey, ColumnId, DecoratedKey, Engine, EngineOptions, KeyRange, Mutation, Row,
    TableId, Token,
};
use storage::{ColumnFilter, ScanCommand, ScanItem};

const TABLE: TableId = TableId(0xc0ffee);
const ENV: &str = "BASALT_CRASH_CHILD";
const NOW: i64 = 1_700_000_000;

fn options(dir: &Path, group: bool) -> EngineOptions {
    let mut o = EngineOptions::new(dir, Arc::new(ManualClock::new(NOW)));
    o.commitlog.sync = if group {
        SyncMode::Group { window_us: 200 }
    } else {
        SyncMode::Batch
    };
    o.commitlog.segment_size_bytes = 256 << 10;
    // A small budget makes flushes (and so compactions) happen during the run,
    // so kills land in the middle of them too.
    o.memtable_budget_bytes = 256 << 10;
    o.compaction_throughput_mib_per_s = 0;
    o
}

/// The value a key must hold: derived from the key, so an invented or torn
/// value is detectable.
fn value_for(writer: u32, seq: u64) -> Vec<u8> {
    format!(
        "writer {writer} seq {seq} {}",
        "x".repeat((seq % 97) as usize)
    )
    .into_bytes()
}

fn key_for(round: u32, writer: u32, seq: u64) -> DecoratedKey {
    let key = format!("{round}:{writer}:{seq}");
    // Tokens are the caller's business; any stable spread will do here.
    let token = (seq as i64).wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64) ^ i64::from(writer);
    DecoratedKey::new(Token(token), key.into_bytes())
}

fn mutation(round: u32, writer: u32, seq: u64) -> Mutation {
    let row = Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(
            i64::from(round) * 1_000_000 + seq as i64,
            value_for(writer, seq),
        ),
    );
    Mutation::new(TABLE, key_for(round, writer, seq)).with_row(row)
}

/// The child: writes until killed, printing `ack <writer> <seq>` after each
/// acknowledged write.
#[test]
#[ignore = "entry point of the child process of crash_sigkill_rounds"]
fn child_writer() {
    let Ok(spec) = std::env::var(ENV) else { return };
    let parts: Vec<&str> = spec.split(',').collect();
    let (dir, round, group) = (
        Path::new(parts[0]),
        parts[1].parse::<u32>().unwrap(),
        parts[2] == "group",
    );
    let engine = Arc::new(Engine::open(Arc::new(StdFs), options(dir, group)).unwrap());
    if !engine.tables().contains(&TABLE) {
        engine.create_table(TABLE, Default::default()).unwrap();
    }
    let writers = if group { 4 } else { 1 };
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (engine, out) = (engine.clone(), out.clone());
            std::thread::spawn(move || {
                for seq in 0.. {
                    engine.apply(&mutation(round, w, seq)).unwrap();
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ack {w} {seq}").unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Everything in the table: key bytes → value.
fn contents(engine: &Engine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: NOW,
        include_tombstones: false,
    };
    let mut out = BTreeMap::new();
    let mut current = None;
    for item in engine.scan(TABLE, &cmd).unwrap() {
        match item.unwrap() {
            ScanItem::Partition { key, .. } => current = Some(key.key.to_vec()),
            ScanItem::Row(row) => {
                let key = current.clone().expect("a row follows its partition");
                let value = row.cells[0].cell.value_at(NOW).expect("live").to_vec();
                assert!(
                    out.insert(key.clone(), value).is_none(),
                    "duplicate row for {key:?}"
                );
            }
        }
    }
    out
}

fn run_child_and_kill(
    dir: &Path,
    round: u32,
    group: bool,
    kill_after: Duration,
) -> Vec<(u32, u64)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            ENV,
            format!(
                "{},{round},{}",
                dir.display(),
                if group { "group" } else { "batch" }
            ),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first_ack, first_ack_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut it = line.split_whitespace();
            if it.next() == Some("ack") {
                let w = it.next().unwrap().parse().unwrap();
                let s = it.next().unwrap().parse().unwrap();
                if acked.is_empty() {
                    let _ = first_ack.send(());
                }
                acked.push((w, s));
            }
        }
        acked
    });
    // The kill delay counts from the first acknowledged write, so a slow start
    // (a busy machine, a cold page cache) cannot leave a round with nothing to check.
    if first_ack_rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the child writer acknowledged nothing within 60 s");
    }
    let start = Instant::now();
    while start.elapsed() < kill_after {
        if child.try_wait().unwrap().is_some() {
            panic!("the child writer exited on its own");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn crash_sigkill_rounds() {
    let rounds: u32 = std::env::var("BASALT_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xba5a17);
    let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for round in 0..rounds {
        let group = round % 2 == 1;
        let kill_after = Duration::from_millis(rng.random_range(20..600));
        let acked = run_child_and_kill(dir.path(), round, group, kill_after);
        assert!(
            !acked.is_empty(),
            "round {round}: the child acknowledged nothing before it was killed"
        );
        for (w, s) in &acked {
            expected.insert(key_for(round, *w, *s).key.to_vec(), value_for(*w, *s));
        }
        let engine = Engine::open(Arc::new(StdFs), options(dir.path(), group)).unwrap();
        let found = contents(&engine);
        for (k, v) in &expected {
            let got = found.get(k);
            assert_eq!(
                got,
                Some(v),
                "round {round}: acknowledged write {} lost or changed",
                String::from_utf8_lossy(k)
            );
        }
        for (k, v) in &found {
            // Unacknowledged writes may survive (they reached the log before the
            // kill), but each must be one the child really made, with its value.
            let text = String::from_utf8_lossy(k);
            let parts: Vec<u64> = text.split(':').map(|p| p.parse().unwrap()).collect();
            assert!(parts[0] <= u64::from(round), "invented key {text}");
            assert_eq!(
                v,
                &value_for(parts[1] as u32, parts[2]),
                "wrong value for {text}"
            );
            expected.insert(k.clone(), v.clone());
        }
        engine.close().unwrap();
    }
}
