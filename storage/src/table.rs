//! One table's LSM: the active and flushing memtables, the live SSTables, and the
//! manifest that names them.
//!
//! Readers take an `Arc<View>` snapshot and never block writers or flushes. The
//! write path appends to the commit log while holding the view's read lock, so a
//! memtable switch (which takes the write lock and notes the commit-log position)
//! splits the log cleanly: every record of this table below the noted position is
//! in the old memtable, every later one in the new.

mod compact;
mod flush;

use crate::background::Background;
use crate::cache::BlockCache;
use crate::cell::Timestamp;
use crate::clock::Clock;
use crate::commitlog::CommitLog;
use crate::compaction::{CompactionStrategy, SsTableDescriptor, strategy_for};
use crate::error::{Error, Result};
use crate::io::FileSystem;
use crate::key::TableId;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::metrics::LatencyHistogram;
use crate::mutation::Mutation;
use crate::options::TableOptions;
use crate::partition::{PartitionSource, PartitionStream};
use crate::position::ReplayPosition;
use crate::sstable::SsTable;
use crate::truncation::{self, Truncated};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

/// A memtable and the bookkeeping its flush needs.
#[derive(Debug)]
pub(crate) struct MemtableSlot {
    pub(crate) memtable: Arc<Memtable>,
    /// Writers that logged a record for this memtable but have not applied it yet.
    pending_writers: AtomicUsize,
    /// The commit-log position at which this memtable stopped taking writes.
    upper_bound: OnceLock<ReplayPosition>,
    /// What this memtable added to the engine-wide memtable bytes, so exactly
    /// that is given back when it goes (its own size can shrink when merges
    /// overwrite, and giving back less would leak budget until writers stall).
    charged_bytes: AtomicU64,
    /// When (clock ms) the first write was logged for this memtable;
    /// `CLEAN` until then. A table's flush period counts from here.
    dirty_since_ms: AtomicI64,
}

/// `dirty_since_ms` of a memtable nothing was logged for.
const CLEAN: i64 = i64::MIN;

impl MemtableSlot {
    fn new(id: u64) -> Arc<Self> {
        Arc::new(MemtableSlot {
            memtable: Memtable::new(id),
            pending_writers: AtomicUsize::new(0),
            upper_bound: OnceLock::new(),
            charged_bytes: AtomicU64::new(0),
            dirty_since_ms: AtomicI64::new(CLEAN),
        })
    }

    /// Notes the first write's time; later writes leave it. The clock is read
    /// once per memtable, not once per write.
    fn mark_dirty(&self, clock: &dyn Clock) {
        if self.dirty_since_ms.load(Ordering::Relaxed) == CLEAN {
            let _ = self.dirty_since_ms.compare_exchange(
                CLEAN,
                clock.now_millis(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    /// Marks the end of one writer's log-then-apply sequence.
    pub(crate) fn writer_done(&self) {
        self.pending_writers.fetch_sub(1, Ordering::AcqRel);
    }

    /// Waits until every writer that logged for this memtable has applied.
    /// Inline, a writer between its log and its apply is this very thread,
    /// so that is refused instead of spinning forever.
    fn wait_for_writers(&self, background: Background) -> Result<()> {
        // The window is one fsync long at most, so yielding is cheaper than a condvar.
        while self.pending_writers.load(Ordering::Acquire) > 0 {
            background.may_wait("a writer to apply its logged mutation")?;
            std::thread::yield_now();
        }
        Ok(())
    }
}

/// A live SSTable and its level.
#[derive(Debug, Clone)]
pub(crate) struct LiveSsTable {
    pub(crate) sstable: Arc<SsTable>,
    pub(crate) level: u32,
}

/// An immutable snapshot of what a read must merge.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) active: Arc<MemtableSlot>,
    /// Switched memtables not yet in SSTables, oldest first.
    pub(crate) flushing: Vec<Arc<MemtableSlot>>,
    pub(crate) sstables: Vec<LiveSsTable>,
}

impl View {
    /// Every memtable, active first.
    pub(crate) fn memtables(&self) -> impl Iterator<Item = &Arc<MemtableSlot>> {
        std::iter::once(&self.active).chain(self.flushing.iter())
    }
}

/// Per-table counters.
#[derive(Debug, Default)]
pub(crate) struct TableMetrics {
    pub(crate) reads: LatencyHistogram,
    pub(crate) writes: LatencyHistogram,
    pub(crate) scans: LatencyHistogram,
    pub(crate) flushes: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) bytes_flushed: AtomicU64,
    pub(crate) bytes_compacted: AtomicU64,
    read_count: AtomicU64,
}

impl TableMetrics {
    /// Counts a read and says whether to time it (one in eight).
    pub(crate) fn sample_read(&self) -> bool {
        self.read_count
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(8)
    }

    /// Point reads served so far.
    pub(crate) fn reads_served(&self) -> u64 {
        self.read_count.load(Ordering::Relaxed)
    }
}

/// Everything the table needs from the engine.
#[derive(Debug, Clone)]
pub(crate) struct TableContext {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) cache: Arc<BlockCache>,
    pub(crate) commitlog: Arc<CommitLog>,
    /// Bytes held by all memtables of all tables.
    pub(crate) memtable_bytes: Arc<AtomicU64>,
    /// The engine's clock, for memtable ages.
    pub(crate) clock: Arc<dyn Clock>,
    /// Whether other threads may finish what a table operation waits for.
    pub(crate) background: Background,
}

impl TableContext {
    /// Counts `bytes` added to `slot`'s memtable against the engine's budget.
    pub(crate) fn charge(&self, slot: &MemtableSlot, bytes: u64) {
        slot.charged_bytes.fetch_add(bytes, Ordering::AcqRel);
        self.memtable_bytes.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Gives back everything `slot` was charged (it was flushed or dropped).
    pub(crate) fn release(&self, slot: &MemtableSlot) {
        let bytes = slot.charged_bytes.swap(0, Ordering::AcqRel);
        // Saturating: the counter must never wrap, whatever the interleaving.
        let _ = self
            .memtable_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_sub(bytes))
            });
    }
}

/// One table's LSM.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) id: TableId,
    pub(crate) dir: PathBuf,
    pub(crate) ctx: TableContext,
    options: RwLock<TableOptions>,
    strategy: RwLock<Box<dyn CompactionStrategy>>,
    view: RwLock<Arc<View>>,
    /// Serialises manifest rewrites (flush completion, compaction swaps, truncation).
    manifest: Mutex<Manifest>,
    /// One flush at a time per table, so the flushed-up-to watermark only grows.
    flush_lock: Mutex<()>,
    pub(crate) compacting: Mutex<HashSet<u64>>,
    pub(crate) flush_requested: AtomicBool,
    /// The table's own memtable flush threshold (0: only the engine budget applies).
    pub(crate) flush_threshold_bytes: AtomicU64,
    /// The table's `memtable_flush_period_in_ms` (0: no timed flushes).
    flush_period_ms: AtomicU64,
    pub(crate) dropped: AtomicBool,
    /// Set while a major compaction runs: background planning waits for it.
    pub(crate) major_running: AtomicBool,
    next_memtable_id: AtomicU64,
    /// The truncation time (`NOT_TRUNCATED` if none), as in the manifest. Set
    /// before a truncation swaps the view, so a writer that logged into a
    /// memtable of the new view reads it afterwards.
    truncated_at: AtomicI64,
    pub(crate) metrics: TableMetrics,
}

/// `truncated_at` of a table never truncated.
const NOT_TRUNCATED: i64 = i64::MIN;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not wedge storage: the data under these locks is
    // replaced whole, never left half-updated.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Table {
    /// Creates a new, empty table and makes its manifest durable.
    pub(crate) fn create(
        ctx: TableContext,
        dir: PathBuf,
        id: TableId,
        options: TableOptions,
    ) -> Result<Arc<Table>> {
        options.validate()?;
        ctx.fs
            .create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let mut manifest = Manifest::new(id, options);
        // Nothing of a new table is in the log yet, but a dropped table with the
        // same id could be: start past everything logged so far.
        manifest.flushed_up_to = ctx.commitlog.current_position();
        manifest.store(ctx.fs.as_ref(), &dir)?;
        Ok(Self::assemble(ctx, dir, manifest, Vec::new()))
    }

    /// Opens an existing table: deletes files its manifest does not name (outputs
    /// of an interrupted flush or compaction, inputs of a finished one) and opens
    /// the live SSTables.
    pub(crate) fn open(ctx: TableContext, dir: PathBuf, manifest: Manifest) -> Result<Arc<Table>> {
        let live: HashSet<u64> = manifest.sstables.iter().map(|e| e.generation).collect();
        SsTable::remove_temporary_files(ctx.fs.as_ref(), &dir)?;
        remove_manifest_temp(ctx.fs.as_ref(), &dir)?;
        for generation in SsTable::list_generations(ctx.fs.as_ref(), &dir)? {
            if !live.contains(&generation) {
                tracing::info!(table = %manifest.table, generation, "removing SSTable not in the manifest");
                SsTable::remove_files(ctx.fs.as_ref(), &dir, generation)?;
            }
        }
        let mut sstables = Vec::with_capacity(manifest.sstables.len());
        for e in &manifest.sstables {
            let sstable = SsTable::open(ctx.fs.clone(), &dir, e.generation, ctx.cache.clone())?;
            sstables.push(LiveSsTable {
                sstable,
                level: e.level,
            });
        }
        Ok(Self::assemble(ctx, dir, manifest, sstables))
    }

    fn assemble(
        ctx: TableContext,
        dir: PathBuf,
        manifest: Manifest,
        sstables: Vec<LiveSsTable>,
    ) -> Arc<Table> {
        let view = View {
            active: MemtableSlot::new(0),
            flushing: Vec::new(),
            sstables,
        };
        let threshold = manifest.options.memtable_flush_threshold_bytes.unwrap_or(0);
        let truncated_at = manifest.truncated_at.map_or(NOT_TRUNCATED, |t| t.0);
        let period = manifest.options.memtable_flush_period_ms;
        Arc::new(Table {
            id: manifest.table,
            dir,
            ctx,
            options: RwLock::new(manifest.options.clone()),
            strategy: RwLock::new(strategy_for(&manifest.options.compaction)),
            view: RwLock::new(Arc::new(view)),
            manifest: Mutex::new(manifest),
            flush_lock: Mutex::new(()),
            compacting: Mutex::new(HashSet::new()),
            flush_requested: AtomicBool::new(false),
            flush_threshold_bytes: AtomicU64::new(threshold),
            flush_period_ms: AtomicU64::new(period),
            dropped: AtomicBool::new(false),
            major_running: AtomicBool::new(false),
            next_memtable_id: AtomicU64::new(1),
            truncated_at: AtomicI64::new(truncated_at),
            metrics: TableMetrics::default(),
        })
    }

    /// The current snapshot of memtables and SSTables.
    pub(crate) fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The table's options.
    pub(crate) fn options(&self) -> TableOptions {
        self.options
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the table's options and persists them.
    pub(crate) fn alter(&self, options: TableOptions) -> Result<()> {
        options.validate()?;
        let mut manifest = lock(&self.manifest);
        let mut next = manifest.clone();
        next.options = options.clone();
        next.store(self.ctx.fs.as_ref(), &self.dir)?;
        *manifest = next;
        *self.strategy.write().unwrap_or_else(|p| p.into_inner()) =
            strategy_for(&options.compaction);
        self.flush_threshold_bytes.store(
            options.memtable_flush_threshold_bytes.unwrap_or(0),
            Ordering::Relaxed,
        );
        self.flush_period_ms
            .store(options.memtable_flush_period_ms, Ordering::Relaxed);
        *self.options.write().unwrap_or_else(|p| p.into_inner()) = options;
        Ok(())
    }

    /// Position below which the table's records are in SSTables.
    pub(crate) fn flushed_up_to(&self) -> ReplayPosition {
        lock(&self.manifest).flushed_up_to
    }

    /// Logs an encoded mutation for this table and returns the memtable it must
    /// be applied to (its pending-writer count raised) with the record's position.
    pub(crate) fn log(&self, encoded: &[u8]) -> Result<(Arc<MemtableSlot>, ReplayPosition)> {
        let view = self.view.read().unwrap_or_else(|p| p.into_inner());
        let slot = view.active.clone();
        slot.pending_writers.fetch_add(1, Ordering::AcqRel);
        match self.ctx.commitlog.append(self.id, encoded) {
            Ok(pos) => {
                slot.mark_dirty(self.ctx.clock.as_ref());
                Ok((slot, pos))
            }
            Err(e) => {
                slot.writer_done();
                Err(e)
            }
        }
    }

    /// When the table was last truncated.
    pub(crate) fn truncated_at(&self) -> Option<Timestamp> {
        match self.truncated_at.load(Ordering::Acquire) {
            NOT_TRUNCATED => None,
            t => Some(Timestamp(t)),
        }
    }

    /// Applies a logged mutation to `slot`, the memtable [`Table::log`] gave.
    /// `m` was admitted under the truncation time `admitted_at`; if a
    /// truncation happened since, what it covers is dropped now. Returns the
    /// bytes added.
    pub(crate) fn apply_logged(
        &self,
        slot: &MemtableSlot,
        m: &Mutation,
        admitted_at: Option<Timestamp>,
    ) -> usize {
        let at = self.truncated_at();
        if at == admitted_at {
            return slot.memtable.apply(m);
        }
        truncation::admit(m, at).map_or(0, |m| slot.memtable.apply(&m))
    }

    /// Applies a replayed mutation straight to the active memtable, without
    /// what the table's truncation covers; returns the bytes it added.
    pub(crate) fn apply_replayed(&self, m: &Mutation) -> usize {
        let Some(m) = truncation::admit(m, self.truncated_at()) else {
            return 0;
        };
        let view = self.view();
        view.active.mark_dirty(self.ctx.clock.as_ref());
        let added = view.active.memtable.apply(&m);
        self.ctx.charge(&view.active, added as u64);
        added
    }

    /// Whether the active memtable has held data for the table's flush
    /// period as of `now_ms` (Cassandra flushes a non-empty memtable on
    /// `memtable_flush_period_in_ms`; an empty one is left alone).
    pub(crate) fn flush_period_elapsed(&self, now_ms: i64) -> bool {
        let period = self.flush_period_ms.load(Ordering::Relaxed);
        if period == 0 {
            return false;
        }
        let active = self.view().active.clone();
        let since = active.dirty_since_ms.load(Ordering::Acquire);
        since != CLEAN
            && !active.memtable.is_empty()
            && now_ms.saturating_sub(since) >= i64::try_from(period).unwrap_or(i64::MAX)
    }

    /// Bytes in the active memtable.
    pub(crate) fn active_memtable_bytes(&self) -> usize {
        self.view().active.memtable.size_bytes()
    }

    /// The compaction strategy's picture of the live SSTables.
    ///
    /// While a memtable holds data as old as an SSTable's newest write, that
    /// SSTable's tombstones must stay (the data bounds `max_purgeable`) and it
    /// cannot be dropped as fully expired: it is described with nothing
    /// droppable and as never expiring. The strategies cannot see memtables;
    /// otherwise they would plan the same refused drop, or the same
    /// single-SSTable tombstone compaction that purges nothing, again and
    /// again until the next flush.
    pub(crate) fn descriptors(&self, gc_before: i64) -> Vec<SsTableDescriptor> {
        let memtable_min = self.memtable_min_timestamp();
        self.view()
            .sstables
            .iter()
            .map(|l| {
                let mut d = describe(l, gc_before);
                if memtable_min <= d.max_timestamp {
                    d.droppable_tombstone_ratio = 0.0;
                    d.max_local_deletion_time = i64::MAX;
                }
                d
            })
            .collect()
    }

    /// Runs `f` with the strategy.
    pub(crate) fn with_strategy<R>(&self, f: impl FnOnce(&dyn CompactionStrategy) -> R) -> R {
        f(self
            .strategy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref())
    }

    /// What each memtable and SSTable that may hold the partition returns for
    /// a point read, and how many SSTables were consulted.
    pub(crate) fn read_partition(
        &self,
        cmd: &crate::read::PartitionRead,
    ) -> Result<(Vec<PartitionStream>, usize)> {
        let view = self.view();
        // Read after the view: a view from after a truncation is read with its time.
        let at = self.truncated_at();
        let key = &cmd.key;
        let mut streams = Vec::new();
        for slot in view.memtables() {
            if !slot.memtable.is_empty()
                && slot.memtable.may_contain(key)
                && let Some(s) =
                    slot.memtable
                        .clone()
                        .read_partition(key, &cmd.slices, cmd.reversed)?
                && let Some(s) = past_truncation(s, at)?
            {
                streams.push(s);
            }
        }
        let mut touched = 0;
        for l in view.sstables.iter().filter(|l| newer_than(l, at)) {
            if l.sstable.may_contain(key) {
                touched += 1;
                if let Some(s) = l
                    .sstable
                    .clone()
                    .read_partition(key, &cmd.slices, cmd.reversed)?
                    && let Some(s) = past_truncation(s, at)?
                {
                    streams.push(s);
                }
            }
        }
        Ok((streams, touched))
    }

    /// Every memtable and SSTable, for a scan.
    pub(crate) fn all_sources(&self) -> (Vec<Arc<dyn PartitionSource>>, usize) {
        let view = self.view();
        let at = self.truncated_at();
        let mut sources: Vec<Arc<dyn PartitionSource>> = view
            .memtables()
            .map(|s| s.memtable.clone() as Arc<dyn PartitionSource>)
            .collect();
        let sstables = view.sstables.iter().filter(|l| newer_than(l, at));
        sources.extend(sstables.map(|l| l.sstable.clone() as Arc<dyn PartitionSource>));
        let touched = sources.len() - view.memtables().count();
        if let Some(at) = at {
            sources = sources
                .into_iter()
                .map(|s| Truncated::wrap(s, at))
                .collect();
        }
        (sources, touched)
    }

    /// Replaces `inputs` with `outputs` in the manifest (durably) and then in the
    /// view; the caller deletes the inputs' files afterwards.
    pub(crate) fn swap_sstables(
        &self,
        inputs: &HashSet<u64>,
        outputs: Vec<LiveSsTable>,
    ) -> Result<()> {
        let mut manifest = lock(&self.manifest);
        let mut next = manifest.clone();
        next.sstables.retain(|e| !inputs.contains(&e.generation));
        next.sstables
            .extend(outputs.iter().map(|o| crate::manifest::SsTableEntry {
                generation: o.sstable.generation(),
                level: o.level,
            }));
        next.store(self.ctx.fs.as_ref(), &self.dir)?;
        *manifest = next;
        self.update_view(|v| {
            let mut sstables: Vec<LiveSsTable> = v
                .sstables
                .iter()
                .filter(|l| !inputs.contains(&l.sstable.generation()))
                .cloned()
                .collect();
            sstables.extend(outputs);
            View {
                active: v.active.clone(),
                flushing: v.flushing.clone(),
                sstables,
            }
        });
        Ok(())
    }

    /// A new SSTable generation number (persisted with the next manifest write;
    /// files of generations never recorded are removed at the next open).
    pub(crate) fn allocate_generation(&self) -> u64 {
        lock(&self.manifest).allocate_generation()
    }

    fn update_view(&self, f: impl FnOnce(&View) -> View) {
        let mut guard = self.view.write().unwrap_or_else(|p| p.into_inner());
        let next = f(&guard);
        *guard = Arc::new(next);
    }

    /// The oldest write timestamp in any non-empty memtable.
    pub(crate) fn memtable_min_timestamp(&self) -> crate::cell::Timestamp {
        self.view()
            .memtables()
            .filter(|s| !s.memtable.is_empty())
            .map(|s| s.memtable.min_timestamp())
            .min()
            .unwrap_or(crate::cell::Timestamp(i64::MAX))
    }
}

/// `s` without what a truncation at `at` covers.
fn past_truncation(s: PartitionStream, at: Option<Timestamp>) -> Result<Option<PartitionStream>> {
    match at {
        None => Ok(Some(s)),
        Some(at) => truncation::filter_stream(s, at),
    }
}

/// Whether an SSTable holds anything written after a truncation at `at`.
pub(crate) fn newer_than(l: &LiveSsTable, at: Option<Timestamp>) -> bool {
    at.is_none_or(|at| l.sstable.stats().max_timestamp > at)
}

/// Deletes a `MANIFEST.tmp` that a crash left durable (a concurrent SSTable
/// publication synced the directory while a manifest was being written). It is
/// never read, but it would otherwise stay on disk until the next manifest write.
fn remove_manifest_temp(fs: &dyn FileSystem, dir: &std::path::Path) -> Result<()> {
    let tmp = dir.join(crate::manifest::MANIFEST_TMP_FILE);
    if !fs.exists(&tmp) {
        return Ok(());
    }
    fs.remove_file(&tmp)
        .map_err(|e| Error::io(format!("removing {}", tmp.display()), e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

/// Describes a live SSTable for the compaction strategies.
fn describe(l: &LiveSsTable, gc_before: i64) -> SsTableDescriptor {
    let s = l.sstable.stats();
    let cells = (s.cell_count + s.row_count).max(1);
    SsTableDescriptor {
        generation: l.sstable.generation(),
        size_bytes: l.sstable.size_bytes(),
        level: l.level,
        min_key: s.min_key.clone(),
        max_key: s.max_key.clone(),
        min_timestamp: s.min_timestamp,
        max_timestamp: s.max_timestamp,
        max_local_deletion_time: s.max_local_deletion_time,
        droppable_tombstone_ratio: s.droppable_tombstones(gc_before) as f64 / cells as f64,
    }
}

/// The SSTable writer settings a table's options call for.
pub(crate) fn sstable_options(options: &TableOptions) -> crate::sstable::SsTableOptions {
    crate::sstable::SsTableOptions {
        block_size_bytes: options.compression.chunk_length_bytes as usize,
        compression: options.compression.compression,
        bloom_fp_chance: options.bloom_fp_chance,
    }
}
