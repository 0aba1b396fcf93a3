//! Simulated time as the nodes and clients read it.
//!
//! Every host (each node, the clients) runs on its own paused tokio runtime,
//! all stepped in lockstep by the driver on one thread. A host's wall clock
//! is the simulation's epoch plus the time its runtime has advanced since
//! it was created, plus the host's skew: the driver says which host it is
//! about to step ([`enter`]), and [`wall_micros`], the source the nodes'
//! and clients' clocks are given, reads that host's figures.

use std::cell::Cell;

use tokio::time::Instant;

/// The simulated wall clock at time zero: 2026-01-01T00:00:00Z, fixed so a
/// seed's timestamps are the same on every run.
pub(crate) const EPOCH_MICROS: i64 = 1_767_225_600_000_000;

/// The host being stepped now.
#[derive(Clone, Copy, Debug)]
struct Host {
    /// Its runtime's clock when it was created.
    base: Instant,
    /// Simulated µs since [`EPOCH_MICROS`] at that moment.
    base_sim_micros: i64,
    /// Added to everything it reads.
    skew_micros: i64,
}

thread_local! {
    static CURRENT: Cell<Option<Host>> = const { Cell::new(None) };
}

/// Makes the host created at `base` (simulated `base_sim_micros`), skewed
/// by `skew_micros`, the one whose clock [`wall_micros`] reads.
pub(crate) fn enter(base: Instant, base_sim_micros: i64, skew_micros: i64) {
    CURRENT.set(Some(Host {
        base,
        base_sim_micros,
        skew_micros,
    }));
}

/// Forgets the current host.
pub(crate) fn leave() {
    CURRENT.set(None);
}

/// The current host's wall clock in µs since the Unix epoch. Read inside
/// the host's runtime, whose paused clock `Instant::now` follows.
pub(crate) fn wall_micros() -> i64 {
    let Some(host) = CURRENT.get() else {
        return EPOCH_MICROS;
    };
    let advanced = Instant::now().saturating_duration_since(host.base);
    let advanced = i64::try_from(advanced.as_micros()).unwrap_or(i64::MAX);
    EPOCH_MICROS
        .saturating_add(host.base_sim_micros)
        .saturating_add(advanced)
        .saturating_add(host.skew_micros)
}
