//! The cluster as this node last saw it through gossip: members, the token
//! ring and who is alive, published as one immutable snapshot.
//!
//! Requests read the snapshot many times (every replica choice), gossip
//! changes it about once a second, so it is rebuilt after an exchange that
//! changed something and swapped in behind an `Arc`; a request keeps the one
//! it started with.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
// Tokio's clock: a simulation's paused runtime drives it.
use tokio::time::Instant;

use cluster::Endpoint;
use cluster::Status;
use cluster::Topology;
use cluster::membership::{self, Member};
use cluster::{HostId, Ring};

/// One consistent view of the cluster.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// This node's internode address.
    pub local: Endpoint,
    /// This node's host id.
    pub local_host: HostId,
    /// Every node gossip describes, this one included, by endpoint.
    pub members: Vec<Member>,
    /// The ring of the members that own data.
    pub ring: Arc<Ring>,
    /// Peers currently UP (this node is always alive to itself).
    pub live: BTreeSet<Endpoint>,
    /// When each DOWN peer was first seen down.
    pub down_since: BTreeMap<HostId, Instant>,
}

impl ClusterView {
    /// A view of a node that knows only itself.
    pub fn alone(local: Endpoint, local_host: HostId) -> Self {
        ClusterView {
            local,
            local_host,
            members: Vec::new(),
            ring: Arc::new(Ring::new()),
            live: BTreeSet::new(),
            down_since: BTreeMap::new(),
        }
    }

    /// Rebuilds members and ring from gossip's states.
    ///
    /// `saved` are the owners this node knew at its last run: each one gossip
    /// has no state for yet joins the ring as a down member, so routing
    /// never falls back to the subset of owners that have answered so far.
    pub fn rebuild(
        &self,
        states: &BTreeMap<Endpoint, cluster::EndpointState>,
        live: &BTreeSet<Endpoint>,
        saved: &[Member],
        now: Instant,
    ) -> ClusterView {
        let mut members = membership::members(states);
        let unconfirmed: Vec<Member> = saved
            .iter()
            .filter(|s| {
                !states.contains_key(&s.endpoint) && !members.iter().any(|m| m.host_id == s.host_id)
            })
            .cloned()
            .collect();
        members.extend(unconfirmed);
        // A node that shut down cleanly still owns its tokens (Cassandra keeps
        // it in the ring): its writes are hinted, and ALL must see it missing.
        let owning: Vec<Member> = members
            .iter()
            .cloned()
            .map(|mut m| {
                if m.status == Status::Shutdown {
                    m.status = Status::Normal;
                }
                m
            })
            .collect();
        let ring = membership::ring_of(&owning);
        let mut down_since = BTreeMap::new();
        for m in &members {
            if m.endpoint != self.local && !live.contains(&m.endpoint) {
                let since = self.down_since.get(&m.host_id).copied().unwrap_or(now);
                down_since.insert(m.host_id, since);
            }
        }
        ClusterView {
            local: self.local,
            local_host: self.local_host,
            members,
            ring: Arc::new(ring),
            live: live.clone(),
            down_since,
        }
    }

    /// The member with this host id.
    pub fn member(&self, host: HostId) -> Option<&Member> {
        self.members.iter().find(|m| m.host_id == host)
    }

    /// The member at this endpoint.
    pub fn member_at(&self, endpoint: Endpoint) -> Option<&Member> {
        self.members.iter().find(|m| m.endpoint == endpoint)
    }

    /// Whether `host` is up in this view.
    pub fn is_alive(&self, host: HostId) -> bool {
        if host == self.local_host {
            return true;
        }
        self.member(host)
            .is_some_and(|m| self.live.contains(&m.endpoint) && !m.status.is_dead())
    }

    /// Members that are up, this node included.
    pub fn live_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| self.is_alive(m.host_id))
    }
}

/// The published snapshot, shared by gossip (writer) and requests (readers).
#[derive(Debug)]
pub struct ViewCell(std::sync::RwLock<Arc<ClusterView>>);

impl ViewCell {
    /// A cell holding `view`.
    pub fn new(view: ClusterView) -> Self {
        ViewCell(std::sync::RwLock::new(Arc::new(view)))
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<ClusterView> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Publishes `view`.
    pub fn set(&self, view: ClusterView) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(view);
    }
}

impl Topology for ViewCell {
    fn ring(&self) -> Arc<Ring> {
        Arc::clone(&self.get().ring)
    }

    fn is_alive(&self, host: HostId) -> bool {
        self.get().is_alive(host)
    }

    fn down_for(&self, host: HostId) -> Option<Duration> {
        self.get()
            .down_since
            .get(&host)
            .map(|since| since.elapsed())
    }
}
