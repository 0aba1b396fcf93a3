//! Crash recovery on the simulated disk, which (unlike SIGKILL) also loses every
//! byte and directory entry that was not fsynced, and failed fsyncs.
//!
//! The seeded test runs writers (batch or group commit) and a thread that
//! flushes and compacts at random on a tiny memtable budget and small commit-log
//! segments, cuts the power at a random moment ([`SimFs::halt`]), reopens, and
//! checks the table against an exact model: each writer owns its partitions and
//! stops at its first failed write, so what recovery may show is the model with
//! every acknowledged operation applied, plus perhaps the one in flight. That
//! rules out lost writes, invented or torn values, undone deletes and
//! duplicates in one comparison. The targeted tests cut the power at chosen
//! steps of a flush or a compaction ([`SimFs::halt_on`]); the poisoning tests
//! make fsyncs and writes fail.
//!
//! A failing seed prints itself; rerun it with `BASALT_SIMCRASH_SEED=<seed>`.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use storage::FileSystem;
use storage::ManualClock;
use storage::SyncMode;
use storage::manifest::{MANIFEST_FILE, Manifest};
use storage::sim::{FaultKind, SimFs};
use storage::sstable::data_path;
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, DeletionTime, Engine,
    EngineOptions, Error, KeyRange, Mutation, Row, TableId, Token,
};
use storage::{ColumnFilter, PartitionRead, ScanCommand, ScanItem};
use storage::{CompactionStrategyOptions, LeveledOptions, SizeTieredOptions, TableOptions};

const TABLE: TableId = TableId(0x5eed);
/// The writers' `now`, and the local deletion time of their tombstones.
const NOW: i64 = 1_700_000_000;
const DATA_DIR: &str = "/data";
const PARTITIONS: u32 = 6;
const ROWS: u32 = 12;

/// (partition key, clustering key) → value.
type Model = BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>;

#[derive(Clone, Copy, Debug)]
enum Op {
    Put { pk: u32, ck: u32, ts: i64 },
    DeleteRow { pk: u32, ck: u32, ts: i64 },
    DeletePartition { pk: u32, ts: i64 },
}

fn pk_bytes(writer: u32, pk: u32) -> Vec<u8> {
    format!("w{writer}:p{pk}").into_bytes()
}

fn ck_bytes(ck: u32) -> Vec<u8> {
    format!("c{ck:03}").into_bytes()
}

fn decorated(writer: u32, pk: u32) -> DecoratedKey {
    // Tokens are the caller's business; any stable spread will do.
    let token = i64::from(writer * 1000 + pk).wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64);
    DecoratedKey::new(Token(token), pk_bytes(writer, pk))
}

/// Derived from everything about the write, so an invented, stale or torn
/// value cannot pass for the right one.
fn value(writer: u32, pk: u32, ck: u32, ts: i64) -> Vec<u8> {
    format!(
        "w{writer} p{pk} c{ck} ts{ts} {}",
        "v".repeat((ts % 89) as usize + 20)
    )
    .into_bytes()
}

fn to_mutation(writer: u32, op: Op) -> Mutation {
    match op {
        Op::Put { pk, ck, ts } => Mutation::new(TABLE, decorated(writer, pk)).with_row(
            Row::new(ClusteringKey::new(ck_bytes(ck))).with_cell(
                ColumnId(1),
                None,
                Cell::live(ts, value(writer, pk, ck, ts)),
            ),
        ),
        Op::DeleteRow { pk, ck, ts } => {
            let mut row = Row::new(ClusteringKey::new(ck_bytes(ck)));
            row.deletion = Some(DeletionTime::new(ts, NOW));
            Mutation::new(TABLE, decorated(writer, pk)).with_row(row)
        }
        Op::DeletePartition { pk, ts } => {
            let mut m = Mutation::new(TABLE, decorated(writer, pk));
            m.partition_deletion = Some(DeletionTime::new(ts, NOW));
            m
        }
    }
}

/// Timestamps grow with each operation of a writer, and a writer's keys are
/// its own, so the last operation on a key is the one that counts.
fn apply_model(model: &mut Model, writer: u32, op: Op) {
    match op {
        Op::Put { pk, ck, ts } => {
            model.insert(
                (pk_bytes(writer, pk), ck_bytes(ck)),
                value(writer, pk, ck, ts),
            );
        }
        Op::DeleteRow { pk, ck, .. } => {
            model.remove(&(pk_bytes(writer, pk), ck_bytes(ck)));
        }
        Op::DeletePartition { pk, .. } => {
            let pk = pk_bytes(writer, pk);
            model.retain(|(p, _), _| *p != pk);
        }
    }
}

/// One writer's operation generator; it lives on across power cuts.
#[derive(Debug)]
struct Writer {
    id: u32,
    rng: StdRng,
    next_ts: i64,
}

impl Writer {
    fn next_op(&mut self) -> Op {
        let pk = self.rng.random_range(0..PARTITIONS);
        let ck = self.rng.random_range(0..ROWS);
        let ts = self.next_ts;
        self.next_ts += 1;
        match self.rng.random_range(0..100) {
            0..80 => Op::Put { pk, ck, ts },
            80..93 => Op::DeleteRow { pk, ck, ts },
            _ => Op::DeletePartition { pk, ts },
        }
    }
}

/// What a writer did before the power cut.
#[derive(Debug)]
struct Outcome {
    /// Every operation tried, in order; all but perhaps the last were acknowledged.
    ops: Vec<Op>,
    acked: usize,
    /// A failure that happened while the disk was still up: a bug.
    early_error: Option<String>,
}

fn run_writer(engine: &Engine, fs: &SimFs, w: &mut Writer, stop: &AtomicBool) -> Outcome {
    let mut out = Outcome {
        ops: Vec::new(),
        acked: 0,
        early_error: None,
    };
    while !stop.load(Ordering::Acquire) {
        let op = w.next_op();
        out.ops.push(op);
        match engine.apply(&to_mutation(w.id, op)) {
            Ok(()) => out.acked += 1,
            Err(e) => {
                if !fs.is_halted() {
                    out.early_error = Some(format!("writer {}: {e}", w.id));
                }
                break;
            }
        }
    }
    out
}

/// Flushes, compacts (minor and major), syncs and reads stats at random.
fn run_maintenance(engine: &Engine, fs: &SimFs, seed: u64, stop: &AtomicBool) -> Option<String> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6d61_696e);
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(rng.random_range(0..12)));
        let (what, result) = match rng.random_range(0..10) {
            0..4 => ("flush", engine.flush(TABLE)),
            4..7 => ("compaction", engine.compact(TABLE, false)),
            7 => ("major compaction", engine.compact(TABLE, true)),
            8 => ("commit log sync", engine.sync_commitlog()),
            _ => ("stats", engine.table_stats(TABLE).map(|_| ())),
        };
        if let Err(e) = result
            && !fs.is_halted()
        {
            return Some(format!("{what}: {e}"));
        }
    }
    None
}

fn engine_options(clock: Arc<ManualClock>, group: bool) -> EngineOptions {
    let mut o = EngineOptions::new(DATA_DIR, clock);
    o.commitlog.sync = if group {
        SyncMode::Group { window_us: 100 }
    } else {
        SyncMode::Batch
    };
    // Small segments and a tiny budget: segments roll and recycle, memtables
    // flush and SSTables compact all the time, so power cuts land inside them.
    o.commitlog.segment_size_bytes = 16 << 10;
    o.commitlog.max_recycled_segments = 2;
    o.memtable_budget_bytes = 48 << 10;
    o.compaction_throughput_mib_per_s = 0;
    o.write_stall_timeout_ms = 5_000;
    o
}

fn table_options(seed: u64) -> TableOptions {
    let compaction = match seed % 3 {
        0 => CompactionStrategyOptions::SizeTiered(SizeTieredOptions {
            min_threshold: 2,
            max_threshold: 4,
            ..SizeTieredOptions::default()
        }),
        1 => CompactionStrategyOptions::Leveled(LeveledOptions::default()),
        _ => CompactionStrategyOptions::default(),
    };
    TableOptions {
        compaction,
        // Half the seeds let compaction purge tombstones (the clock runs ahead
        // of the tombstones' deletion time): a purge must never resurrect data.
        gc_grace_seconds: if seed % 4 < 2 { 0 } else { 864_000 },
        ..TableOptions::default()
    }
}

fn open(fs: &SimFs, options: &EngineOptions) -> Engine {
    Engine::open(Arc::new(fs.clone()), options.clone()).unwrap()
}

/// Everything in the table, checking scan order and that no row appears twice.
fn contents(engine: &Engine) -> Model {
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: NOW,
        include_tombstones: false,
    };
    let mut out = Model::new();
    let mut current: Option<DecoratedKey> = None;
    let mut last: Option<(DecoratedKey, Vec<u8>)> = None;
    for item in engine.scan(TABLE, &cmd).unwrap() {
        match item.unwrap() {
            ScanItem::Partition { key, .. } => current = Some(key),
            ScanItem::Row(row) => {
                let key = current.clone().expect("a row follows its partition");
                let ck = row.clustering.as_bytes().to_vec();
                let at = (key.clone(), ck.clone());
                assert!(
                    last.as_ref().is_none_or(|l| *l < at),
                    "scan out of order or duplicated at {at:?}"
                );
                last = Some(at);
                assert_eq!(row.cells.len(), 1, "one column per row: {row:?}");
                let v = row.cells[0].cell.value_at(NOW).expect("live").to_vec();
                let dup = out.insert((key.key.to_vec(), ck), v);
                assert!(dup.is_none(), "duplicate row in {key:?}");
            }
        }
    }
    out
}

/// Point reads must agree with the scan, partition by partition.
fn check_point_reads(engine: &Engine, writers: u32, expected: &Model) {
    for w in 0..writers {
        for pk in 0..PARTITIONS {
            let cmd = PartitionRead {
                key: decorated(w, pk),
                slices: vec![ClusteringRange::ALL],
                columns: ColumnFilter::All,
                reversed: false,
                row_limit: None,
                now: NOW,
                include_tombstones: false,
            };
            let got: Vec<(Vec<u8>, Vec<u8>)> = engine
                .read(TABLE, &cmd)
                .unwrap()
                .map(|r| {
                    let r = r.unwrap();
                    let v = r.cells[0].cell.value_at(NOW).expect("live").to_vec();
                    (r.clustering.as_bytes().to_vec(), v)
                })
                .collect();
            let pkb = pk_bytes(w, pk);
            let want: Vec<(Vec<u8>, Vec<u8>)> = expected
                .iter()
                .filter(|((p, _), _)| *p == pkb)
                .map(|((_, c), v)| (c.clone(), v.clone()))
                .collect();
            assert_eq!(got, want, "point read of partition w{w}:p{pk}");
        }
    }
}

fn writer_rows(model: &Model, writer: u32) -> Model {
    let prefix = format!("w{writer}:").into_bytes();
    model
        .iter()
        .filter(|((p, _), _)| p.starts_with(&prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn show(key: &(Vec<u8>, Vec<u8>)) -> String {
    format!(
        "{}/{}",
        String::from_utf8_lossy(&key.0),
        String::from_utf8_lossy(&key.1)
    )
}

/// Says how `found` differs from `want`, key by key.
fn diff(want: &Model, found: &Model) -> String {
    let head = |v: &[u8]| String::from_utf8_lossy(&v[..v.len().min(24)]).into_owned();
    let mut lines = Vec::new();
    for (k, v) in want {
        match found.get(k) {
            None => lines.push(format!("lost {}", show(k))),
            Some(f) if f != v => lines.push(format!(
                "changed {}: {} instead of {}",
                show(k),
                head(f),
                head(v)
            )),
            Some(_) => {}
        }
    }
    for k in found.keys().filter(|k| !want.contains_key(*k)) {
        lines.push(format!("present but deleted or never written: {}", show(k)));
    }
    lines.truncate(10);
    lines.join("\n  ")
}

/// Checks one writer's rows after recovery: every acknowledged operation is
/// applied, and the one in flight at the cut may or may not be. Returns the
/// writer's rows as recovered.
fn check_writer(model: &Model, writer: u32, outcome: &Outcome, found: &Model) -> Model {
    let mut acked = writer_rows(model, writer);
    for op in &outcome.ops[..outcome.acked] {
        apply_model(&mut acked, writer, *op);
    }
    let found = writer_rows(found, writer);
    if found == acked {
        return found;
    }
    if let Some(op) = outcome.ops.get(outcome.acked) {
        let mut with_last = acked.clone();
        apply_model(&mut with_last, writer, *op);
        if found == with_last {
            return found;
        }
    }
    panic!(
        "writer {writer} ({} operations acknowledged, {} tried): recovery does not match \
         the acknowledged writes:\n  {}",
        outcome.acked,
        outcome.ops.len(),
        diff(&acked, &found)
    );
}

/// The table's directory (found by listing: its name is the engine's business).
fn table_dir(fs: &SimFs) -> PathBuf {
    let dirs = fs.read_dir(&Path::new(DATA_DIR).join("tables")).unwrap();
    assert_eq!(dirs.len(), 1, "one table directory: {dirs:?}");
    dirs[0].clone()
}

/// Files in the table directory that the durable manifest does not account
/// for: SSTables it does not name and temporary files.
fn orphans(fs: &SimFs) -> Vec<PathBuf> {
    let dir = table_dir(fs);
    let manifest = Manifest::load(fs, &dir).unwrap().expect("a manifest");
    let mut known: BTreeSet<PathBuf> = manifest
        .sstables
        .iter()
        .map(|e| data_path(&dir, e.generation))
        .collect();
    known.insert(dir.join(MANIFEST_FILE));
    fs.read_dir(&dir)
        .unwrap()
        .into_iter()
        .filter(|p| !known.contains(p))
        // Directories (snapshots) are not table files.
        .filter(|p| fs.read_dir(p).is_err())
        .collect()
}

/// Stops everything the dead engine runs; the disk must be halted.
fn bury(engine: Engine, fs: &SimFs) {
    assert!(fs.is_halted());
    drop(engine);
    fs.restart();
}

/// Reopens after a power cut and checks that open removed every leftover
/// file, then cuts the power again (nothing written) and checks that a second
/// reopen shows the same contents.
fn reopen_twice(fs: &SimFs, options: &EngineOptions) -> (Engine, Model) {
    // Without background compaction, nothing writes while the files are listed.
    let quiet = EngineOptions {
        compaction_threads: 0,
        ..options.clone()
    };
    let engine = open(fs, &quiet);
    assert_eq!(orphans(fs), Vec::<PathBuf>::new(), "leftovers after open");
    let found = contents(&engine);
    fs.halt();
    bury(engine, fs);
    let engine = open(fs, options);
    assert_eq!(
        contents(&engine),
        found,
        "a second reopen changed the table"
    );
    (engine, found)
}

/// One seed: two rounds of writing under a random power cut, each followed by
/// recovery and checks.
#[expect(
    clippy::too_many_lines,
    reason = "one seed's whole crash-and-recover story"
)]
fn run_seed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let group = seed % 2 == 1;
    let writers: u32 = if group { 3 } else { 2 };
    let fs = SimFs::new();
    if rng.random_bool(0.5) {
        fs.set_sync_latency(Duration::from_micros(rng.random_range(50..300)));
    }
    let table = table_options(seed);
    let clock = Arc::new(ManualClock::new(if table.gc_grace_seconds == 0 {
        NOW + 60
    } else {
        NOW
    }));
    let options = engine_options(clock, group);
    let engine = open(&fs, &options);
    engine.create_table(TABLE, table).unwrap();
    let mut engine = Arc::new(engine);
    let mut gens: Vec<Writer> = (0..writers)
        .map(|id| Writer {
            id,
            rng: StdRng::seed_from_u64(seed.wrapping_mul(31) + u64::from(id)),
            next_ts: 1,
        })
        .collect();
    let mut model = Model::new();
    for round in 0..2 {
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = gens
            .drain(..)
            .map(|mut w| {
                let (engine, fs, stop) = (engine.clone(), fs.clone(), stop.clone());
                std::thread::spawn(move || {
                    let outcome = run_writer(&engine, &fs, &mut w, &stop);
                    (w, outcome)
                })
            })
            .collect();
        let maintenance = {
            let (engine, fs, stop) = (engine.clone(), fs.clone(), stop.clone());
            let seed = seed + round;
            std::thread::spawn(move || run_maintenance(&engine, &fs, seed, &stop))
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(15..110)));
        fs.halt();
        stop.store(true, Ordering::Release);
        let mut outcomes = Vec::new();
        for h in handles {
            let (w, outcome) = h.join().unwrap();
            gens.push(w);
            outcomes.push(outcome);
        }
        let early = maintenance.join().unwrap();
        let early: Vec<&String> = outcomes
            .iter()
            .filter_map(|o| o.early_error.as_ref())
            .chain(&early)
            .collect();
        assert!(
            early.is_empty(),
            "round {round}: failed before the power cut: {early:?}"
        );
        let acked: usize = outcomes.iter().map(|o| o.acked).sum();
        assert!(acked > 0, "round {round}: nothing was acknowledged");
        bury(
            Arc::into_inner(engine).expect("every thread is joined"),
            &fs,
        );

        let (reopened, found) = reopen_twice(&fs, &options);
        let mut next = Model::new();
        for (w, outcome) in gens.iter().zip(&outcomes) {
            next.extend(check_writer(&model, w.id, outcome, &found));
        }
        assert_eq!(next, found, "rows of no writer");
        check_point_reads(&reopened, writers, &found);
        model = found;
        engine = Arc::new(reopened);
    }
}

#[test]
fn power_cuts_under_load_lose_nothing_acknowledged() {
    let env = |name: &str| std::env::var(name).ok().map(|s| s.parse::<u64>().unwrap());
    // One seed to replay a failure, or many to hunt for one (no time bound).
    let (seeds, budget) = match (env("BASALT_SIMCRASH_SEED"), env("BASALT_SIMCRASH_SEEDS")) {
        (Some(seed), _) => (seed..seed + 1, None),
        (None, Some(n)) => (0..n, None),
        // CI runs debug builds on two busy cores: stop early when slow.
        (None, None) => (0..30, Some(Duration::from_secs(10))),
    };
    let start = Instant::now();
    let mut ran = 0;
    for seed in seeds {
        if ran >= 6 && budget.is_some_and(|b| start.elapsed() > b) {
            break;
        }
        let result = std::panic::catch_unwind(|| run_seed(seed));
        if let Err(e) = result {
            eprintln!("crash_simfs: seed {seed} failed; rerun with BASALT_SIMCRASH_SEED={seed}");
            std::panic::resume_unwind(e);
        }
        ran += 1;
    }
    eprintln!("crash_simfs: {ran} seeds in {:?}", start.elapsed());
}

/// An engine whose background work is predictable: no compaction threads and a
/// budget no test fills, so only the test flushes and compacts (the poisoning
/// tests shrink the budget to get background flushes).
fn quiet_options(sync: SyncMode) -> EngineOptions {
    let mut o = engine_options(Arc::new(ManualClock::new(NOW)), false);
    o.commitlog.sync = sync;
    o.compaction_threads = 0;
    o.memtable_budget_bytes = 64 << 20;
    o
}

fn quiet_engine(fs: &SimFs, options: &EngineOptions) -> Engine {
    let engine = open(fs, options);
    engine.create_table(TABLE, TableOptions::default()).unwrap();
    engine
}

fn writer(id: u32) -> Writer {
    Writer {
        id,
        rng: StdRng::seed_from_u64(0xc0ff_ee00 + u64::from(id)),
        next_ts: 1,
    }
}

/// Applies `n` operations that must all be acknowledged, into the model too.
fn write_acked(engine: &Engine, w: &mut Writer, n: usize, model: &mut Model) {
    for _ in 0..n {
        let op = w.next_op();
        engine.apply(&to_mutation(w.id, op)).unwrap();
        apply_model(model, w.id, op);
    }
}

/// A power cut armed at one I/O call, and how many files the table directory
/// should hold that the durable manifest does not name once it lands: proof
/// that it landed in the intended window.
struct Cut {
    step: &'static str,
    kind: FaultKind,
    path: &'static str,
    skip: u64,
    orphans: usize,
}

/// Lands `cut` inside `operation`, then checks recovery: the operation failed
/// at the cut, the disk holds the expected leftovers, open removes them, and
/// the table holds exactly the acknowledged writes, twice.
fn cut_inside(
    fs: &SimFs,
    engine: Engine,
    options: &EngineOptions,
    cut: &Cut,
    model: &Model,
    operation: impl FnOnce(&Engine) -> storage::Result<()>,
) {
    fs.halt_on(cut.kind, cut.path, cut.skip);
    let result = operation(&engine);
    assert!(fs.is_halted(), "{}: the power cut never came", cut.step);
    assert!(
        result.is_err(),
        "{}: succeeded through a power cut",
        cut.step
    );
    bury(engine, fs);
    let left = orphans(fs);
    assert_eq!(left.len(), cut.orphans, "{}: leftovers {left:?}", cut.step);
    let (engine, found) = reopen_twice(fs, options);
    assert!(found == *model, "{}:\n  {}", cut.step, diff(model, &found));
    check_point_reads(&engine, 1, model);
}

#[test]
fn a_power_cut_inside_a_flush_loses_and_duplicates_nothing() {
    let cuts = [
        Cut {
            step: "while the SSTable is written",
            kind: FaultKind::Write,
            path: ".db.tmp",
            skip: 0,
            orphans: 0,
        },
        Cut {
            step: "before the SSTable is fsynced",
            kind: FaultKind::SyncData,
            path: ".db.tmp",
            skip: 0,
            orphans: 0,
        },
        Cut {
            step: "after the SSTable rename, before the directory sync",
            kind: FaultKind::SyncDir,
            path: "/tables/",
            skip: 0,
            orphans: 0,
        },
        Cut {
            step: "after the SSTable is published, before the manifest swap",
            kind: FaultKind::Write,
            path: "MANIFEST.tmp",
            skip: 0,
            orphans: 1,
        },
        Cut {
            step: "after the manifest rename, before the directory sync",
            kind: FaultKind::SyncDir,
            path: "/tables/",
            skip: 1,
            orphans: 1,
        },
        Cut {
            step: "after the manifest swap, while the commit log is trimmed",
            kind: FaultKind::Write,
            path: "/commitlog/",
            skip: 0,
            orphans: 0,
        },
    ];
    for cut in &cuts {
        let fs = SimFs::new();
        let options = quiet_options(SyncMode::Batch);
        let engine = quiet_engine(&fs, &options);
        let (mut w, mut model) = (writer(0), Model::new());
        write_acked(&engine, &mut w, 150, &mut model);
        engine.flush(TABLE).unwrap();
        // Enough to fill several commit-log segments, which the flush frees.
        write_acked(&engine, &mut w, 400, &mut model);
        // Let the segment allocator finish its pre-allocation, which writes too.
        std::thread::sleep(Duration::from_millis(30));
        cut_inside(&fs, engine, &options, cut, &model, |e| e.flush(TABLE));
    }
}

#[test]
fn a_power_cut_inside_a_compaction_loses_and_duplicates_nothing() {
    let cuts = [
        Cut {
            step: "while the output is written",
            kind: FaultKind::Write,
            path: ".db.tmp",
            skip: 0,
            orphans: 0,
        },
        Cut {
            step: "after the output is published, before the manifest swap",
            kind: FaultKind::Write,
            path: "MANIFEST.tmp",
            skip: 0,
            orphans: 1,
        },
        Cut {
            step: "after the manifest swap, before the inputs are deleted",
            kind: FaultKind::SyncDir,
            path: "/tables/",
            skip: 2,
            orphans: 3,
        },
        Cut {
            step: "after the first input is deleted",
            kind: FaultKind::SyncDir,
            path: "/tables/",
            skip: 3,
            orphans: 2,
        },
    ];
    for cut in &cuts {
        let fs = SimFs::new();
        let options = quiet_options(SyncMode::Batch);
        let engine = quiet_engine(&fs, &options);
        let (mut w, mut model) = (writer(0), Model::new());
        // Three overlapping SSTables: later ones overwrite and delete rows of
        // earlier ones, so a merge that lost or doubled a source would show.
        for _ in 0..3 {
            write_acked(&engine, &mut w, 200, &mut model);
            engine.flush(TABLE).unwrap();
        }
        assert_eq!(engine.table_stats(TABLE).unwrap().sstable_count, 3);
        cut_inside(&fs, engine, &options, cut, &model, |e| {
            e.compact(TABLE, true)
        });
    }
}

/// Writes until a write fails (bounded in time); returns the history.
fn write_until_failure(engine: &Engine, w: &mut Writer) -> (Outcome, Error) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Outcome {
        ops: Vec::new(),
        acked: 0,
        early_error: None,
    };
    loop {
        assert!(Instant::now() < deadline, "no write failed");
        let op = w.next_op();
        out.ops.push(op);
        match engine.apply(&to_mutation(w.id, op)) {
            Ok(()) => out.acked += 1,
            Err(e) => return (out, e),
        }
    }
}

/// Every later write fails with `Poisoned`, even on a healthy disk.
fn assert_writes_refused(engine: &Engine, w: &mut Writer, expect: &str) {
    for _ in 0..5 {
        match engine.apply(&to_mutation(w.id, w.next_op())) {
            Err(Error::Poisoned(msg)) => assert!(msg.contains(expect), "unclear: {msg}"),
            other => panic!("a write after the failure was not refused: {other:?}"),
        }
    }
}

#[test]
fn a_failed_commit_log_fsync_poisons_writes_but_not_reads() {
    for sync in [SyncMode::Batch, SyncMode::Group { window_us: 100 }] {
        let fs = SimFs::new();
        let options = quiet_options(sync);
        let engine = quiet_engine(&fs, &options);
        let mut w = writer(0);
        let mut acked = Model::new();
        write_acked(&engine, &mut w, 50, &mut acked);
        // Let the segment allocator finish pre-allocating (it fsyncs too).
        std::thread::sleep(Duration::from_millis(30));
        fs.fail_sync_data("/commitlog/", Some(1));
        let op = w.next_op();
        let err = engine.apply(&to_mutation(w.id, op)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Poisoned(_)), "{sync:?}: {err:?}");
        assert!(
            text.contains("poisoned") && text.contains("commit log segment"),
            "{sync:?}: unclear error: {text}"
        );
        // The fault is spent, the disk healthy again: still nothing is retried.
        assert_writes_refused(&engine, &mut w, "injected SyncData fault");
        assert!(engine.sync_commitlog().is_err());
        // Reads still work, and show no trace of the failed write.
        assert!(contents(&engine) == acked, "{sync:?}: reads changed");
        check_point_reads(&engine, 1, &acked);

        drop(engine);
        fs.crash();
        let engine = open(&fs, &options);
        let found = contents(&engine);
        let history = Outcome {
            ops: vec![op],
            acked: 0,
            early_error: None,
        };
        check_writer(&acked, 0, &history, &found);
    }
}

#[test]
fn a_failed_sstable_write_in_a_background_flush_poisons_the_engine() {
    for kind in [FaultKind::Write, FaultKind::SyncData] {
        let fs = SimFs::new();
        let mut options = quiet_options(SyncMode::Batch);
        // Small enough that writing triggers background flushes soon.
        options.memtable_budget_bytes = 32 << 10;
        let engine = quiet_engine(&fs, &options);
        let mut w = writer(0);
        fs.inject_fault(kind, ".db.tmp", None);
        let (history, err) = write_until_failure(&engine, &mut w);
        let Error::Poisoned(msg) = &err else {
            panic!("{kind:?}: the failed flush did not poison the engine: {err:?}");
        };
        assert!(
            msg.contains("memtable flush") && msg.contains("injected"),
            "{kind:?}: unclear error: {err}"
        );
        assert!(err.to_string().contains("refuses writes"), "{err}");
        fs.clear_faults();
        assert_writes_refused(&engine, &mut w, "memtable flush");
        // Reads still serve every acknowledged write from the memtables.
        let mut acked = Model::new();
        for op in &history.ops[..history.acked] {
            apply_model(&mut acked, 0, *op);
        }
        assert!(
            history.acked > 0,
            "{kind:?}: nothing written before the flush"
        );
        assert!(contents(&engine) == acked, "{kind:?}: reads changed");

        drop(engine);
        fs.crash();
        let engine = open(&fs, &options);
        let found = contents(&engine);
        check_writer(&Model::new(), 0, &history, &found);
        check_point_reads(&engine, 1, &found);
    }
}
