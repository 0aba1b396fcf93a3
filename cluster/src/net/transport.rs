//! The [`Transport`] seam: send a message to a peer, receive messages.
//!
//! It is object-safe (methods return boxed futures rather than using `async
//! fn`) so a node can hold an `Arc<dyn Transport>` and swap a TCP transport
//! for the sim network without generics spreading through every service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::Endpoint;

/// A boxed, sendable future: what [`Transport`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a message asks the receiver to do, Cassandra's `Verb`.
///
/// An open number rather than an enum so services added later (mutations,
/// reads, hints) define their own verbs without touching this file. The
/// numbers are Basalt's own; they are not Cassandra's wire ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Verb(pub u16);

impl Verb {
    /// First message of a gossip round: the initiator's digests.
    pub const GOSSIP_DIGEST_SYN: Verb = Verb(1);
    /// Reply to a SYN: digests wanted and states the initiator lacks.
    pub const GOSSIP_DIGEST_ACK: Verb = Verb(2);
    /// Reply to an ACK (the states the receiver asked for); a node shutting
    /// down also pushes its final state to its peers with it.
    pub const GOSSIP_DIGEST_ACK2: Verb = Verb(3);
}

/// One message on the wire: a verb, a request id to match replies, and the
/// verb's serialized body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What the receiver should do with the payload.
    pub verb: Verb,
    /// Chosen by the sender; a reply carries the id of its request.
    pub id: u64,
    /// The verb-specific body.
    pub payload: Vec<u8>,
}

/// A received message with its sender and receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The sending node.
    pub from: Endpoint,
    /// The receiving node.
    pub to: Endpoint,
    /// The message itself.
    pub message: Message,
}

/// Why a message could not be handed to the network.
///
/// A message that is accepted may still be lost (the network gives no
/// delivery guarantee); these are only the failures the sender can see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No node with this address is known to the transport.
    #[error("unknown peer {0}")]
    UnknownPeer(Endpoint),
    /// The queue towards this peer is full; the caller should back off
    /// (Cassandra caps per-endpoint queues the same way).
    #[error("queue to {0} is full")]
    QueueFull(Endpoint),
    /// The transport has been shut down.
    #[error("transport closed")]
    Closed,
}

/// Sends messages to peers and receives messages addressed to this node.
pub trait Transport: Send + Sync + fmt::Debug {
    /// This node's own address.
    fn local(&self) -> Endpoint;

    /// Queues `message` for `to`. Success means accepted, not delivered.
    fn send(&self, to: Endpoint, message: Message) -> BoxFuture<'_, Result<(), TransportError>>;

    /// The next message addressed to this node, or `None` once the transport
    /// is closed and drained.
    fn recv(&self) -> BoxFuture<'_, Option<Envelope>>;
}
