//! Engine tests. The main ones are model-based: random sequences of writes,
//! flushes, compactions, restarts and clock moves run against an [`Engine`] on
//! an in-memory disk, and every point read and scan must equal the reference
//! model (`crate::testing::model`) at the clock's `now`. The submodules hold
//! corruption tests and focused tests of single engine operations.

use super::*;
use crate::cell::{Cell, CellKind, DeletionTime, LivenessInfo, Row, Timestamp};
use crate::clock::ManualClock;
use crate::commitlog::SyncMode;
use crate::io::sim::SimFs;
use crate::key::{ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Token};
use crate::mutation::arb;
use crate::options::{
    CompactionStrategyOptions, Compression, CompressionOptions, LeveledOptions, SizeTieredOptions,
    TimeWindowOptions,
};
use crate::partition::{KeyRange, PartitionBound, PartitionPosition};
use crate::read::{ColumnFilter, ScanItem};
use crate::reconcile::live_row;
use crate::testing::model::{model_read, model_scan};
use crate::testing::{columns, slices};
use proptest::prelude::*;

mod behaviour;
mod corruption;
mod timed_flushes;

/// One table per compaction strategy.
const TABLES: [TableId; 3] = [TableId(1), TableId(2), TableId(3)];
/// Partition keys per table.
const KEYS: usize = 8;
/// Timestamps are generated in seconds and written in microseconds, so that
/// time-window compaction sees several windows.
const MICROS: i64 = 1_000_000;
/// Where the clock starts.
const START: i64 = 1_000;

fn data_dir() -> PathBuf {
    PathBuf::from("/basalt")
}

fn key(i: usize) -> DecoratedKey {
    DecoratedKey::new(Token(i as i64 / 2 - 2), vec![b'k', i as u8])
}

/// Tiny settings so that every mechanism runs within a few dozen writes: a
/// memtable budget of a few KiB, 4 KiB commit-log segments, unthrottled compaction.
fn engine_options(clock: Arc<ManualClock>) -> EngineOptions {
    let mut o = EngineOptions::new(data_dir(), clock);
    o.commitlog.segment_size_bytes = 4096;
    o.commitlog.sync = SyncMode::Batch;
    o.commitlog.max_recycled_segments = 1;
    o.memtable_budget_bytes = 24 << 10;
    o.block_cache_bytes = 32 << 10;
    o.compaction_threads = 1;
    o.compaction_throughput_mib_per_s = 0;
    o.write_stall_timeout_ms = 20_000;
    o
}

/// A scan of every partition and row of a table, as of `START`.
fn full_scan() -> ScanCommand {
    ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: START,
        include_tombstones: false,
    }
}

fn size_tiered() -> SizeTieredOptions {
    SizeTieredOptions {
        min_threshold: 2,
        max_threshold: 4,
        ..SizeTieredOptions::default()
    }
}

/// Table `i`: size-tiered (LZ4), leveled (uncompressed) or time-window, with
/// 1 KiB blocks so that even small SSTables have several.
fn table_options(i: usize, gc_grace_seconds: i64) -> TableOptions {
    let compaction = match i {
        0 => CompactionStrategyOptions::SizeTiered(size_tiered()),
        1 => CompactionStrategyOptions::Leveled(LeveledOptions {
            sstable_size_bytes: 1 << 20,
            fanout: 2,
        }),
        _ => CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
            window_size_seconds: 4,
            size_tiered: size_tiered(),
        }),
    };
    TableOptions {
        compaction,
        compression: CompressionOptions {
            compression: if i == 1 {
                Compression::None
            } else {
                Compression::Lz4
            },
            chunk_length_bytes: 1024,
        },
        gc_grace_seconds,
        memtable_flush_threshold_bytes: (i == 0).then_some(3 << 10),
        ..TableOptions::default()
    }
}

// ---- generated operations ----

/// A generated mutation before it is placed in time and in a table.
#[derive(Debug, Clone)]
struct GenMutation {
    key: usize,
    mutation: Mutation,
    /// Adds a large cell to every row, so SSTables span several blocks.
    pad: bool,
}

/// Keeps only the deletions of a row: SSTables made only of tombstones are
/// what whole-SSTable expiry drops, and what must not be dropped too early.
fn deletions_only(mut r: Row) -> Row {
    r.liveness = None;
    r.cells
        .retain(|c| matches!(c.cell.kind, CellKind::Tombstone { .. }));
    r
}

fn gen_mutation() -> impl Strategy<Value = GenMutation> {
    (
        0..KEYS,
        arb::mutation(),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(key, mut mutation, pad, deletes)| {
            if deletes {
                mutation.static_row = mutation.static_row.map(deletions_only);
                mutation.rows = mutation.rows.into_iter().map(deletions_only).collect();
            }
            GenMutation {
                key,
                mutation,
                pad: pad && !deletes,
            }
        })
}

fn shift_deletion(d: &mut DeletionTime, ts_base: i64, secs: i64) {
    d.marked_for_delete_at = Timestamp(ts_base + d.marked_for_delete_at.0 * MICROS);
    d.local_deletion_time += secs;
}

fn shift_row(r: &mut Row, ts_base: i64, secs: i64) {
    if let Some(l) = &mut r.liveness {
        *l = LivenessInfo {
            timestamp: Timestamp(ts_base + l.timestamp.0 * MICROS),
            expiry: l.expiry.map(|(ttl, exp)| (ttl, exp + secs)),
        };
    }
    if let Some(d) = &mut r.deletion {
        shift_deletion(d, ts_base, secs);
    }
    for (_, d) in &mut r.column_deletions {
        shift_deletion(d, ts_base, secs);
    }
    for c in &mut r.cells {
        c.cell.timestamp = Timestamp(ts_base + c.cell.timestamp.0 * MICROS);
        match &mut c.cell.kind {
            CellKind::Live(_) => {}
            CellKind::Expiring {
                local_expiration_time,
                ..
            } => *local_expiration_time += secs,
            CellKind::Tombstone {
                local_deletion_time,
            } => *local_deletion_time += secs,
        }
    }
}

impl GenMutation {
    /// The mutation for table `table`, its timestamps (generated as small
    /// numbers of seconds) made microseconds after `ts_base` and its local
    /// deletion and expiration times made seconds after `secs`. Generated
    /// local times are never negative, so nothing is purgeable when written.
    fn place(&self, table: TableId, ts_base: i64, secs: i64) -> Mutation {
        let mut m = self.mutation.clone();
        m.table = table;
        m.key = key(self.key);
        if let Some(d) = &mut m.partition_deletion {
            shift_deletion(d, ts_base, secs);
        }
        for rt in &mut m.range_tombstones {
            shift_deletion(&mut rt.deletion, ts_base, secs);
        }
        for r in m.static_row.iter_mut().chain(m.rows.iter_mut()) {
            shift_row(r, ts_base, secs);
            if self.pad {
                let ts = r.cells.first().map_or(ts_base, |c| c.cell.timestamp.0);
                r.cells.push(crate::cell::ColumnCell {
                    column: ColumnId(9),
                    path: None,
                    cell: Cell::live(ts, vec![r.cells.len() as u8; 150]),
                });
            }
        }
        m
    }
}

/// One point read, applied to every key of every table.
#[derive(Debug, Clone)]
struct ReadShape {
    slices: Vec<ClusteringRange>,
    columns: ColumnFilter,
    reversed: bool,
    limit: Option<usize>,
    include_tombstones: bool,
}

/// One scan of every table.
#[derive(Debug, Clone)]
struct ScanShape {
    range: KeyRange,
    resume_after: Option<(usize, ClusteringKey)>,
    columns: ColumnFilter,
}

#[derive(Debug, Clone)]
struct Check {
    reads: Vec<ReadShape>,
    scans: Vec<ScanShape>,
}

fn read_shape() -> impl Strategy<Value = ReadShape> {
    (
        slices(),
        columns(),
        any::<bool>(),
        proptest::option::of(0usize..4),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(slices, columns, reversed, limit, tombstones)| {
            if tombstones {
                // Dead rows count against a limit and have no column filter to
                // apply: compare those reads whole, after live-filtering.
                ReadShape {
                    slices,
                    columns: ColumnFilter::All,
                    reversed,
                    limit: None,
                    include_tombstones: true,
                }
            } else {
                ReadShape {
                    slices,
                    columns,
                    reversed,
                    limit,
                    include_tombstones: false,
                }
            }
        })
}

fn key_range() -> impl Strategy<Value = KeyRange> {
    let pos = prop_oneof![
        (-3i64..3).prop_map(|t| PartitionPosition::Token(Token(t))),
        (0..KEYS).prop_map(|i| PartitionPosition::Key(key(i))),
    ];
    let bound = prop_oneof![
        Just(PartitionBound::Unbounded),
        pos.clone().prop_map(PartitionBound::Inclusive),
        pos.prop_map(PartitionBound::Exclusive),
    ];
    (bound.clone(), bound).prop_map(|(start, end)| KeyRange { start, end })
}

fn scan_shape() -> impl Strategy<Value = ScanShape> {
    (
        prop_oneof![Just(KeyRange::ALL), key_range()],
        proptest::option::of((0..KEYS, arb::clustering())),
        columns(),
    )
        .prop_map(|(range, resume_after, columns)| ScanShape {
            range,
            resume_after,
            columns,
        })
}

fn check() -> impl Strategy<Value = Check> {
    (
        proptest::collection::vec(read_shape(), 1..4),
        proptest::collection::vec(scan_shape(), 1..3),
    )
        .prop_map(|(reads, scans)| Check { reads, scans })
}

/// A check that always runs at the end: whole partitions both ways, with and
/// without tombstones, and a full scan.
fn final_check() -> Check {
    let whole = |reversed, include_tombstones| ReadShape {
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed,
        limit: None,
        include_tombstones,
    };
    Check {
        reads: vec![whole(false, false), whole(true, false), whole(false, true)],
        scans: vec![ScanShape {
            range: KeyRange::ALL,
            resume_after: None,
            columns: ColumnFilter::All,
        }],
    }
}

/// Background work and state changes between writes.
#[derive(Debug, Clone)]
enum Maintenance {
    Flush(Option<usize>),
    Compact(usize, bool),
    WaitForCompactions,
    Restart,
    Advance(i64),
    Check(Check),
}

fn maintenance(max_advance: i64) -> impl Strategy<Value = Maintenance> {
    prop_oneof![
        3 => proptest::option::of(0..TABLES.len()).prop_map(Maintenance::Flush),
        2 => (0..TABLES.len(), proptest::bool::weighted(0.3))
            .prop_map(|(t, major)| Maintenance::Compact(t, major)),
        1 => Just(Maintenance::WaitForCompactions),
        1 => Just(Maintenance::Restart),
        2 => (1..max_advance).prop_map(Maintenance::Advance),
        1 => check().prop_map(Maintenance::Check),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Apply(usize, Box<GenMutation>),
    Maintain(Maintenance),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..TABLES.len(), gen_mutation()).prop_map(|(t, m)| Op::Apply(t, Box::new(m))),
        2 => maintenance(40).prop_map(Op::Maintain),
    ]
}

// ---- the harness ----

/// An engine on a simulated disk, with the model of what each table holds.
struct Harness {
    fs: SimFs,
    clock: Arc<ManualClock>,
    engine: Option<Engine>,
    /// Every mutation applied, per table.
    model: Vec<Vec<Mutation>>,
    /// Purging may drop partition deletions, so reads do not report them.
    forget_deletions: bool,
    sync: SyncMode,
    background: Background,
}

impl Harness {
    /// Clean restarts sync the log whatever the mode, so both modes must
    /// give the same reads; each property uses one.
    fn new(gc_grace_seconds: i64, sync: SyncMode) -> Harness {
        Self::with_background(gc_grace_seconds, sync, Background::Threads)
    }

    fn with_background(gc_grace_seconds: i64, sync: SyncMode, background: Background) -> Harness {
        let fs = SimFs::new();
        let clock = Arc::new(ManualClock::new(START));
        let engine = Self::open(&fs, &clock, sync, background);
        for (i, id) in TABLES.iter().enumerate() {
            engine
                .create_table(*id, table_options(i, gc_grace_seconds))
                .expect("creating a table");
        }
        Harness {
            fs,
            clock,
            engine: Some(engine),
            model: vec![Vec::new(); TABLES.len()],
            forget_deletions: gc_grace_seconds == 0,
            sync,
            background,
        }
    }

    fn open(
        fs: &SimFs,
        clock: &Arc<ManualClock>,
        sync: SyncMode,
        background: Background,
    ) -> Engine {
        let mut options = engine_options(clock.clone());
        options.commitlog.sync = sync;
        options.background = background;
        Engine::open(Arc::new(fs.clone()), options).expect("opening the engine")
    }

    fn engine(&self) -> &Engine {
        self.engine.as_ref().expect("the engine is open")
    }

    fn now(&self) -> i64 {
        self.clock.now_seconds()
    }

    fn restart(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.close().expect("closing the engine");
        }
        self.engine = Some(Self::open(
            &self.fs,
            &self.clock,
            self.sync,
            self.background,
        ));
        assert_eq!(self.engine().tables(), TABLES.to_vec());
    }

    fn apply(&mut self, t: usize, m: &GenMutation, ts_base: i64) {
        let now = self.now();
        let m = m.place(TABLES[t], ts_base, now);
        let t0 = std::time::Instant::now();
        self.engine().apply(&m).expect("applying a mutation");
        if t0.elapsed() > Duration::from_millis(300) {
            eprintln!("SLOW apply {:?}", t0.elapsed());
        }
        self.model[t].push(m);
    }

    fn maintain(&mut self, op: &Maintenance) -> Result<(), TestCaseError> {
        let t0 = std::time::Instant::now();
        let r = self.maintain2(op);
        if t0.elapsed() > Duration::from_millis(300) {
            eprintln!("SLOW {:?} {op:?}", t0.elapsed());
        }
        r
    }
    fn maintain2(&mut self, op: &Maintenance) -> Result<(), TestCaseError> {
        match op {
            Maintenance::Flush(Some(t)) => self.engine().flush(TABLES[*t]).expect("flush"),
            Maintenance::Flush(None) => self.engine().flush_all().expect("flush all"),
            Maintenance::Compact(t, major) => {
                self.engine().compact(TABLES[*t], *major).expect("compact")
            }
            Maintenance::WaitForCompactions => self.engine().wait_for_compactions().expect("wait"),
            Maintenance::Restart => self.restart(),
            Maintenance::Advance(s) => {
                self.clock.advance(*s);
                // Inline, only a round acts on the new time (TTLs, gc grace).
                if self.background == Background::Inline {
                    self.engine().run_background_round().expect("round");
                }
            }
            Maintenance::Check(c) => self.check(c)?,
        }
        Ok(())
    }

    fn check(&self, c: &Check) -> Result<(), TestCaseError> {
        for t in 0..TABLES.len() {
            for shape in &c.reads {
                for k in 0..KEYS {
                    self.check_read(t, k, shape)?;
                }
            }
            for shape in &c.scans {
                self.check_scan(t, shape)?;
            }
        }
        Ok(())
    }

    fn check_read(&self, t: usize, k: usize, shape: &ReadShape) -> Result<(), TestCaseError> {
        let now = self.now();
        let cmd = PartitionRead {
            key: key(k),
            slices: shape.slices.clone(),
            columns: shape.columns.clone(),
            reversed: shape.reversed,
            row_limit: shape.limit,
            now,
            include_tombstones: shape.include_tombstones,
        };
        let mut reader = self.engine().read(TABLES[t], &cmd).expect("read");
        let mut rows: Vec<Row> = reader.by_ref().map(|r| r.expect("read row")).collect();
        let mut static_row = reader.static_row().cloned();
        if shape.include_tombstones {
            rows = rows.into_iter().filter_map(|r| live_row(r, now)).collect();
            static_row = static_row.and_then(|r| live_row(r, now));
        }
        let want = model_read(&self.model[t], &cmd);
        let ctx = format!("table {t} key {k} at {now}: {shape:?}");
        prop_assert_eq!(rows, want.rows, "rows of {}", ctx);
        prop_assert_eq!(static_row, want.static_row, "static row of {}", ctx);
        if !self.forget_deletions {
            prop_assert_eq!(
                reader.partition_deletion(),
                want.deletion,
                "partition deletion of {}",
                ctx
            );
        }
        Ok(())
    }

    fn check_scan(&self, t: usize, shape: &ScanShape) -> Result<(), TestCaseError> {
        let cmd = ScanCommand {
            range: shape.range.clone(),
            resume_after: shape.resume_after.clone().map(|(k, c)| (key(k), c)),
            columns: shape.columns.clone(),
            now: self.now(),
            include_tombstones: false,
        };
        let got: Vec<ScanItem> = self
            .engine()
            .scan(TABLES[t], &cmd)
            .expect("scan")
            .map(|i| i.expect("scan item"))
            .collect();
        let want = model_scan(&self.model[t], &cmd);
        let (got, want) = if self.forget_deletions {
            (forget(got), forget(want))
        } else {
            (got, want)
        };
        prop_assert_eq!(
            got,
            want,
            "scan of table {} at {}: {:?}",
            t,
            self.now(),
            shape
        );
        Ok(())
    }

    /// The final check, then again after a restart.
    fn finish(mut self) -> Result<(), TestCaseError> {
        self.check(&final_check())?;
        self.restart();
        self.check(&final_check())?;
        if let Some(engine) = self.engine.take() {
            engine.close().expect("closing the engine");
        }
        Ok(())
    }
}

/// Purged partition deletions are no longer reported.
fn forget(items: Vec<ScanItem>) -> Vec<ScanItem> {
    items
        .into_iter()
        .map(|i| match i {
            ScanItem::Partition {
                key, static_row, ..
            } => ScanItem::Partition {
                key,
                deletion: None,
                static_row,
                range_tombstones: Vec::new(),
            },
            r => r,
        })
        .collect()
}

// ---- the properties ----

/// A round of the gc-grace-0 property: writes at a fixed clock, then
/// maintenance that may move the clock and purge.
#[derive(Debug, Clone)]
struct Round {
    writes: Vec<(usize, GenMutation, bool)>,
    maintenance: Vec<Maintenance>,
}

fn round() -> impl Strategy<Value = Round> {
    (
        proptest::collection::vec(
            (
                0..TABLES.len(),
                gen_mutation(),
                proptest::bool::weighted(0.2),
            ),
            1..40,
        ),
        proptest::collection::vec(maintenance(80), 1..10),
    )
        .prop_map(|(writes, maintenance)| Round {
            writes,
            maintenance,
        })
}

/// Applies `ops` to the harness and its model, then compares them.
fn run_model(mut h: Harness, ops: &[Op]) -> Result<(), TestCaseError> {
    for op in ops {
        match op {
            Op::Apply(t, m) => {
                let ts_base = h.now() * MICROS;
                h.apply(*t, m, ts_base);
            }
            Op::Maintain(m) => h.maintain(m)?,
        }
    }
    h.finish()
}

// About 2 s together in a debug build on two cores.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// With a gc grace longer than the test, nothing is purged: after any
    /// sequence of writes, flushes, compactions (all three strategies),
    /// restarts and clock moves, reads and scans equal the model at `now`.
    #[test]
    fn reads_and_scans_equal_the_model(ops in proptest::collection::vec(op(), 1..160)) {
        run_model(Harness::new(10_000_000, SyncMode::Batch), &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// As `reads_and_scans_equal_the_model`, with the engine's background
    /// work inline: the flushes and compactions it runs on the writer's
    /// thread, and the rounds run as the clock moves, never change reads.
    #[test]
    fn inline_background_work_never_changes_reads(ops in proptest::collection::vec(op(), 1..160)) {
        let h = Harness::with_background(10_000_000, SyncMode::Batch, Background::Inline);
        run_model(h, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// With gc grace 0 and the clock moving, compactions purge tombstones and
    /// expired cells as soon as they may. Purging must never resurrect shadowed
    /// data nor drop live data. Each round's writes are newer than everything
    /// before them, as Cassandra requires for purged tombstones to stay unneeded.
    #[test]
    fn purging_never_changes_reads(rounds in proptest::collection::vec(round(), 1..4)) {
        let mut h = Harness::new(0, SyncMode::Periodic { interval_ms: 2 });
        for (i, round) in rounds.iter().enumerate() {
            let ts_base = (START + 10_000 * (i as i64 + 1)) * MICROS;
            for (t, m, flush) in &round.writes {
                h.apply(*t, m, ts_base);
                if *flush {
                    h.engine().flush(TABLES[*t]).expect("flush");
                }
            }
            for m in &round.maintenance {
                h.maintain(m)?;
            }
        }
        h.finish()?;
    }
}
