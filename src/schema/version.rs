//! The schema version: a deterministic uuid that nodes compare to agree on schema.
//!
//! Like Cassandra, it is a name-based (version 3, MD5) uuid of the schema's
//! content; here the content is the canonical encoding of the user keyspaces
//! (`codec`), so identical schemas have identical versions on every node and
//! across restarts, and any change to a keyspace, table, column, dropped column
//! or option changes it. System keyspaces are the same on every node and are
//! left out.
//!
//! The timestamps and tombstones a merge needs are content too: two nodes
//! whose schemas show the same tables but disagree on when something was
//! altered, or on a tombstone, have not converged yet, and must keep
//! exchanging schemas until their versions agree. Since `merge` is a join and
//! this is a pure function of the merged value, nodes that have merged the
//! same changes, in any order, report the same version. DDL that changes
//! nothing (an `IF [NOT] EXISTS` no-op, an ALTER to the current options) sets
//! no timestamp, so it leaves the version alone.

use super::Schema;
use super::codec;
use crate::uuids::name_uuid;

/// The version of `schema`.
pub(crate) fn schema_version(schema: &Schema) -> [u8; 16] {
    name_uuid(&codec::encode(schema))
}
