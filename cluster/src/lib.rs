//! Basalt's cluster layer: partitioner, token ring, gossip, messaging, the
//! coordinator, hints, repair and streaming.
//!
//! - [`partitioner`]: Cassandra's Murmur3 token, bit for bit;
//! - [`gossip`]: Cassandra's gossip (endpoint states, the SYN/ACK/ACK2 round,
//!   phi-accrual liveness, quarantine), sans-IO: pure functions of their
//!   inputs, the time and a caller-seeded RNG;
//! - [`net`]: the [`net::Transport`] seam for internode messages and
//!   [`net::sim`], a seeded in-memory network with drops, delays and
//!   partitions for deterministic tests.
//!
//! The ring, the coordinator, hints, repair and streaming are built by the
//! cluster issue. The crate depends on `storage` only and never sees CQL text
//! or CQL types.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod gossip;
pub mod net;
pub mod partitioner;
