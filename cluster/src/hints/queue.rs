//! The bounded hand-off between the write path and the hint store's writer
//! thread.
//!
//! Callers on the async runtime push encoded hints without ever waiting for
//! the disk: a push only takes a short lock, and when the queued bytes would
//! pass the bound the hint is refused (the caller counts it as dropped, as
//! Cassandra drops hints under overload). The writer thread takes everything
//! queued at once, so one fsync covers every hint of the group. A hint may
//! carry a sender on which the writer reports whether it became durable.
//!
//! Pushes are numbered; the writer reports how far it got, so a blocking
//! caller can wait until every hint queued before it was written
//! ([`Queue::wait_written`]).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::ring::HostId;

/// What one queued hint costs besides its payload: the entry, the vector's
/// header, the sender.
pub(crate) const ENTRY_OVERHEAD: u64 = 96;

/// One hint waiting for the writer.
#[derive(Debug)]
pub(crate) struct Queued {
    /// The target replica.
    pub(crate) host: HostId,
    /// The record's payload: creation time and the encoded mutation.
    pub(crate) payload: Vec<u8>,
    /// Told whether the hint became durable (fsynced), if someone waits.
    pub(crate) durable: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl Queued {
    fn cost(&self) -> u64 {
        self.payload.len() as u64 + ENTRY_OVERHEAD
    }
}

/// What the writer took: the hints, and the number of the last push among
/// them (to report with [`Queue::written`]).
#[derive(Debug, Default)]
pub(crate) struct Taken {
    pub(crate) hints: Vec<Queued>,
    pub(crate) upto: u64,
    /// The queue is closed: write these, flush, and stop.
    pub(crate) closed: bool,
}

#[derive(Debug, Default)]
struct State {
    hints: VecDeque<Queued>,
    bytes: u64,
    /// Pushes accepted so far.
    pushed: u64,
    /// Pushes the writer has written (or failed to).
    written: u64,
    /// No more pushes: the store is closing, or its writer is gone.
    closed: bool,
    /// The writer stopped; nobody will ever write what is queued.
    writer_gone: bool,
}

/// A byte-bounded multi-producer, single-consumer queue of hints.
#[derive(Debug)]
pub(crate) struct Queue {
    max_bytes: u64,
    state: Mutex<State>,
    /// Signalled on a push and on close (the writer waits on it).
    work: Condvar,
    /// Signalled when the writer reports progress or stops.
    progress: Condvar,
}

impl Queue {
    /// A queue holding at most `max_bytes` of hints (payloads and overhead).
    pub(crate) fn new(max_bytes: u64) -> Self {
        Queue {
            max_bytes,
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a few assignments that cannot panic half-way.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a hint; hands it back when the queue is full or closed.
    pub(crate) fn push(&self, hint: Queued) -> Result<(), Queued> {
        let mut st = self.lock();
        let cost = hint.cost();
        if st.closed || st.bytes.saturating_add(cost) > self.max_bytes {
            return Err(hint);
        }
        st.bytes += cost;
        st.pushed += 1;
        st.hints.push_back(hint);
        drop(st);
        self.work.notify_one();
        Ok(())
    }

    /// Bytes queued now.
    pub(crate) fn queued_bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Takes every queued hint, waiting for one first: without limit when
    /// `wait` is `None`, else at most `wait` (then possibly nothing).
    pub(crate) fn take(&self, wait: Option<Duration>) -> Taken {
        let mut st = self.lock();
        let idle = |s: &mut State| s.hints.is_empty() && !s.closed;
        st = match wait {
            None => self
                .work
                .wait_while(st, idle)
                .unwrap_or_else(|p| p.into_inner()),
            Some(limit) => {
                self.work
                    .wait_timeout_while(st, limit, idle)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
        st.bytes = 0;
        Taken {
            hints: st.hints.drain(..).collect(),
            upto: st.pushed,
            closed: st.closed,
        }
    }

    /// The writer is done with every push up to `upto`.
    pub(crate) fn written(&self, upto: u64) {
        self.lock().written = upto;
        self.progress.notify_all();
    }

    /// Waits (blocking the thread) until every hint pushed before this call
    /// was written, or the writer is gone.
    pub(crate) fn wait_written(&self) {
        let st = self.lock();
        let target = st.pushed;
        let _st = self
            .progress
            .wait_while(st, |s| s.written < target && !s.writer_gone)
            .unwrap_or_else(|p| p.into_inner());
    }

    /// Refuses every later push and wakes the writer to finish.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }

    /// The writer stopped (normally or not): nobody waits for it any more,
    /// and hints still queued are dropped, their waiters told no.
    pub(crate) fn writer_gone(&self) -> usize {
        let mut st = self.lock();
        st.closed = true;
        st.writer_gone = true;
        st.bytes = 0;
        let orphans: Vec<Queued> = st.hints.drain(..).collect();
        drop(st);
        self.progress.notify_all();
        let n = orphans.len();
        for hint in orphans {
            if let Some(tx) = hint.durable {
                let _ = tx.send(false);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::host;

    fn hint(len: usize) -> Queued {
        Queued {
            host: host(1),
            payload: vec![0; len],
            durable: None,
        }
    }

    #[test]
    fn the_queue_refuses_what_passes_its_byte_bound() {
        let q = Queue::new(3 * (100 + ENTRY_OVERHEAD));
        for _ in 0..3 {
            assert!(q.push(hint(100)).is_ok());
        }
        assert!(q.push(hint(1)).is_err());
        let taken = q.take(None);
        assert_eq!((taken.hints.len(), taken.upto, taken.closed), (3, 3, false));
        assert_eq!(q.queued_bytes(), 0);
        assert!(q.push(hint(100)).is_ok());
    }

    #[test]
    fn take_with_a_limit_returns_nothing_when_idle_and_close_ends_the_writer() {
        let q = Queue::new(1 << 20);
        assert!(q.take(Some(Duration::ZERO)).hints.is_empty());
        assert!(q.push(hint(1)).is_ok());
        q.close();
        assert!(q.push(hint(1)).is_err());
        let taken = q.take(None);
        assert_eq!((taken.hints.len(), taken.closed), (1, true));
    }

    #[test]
    fn a_gone_writer_answers_the_waiters_of_what_was_queued() {
        let q = Queue::new(1 << 20);
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let mut waiting = hint(1);
        waiting.durable = Some(tx);
        assert!(q.push(waiting).is_ok());
        assert_eq!(q.writer_gone(), 1);
        assert_eq!(rx.try_recv(), Ok(false));
        // Nothing blocks on a writer that is gone.
        q.wait_written();
    }
}
