//! Which peers are UP: a failure detector behind the small [`Detector`]
//! trait, and the live/unreachable bookkeeping that turns its verdicts into
//! [`GossipEvent`]s.
//!
//! As in Cassandra, UP/DOWN is a local opinion: every node convicts its peers
//! on its own, from the heartbeats gossip brings it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::state::{ApplicationState, VersionedValue};
use crate::net::Endpoint;

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

/// Cassandra's phi-accrual detector (`FailureDetector.ArrivalWindow`), in
/// its simplest form: `phi = (1 / ln 10) · Δt / mean`, where Δt is the time
/// since the last heartbeat and `mean` the mean of the last `window`
/// inter-arrival times.
///
/// That is the exponential-distribution phi: with 1 s heartbeats it crosses
/// the default threshold 8 after about 8 · ln 10 ≈ 18.4 s of silence.
#[derive(Clone, Debug)]
pub struct PhiAccrual {
    window: usize,
    initial_interval_ms: u64,
    max_interval_ms: u64,
    arrivals: BTreeMap<Endpoint, Arrivals>,
}

#[derive(Clone, Debug, Default)]
struct Arrivals {
    last_ms: u64,
    intervals: VecDeque<u64>,
    sum_ms: u64,
}

/// `1 / ln 10`: converts the exponential tail probability to base-10 phi.
const PHI_FACTOR: f64 = 1.0 / std::f64::consts::LN_10;

impl Default for PhiAccrual {
    /// Cassandra's defaults for 1 s gossip: 1,000 samples, a first sample of
    /// 2 s (`fd_initial_value_ms`), and gaps over 2 s (`fd_max_interval_ms`)
    /// left out of the mean so one long pause does not blind the detector.
    fn default() -> Self {
        PhiAccrual {
            window: 1000,
            initial_interval_ms: 2000,
            max_interval_ms: 2000,
            arrivals: BTreeMap::new(),
        }
    }
}

impl Arrivals {
    fn add(&mut self, interval_ms: u64, window: usize) {
        self.intervals.push_back(interval_ms);
        self.sum_ms += interval_ms;
        while self.intervals.len() > window {
            if let Some(old) = self.intervals.pop_front() {
                self.sum_ms -= old;
            }
        }
    }

    fn mean_ms(&self) -> f64 {
        self.sum_ms as f64 / self.intervals.len().max(1) as f64
    }
}

impl Detector for PhiAccrual {
    fn report(&mut self, endpoint: Endpoint, now_ms: u64) {
        let (window, initial, max) = (self.window, self.initial_interval_ms, self.max_interval_ms);
        match self.arrivals.get_mut(&endpoint) {
            None => {
                // A first sample, so phi is defined from the first heartbeat.
                let mut a = Arrivals {
                    last_ms: now_ms,
                    ..Arrivals::default()
                };
                a.add(initial, window);
                self.arrivals.insert(endpoint, a);
            }
            Some(a) => {
                let interval = now_ms.saturating_sub(a.last_ms);
                if interval <= max {
                    a.add(interval, window);
                }
                a.last_ms = a.last_ms.max(now_ms);
            }
        }
    }

    fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64 {
        let Some(a) = self.arrivals.get(&endpoint) else {
            return 0.0;
        };
        let mean = a.mean_ms();
        if mean <= 0.0 {
            // All samples were simultaneous: any silence at all is infinitely
            // suspicious, which would convict at once; treat as 1 ms instead.
            return PHI_FACTOR * now_ms.saturating_sub(a.last_ms) as f64;
        }
        PHI_FACTOR * now_ms.saturating_sub(a.last_ms) as f64 / mean
    }

    fn remove(&mut self, endpoint: Endpoint) {
        self.arrivals.remove(&endpoint);
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
pub struct Liveness {
    detector: Box<dyn Detector>,
    threshold: f64,
    live: BTreeSet<Endpoint>,
    unreachable: BTreeSet<Endpoint>,
}

impl Liveness {
    /// Liveness judged by `detector`, convicting above `threshold`.
    pub fn new(detector: Box<dyn Detector>, threshold: f64) -> Self {
        Liveness {
            detector,
            threshold,
            live: BTreeSet::new(),
            unreachable: BTreeSet::new(),
        }
    }

    /// Peers currently UP.
    pub fn live(&self) -> &BTreeSet<Endpoint> {
        &self.live
    }

    /// Known peers currently DOWN (they are still gossiped to, sometimes).
    pub fn unreachable(&self) -> &BTreeSet<Endpoint> {
        &self.unreachable
    }

    /// Whether `endpoint` is UP.
    pub fn is_live(&self, endpoint: Endpoint) -> bool {
        self.live.contains(&endpoint)
    }

    /// The detector's current suspicion of `endpoint`.
    pub fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64 {
        self.detector.phi(endpoint, now_ms)
    }

    /// A newer heartbeat of `endpoint` arrived: feed the detector and mark
    /// it UP if it was not.
    pub fn heartbeat(&mut self, endpoint: Endpoint, now_ms: u64, events: &mut Vec<GossipEvent>) {
        self.detector.report(endpoint, now_ms);
        self.mark_up(endpoint, events);
    }

    /// Marks `endpoint` UP (emitting `Up` if it was not).
    pub fn mark_up(&mut self, endpoint: Endpoint, events: &mut Vec<GossipEvent>) {
        self.unreachable.remove(&endpoint);
        if self.live.insert(endpoint) {
            events.push(GossipEvent::Up(endpoint));
        }
    }

    /// Marks `endpoint` DOWN (emitting `Down` if it was UP), keeping it known.
    pub fn mark_down(&mut self, endpoint: Endpoint, events: &mut Vec<GossipEvent>) {
        if self.live.remove(&endpoint) {
            events.push(GossipEvent::Down(endpoint));
        }
        self.unreachable.insert(endpoint);
    }

    /// Forgets `endpoint` entirely (it left the cluster).
    pub fn remove(&mut self, endpoint: Endpoint) {
        self.live.remove(&endpoint);
        self.unreachable.remove(&endpoint);
        self.detector.remove(endpoint);
    }

    /// Forgets `endpoint`'s arrival history (it restarted).
    pub fn reset_history(&mut self, endpoint: Endpoint) {
        self.detector.remove(endpoint);
    }

    /// Convicts every live peer whose phi is above the threshold.
    pub fn interpret(&mut self, now_ms: u64, events: &mut Vec<GossipEvent>) {
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
