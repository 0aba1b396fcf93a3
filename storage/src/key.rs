//! Identifiers and keys: how storage names tables and orders partitions and rows.
//!
//! Storage orders partitions by `(token, partition key bytes)` and rows by the
//! memcmp order of an already byte-comparable clustering key. It never computes a
//! token and never interprets key bytes: the caller (the partitioner in `cluster`,
//! the CQL type encoders in `cql-lite`) owns both.

use bytes::Bytes;
use std::cmp::Ordering;
use std::fmt;

/// A table's identity (Cassandra's table id is a UUID; storage keeps its 128 bits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(pub u128);

impl fmt::Debug for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableId({self})")
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A column's identity inside its table. Storage sorts cells by it and nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnId(pub u32);

/// A partitioner token. Storage orders and range-scans by it but never computes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub i64);

impl Token {
    /// The smallest token; sorts before every other.
    pub const MIN: Token = Token(i64::MIN);
    /// The largest token.
    pub const MAX: Token = Token(i64::MAX);
}

/// A partition key with its token: the order of partitions everywhere in storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecoratedKey {
    /// The caller-computed token.
    pub token: Token,
    /// The serialized partition key, compared bytewise when tokens tie.
    pub key: Bytes,
}

impl DecoratedKey {
    /// Builds a key from a token and the key bytes.
    pub fn new(token: Token, key: impl Into<Bytes>) -> Self {
        DecoratedKey {
            token: Token(token.0),
            key: key.into(),
        }
    }
}

impl Ord for DecoratedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.token
            .cmp(&other.token)
            .then_with(|| self.key.as_ref().cmp(other.key.as_ref()))
    }
}

impl PartialOrd for DecoratedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A clustering key (or a prefix of one, in bounds), already byte-comparable.
///
/// The caller guarantees that the encoding is order-preserving and prefix-free
/// per component, so that memcmp gives clustering order and a prefix of
/// components is a byte prefix of every key that extends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusteringKey(pub Bytes);

impl ClusteringKey {
    /// The empty key: the only row of a table without clustering columns.
    pub const EMPTY: ClusteringKey = ClusteringKey(Bytes::new());

    /// Builds a key from its encoded bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        ClusteringKey(bytes.into())
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One end of a clustering range.
///
/// Bounds have Cassandra's prefix semantics: a bound on a prefix `P` stands for
/// every key that extends `P`. So `Inclusive(P)` as an end includes all keys
/// starting with `P`, and `Exclusive(P)` as a start excludes them all.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bound {
    /// Includes the prefix and everything that extends it.
    Inclusive(ClusteringKey),
    /// Excludes the prefix and everything that extends it.
    Exclusive(ClusteringKey),
    /// No limit on this side.
    Unbounded,
}

/// A range of clustering keys: a slice for reads, the extent of a range tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusteringRange {
    /// Lower end.
    pub start: Bound,
    /// Upper end.
    pub end: Bound,
}

impl ClusteringRange {
    /// The range of every row.
    pub const ALL: ClusteringRange = ClusteringRange {
        start: Bound::Unbounded,
        end: Bound::Unbounded,
    };

    /// Builds a range.
    pub fn new(start: Bound, end: Bound) -> Self {
        ClusteringRange { start, end }
    }

    /// The rows whose key starts with `prefix` (all of them when it is empty).
    pub fn prefix(prefix: ClusteringKey) -> Self {
        ClusteringRange {
            start: Bound::Inclusive(prefix.clone()),
            end: Bound::Inclusive(prefix),
        }
    }

    /// Whether `key` lies at or after the start bound.
    pub fn admits_after_start(&self, key: &[u8]) -> bool {
        match &self.start {
            Bound::Unbounded => true,
            Bound::Inclusive(p) => key >= p.as_bytes(),
            Bound::Exclusive(p) => key > p.as_bytes() && !key.starts_with(p.as_bytes()),
        }
    }

    /// Whether `key` lies at or before the end bound.
    pub fn admits_before_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Unbounded => true,
            Bound::Inclusive(p) => key <= p.as_bytes() || key.starts_with(p.as_bytes()),
            Bound::Exclusive(p) => key < p.as_bytes(),
        }
    }

    /// Whether the range contains `key`.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.admits_after_start(key) && self.admits_before_end(key)
    }

    /// Whether no key can lie inside the range (start after end).
    pub fn is_empty(&self) -> bool {
        let (s, s_incl) = match &self.start {
            Bound::Unbounded => return false,
            Bound::Inclusive(p) => (p.as_bytes(), true),
            Bound::Exclusive(p) => (p.as_bytes(), false),
        };
        match &self.end {
            Bound::Unbounded => false,
            // An inclusive end admits the prefix's extensions, so it is empty only
            // when the start lies beyond all of them.
            Bound::Inclusive(e) => {
                let e = e.as_bytes();
                if s.starts_with(e) {
                    // The start is an extension of the end prefix (or equal).
                    !s_incl && s == e
                } else {
                    s > e
                }
            }
            Bound::Exclusive(e) => {
                let e = e.as_bytes();
                if s_incl {
                    s >= e
                } else {
                    // Keys after all extensions of `s` and below `e`.
                    s >= e || e.starts_with(s)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(b: &[u8]) -> ClusteringKey {
        ClusteringKey::new(b.to_vec())
    }

    #[test]
    fn tokens_order_before_key_bytes() {
        let a = DecoratedKey::new(Token(-5), &b"zz"[..]);
        let b = DecoratedKey::new(Token(3), &b"aa"[..]);
        let c = DecoratedKey::new(Token(3), &b"ab"[..]);
        assert!(a < b && b < c);
    }

    #[test]
    fn prefix_bounds_follow_cassandra_semantics() {
        let r = ClusteringRange::new(Bound::Exclusive(ck(b"a")), Bound::Inclusive(ck(b"c")));
        assert!(!r.contains(b"a"));
        assert!(
            !r.contains(b"a\x01"),
            "an exclusive start excludes the prefix's extensions"
        );
        assert!(r.contains(b"b"));
        assert!(r.contains(b"c"));
        assert!(
            r.contains(b"c\x05"),
            "an inclusive end includes the prefix's extensions"
        );
        assert!(!r.contains(b"d"));
        let p = ClusteringRange::prefix(ck(b"k"));
        assert!(p.contains(b"k") && p.contains(b"k\xff") && !p.contains(b"l") && !p.contains(b"j"));
    }

    #[test]
    fn empty_ranges_are_detected() {
        let e = |s, t| ClusteringRange::new(s, t).is_empty();
        assert!(e(Bound::Inclusive(ck(b"b")), Bound::Inclusive(ck(b"a"))));
        assert!(!e(Bound::Inclusive(ck(b"a")), Bound::Inclusive(ck(b"a"))));
        assert!(e(Bound::Exclusive(ck(b"a")), Bound::Inclusive(ck(b"a"))));
        assert!(!e(
            Bound::Inclusive(ck(b"a\x01")),
            Bound::Inclusive(ck(b"a"))
        ));
        assert!(e(Bound::Inclusive(ck(b"a")), Bound::Exclusive(ck(b"a"))));
        assert!(e(
            Bound::Exclusive(ck(b"a")),
            Bound::Exclusive(ck(b"a\x01"))
        ));
        assert!(!e(Bound::Exclusive(ck(b"a")), Bound::Exclusive(ck(b"b"))));
    }
}
