//! The engine's background threads: one flush worker and the compaction workers.
//!
//! Writers never flush or compact themselves; they only request. A flush failure
//! poisons the engine (the data is safe in the commit log, but memory could no
//! longer be freed); a compaction failure is logged and its task abandoned.
//! In inline mode there are no threads and requests run on the caller's
//! thread instead (`inline`).

mod inline;

use super::Shared;
use crate::background::Background;
use crate::compaction::{CompactionTask, TaskKind, fully_expired};
use crate::error::{Error, Result};
use crate::key::TableId;
use crate::position::ReplayPosition;
use crate::table::Table;
use crate::throttle::Throttle;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Handles to the background threads.
#[derive(Debug)]
pub(crate) struct Workers {
    flush_tx: Mutex<Option<Sender<TableId>>>,
    stop: Arc<AtomicBool>,
    signal: Arc<(Mutex<bool>, Condvar)>,
    running: Arc<AtomicUsize>,
    throttle: Arc<Throttle>,
    threads: Vec<JoinHandle<()>>,
    /// Inline mode's queue and schedule; `None` when the threads run.
    inline: Option<inline::Inline>,
}

impl Workers {
    /// Starts the threads, or none in inline mode.
    pub(crate) fn start(shared: Arc<Shared>) -> Result<Workers> {
        if shared.options.background == Background::Inline {
            return Ok(Workers::inline(&shared));
        }
        let (flush_tx, flush_rx) = mpsc::channel::<TableId>();
        let stop = Arc::new(AtomicBool::new(false));
        let signal = Arc::new((Mutex::new(false), Condvar::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let throttle = Arc::new(Throttle::new(
            shared.options.compaction_throughput_mib_per_s,
        ));
        let mut threads = Vec::new();
        let spawn_err = |e| Error::io("starting a storage worker thread", e);
        {
            let (shared, stop, signal) = (shared.clone(), stop.clone(), signal.clone());
            let t = std::thread::Builder::new()
                .name("basalt-flush".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        match flush_rx.recv_timeout(Duration::from_millis(200)) {
                            Ok(id) => flush_worker_step(&shared, id, &signal),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                        flush_due_tables(&shared, &signal);
                    }
                });
            threads.push(t.map_err(spawn_err)?);
        }
        for i in 0..shared.options.compaction_threads {
            let (shared, stop, signal, running, throttle) = (
                shared.clone(),
                stop.clone(),
                signal.clone(),
                running.clone(),
                throttle.clone(),
            );
            let t = std::thread::Builder::new()
                .name(format!("basalt-compaction-{i}"))
                .spawn(move || compaction_worker(&shared, &stop, &signal, &running, &throttle));
            threads.push(t.map_err(spawn_err)?);
        }
        Ok(Workers {
            flush_tx: Mutex::new(Some(flush_tx)),
            stop,
            signal,
            running,
            throttle,
            threads,
            inline: None,
        })
    }

    fn request_flush(&self, table: &Table) {
        if table.flush_requested.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(inline) = &self.inline {
            inline.queue(table.id);
            return;
        }
        if let Some(tx) = &*self.flush_tx.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = tx.send(table.id);
        }
    }

    /// Requests a flush of `table` if its active memtable passed its threshold or
    /// all memtables together passed half the budget (then the largest goes).
    pub(crate) fn maybe_request_flush(&self, shared: &Shared, table: &Table, active_bytes: u64) {
        let budget = shared.options.memtable_budget_bytes;
        let own = table.flush_threshold_bytes.load(Ordering::Relaxed);
        let threshold = if own == 0 {
            budget / 2
        } else {
            own.min(budget / 2)
        };
        if active_bytes >= threshold {
            self.request_flush(table);
        } else if shared.ctx.memtable_bytes.load(Ordering::Acquire) >= budget / 2 {
            self.request_flush_of_largest(shared);
        }
    }

    /// Called with the position of each logged record: the first record of a
    /// new segment checks the log against its space bound, and requests a
    /// flush of the tables pinning the oldest segments if it is over.
    pub(crate) fn note_logged(&self, shared: &Shared, pos: ReplayPosition) {
        // A plain load first: every write passes here, and only the first of
        // each segment needs the read-modify-write.
        let checked = &shared.checked_segment;
        if checked.load(Ordering::Relaxed) >= pos.segment_id
            || checked.fetch_max(pos.segment_id, Ordering::AcqRel) >= pos.segment_id
        {
            return;
        }
        let limit = shared.options.commitlog_total_space_bytes;
        for id in shared.ctx.commitlog.tables_over_limit(limit) {
            if let Ok(table) = shared.table(id) {
                self.request_flush(&table);
            }
        }
    }

    /// Requests a flush of the table with the largest active memtable.
    pub(crate) fn request_flush_of_largest(&self, shared: &Shared) {
        let largest = shared
            .all_tables()
            .into_iter()
            .map(|t| (t.active_memtable_bytes(), t))
            .filter(|(bytes, _)| *bytes > 0)
            .max_by_key(|(bytes, _)| *bytes);
        if let Some((_, t)) = largest {
            self.request_flush(&t);
        }
    }

    /// Compacts `table` in the caller's thread.
    pub(crate) fn compact_now(&self, shared: &Shared, table: &Table, major: bool) -> Result<()> {
        if major {
            return self.major(shared, table);
        }
        while let Some(task) = pick(shared, table) {
            run_marked(shared, table, &task, &self.running, &self.throttle)?;
        }
        Ok(())
    }

    /// Major compaction: background planning pauses, running tasks drain, then
    /// the strategy's major tasks run in the caller's thread.
    fn major(&self, shared: &Shared, table: &Table) -> Result<()> {
        if table.major_running.swap(true, Ordering::AcqRel) {
            return Err(Error::InvalidArgument(format!(
                "a major compaction of table {} is already running",
                table.id
            )));
        }
        let result = (|| {
            while !table
                .compacting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
            {
                shared
                    .options
                    .background
                    .may_wait("the table's running compactions")?;
                std::thread::sleep(Duration::from_millis(5));
            }
            let now = shared.options.clock.now_seconds();
            let gc_before = table.options().gc_before(now);
            let tasks = {
                let compacting = table.compacting.lock().unwrap_or_else(|p| p.into_inner());
                let descriptors: Vec<_> = table
                    .descriptors(gc_before)
                    .into_iter()
                    .filter(|d| !compacting.contains(&d.generation))
                    .collect();
                table.with_strategy(|s| s.major_tasks(&descriptors))
            };
            for task in tasks {
                if mark(table, &task) {
                    run_marked(shared, table, &task, &self.running, &self.throttle)?;
                }
            }
            Ok(())
        })();
        table.major_running.store(false, Ordering::Release);
        result
    }

    /// Waits until no compaction is counted as running. A task picked but not
    /// yet counted shows only as marked inputs, which callers check as well.
    pub(crate) fn wait_idle(&self, background: Background) -> Result<()> {
        while self.running.load(Ordering::Acquire) > 0 {
            background.may_wait("running compactions")?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Stops and joins every thread (idempotent).
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.flush_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        wake(&self.signal);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn wake(signal: &(Mutex<bool>, Condvar)) {
    *signal.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
    signal.1.notify_all();
}

fn flush_worker_step(shared: &Shared, id: TableId, signal: &(Mutex<bool>, Condvar)) {
    let Ok(table) = shared.table(id) else { return };
    // A failure is kept as the engine's poison, which refuses later writes.
    let _ = flush_table(shared, &table);
    shared.space.1.notify_all();
    wake(signal);
}

/// Flushes `table`; a failure poisons the engine, and is returned too.
fn flush_table(shared: &Shared, table: &Table) -> Result<()> {
    let result = table.flush();
    if let Err(e) = &result {
        let id = table.id;
        tracing::error!(table = %id, error = %e, "memtable flush failed; refusing writes until restart");
        *shared.poisoned.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(format!("memtable flush of table {id} failed: {e}"));
    }
    result
}

/// Flushes the tables whose flush period has elapsed, and those still
/// pinning commit-log segments beyond the log's space bound (the write path
/// asks only when a segment fills; this catches an excess that outlived its
/// request, for instance because the table was flushing already).
fn flush_due_tables(shared: &Shared, signal: &(Mutex<bool>, Condvar)) {
    for id in due_tables(shared) {
        flush_worker_step(shared, id, signal);
    }
}

/// The tables [`flush_due_tables`] flushes: none once the engine is poisoned.
fn due_tables(shared: &Shared) -> Vec<TableId> {
    if shared
        .poisoned
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some()
    {
        return Vec::new();
    }
    let now_ms = shared.options.clock.now_millis();
    let mut due: Vec<TableId> = shared
        .all_tables()
        .iter()
        .filter(|t| t.flush_period_elapsed(now_ms))
        .map(|t| t.id)
        .collect();
    let limit = shared.options.commitlog_total_space_bytes;
    due.extend(shared.ctx.commitlog.tables_over_limit(limit));
    due.sort_unstable();
    due.dedup();
    due
}

fn compaction_worker(
    shared: &Shared,
    stop: &AtomicBool,
    signal: &(Mutex<bool>, Condvar),
    running: &AtomicUsize,
    throttle: &Throttle,
) {
    while !stop.load(Ordering::Acquire) {
        let mut worked = false;
        for table in shared.all_tables() {
            if stop.load(Ordering::Acquire) {
                return;
            }
            if let Some(task) = pick(shared, &table) {
                worked = true;
                if let Err(e) = run_marked(shared, &table, &task, running, throttle) {
                    tracing::error!(table = %table.id, error = %e, "compaction failed; inputs kept");
                    back_off(stop, signal, Duration::from_secs(1));
                }
            }
        }
        if !worked {
            let mut woken = signal.0.lock().unwrap_or_else(|p| p.into_inner());
            if !*woken {
                woken = signal
                    .1
                    .wait_timeout(woken, Duration::from_secs(1))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            *woken = false;
        }
    }
}

/// Waits `pause` before retrying after a failure, but returns at once when the
/// engine stops: `stop` sets the flag before it notifies under the same lock.
fn back_off(stop: &AtomicBool, signal: &(Mutex<bool>, Condvar), pause: Duration) {
    let guard = signal.0.lock().unwrap_or_else(|p| p.into_inner());
    let _ = signal
        .1
        .wait_timeout_while(guard, pause, |_| !stop.load(Ordering::Acquire))
        .unwrap_or_else(|p| p.into_inner());
}

/// Whether the strategy has a task for `table` now (nothing is marked).
pub(super) fn has_task(shared: &Shared, table: &Table) -> bool {
    let now = shared.options.clock.now_seconds();
    let gc_before = table.options().gc_before(now);
    let descriptors = table.descriptors(gc_before);
    let compacting = table.compacting.lock().unwrap_or_else(|p| p.into_inner());
    table
        .with_strategy(|s| s.next_task(&descriptors, &compacting, gc_before))
        .is_some()
}

/// Asks the strategy (then the fully-expired rule) for a task and marks its inputs.
fn pick(shared: &Shared, table: &Table) -> Option<CompactionTask> {
    if table.dropped.load(Ordering::Acquire) || table.major_running.load(Ordering::Acquire) {
        return None;
    }
    let now = shared.options.clock.now_seconds();
    let gc_before = table.options().gc_before(now);
    let descriptors = table.descriptors(gc_before);
    let mut compacting = table.compacting.lock().unwrap_or_else(|p| p.into_inner());
    let task = table
        .with_strategy(|s| s.next_task(&descriptors, &compacting, gc_before))
        .or_else(|| {
            // Tables being compacted still hold their data, and the executor's
            // recheck counts them: leaving them out here made a task that the
            // recheck refuses, picked again at once for as long as they compact.
            let expired: Vec<u64> =
                fully_expired(&descriptors, gc_before, table.memtable_min_timestamp())
                    .into_iter()
                    .filter(|g| !compacting.contains(g))
                    .collect();
            (!expired.is_empty()).then_some(CompactionTask {
                inputs: expired,
                output_level: 0,
                max_output_bytes: None,
                kind: TaskKind::DropExpired,
            })
        })?;
    compacting.extend(task.inputs.iter().copied());
    Some(task)
}

fn mark(table: &Table, task: &CompactionTask) -> bool {
    let mut compacting = table.compacting.lock().unwrap_or_else(|p| p.into_inner());
    if task.inputs.iter().any(|g| compacting.contains(g)) {
        return false;
    }
    compacting.extend(task.inputs.iter().copied());
    true
}

/// Runs a task whose inputs are marked, and unmarks them whatever happens.
fn run_marked(
    shared: &Shared,
    table: &Table,
    task: &CompactionTask,
    running: &AtomicUsize,
    throttle: &Throttle,
) -> Result<()> {
    running.fetch_add(1, Ordering::AcqRel);
    let now = shared.options.clock.now_seconds();
    let result = table.run_compaction(task, now, throttle);
    {
        let mut compacting = table.compacting.lock().unwrap_or_else(|p| p.into_inner());
        for g in &task.inputs {
            compacting.remove(g);
        }
    }
    running.fetch_sub(1, Ordering::AcqRel);
    result
}
