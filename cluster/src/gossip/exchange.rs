//! The gossip round as pure functions over a [`Gossiper`] value.
//!
//! Nothing here does I/O or reads a clock: the caller passes `now_ms` and a
//! seeded RNG in, and sends the messages that come out. That makes a whole
//! cluster's gossip replayable in a test, and lets the node drive it from one
//! timer task.
//!
//! A round (Cassandra's `GossipTask`, every second): [`Gossiper::tick`] bumps
//! the local heartbeat, convicts silent peers, and picks targets for a
//! [`GossipDigestSyn`]. The receiver answers with [`Gossiper::on_syn`] (a
//! [`GossipDigestAck`]: what it wants, and what the initiator lacks), the
//! initiator applies that and answers with [`Gossiper::on_ack`] (a
//! [`GossipDigestAck2`]: what was asked for), applied by
//! [`Gossiper::on_ack2`].

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, RngExt};

use super::liveness::{DEFAULT_PHI_THRESHOLD, Detector, GossipEvent, Liveness, PhiAccrual};
use super::state::{
    ApplicationState, EndpointState, HeartBeatState, MergeOutcome, Status, VersionGenerator,
    VersionedValue,
};
use crate::net::Endpoint;

/// How long a removed endpoint is ignored (Cassandra's `QUARANTINE_DELAY`,
/// twice the 30 s ring delay): long enough for every peer's stale view of it
/// to be overwritten or aged out.
pub const QUARANTINE_MS: u64 = 60_000;

/// Static settings of a gossiper.
#[derive(Clone, Debug, PartialEq)]
pub struct GossipConfig {
    /// Only nodes with the same cluster name gossip together.
    pub cluster_name: String,
    /// Only nodes with the same partitioner gossip together (their tokens
    /// would mean different things).
    pub partitioner: String,
    /// Seed nodes, gossiped to so that a new or partitioned node finds the
    /// cluster and so that all views meet somewhere.
    pub seeds: BTreeSet<Endpoint>,
    /// Phi above which a silent peer is convicted.
    pub phi_threshold: f64,
    /// How long removed endpoints are ignored.
    pub quarantine_ms: u64,
}

impl GossipConfig {
    /// A configuration with Cassandra's defaults for the tunables.
    pub fn new(
        cluster_name: impl Into<String>,
        partitioner: impl Into<String>,
        seeds: impl IntoIterator<Item = Endpoint>,
    ) -> Self {
        GossipConfig {
            cluster_name: cluster_name.into(),
            partitioner: partitioner.into(),
            seeds: seeds.into_iter().collect(),
            phi_threshold: DEFAULT_PHI_THRESHOLD,
            quarantine_ms: QUARANTINE_MS,
        }
    }
}

/// A summary of one endpoint's state: enough to tell who has newer data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GossipDigest {
    /// Whose state.
    pub endpoint: Endpoint,
    /// Its generation as the sender knows it.
    pub generation: i32,
    /// The highest version the sender has (in a request: "send me what is
    /// above this").
    pub max_version: i32,
}

/// Opens a round: the initiator's digests of everything it knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipDigestSyn {
    /// The initiator's cluster name.
    pub cluster_name: String,
    /// The initiator's partitioner.
    pub partitioner: String,
    /// One digest per endpoint the initiator knows, itself included.
    pub digests: Vec<GossipDigest>,
}

/// The reply to a SYN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GossipDigestAck {
    /// Endpoints the receiver wants newer data for, with what it has.
    pub digests: Vec<GossipDigest>,
    /// States (deltas) the initiator lacks.
    pub states: BTreeMap<Endpoint, EndpointState>,
}

/// The reply to an ACK: the states it asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GossipDigestAck2 {
    /// The requested states (deltas).
    pub states: BTreeMap<Endpoint, EndpointState>,
}

/// Any gossip message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipMessage {
    /// A round's opening.
    Syn(GossipDigestSyn),
    /// The reply to a SYN.
    Ack(GossipDigestAck),
    /// The reply to an ACK, or a shutdown announcement.
    Ack2(GossipDigestAck2),
}

/// Why a SYN was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GossipError {
    /// The sender belongs to another cluster.
    #[error("cluster name mismatch: ours {ours:?}, theirs {theirs:?}")]
    ClusterNameMismatch {
        /// Our cluster name.
        ours: String,
        /// The sender's.
        theirs: String,
    },
    /// The sender uses another partitioner.
    #[error("partitioner mismatch: ours {ours:?}, theirs {theirs:?}")]
    PartitionerMismatch {
        /// Our partitioner.
        ours: String,
        /// The sender's.
        theirs: String,
    },
}

/// One node's gossip state machine.
#[derive(Debug)]
pub struct Gossiper {
    local: Endpoint,
    config: GossipConfig,
    versions: VersionGenerator,
    endpoints: BTreeMap<Endpoint, EndpointState>,
    liveness: Liveness,
    /// Removed endpoints and when their quarantine ends.
    quarantine: BTreeMap<Endpoint, u64>,
    events: Vec<GossipEvent>,
}

impl Gossiper {
    /// A gossiper for `local`, started at `generation` (its start time in
    /// seconds, higher than at any previous start), with Cassandra's phi
    /// detector.
    pub fn new(local: Endpoint, generation: i32, config: GossipConfig) -> Self {
        Self::with_detector(local, generation, config, Box::new(PhiAccrual::default()))
    }

    /// As [`Gossiper::new`], judging liveness with `detector`.
    pub fn with_detector(
        local: Endpoint,
        generation: i32,
        config: GossipConfig,
        detector: Box<dyn Detector>,
    ) -> Self {
        let heartbeat = HeartBeatState {
            generation,
            version: 0,
        };
        let liveness = Liveness::new(detector, config.phi_threshold);
        Gossiper {
            local,
            config,
            versions: VersionGenerator::new(),
            endpoints: BTreeMap::from([(local, EndpointState::new(heartbeat))]),
            liveness,
            quarantine: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// This node's address.
    pub fn local(&self) -> Endpoint {
        self.local
    }

    /// This node's settings.
    pub fn config(&self) -> &GossipConfig {
        &self.config
    }

    /// Sets one of this node's application states under a fresh version, so
    /// that the next rounds spread it.
    pub fn set_local_state(&mut self, state: ApplicationState, value: impl Into<String>) {
        let version = self.versions.next_version();
        let value = VersionedValue {
            value: value.into(),
            version,
        };
        if let Some(local) = self.endpoints.get_mut(&self.local) {
            local.states.insert(state, value);
        }
    }

    /// Everything known about `endpoint`.
    pub fn endpoint_state(&self, endpoint: Endpoint) -> Option<&EndpointState> {
        self.endpoints.get(&endpoint)
    }

    /// Everything known, this node included.
    pub fn endpoint_states(&self) -> &BTreeMap<Endpoint, EndpointState> {
        &self.endpoints
    }

    /// Peers currently UP.
    pub fn live_members(&self) -> &BTreeSet<Endpoint> {
        self.liveness.live()
    }

    /// Known peers currently DOWN.
    pub fn unreachable_members(&self) -> &BTreeSet<Endpoint> {
        self.liveness.unreachable()
    }

    /// Whether `endpoint` is UP (this node always is, to itself).
    pub fn is_alive(&self, endpoint: Endpoint) -> bool {
        endpoint == self.local || self.liveness.is_live(endpoint)
    }

    /// The detector's suspicion of `endpoint`, for `nodetool failuredetector`.
    pub fn phi(&self, endpoint: Endpoint, now_ms: u64) -> f64 {
        self.liveness.phi(endpoint, now_ms)
    }

    /// Whether gossip about `endpoint` is being ignored at `now_ms`.
    pub fn is_quarantined(&self, endpoint: Endpoint, now_ms: u64) -> bool {
        self.quarantine
            .get(&endpoint)
            .is_some_and(|&until| now_ms < until)
    }

    /// The events produced since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<GossipEvent> {
        std::mem::take(&mut self.events)
    }

    /// The SYN this node sends: its cluster, partitioner, and a digest of
    /// every endpoint it knows.
    pub fn make_syn(&self) -> GossipDigestSyn {
        let digests = self
            .endpoints
            .iter()
            .map(|(&endpoint, state)| GossipDigest {
                endpoint,
                generation: state.heartbeat.generation,
                max_version: state.max_version(),
            })
            .collect();
        GossipDigestSyn {
            cluster_name: self.config.cluster_name.clone(),
            partitioner: self.config.partitioner.clone(),
            digests,
        }
    }

    /// One gossip round at `now_ms`: bumps the heartbeat, convicts silent
    /// peers, ends expired quarantines, and returns the SYNs to send.
    pub fn tick(&mut self, now_ms: u64, rng: &mut impl Rng) -> Vec<(Endpoint, GossipDigestSyn)> {
        let version = self.versions.next_version();
        if let Some(local) = self.endpoints.get_mut(&self.local) {
            local.heartbeat.version = version;
        }
        self.liveness.interpret(now_ms, &mut self.events);
        self.quarantine.retain(|_, until| now_ms < *until);
        let targets = self.choose_targets(rng);
        let syn = self.make_syn();
        targets.into_iter().map(|t| (t, syn.clone())).collect()
    }

    /// Cassandra's target rule: one random live peer; one unreachable peer
    /// with probability #unreachable / (#live + 1), so dead nodes are retried
    /// more when many are down; and a seed when the live peer was not a seed
    /// or fewer peers are live than there are seeds, so partitioned views
    /// meet at the seeds.
    fn choose_targets(&self, rng: &mut impl Rng) -> Vec<Endpoint> {
        let live: Vec<Endpoint> = self.liveness.live().iter().copied().collect();
        let unreachable: Vec<Endpoint> = self.liveness.unreachable().iter().copied().collect();
        let mut targets = Vec::new();
        let mut gossiped_to_seed = false;
        if let Some(&peer) = pick(&live, rng) {
            gossiped_to_seed = self.config.seeds.contains(&peer);
            targets.push(peer);
        }
        if !unreachable.is_empty() {
            let p = unreachable.len() as f64 / (live.len() + 1) as f64;
            if rng.random::<f64>() < p {
                targets.extend(pick(&unreachable, rng));
            }
        }
        if !gossiped_to_seed || live.len() < self.config.seeds.len() {
            let seeds: Vec<Endpoint> = self
                .config
                .seeds
                .iter()
                .copied()
                .filter(|&s| s != self.local)
                .collect();
            let p = self.config.seeds.len() as f64 / (live.len() + unreachable.len()).max(1) as f64;
            // With no live peer a seed is the only way in, so always.
            if !seeds.is_empty() && (live.is_empty() || rng.random::<f64>() <= p) {
                targets.extend(pick(&seeds, rng));
            }
        }
        let mut seen = BTreeSet::new();
        targets.retain(|t| seen.insert(*t));
        targets
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut impl Rng) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.random_range(0..items.len()))
}

impl Gossiper {
    /// Answers a SYN: asks for what the initiator has newer, and sends what
    /// it lacks (only versions above its digest). Endpoints the initiator
    /// does not list at all are sent whole, which Cassandra leaves to a later
    /// round in the other direction; it costs little and speeds convergence.
    pub fn on_syn(
        &mut self,
        syn: &GossipDigestSyn,
        now_ms: u64,
    ) -> Result<GossipDigestAck, GossipError> {
        self.check_peer(syn)?;
        let mut ack = GossipDigestAck::default();
        let mut listed = BTreeSet::new();
        for d in &syn.digests {
            listed.insert(d.endpoint);
            let request = |max_version| GossipDigest { max_version, ..*d };
            let Some(ours) = self.endpoints.get(&d.endpoint) else {
                if !self.is_quarantined(d.endpoint, now_ms) {
                    ack.digests.push(request(0));
                }
                continue;
            };
            let (generation, max) = (ours.heartbeat.generation, ours.max_version());
            let delta = if d.generation < generation {
                Some(ours.clone())
            } else if d.generation > generation || max < d.max_version {
                if !self.is_quarantined(d.endpoint, now_ms) {
                    let have = if d.generation > generation { 0 } else { max };
                    ack.digests.push(request(have));
                }
                None
            } else {
                ours.delta_above(d.max_version)
            };
            if let Some(delta) = delta {
                ack.states.insert(d.endpoint, delta);
            }
        }
        for (endpoint, state) in &self.endpoints {
            if !listed.contains(endpoint) {
                ack.states.insert(*endpoint, state.clone());
            }
        }
        Ok(ack)
    }

    fn check_peer(&self, syn: &GossipDigestSyn) -> Result<(), GossipError> {
        if syn.cluster_name != self.config.cluster_name {
            return Err(GossipError::ClusterNameMismatch {
                ours: self.config.cluster_name.clone(),
                theirs: syn.cluster_name.clone(),
            });
        }
        if syn.partitioner != self.config.partitioner {
            return Err(GossipError::PartitionerMismatch {
                ours: self.config.partitioner.clone(),
                theirs: syn.partitioner.clone(),
            });
        }
        Ok(())
    }

    /// Applies an ACK's states and answers with the states it asked for.
    pub fn on_ack(&mut self, ack: &GossipDigestAck, now_ms: u64) -> GossipDigestAck2 {
        self.apply_states(&ack.states, now_ms);
        let mut states = BTreeMap::new();
        for d in &ack.digests {
            let Some(ours) = self.endpoints.get(&d.endpoint) else {
                continue;
            };
            // A delta is only meaningful within the generation it was asked
            // for; across a restart the requester needs the whole state.
            let delta = if ours.heartbeat.generation == d.generation {
                ours.delta_above(d.max_version)
            } else {
                Some(ours.clone())
            };
            if let Some(delta) = delta {
                states.insert(d.endpoint, delta);
            }
        }
        GossipDigestAck2 { states }
    }

    /// Applies an ACK2's states (also how a shutdown announcement arrives).
    pub fn on_ack2(&mut self, ack2: &GossipDigestAck2, now_ms: u64) {
        self.apply_states(&ack2.states, now_ms);
    }

    /// Handles any gossip message; returns the reply to send back, if any.
    pub fn handle(
        &mut self,
        message: &GossipMessage,
        now_ms: u64,
    ) -> Result<Option<GossipMessage>, GossipError> {
        Ok(match message {
            GossipMessage::Syn(syn) => Some(GossipMessage::Ack(self.on_syn(syn, now_ms)?)),
            GossipMessage::Ack(ack) => Some(GossipMessage::Ack2(self.on_ack(ack, now_ms))),
            GossipMessage::Ack2(ack2) => {
                self.on_ack2(ack2, now_ms);
                None
            }
        })
    }

    /// Announces a clean shutdown: sets STATUS `shutdown` and returns the
    /// final state to push to every live peer, which marks this node DOWN at
    /// once instead of waiting ~18 s for the detector.
    pub fn announce_shutdown(&mut self) -> Vec<(Endpoint, GossipMessage)> {
        self.set_local_state(
            ApplicationState::Status,
            format!("{},true", Status::Shutdown.as_str()),
        );
        let Some(local) = self.endpoints.get(&self.local) else {
            return Vec::new();
        };
        let ack2 = GossipDigestAck2 {
            states: BTreeMap::from([(self.local, local.clone())]),
        };
        let peers = self.liveness.live().iter();
        peers
            .map(|&p| (p, GossipMessage::Ack2(ack2.clone())))
            .collect()
    }

    /// Removes a dead `endpoint` by force (`nodetool assassinate`): writes a
    /// LEFT status for it under a higher generation, so every peer's copy is
    /// replaced as gossip spreads it, and quarantines it here. False if the
    /// endpoint is unknown or is this node.
    pub fn assassinate(&mut self, endpoint: Endpoint, now_ms: u64) -> bool {
        if endpoint == self.local {
            return false;
        }
        let Some(state) = self.endpoints.get_mut(&endpoint) else {
            return false;
        };
        let tokens = state
            .get(ApplicationState::Tokens)
            .unwrap_or("")
            .to_string();
        state.heartbeat = HeartBeatState {
            generation: state.heartbeat.generation.saturating_add(1),
            version: state.max_version().saturating_add(1),
        };
        let version = state.heartbeat.version;
        let value = format!("{},{tokens}", Status::Left.as_str());
        state
            .states
            .insert(ApplicationState::Status, VersionedValue { value, version });
        self.handle_left(endpoint, now_ms);
        true
    }
}

impl Gossiper {
    /// Merges remote states into ours and updates liveness. Our own state is
    /// never taken from others (we are its only author), and quarantined
    /// endpoints are skipped so stale gossip cannot resurrect them.
    fn apply_states(&mut self, states: &BTreeMap<Endpoint, EndpointState>, now_ms: u64) {
        for (&endpoint, remote) in states {
            if endpoint == self.local || self.is_quarantined(endpoint, now_ms) {
                continue;
            }
            let was_left = self
                .endpoints
                .get(&endpoint)
                .is_some_and(|s| s.status() == Some(Status::Left));
            let (fresh_heartbeat, changed) = match self.endpoints.get_mut(&endpoint) {
                None => {
                    self.endpoints.insert(endpoint, remote.clone());
                    self.events.push(GossipEvent::Joined(endpoint));
                    (true, remote.states.keys().copied().collect())
                }
                Some(ours) => match ours.merge(remote) {
                    MergeOutcome::Unchanged => continue,
                    MergeOutcome::Replaced => {
                        // A restart: its old arrival history says nothing
                        // about the new process.
                        self.liveness.reset_history(endpoint);
                        self.events.push(GossipEvent::Joined(endpoint));
                        (true, remote.states.keys().copied().collect())
                    }
                    MergeOutcome::Updated { heartbeat, changed } => (heartbeat, changed),
                },
            };
            self.after_merge(endpoint, fresh_heartbeat, &changed, was_left, now_ms);
        }
    }

    /// Emits change events and judges liveness after `endpoint` changed.
    fn after_merge(
        &mut self,
        endpoint: Endpoint,
        fresh_heartbeat: bool,
        changed: &[ApplicationState],
        was_left: bool,
        now_ms: u64,
    ) {
        let Some(state) = self.endpoints.get(&endpoint) else {
            return;
        };
        for key in changed {
            if let Some(value) = state.states.get(key) {
                self.events.push(GossipEvent::StateChanged {
                    endpoint,
                    state: *key,
                    value: value.clone(),
                });
            }
        }
        match state.status() {
            Some(Status::Left) if !was_left => self.handle_left(endpoint, now_ms),
            Some(Status::Left) => {}
            // A clean shutdown is believed at once: no need to wait for the
            // detector, and its heartbeats must not revive it.
            Some(Status::Shutdown) => self.liveness.mark_down(endpoint, &mut self.events),
            _ if fresh_heartbeat => self.liveness.heartbeat(endpoint, now_ms, &mut self.events),
            _ => {}
        }
    }

    /// `endpoint` left the cluster: forget its liveness and ignore gossip
    /// about it for the quarantine period. Its LEFT state is kept and keeps
    /// spreading, so peers with older views learn it too.
    fn handle_left(&mut self, endpoint: Endpoint, now_ms: u64) {
        self.liveness.remove(endpoint);
        self.quarantine
            .insert(endpoint, now_ms + self.config.quarantine_ms);
        self.events.push(GossipEvent::Left(endpoint));
    }
}

#[cfg(test)]
mod tests;
