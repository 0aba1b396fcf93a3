//! [`Engine`]: the storage engine's public face — tables by id, the write path
//! (commit log, then memtable), reads and scans, flush, compaction, snapshots
//! and statistics.
//!
//! The API is synchronous. The engine owns its background threads: one flush
//! worker, `compaction_threads` compaction workers, and the commit log's
//! allocator and syncer; or, in [`Background::Inline`] mode, none, and the
//! same work runs on the callers' threads.

mod stats;
#[cfg(test)]
mod tests;
mod workers;

pub use stats::{LevelStats, TableStats};

use crate::background::Background;
use crate::cache::BlockCache;
use crate::cell::Timestamp;
use crate::clock::Clock;
use crate::commitlog::{CommitLog, CommitLogOptions};
use crate::error::{Error, Result};
use crate::io::FileSystem;
use crate::key::TableId;
use crate::manifest::Manifest;
use crate::metrics::Stopwatch;
use crate::mutation::Mutation;
use crate::options::TableOptions;
use crate::read::{PartitionRead, PartitionReader, ScanCommand, ScanReader};
use crate::table::{Table, TableContext};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};
use workers::Workers;

/// How the engine is set up. Built by the node from its configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Tables live under `<data_dir>/tables/<table id>/`.
    pub data_dir: PathBuf,
    /// The commit log's directory, segment size and sync mode.
    pub commitlog: CommitLogOptions,
    /// Cassandra's `commitlog_total_space`: once the segments holding records
    /// take more than this, the tables dirty in the oldest ones are flushed so
    /// that the segments can be recycled. A table written now and then would
    /// otherwise pin every segment a busy table fills, until the disk is full.
    pub commitlog_total_space_bytes: u64,
    /// Memory all memtables may hold together; writers wait when it is full
    /// (inline, a writer flushes the largest table itself, or fails).
    pub memtable_budget_bytes: u64,
    /// Decompressed SSTable blocks kept in memory.
    pub block_cache_bytes: u64,
    /// Background compaction threads (none inline).
    pub compaction_threads: usize,
    /// Compaction write rate cap in MiB/s; 0 means unlimited. Not applied
    /// inline, where holding compaction back would mean sleeping.
    pub compaction_throughput_mib_per_s: u64,
    /// How long a writer waits for flushes to free memtable space before failing.
    pub write_stall_timeout_ms: u64,
    /// The time seam for background work.
    pub clock: Arc<dyn Clock>,
    /// Where flushes, compactions and the commit log's periodic sync run:
    /// the engine's own threads (the default) or the callers' threads.
    pub background: Background,
}

impl EngineOptions {
    /// Defaults in the spirit of Cassandra's, with data and commit log under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        let data_dir = data_dir.into();
        let commitlog = CommitLogOptions::new(data_dir.join("commitlog"));
        EngineOptions {
            commitlog_total_space_bytes: crate::commitlog::default_total_space(&commitlog.dir),
            commitlog,
            data_dir,
            memtable_budget_bytes: 256 << 20,
            block_cache_bytes: 64 << 20,
            compaction_threads: 1,
            compaction_throughput_mib_per_s: 64,
            write_stall_timeout_ms: 10_000,
            clock,
            background: Background::Threads,
        }
    }
}

/// State shared with the background workers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: EngineOptions,
    pub(crate) ctx: TableContext,
    /// A BTreeMap: a node has few tables, and comparing ids is cheaper than
    /// hashing them on every read.
    pub(crate) tables: RwLock<BTreeMap<TableId, Arc<Table>>>,
    /// Set when a background flush failed: writes are refused from then on.
    pub(crate) poisoned: Mutex<Option<String>>,
    /// Writers stalled on a full memtable budget wait here.
    pub(crate) space: (Mutex<()>, Condvar),
    /// The newest commit-log segment checked against the log's space bound.
    pub(crate) checked_segment: AtomicU64,
}

/// A mutation logged for a table, waiting for durability to enter `slot`.
struct Logged<'m> {
    table: Arc<Table>,
    slot: Arc<crate::table::MemtableSlot>,
    pos: crate::position::ReplayPosition,
    /// What the table's truncation left of the mutation.
    mutation: Cow<'m, Mutation>,
    /// The truncation time it was admitted under.
    admitted_at: Option<Timestamp>,
}

/// The storage engine of one node.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    workers: Workers,
}

impl Engine {
    /// Opens (or creates) the engine's directories, opens every table, replays the
    /// commit log past each table's flushed position, and starts the workers.
    /// Inline, it starts none and runs one [`Engine::run_background_round`]
    /// instead, for the compactions and flushes the replay made due.
    pub fn open(fs: Arc<dyn FileSystem>, options: EngineOptions) -> Result<Engine> {
        let tables_dir = options.data_dir.join("tables");
        fs.create_dir_all(&tables_dir)
            .map_err(|e| Error::io(format!("creating {}", tables_dir.display()), e))?;
        let commitlog = Arc::new(CommitLog::open_with(
            fs.clone(),
            options.commitlog.clone(),
            options.background,
        )?);
        let ctx = TableContext {
            fs: fs.clone(),
            cache: BlockCache::new(options.block_cache_bytes),
            commitlog,
            memtable_bytes: Arc::new(AtomicU64::new(0)),
            clock: options.clock.clone(),
            background: options.background,
        };
        let tables = open_tables(&ctx, &tables_dir)?;
        let shared = Arc::new(Shared {
            options,
            ctx,
            tables: RwLock::new(tables),
            poisoned: Mutex::new(None),
            space: (Mutex::new(()), Condvar::new()),
            checked_segment: AtomicU64::new(0),
        });
        replay(&shared)?;
        let workers = Workers::start(shared.clone())?;
        let engine = Engine { shared, workers };
        // As the workers' first rounds: a failure is logged (a failed flush
        // also poisons the engine), and does not fail the open.
        if engine.workers.is_inline()
            && let Err(e) = engine.run_background_round()
        {
            tracing::warn!(error = %e, "background round at open failed");
        }
        Ok(engine)
    }

    /// Runs one round of the periodic background checks on the caller's
    /// thread: flushes of tables whose `memtable_flush_period_in_ms` has
    /// passed by the engine's clock or that pin commit-log segments beyond
    /// `commitlog_total_space_bytes`, any flush still queued, and then the
    /// compactions due. In [`Background::Inline`] mode it also fsyncs the
    /// commit log when periodic mode's interval has passed by the clock: the
    /// caller calls this on a timer, at least as often as that interval. With
    /// threads, the flush worker does the same every 200 ms on its own and
    /// the commit log's syncer keeps its own time; a call adds one round.
    ///
    /// Returns the first failure (a failed flush also poisons the engine);
    /// the steps after it still run.
    pub fn run_background_round(&self) -> Result<()> {
        self.workers.round(&self.shared)
    }

    fn table(&self, id: TableId) -> Result<Arc<Table>> {
        self.shared.table(id)
    }

    /// Creates a table; it exists durably when this returns.
    pub fn create_table(&self, id: TableId, options: TableOptions) -> Result<()> {
        let mut tables = self
            .shared
            .tables
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if tables.contains_key(&id) {
            return Err(Error::TableExists(id));
        }
        let dir = self.shared.table_dir(id);
        let fs = &self.shared.ctx.fs;
        if fs.exists(&dir) {
            // Left over from a drop interrupted by a crash.
            fs.remove_dir_all(&dir)
                .map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
        }
        let table = Table::create(self.shared.ctx.clone(), dir, id, options)?;
        let parent = self.shared.options.data_dir.join("tables");
        fs.sync_dir(&parent)
            .map_err(|e| Error::io(format!("syncing {}", parent.display()), e))?;
        tables.insert(id, table);
        Ok(())
    }

    /// Changes a table's options (compaction, compression, bloom filter, gc grace, TTL).
    pub fn alter_table(&self, id: TableId, options: TableOptions) -> Result<()> {
        self.table(id)?.alter(options)
    }

    /// The options a table was created or last altered with.
    pub fn table_options(&self, id: TableId) -> Result<TableOptions> {
        Ok(self.table(id)?.options())
    }

    /// The tables that exist.
    pub fn tables(&self) -> Vec<TableId> {
        self.shared
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect()
    }

    /// Drops a table and deletes its files (snapshots included).
    pub fn drop_table(&self, id: TableId) -> Result<()> {
        let table = {
            let mut tables = self
                .shared
                .tables
                .write()
                .unwrap_or_else(|p| p.into_inner());
            tables.remove(&id).ok_or(Error::UnknownTable(id))?
        };
        table.dropped.store(true, Ordering::Release);
        table.truncate(None)?;
        self.shared.ctx.commitlog.forget_table(id)?;
        let fs = &self.shared.ctx.fs;
        fs.remove_dir_all(&table.dir)
            .map_err(|e| Error::io(format!("removing {}", table.dir.display()), e))?;
        self.shared.space.1.notify_all();
        Ok(())
    }

    /// Applies a mutation; returns once it is durable as the sync mode promises.
    /// Reconciliation does not depend on time, so no write time is taken.
    ///
    /// What the table's truncation covers (every part written at or before
    /// its time) is dropped; a mutation with nothing left is not even logged,
    /// and succeeds.
    pub fn apply(&self, mutation: &Mutation) -> Result<()> {
        let start = self.shared.stopwatch();
        let Some(Logged {
            table,
            slot,
            pos,
            mutation,
            admitted_at,
        }) = self.log_one(mutation, true)?
        else {
            return Ok(());
        };
        let durable = self.shared.ctx.commitlog.wait_durable(pos);
        let added = if durable.is_ok() {
            table.apply_logged(&slot, &mutation, admitted_at)
        } else {
            0
        };
        self.shared.ctx.charge(&slot, added as u64);
        slot.writer_done();
        durable?;
        self.workers
            .maybe_request_flush(&self.shared, &table, slot.memtable.size_bytes() as u64);
        table.metrics.writes.record(start.elapsed());
        self.workers.after_write(&self.shared);
        Ok(())
    }

    /// Applies several mutations with one durability wait: each is logged, the
    /// log is made durable once up to the last of them (one group-commit round
    /// instead of one per mutation), then each goes into its memtable. The
    /// result for each mutation is in its position; a failed fsync fails all.
    ///
    /// This is how a server thread that gathers many clients' writes pays for
    /// one fsync and one wake-up per batch instead of per write.
    pub fn apply_batch(&self, mutations: &[Mutation]) -> Vec<Result<()>> {
        let start = self.shared.stopwatch();
        let mut logged = Vec::with_capacity(mutations.len());
        let mut results: Vec<Result<()>> = Vec::with_capacity(mutations.len());
        for mutation in mutations {
            // Before the batch's first record nothing of it waits to be
            // applied, so an inline flush for space cannot wait on the batch.
            let nothing_logged = logged.iter().all(Option::is_none);
            match self.log_one(mutation, nothing_logged) {
                Ok(entry) => {
                    // `None`: the truncation took all of it; nothing to wait for.
                    logged.push(entry);
                    results.push(Ok(()));
                }
                Err(e) => {
                    logged.push(None);
                    results.push(Err(e));
                }
            }
        }
        let last = logged.iter().flatten().map(|l| l.pos).max();
        let durable = last.map_or(Ok(()), |pos| self.shared.ctx.commitlog.wait_durable(pos));
        for (entry, result) in logged.into_iter().zip(&mut results) {
            let Some(Logged {
                table,
                slot,
                mutation,
                admitted_at,
                ..
            }) = entry
            else {
                continue;
            };
            let added = match &durable {
                Ok(()) => table.apply_logged(&slot, &mutation, admitted_at),
                Err(e) => {
                    // The log refuses every later write too; each caller hears why.
                    *result = Err(match e {
                        Error::Poisoned(reason) => Error::Poisoned(reason.clone()),
                        other => Error::Poisoned(other.to_string()),
                    });
                    0
                }
            };
            self.shared.ctx.charge(&slot, added as u64);
            slot.writer_done();
            if durable.is_ok() {
                self.workers.maybe_request_flush(
                    &self.shared,
                    &table,
                    slot.memtable.size_bytes() as u64,
                );
                table.metrics.writes.record(start.elapsed());
            }
        }
        self.workers.after_write(&self.shared);
        results
    }

    /// Logs what the table's truncation leaves of one mutation (not yet
    /// durable); `None` when it leaves nothing. `may_flush`: the caller holds
    /// no logged mutation yet to apply, so inline mode may flush for space.
    fn log_one<'m>(&self, mutation: &'m Mutation, may_flush: bool) -> Result<Option<Logged<'m>>> {
        self.shared.check_writable()?;
        let table = self.table(mutation.table)?;
        let admitted_at = table.truncated_at();
        let Some(mutation) = crate::truncation::admit(mutation, admitted_at) else {
            return Ok(None);
        };
        self.shared.wait_for_space(&self.workers, may_flush)?;
        let (slot, pos) = table.log(&mutation.to_bytes())?;
        self.workers.note_logged(&self.shared, pos);
        Ok(Some(Logged {
            table,
            slot,
            pos,
            mutation,
            admitted_at,
        }))
    }

    /// Reads one partition of `table`.
    pub fn read(&self, table: TableId, cmd: &PartitionRead) -> Result<PartitionReader> {
        let table = self.table(table)?;
        // Reading the clock twice costs a sizeable share of a cached read, so
        // one read in eight is timed; the histogram's shape is unchanged.
        let start = table.metrics.sample_read().then(|| self.shared.stopwatch());
        let (streams, touched) = table.read_partition(cmd)?;
        let reader = PartitionReader::new(cmd, streams, touched)?;
        if let Some(start) = start {
            table.metrics.reads.record(start.elapsed());
        }
        Ok(reader)
    }

    /// Scans partitions of `table` in `(token, key)` order.
    pub fn scan(&self, table: TableId, cmd: &ScanCommand) -> Result<ScanReader> {
        let start = self.shared.stopwatch();
        let table = self.table(table)?;
        let (sources, touched) = table.all_sources();
        let streams = sources
            .into_iter()
            .map(|s| s.scan(&cmd.range))
            .collect::<Result<Vec<_>>>()?;
        let reader = ScanReader::new(cmd, streams, touched);
        table.metrics.scans.record(start.elapsed());
        Ok(reader)
    }

    /// Forces an fsync of the commit log.
    pub fn sync_commitlog(&self) -> Result<()> {
        self.shared.ctx.commitlog.sync()
    }

    /// Writes a table's memtables to SSTables; returns when they are durable.
    pub fn flush(&self, table: TableId) -> Result<()> {
        let table = self.table(table)?;
        let r = table.flush();
        self.shared.space.1.notify_all();
        self.workers.after_flush(&self.shared);
        r
    }

    /// Flushes every table.
    pub fn flush_all(&self) -> Result<()> {
        for id in self.tables() {
            self.flush(id)?;
        }
        Ok(())
    }

    /// Runs compaction of `table` in the caller's thread until the strategy has
    /// nothing to do (or, when `major`, merges everything per the strategy's
    /// major compaction).
    pub fn compact(&self, table: TableId, major: bool) -> Result<()> {
        let table = self.table(table)?;
        self.workers.compact_now(&self.shared, &table, major)
    }

    /// Waits until no compaction is running or pending on any table.
    pub fn wait_for_compactions(&self) -> Result<()> {
        loop {
            // Run what is pending here, then wait out the background workers;
            // their outputs may make new tasks, so go round until neither has work.
            for id in self.tables() {
                self.compact(id, false)?;
            }
            let background = self.shared.options.background;
            self.workers.wait_idle(background)?;
            let busy = self.shared.all_tables().iter().any(|t| {
                !t.compacting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_empty()
                    || workers::has_task(&self.shared, t)
            });
            if !busy {
                return Ok(());
            }
            background.may_wait("compactions on other threads")?;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Hard-links a table's SSTables into `snapshots/<name>/` after a flush.
    pub fn snapshot(&self, table: TableId, name: &str) -> Result<PathBuf> {
        self.table(table)?.snapshot(name)
    }

    /// Removes every row of a table and records `at` as its truncation time,
    /// durably: from now on, across restarts, nothing written at or before
    /// `at` is taken by a write, a commit-log replay or a compaction, or shown
    /// by a read. The latest of a table's truncation times counts.
    pub fn truncate(&self, table: TableId, at: Timestamp) -> Result<()> {
        let r = self.table(table)?.truncate(Some(at));
        self.shared.space.1.notify_all();
        r
    }

    /// When a table was last truncated; `None` if never.
    pub fn truncated_at(&self, table: TableId) -> Result<Option<Timestamp>> {
        Ok(self.table(table)?.truncated_at())
    }

    /// A table's statistics.
    pub fn table_stats(&self, table: TableId) -> Result<TableStats> {
        let table = self.table(table)?;
        Ok(stats::collect(&self.shared, &table))
    }

    /// Bytes all memtables hold now.
    pub fn memtable_bytes(&self) -> u64 {
        self.shared.ctx.memtable_bytes.load(Ordering::Acquire)
    }

    /// The commit log's counters.
    pub fn commitlog_stats(&self) -> crate::commitlog::CommitLogStats {
        self.shared.ctx.commitlog.stats()
    }

    /// Flushes every table, then closes (what `nodetool drain` does).
    pub fn drain(self) -> Result<()> {
        self.flush_all()?;
        self.close()
    }

    /// Stops the workers and syncs and closes the commit log. Unflushed
    /// memtables are recovered from the commit log at the next open.
    pub fn close(mut self) -> Result<()> {
        self.workers.stop();
        self.shared.ctx.commitlog.shutdown()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.workers.stop();
    }
}

impl Shared {
    pub(crate) fn table(&self, id: TableId) -> Result<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .ok_or(Error::UnknownTable(id))
    }

    pub(crate) fn all_tables(&self) -> Vec<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn table_dir(&self, id: TableId) -> PathBuf {
        self.options.data_dir.join("tables").join(id.to_string())
    }

    /// Starts timing an operation for the statistics.
    fn stopwatch(&self) -> Stopwatch<'_> {
        Stopwatch::start(self.options.background, self.options.clock.as_ref())
    }

    fn check_writable(&self) -> Result<()> {
        match &*self.poisoned.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Blocks while all memtables together are over budget, up to the stall
    /// timeout. Inline, nothing could free space while it blocked: see
    /// `Workers::free_space_inline`.
    fn wait_for_space(&self, workers: &Workers, may_flush: bool) -> Result<()> {
        let budget = self.options.memtable_budget_bytes;
        if self.ctx.memtable_bytes.load(Ordering::Acquire) < budget {
            return Ok(());
        }
        if workers.is_inline() {
            return workers.free_space_inline(self, may_flush);
        }
        let timeout = Duration::from_millis(self.options.write_stall_timeout_ms);
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &self.space;
        let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.ctx.memtable_bytes.load(Ordering::Acquire) >= budget {
            workers.request_flush_of_largest(self);
            self.check_writable()?;
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Overloaded(self.options.write_stall_timeout_ms));
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            guard = cvar
                .wait_timeout(guard, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }
}

fn open_tables(
    ctx: &TableContext,
    tables_dir: &std::path::Path,
) -> Result<BTreeMap<TableId, Arc<Table>>> {
    let fs = ctx.fs.as_ref();
    let entries = fs
        .read_dir(tables_dir)
        .map_err(|e| Error::io(format!("listing {}", tables_dir.display()), e))?;
    let mut tables = BTreeMap::new();
    for dir in entries {
        let Some(id) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| u128::from_str_radix(n, 16).ok())
            .map(TableId)
        else {
            continue;
        };
        match Manifest::load(fs, &dir)? {
            Some(manifest) => {
                tables.insert(id, Table::open(ctx.clone(), dir, manifest)?);
            }
            None => {
                // A create or drop that a crash interrupted before it was durable.
                tracing::warn!(table = %id, "removing table directory without a manifest");
                fs.remove_dir_all(&dir)
                    .map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
            }
        }
    }
    Ok(tables)
}

/// Replays the commit log into memtables, skipping what SSTables already hold,
/// and flushes whenever the replayed data outgrows the memtable budget.
fn replay(shared: &Shared) -> Result<()> {
    let budget = shared.options.memtable_budget_bytes;
    let watermarks: HashMap<TableId, crate::position::ReplayPosition> = shared
        .all_tables()
        .iter()
        .map(|t| (t.id, t.flushed_up_to()))
        .collect();
    let mut held = 0u64;
    let mut unknown = std::collections::HashSet::new();
    let mut last = None;
    let stats = shared.ctx.commitlog.replay(&mut |pos, m| {
        // A replay flush is bounded at `pos`: that is only right if every
        // earlier record was handed over before it.
        debug_assert!(
            last < Some(pos),
            "replay went back from {last:?} to {pos:?}"
        );
        last = Some(pos);
        if !watermarks.contains_key(&m.table) {
            unknown.insert(m.table);
        }
        let Some(table) = watermarks
            .get(&m.table)
            .filter(|w| pos >= **w)
            .and(shared.table(m.table).ok())
        else {
            return Ok(());
        };
        if held >= budget / 2 {
            // Bound this flush at the record being replayed: everything below it is
            // in memtables, nothing at or above it is yet.
            for t in shared.all_tables() {
                t.flush_at(Some(pos))?;
            }
            held = 0;
        }
        held += table.apply_replayed(&m) as u64;
        Ok(())
    })?;
    // Tell the log what is clean, so segments no table needs can go.
    for (id, watermark) in &watermarks {
        shared.ctx.commitlog.discard_completed(*id, *watermark)?;
    }
    for id in unknown {
        // Records of tables that were dropped.
        shared.ctx.commitlog.forget_table(id)?;
    }
    tracing::info!(?stats, "commit log replayed");
    Ok(())
}
