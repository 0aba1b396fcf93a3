//! The internode verbs of the coordinator's replica protocol.
//!
//! Each is a request; its response travels back as the transport's reply to
//! the request's id, with the payload the `wire` module defines for it. Gossip
//! owns verbs 1–3; the replica protocol starts at 10 so the two never collide.

use crate::net::Verb;

/// Apply one mutation durably, then acknowledge ([`super::wire::MutationRequest`]).
pub const MUTATION: Verb = Verb(10);
/// Read one partition as data or as a digest ([`super::wire::ReadRequest`]).
pub const READ: Verb = Verb(11);
/// Read the partitions of a token range ([`super::wire::RangeReadRequest`]).
pub const RANGE_READ: Verb = Verb(12);
/// Keep a logged batch until told to forget it
/// ([`crate::batchlog::BatchStoreRequest`]); answered like MUTATION.
pub const BATCH_STORE: Verb = Verb(13);
/// Forget a logged batch that was applied
/// ([`crate::batchlog::BatchRemoveRequest`]); answered like MUTATION.
pub const BATCH_REMOVE: Verb = Verb(14);
