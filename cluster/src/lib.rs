//! Basalt's cluster layer: where data lives and who is alive, as pure logic.
//!
//! The entry points, all re-exported at the crate root:
//! - placement: [`murmur3_token`] (Cassandra's Murmur3 token, bit for bit),
//!   the [`Ring`] of vnodes, hosts, data centers and racks
//!   ([`allocate_tokens`] balances a joining host's tokens), and the
//!   [`SimpleStrategy`] and [`NetworkTopologyStrategy`] replica placements
//!   with [`effective_ownership`];
//! - [`ConsistencyLevel`] arithmetic and the fail-fast availability check
//!   ([`Unavailable`]);
//! - liveness: the [`Gossiper`] (Cassandra's gossip: endpoint states, the
//!   SYN/ACK/ACK2 round, phi-accrual liveness, quarantine), sans-IO: pure
//!   functions of their inputs, the time and a caller-seeded RNG; and
//!   [`membership`], what a node announces through gossip and the members and
//!   ring read back from everyone's states;
//! - messaging: the [`Transport`] seam for internode messages, its TCP
//!   implementation [`TcpTransport`], and request/response [`Messaging`] on
//!   top;
//! - the [`ClusterCoordinator`] (writes, reads with digests and blocking read
//!   repair, scans, at every consistency level) over the object-safe
//!   [`Peers`] seam; the [`Replica`] serves its requests from the local
//!   storage engine;
//! - writes that must not be lost: hinted handoff that survives restarts
//!   ([`HintStore`], [`HintReplayer`]), logged batches kept on other nodes
//!   until applied ([`BatchlogStore`], [`BatchlogReplayer`]), and the
//!   [`BatchWriter`] that groups a node's local writes;
//! - [`blocking`]: the one way to run blocking work from async code, on
//!   tokio's blocking pool or, in a simulation's inline mode, on the caller;
//! - with the `sim` feature, `sim`: test doubles (a seeded in-memory network
//!   with drops, delays and partitions, a loopback cluster, in-memory hints)
//!   for deterministic tests.
//!
//! What it is not (yet): apart from the TCP transport, the timeouts of
//! messaging and the coordinator and the hint store's flush period (all on
//! tokio's clock, so a paused runtime drives them), no sockets and no clock
//! reads happen here (the node wires the pieces together and supplies the
//! wall clocks); the hint
//! and batchlog stores write their own files. Repair and streaming are still
//! to be built. The crate depends on `storage` only and never sees CQL text
//! or CQL types: the CQL layer maps its consistency codes onto
//! [`ConsistencyLevel`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Every type a public signature mentions can be named by the crate's users.
#![warn(unnameable_types)]

mod allocation;
mod batch_writer;
mod batchlog;
pub mod blocking;
/// Deliberate bugs the fault-injection checkers must catch; only in builds
/// with the `fault-injection` feature.
#[cfg(feature = "fault-injection")]
pub mod canary;
mod consistency;
mod coordinator;
mod dump;
mod gc_grace;
mod gossip;
mod hints;
pub mod membership;
mod net;
mod partitioner;
mod phi;
mod replica;
mod replication;
mod ring;

#[cfg(test)]
mod testing;

// Where data lives: tokens, the ring and replica placement.
pub use allocation::{DEFAULT_NUM_TOKENS, allocate_tokens, random_tokens};
pub use partitioner::{KeyTooLong, composite_key, murmur3_token};
pub use replication::{
    NetworkTopologyStrategy, ReplicationInfo, ReplicationStrategy, SimpleStrategy,
    effective_ownership, ranges_of,
};
/// A host's place in the ring: identity, address, data center and rack
/// (`ring::Endpoint` inside the crate; [`Endpoint`] is a network address).
pub use ring::Endpoint as RingEndpoint;
pub use ring::{HostId, Ring, RingError, TokenRange};

// Consistency levels and the availability check.
pub use consistency::{ConsistencyLevel, Unavailable};

// Who is alive: gossip and failure detection.
pub use gossip::codec::DecodeError as GossipDecodeError;
pub use gossip::state::MergeOutcome;
pub use gossip::{
    ApplicationState, ClockSkew, ClockStamp, DEFAULT_PHI_THRESHOLD, Detector, EndpointState,
    GossipConfig, GossipDigest, GossipDigestAck, GossipDigestAck2, GossipDigestSyn, GossipError,
    GossipEvent, GossipMessage, Gossiper, HeartBeatState, PhiAccrual, QUARANTINE_MS, SkewSample,
    Status, VersionedValue,
};
pub use phi::FailureDetectorConfig;

// Internode messaging: the transport seam, TCP, request/response.
pub use net::messaging::{Messaging, MessagingError, MessagingStats};
pub use net::tcp::{TcpConfig, TcpStats, TcpTransport};
pub use net::{BoxFuture, Endpoint, Envelope, Lane, Message, Transport, TransportError, Verb};

// The coordinator and the replica side it talks to.
pub use coordinator::{
    ClusterCoordinator, CoordinatorConfig, CoordinatorError, HintSink, LoggedBatch, PartitionData,
    PeerError, Peers, ReadLimits, ReadOutcome, Topology, WriteType, verbs,
};
pub use dump::{DumpError, PartitionSummary, dump};
pub use replica::{Replica, TimestampObserver};
// The requests and answers between coordinator and replica.
pub use coordinator::wire::{
    MutationRequest, RangeReadRequest, RangeReadResponse, ReadReply, ReadRequest, ReadResponse,
    ReplicaError, ReplicaErrorKind, WireError,
};

// Writes that must not be lost: the batch writer, the batchlog and hints.
pub use batch_writer::{BatchWriter, WriteError as BatchWriteError};
pub use batchlog::replay::ReplayPass as BatchlogReplayPass;
pub use batchlog::store::LoadError as BatchlogLoadError;
pub use batchlog::{
    BatchId, BatchRemoveRequest, BatchReplay, BatchStoreRequest, BatchlogCounters,
    BatchlogReplayConfig, BatchlogReplayer, BatchlogStore, BatchlogStoreConfig,
    StoreError as BatchlogStoreError,
};
pub use gc_grace::GcGrace;
pub use hints::{
    HintClock, HintCounters, HintFile, HintReplayer, HintStore, HintStoreConfig,
    ReplayConfig as HintReplayConfig, ReplayError as HintReplayError,
};

// Internals the integration tests drive directly (frames on the wire, the
// gossip state encodings); no promise to the crate's users.
#[doc(hidden)]
pub use gossip::state::encode_tokens;
#[doc(hidden)]
pub use net::{frame, kind};

/// Test doubles: a seeded in-memory network with drops, delays and
/// partitions ([`sim::SimNetwork`]), an in-memory cluster of replicas
/// ([`sim::LoopbackPeers`], [`sim::StaticTopology`]) and hints kept in memory
/// ([`sim::MemoryHints`]). Behind the `sim` feature, so a node's build never
/// contains them.
#[cfg(any(test, feature = "sim"))]
pub mod sim {
    pub use crate::coordinator::MemoryHints;
    pub use crate::coordinator::loopback::{LoopbackPeers, StaticTopology};
    pub use crate::net::sim::{Delay, SimConfig, SimNetwork, SimStats, SimTransport};
}
