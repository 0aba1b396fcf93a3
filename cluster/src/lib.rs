//! Basalt's cluster layer: where data lives and who is alive, as pure logic.
//!
//! What exists: Cassandra's Murmur3 token, bit for bit ([`partitioner`]); the
//! token ring of vnodes, hosts, data centers and racks ([`ring`]); balanced
//! token allocation for joining hosts ([`allocation`]); SimpleStrategy and
//! NetworkTopologyStrategy replica placement and effective ownership
//! ([`replication`]); consistency-level arithmetic and the fail-fast
//! availability check ([`consistency`]); and the phi-accrual failure detector
//! ([`phi`]).
//!
//! What it is not (yet): no networking, no clock reads and no I/O happen
//! here; gossip, internode messaging, the coordinator, hints, repair and
//! streaming are still to be built on top. The crate depends on `storage`
//! only and never sees CQL text or CQL types: the CQL layer maps its
//! consistency codes onto [`consistency::ConsistencyLevel`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod allocation;
pub mod consistency;
pub mod partitioner;
pub mod phi;
pub mod replication;
pub mod ring;

#[cfg(test)]
mod testing;
