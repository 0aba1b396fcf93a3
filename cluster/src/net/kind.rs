//! What a message is for — a request awaiting a reply, a reply, or a one-way
//! notice — read off its verb and id.
//!
//! [`Message`] carries only a verb, an id and bytes, so the kind is a
//! convention shared by [`Messaging`](super::messaging::Messaging) (which
//! builds messages) and the TCP frame (which carries the kind in its flags):
//! replies travel under the two reserved reply verbs below, and id 0 means
//! no reply is wanted. Like Cassandra's `REQUEST_RSP`/`FAILURE_RSP`, one pair
//! of reply verbs serves every request verb.

use super::{Message, Verb};

impl Verb {
    /// A successful reply; its id is the id of the request it answers.
    pub const RESPONSE: Verb = Verb(u16::MAX);
    /// A failed reply: the payload is the remote error, as UTF-8 text.
    pub const FAILURE: Verb = Verb(u16::MAX - 1);

    /// Whether this is one of the reserved reply verbs.
    pub fn is_reply(self) -> bool {
        self == Verb::RESPONSE || self == Verb::FAILURE
    }
}

/// The id of a message that wants no reply.
pub const ONE_WAY_ID: u64 = 0;

/// What a message expects of its receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Wants a reply carrying the same id.
    Request,
    /// Answers the request with the same id.
    Response,
    /// Wants no reply.
    OneWay,
}

impl MessageKind {
    /// The kind of `message` under the convention above.
    pub fn of(message: &Message) -> MessageKind {
        if message.verb.is_reply() {
            MessageKind::Response
        } else if message.id == ONE_WAY_ID {
            MessageKind::OneWay
        } else {
            MessageKind::Request
        }
    }
}
