//! Clustering restrictions as storage slices: byte ranges over the encoded
//! clustering keys.
//!
//! Storage compares clustering keys bytewise, and a bound that is a prefix of some
//! keys follows Cassandra's prefix semantics (an inclusive end admits the prefix's
//! extensions, an exclusive start excludes them). A range on a DESC column flips:
//! its encoding is the inverse of the ascending one, so `c > 5` ends before the
//! encoded 5. A tuple relation `(c1, c2) > (1, 2)` is, in value order, the union of
//! `c1 > 1` and `c1 = 1 AND c2 > 2`; each disjunct is one byte range, which also
//! handles mixed ASC/DESC tuples.

use std::cmp::Ordering;

use cql_lite::ErrorResponse;
use cql_lite::byte_comparable::{ClusteringLayout, Order};
use cql_lite::value::CqlValue;
use storage::{Bound, ClusteringKey, ClusteringRange};

use crate::cql::error::invalid;

/// The clustering prefixes slices start from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prefixes {
    /// No clustering column is fixed: slices start from every key.
    Any,
    /// These prefixes, all as long; none when an `IN` is empty, and then
    /// nothing can match.
    Only(Vec<Vec<CqlValue>>),
}

/// Clustering prefixes and range ends with one request's values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SliceBounds {
    /// The fixed leading columns.
    pub(crate) prefixes: Prefixes,
    /// The lower end: values after the prefix, and whether it is inclusive.
    pub(crate) lower: Option<(Vec<CqlValue>, bool)>,
    /// The upper end.
    pub(crate) upper: Option<(Vec<CqlValue>, bool)>,
}

/// Which side of a byte string a position is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// Just before the string (and so before its extensions).
    Before,
    /// Just after the string and every extension of it.
    After,
}

/// A point in clustering order that range ends can be compared at.
#[derive(Debug, Clone, Copy)]
enum Pos<'a> {
    /// Before every key.
    Least,
    /// Next to a byte string.
    At(&'a [u8], Side),
    /// After every key.
    Greatest,
}

fn start_pos(bound: &Bound) -> Pos<'_> {
    match bound {
        Bound::Unbounded => Pos::Least,
        Bound::Inclusive(p) => Pos::At(p.as_bytes(), Side::Before),
        Bound::Exclusive(p) => Pos::At(p.as_bytes(), Side::After),
    }
}

fn end_pos(bound: &Bound) -> Pos<'_> {
    match bound {
        Bound::Unbounded => Pos::Greatest,
        Bound::Inclusive(p) => Pos::At(p.as_bytes(), Side::After),
        Bound::Exclusive(p) => Pos::At(p.as_bytes(), Side::Before),
    }
}

fn cmp_pos(a: Pos<'_>, b: Pos<'_>) -> Ordering {
    match (a, b) {
        (Pos::Least, Pos::Least) | (Pos::Greatest, Pos::Greatest) => Ordering::Equal,
        (Pos::Least, _) | (_, Pos::Greatest) => Ordering::Less,
        (_, Pos::Least) | (Pos::Greatest, _) => Ordering::Greater,
        (Pos::At(x, sx), Pos::At(y, sy)) => {
            if x == y {
                sx.cmp(&sy)
            } else if y.starts_with(x) {
                // x is a proper prefix of y: before x is before y, after x is after y.
                if sx == Side::Before {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            } else if x.starts_with(y) {
                if sy == Side::Before {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            } else {
                x.cmp(y)
            }
        }
    }
}

/// Whether a range admits no key.
pub(crate) fn is_empty(range: &ClusteringRange) -> bool {
    cmp_pos(start_pos(&range.start), end_pos(&range.end)) != Ordering::Less
}

/// The keys in both ranges, `None` when there are none.
pub(crate) fn intersect(a: &ClusteringRange, b: &ClusteringRange) -> Option<ClusteringRange> {
    let start = if cmp_pos(start_pos(&a.start), start_pos(&b.start)) == Ordering::Less {
        b.start.clone()
    } else {
        a.start.clone()
    };
    let end = if cmp_pos(end_pos(&a.end), end_pos(&b.end)) == Ordering::Greater {
        b.end.clone()
    } else {
        a.end.clone()
    };
    let range = ClusteringRange::new(start, end);
    (!is_empty(&range)).then_some(range)
}

/// Sorts ranges by start and drops duplicates (an IN list naming a value twice).
fn normalize(mut ranges: Vec<ClusteringRange>) -> Vec<ClusteringRange> {
    ranges.sort_by(|a, b| {
        cmp_pos(start_pos(&a.start), start_pos(&b.start))
            .then_with(|| cmp_pos(end_pos(&a.end), end_pos(&b.end)))
    });
    ranges.dedup();
    ranges
}

/// The slices that remain after the row `after` in reading order, for resuming
/// inside a partition.
pub(crate) fn resume_after(
    slices: &[ClusteringRange],
    after: &ClusteringKey,
    reversed: bool,
) -> Vec<ClusteringRange> {
    let rest = if reversed {
        ClusteringRange::new(Bound::Unbounded, Bound::Exclusive(after.clone()))
    } else {
        ClusteringRange::new(Bound::Exclusive(after.clone()), Bound::Unbounded)
    };
    slices.iter().filter_map(|s| intersect(s, &rest)).collect()
}

/// Encodes a clustering prefix.
struct Encoder<'a> {
    layout: &'a ClusteringLayout,
}

impl Encoder<'_> {
    fn key(&self, values: &[CqlValue]) -> Result<ClusteringKey, ErrorResponse> {
        self.layout
            .encode_prefix(values)
            .map(ClusteringKey::new)
            .map_err(|e| invalid(format!("Invalid clustering value: {e}")))
    }

    fn order(&self, column: usize) -> Result<Order, ErrorResponse> {
        self.layout
            .columns()
            .get(column)
            .map(|(_, o)| *o)
            .ok_or_else(|| invalid("Too many values for the clustering columns"))
    }

    /// The keys that start with `prefix` (everything for an empty prefix).
    fn prefix_range(&self, prefix: &[CqlValue]) -> Result<ClusteringRange, ErrorResponse> {
        if prefix.is_empty() {
            return Ok(ClusteringRange::ALL);
        }
        Ok(ClusteringRange::prefix(self.key(prefix)?))
    }

    /// Keys after `prefix` whose following columns compare with `bound` as asked,
    /// in value order: the union of one range per component.
    fn lexicographic(
        &self,
        prefix: &[CqlValue],
        bound: &[CqlValue],
        greater: bool,
        inclusive: bool,
    ) -> Result<Vec<ClusteringRange>, ErrorResponse> {
        let mut ranges = Vec::with_capacity(bound.len());
        let mut fixed = prefix.to_vec();
        for (j, v) in bound.iter().enumerate() {
            let strict = j + 1 < bound.len() || !inclusive;
            let column = fixed.len();
            let q = self.key(&fixed)?;
            fixed.push(v.clone());
            let at = self.key(&fixed)?;
            let bytes_greater = greater != (self.order(column)? == Order::Desc);
            let outer = |k: ClusteringKey| {
                if k.as_bytes().is_empty() {
                    Bound::Unbounded
                } else {
                    Bound::Inclusive(k)
                }
            };
            let inner = if strict {
                Bound::Exclusive(at)
            } else {
                Bound::Inclusive(at)
            };
            ranges.push(if bytes_greater {
                ClusteringRange::new(inner, outer(q))
            } else {
                ClusteringRange::new(outer(q), inner)
            });
        }
        Ok(ranges)
    }
}

/// The storage slices of bound clustering restrictions: sorted, disjoint, possibly
/// empty (nothing can match).
pub(crate) fn build(
    layout: &ClusteringLayout,
    bound: &SliceBounds,
) -> Result<Vec<ClusteringRange>, ErrorResponse> {
    let encoder = Encoder { layout };
    let prefixes: &[Vec<CqlValue>] = match &bound.prefixes {
        // The empty prefix starts every key.
        Prefixes::Any => &[Vec::new()],
        Prefixes::Only(prefixes) => prefixes,
    };
    let mut out = Vec::new();
    for prefix in prefixes {
        let base = encoder.prefix_range(prefix)?;
        let side = |b: &Option<(Vec<CqlValue>, bool)>, greater| match b {
            None => Ok(vec![ClusteringRange::ALL]),
            Some((values, inclusive)) => encoder.lexicographic(prefix, values, greater, *inclusive),
        };
        let lower = side(&bound.lower, true)?;
        let upper = side(&bound.upper, false)?;
        for l in &lower {
            let Some(with_lower) = intersect(&base, l) else {
                continue;
            };
            for u in &upper {
                out.extend(intersect(&with_lower, u));
            }
        }
    }
    Ok(normalize(out))
}
