//! Gossip: how nodes learn each other's state and liveness, Cassandra's
//! protocol reproduced sans-IO.
//!
//! - [`state`]: the data model (heartbeat, versioned application states) and
//!   the merge rules;
//! - [`exchange`]: the [`Gossiper`] and its SYN → ACK → ACK2 round;
//! - [`liveness`]: the phi-accrual failure detector and UP/DOWN events;
//! - [`codec`]: the messages' byte form, for any [`crate::net::Transport`];
//! - [`skew`]: peers' clock offsets, from the wall clock messages carry.

pub(crate) mod codec;
pub(crate) mod exchange;
pub(crate) mod liveness;
pub(crate) mod skew;
pub(crate) mod state;

pub use exchange::{
    GossipConfig, GossipDigest, GossipDigestAck, GossipDigestAck2, GossipDigestSyn, GossipError,
    GossipMessage, Gossiper, QUARANTINE_MS,
};
pub use liveness::{DEFAULT_PHI_THRESHOLD, Detector, GossipEvent, PhiAccrual};
pub use skew::{ClockSkew, ClockStamp, SkewSample};
pub use state::{ApplicationState, EndpointState, HeartBeatState, Status, VersionedValue};
