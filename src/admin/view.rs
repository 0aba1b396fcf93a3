//! What the admin API knows of the cluster, behind [`ClusterView`].
//!
//! The API and nodetool are written against a list of node records so they work
//! the same for one node and for many: a running node hands the server the
//! cluster service's `GossipView` (gossip and the token ring, in
//! `node/cluster/admin_view.rs`); [`LocalView`] describes one node alone.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::sync::Arc;

use storage::Engine;

use crate::schema::{Replication, SchemaService};

/// A host id (a uuid's 16 bytes).
pub type HostId = [u8; 16];

/// Whether a node is up, as this node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Answering.
    Up,
    /// Convicted by the failure detector, or said it was shutting down.
    Down,
    /// Not known yet.
    Unknown,
}

/// A node's place in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingState {
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
pub struct NodeRecord {
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
pub struct GossipRecord {
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
pub trait ClusterView: Send + Sync + Debug {
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
}

/// What [`LocalView`] is built from.
#[derive(Debug, Clone)]
pub struct LocalNode {
    /// `cluster_name`.
    pub cluster_name: String,
    /// The snitch's Java class name.
    pub snitch: String,
    /// Host id.
    pub host_id: HostId,
    /// `listen_address`.
    pub address: IpAddr,
    /// `storage_port`.
    pub storage_port: u16,
    /// `rpc_address`.
    pub native_address: IpAddr,
    /// `native_transport_port`.
    pub native_port: u16,
    /// Data center.
    pub datacenter: String,
    /// Rack.
    pub rack: String,
    /// Tokens.
    pub tokens: Vec<i64>,
    /// Gossip generation.
    pub generation: i32,
}

/// A cluster of one: this node, up and normal, owning everything.
#[derive(Debug)]
pub struct LocalView {
    node: LocalNode,
    engine: Arc<Engine>,
    schema: Arc<SchemaService>,
    started: std::time::Instant,
}

impl LocalView {
    /// The view of `node`, with its load from `engine` and its schema version
    /// from `schema`.
    pub fn new(node: LocalNode, engine: Arc<Engine>, schema: Arc<SchemaService>) -> Self {
        LocalView {
            node,
            engine,
            schema,
            started: std::time::Instant::now(),
        }
    }

    fn record(&self) -> NodeRecord {
        NodeRecord {
            host_id: self.node.host_id,
            address: self.node.address,
            storage_port: self.node.storage_port,
            datacenter: self.node.datacenter.clone(),
            rack: self.node.rack.clone(),
            liveness: Liveness::Up,
            state: RingState::Normal,
            load_bytes: Some(disk_load(&self.engine)),
            tokens: self.node.tokens.clone(),
            schema_version: self.schema.version(),
            release_version: crate::schema::RELEASE_VERSION.to_owned(),
        }
    }
}

/// Bytes of live SSTables over every table of `engine`.
pub fn disk_load(engine: &Engine) -> u64 {
    engine
        .tables()
        .into_iter()
        .filter_map(|t| engine.table_stats(t).ok())
        .map(|s| s.sstable_bytes)
        .sum()
}

impl ClusterView for LocalView {
    fn cluster_name(&self) -> String {
        self.node.cluster_name.clone()
    }

    fn snitch(&self) -> String {
        self.node.snitch.clone()
    }

    fn partitioner(&self) -> String {
        crate::schema::system_keyspaces::PARTITIONER.to_owned()
    }

    fn local_host_id(&self) -> HostId {
        self.node.host_id
    }

    fn nodes(&self) -> Vec<NodeRecord> {
        vec![self.record()]
    }

    fn ownership(&self, _replication: Option<&Replication>) -> BTreeMap<HostId, f64> {
        // One node holds every replica there is: 100% whatever the factor.
        BTreeMap::from([(self.node.host_id, 1.0)])
    }

    fn replicas(&self, _replication: &Replication, _token: i64) -> Vec<IpAddr> {
        vec![self.node.address]
    }

    fn gossip(&self) -> Vec<GossipRecord> {
        let n = &self.node;
        let host = crate::uuids::format_uuid(&n.host_id);
        let schema = crate::uuids::format_uuid(&self.schema.version());
        let first = n.tokens.first().copied().unwrap_or_default();
        let load = disk_load(&self.engine) as f64;
        let native = format!("{}:{}", n.native_address, n.native_port);
        let states = [
            ("STATUS", format!("NORMAL,{first}")),
            ("LOAD", format!("{load:.1}")),
            ("SCHEMA", schema),
            ("DC", n.datacenter.clone()),
            ("RACK", n.rack.clone()),
            ("RELEASE_VERSION", crate::schema::RELEASE_VERSION.to_owned()),
            ("INTERNAL_IP", n.address.to_string()),
            ("RPC_ADDRESS", n.native_address.to_string()),
            ("NET_VERSION", "12".to_owned()),
            ("HOST_ID", host),
            ("RPC_READY", "true".to_owned()),
            ("NATIVE_ADDRESS_AND_PORT", native),
            ("STATUS_WITH_PORT", format!("NORMAL,{first}")),
            ("TOKENS", "<hidden>".to_owned()),
        ];
        let states = states
            .into_iter()
            .zip(1u64..)
            .map(|((name, value), version)| (name.to_owned(), version, value))
            .collect();
        vec![GossipRecord {
            address: n.address,
            generation: n.generation,
            heartbeat: self.started.elapsed().as_secs(),
            states,
        }]
    }
}
