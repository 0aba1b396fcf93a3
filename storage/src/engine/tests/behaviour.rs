//! Focused tests of single engine operations: table lifecycle (drop and
//! re-create, truncate, alter), snapshots, statistics, and the errors writers
//! get for oversized mutations and unknown tables.

use super::*;
use crate::cell::RangeTombstone;
use crate::manifest::{MANIFEST_FILE, Manifest};

const T: TableId = TableId(5);

struct Node {
    fs: SimFs,
    clock: Arc<ManualClock>,
    threads: usize,
}

impl Node {
    /// `threads` background compaction workers (0: compaction only on request).
    fn new(threads: usize) -> Node {
        Node {
            fs: SimFs::new(),
            clock: Arc::new(ManualClock::new(START)),
            threads,
        }
    }

    fn open(&self) -> Engine {
        let mut options = engine_options(self.clock.clone());
        options.memtable_budget_bytes = 1 << 20;
        options.compaction_threads = self.threads;
        Engine::open(Arc::new(self.fs.clone()), options).expect("open")
    }

    fn restart(&self, engine: Engine) -> Engine {
        engine.close().expect("close");
        self.open()
    }
}

fn options() -> TableOptions {
    TableOptions {
        compaction: CompactionStrategyOptions::SizeTiered(SizeTieredOptions {
            min_threshold: 4,
            ..SizeTieredOptions::default()
        }),
        ..TableOptions::default()
    }
}

fn put(engine: &Engine, table: TableId, k: u8, c: u8, ts: i64) {
    let row = Row::new(ClusteringKey::new(vec![c])).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, vec![k, c]),
    );
    engine
        .apply(&Mutation::new(table, DecoratedKey::new(Token(i64::from(k)), vec![k])).with_row(row))
        .expect("apply");
}

/// Every `(key, clustering)` of a full scan.
fn contents(engine: &Engine, table: TableId) -> Vec<(u8, u8)> {
    let cmd = full_scan();
    let mut key = 0;
    let mut out = Vec::new();
    for item in engine.scan(table, &cmd).expect("scan") {
        match item.expect("scan item") {
            ScanItem::Partition { key: k, .. } => key = k.key[0],
            ScanItem::Row(r) => out.push((key, r.clustering.as_bytes()[0])),
        }
    }
    out
}

#[test]
fn a_dropped_table_does_not_come_back_when_created_again() {
    let node = Node::new(1);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    put(&engine, T, 1, 1, 10);
    engine.flush(T).expect("flush");
    // This one only in the commit log.
    put(&engine, T, 2, 2, 10);
    engine.drop_table(T).expect("drop");
    assert!(matches!(engine.drop_table(T), Err(Error::UnknownTable(_))));
    assert!(matches!(
        engine.scan(T, &full_scan()),
        Err(Error::UnknownTable(_))
    ));
    engine.create_table(T, options()).expect("create again");
    assert_eq!(contents(&engine, T), vec![]);
    put(&engine, T, 3, 3, 10);
    let engine = node.restart(engine);
    assert_eq!(
        contents(&engine, T),
        vec![(3, 3)],
        "only the new table's row"
    );
    // Dropped and not re-created: it stays gone across a restart.
    engine.drop_table(T).expect("drop");
    let engine = node.restart(engine);
    assert_eq!(engine.tables(), vec![]);
    assert!(
        !node
            .fs
            .exists(&data_dir().join("tables").join(T.to_string()))
    );
    engine.close().expect("close");
}

#[test]
fn truncated_rows_stay_gone_after_a_restart() {
    let node = Node::new(1);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    engine.create_table(TableId(6), options()).expect("create");
    put(&engine, T, 1, 1, 10);
    engine.flush(T).expect("flush");
    put(&engine, T, 2, 2, 10);
    put(&engine, TableId(6), 9, 9, 10);
    engine.truncate(T, Timestamp(20)).expect("truncate");
    assert_eq!(contents(&engine, T), vec![]);
    let stats = engine.table_stats(T).expect("stats");
    assert_eq!((stats.sstable_count, stats.memtable_bytes), (0, 0));
    // Writes stamped at or before the truncation arrive too late (a hint, a
    // replayed batch): they are dropped. Later ones stay.
    put(&engine, T, 3, 3, 1);
    put(&engine, T, 4, 4, 20);
    put(&engine, T, 5, 5, 21);
    let stats = engine.table_stats(T).expect("stats");
    assert_eq!(
        stats.memtable_partitions, 1,
        "dropped writes take no memory"
    );
    let engine = node.restart(engine);
    assert_eq!(contents(&engine, T), vec![(5, 5)]);
    assert_eq!(engine.truncated_at(T).expect("table"), Some(Timestamp(20)));
    put(&engine, T, 6, 6, 15);
    assert_eq!(
        contents(&engine, T),
        vec![(5, 5)],
        "the time survives restarts"
    );
    // An earlier time never moves the truncation back.
    engine.truncate(T, Timestamp(7)).expect("truncate");
    assert_eq!(engine.truncated_at(T).expect("table"), Some(Timestamp(20)));
    assert_eq!(contents(&engine, T), vec![]);
    assert_eq!(
        contents(&engine, TableId(6)),
        vec![(9, 9)],
        "other tables keep theirs"
    );
    engine.close().expect("close");
}

/// A row at clustering `c` with one cell per timestamp (columns 1, 2, ...).
fn row_at(c: u8, timestamps: &[i64]) -> Row {
    let mut row = Row::new(ClusteringKey::new(vec![c]));
    for (i, ts) in timestamps.iter().enumerate() {
        let column = ColumnId(u32::try_from(i + 1).expect("few columns"));
        row = row.with_cell(column, None, Cell::live(*ts, vec![c]));
    }
    row
}

/// The rows of partition `k` by a point read: clustering and cell timestamps.
fn read_rows(engine: &Engine, k: u8) -> Vec<(u8, Vec<i64>)> {
    let cmd = PartitionRead {
        key: DecoratedKey::new(Token(i64::from(k)), vec![k]),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: START,
        include_tombstones: true,
    };
    engine
        .read(T, &cmd)
        .expect("read")
        .map(|r| {
            let r = r.expect("row");
            let ts = r.cells.iter().map(|c| c.cell.timestamp.0).collect();
            (r.clustering.as_bytes()[0], ts)
        })
        .collect()
}

#[test]
fn a_mutation_loses_only_its_parts_stamped_at_or_before_the_truncation() {
    let node = Node::new(0);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    engine.truncate(T, Timestamp(20)).expect("truncate");
    let key = DecoratedKey::new(Token(1), vec![1]);
    let mut m = Mutation::new(T, key)
        .with_row(row_at(1, &[15, 25]))
        .with_row(row_at(2, &[5]));
    // Old deletions, which shadow none of the cells: they go too.
    m.partition_deletion = Some(DeletionTime::new(3, START));
    m.range_tombstones.push(RangeTombstone {
        range: ClusteringRange::ALL,
        deletion: DeletionTime::new(2, START),
    });
    // Through the batched path too: it shares the admission with `apply`.
    for r in engine.apply_batch(&[m]) {
        r.expect("applied");
    }
    assert_eq!(read_rows(&engine, 1), vec![(1, vec![25])]);
    let engine = node.restart(engine);
    assert_eq!(read_rows(&engine, 1), vec![(1, vec![25])], "after replay");
    engine.close().expect("close");
}

/// Sets a table's truncation time in its manifest behind the engine's back,
/// as if the engine had crashed after recording it but before its SSTables
/// and commit-log records were gone.
fn record_truncation(node: &Node, at: i64) {
    let dir = data_dir().join("tables").join(T.to_string());
    let mut manifest = Manifest::load(&node.fs, &dir)
        .expect("load")
        .expect("a manifest");
    manifest.truncated_at = Some(Timestamp(at));
    manifest.store(&node.fs, &dir).expect("store");
}

#[test]
fn sstables_and_log_records_older_than_the_truncation_never_show() {
    let node = Node::new(0);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    put(&engine, T, 1, 1, 10);
    put(&engine, T, 2, 2, 30);
    engine.flush(T).expect("flush");
    // These two only in the commit log.
    put(&engine, T, 3, 3, 10);
    put(&engine, T, 4, 4, 30);
    engine.close().expect("close");
    record_truncation(&node, 20);
    let engine = node.open();
    assert_eq!(contents(&engine, T), vec![(2, 2), (4, 4)]);
    assert_eq!(read_rows(&engine, 1), vec![]);
    assert_eq!(read_rows(&engine, 2), vec![(2, vec![30])]);
    assert_eq!(read_rows(&engine, 3), vec![], "replay skipped it");
    // Compaction leaves the old data behind for good.
    engine.flush(T).expect("flush");
    engine.compact(T, true).expect("major compaction");
    engine.close().expect("close");
    let dir = data_dir().join("tables").join(T.to_string());
    let manifest = Manifest::load(&node.fs, &dir)
        .expect("load")
        .expect("a manifest");
    assert_eq!(manifest.sstables.len(), 1);
    let engine = node.open();
    let stats = engine.table_stats(T).expect("stats");
    assert_eq!(stats.estimated_partitions, 2, "only the newer partitions");
    engine.close().expect("close");
}

#[test]
fn a_snapshot_links_the_sstables_and_lists_them_in_its_manifest() {
    let node = Node::new(0);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    put(&engine, T, 1, 1, 10);
    engine.flush(T).expect("flush");
    put(&engine, T, 2, 2, 10);
    // The snapshot flushes first, so the memtable's row is in it too.
    let dir = engine.snapshot(T, "before").expect("snapshot");
    let fs = &node.fs;
    let manifest = Manifest::load(fs, &dir)
        .expect("load")
        .expect("the snapshot has a manifest");
    let mut linked: Vec<PathBuf> = fs
        .read_dir(&dir)
        .expect("list")
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != MANIFEST_FILE))
        .collect();
    linked.sort();
    assert_eq!(linked.len(), 2, "{linked:?}");
    assert_eq!(manifest.sstables.len(), 2);
    let table_dir = data_dir().join("tables").join(T.to_string());
    for (file, entry) in linked.iter().zip(&manifest.sstables) {
        let name = file.file_name().expect("a name");
        assert!(
            name.to_string_lossy()
                .contains(&format!("{:020}", entry.generation)),
            "{name:?} vs {entry:?}"
        );
        let live = fs.read_all(&table_dir.join(name)).expect("live file");
        assert_eq!(fs.read_all(file).expect("snapshot file"), live);
    }
    assert!(matches!(
        engine.snapshot(T, "before"),
        Err(Error::InvalidArgument(_))
    ));
    for bad in ["", "a/b", ".hidden"] {
        assert!(matches!(
            engine.snapshot(T, bad),
            Err(Error::InvalidArgument(_))
        ));
    }
    // The links outlive the files they were made from.
    engine.compact(T, true).expect("major compaction");
    engine.truncate(T, Timestamp(100)).expect("truncate");
    for file in &linked {
        assert!(!fs.read_all(file).expect("still there").is_empty());
    }
    engine.close().expect("close");
}

#[test]
fn altered_options_survive_a_restart() {
    let node = Node::new(1);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    let altered = TableOptions {
        gc_grace_seconds: 5,
        default_ttl_seconds: 60,
        bloom_fp_chance: 0.1,
        memtable_flush_threshold_bytes: Some(1 << 16),
        ..table_options(1, 5)
    };
    engine.alter_table(T, altered.clone()).expect("alter");
    assert_eq!(engine.table_options(T).expect("options"), altered);
    let bad = TableOptions {
        bloom_fp_chance: 2.0,
        ..altered.clone()
    };
    assert!(matches!(
        engine.alter_table(T, bad),
        Err(Error::InvalidArgument(_))
    ));
    let engine = node.restart(engine);
    assert_eq!(engine.table_options(T).expect("options"), altered);
    engine.close().expect("close");
}

#[test]
fn table_stats_follow_flushes_and_compactions() {
    let node = Node::new(0);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    engine
        .create_table(TableId(6), table_options(1, 100))
        .expect("create");
    for table in [T, TableId(6)] {
        for i in 0..4u8 {
            for k in 0..5u8 {
                put(&engine, table, k, i, 10);
            }
            let before = engine.table_stats(table).expect("stats");
            assert!(before.memtable_bytes > 0);
            assert_eq!(before.memtable_partitions, 5);
            engine.flush(table).expect("flush");
        }
    }
    let s = engine.table_stats(T).expect("stats");
    assert_eq!((s.sstable_count, s.flushes, s.compactions), (4, 4, 0));
    assert_eq!(s.levels.len(), 1);
    assert_eq!((s.levels[0].level, s.levels[0].sstable_count), (0, 4));
    assert_eq!(s.memtable_bytes, 0);
    assert_eq!(s.estimated_partitions, 20, "five per SSTable");
    assert!(s.bytes_flushed > 0 && s.sstable_bytes > 0 && s.bloom_memory_bytes > 0);
    assert_eq!(
        s.pending_compactions, 1,
        "four similar tables make one bucket"
    );
    assert_eq!(s.pending_compaction_bytes, s.sstable_bytes);
    engine.compact(T, false).expect("compact");
    let s = engine.table_stats(T).expect("stats");
    assert_eq!(
        (s.sstable_count, s.compactions, s.pending_compactions),
        (1, 1, 0)
    );
    assert_eq!(s.estimated_partitions, 5);
    assert!(s.bytes_compacted > 0);
    // Leveled: four L0 tables go to L1.
    let l = engine.table_stats(TableId(6)).expect("stats");
    assert_eq!(l.pending_compactions, 1);
    engine.compact(TableId(6), false).expect("compact");
    let l = engine.table_stats(TableId(6)).expect("stats");
    let levels: Vec<_> = l
        .levels
        .iter()
        .map(|v| (v.level, v.sstable_count))
        .collect();
    assert_eq!(levels, vec![(1, 1)]);
    assert_eq!(l.pending_compactions, 0);
    assert_eq!(contents(&engine, TableId(6)).len(), 20);
    let engine = node.restart(engine);
    let l = engine.table_stats(TableId(6)).expect("stats");
    assert_eq!(l.levels.len(), 1, "levels persist: {:?}", l.levels);
    assert_eq!(l.levels[0].level, 1);
    engine.close().expect("close");
}

/// Regression: a memtable holding data older than an SSTable's newest write
/// keeps that SSTable's tombstones. The strategies do not see memtables, and
/// used to plan a drop (refused by the executor) or a tombstone compaction
/// (that purged nothing) again and again until the next flush.
#[test]
fn purges_blocked_by_a_memtable_are_not_planned() {
    let node = Node::new(0);
    let engine = node.open();
    let gc0 = TableOptions {
        gc_grace_seconds: 0,
        ..options()
    };
    engine.create_table(T, gc0.clone()).expect("create");
    engine.create_table(TableId(6), gc0).expect("create");
    let key = DecoratedKey::new(Token(1), &b"k"[..]);
    for table in [T, TableId(6)] {
        // T: only a tombstone, so fully expired once past gc grace.
        // 6: mostly tombstones, so worth a tombstone compaction.
        let mut m = Mutation::new(table, key.clone());
        m.partition_deletion = Some(DeletionTime::new(100, START));
        if table == TableId(6) {
            m = m.with_row(Row::new(ClusteringKey::new(&b"a"[..])).with_cell(
                ColumnId(1),
                None,
                Cell::live(100, &b"v"[..]),
            ));
            for c in 0..4u8 {
                m = m.with_row(Row::new(ClusteringKey::new(vec![b'b', c])).with_cell(
                    ColumnId(1),
                    None,
                    Cell::tombstone(100, START),
                ));
            }
        }
        engine.apply(&m).expect("apply");
        engine.flush(table).expect("flush");
        // Older data of the same partition, still in the memtable.
        let older = Row::new(ClusteringKey::new(&b"z"[..])).with_cell(
            ColumnId(1),
            None,
            Cell::live(50, &b"old"[..]),
        );
        engine
            .apply(&Mutation::new(table, key.clone()).with_row(older))
            .expect("apply");
    }
    node.clock.advance(10);
    for table in [T, TableId(6)] {
        let s = engine.table_stats(table).expect("stats");
        assert_eq!(s.pending_compactions, 0, "table {table}");
        assert_eq!(s.pending_compaction_bytes, 0, "table {table}");
        engine.compact(table, false).expect("compact");
        assert_eq!(engine.table_stats(table).expect("stats").sstable_count, 1);
        // Once flushed, the strategy sees the older data in an SSTable.
        engine.flush(table).expect("flush");
        engine.compact(table, false).expect("compact");
    }
    for table in [T, TableId(6)] {
        let rows = contents(&engine, table);
        assert!(rows.iter().all(|(_, c)| *c == b'a'), "{rows:?}");
    }
    engine.close().expect("close");
}

#[test]
fn oversized_mutations_and_unknown_tables_are_refused() {
    let node = Node::new(1);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    assert!(matches!(
        engine.create_table(T, options()),
        Err(Error::TableExists(_))
    ));
    let big =
        Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(1), None, Cell::live(1, vec![0u8; 4096]));
    let m = Mutation::new(T, DecoratedKey::new(Token(0), &b"k"[..])).with_row(big);
    let err = engine.apply(&m).expect_err("too large");
    assert!(
        matches!(err, Error::MutationTooLarge { max: 2048, .. }),
        "{err}"
    );
    // The engine still works, and the refused write left nothing behind.
    put(&engine, T, 1, 1, 1);
    assert_eq!(contents(&engine, T), vec![(1, 1)]);
    let unknown = TableId(99);
    let m = Mutation::new(unknown, DecoratedKey::new(Token(0), &b"k"[..]));
    assert!(matches!(
        engine.apply(&m),
        Err(Error::UnknownTable(TableId(99)))
    ));
    let read = PartitionRead {
        key: m.key.clone(),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: START,
        include_tombstones: false,
    };
    assert!(matches!(
        engine.read(unknown, &read),
        Err(Error::UnknownTable(_))
    ));
    assert!(matches!(
        engine.scan(unknown, &full_scan()),
        Err(Error::UnknownTable(_))
    ));
    assert!(matches!(engine.flush(unknown), Err(Error::UnknownTable(_))));
    assert!(matches!(
        engine.compact(unknown, true),
        Err(Error::UnknownTable(_))
    ));
    assert!(matches!(
        engine.table_stats(unknown),
        Err(Error::UnknownTable(_))
    ));
    assert!(matches!(
        engine.alter_table(unknown, options()),
        Err(Error::UnknownTable(_))
    ));
    let engine = node.restart(engine);
    assert_eq!(contents(&engine, T), vec![(1, 1)]);
    engine.close().expect("close");
}

#[test]
fn memtable_budget_is_given_back_in_full_when_overwrites_shrink_a_memtable() {
    let node = Node::new(0);
    let engine = node.open();
    engine.create_table(T, options()).expect("create");
    let key = DecoratedKey::new(Token(1), &b"k"[..]);
    // A large value, then ever newer small ones: the memtable's own size
    // shrinks as each overwrite replaces a larger cell.
    for (ts, len) in [(1, 1500usize), (2, 10), (3, 9), (4, 8)] {
        let row = Row::new(ClusteringKey::EMPTY).with_cell(
            ColumnId(1),
            None,
            Cell::live(ts, vec![7u8; len]),
        );
        engine
            .apply(&Mutation::new(T, key.clone()).with_row(row))
            .expect("apply");
    }
    assert!(engine.memtable_bytes() > 0);
    engine.flush_all().expect("flush");
    assert_eq!(
        engine.memtable_bytes(),
        0,
        "every byte charged to the flushed memtable is given back"
    );
    engine.close().expect("close");
}
