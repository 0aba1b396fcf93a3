//! The rows of one memtable partition.
//!
//! Most partitions hold one or a few rows, and a `BTreeMap` leaf node costs
//! about 2 KiB whatever it holds, so small partitions keep a sorted `Vec`
//! (grown a row at a time) and switch to a `BTreeMap` once they grow, where
//! out-of-order inserts stay logarithmic.

use super::{ROW_ENTRY_OVERHEAD, row_heap_size};
use crate::cell::Row;
use crate::key::ClusteringKey;
use crate::reconcile::merge_rows;
use std::collections::BTreeMap;
use std::ops::Bound as RBound;

/// Past this many rows a partition moves to a `BTreeMap`.
const SMALL_MAX: usize = 16;

/// A partition's rows, sorted by clustering key.
#[derive(Debug)]
pub(crate) enum Rows {
    Small(Vec<Row>),
    Large(BTreeMap<ClusteringKey, Row>),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Small(Vec::new())
    }
}

/// Accounted bytes of a newly stored row.
fn new_row_size(row: &Row) -> i64 {
    (ROW_ENTRY_OVERHEAD + row_heap_size(row) + row.clustering.0.len()) as i64
}

/// Replaces `slot` by its merge with `row`; returns the change in accounted bytes.
fn merge_into(slot: &mut Row, row: Row) -> i64 {
    let old = std::mem::take(slot);
    let before = row_heap_size(&old) as i64;
    *slot = merge_rows(old, row);
    row_heap_size(slot) as i64 - before
}

impl Rows {
    /// Rows already sorted by clustering key without duplicates.
    pub(crate) fn from_sorted(rows: Vec<Row>) -> Rows {
        if rows.len() <= SMALL_MAX {
            Rows::Small(rows)
        } else {
            Rows::Large(
                rows.into_iter()
                    .map(|r| (r.clustering.clone(), r))
                    .collect(),
            )
        }
    }

    /// How many rows there are.
    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::Small(v) => v.len(),
            Rows::Large(m) => m.len(),
        }
    }

    /// The rows in clustering order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = &Row> + '_> {
        match self {
            Rows::Small(v) => Box::new(v.iter()),
            Rows::Large(m) => Box::new(m.values()),
        }
    }

    /// Accounted bytes of all rows.
    pub(crate) fn accounted(&self) -> i64 {
        self.iter().map(new_row_size).sum()
    }

    /// Merges `row` in; returns the change in accounted bytes.
    pub(crate) fn apply(&mut self, row: Row) -> i64 {
        match self {
            Rows::Small(v) => {
                match v.binary_search_by(|r| r.clustering.cmp(&row.clustering)) {
                    Ok(i) => return merge_into(&mut v[i], row),
                    Err(i) if v.len() < SMALL_MAX => {
                        if v.len() == v.capacity() {
                            // Grow a row at a time: most partitions stay at one row.
                            v.reserve_exact(v.len() / 2 + 1);
                        }
                        let size = new_row_size(&row);
                        v.insert(i, row);
                        return size;
                    }
                    Err(_) => {}
                }
                let map = std::mem::take(v)
                    .into_iter()
                    .map(|r| (r.clustering.clone(), r))
                    .collect();
                *self = Rows::Large(map);
                self.apply(row)
            }
            Rows::Large(map) => {
                use std::collections::btree_map::Entry;
                match map.entry(row.clustering.clone()) {
                    Entry::Vacant(e) => {
                        let size = new_row_size(&row);
                        e.insert(row);
                        size
                    }
                    Entry::Occupied(mut e) => merge_into(e.get_mut(), row),
                }
            }
        }
    }

    /// Clones up to `want` rows within the bounds that `keep` accepts, ascending
    /// or descending, into `sink`; returns how many and the last key copied.
    pub(crate) fn copy_range(
        &self,
        lo: RBound<&ClusteringKey>,
        hi: RBound<&ClusteringKey>,
        reversed: bool,
        want: usize,
        keep: &dyn Fn(&[u8]) -> bool,
        sink: &mut dyn FnMut(Row),
    ) -> (usize, Option<ClusteringKey>) {
        let mut take = |it: &mut dyn Iterator<Item = &Row>| {
            let mut n = 0;
            let mut last = None;
            for r in it.filter(|r| keep(r.clustering.as_bytes())).take(want) {
                n += 1;
                last = Some(r);
                sink(r.clone());
            }
            (n, last.map(|r| r.clustering.clone()))
        };
        match self {
            Rows::Small(v) => {
                let start = match lo {
                    RBound::Unbounded => 0,
                    RBound::Included(k) => v.partition_point(|r| r.clustering < *k),
                    RBound::Excluded(k) => v.partition_point(|r| r.clustering <= *k),
                };
                let end = match hi {
                    RBound::Unbounded => v.len(),
                    RBound::Included(k) => v.partition_point(|r| r.clustering <= *k),
                    RBound::Excluded(k) => v.partition_point(|r| r.clustering < *k),
                };
                let s = v.get(start..end.max(start)).unwrap_or(&[]);
                if reversed {
                    take(&mut s.iter().rev())
                } else {
                    take(&mut s.iter())
                }
            }
            Rows::Large(map) => {
                let range = map.range::<ClusteringKey, _>((lo, hi)).map(|(_, r)| r);
                if reversed {
                    take(&mut range.rev())
                } else {
                    take(&mut range.into_iter())
                }
            }
        }
    }
}

/// A partition's rows as a reader sees them: decoded, or still encoded.
#[derive(Clone, Copy)]
pub(crate) enum RowsRef<'a> {
    Decoded(&'a Rows),
    /// The rows part of an encoded partition.
    Encoded(&'a [u8]),
}

impl RowsRef<'_> {
    /// See [`Rows::copy_range`].
    pub(crate) fn copy_range(
        self,
        lo: RBound<&ClusteringKey>,
        hi: RBound<&ClusteringKey>,
        reversed: bool,
        want: usize,
        keep: &dyn Fn(&[u8]) -> bool,
        sink: &mut dyn FnMut(Row),
    ) -> (usize, Option<ClusteringKey>) {
        match self {
            RowsRef::Decoded(rows) => rows.copy_range(lo, hi, reversed, want, keep, sink),
            RowsRef::Encoded(buf) => {
                super::encoded::copy_range(buf, lo, hi, reversed, want, keep, sink)
            }
        }
    }
}
