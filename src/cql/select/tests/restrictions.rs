//! What prepare accepts and rejects, with Cassandra's messages; marker specs,
//! pk indexes and result names.

use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;

use super::*;
use crate::cql::restrictions::REQUIRES_ALLOW_FILTERING;

fn wide_schema() -> Schema {
    let composite = table(
        "c",
        &[
            pk("a", CqlType::Int),
            pk("b", CqlType::Text),
            ck("x", CqlType::Int, Order::Asc),
            regular("v", CqlType::Int),
        ],
    );
    schema(&[wide(), composite])
}

#[test]
fn key_and_clustering_restrictions_are_accepted() {
    let s = wide_schema();
    for cql in [
        "SELECT * FROM t",
        "SELECT * FROM t WHERE k = 1",
        "SELECT * FROM t WHERE k IN (1, 2, 3)",
        "SELECT * FROM t WHERE k = 1 AND c1 = 2",
        "SELECT * FROM t WHERE k = 1 AND c1 = 2 AND c2 > 3 AND c2 <= 9",
        "SELECT * FROM t WHERE k = 1 AND c1 IN (1, 2) AND c2 < 3",
        "SELECT * FROM t WHERE k = 1 AND c1 > 2",
        "SELECT * FROM t WHERE k = 1 AND (c1, c2) > (1, 2)",
        "SELECT * FROM t WHERE k = 1 AND (c1, c2) >= (1, 2) AND (c1, c2) < (3, 4)",
        "SELECT * FROM t WHERE k = 1 AND (c1, c2) IN ((1, 2), (3, 4))",
        "SELECT * FROM t WHERE k = 1 AND (c1, c2) = (1, 2)",
        "SELECT * FROM t WHERE token(k) > 5 AND token(k) <= 100",
        "SELECT * FROM t WHERE token(k) = ?",
        "SELECT * FROM c WHERE a = 1 AND b IN ('x', 'y')",
        "SELECT * FROM c WHERE token(a, b) >= 0",
        "SELECT * FROM t WHERE v = 1 ALLOW FILTERING",
        "SELECT * FROM t WHERE c2 = 1 ALLOW FILTERING",
        "SELECT * FROM t WHERE k = 1 AND c2 = 1 ALLOW FILTERING",
        "SELECT * FROM t WHERE m CONTAINS 3 ALLOW FILTERING",
        "SELECT * FROM t WHERE m CONTAINS KEY 'a' ALLOW FILTERING",
        "SELECT * FROM t WHERE k > 3 ALLOW FILTERING",
        "SELECT * FROM c WHERE a = 1 ALLOW FILTERING",
        "SELECT * FROM t WHERE k = 1 ORDER BY c1 DESC",
        "SELECT * FROM t WHERE k = 1 ORDER BY c1 ASC, c2 DESC",
        "SELECT * FROM t WHERE k IN (1, 2) ORDER BY c1 DESC, c2 ASC",
        "SELECT DISTINCT k FROM t",
        "SELECT DISTINCT k, s FROM t WHERE k IN (1, 2)",
        "SELECT k FROM t LIMIT ?",
        "SELECT k FROM t PER PARTITION LIMIT 2 LIMIT 3",
    ] {
        if let Err(e) = prepare(&s, cql) {
            panic!("{cql}: {e:?}");
        }
    }
}

#[expect(clippy::too_many_lines, reason = "one table of cases, each a line")]
#[test]
fn queries_cassandra_refuses_are_rejected_with_its_messages() {
    let s = wide_schema();
    let cases = [
        ("SELECT * FROM t WHERE v = 1", REQUIRES_ALLOW_FILTERING.to_owned()),
        ("SELECT * FROM t WHERE c1 = 1", REQUIRES_ALLOW_FILTERING.to_owned()),
        ("SELECT * FROM t WHERE m CONTAINS 1", REQUIRES_ALLOW_FILTERING.to_owned()),
        ("SELECT * FROM c WHERE a = 1", REQUIRES_ALLOW_FILTERING.to_owned()),
        (
            "SELECT * FROM t WHERE k = 1 AND c2 = 1",
            "PRIMARY KEY column \"c2\" cannot be restricted as preceding column \"c1\" is not restricted".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND c1 > 1 AND c2 = 1",
            "Clustering column \"c2\" cannot be restricted (preceding column \"c1\" is restricted by a non-EQ relation)".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k > 1",
            "Only EQ and IN relation are supported on the partition key (unless you use the token() function)".to_owned(),
        ),
        ("SELECT * FROM t WHERE x = 1", "Undefined column name x".to_owned()),
        ("SELECT x FROM t", "Undefined column name x in table ks.t".to_owned()),
        ("SELECT * FROM nope", "unconfigured table nope".to_owned()),
        (
            "SELECT * FROM t WHERE k = 1 AND k = 2",
            "k cannot be restricted by more than one relation if it includes an Equality".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND token(k) > 3",
            "Columns \"k\" cannot be restricted by both a normal relation and a token relation".to_owned(),
        ),
        (
            "SELECT * FROM c WHERE token(b, a) > 3",
            "The token function arguments must be in the partition key order: a, b".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND c1 = 1 AND (c1, c2) > (1, 2)",
            "Mixing single column relations and multi column relations on clustering columns is not allowed".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND (c2, c1) > (1, 2)",
            "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c2, c1)".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND (k, c1) > (1, 2)",
            "Multi-column relations can only be applied to clustering columns but was applied to: k".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 AND v CONTAINS 1 ALLOW FILTERING",
            "Cannot use CONTAINS on non-collection column v".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE l CONTAINS KEY 1 ALLOW FILTERING",
            "Cannot use CONTAINS KEY on non-map column l".to_owned(),
        ),
        (
            "SELECT * FROM t ORDER BY c1",
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 ORDER BY c2",
            "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 ORDER BY c1 ASC, c2 ASC",
            "Unsupported order by relation".to_owned(),
        ),
        (
            "SELECT * FROM t WHERE k = 1 ORDER BY v",
            "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v".to_owned(),
        ),
        (
            "SELECT DISTINCT k, v FROM t",
            "SELECT DISTINCT queries must only request partition key columns and/or static columns (not v)".to_owned(),
        ),
        (
            "SELECT DISTINCT a FROM c",
            "SELECT DISTINCT queries must request all the partition key columns (missing b)".to_owned(),
        ),
        (
            "SELECT writetime(k) FROM t",
            "Cannot use selection function writeTime on PRIMARY KEY part k".to_owned(),
        ),
        (
            "SELECT ttl(m) FROM t",
            "Cannot use selection function ttl on non-frozen collection m".to_owned(),
        ),
        (
            "SELECT sum(m) FROM t",
            "Invalid call to function sum, none of its type signatures match (argument of type map<text, int>)".to_owned(),
        ),
        ("SELECT nope(v) FROM t", "Unknown function 'nope'".to_owned()),
        (
            "SELECT max(count(*)) FROM t",
            "aggregate functions cannot be used as arguments of aggregate functions".to_owned(),
        ),
        ("SELECT k FROM t GROUP BY k", "GROUP BY is not supported".to_owned()),
    ];
    for (cql, message) in cases {
        assert_eq!(rejection(&s, cql), message, "{cql}");
    }
}

#[test]
fn markers_are_registered_in_text_order_with_cassandra_names() {
    let s = wide_schema();
    let (plan, markers) = prepare(
        &s,
        "SELECT * FROM t WHERE k IN ? AND c1 = ? AND c2 > ? AND v = :val PER PARTITION LIMIT ? LIMIT ? ALLOW FILTERING",
    )
    .unwrap();
    let names: Vec<&str> = markers.specs().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "in(k)",
            "c1",
            "c2",
            "val",
            "[per_partition_limit]",
            "[limit]"
        ]
    );
    assert_eq!(markers.specs()[0].ty, CqlType::list(CqlType::Int, false));
    assert_eq!(markers.specs()[4].ty, CqlType::Int);
    assert!(plan.pk_indexes().is_empty(), "IN does not route");

    let (plan, markers) = prepare(&s, "SELECT * FROM c WHERE b = ? AND a = ?").unwrap();
    assert_eq!(markers.specs()[0].name, "b");
    assert_eq!(plan.pk_indexes(), [1, 0]);

    let (_, markers) = prepare(&s, "SELECT * FROM t WHERE token(k) > ? AND token(k) <= ?").unwrap();
    assert_eq!(markers.specs()[0].name, "partition key token");
    assert_eq!(markers.specs()[1].ty, CqlType::Bigint);

    let (_, markers) = prepare(&s, "SELECT * FROM t WHERE k = 0 AND (c1, c2) > (?, ?)").unwrap();
    let names: Vec<&str> = markers.specs().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["c1", "c2"]);
    let (_, markers) = prepare(&s, "SELECT * FROM t WHERE k = 0 AND (c1, c2) IN ?").unwrap();
    assert_eq!(markers.specs()[0].name, "in((c1,c2))");
}

#[test]
fn result_names_follow_cassandra_4() {
    let s = wide_schema();
    let (plan, _) = prepare(
        &s,
        "SELECT k, v AS value, writetime(v), ttl(s), token(k), count(*), count(1), count(v), \
         min(v), max(c1), sum(v), avg(v) FROM t",
    )
    .unwrap();
    let names: Vec<String> = plan.result_specs().into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "k",
            "value",
            "writetime(v)",
            "ttl(s)",
            "system.token(k)",
            "count",
            "count",
            "system.count(v)",
            "system.min(v)",
            "system.max(c1)",
            "system.sum(v)",
            "system.avg(v)",
        ]
    );
    let (plan, _) = prepare(&s, "SELECT * FROM t").unwrap();
    let names: Vec<String> = plan.result_specs().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["k", "c1", "c2", "l", "m", "s", "v"]);
    assert_eq!(plan.keyspace(), "ks");
    assert_eq!(plan.table().name, "t");
}
