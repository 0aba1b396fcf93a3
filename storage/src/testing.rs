//! Test support shared by the crate's unit tests: a reference model of what
//! reads must return, so memtable, read-path and engine tests check against one
//! definition instead of each keeping its own.

pub(crate) mod model;

use crate::key::{Bound, ClusteringRange, ColumnId};
use crate::mutation::arb;
use crate::read::ColumnFilter;
use proptest::prelude::*;

/// Read slices: everything, one random range, or two disjoint ranges with
/// every kind of bound.
pub(crate) fn slices() -> impl Strategy<Value = Vec<ClusteringRange>> {
    prop_oneof![
        Just(vec![ClusteringRange::ALL]),
        (arb::bound(), arb::bound()).prop_map(|(s, e)| vec![ClusteringRange::new(s, e)]),
        proptest::collection::vec(arb::clustering(), 4).prop_map(|mut k| {
            k.sort();
            vec![
                ClusteringRange::new(
                    Bound::Inclusive(k[0].clone()),
                    Bound::Exclusive(k[1].clone()),
                ),
                ClusteringRange::new(
                    Bound::Exclusive(k[2].clone()),
                    Bound::Inclusive(k[3].clone()),
                ),
            ]
        }),
    ]
}

/// Column filters over the columns `arb` writes.
pub(crate) fn columns() -> impl Strategy<Value = ColumnFilter> {
    prop_oneof![
        2 => Just(ColumnFilter::All),
        1 => proptest::collection::btree_set(0u32..4, 0..3)
            .prop_map(|s| ColumnFilter::Only(s.into_iter().map(ColumnId).collect())),
    ]
}
