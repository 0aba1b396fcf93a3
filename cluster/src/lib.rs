//! Basalt's cluster layer: where data lives and who is alive, as pure logic.
//!
//! What exists:
//! - [`partitioner`]: Cassandra's Murmur3 token, bit for bit;
//! - [`ring`]: the token ring of vnodes, hosts, data centers and racks;
//!   [`allocation`]: balanced token allocation for joining hosts;
//! - [`replication`]: SimpleStrategy and NetworkTopologyStrategy replica
//!   placement and effective ownership;
//! - [`consistency`]: consistency-level arithmetic and the fail-fast
//!   availability check;
//! - [`phi`]: the phi-accrual failure detector;
//! - [`membership`]: what a node announces through gossip, and the members
//!   and the ring read back from everyone's states;
//! - [`gossip`]: Cassandra's gossip (endpoint states, the SYN/ACK/ACK2 round,
//!   liveness, quarantine), sans-IO: pure functions of their inputs, the time
//!   and a caller-seeded RNG;
//! - [`net`]: the [`net::Transport`] seam for internode messages, its TCP
//!   implementation ([`net::tcp`]), request/response messaging on top
//!   ([`net::messaging`]) and [`net::sim`], a seeded in-memory network with
//!   drops, delays and partitions for deterministic tests;
//! - [`coordinator`]: the [`coordinator::ClusterCoordinator`] (writes, reads
//!   with digests and blocking read repair, scans, at every consistency
//!   level) over the object-safe [`coordinator::Peers`] seam, with its wire
//!   payloads; [`replica`]: the replica side, serving them from the local
//!   storage engine;
//! - [`hints`]: hinted handoff that survives restarts: the durable
//!   [`hints::HintStore`] and [`hints::HintReplayer`];
//! - [`batchlog`]: logged batches kept on other nodes until applied, and
//!   replayed by them if the coordinator dies.
//!
//! What it is not (yet): apart from `net`'s TCP transport and the timeouts of
//! messaging and the coordinator, no sockets and no clock reads happen here
//! (the node wires the pieces together and supplies the clocks); the hint
//! and batchlog stores write their own files. Repair and streaming are still
//! to be built. The crate depends on `storage` only and never sees CQL text or CQL types: the CQL
//! layer maps its consistency codes onto [`consistency::ConsistencyLevel`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod allocation;
pub mod batch_writer;
pub mod batchlog;
pub mod consistency;
pub mod coordinator;
pub mod gossip;
pub mod hints;
pub mod membership;
pub mod net;
pub mod partitioner;
pub mod phi;
pub mod replica;
pub mod replication;
pub mod ring;

#[cfg(test)]
mod testing;
