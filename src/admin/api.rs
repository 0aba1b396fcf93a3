//! The admin API's JSON bodies, shared by the server and `basalt nodetool`.
//!
//! Figures are raw (bytes, fractions, microseconds); nodetool formats them as
//! Cassandra prints them, so scripts reading the JSON never parse units.

use serde::{Deserialize, Serialize};

/// An error body: `{"error": "..."}` with a 4xx or 5xx status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, one line.
    pub error: String,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// Data centers in name order.
    pub datacenters: Vec<DcStatus>,
    /// Why ownership is not shown (`owns` is null), when it is not.
    pub ownership_note: Option<String>,
}

/// One data center of [`Status`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DcStatus {
    /// Its name.
    pub name: String,
    /// Its nodes, by address.
    pub nodes: Vec<NodeStatus>,
}

/// One node of [`Status`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeStatus {
    /// `U`, `D` or `?`.
    pub status: String,
    /// `N`, `L`, `J` or `M`.
    pub state: String,
    /// Internode address.
    pub address: String,
    /// Bytes on disk, or null when the node has not announced it yet.
    pub load_bytes: Option<u64>,
    /// Number of tokens.
    pub tokens: usize,
    /// Effective ownership (0 to 1), or null when meaningless.
    pub owns: Option<f64>,
    /// Host id.
    pub host_id: String,
    /// Rack.
    pub rack: String,
}

/// `GET /v1/ring`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ring {
    /// Data centers in name order.
    pub datacenters: Vec<DcRing>,
    /// Set when `owns` is the token ring share rather than effective ownership.
    pub ownership_note: Option<String>,
}

/// One data center of [`Ring`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DcRing {
    /// Its name.
    pub name: String,
    /// One entry per token, ascending.
    pub tokens: Vec<RingToken>,
}

/// One token of [`Ring`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RingToken {
    /// Owner's address.
    pub address: String,
    /// Owner's rack.
    pub rack: String,
    /// `Up`, `Down` or `?`.
    pub status: String,
    /// `Normal`, `Leaving`, `Joining` or `Moving`.
    pub state: String,
    /// Owner's bytes on disk, or null when not announced yet.
    pub load_bytes: Option<u64>,
    /// Owner's ownership (0 to 1).
    pub owns: f64,
    /// The token.
    pub token: i64,
}

/// `GET /v1/info`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Info {
    /// Host id.
    pub host_id: String,
    /// Whether gossip runs.
    pub gossip_active: bool,
    /// Whether the CQL server accepts clients.
    pub native_transport_active: bool,
    /// Bytes on disk.
    pub load_bytes: u64,
    /// Gossip generation.
    pub generation: i32,
    /// Seconds since the node started.
    pub uptime_seconds: u64,
    /// Resident memory of the process, bytes.
    pub rss_bytes: u64,
    /// Physical memory of the machine, bytes.
    pub memory_total_bytes: u64,
    /// Memtables and bloom filters, bytes.
    pub off_heap_bytes: u64,
    /// Data center.
    pub datacenter: String,
    /// Rack.
    pub rack: String,
    /// Requests that ended in a server error.
    pub exceptions: u64,
    /// The node's tokens.
    pub tokens: Vec<i64>,
}

/// `GET /v1/describecluster`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DescribeCluster {
    /// `cluster_name`.
    pub name: String,
    /// Snitch class.
    pub snitch: String,
    /// Partitioner class.
    pub partitioner: String,
    /// Schema version → addresses holding it.
    pub schema_versions: Vec<(String, Vec<String>)>,
    /// Nodes up and normal.
    pub live: usize,
    /// Nodes joining.
    pub joining: usize,
    /// Nodes moving.
    pub moving: usize,
    /// Nodes leaving.
    pub leaving: usize,
    /// Nodes down.
    pub unreachable: usize,
    /// Data center → (nodes, down).
    pub datacenters: Vec<(String, usize, usize)>,
    /// Release version → `address:port` list.
    pub versions: Vec<(String, Vec<String>)>,
    /// Keyspace → replication as Cassandra prints it.
    pub keyspaces: Vec<(String, String)>,
}

/// `GET /v1/gossipinfo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GossipInfo {
    /// Endpoints, by address.
    pub endpoints: Vec<GossipEndpoint>,
}

/// One endpoint of [`GossipInfo`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GossipEndpoint {
    /// Internode address.
    pub address: String,
    /// Generation.
    pub generation: i32,
    /// Heartbeat version.
    pub heartbeat: u64,
    /// Application states: name, version, value.
    pub states: Vec<(String, u64, String)>,
}

/// `GET /v1/endpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoints {
    /// The key's token.
    pub token: i64,
    /// Replica addresses.
    pub endpoints: Vec<String>,
}

/// `GET /v1/tablestats`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableStats {
    /// Keyspaces in name order.
    pub keyspaces: Vec<KeyspaceStats>,
}

/// One keyspace of [`TableStats`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyspaceStats {
    /// Its name.
    pub name: String,
    /// Its tables in name order.
    pub tables: Vec<TableStat>,
}

/// One table of [`TableStats`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TableStat {
    /// Its name.
    pub name: String,
    /// Live SSTables.
    pub sstable_count: usize,
    /// SSTables per level (index = level), when the table is leveled.
    pub sstables_per_level: Option<Vec<usize>>,
    /// SSTable bytes.
    pub space_used: u64,
    /// Bloom filters and memtables, bytes.
    pub off_heap_bytes: u64,
    /// Estimated partitions.
    pub estimated_partitions: u64,
    /// Partitions in memtables.
    pub memtable_partitions: u64,
    /// Memtable bytes.
    pub memtable_bytes: u64,
    /// Flushes so far.
    pub memtable_switch_count: u64,
    /// Point reads served.
    pub read_count: u64,
    /// Mean read latency, µs (null before any read is timed).
    pub read_latency_micros: Option<f64>,
    /// Writes.
    pub write_count: u64,
    /// Mean write latency, µs.
    pub write_latency_micros: Option<f64>,
    /// Memtables waiting for or in flush.
    pub pending_flushes: usize,
    /// Bloom filter bytes.
    pub bloom_filter_bytes: u64,
    /// The largest partition flushed, bytes.
    pub max_partition_bytes: u64,
    /// Tombstones in SSTables.
    pub sstable_tombstones: u64,
    /// Compactions pending or running.
    pub pending_compactions: usize,
    /// Bytes those would read.
    pub pending_compaction_bytes: u64,
}

/// `GET /v1/version`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Version {
    /// The Cassandra release Basalt speaks for.
    pub release_version: String,
    /// Basalt's own version.
    pub basalt_version: String,
}

/// The body of a successful POST.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Done {
    /// Tables acted on, `ks.table`.
    pub tables: Vec<String>,
}

/// `GET /v1/dump?keyspace=K&table=T`: every partition of one table in this
/// node's own storage (not a read through the coordinator), for checking
/// that replicas converged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dump {
    /// In token order.
    pub partitions: Vec<DumpPartition>,
}

/// One partition of [`Dump`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DumpPartition {
    /// The partition key bytes, in lower-case hex.
    pub key: String,
    /// Its token.
    pub token: i64,
    /// The digest of everything the node holds for it (cells, values,
    /// timestamps, TTLs, tombstones and their deletion times), in hex: equal
    /// on two nodes exactly when they hold the same data.
    pub digest: String,
    /// Cells in its rows, tombstone cells included.
    pub cells: u64,
}
