//! Property: paging through any page size returns exactly the unpaged result, for
//! scans, key reads and IN lists, with LIMIT, PER PARTITION LIMIT, filters and
//! reversed order, over random wide partitions (some with only static content).

use std::sync::Arc;

use cql_lite::value::CqlValue;
use proptest::prelude::*;

use super::e2e::{Env, insert, statics};
use super::wide;

const QUERIES: [&str; 12] = [
    "SELECT * FROM t",
    "SELECT k, c1, c2 FROM t LIMIT 9",
    "SELECT k, c1, c2, s FROM t PER PARTITION LIMIT 3",
    "SELECT k, c2 FROM t PER PARTITION LIMIT 2 LIMIT 5",
    "SELECT * FROM t WHERE k = 1",
    "SELECT * FROM t WHERE k = 1 ORDER BY c1 DESC LIMIT 7",
    "SELECT * FROM t WHERE k IN (3, 0, 1, 2)",
    // ORDER BY with a multi-partition IN is refused, so the reversed
    // PER PARTITION LIMIT case reads one partition.
    "SELECT k, c1, c2 FROM t WHERE k IN (2) ORDER BY c1 DESC PER PARTITION LIMIT 4",
    "SELECT k, c1, c2 FROM t WHERE k IN (0, 1, 2, 3) AND c1 >= 1 AND c1 < 4",
    "SELECT k, v FROM t WHERE v > 20 ALLOW FILTERING",
    "SELECT k, c1, c2, v FROM t WHERE c2 = 1 PER PARTITION LIMIT 2 ALLOW FILTERING",
    "SELECT DISTINCT k, s FROM t",
];

/// A partition: its static value (if any) and its (c1, c2) rows.
type Data = Vec<(Option<i32>, Vec<(i32, i32)>)>;

fn data() -> impl Strategy<Value = Data> {
    prop::collection::vec(
        (
            proptest::option::of(0..100i32),
            prop::collection::vec((0..6i32, 0..4i32), 0..25),
        ),
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn paging_returns_the_unpaged_result(data in data(), query in 0..QUERIES.len(), page in 1..12i32) {
        let t = wide();
        let env = Env::new(&[Arc::clone(&t)]);
        for (k, (s, rows)) in data.iter().enumerate() {
            let key = [CqlValue::Int(k as i32)];
            if let Some(s) = s {
                env.apply(&statics(&t, &key, &[("s", CqlValue::Int(*s))], 1));
            }
            for (c1, c2) in rows {
                let clustering = [CqlValue::Int(*c1), CqlValue::Int(*c2)];
                env.apply(&insert(&t, &key, &clustering, &[("v", CqlValue::Int(10 * c1 + c2))], 2));
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let cql = QUERIES[query];
        let (all, paged) = runtime.block_on(async { (env.all(cql).await, env.paged(cql, page).await) });
        prop_assert_eq!(paged, all, "{} in pages of {}", cql, page);
    }
}
