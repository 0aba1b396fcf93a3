//! The engine in inline mode (`Background::Inline`) on the simulated disk:
//! no thread is started, work falls due and runs on the calling thread, and
//! only the engine's clock decides what is due. Every assertion is about
//! state right after a call returns: nothing else could have changed it.
//!
//! Every test in this file runs the engine inline, so no storage thread may
//! exist in the process at any time, whichever tests run in parallel.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use storage::sim::SimFs;
use storage::{
    Background, Cell, ClusteringKey, ColumnFilter, ColumnId, CompactionStrategyOptions,
    DecoratedKey, Engine, EngineOptions, KeyRange, ManualClock, Mutation, Row, ScanCommand,
    ScanItem, SizeTieredOptions, SyncMode, TableId, TableOptions, TableStats, Token,
};

const T: TableId = TableId(7);
const RARE: TableId = TableId(8);
const START: i64 = 1_700_000_000;
/// A table's own memtable flush threshold in these tests.
const THRESHOLD: u64 = 4 << 10;

fn options(clock: &Arc<ManualClock>, sync: SyncMode) -> EngineOptions {
    let mut o = EngineOptions::new("/data", clock.clone());
    o.background = Background::Inline;
    o.commitlog.sync = sync;
    o.commitlog.segment_size_bytes = 4096;
    o.commitlog.max_recycled_segments = 1;
    o.commitlog_total_space_bytes = 64 << 20;
    o.memtable_budget_bytes = 64 << 20;
    // Left at a rate limit on purpose: inline, it must not throttle (sleep).
    o.compaction_throughput_mib_per_s = 1;
    o
}

fn open(fs: &SimFs, options: &EngineOptions) -> Engine {
    let engine = Engine::open(Arc::new(fs.clone()), options.clone()).unwrap();
    assert_no_storage_threads();
    engine
}

/// The names of the threads of this process (Linux's `/proc`).
fn thread_names() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// The engine's threads are `basalt-flush`, `basalt-compaction-N`,
/// `commitlog-alloc` and `commitlog-sync`.
fn assert_no_storage_threads() {
    let names = thread_names();
    assert!(!names.is_empty(), "no thread listed at all");
    let storage: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("basalt-") || n.starts_with("commitlog-"))
        .collect();
    assert!(storage.is_empty(), "storage threads running: {storage:?}");
}

fn table(threshold: Option<u64>, period_ms: u64) -> TableOptions {
    TableOptions {
        compaction: CompactionStrategyOptions::SizeTiered(SizeTieredOptions {
            min_threshold: 2,
            max_threshold: 4,
            ..SizeTieredOptions::default()
        }),
        memtable_flush_threshold_bytes: threshold,
        memtable_flush_period_ms: period_ms,
        ..TableOptions::default()
    }
}

/// Writes row `c` of partition `k` with a value of `len` bytes.
fn put(engine: &Engine, table: TableId, k: u8, c: u32, len: usize) {
    let row = Row::new(ClusteringKey::new(c.to_be_bytes().to_vec())).with_cell(
        ColumnId(1),
        None,
        Cell::live(i64::from(c), vec![k; len]),
    );
    let key = DecoratedKey::new(Token(i64::from(k)), vec![k]);
    engine
        .apply(&Mutation::new(table, key).with_row(row))
        .unwrap();
}

/// Every `(key, clustering)` a full scan of `table` returns.
fn rows(engine: &Engine, table: TableId) -> BTreeSet<(u8, u32)> {
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: START,
        include_tombstones: false,
    };
    let mut key = 0;
    let mut out = BTreeSet::new();
    for item in engine.scan(table, &cmd).unwrap() {
        match item.unwrap() {
            ScanItem::Partition { key: k, .. } => key = k.key[0],
            ScanItem::Row(r) => {
                let c = r.clustering.as_bytes().try_into().unwrap();
                out.insert((key, u32::from_be_bytes(c)));
            }
        }
    }
    out
}

fn stats(engine: &Engine, table: TableId) -> TableStats {
    engine.table_stats(table).unwrap()
}

#[test]
fn a_write_that_fills_the_memtable_flushes_it_before_returning() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &options(&clock, SyncMode::Batch));
    // No compaction: this test counts the flushes' SSTables.
    let mut opts = table(Some(THRESHOLD), 0);
    opts.compaction = CompactionStrategyOptions::SizeTiered(SizeTieredOptions {
        min_threshold: 32,
        max_threshold: 32,
        ..SizeTieredOptions::default()
    });
    engine.create_table(T, opts).unwrap();
    let mut flushes = 0;
    for c in 0..200 {
        let before = stats(&engine, T).memtable_bytes;
        put(&engine, T, (c % 5) as u8, c, 100);
        let after = stats(&engine, T);
        // With threads the write only requests the flush: the memtable would
        // still be full here, and the SSTable not written yet.
        assert!(
            after.memtable_bytes < THRESHOLD,
            "write {c} left {} bytes in the memtable",
            after.memtable_bytes
        );
        assert_eq!(after.flushing_memtables, 0);
        if after.flushes > flushes {
            assert!(
                after.memtable_bytes < before,
                "write {c} flushed, so the memtable restarted"
            );
            flushes = after.flushes;
        }
    }
    let s = stats(&engine, T);
    assert!(s.flushes >= 3, "only {} flushes", s.flushes);
    assert_eq!(s.sstable_count as u64, s.flushes);
    assert_eq!(s.compactions, 0);
    let expected: BTreeSet<(u8, u32)> = (0..200).map(|c| ((c % 5) as u8, c)).collect();
    assert_eq!(rows(&engine, T), expected);
    assert_no_storage_threads();
    engine.close().unwrap();
}

#[test]
fn a_flush_runs_the_compaction_it_makes_due_before_returning() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &options(&clock, SyncMode::Batch));
    engine.create_table(T, table(None, 0)).unwrap();
    put(&engine, T, 1, 1, 100);
    engine.flush(T).unwrap();
    assert_eq!(stats(&engine, T).sstable_count, 1);
    assert_eq!(stats(&engine, T).compactions, 0);
    // A second similar SSTable makes a size-tiered bucket of two (the
    // minimum here): the compaction has run when the flush returns.
    put(&engine, T, 2, 2, 100);
    engine.flush(T).unwrap();
    let s = stats(&engine, T);
    assert_eq!(s.compactions, 1);
    assert_eq!(s.sstable_count, 1);
    assert_eq!(s.compactions_running, 0);
    // So does a flush that a write starts.
    engine.alter_table(T, table(Some(THRESHOLD), 0)).unwrap();
    let mut c = 3;
    while stats(&engine, T).flushes < 3 {
        put(&engine, T, 3, c, 100);
        c += 1;
    }
    let s = stats(&engine, T);
    assert_eq!(s.compactions, 2);
    assert_eq!(s.sstable_count, 1);
    let mut expected: BTreeSet<(u8, u32)> = [(1, 1), (2, 2)].into();
    expected.extend((3..c).map(|c| (3, c)));
    assert_eq!(rows(&engine, T), expected);
    assert_no_storage_threads();
    engine.close().unwrap();
}

/// Writes, flushes and compacts on tiny segments, cuts the power without a
/// clean shutdown, and checks that every acknowledged write came back.
fn acknowledged_writes_survive_a_crash(sync: SyncMode) {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let options = options(&clock, sync);
    let engine = open(&fs, &options);
    engine.create_table(T, table(Some(THRESHOLD), 0)).unwrap();
    let mut acked = BTreeSet::new();
    for c in 0..300 {
        put(&engine, T, (c % 7) as u8, c, 60 + (c as usize % 50));
        acked.insert(((c % 7) as u8, c));
    }
    let s = stats(&engine, T);
    assert!(s.flushes > 0 && s.compactions > 0, "{s:?}");
    assert!(
        stats(&engine, T).memtable_bytes > 0,
        "the tail is only logged"
    );
    // The power goes while the engine is open: unsynced bytes are lost and
    // the shutdown that dropping the engine attempts cannot sync anything.
    fs.halt();
    drop(engine);
    fs.restart();
    let engine = open(&fs, &options);
    assert_eq!(rows(&engine, T), acked);
    engine.close().unwrap();
}

#[test]
fn acknowledged_writes_survive_a_crash_in_batch_mode() {
    acknowledged_writes_survive_a_crash(SyncMode::Batch);
}

#[test]
fn acknowledged_writes_survive_a_crash_in_group_mode() {
    acknowledged_writes_survive_a_crash(SyncMode::Group { window_us: 1000 });
}

#[test]
fn periodic_mode_syncs_the_log_when_the_clock_says_so() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let options = options(&clock, SyncMode::Periodic { interval_ms: 2000 });
    let engine = open(&fs, &options);
    engine.create_table(T, table(None, 0)).unwrap();
    put(&engine, T, 1, 1, 50);
    let syncs = engine.commitlog_stats().syncs;
    // Not due: one second of a two-second interval.
    clock.advance(1);
    engine.run_background_round().unwrap();
    assert_eq!(engine.commitlog_stats().syncs, syncs);
    clock.advance(1);
    engine.run_background_round().unwrap();
    assert!(engine.commitlog_stats().syncs > syncs, "the due sync ran");
    // The next interval counts from that sync.
    let syncs = engine.commitlog_stats().syncs;
    put(&engine, T, 1, 2, 50);
    clock.advance(1);
    engine.run_background_round().unwrap();
    assert_eq!(engine.commitlog_stats().syncs, syncs);
    // Power cut: what the sync covered survives, the write after it was
    // acknowledged with periodic mode's weaker promise and is gone.
    fs.halt();
    drop(engine);
    fs.restart();
    let engine = open(&fs, &options);
    assert_eq!(rows(&engine, T), [(1, 1)].into());
    engine.close().unwrap();
}

#[test]
fn the_background_round_flushes_a_memtable_whose_period_has_passed() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &options(&clock, SyncMode::Batch));
    engine.create_table(T, table(None, 10_000)).unwrap();
    engine.create_table(RARE, table(None, 0)).unwrap();
    put(&engine, T, 1, 1, 8);
    put(&engine, RARE, 1, 1, 8);
    clock.advance(9);
    engine.run_background_round().unwrap();
    assert_eq!(stats(&engine, T).flushes, 0, "9 s of a 10 s period");
    clock.advance(1);
    // Time alone does nothing inline: the round does.
    assert_eq!(stats(&engine, T).flushes, 0);
    engine.run_background_round().unwrap();
    let s = stats(&engine, T);
    assert_eq!((s.flushes, s.sstable_count, s.memtable_bytes), (1, 1, 0));
    // A table without a period keeps its memtable.
    assert_eq!(stats(&engine, RARE).flushes, 0);
    assert_no_storage_threads();
    engine.close().unwrap();
}

#[test]
fn a_table_pinning_the_log_beyond_its_bound_is_flushed_by_a_write() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let mut options = options(&clock, SyncMode::Batch);
    options.commitlog_total_space_bytes = 4 * 4096;
    options.commitlog.compression = false;
    let engine = open(&fs, &options);
    engine.create_table(T, table(Some(6 << 10), 0)).unwrap();
    engine.create_table(RARE, table(None, 0)).unwrap();
    let mut c = 0;
    // About a segment of the busy table's writes, which flushes itself, to
    // each write of the rare one, which pins every segment it is dirty in.
    // No round runs: the write that opens a segment over the bound asks
    // for the flush, and it runs before that write returns.
    while stats(&engine, RARE).flushes == 0 {
        put(&engine, RARE, 1, c, 8);
        for _ in 0..16 {
            put(&engine, T, (c % 4) as u8, c, 200);
            c += 1;
        }
        assert!(c < 1000, "the rare table was never flushed");
    }
    // Over the bound by at most the segment that triggered the flush.
    assert!(engine.commitlog_stats().segments as u64 * 4096 <= 5 * 4096);
    let rare: BTreeSet<(u8, u32)> = (0..c).step_by(16).map(|c| (1, c)).collect();
    assert_eq!(rows(&engine, RARE), rare);
    engine.close().unwrap();
}
