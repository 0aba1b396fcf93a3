//! Inline mode (`Background::Inline`): the background work runs on the
//! caller's thread, at the point where a thread would have been signalled.
//!
//! A flush request is queued, not run where it is made: the write path makes
//! some requests between a mutation's log append and its memtable apply,
//! where flushing that memtable would wait for the very thread asking. The
//! queue is run when the operation ends ([`Workers::after_write`]), followed,
//! as on the flush worker, by the timed and space-bound flushes and then by
//! the compactions the flushes made due. The rest of the worker round (timed
//! flushes, the log's space bound, the commit log's periodic fsync) runs in
//! [`Workers::round`], which the caller drives on a timer.

use super::{Shared, Workers, due_tables, flush_table, pick, run_marked, wake};
use crate::commitlog::SyncMode;
use crate::error::{Error, Result};
use crate::key::TableId;
use crate::throttle::Throttle;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Inline mode's state: queued flushes and when the log is next synced.
#[derive(Debug)]
pub(super) struct Inline {
    /// Tables whose flush was requested, in request order.
    queued: Mutex<Vec<TableId>>,
    /// Clock milliseconds at which the periodic-mode commit log is next fsynced.
    next_log_sync_ms: Mutex<i64>,
}

impl Inline {
    /// Queues a flush of `table` for the end of the current operation.
    pub(super) fn queue(&self, table: TableId) {
        lock(&self.queued).push(table);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one push, take or store: nothing is left half-done.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The commit log's fsync interval in periodic mode, as the syncer thread reads it.
fn log_sync_interval_ms(shared: &Shared) -> Option<i64> {
    match shared.options.commitlog.sync {
        SyncMode::Periodic { interval_ms } => {
            Some(i64::try_from(interval_ms.max(1)).unwrap_or(i64::MAX))
        }
        SyncMode::Batch | SyncMode::Group { .. } => None,
    }
}

/// Keeps the first error of several steps that each run whatever came before.
fn keep_first(first: &mut Option<Error>, result: Result<()>) {
    if let Err(e) = result {
        first.get_or_insert(e);
    }
}

impl Workers {
    /// Workers that start no thread.
    pub(super) fn inline(shared: &Shared) -> Workers {
        let now = shared.options.clock.now_millis();
        let first_sync = log_sync_interval_ms(shared).map_or(i64::MAX, |i| now.saturating_add(i));
        Workers {
            flush_tx: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
            signal: Arc::new((Mutex::new(false), Condvar::new())),
            running: Arc::new(AtomicUsize::new(0)),
            // Unthrottled: a compaction runs inside a caller's operation, and
            // holding back its bytes could only be done by sleeping, which
            // would stall everything on the thread (and read the OS clock).
            throttle: Arc::new(Throttle::new(0)),
            threads: Vec::new(),
            inline: Some(Inline {
                queued: Mutex::new(Vec::new()),
                next_log_sync_ms: Mutex::new(first_sync),
            }),
        }
    }

    /// Whether the work runs on the callers' threads.
    pub(crate) fn is_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// Called when a write has applied everything it logged: in inline mode,
    /// runs the flushes it requested and what they make due. A failure is
    /// not the write's: the write is durable, and a failed flush poisons the
    /// engine, so later writes hear of it (as with the flush worker).
    pub(crate) fn after_write(&self, shared: &Shared) {
        if let Err(e) = self.run_queued(shared) {
            tracing::debug!(error = %e, "inline background work after a write failed");
        }
    }

    /// Called after a caller's flush: wakes the compaction workers, or runs
    /// the compactions inline.
    pub(crate) fn after_flush(&self, shared: &Shared) {
        if self.is_inline() {
            // Each failure is logged where it happens, and its inputs are kept.
            let _ = self.compact_all(shared);
        } else {
            wake(&self.signal);
        }
    }

    /// Runs the queued flushes; if there were any, then the timed and
    /// space-bound flushes and the compactions, as the flush worker would.
    fn run_queued(&self, shared: &Shared) -> Result<()> {
        let Some(inline) = &self.inline else {
            return Ok(());
        };
        let queued = std::mem::take(&mut *lock(&inline.queued));
        if queued.is_empty() {
            return Ok(());
        }
        let mut first = None;
        for id in queued {
            if let Ok(table) = shared.table(id) {
                keep_first(&mut first, flush_table(shared, &table));
            }
        }
        keep_first(&mut first, self.flush_due(shared));
        keep_first(&mut first, self.compact_all(shared));
        first.map_or(Ok(()), Err)
    }

    /// One round of the periodic checks on the caller's thread: the commit
    /// log's fsync when its period is due (inline, periodic mode), queued
    /// flushes, timed and space-bound flushes, then compactions (inline; the
    /// compaction workers are woken otherwise). Returns the first failure;
    /// every step runs regardless.
    pub(crate) fn round(&self, shared: &Shared) -> Result<()> {
        let mut first = None;
        keep_first(&mut first, self.sync_log_if_due(shared));
        keep_first(&mut first, self.run_queued(shared));
        keep_first(&mut first, self.flush_due(shared));
        if self.is_inline() {
            keep_first(&mut first, self.compact_all(shared));
        } else {
            wake(&self.signal);
        }
        first.map_or(Ok(()), Err)
    }

    /// Flushes the tables due by their period or the log's space bound.
    fn flush_due(&self, shared: &Shared) -> Result<()> {
        let mut first = None;
        for id in due_tables(shared) {
            if let Ok(table) = shared.table(id) {
                keep_first(&mut first, flush_table(shared, &table));
            }
        }
        shared.space.1.notify_all();
        first.map_or(Ok(()), Err)
    }

    /// Inline, periodic mode: fsyncs the commit log once the engine's clock
    /// has passed the next sync time, and schedules the one after from now,
    /// as the syncer thread does.
    fn sync_log_if_due(&self, shared: &Shared) -> Result<()> {
        let (Some(inline), Some(interval)) = (&self.inline, log_sync_interval_ms(shared)) else {
            return Ok(());
        };
        let now = shared.options.clock.now_millis();
        {
            let mut next = lock(&inline.next_log_sync_ms);
            if now < *next {
                return Ok(());
            }
            *next = now.saturating_add(interval);
        }
        shared.ctx.commitlog.sync()
    }

    /// Runs every table's compactions until its strategy has none left; a
    /// failed task is logged, its inputs kept, and the table left until the
    /// next round (retrying at once would fail the same way forever).
    fn compact_all(&self, shared: &Shared) -> Result<()> {
        let mut first = None;
        for table in shared.all_tables() {
            while let Some(task) = pick(shared, &table) {
                let result = run_marked(shared, &table, &task, &self.running, &self.throttle);
                if let Err(e) = result {
                    tracing::error!(table = %table.id, error = %e, "compaction failed; inputs kept");
                    first.get_or_insert(e);
                    break;
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Inline, a writer finding the memtables over budget: no flush can free
    /// space while it waits, so it flushes the largest table itself when
    /// `may_flush` (it holds no logged, unapplied mutation, whose memtable a
    /// flush would wait for) and fails at once if that was not enough, as a
    /// waiting writer would once its stall timeout passed.
    pub(crate) fn free_space_inline(&self, shared: &Shared, may_flush: bool) -> Result<()> {
        self.request_flush_of_largest(shared);
        if may_flush {
            // A flush failure poisons the engine, which the check below reports.
            let _ = self.run_queued(shared);
        }
        shared.check_writable()?;
        if shared.ctx.memtable_bytes.load(Ordering::Acquire) >= shared.options.memtable_budget_bytes
        {
            return Err(Error::Overloaded(shared.options.write_stall_timeout_ms));
        }
        Ok(())
    }
}
