//! Internode messaging: the [`Transport`] seam every cluster service sends
//! through, its TCP implementation, request/response on top, and [`sim`], an
//! in-memory network for deterministic tests.
//!
//! Services (gossip, and later reads, writes, hints, streaming) never open
//! sockets themselves: they hand a [`Message`] (verb, request id, bytes) to a
//! [`Transport`], usually through [`messaging::Messaging`] (request/response
//! by id, timeouts, verb handlers). The node plugs in [`tcp::TcpTransport`]
//! (checksummed [`frame`]s on the storage port, one connection per peer and
//! [`Lane`]); tests plug in [`sim::SimNetwork`], which can drop, delay and
//! partition under a seed. [`kind`] is the convention that tells requests,
//! replies and one-way messages apart.

pub mod frame;
pub mod kind;
pub(crate) mod lane;
pub(crate) mod messaging;
#[cfg(any(test, feature = "sim"))]
pub(crate) mod sim;
pub(crate) mod tcp;
pub(crate) mod transport;

pub(crate) use kind::MessageKind;
pub use lane::Lane;
pub use transport::{BoxFuture, Envelope, Message, Transport, TransportError, Verb};

/// A node's internode address (Cassandra's `InetAddressAndPort`): how peers
/// name each other in gossip and messaging.
pub type Endpoint = std::net::SocketAddr;
