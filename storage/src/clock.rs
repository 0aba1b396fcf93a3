//! The time seam: storage's background work (compaction's TTL and gc-grace
//! decisions, periodic memtable flushes) asks a [`Clock`] supplied by the caller instead of reading the wall
//! clock, so tests can move time and the node keeps one notion of it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

/// Tells storage what time it is, in seconds since the epoch.
pub trait Clock: Send + Sync + Debug {
    /// Now, in seconds since the epoch.
    fn now_seconds(&self) -> i64;

    /// Now, in milliseconds since the epoch, for periods set in ms (a table's
    /// `memtable_flush_period_in_ms`). Clocks that only know whole seconds
    /// keep this default.
    fn now_millis(&self) -> i64 {
        self.now_seconds().saturating_mul(1000)
    }
}

/// A clock that moves only when told to: for tests and tools.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `seconds`.
    pub fn new(seconds: i64) -> Self {
        ManualClock(AtomicI64::new(seconds))
    }

    /// Moves the clock to `seconds`.
    pub fn set(&self, seconds: i64) {
        self.0.store(seconds, Ordering::SeqCst);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_seconds(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
