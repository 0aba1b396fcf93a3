use std::sync::Arc;

use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use storage::{Cell, ColumnCell, ColumnId, Token};

use super::*;
use crate::schema::{ColumnDef, ColumnKind, TableDef, TableParams};

fn table(pk: Vec<(&str, CqlType)>) -> Arc<TableDef> {
    let columns = pk
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty))| ColumnDef {
            name: name.into(),
            ty,
            kind: ColumnKind::PartitionKey,
            position: i,
            order: Order::Asc,
            id: ColumnId(i as u32),
            added_at: 0,
        })
        .collect::<Vec<_>>();
    Arc::new(TableDef {
        keyspace: "ks".into(),
        name: "t".into(),
        id: [7; 16],
        next_column_id: columns.len() as u32,
        columns,
        dropped: Vec::new(),
        params: TableParams::default(),
        is_virtual: false,
        generation: 0,
        created_at: 0,
        altered_at: 0,
    })
}

#[test]
fn single_and_composite_keys_take_cassandra_tokens() {
    let t = table(vec![("k", CqlType::Int)]);
    let key = partition_key(&t, &[CqlValue::Int(1)]).unwrap();
    assert_eq!(key.token, Token(-4069959284402364209));
    assert_eq!(
        decode_partition_key(&t, &key.key).unwrap(),
        [CqlValue::Int(1)]
    );

    let t = table(vec![("a", CqlType::Int), ("b", CqlType::Text)]);
    let values = [CqlValue::Int(1), CqlValue::Text("a".into())];
    let key = partition_key(&t, &values).unwrap();
    assert_eq!(key.token, Token(6516349416904725244));
    assert_eq!(decode_partition_key(&t, &key.key).unwrap(), values);
}

#[test]
fn corrupt_composite_keys_are_errors_not_panics() {
    let t = table(vec![("a", CqlType::Int), ("b", CqlType::Text)]);
    for bytes in [&b""[..], &[0], &[0, 9, 1], &[0, 4, 0, 0, 0, 1, 7]] {
        assert!(decode_partition_key(&t, bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn list_paths_order_prepends_first_then_appends_by_time() {
    let p_old = list_path(ListPosition::Prepend, 100, 0);
    let p_new = list_path(ListPosition::Prepend, 200, 0);
    let a_old = list_path(ListPosition::Append, -5, 0);
    let a_old2 = list_path(ListPosition::Append, -5, 1);
    let a_new = list_path(ListPosition::Append, 200, 0);
    let mut paths = vec![
        a_new.clone(),
        a_old2.clone(),
        p_old.clone(),
        a_old.clone(),
        p_new.clone(),
    ];
    paths.sort();
    assert_eq!(paths, [p_new, p_old, a_old, a_old2, a_new]);
}

#[test]
fn prepends_of_one_statement_keep_their_order() {
    // `SET l = [1, 2] + l` must give [1, 2, ...].
    let paths = ListIds::new(0).paths(ListPosition::Prepend, 100, 2);
    assert_eq!(paths.len(), 2);
    assert!(paths[0] < paths[1]);
    assert!(
        paths[1] < list_path(ListPosition::Prepend, 99, 0),
        "before older ones"
    );
}

#[test]
fn later_prepends_come_first_even_at_one_instant() {
    // A batch of `[1] + l`, `[2] + l`, `[3] + l` gives [3, 2, 1]: the wall
    // clock (and the timestamp) are the same for all three.
    let ids = ListIds::new(7);
    let one = ids.paths(ListPosition::Prepend, 500, 1);
    let two = ids.paths(ListPosition::Prepend, 500, 1);
    let three = ids.paths(ListPosition::Prepend, 500, 1);
    let mut all = [&one[0], &two[0], &three[0]];
    all.sort();
    assert_eq!(all, [&three[0], &two[0], &one[0]]);
}

#[test]
fn appends_at_one_instant_get_distinct_ordered_paths() {
    // Two statements with the same timestamp and wall clock each keep their element.
    let ids = ListIds::new(7);
    let first = ids.paths(ListPosition::Append, 500, 2);
    let second = ids.paths(ListPosition::Append, 500, 1);
    assert!(first[0] < first[1] && first[1] < second[0]);
    assert!(first[0] >= list_path(ListPosition::Append, 500, 0));
    // The clock going back never reuses an id.
    let third = ids.paths(ListPosition::Append, 10, 1);
    assert!(second[0] < third[0]);
    assert!(ids.paths(ListPosition::Append, 10, 0).is_empty());
}

#[test]
fn ids_of_different_processes_differ_in_their_node_bits() {
    let a = ListIds::new(1).paths(ListPosition::Append, 500, 1);
    let b = ListIds::new(2).paths(ListPosition::Append, 500, 1);
    assert_ne!(a, b);
    assert_eq!(a[0][..9], b[0][..9], "same time part");
}

#[test]
fn new_ids_sort_by_time_among_paths_written_before_ids_existed() {
    // Earlier releases wrote the write timestamp and a sequence number.
    let old_append = list_path(ListPosition::Append, 1_000, 3);
    let old_prepend = list_path(ListPosition::Prepend, 1_000, 3);
    let ids = ListIds::new(u64::MAX);
    let new_append = ids.paths(ListPosition::Append, 1_001, 1);
    let new_prepend = ids.paths(ListPosition::Prepend, 1_002, 1);
    assert!(old_append < new_append[0]);
    assert!(new_prepend[0] < old_prepend);
}

#[test]
fn collections_decode_from_live_cells_only() {
    let ty = CqlType::map(CqlType::Text, CqlType::Int, false);
    let cell = |k: &str, v: i32, dead: bool| ColumnCell {
        column: ColumnId(1),
        path: Some(element_path(&CqlType::Text, &CqlValue::Text(k.into())).unwrap()),
        cell: if dead {
            Cell::tombstone(5, 10)
        } else {
            Cell::live(5, encode_value(&CqlType::Int, &CqlValue::Int(v)).unwrap())
        },
    };
    let cells = [cell("a", 1, false), cell("b", 2, true), cell("c", 3, false)];
    let refs: Vec<&ColumnCell> = cells.iter().collect();
    let value = decode_collection(&ty, &refs, 20).unwrap();
    let entry = |k: &str, v| (CqlValue::Text(k.into()), CqlValue::Int(v));
    assert_eq!(
        value,
        Some(CqlValue::Map(vec![entry("a", 1), entry("c", 3)]))
    );
    assert_eq!(decode_collection(&ty, &refs[1..2], 20).unwrap(), None);
}
