//! A hybrid logical clock for write timestamps.
//!
//! Cassandra reconciles versions of a cell by their write timestamp, in
//! microseconds since the epoch, and the newest wins. If a node's wall clock
//! steps backwards (NTP correction, VM migration), a write issued after another
//! could get a smaller timestamp and silently lose to it. [`Hlc`] hands out
//! timestamps that follow the wall clock when it moves forward and otherwise
//! count up by one microsecond from the last one issued, so every timestamp a
//! node issues is strictly greater than every one it issued, or observed,
//! before.
//!
//! [`SystemWallClock`] is the one place the node reads wall time; everything
//! else takes a [`WallClock`] so tests can drive time by hand.
//!
//! With a [`ClockFloor`] (`floor`), the promise holds across restarts too: the
//! clock starts above a persisted ceiling that stays ahead of every timestamp
//! it issues, even if the wall clock was stepped back while the node was down.

mod floor;

pub(crate) use floor::{ClockFloor, MAX_CEILING_WAIT};

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of physical time in microseconds since the Unix epoch.
pub(crate) trait WallClock: Send + Sync {
    /// The current time in µs since the epoch; may go backwards.
    fn now_micros(&self) -> i64;
}

/// Any `Fn() -> i64` is a wall clock, so tests can pass a closure.
impl<F: Fn() -> i64 + Send + Sync> WallClock for F {
    fn now_micros(&self) -> i64 {
        self()
    }
}

/// The operating system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn now_micros(&self) -> i64 {
        #[expect(
            clippy::disallowed_methods,
            reason = "the node's hybrid logical clock is the one reader of wall time"
        )]
        let now = SystemTime::now();
        // A clock set before 1970 reads as negative µs rather than failing: the
        // HLC then simply counts up from its last value.
        match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |us| -us),
        }
    }
}

/// The system clock shifted by a fixed offset: the node's wall clock, so a
/// configured `clock_offset` skews everything that reads time (write
/// timestamps, TTLs, hint and batchlog ages) and fault-injection tests can
/// give one node a wrong clock. The clock it shifts is the system's, or a
/// simulation's (`source`), so a simulated cluster runs on simulated time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OffsetWallClock {
    /// µs added to the source's reading.
    pub offset_micros: i64,
    /// The unshifted time in µs since the epoch.
    source: fn() -> i64,
}

impl Default for OffsetWallClock {
    fn default() -> Self {
        OffsetWallClock {
            offset_micros: 0,
            source: system_micros,
        }
    }
}

fn system_micros() -> i64 {
    SystemWallClock.now_micros()
}

impl OffsetWallClock {
    /// The system clock plus `offset_ms` milliseconds.
    pub(crate) fn from_millis(offset_ms: i64) -> Self {
        OffsetWallClock {
            offset_micros: offset_ms.saturating_mul(1000),
            source: system_micros,
        }
    }

    /// The same offset over another source of time.
    pub(crate) fn with_source(self, source: fn() -> i64) -> Self {
        OffsetWallClock { source, ..self }
    }
}

impl WallClock for OffsetWallClock {
    fn now_micros(&self) -> i64 {
        (self.source)().saturating_add(self.offset_micros)
    }
}

/// How far ahead of the local wall clock an observed timestamp may be before
/// [`Hlc::observe`] ignores it: one hour.
///
/// Observing advances every later local timestamp. A single bogus value (a
/// client that sends milliseconds as nanoseconds, a peer with a clock set a
/// year ahead) would otherwise drag all of this node's writes into the future
/// for as long as that lead lasts, and writes from correctly clocked nodes
/// would lose to them. An hour is far beyond real clock skew between healthy
/// nodes, so ignoring larger leads only ever discards nonsense.
pub(crate) const DEFAULT_MAX_FORWARD_DRIFT: Duration = Duration::from_secs(3600);

/// An observed timestamp was too far in the future and was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {observed} µs is {} µs ahead of the local clock ({physical} µs); ignored", observed.saturating_sub(*physical))]
pub(crate) struct FutureTimestamp {
    /// The timestamp that was offered.
    pub observed: i64,
    /// The local wall clock when it was offered.
    pub physical: i64,
}

/// Hands out strictly increasing µs timestamps that track the wall clock.
///
/// Lock-free: `now` is a compare-and-swap loop on one `AtomicI64`, so any
/// number of tasks can share an `Hlc` (behind an `Arc` or a `&`).
pub(crate) struct Hlc<C = SystemWallClock> {
    clock: C,
    /// The largest timestamp issued or observed.
    last: AtomicI64,
    max_forward_drift_micros: i64,
    /// Where the ceiling above issued timestamps is persisted, if anywhere.
    floor: Option<Arc<ClockFloor>>,
}

impl<C> fmt::Debug for Hlc<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hlc")
            .field("last", &self.last.load(Ordering::Relaxed))
            .field("max_forward_drift_micros", &self.max_forward_drift_micros)
            .finish_non_exhaustive()
    }
}

impl Hlc<SystemWallClock> {
    /// A clock on the system's wall time.
    pub(crate) fn system() -> Self {
        Hlc::new(SystemWallClock)
    }
}

impl Default for Hlc<SystemWallClock> {
    fn default() -> Self {
        Hlc::system()
    }
}

impl<C: WallClock> Hlc<C> {
    /// A clock on `clock`, ignoring observed timestamps more than
    /// [`DEFAULT_MAX_FORWARD_DRIFT`] ahead of it.
    pub(crate) fn new(clock: C) -> Self {
        Hlc::with_max_forward_drift(clock, DEFAULT_MAX_FORWARD_DRIFT)
    }

    /// A clock on `clock`, ignoring observed timestamps more than `drift`
    /// ahead of it.
    pub(crate) fn with_max_forward_drift(clock: C, drift: Duration) -> Self {
        Hlc {
            clock,
            last: AtomicI64::new(i64::MIN),
            max_forward_drift_micros: i64::try_from(drift.as_micros()).unwrap_or(i64::MAX),
            floor: None,
        }
    }

    /// This clock, starting above `floor`'s persisted ceiling and keeping it
    /// ahead of every timestamp it issues from now on.
    pub(crate) fn with_floor(mut self, floor: Arc<ClockFloor>) -> Self {
        self.last.fetch_max(floor.ceiling(), Ordering::AcqRel);
        self.floor = Some(floor);
        self
    }

    /// A new timestamp: the wall clock's reading, or one more than the last
    /// timestamp issued or observed if that is not already smaller.
    ///
    /// Strictly increasing across all callers, until the saturation point
    /// `i64::MAX` (about 292,000 years after 1970), where it stays.
    pub(crate) fn now(&self) -> i64 {
        let mut last = self.last.load(Ordering::Acquire);
        loop {
            let next = self.clock.now_micros().max(last.saturating_add(1));
            // Weak is fine: a spurious failure just goes round again.
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if let Some(floor) = &self.floor {
                        floor.cover(next);
                    }
                    return next;
                }
                Err(current) => last = current,
            }
        }
    }

    /// Moves the clock past `timestamp`, seen from a client or a peer, so that
    /// later local timestamps are greater than it (a write that follows a read
    /// of `timestamp` must supersede it).
    ///
    /// A timestamp more than the maximum forward drift ahead of the wall clock
    /// is ignored (see [`DEFAULT_MAX_FORWARD_DRIFT`] for why) and reported so
    /// the caller can log it.
    pub(crate) fn observe(&self, timestamp: i64) -> Result<(), FutureTimestamp> {
        let physical = self.clock.now_micros();
        if timestamp.saturating_sub(physical) > self.max_forward_drift_micros {
            return Err(FutureTimestamp {
                observed: timestamp,
                physical,
            });
        }
        self.last.fetch_max(timestamp, Ordering::AcqRel);
        Ok(())
    }

    /// The largest timestamp issued or observed so far (`i64::MIN` before any).
    #[cfg(test)]
    pub(crate) fn last(&self) -> i64 {
        self.last.load(Ordering::Acquire)
    }

    /// The wall clock's reading in µs, for TTLs and `now()`: unlike [`Hlc::now`]
    /// it does not count up, so expiry follows real time.
    pub(crate) fn wall_micros(&self) -> i64 {
        self.clock.now_micros()
    }
}

#[cfg(test)]
mod tests;

/// The engine's clock (whole seconds, or ms for flush periods) read from a wall clock.
#[derive(Debug, Default)]
pub(crate) struct StorageClock<C = SystemWallClock>(pub C);

impl<C: WallClock + fmt::Debug + 'static> storage::Clock for StorageClock<C> {
    fn now_seconds(&self) -> i64 {
        self.0.now_micros().div_euclid(1_000_000)
    }

    fn now_millis(&self) -> i64 {
        self.0.now_micros().div_euclid(1_000)
    }
}
