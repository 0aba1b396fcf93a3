//! The phi-accrual failure detector, as Cassandra computes it.
//!
//! Each peer has an [`ArrivalWindow`] of the intervals between its heartbeats
//! (the last 1,000). Suspicion after `Δt` of silence is
//! `φ = Δt / mean interval · log10(e)`, the exponential-distribution
//! approximation Cassandra uses (CASSANDRA-2597); a peer is convicted when φ
//! exceeds `phi_convict_threshold` (8). Before the first interval is known the
//! window holds Cassandra's initial assumption of 2 s, and intervals longer
//! than 2 s (outages, not heartbeat spacing) are not recorded.
//!
//! With 1 s gossip that convicts a silent peer after about 18.4 s. Basalt
//! promises DOWN within about 10 s, so the detector also convicts after
//! `max_silence_ms` (10 s) without a heartbeat, whatever φ says: φ keeps its
//! meaning and its knob for fast heartbeats (at 0.5 s it convicts at 9.2 s),
//! while the cap bounds detection for slow or jittery peers whose large mean
//! would otherwise stretch it (up to 36.8 s at the 2 s interval cap).
//!
//! Time is passed in as monotonic milliseconds; the detector never reads a
//! clock.

#[cfg(test)]
use std::collections::HashMap;
use std::collections::VecDeque;

#[cfg(test)]
use crate::ring::HostId;

/// `log10(e)`: turns Cassandra's `Δt / mean` into φ.
const PHI_FACTOR: f64 = std::f64::consts::LOG10_E;

/// The detector's settings; the defaults are Cassandra's, plus the silence cap.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureDetectorConfig {
    /// Convict when φ exceeds this (Cassandra's `phi_convict_threshold`).
    pub phi_convict_threshold: f64,
    /// How many intervals the window keeps.
    pub window_size: usize,
    /// The interval assumed at the first heartbeat (Cassandra: twice the 1 s
    /// gossip interval), erring towards late rather than false conviction.
    pub initial_interval_ms: u64,
    /// Longer intervals are not recorded: a peer that keeps vanishing this
    /// long should be convicted quickly, not have its mean stretched.
    pub max_interval_ms: u64,
    /// Convict after this much silence whatever φ says; `None` for pure φ.
    pub max_silence_ms: Option<u64>,
}

impl Default for FailureDetectorConfig {
    fn default() -> Self {
        FailureDetectorConfig {
            phi_convict_threshold: 8.0,
            window_size: 1000,
            initial_interval_ms: 2000,
            max_interval_ms: 2000,
            max_silence_ms: Some(10_000),
        }
    }
}

/// One peer's heartbeat history: the last arrival and a bounded window of
/// the intervals between arrivals.
#[derive(Clone, Debug)]
pub(crate) struct ArrivalWindow {
    last_ms: Option<u64>,
    intervals: VecDeque<u64>,
    /// The sum of `intervals`, kept so the mean costs nothing per query.
    sum_ms: u64,
    capacity: usize,
    initial_interval_ms: u64,
    max_interval_ms: u64,
    max_silence_ms: Option<u64>,
}

impl ArrivalWindow {
    /// An empty window with `config`'s sizes and limits.
    pub(crate) fn new(config: &FailureDetectorConfig) -> ArrivalWindow {
        ArrivalWindow {
            last_ms: None,
            intervals: VecDeque::new(),
            sum_ms: 0,
            capacity: config.window_size.max(1),
            initial_interval_ms: config.initial_interval_ms,
            max_interval_ms: config.max_interval_ms,
            max_silence_ms: config.max_silence_ms,
        }
    }

    /// Records a heartbeat arriving at `now_ms`.
    pub(crate) fn report(&mut self, now_ms: u64) {
        match self.last_ms {
            None => self.push(self.initial_interval_ms),
            Some(last) => {
                let interval = now_ms.saturating_sub(last);
                if interval <= self.max_interval_ms {
                    self.push(interval);
                }
            }
        }
        // A heartbeat from the past (reordered delivery) must not rewind.
        self.last_ms = Some(self.last_ms.map_or(now_ms, |last| last.max(now_ms)));
    }

    fn push(&mut self, interval: u64) {
        if self.intervals.len() == self.capacity {
            let oldest = self.intervals.pop_front().unwrap_or(0);
            self.sum_ms -= oldest;
        }
        self.intervals.push_back(interval);
        self.sum_ms += interval;
    }

    /// The mean interval in milliseconds, once a heartbeat has arrived.
    pub(crate) fn mean_ms(&self) -> Option<f64> {
        (!self.intervals.is_empty()).then(|| self.sum_ms as f64 / self.intervals.len() as f64)
    }

    /// How many intervals the window holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.intervals.len()
    }

    /// Whether no heartbeat has arrived yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// φ at `now_ms`; 0 before any heartbeat (no evidence either way).
    pub(crate) fn phi(&self, now_ms: u64) -> f64 {
        match (self.last_ms, self.mean_ms()) {
            // A zero mean (heartbeats in the same millisecond) would divide by
            // zero; one millisecond is the clock's resolution anyway.
            (Some(last), Some(mean)) => {
                PHI_FACTOR * now_ms.saturating_sub(last) as f64 / mean.max(1.0)
            }
            _ => 0.0,
        }
    }

    /// Whether the peer is still considered alive at `now_ms`: a heartbeat
    /// has arrived, φ is at most `threshold`, and the silence is shorter than
    /// the cap. Before any heartbeat a peer is not alive.
    pub(crate) fn is_alive(&self, now_ms: u64, threshold: f64) -> bool {
        let Some(last) = self.last_ms else {
            return false;
        };
        let silence = now_ms.saturating_sub(last);
        let capped = self.max_silence_ms.is_some_and(|cap| silence >= cap);
        !capped && self.phi(now_ms) <= threshold
    }
}

/// The failure detector of a node: one arrival window per peer.
// Gossip keeps its own arrival windows (`gossip::liveness`); this per-node
// map of them is exercised by the detector's tests only.
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub(crate) struct FailureDetector {
    config: FailureDetectorConfig,
    windows: HashMap<HostId, ArrivalWindow>,
}

#[cfg(test)]
impl FailureDetector {
    /// A detector that knows no peers yet.
    pub(crate) fn new(config: FailureDetectorConfig) -> FailureDetector {
        FailureDetector {
            config,
            windows: HashMap::new(),
        }
    }

    /// Records a heartbeat from `host` at `now_ms` (gossip saw its heartbeat
    /// version grow).
    pub(crate) fn report(&mut self, host: HostId, now_ms: u64) {
        let config = &self.config;
        self.windows
            .entry(host)
            .or_insert_with(|| ArrivalWindow::new(config))
            .report(now_ms);
    }

    /// φ of `host` at `now_ms`, if it was ever heard from.
    pub(crate) fn phi(&self, host: HostId, now_ms: u64) -> Option<f64> {
        self.windows.get(&host).map(|w| w.phi(now_ms))
    }

    /// Whether `host` is alive at `now_ms` under the configured threshold.
    /// A host never heard from is not.
    pub(crate) fn is_alive(&self, host: HostId, now_ms: u64) -> bool {
        self.windows
            .get(&host)
            .is_some_and(|w| w.is_alive(now_ms, self.config.phi_convict_threshold))
    }

    /// Forgets `host` (it left the cluster, or restarted with a new
    /// generation and must start from the initial assumption again).
    pub(crate) fn remove(&mut self, host: HostId) {
        self.windows.remove(&host);
    }

    /// The peer's arrival window, for `nodetool failuredetector`-style views.
    pub(crate) fn window(&self, host: HostId) -> Option<&ArrivalWindow> {
        self.windows.get(&host)
    }
}

#[cfg(test)]
mod tests;
