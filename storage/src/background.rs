//! Where the engine's background work runs: on its own threads, or inline on
//! the threads that call it (for a deterministic, single-threaded simulation).

use crate::error::{Error, Result};

/// Where the engine's background work (flushes, compactions, the commit log's periodic sync) runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Background {
    /// Dedicated threads: a flush worker, the compaction workers, the commit
    /// log's segment allocator and (in periodic mode) its syncer. Writers
    /// only request work and never wait for it to finish.
    #[default]
    Threads,
    /// No thread at all: the work runs on the calling thread when it falls
    /// due (a write that fills a memtable flushes it before returning, a
    /// flush runs the compactions it makes due), and the periodic checks run
    /// in `Engine::run_background_round`, which the caller calls on a timer.
    /// Nothing reads the operating system's clock or sleeps. One thread is
    /// meant to drive the engine: where a thread would wait for another
    /// caller (a writer between its log append and its memtable apply, a
    /// compaction of the table being truncated), the operation fails instead.
    Inline,
}

impl Background {
    /// Whether a loop may pause to wait for another thread to finish
    /// `what`. In inline mode no other thread exists, so the wait could only
    /// hang: an error says which wait it was (reaching it is a bug).
    pub(crate) fn may_wait(self, what: &str) -> Result<()> {
        match self {
            Background::Threads => Ok(()),
            Background::Inline => Err(Error::InvalidArgument(format!(
                "inline background mode cannot wait for {what}: no other thread runs"
            ))),
        }
    }
}
