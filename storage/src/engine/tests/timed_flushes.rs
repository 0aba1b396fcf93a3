//! Flushes the engine starts on its own rather than on memtable size: the
//! commit log's space bound (`commitlog_total_space`) and a table's
//! `memtable_flush_period_in_ms`. Both happen on the flush worker, so the
//! tests wait for a condition with a deadline instead of for a fixed time.

use super::*;
use std::collections::BTreeSet;

const BUSY: TableId = TableId(21);
const RARE: TableId = TableId(22);
const SEGMENT: u64 = 4096;
/// The space bound: four segments.
const LIMIT: u64 = 4 * SEGMENT;

fn open(fs: &SimFs, clock: &Arc<ManualClock>) -> Engine {
    let mut options = engine_options(clock.clone());
    options.commitlog.segment_size_bytes = SEGMENT;
    options.commitlog_total_space_bytes = LIMIT;
    // Uncompressed, so that each write takes the log space its size says.
    options.commitlog.compression = false;
    // Far above what the test writes: only the tables' own thresholds, the
    // space bound or the period may flush.
    options.memtable_budget_bytes = 64 << 20;
    options.compaction_threads = 0;
    Engine::open(Arc::new(fs.clone()), options).expect("open")
}

fn table(threshold: Option<u64>, period_ms: u64) -> TableOptions {
    TableOptions {
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
        .expect("apply");
}

/// Every `(key, clustering)` a full scan of `table` returns.
fn rows(engine: &Engine, table: TableId) -> BTreeSet<(u8, u32)> {
    let cmd = full_scan();
    let mut key = 0;
    let mut out = BTreeSet::new();
    for item in engine.scan(table, &cmd).expect("scan") {
        match item.expect("scan item") {
            ScanItem::Partition { key: k, .. } => key = k.key[0],
            ScanItem::Row(r) => {
                let c = r
                    .clustering
                    .as_bytes()
                    .try_into()
                    .expect("4-byte clustering");
                out.insert((key, u32::from_be_bytes(c)));
            }
        }
    }
    out
}

/// Polls `cond` until it holds; fails after a generous deadline, so that a
/// flush the engine never starts fails the test instead of hanging it.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_rarely_written_table_does_not_pin_the_commit_log_beyond_its_bound() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &clock);
    // The busy table flushes itself every few KiB; the rare one never would.
    engine
        .create_table(BUSY, table(Some(6 << 10), 0))
        .expect("create");
    engine.create_table(RARE, table(None, 0)).expect("create");
    let seconds = 60u32;
    for second in 0..seconds {
        // About one segment of busy writes per simulated second...
        for i in 0..16 {
            put(&engine, BUSY, (i % 4) as u8, second * 16 + i, 200);
        }
        // ...and one small write of the rare table.
        put(&engine, RARE, 1, second, 8);
        clock.advance(1);
        wait_until("the log is back within its bound", || {
            engine.commitlog_stats().segments as u64 * SEGMENT <= LIMIT + SEGMENT
        });
    }
    let appended = engine.commitlog_stats().bytes_appended;
    assert!(
        appended > 10 * LIMIT,
        "the run must write many times the bound, wrote {appended} bytes"
    );
    assert!(
        engine.table_stats(RARE).expect("stats").flushes > 0,
        "only a flush of the rare table releases the segments it pins"
    );
    // Nothing is lost: the flushed rows and the log's tail come back.
    engine.close().expect("close");
    let engine = open(&fs, &clock);
    let busy: BTreeSet<(u8, u32)> = (0..seconds * 16).map(|c| ((c % 4) as u8, c)).collect();
    assert_eq!(rows(&engine, BUSY), busy);
    let rare: BTreeSet<(u8, u32)> = (0..seconds).map(|c| (1, c)).collect();
    assert_eq!(rows(&engine, RARE), rare);
    engine.close().expect("close");
}

#[test]
fn a_memtable_is_flushed_once_it_has_held_data_for_the_flush_period() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &clock);
    engine
        .create_table(RARE, table(None, 10_000))
        .expect("create");
    engine.create_table(BUSY, table(None, 0)).expect("create");
    put(&engine, RARE, 1, 1, 8);
    put(&engine, BUSY, 1, 1, 8);
    // Dirty for 9 s of a 10 s period: the table is not flushed yet. Only
    // the clock decides, so the flush count must stay 0 here.
    clock.advance(9);
    let flushes = |t| engine.table_stats(t).expect("stats").flushes;
    assert_eq!(flushes(RARE), 0);
    // A new write does not restart the period: it counts from the first.
    put(&engine, RARE, 1, 2, 8);
    clock.advance(1);
    wait_until("the period flush ran", || flushes(RARE) == 1);
    assert_eq!(engine.table_stats(RARE).expect("stats").sstable_count, 1);
    // A table without a period keeps its memtable.
    assert_eq!(flushes(BUSY), 0);
    // An empty memtable is not flushed however long the clock runs, and the
    // next write starts a new period.
    clock.advance(60);
    put(&engine, RARE, 1, 3, 8);
    clock.advance(9);
    assert_eq!(flushes(RARE), 1);
    clock.advance(1);
    wait_until("the second period flush ran", || flushes(RARE) == 2);
    // Altering the period reaches the running table.
    engine.alter_table(RARE, table(None, 0)).expect("alter");
    put(&engine, RARE, 1, 4, 8);
    clock.advance(3600);
    assert_eq!(flushes(RARE), 2);
    engine.close().expect("close");
    let engine = open(&fs, &clock);
    let expected: BTreeSet<(u8, u32)> = (1..=4).map(|c| (1, c)).collect();
    assert_eq!(rows(&engine, RARE), expected);
    engine.close().expect("close");
}
