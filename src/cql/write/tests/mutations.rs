//! The mutations plans produce, checked cell by cell.

use cql_lite::byte_comparable::ClusteringLayout;
use storage::{Bound, Cell, ClusteringKey, DeletionTime, LivenessInfo, RangeTombstone, Timestamp};

use super::*;
use crate::rowcodec::{ListPosition, element_path, list_path};

fn key(h: &Harness, table: &str, pk: &[CqlValue]) -> storage::DecoratedKey {
    rowcodec::partition_key(h.table(table), pk).unwrap()
}

fn ck(h: &Harness, table: &str, values: &[CqlValue]) -> ClusteringKey {
    let layout: ClusteringLayout = h.table(table).clustering_layout().unwrap();
    rowcodec::clustering_key(&layout, values).unwrap()
}

fn col(h: &Harness, table: &str, name: &str) -> ColumnId {
    h.table(table).column(name).unwrap().id
}

fn bytes(ty: &CqlType, v: &CqlValue) -> Bytes {
    rowcodec::encode_value(ty, v).unwrap()
}

/// Checks that `row`'s cells are the list elements `values`, in list (path)
/// order, written at the test's timestamp to `position` with ids taken no
/// earlier than the wall clock.
fn assert_list_elements(row: &storage::Row, position: ListPosition, values: &[i32]) {
    let paths: Vec<Bytes> = row.cells.iter().map(|c| c.path.clone().unwrap()).collect();
    let tag = match position {
        ListPosition::Prepend => 0,
        ListPosition::Append => 1,
    };
    assert!(
        paths.iter().all(|p| p.len() == 17 && p[0] == tag),
        "{paths:?}"
    );
    // Ids are at least the wall clock: appends sort at or after one made then,
    // prepends at or before.
    match position {
        ListPosition::Append => assert!(paths[0] >= list_path(position, TS, 0), "{paths:?}"),
        ListPosition::Prepend => {
            let last = &paths[paths.len() - 1];
            assert!(*last <= list_path(position, TS, u64::MAX), "{paths:?}");
        }
    }
    let cells: Vec<Cell> = row.cells.iter().map(|c| c.cell.clone()).collect();
    let expected: Vec<Cell> = values
        .iter()
        .map(|v| Cell::live(TS, bytes(&CqlType::Int, &int(*v))))
        .collect();
    assert_eq!(cells, expected);
}

async fn one(h: &Harness, cql: &str) -> Mutation {
    let mut ms = h.mutations(cql, &[]).await.unwrap();
    assert_eq!(ms.len(), 1, "{cql}: {ms:?}");
    ms.remove(0)
}

#[tokio::test]
async fn insert_writes_liveness_and_cells() {
    let h = Harness::new();
    let m = one(&h, "INSERT INTO kv (k, v, t) VALUES (1, 2, 'x')").await;
    assert_eq!(m.table, h.table("kv").table_id());
    assert_eq!(m.key, key(&h, "kv", &[int(1)]));
    let row = storage::Row {
        clustering: ClusteringKey::EMPTY,
        liveness: Some(LivenessInfo {
            timestamp: Timestamp(TS),
            expiry: None,
        }),
        ..Default::default()
    }
    .with_cell(
        col(&h, "kv", "t"),
        None,
        Cell::live(TS, bytes(&CqlType::Text, &text("x"))),
    )
    .with_cell(
        col(&h, "kv", "v"),
        None,
        Cell::live(TS, bytes(&CqlType::Int, &int(2))),
    );
    assert_eq!(m.rows, [row]);
    assert!(m.static_row.is_none() && m.partition_deletion.is_none());
}

#[tokio::test]
async fn ttl_and_timestamp_come_from_using_or_the_table_default() {
    let h = Harness::new();
    let m = one(
        &h,
        "INSERT INTO kv (k, v) VALUES (1, 2) USING TTL 100 AND TIMESTAMP 42",
    )
    .await;
    let row = &m.rows[0];
    assert_eq!(row.liveness.unwrap().expiry, Some((100, NOW + 100)));
    assert_eq!(row.liveness.unwrap().timestamp, Timestamp(42));
    assert_eq!(
        row.cells[0].cell,
        Cell::expiring(42, bytes(&CqlType::Int, &int(2)), 100, NOW)
    );

    // texts has default_time_to_live = 50; TTL 0 (or null) means none.
    let m = one(&h, "INSERT INTO texts (k, v) VALUES ('a', 1)").await;
    assert_eq!(
        m.rows[0].cells[0].cell,
        Cell::expiring(TS, bytes(&CqlType::Int, &int(1)), 50, NOW)
    );
    let m = one(&h, "UPDATE texts USING TTL 0 SET v = 1 WHERE k = 'a'").await;
    assert_eq!(
        m.rows[0].cells[0].cell,
        Cell::live(TS, bytes(&CqlType::Int, &int(1)))
    );
    assert!(
        m.rows[0].liveness.is_none(),
        "UPDATE writes no liveness marker"
    );
    let (plan, _) = h
        .prepare("UPDATE texts USING TTL ? SET v = 1 WHERE k = 'a'")
        .unwrap();
    let m = plan.mutations(&h.ctx(), &[Value::Null]).await.unwrap();
    assert_eq!(
        m[0].rows[0].cells[0].cell,
        Cell::live(TS, bytes(&CqlType::Int, &int(1)))
    );
    let m = plan.mutations(&h.ctx(), &[Value::Unset]).await.unwrap();
    assert_eq!(
        m[0].rows[0].cells[0].cell,
        Cell::expiring(TS, bytes(&CqlType::Int, &int(1)), 50, NOW)
    );
}

#[tokio::test]
async fn ttl_and_timestamp_are_validated() {
    let h = Harness::new();
    let e = h
        .err("INSERT INTO kv (k, v) VALUES (1, 2) USING TTL -1", &[])
        .await;
    assert_eq!(e, "A TTL must be greater or equal to 0, but was -1");
    let e = h
        .err(
            "INSERT INTO kv (k, v) VALUES (1, 2) USING TTL 630720001",
            &[],
        )
        .await;
    assert_eq!(
        e,
        "ttl is too large. requested (630720001) maximum (630720000)"
    );
    one(
        &h,
        "INSERT INTO kv (k, v) VALUES (1, 2) USING TTL 630720000",
    )
    .await;
    let e = h
        .err(
            "INSERT INTO kv (k, v) VALUES (1, 2) USING TIMESTAMP ?",
            &[Value::Null],
        )
        .await;
    assert_eq!(e, "Invalid null value of timestamp");
}

#[tokio::test]
async fn null_writes_a_tombstone_and_unset_leaves_the_cell_alone() {
    let h = Harness::new();
    let m = one(&h, "INSERT INTO kv (k, v, t) VALUES (1, null, 'x')").await;
    assert_eq!(m.rows[0].cells[0].column, col(&h, "kv", "t"));
    assert_eq!(m.rows[0].cells[1].cell, Cell::tombstone(TS, NOW));

    let (plan, _) = h
        .prepare("INSERT INTO kv (k, v, t) VALUES (?, ?, ?)")
        .unwrap();
    let values = [val(&CqlType::Int, &int(1)), Value::Unset, Value::Unset];
    let m = plan.mutations(&h.ctx(), &values).await.unwrap();
    assert!(m[0].rows[0].cells.is_empty());
    assert!(m[0].rows[0].liveness.is_some(), "the row still exists");

    let (plan, _) = h.prepare("UPDATE kv SET v = ?, l = ? WHERE k = 1").unwrap();
    let m = plan
        .mutations(&h.ctx(), &[Value::Unset, Value::Unset])
        .await
        .unwrap();
    assert!(m.is_empty(), "an update of nothing writes nothing: {m:?}");
}

#[tokio::test]
async fn collection_overwrite_deletes_just_before_the_new_elements() {
    let h = Harness::new();
    let l = col(&h, "kv", "l");
    let m = one(&h, "UPDATE kv SET l = [7, 8] WHERE k = 1").await;
    let row = &m.rows[0];
    assert_eq!(row.column_deletions, [(l, DeletionTime::new(TS - 1, NOW))]);
    assert_list_elements(row, ListPosition::Append, &[7, 8]);
    let m = one(&h, "UPDATE kv SET s = null WHERE k = 1").await;
    assert_eq!(
        m.rows[0].column_deletions,
        [(col(&h, "kv", "s"), DeletionTime::new(TS - 1, NOW))]
    );
    assert!(m.rows[0].cells.is_empty());
    let m = one(&h, "UPDATE kv SET fl = [1, 2] WHERE k = 1").await;
    let fl = CqlType::list(CqlType::Int, true);
    assert_eq!(
        m.rows[0].cells[0].cell,
        Cell::live(TS, bytes(&fl, &ints(&[1, 2])))
    );
    assert!(
        m.rows[0].column_deletions.is_empty(),
        "a frozen list is one cell"
    );
}

#[tokio::test]
async fn element_operations_address_single_cells() {
    let h = Harness::new();
    let (m, s) = (col(&h, "kv", "m"), col(&h, "kv", "s"));
    let path = |v: &str| element_path(&CqlType::Text, &text(v)).unwrap();
    let mu = one(
        &h,
        "UPDATE kv SET m['a'] = 1, m = m + {'b': 2}, s = s + {'x'}, s = s - {'y'} WHERE k = 1",
    )
    .await;
    let cells: Vec<_> = mu.rows[0]
        .cells
        .iter()
        .map(|c| (c.column, c.path.clone().unwrap(), c.cell.clone()))
        .collect();
    assert_eq!(
        cells,
        [
            (m, path("a"), Cell::live(TS, bytes(&CqlType::Int, &int(1)))),
            (m, path("b"), Cell::live(TS, bytes(&CqlType::Int, &int(2)))),
            (s, path("x"), Cell::live(TS, Bytes::new())),
            (s, path("y"), Cell::tombstone(TS, NOW)),
        ]
    );
    let mu = one(&h, "UPDATE kv SET m = m - {'a'}, m['c'] = null WHERE k = 1").await;
    let tombstones: Vec<_> = mu.rows[0]
        .cells
        .iter()
        .map(|c| (c.path.clone().unwrap(), c.cell.clone()))
        .collect();
    assert_eq!(
        tombstones,
        [
            (path("a"), Cell::tombstone(TS, NOW)),
            (path("c"), Cell::tombstone(TS, NOW))
        ]
    );
    let mu = one(&h, "DELETE m['a'], s['x'] FROM kv WHERE k = 1").await;
    assert_eq!(mu.rows[0].cells.len(), 2);
    assert!(
        mu.rows[0]
            .cells
            .iter()
            .all(|c| c.cell == Cell::tombstone(TS, NOW))
    );
    let mu = one(&h, "UPDATE kv SET l = [1, 2] + l WHERE k = 1").await;
    assert_list_elements(&mu.rows[0], ListPosition::Prepend, &[1, 2]);
}

#[tokio::test]
async fn deletes_of_partitions_rows_ranges_and_columns() {
    let h = Harness::new();
    let d = DeletionTime::new(TS, NOW);
    let m = one(&h, "DELETE FROM kv WHERE k = 1").await;
    assert_eq!(m.partition_deletion, Some(d));
    let m = one(&h, "DELETE FROM wide WHERE k = 1").await;
    assert_eq!(m.partition_deletion, Some(d));
    let m = one(
        &h,
        "DELETE FROM wide USING TIMESTAMP 9 WHERE k = 1 AND c IN (3, 2)",
    )
    .await;
    let rows: Vec<_> = m
        .rows
        .iter()
        .map(|r| (r.clustering.clone(), r.deletion))
        .collect();
    let d9 = Some(DeletionTime::new(9, NOW));
    assert_eq!(
        rows,
        [
            (ck(&h, "wide", &[int(2)]), d9),
            (ck(&h, "wide", &[int(3)]), d9)
        ]
    );
    let m = one(&h, "DELETE FROM wide WHERE k = 1 AND c > 5").await;
    let start = Bound::Exclusive(ck(&h, "wide", &[int(5)]));
    assert_eq!(
        m.range_tombstones,
        [RangeTombstone {
            range: ClusteringRange::new(start, Bound::Unbounded),
            deletion: d
        }]
    );
    let m = one(&h, "DELETE v, l FROM kv WHERE k = 1").await;
    assert_eq!(m.rows[0].cells[0].cell, Cell::tombstone(TS, NOW));
    assert_eq!(m.rows[0].column_deletions, [(col(&h, "kv", "l"), d)]);
    let m = one(&h, "DELETE st, sl FROM wide WHERE k = 1").await;
    let st = m.static_row.unwrap();
    assert_eq!(st.column_deletions, [(col(&h, "wide", "sl"), d)]);
    assert_eq!(st.cells[0].cell, Cell::tombstone(TS, NOW));
    assert!(m.rows.is_empty());
}

#[tokio::test]
async fn range_deletions_respect_clustering_order_and_prefixes() {
    let h = Harness::new();
    let key = |c1: i32, c2: i32| ck(&h, "two", &[int(c1), int(c2)]);
    let covered = |m: &Mutation, c1, c2| {
        m.range_tombstones
            .iter()
            .any(|rt| rt.range.contains(key(c1, c2).as_bytes()))
    };
    // c2 is DESC: a CQL lower bound ends the storage range.
    let m = one(
        &h,
        "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 = 1 AND c2 > 5 AND c2 <= 8",
    )
    .await;
    for (c1, c2, expected) in [
        (1, 5, false),
        (1, 6, true),
        (1, 8, true),
        (1, 9, false),
        (0, 7, false),
        (2, 7, false),
    ] {
        assert_eq!(covered(&m, c1, c2), expected, "({c1}, {c2})");
    }
    let m = one(
        &h,
        "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 IN (1, 3)",
    )
    .await;
    for (c1, expected) in [(0, false), (1, true), (2, false), (3, true)] {
        assert_eq!(covered(&m, c1, 0), expected, "c1 = {c1}");
        assert_eq!(covered(&m, c1, i32::MIN), expected, "c1 = {c1}");
    }
    let m = one(&h, "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 < 2").await;
    for (c1, expected) in [(i32::MIN, true), (1, true), (2, false)] {
        assert_eq!(covered(&m, c1, 4), expected, "c1 = {c1}");
    }
    // An empty range writes nothing.
    let m = h
        .mutations("DELETE FROM wide WHERE k = 1 AND c > 5 AND c < 3", &[])
        .await
        .unwrap();
    assert!(m.is_empty(), "{m:?}");
}

#[tokio::test]
async fn in_restrictions_multiply_partitions_and_rows() {
    let h = Harness::new();
    let ms = h.mutations("UPDATE two SET v = 1 WHERE a IN (1, 2) AND b IN ('x', 'y', 'x') AND c1 IN (1, 2) AND c2 = 0", &[]).await.unwrap();
    assert_eq!(ms.len(), 4);
    assert!(ms.iter().all(|m| m.rows.len() == 2));
    let (plan, _) = h.prepare("DELETE FROM kv WHERE k IN ?").unwrap();
    let ms = plan
        .mutations(&h.ctx(), &[val(&list(CqlType::Int), &ints(&[3, 1, 2]))])
        .await
        .unwrap();
    assert_eq!(ms.len(), 3);
    assert!(
        ms.windows(2).all(|w| w[0].key < w[1].key),
        "token order, no duplicates"
    );
}

#[tokio::test]
async fn static_and_regular_columns_go_to_their_rows() {
    let h = Harness::new();
    let m = one(&h, "INSERT INTO wide (k, c, st, v) VALUES (1, 2, 3, 4)").await;
    let st = m.static_row.unwrap();
    assert!(st.liveness.is_none());
    assert_eq!(st.cells[0].column, col(&h, "wide", "st"));
    assert_eq!(m.rows[0].clustering, ck(&h, "wide", &[int(2)]));
    assert_eq!(m.rows[0].cells[0].column, col(&h, "wide", "v"));
    let m = one(&h, "INSERT INTO wide (k, st) VALUES (1, 3)").await;
    assert!(m.rows.is_empty() && m.static_row.is_some());
    let m = one(&h, "INSERT INTO wide (k, c, st) VALUES (1, 2, 3)").await;
    assert!(m.rows[0].liveness.is_some() && m.rows[0].cells.is_empty());
}

#[tokio::test]
async fn key_values_are_validated() {
    let h = Harness::new();
    let e = h.err("INSERT INTO texts (k, v) VALUES ('', 1)", &[]).await;
    assert_eq!(e, "Key may not be empty");
    let long = text(&"x".repeat(70_000));
    let e = h
        .err(
            "INSERT INTO texts (k, v) VALUES (?, 1)",
            &[val(&CqlType::Text, &long)],
        )
        .await;
    assert_eq!(e, "Key length of 70000 is longer than maximum of 65535");
    let e = h
        .err(
            "INSERT INTO two (a, b, c1, c2) VALUES (1, ?, 1, 1)",
            &[val(&CqlType::Text, &long)],
        )
        .await;
    assert!(e.contains("longer than maximum of 65535"), "{e}");
    let e = h
        .err("UPDATE kv SET v = 1 WHERE k = ?", &[Value::Null])
        .await;
    assert_eq!(e, "Invalid null value in condition for column k");
    let e = h
        .err("UPDATE kv SET v = 1 WHERE k = ?", &[Value::Unset])
        .await;
    assert_eq!(e, "Invalid unset value for column k");
    let e = h.err("UPDATE kv SET v = 1 WHERE k = ?", &[]).await;
    assert!(e.contains("bound variables"), "{e}");
    let e = h
        .err("UPDATE kv SET m[?] = 1 WHERE k = 1", &[Value::Null])
        .await;
    assert!(e.contains("null"), "{e}");
}
