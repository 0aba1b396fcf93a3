//! Basalt's cluster layer: partitioner, token ring, gossip, messaging, the
//! coordinator, hints, repair and streaming.
//!
//! Only the partitioner exists so far ([`partitioner`]: Cassandra's Murmur3
//! token, bit for bit); the ring, gossip, messaging and the coordinator are
//! built by the cluster issue. The crate depends on `storage` only and never
//! sees CQL text or CQL types.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod gossip;
pub mod net;
pub mod partitioner;
