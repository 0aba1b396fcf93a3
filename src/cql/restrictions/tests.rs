//! The analyser on its own: the rules of each statement, and empty `IN` lists
//! bound to "nothing", never to "no restriction".

use cql_lite::ast::{self, Relation};
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};
use storage::{ClusteringRange, ColumnId};

use super::slices::{self, Prefixes, SliceBounds};
use super::*;
use crate::cql::bind::BindTime;
use crate::rowcodec;
use crate::schema::{ColumnDef, TableDef, TableParams};

const TIME: BindTime = BindTime { now_micros: 0 };

/// `ks.t (k int, c1 int, c2 int DESC, s int static, v int, PRIMARY KEY (k, c1, c2))`.
fn table() -> TableDef {
    let column = |i: u32, name: &str, kind: ColumnKind, position: usize, order: Order| ColumnDef {
        name: name.to_owned(),
        ty: CqlType::Int,
        kind,
        position,
        order,
        id: ColumnId(i),
        added_at: 0,
    };
    TableDef {
        keyspace: "ks".into(),
        name: "t".into(),
        id: [7; 16],
        next_column_id: 5,
        columns: vec![
            column(0, "k", ColumnKind::PartitionKey, 0, Order::Asc),
            column(1, "c1", ColumnKind::Clustering, 0, Order::Asc),
            column(2, "c2", ColumnKind::Clustering, 1, Order::Desc),
            column(3, "s", ColumnKind::Static, 0, Order::Asc),
            column(4, "v", ColumnKind::Regular, 0, Order::Asc),
        ],
        dropped: Vec::new(),
        params: TableParams::default(),
        is_virtual: false,
        generation: 0,
        created_at: 0,
        altered_at: 0,
    }
}

/// The WHERE clause of `DELETE FROM t WHERE <clause>`.
fn relations(clause: &str) -> Vec<Relation> {
    match cql_lite::parse(&format!("DELETE FROM t WHERE {clause}")) {
        Ok(ast::Statement::Delete(d)) => d.where_clause,
        other => panic!("{clause}: {other:?}"),
    }
}

fn analyse(statement: Statement, clause: &str) -> Result<Restrictions, ErrorResponse> {
    Restrictions::analyse(
        &table(),
        statement,
        &relations(clause),
        &mut Markers::default(),
    )
}

fn message(statement: Statement, clause: &str) -> String {
    match analyse(statement, clause) {
        Ok(r) => panic!("{clause}: accepted as {r:?}"),
        Err(e) => e.message,
    }
}

const SELECT: Statement = Statement::Select {
    allow_filtering: false,
};

fn int_list(items: &[i32]) -> Value {
    let ty = CqlType::list(CqlType::Int, false);
    let v = CqlValue::List(items.iter().map(|&i| CqlValue::Int(i)).collect());
    Value::Set(rowcodec::encode_value(&ty, &v).unwrap())
}

fn bind_read(clause: &str, values: &[Value]) -> Bound {
    let t = table();
    analyse(SELECT, clause)
        .unwrap()
        .bind(&t, values, TIME)
        .unwrap()
}

#[test]
fn an_empty_clustering_in_binds_to_no_slices() {
    for clause in [
        "k = 0 AND c1 IN ()",
        "k = 0 AND c1 = 1 AND c2 IN ()",
        "k = 0 AND c1 IN () AND c2 > 1",
        "k = 0 AND (c1, c2) IN ()",
    ] {
        let bound = bind_read(clause, &[]);
        assert!(
            matches!(bound.partition, BoundPartition::Keys(_)),
            "{clause}"
        );
        assert_eq!(bound.slices, [], "{clause}");
    }
    for clause in ["k = 0 AND c1 IN ?", "k = 0 AND (c1, c2) IN ?"] {
        assert_eq!(bind_read(clause, &[int_list(&[])]).slices, [], "{clause}");
    }
    // Without a clustering restriction the whole partition is read.
    assert_eq!(bind_read("k = 0", &[]).slices, [ClusteringRange::ALL]);
    assert_eq!(
        bind_read("k = 0 AND c1 IN ?", &[int_list(&[1])])
            .slices
            .len(),
        1
    );
}

#[test]
fn an_empty_partition_in_binds_to_nothing() {
    assert!(matches!(
        bind_read("k IN () AND c1 = 1", &[]).partition,
        BoundPartition::Nothing
    ));
    assert!(matches!(
        bind_read("k IN ?", &[int_list(&[])]).partition,
        BoundPartition::Nothing
    ));
}

#[test]
fn prefixes_say_unrestricted_apart_from_restricted_to_nothing() {
    let t = table();
    let plan = |clause: &str| analyse(Statement::Delete, clause).unwrap().clustering;
    let bind = |clause: &str| plan(clause).bind(&t, &[], TIME).unwrap().prefixes;
    assert_eq!(bind("k = 0"), Prefixes::Any);
    assert_eq!(bind("k = 0 AND c1 > 3"), Prefixes::Any);
    assert_eq!(bind("k = 0 AND c1 IN ()"), Prefixes::Only(Vec::new()));
    assert_eq!(
        bind("k = 0 AND c1 IN (2, 1) AND c2 = 5"),
        Prefixes::Only(vec![
            vec![CqlValue::Int(2), CqlValue::Int(5)],
            vec![CqlValue::Int(1), CqlValue::Int(5)],
        ])
    );
    assert!(plan("k = 0").is_unrestricted());
    assert!(!plan("k = 0 AND c1 IN ()").is_unrestricted());
    assert_eq!(plan("k = 0 AND c1 IN ()").fixed_columns(), 1);
    assert!(plan("k = 0 AND c1 = 1 AND c2 < 3").has_range());
}

#[test]
fn slices_of_no_prefixes_are_empty_and_of_any_prefix_everything() {
    let layout = table().clustering_layout().unwrap();
    let bounds = |prefixes| SliceBounds {
        prefixes,
        lower: None,
        upper: None,
    };
    assert_eq!(
        slices::build(&layout, &bounds(Prefixes::Only(Vec::new()))).unwrap(),
        []
    );
    assert_eq!(
        slices::build(&layout, &bounds(Prefixes::Any)).unwrap(),
        [ClusteringRange::ALL]
    );
    let mut ranged = bounds(Prefixes::Only(Vec::new()));
    ranged.lower = Some((vec![CqlValue::Int(1)], true));
    assert_eq!(slices::build(&layout, &ranged).unwrap(), []);
}

#[test]
fn writes_accept_only_key_relations() {
    for statement in [Statement::Update, Statement::Delete] {
        let name = statement.name();
        let cases = [
            ("k = 0 AND v = 1", "Non PRIMARY KEY columns found in where clause: v".to_owned()),
            (
                "token(k) > 0",
                format!("The token function cannot be used in WHERE clauses for {name} statements"),
            ),
            (
                "k = 0 AND (c1, c2) = (1, 2)",
                format!("Multi-column relations are not supported in {name} statements"),
            ),
            (
                "k = 0 AND v CONTAINS 1",
                format!("Cannot use CONTAINS on column v in {name} statements"),
            ),
            ("c1 = 1", "Some partition key parts are missing: k".to_owned()),
            (
                "k > 0",
                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)".to_owned(),
            ),
            (
                "k = 0 AND k = 1",
                "k cannot be restricted by more than one relation if it includes an Equality".to_owned(),
            ),
            (
                "k = 0 AND c2 = 1",
                "PRIMARY KEY column \"c2\" cannot be restricted as preceding column \"c1\" is not restricted".to_owned(),
            ),
        ];
        for (clause, expected) in cases {
            assert_eq!(message(statement, clause), expected, "{name} {clause}");
        }
    }
}

#[test]
fn only_reads_and_deletes_take_clustering_ranges() {
    assert_eq!(
        message(Statement::Update, "k = 0 AND c1 > 1"),
        "Slice restrictions are not supported on the clustering columns in UPDATE statements"
    );
    for statement in [SELECT, Statement::Delete] {
        let r = analyse(statement, "k = 0 AND c1 = 1 AND c2 > 1 AND c2 <= 5").unwrap();
        assert_eq!(r.clustering().fixed_columns(), 1);
        assert!(r.clustering().has_range());
    }
    assert_eq!(
        message(Statement::Delete, "k = 0 AND c1 > 1 AND c2 = 1"),
        "Clustering column \"c2\" cannot be restricted (preceding column \"c1\" is restricted by a non-EQ relation)"
    );
}

#[test]
fn reads_filter_what_writes_refuse() {
    let filtering = Statement::Select {
        allow_filtering: true,
    };
    for clause in [
        "k = 0 AND v = 1",
        "token(k) > 0 AND v = 1",
        "k = 0 AND (c1, c2) > (1, 2)",
        "k = 0 AND s = 1",
        "c2 = 1",
    ] {
        if let Err(e) = analyse(filtering, clause) {
            panic!("{clause}: {e:?}");
        }
    }
    assert_eq!(message(SELECT, "k = 0 AND v = 1"), REQUIRES_ALLOW_FILTERING);
}

#[test]
fn null_and_unset_key_values_are_named_by_column() {
    let t = table();
    let r = analyse(Statement::Update, "k = ? AND c1 = 1 AND c2 IN ?").unwrap();
    let err = |values: &[Value]| r.bind_partition(&t, values, TIME).unwrap_err().message;
    assert_eq!(
        err(&[Value::Null, int_list(&[])]),
        "Invalid null value in condition for column k"
    );
    assert_eq!(
        err(&[Value::Unset, int_list(&[])]),
        "Invalid unset value for column k"
    );
    let err = r
        .clustering()
        .bind(&t, &[int_list(&[1]), Value::Null], TIME)
        .unwrap_err();
    assert_eq!(err.message, "Invalid null value in condition for column c2");
}
