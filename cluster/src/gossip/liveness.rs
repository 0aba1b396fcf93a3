//! Which peers are UP: a failure detector behind the small [`Detector`]
//! trait, and the live/unreachable bookkeeping that turns its verdicts into
//! [`GossipEvent`]s.
//!
//! As in Cassandra, UP/DOWN is a local opinion: every node convicts its peers
//! on its own, from the heartbeats gossip brings it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::state::{ApplicationState, VersionedValue};
use crate::net::Endpoint;
use crate::phi::{ArrivalWindow, FailureDetectorConfig};

/// Cassandra's default `phi_convict_threshold`.
pub const DEFAULT_PHI_THRESHOLD: f64 = 8.0;

/// A failure detector: fed heartbeat arrival times, asked how suspicious a
/// silence is. The cluster's richer detector can replace [`PhiAccrual`] by
/// implementing this.
pub trait Detector: fmt::Debug + Send {
    /// A newer heartbeat of `endpoint` arrived at `now_ms`.
    fn report(&mut self, endpoint: Endpoint, now_ms: u64);

    /// The suspicion level of `endpoint` at `now_ms`; 0 when nothing is known.
    fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64;

    /// Forgets `endpoint` (it left, or restarted with a new generation and
    /// its old arrival history no longer describes it).
    fn remove(&mut self, endpoint: Endpoint) {
        let _ = endpoint;
    }
}

/// Gossip's detector: Cassandra's phi-accrual windows from `phi`,
/// one per endpoint, with their silence cap. φ alone, with 1 s heartbeats,
/// crosses the default threshold 8 after about 18.4 s; the cap (10 s by
/// default) reports an endpoint silent that long as infinitely suspicious, so
/// a dead or partitioned node is marked down within about 10 s.
#[derive(Clone, Debug)]
pub struct PhiAccrual {
    config: FailureDetectorConfig,
    windows: BTreeMap<Endpoint, ArrivalWindow>,
}

impl Default for PhiAccrual {
    /// Cassandra's defaults (1,000 samples, a first sample of 2 s, gaps over
    /// 2 s left out of the mean) plus the 10 s silence cap.
    fn default() -> Self {
        PhiAccrual::new(FailureDetectorConfig::default())
    }
}

impl PhiAccrual {
    /// A detector with `config`'s window and limits.
    pub fn new(config: FailureDetectorConfig) -> Self {
        PhiAccrual {
            config,
            windows: BTreeMap::new(),
        }
    }
}

impl Detector for PhiAccrual {
    fn report(&mut self, endpoint: Endpoint, now_ms: u64) {
        let config = &self.config;
        self.windows
            .entry(endpoint)
            .or_insert_with(|| ArrivalWindow::new(config))
            .report(now_ms);
    }

    fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64 {
        let Some(window) = self.windows.get(&endpoint) else {
            return 0.0;
        };
        if window.is_empty() {
            return 0.0;
        }
        // With an infinite threshold only the silence cap can convict.
        if window.is_alive(now_ms, f64::INFINITY) {
            window.phi(now_ms)
        } else {
            f64::INFINITY
        }
    }

    fn remove(&mut self, endpoint: Endpoint) {
        self.windows.remove(&endpoint);
    }
}

/// A membership or liveness change, for the node to turn into CQL
/// `STATUS_CHANGE` / `TOPOLOGY_CHANGE` events and ring updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipEvent {
    /// An endpoint was seen for the first time (or again after a restart).
    Joined(Endpoint),
    /// An endpoint became reachable.
    Up(Endpoint),
    /// An endpoint was convicted, or announced its shutdown.
    Down(Endpoint),
    /// An endpoint left the cluster (STATUS LEFT, or assassinated).
    Left(Endpoint),
    /// One of an endpoint's application states changed.
    StateChanged {
        /// Whose state.
        endpoint: Endpoint,
        /// Which state.
        state: ApplicationState,
        /// Its new value.
        value: VersionedValue,
    },
}

/// The live and unreachable peer sets, judged by a [`Detector`].
#[derive(Debug)]
pub(crate) struct Liveness {
    detector: Box<dyn Detector>,
    threshold: f64,
    live: BTreeSet<Endpoint>,
    unreachable: BTreeSet<Endpoint>,
}

impl Liveness {
    /// Liveness judged by `detector`, convicting above `threshold`.
    pub(crate) fn new(detector: Box<dyn Detector>, threshold: f64) -> Self {
        Liveness {
            detector,
            threshold,
            live: BTreeSet::new(),
            unreachable: BTreeSet::new(),
        }
    }

    /// Peers currently UP.
    pub(crate) fn live(&self) -> &BTreeSet<Endpoint> {
        &self.live
    }

    /// Known peers currently DOWN (they are still gossiped to, sometimes).
    pub(crate) fn unreachable(&self) -> &BTreeSet<Endpoint> {
        &self.unreachable
    }

    /// Whether `endpoint` is UP.
    pub(crate) fn is_live(&self, endpoint: Endpoint) -> bool {
        self.live.contains(&endpoint)
    }

    /// The detector's current suspicion of `endpoint`.
    pub(crate) fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64 {
        self.detector.phi(endpoint, now_ms)
    }

    /// A newer heartbeat of `endpoint` arrived: feed the detector and mark
    /// it UP if it was not.
    pub(crate) fn heartbeat(
        &mut self,
        endpoint: Endpoint,
        now_ms: u64,
        events: &mut Vec<GossipEvent>,
    ) {
        self.detector.report(endpoint, now_ms);
        self.mark_up(endpoint, events);
    }

    /// Marks `endpoint` UP (emitting `Up` if it was not).
    pub(crate) fn mark_up(&mut self, endpoint: Endpoint, events: &mut Vec<GossipEvent>) {
        self.unreachable.remove(&endpoint);
        if self.live.insert(endpoint) {
            events.push(GossipEvent::Up(endpoint));
        }
    }

    /// Marks `endpoint` DOWN (emitting `Down` if it was UP), keeping it known.
    pub(crate) fn mark_down(&mut self, endpoint: Endpoint, events: &mut Vec<GossipEvent>) {
        if self.live.remove(&endpoint) {
            events.push(GossipEvent::Down(endpoint));
        }
        self.unreachable.insert(endpoint);
    }

    /// Forgets `endpoint` entirely (it left the cluster).
    pub(crate) fn remove(&mut self, endpoint: Endpoint) {
        self.live.remove(&endpoint);
        self.unreachable.remove(&endpoint);
        self.detector.remove(endpoint);
    }

    /// Forgets `endpoint`'s arrival history (it restarted).
    pub(crate) fn reset_history(&mut self, endpoint: Endpoint) {
        self.detector.remove(endpoint);
    }

    /// Convicts every live peer whose phi is above the threshold.
    pub(crate) fn interpret(&mut self, now_ms: u64, events: &mut Vec<GossipEvent>) {
        let convicted: Vec<Endpoint> = self
            .live
            .iter()
            .copied()
            .filter(|&e| self.detector.phi(e, now_ms) > self.threshold)
            .collect();
        for endpoint in convicted {
            self.mark_down(endpoint, events);
        }
    }
}

#[cfg(test)]
mod tests;
