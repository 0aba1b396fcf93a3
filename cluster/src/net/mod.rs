//! Internode messaging: the [`Transport`] seam every cluster service sends
//! through, and [`sim`], an in-memory network for deterministic tests.
//!
//! Services (gossip, and later reads, writes, hints, streaming) never open
//! sockets themselves: they hand a [`Message`] (verb, request id, bytes) to a
//! [`Transport`]. The node plugs in a TCP transport; tests plug in
//! [`sim::SimNetwork`], which can drop, delay and partition under a seed.

pub mod frame;
pub mod kind;
pub mod lane;
pub mod sim;
pub mod transport;

pub use kind::MessageKind;
pub use lane::Lane;
pub use transport::{BoxFuture, Envelope, Message, Transport, TransportError, Verb};

/// A node's internode address (Cassandra's `InetAddressAndPort`): how peers
/// name each other in gossip and messaging.
pub type Endpoint = std::net::SocketAddr;
