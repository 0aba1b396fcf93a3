//! The cluster coordinator: routes each write and read to the replicas the
//! keyspace's strategy picks, and gives consistency levels their meaning.
//!
//! Transport-agnostic: replicas are reached through the object-safe
//! [`Peers`] seam (TCP in production, an in-memory loopback in tests), and
//! the coordinator's own replica through a direct call. The ring and
//! liveness come from a [`Topology`]. Cassandra's semantics:
//!
//! - writes go to every live replica; the call completes once `block_for`
//!   replicas that count for the level have acknowledged (LOCAL_* count the
//!   local DC, EACH_QUORUM a quorum in each DC), or fails with WriteTimeout;
//!   down or timed-out replicas get a hint (a hint counts only for ANY, and
//!   there only once the sink says it is durable);
//! - reads ask one replica for data and `block_for - 1` for digests; on a
//!   mismatch they read full data from all of them, reconcile, repair the
//!   stale replicas and wait for those repairs (blocking read repair, so
//!   QUORUM reads never go backwards);
//! - scans split the range at ring tokens and read each piece from
//!   `block_for` replicas, reconciling and repairing the same way;
//! - Unavailable is raised before any replica is contacted.
//!
//! Errors are this crate's [`CoordinatorError`]; the CQL layer maps them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use storage::{DecoratedKey, DeletionTime, Row};

use crate::consistency::{ConsistencyLevel, Unavailable};
use crate::net::{BoxFuture, Verb};
use crate::replica::Replica;
use crate::ring::{HostId, Ring};

mod acks;
pub(crate) mod hints;
mod logged;
#[cfg(any(test, feature = "sim"))]
pub(crate) mod loopback;
pub(crate) mod merge;
mod read;
mod scan;
mod send;
pub mod verbs;
pub(crate) mod wire;
mod write;

pub use hints::HintSink;
#[cfg(any(test, feature = "sim"))]
pub use hints::MemoryHints;
pub use logged::LoggedBatch;

/// Why a request to a peer produced no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The peer could not be reached (unknown, disconnected, queue full).
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// The seam to other nodes: one request, one answer.
pub trait Peers: Send + Sync + fmt::Debug {
    /// Sends `payload` as a `verb` request to `host` and resolves with the
    /// answer's payload, or fails after `timeout`.
    fn send_request(
        &self,
        host: HostId,
        verb: Verb,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, PeerError>>;
}

/// The cluster as the coordinator sees it: the ring and who is alive.
pub trait Topology: Send + Sync + fmt::Debug {
    /// The current ring (a snapshot; one request uses one snapshot).
    fn ring(&self) -> Arc<Ring>;

    /// Whether `host` is up (the failure detector's view).
    fn is_alive(&self, host: HostId) -> bool;

    /// How long `host` has been down, if it is and that is known; hints are
    /// stored only while this is within `max_hint_window`.
    fn down_for(&self, host: HostId) -> Option<Duration> {
        let _ = host;
        None
    }
}

/// The coordinator's settings.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// This node.
    pub local_host: HostId,
    /// This node's data center (for LOCAL_* levels and replica preference).
    pub local_dc: String,
    /// How long a read (with its repair) may take: 5 s.
    pub read_timeout: Duration,
    /// How long a write may wait for acknowledgements: 2 s.
    pub write_timeout: Duration,
    /// How long a scan may take: 10 s.
    pub range_timeout: Duration,
    /// Hints are stored for a replica down at most this long: 3 h.
    pub max_hint_window: Duration,
    /// Whether hints are stored at all.
    pub hinted_handoff: bool,
}

impl CoordinatorConfig {
    /// Cassandra's defaults for a coordinator on `local_host` in `local_dc`.
    pub fn new(local_host: HostId, local_dc: impl Into<String>) -> Self {
        CoordinatorConfig {
            local_host,
            local_dc: local_dc.into(),
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(2),
            range_timeout: Duration::from_secs(10),
            max_hint_window: Duration::from_secs(3 * 3600),
            hinted_handoff: true,
        }
    }
}

/// What kind of write timed out (the protocol's write types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteType {
    /// A single-partition write.
    Simple,
    /// A logged batch, after its batchlog write.
    Batch,
    /// An unlogged batch.
    UnloggedBatch,
    /// A counter write.
    Counter,
    /// The batchlog write of a logged batch.
    BatchLog,
    /// A lightweight transaction's write.
    Cas,
    /// A materialized view update.
    View,
    /// A CDC write.
    Cdc,
}

/// Why a coordinated request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    /// Too few replicas alive; nobody was contacted.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// Too few acknowledgements within the write timeout.
    #[error("Operation timed out - received only {received} responses.")]
    WriteTimeout {
        /// The level asked for.
        cl: ConsistencyLevel,
        /// Acknowledgements that counted.
        received: usize,
        /// Acknowledgements needed.
        block_for: usize,
        /// The kind of write.
        write_type: WriteType,
    },
    /// Too few answers within the read timeout.
    #[error("Operation timed out - received only {received} responses.")]
    ReadTimeout {
        /// The level asked for.
        cl: ConsistencyLevel,
        /// Answers received.
        received: usize,
        /// Answers needed.
        block_for: usize,
        /// Whether the data replica answered.
        data_present: bool,
    },
    /// Replicas failed the write, so the level can no longer be met.
    #[error("Operation failed - received {received} responses and {failures} failures: {message}")]
    WriteFailure {
        /// The level asked for.
        cl: ConsistencyLevel,
        /// Acknowledgements that counted.
        received: usize,
        /// Acknowledgements needed.
        block_for: usize,
        /// Replicas that failed.
        failures: usize,
        /// The kind of write.
        write_type: WriteType,
        /// The last failure's explanation.
        message: String,
    },
    /// Replicas failed the read (storage errors, too many tombstones).
    #[error("Operation failed - received {received} responses and {failures} failures: {message}")]
    ReadFailure {
        /// The level asked for.
        cl: ConsistencyLevel,
        /// Answers received.
        received: usize,
        /// Answers needed.
        block_for: usize,
        /// Replicas that failed.
        failures: usize,
        /// Whether the data replica answered.
        data_present: bool,
        /// The failure's explanation.
        message: String,
    },
    /// This node is shedding load.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// A request the coordinator cannot serve (e.g. ANY for a read).
    #[error("{0}")]
    Invalid(String),
    /// The local storage failed.
    #[error("storage: {0}")]
    Storage(String),
}

/// What a read may cost before it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Stop once this many rows are collected (a partition with only a static
    /// row counts as one row).
    pub max_rows: usize,
    /// Fail once a replica scanned more tombstones than this.
    pub max_tombstones: usize,
}

/// One partition as a client sees it: live data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionData {
    /// The key.
    pub key: DecoratedKey,
    /// The partition deletion, if any.
    pub deletion: Option<DeletionTime>,
    /// The static row, if it holds live data.
    pub static_row: Option<Row>,
    /// Live rows in the order asked for.
    pub rows: Vec<Row>,
}

/// The result of a read or a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Partitions with something to return, in token order.
    pub partitions: Vec<PartitionData>,
    /// Whether the read stopped at a limit (more may follow: page on).
    pub stopped_at_limit: bool,
    /// The most tombstones one replica met.
    pub tombstones_scanned: usize,
}

/// The coordinator of one node.
#[derive(Debug)]
pub struct ClusterCoordinator {
    config: CoordinatorConfig,
    sender: send::Sender,
    topology: Arc<dyn Topology>,
    hints: Arc<dyn HintSink>,
    /// Stale replicas sent a repair by reads and scans.
    read_repairs: AtomicU64,
}

impl ClusterCoordinator {
    /// A coordinator reaching other replicas through `peers`; `local`, when
    /// given, is this node's replica, called directly instead of over the
    /// network.
    pub fn new(
        config: CoordinatorConfig,
        peers: Arc<dyn Peers>,
        topology: Arc<dyn Topology>,
        hints: Arc<dyn HintSink>,
        local: Option<Arc<Replica>>,
    ) -> Self {
        let sender = send::Sender {
            peers,
            local_host: config.local_host,
            local,
        };
        ClusterCoordinator {
            config,
            sender,
            topology,
            hints,
            read_repairs: AtomicU64::new(0),
        }
    }

    /// Stale replicas this coordinator's reads and scans have repaired (or
    /// tried to) since it started.
    pub fn read_repairs(&self) -> u64 {
        self.read_repairs.load(Ordering::Relaxed)
    }

    /// The settings.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// Whether a hint may be stored for `host` now.
    fn may_hint(&self, host: HostId) -> bool {
        self.config.hinted_handoff
            && self
                .topology
                .down_for(host)
                .is_none_or(|d| d <= self.config.max_hint_window)
    }
}
