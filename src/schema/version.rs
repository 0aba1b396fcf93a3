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

use md5::{Digest, Md5};

use super::Schema;
use super::codec;

/// A name-based uuid (RFC 4122 version 3) of `bytes`, as Java's
/// `UUID.nameUUIDFromBytes` computes it.
pub(crate) fn name_uuid(bytes: &[u8]) -> [u8; 16] {
    let mut uuid: [u8; 16] = Md5::digest(bytes).into();
    uuid[6] = (uuid[6] & 0x0F) | 0x30;
    uuid[8] = (uuid[8] & 0x3F) | 0x80;
    uuid
}

/// The version of `schema`.
pub(crate) fn schema_version(schema: &Schema) -> [u8; 16] {
    name_uuid(&codec::encode(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_uuids_match_javas_name_uuid_from_bytes() {
        // UUID.nameUUIDFromBytes(new byte[0]) in Java.
        assert_eq!(
            name_uuid(b""),
            [
                0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0x32, 0x04, 0xa9, 0x80, 0x09, 0x98, 0xec, 0xf8,
                0x42, 0x7e
            ]
        );
        assert_eq!(cql_lite::value::uuid_version(&name_uuid(b"ks")), 3);
    }
}
