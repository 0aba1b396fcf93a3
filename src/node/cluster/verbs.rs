//! The internode verbs the node adds to gossip's (1–3) and the replica
//! protocol's (10–12).

use cluster::Verb;

/// Asks a peer for its user schema; the reply is its encoded user schema.
pub(crate) const SCHEMA_PULL: Verb = Verb(20);
/// Pushes this node's user schema to a peer (one-way), which merges it.
pub(crate) const SCHEMA_PUSH: Verb = Verb(21);
/// Truncates a table on the receiving node; the reply is empty on success,
/// or an error text.
pub(crate) const TRUNCATE: Verb = Verb(22);
