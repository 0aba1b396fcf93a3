//! Which connection a message travels on.
//!
//! Every peer gets one connection per [`Lane`] so that bulk traffic (large
//! mutations, read responses, later streaming) queued on the data lane never
//! sits in front of gossip: a node whose gossip is delayed looks dead to its
//! peers' failure detectors, which is how Cassandra 4 came to give gossip
//! its own "urgent" connection too.

use super::Verb;

/// An outbound connection class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Small, latency-critical control traffic: gossip.
    Urgent,
    /// Everything else.
    Data,
}

impl Lane {
    /// Both lanes, in a fixed order.
    pub const ALL: [Lane; 2] = [Lane::Urgent, Lane::Data];
}

/// The lane a verb travels on by default: gossip is urgent, the rest is data.
///
/// New latency-critical verbs (an echo/ping, schema pulls) add an arm here;
/// a transport can also be configured with another function (see
/// [`TcpConfig::lane_of`](super::tcp::TcpConfig::lane_of)).
pub(crate) fn default_lane(verb: Verb) -> Lane {
    match verb {
        Verb::GOSSIP_DIGEST_SYN | Verb::GOSSIP_DIGEST_ACK | Verb::GOSSIP_DIGEST_ACK2 => {
            Lane::Urgent
        }
        _ => Lane::Data,
    }
}
