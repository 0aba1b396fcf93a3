//! What the admin API knows of the cluster, behind [`ClusterView`].
//!
//! The API and nodetool are written against a list of node records so they work
//! the same for one node and for many: a running node hands the server the
//! cluster service's `GossipView` (gossip and the token ring, in
//! `node/cluster/admin_view.rs`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::IpAddr;

use storage::Engine;

use crate::schema::Replication;

/// A host id (a uuid's 16 bytes).
pub(crate) type HostId = [u8; 16];

/// Whether a node is up, as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Answering.
    Up,
    /// Convicted by the failure detector, or said it was shutting down.
    Down,
    /// Not known yet.
    #[expect(dead_code, reason = "the admin API renders it; no view reports it yet")]
    Unknown,
}

/// A node's place in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingState {
    /// Owns its tokens.
    Normal,
    /// Streaming its data away before it leaves.
    Leaving,
    /// Bootstrapping.
    Joining,
    /// Moving to a new token.
    Moving,
}

/// One node as this node sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeRecord {
    /// Its host id.
    pub host_id: HostId,
    /// Its internode address.
    pub address: IpAddr,
    /// Its internode port.
    pub storage_port: u16,
    /// Its data center.
    pub datacenter: String,
    /// Its rack.
    pub rack: String,
    /// Up or down.
    pub liveness: Liveness,
    /// Normal, joining, leaving or moving.
    pub state: RingState,
    /// Bytes of live SSTables on its disk; `None` for a peer that has not
    /// announced its load in gossip yet.
    pub load_bytes: Option<u64>,
    /// Its tokens, ascending.
    pub tokens: Vec<i64>,
    /// Its schema version.
    pub schema_version: [u8; 16],
    /// Its release version.
    pub release_version: String,
}

/// One endpoint's gossip state, for `gossipinfo`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GossipRecord {
    /// Its internode address.
    pub address: IpAddr,
    /// Its generation (start time in seconds).
    pub generation: i32,
    /// Its heartbeat version.
    pub heartbeat: u64,
    /// Application states: name, version, value.
    pub states: Vec<(String, u64, String)>,
}

/// The cluster as the admin API shows it.
pub(crate) trait ClusterView: Send + Sync + Debug {
    /// `cluster_name`.
    fn cluster_name(&self) -> String;
    /// The snitch's Java class name.
    fn snitch(&self) -> String;
    /// The partitioner's Java class name.
    fn partitioner(&self) -> String;
    /// This node's host id.
    fn local_host_id(&self) -> HostId;
    /// Every node known, this one included.
    fn nodes(&self) -> Vec<NodeRecord>;
    /// The fraction of the data each node holds under `replication` (effective
    /// ownership, summing to the replication factor), or with `None` the fraction
    /// of the token ring each node's primary ranges cover (summing to 1).
    fn ownership(&self, replication: Option<&Replication>) -> BTreeMap<HostId, f64>;
    /// The replicas of `token` under `replication`, in placement order.
    fn replicas(&self, replication: &Replication, token: i64) -> Vec<IpAddr>;
    /// Every endpoint's gossip state.
    fn gossip(&self) -> Vec<GossipRecord>;
    /// Each peer's clock skew as measured over gossip: the peer's internode
    /// address (`ip:port`) and this node's clock minus the peer's, in
    /// seconds. None for a view without gossip.
    fn clock_skew(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// Bytes of live SSTables over every table of `engine`.
pub(crate) fn disk_load(engine: &Engine) -> u64 {
    engine
        .tables()
        .into_iter()
        .filter_map(|t| engine.table_stats(t).ok())
        .map(|s| s.sstable_bytes)
        .sum()
}
