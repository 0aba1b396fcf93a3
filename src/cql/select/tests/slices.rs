//! Slices built from clustering restrictions select exactly the keys the
//! restrictions' own filters accept, for ASC, DESC and mixed tuples.

use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use proptest::prelude::*;
use storage::ClusteringRange;

use super::*;
use crate::cql::bind::BindTime;
use crate::cql::restrictions::slices::intersect;
use crate::cql::select::filter;
use crate::cql::select::rows::CqlRow;
use crate::rowcodec;

const GRID: i32 = 5;

fn mixed() -> Arc<TableDef> {
    table(
        "x",
        &[
            pk("k", CqlType::Int),
            ck("c1", CqlType::Int, Order::Desc),
            ck("c2", CqlType::Int, Order::Asc),
            ck("c3", CqlType::Int, Order::Desc),
            regular("v", CqlType::Int),
        ],
    )
}

/// Checks that the slices of `cql` contain exactly the grid keys its clustering
/// filters accept, and that the slices are sorted and disjoint.
fn check(t: &Arc<TableDef>, cql: &str) {
    let s = schema(&[Arc::clone(t)]);
    let (plan, _) = prepare(&s, cql).unwrap_or_else(|e| panic!("{cql}: {e:?}"));
    let bound = plan
        .restrictions
        .bind(t, &[], BindTime { now_micros: 0 })
        .unwrap_or_else(|e| panic!("{cql}: {e:?}"));
    let layout = t.clustering_layout().unwrap();
    for pair in bound.slices.windows(2) {
        assert!(
            intersect(&pair[0], &pair[1]).is_none(),
            "{cql}: overlapping {pair:?}"
        );
    }
    let mut hits: Vec<(Vec<u8>, usize)> = Vec::new();
    for c1 in 0..GRID {
        for c2 in 0..GRID {
            for c3 in 0..GRID {
                let values = vec![CqlValue::Int(c1), CqlValue::Int(c2), CqlValue::Int(c3)];
                let key = rowcodec::clustering_key(&layout, &values).unwrap();
                let slice = bound
                    .slices
                    .iter()
                    .position(|r: &ClusteringRange| r.contains(key.as_bytes()));
                let mut row_values = vec![Some(CqlValue::Int(0))];
                row_values.extend(values.iter().cloned().map(Some));
                row_values.push(None);
                let row = CqlRow {
                    meta: vec![None; row_values.len()],
                    values: row_values,
                    token: 0,
                };
                let model = bound
                    .filters
                    .iter()
                    .filter(|f| f.pushed)
                    .all(|f| filter::matches(t, f, &row));
                assert_eq!(slice.is_some(), model, "{cql}: key ({c1}, {c2}, {c3})");
                if let Some(i) = slice {
                    hits.push((key.as_bytes().to_vec(), i));
                }
            }
        }
    }
    // Slices are in byte order: walking keys in byte order never goes back a slice.
    hits.sort();
    assert!(
        hits.windows(2).all(|w| w[0].1 <= w[1].1),
        "{cql}: slices out of order"
    );
}

#[test]
fn single_column_slices_match_their_filters() {
    let t = mixed();
    for cql in [
        "SELECT * FROM x WHERE k = 0",
        "SELECT * FROM x WHERE k = 0 AND c1 = 2",
        "SELECT * FROM x WHERE k = 0 AND c1 > 2",
        "SELECT * FROM x WHERE k = 0 AND c1 >= 2 AND c1 < 4",
        "SELECT * FROM x WHERE k = 0 AND c1 = 1 AND c2 > 2",
        "SELECT * FROM x WHERE k = 0 AND c1 = 1 AND c2 <= 2",
        "SELECT * FROM x WHERE k = 0 AND c1 IN (3, 1, 3) AND c2 IN (0, 4)",
        "SELECT * FROM x WHERE k = 0 AND c1 IN (3, 1) AND c2 = 2 AND c3 < 3",
        "SELECT * FROM x WHERE k = 0 AND c1 = 1 AND c2 = 2 AND c3 > 1 AND c3 <= 3",
        "SELECT * FROM x WHERE k = 0 AND c1 = 1 AND c2 > 3 AND c2 < 2",
        "SELECT * FROM x WHERE k = 0 AND c1 = 1 AND c3 = 2 ALLOW FILTERING",
    ] {
        check(&t, cql);
    }
}

#[test]
fn tuple_slices_match_their_filters() {
    let t = mixed();
    for cql in [
        "SELECT * FROM x WHERE k = 0 AND (c1, c2) > (2, 1)",
        "SELECT * FROM x WHERE k = 0 AND (c1, c2, c3) >= (2, 1, 3)",
        "SELECT * FROM x WHERE k = 0 AND (c1, c2) < (2, 1)",
        "SELECT * FROM x WHERE k = 0 AND (c1, c2) > (1, 3) AND (c1, c2, c3) <= (3, 1, 2)",
        "SELECT * FROM x WHERE k = 0 AND (c1) > (2) AND (c1, c2) < (4, 0)",
        "SELECT * FROM x WHERE k = 0 AND (c1, c2) = (1, 2)",
        "SELECT * FROM x WHERE k = 0 AND (c1, c2) IN ((1, 2), (4, 0), (1, 2))",
        "SELECT * FROM x WHERE k = 0 AND (c2, c3) > (1, 1) ALLOW FILTERING",
    ] {
        check(&t, cql);
    }
}

fn op() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(">"), Just(">="), Just("<"), Just("<=")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random tuple bounds (any width, any operators) on mixed-order columns.
    #[test]
    fn random_tuple_bounds_match_their_filters(
        lo in prop::collection::vec(0..GRID, 1..=3),
        hi in prop::collection::vec(0..GRID, 1..=3),
        lo_op in op(),
        hi_op in op(),
        two in any::<bool>(),
    ) {
        let t = mixed();
        let names = ["c1", "c2", "c3"];
        let rel = |vals: &[i32], op: &str| {
            let cols = names[..vals.len()].join(", ");
            let vals: Vec<String> = vals.iter().map(i32::to_string).collect();
            format!("({cols}) {op} ({})", vals.join(", "))
        };
        let lower_op = if lo_op.starts_with('>') { lo_op } else { ">" };
        let upper_op = if hi_op.starts_with('<') { hi_op } else { "<=" };
        let mut cql = format!("SELECT * FROM x WHERE k = 0 AND {}", rel(&lo, if two { lower_op } else { lo_op }));
        if two {
            cql.push_str(&format!(" AND {}", rel(&hi, upper_op)));
        }
        check(&t, &cql);
    }

    /// Random single-column prefixes and ranges.
    #[test]
    fn random_single_column_restrictions_match_their_filters(
        eq in prop::collection::vec(prop::collection::vec(0..GRID, 1..3), 0..3),
        lo in proptest::option::of((0..GRID, any::<bool>())),
        hi in proptest::option::of((0..GRID, any::<bool>())),
    ) {
        let t = mixed();
        let names = ["c1", "c2", "c3"];
        let mut cql = String::from("SELECT * FROM x WHERE k = 0");
        for (i, values) in eq.iter().enumerate() {
            let vals: Vec<String> = values.iter().map(i32::to_string).collect();
            cql.push_str(&format!(" AND {} IN ({})", names[i], vals.join(", ")));
        }
        if eq.len() < 3 {
            let col = names[eq.len()];
            if let Some((v, incl)) = lo {
                cql.push_str(&format!(" AND {col} {} {v}", if incl { ">=" } else { ">" }));
            }
            if let Some((v, incl)) = hi {
                cql.push_str(&format!(" AND {col} {} {v}", if incl { "<=" } else { "<" }));
            }
        }
        check(&t, &cql);
    }
}
