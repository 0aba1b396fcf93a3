//! Values Cassandra and a naive write path disagree on: nested frozen
//! collections in client order, list elements written at one instant, and
//! several operations on one cell in one statement or batch.

use super::*;

fn frozen_int_set() -> CqlType {
    CqlType::set(CqlType::Int, true)
}

/// `frozen<map<frozen<set<int>>, int>>`.
fn nested() -> CqlType {
    CqlType::map(frozen_int_set(), CqlType::Int, true)
}

fn int_set(v: &[i32]) -> CqlValue {
    CqlValue::Set(v.iter().map(|i| int(*i)).collect())
}

fn nested_value(inner: &[i32], v: i32) -> CqlValue {
    CqlValue::Map(vec![(int_set(inner), int(v))])
}

/// CREATE TABLE nest (k frozen<map<frozen<set<int>>, int>>,
///   c frozen<map<frozen<set<int>>, int>>, v frozen<map<frozen<set<int>>, int>>,
///   l frozen<list<frozen<set<int>>>>, PRIMARY KEY (k, c))
fn nest_harness() -> Harness {
    let mut tables = standard_tables();
    tables.push(table(&TableSpec {
        name: "nest",
        pk: &[("k", nested())],
        ck: &[("c", nested(), Order::Asc)],
        statics: &[],
        regular: &[
            ("l", CqlType::list(frozen_int_set(), true)),
            ("v", nested()),
        ],
    }));
    Harness::with_tables(tables)
}

/// The one row of `nest` under the canonical key `{{4, 5, 6}: 1}`, decoded.
async fn nest_row(h: &Harness) -> Option<(CqlValue, CqlValue, CqlValue)> {
    let t = Arc::clone(h.table("nest"));
    let p = h.read("nest", &[nested_value(&[4, 5, 6], 1)]).await?;
    let [row] = p.rows.as_slice() else {
        panic!("one row expected: {p:?}")
    };
    let layout = t.clustering_layout().unwrap();
    let c = rowcodec::decode_clustering(&layout, &row.clustering).unwrap();
    let v = decode(row, t.column("v").unwrap(), NOW).unwrap();
    let l = decode(row, t.column("l").unwrap(), NOW).unwrap();
    Some((c[0].clone(), v, l))
}

#[tokio::test]
async fn bound_nested_sets_are_stored_sorted_in_keys_and_cells() {
    let h = nest_harness();
    let unsorted = nested_value(&[5, 4, 6], 1);
    let values = [
        val(&nested(), &unsorted),
        val(&nested(), &nested_value(&[9, 7, 8], 2)),
        val(&nested(), &unsorted),
        val(
            &CqlType::list(frozen_int_set(), true),
            &CqlValue::List(vec![int_set(&[2, 1]), int_set(&[1, 2, 1])]),
        ),
    ];
    h.run("INSERT INTO nest (k, c, v, l) VALUES (?, ?, ?, ?)", &values)
        .await
        .unwrap();
    let (c, v, l) = nest_row(&h).await.expect("found under the sorted key");
    assert_eq!(c, nested_value(&[7, 8, 9], 2));
    assert_eq!(v, nested_value(&[4, 5, 6], 1));
    assert_eq!(
        l,
        CqlValue::List(vec![int_set(&[1, 2]), int_set(&[1, 2])]),
        "list order kept, the sets in it sorted"
    );
}

#[tokio::test]
async fn literal_nested_sets_are_stored_sorted_in_keys_and_cells() {
    let h = nest_harness();
    h.ok(
        "INSERT INTO nest (k, c, v, l) VALUES ({{5, 4, 6}: 1}, {{9, 7, 8}: 2}, \
          {{6, 5, 4}: 1}, [{2, 1}])",
    )
    .await;
    let (c, v, l) = nest_row(&h).await.expect("found under the sorted key");
    assert_eq!(c, nested_value(&[7, 8, 9], 2));
    assert_eq!(v, nested_value(&[4, 5, 6], 1));
    assert_eq!(l, CqlValue::List(vec![int_set(&[1, 2])]));
}

#[tokio::test]
async fn a_row_written_sorted_is_updated_through_an_unsorted_bound_key() {
    let h = nest_harness();
    h.ok("INSERT INTO nest (k, c, v, l) VALUES ({{4, 5, 6}: 1}, {{7, 8, 9}: 2}, {}, [])")
        .await;
    let values = [
        val(&nested(), &nested_value(&[3, 3, 1], 0)),
        val(&nested(), &nested_value(&[6, 5, 4], 1)),
        val(&nested(), &nested_value(&[9, 8, 7], 2)),
    ];
    h.run("UPDATE nest SET v = ? WHERE k = ? AND c = ?", &values)
        .await
        .unwrap();
    let (_, v, _) = nest_row(&h).await.expect("one row");
    assert_eq!(v, nested_value(&[1, 3], 0));
}

#[tokio::test]
async fn equal_operations_on_one_cell_keep_the_greater_value() {
    let h = Harness::new();
    h.ok("UPDATE kv SET m['a'] = 9, m['a'] = 6 WHERE k = 1")
        .await;
    h.ok("UPDATE kv SET m['b'] = 6, m['b'] = 9 WHERE k = 1")
        .await;
    h.ok("UPDATE kv SET m = m + {'c': 9}, m['c'] = 6 WHERE k = 1")
        .await;
    let entry = |k: &str, v| (text(k), int(v));
    assert_eq!(
        h.value("kv", 1, "m").await,
        Some(CqlValue::Map(vec![
            entry("a", 9),
            entry("b", 9),
            entry("c", 9)
        ]))
    );
}

#[tokio::test]
async fn a_removal_beats_an_addition_of_one_statement() {
    let h = Harness::new();
    h.ok("UPDATE kv SET s = s - {'c'}, s = s + {'c', 'd'} WHERE k = 1")
        .await;
    h.ok("UPDATE kv SET m = m + {'x': 1}, m = m - {'x'}, m['y'] = 2 WHERE k = 1")
        .await;
    h.ok("UPDATE kv SET m['z'] = 3, m['z'] = null WHERE k = 1")
        .await;
    assert_eq!(
        h.value("kv", 1, "s").await,
        Some(CqlValue::Set(vec![text("d")]))
    );
    assert_eq!(
        h.value("kv", 1, "m").await,
        Some(CqlValue::Map(vec![(text("y"), int(2))]))
    );
}

#[tokio::test]
async fn whole_column_and_element_operations_do_not_mix_in_one_statement() {
    let h = Harness::new();
    let err = h
        .err("UPDATE kv SET l = [1], l = l + [2] WHERE k = 1", &[])
        .await;
    assert_eq!(err, "Multiple incompatible setting of column l");
}

#[tokio::test]
async fn statements_of_a_batch_on_one_cell_reconcile_too() {
    let h = Harness::new();
    h.ok("BEGIN BATCH \
          UPDATE kv SET v = 9, s = s + {'c'} WHERE k = 1; \
          UPDATE kv SET v = 6, s = s - {'c'}, m['a'] = 1 WHERE k = 1; \
          UPDATE kv SET m['a'] = null, l = [1] WHERE k = 1; \
          UPDATE kv SET l = l + [2] WHERE k = 1 \
          APPLY BATCH")
        .await;
    assert_eq!(h.value("kv", 1, "v").await, Some(int(9)));
    assert_eq!(h.value("kv", 1, "s").await, None);
    assert_eq!(h.value("kv", 1, "m").await, None);
    assert_eq!(
        h.value("kv", 1, "l").await,
        Some(ints(&[1, 2])),
        "the overwrite deletes just before the batch's timestamp"
    );
}

#[tokio::test]
async fn prepends_in_one_batch_come_out_last_first() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, l) VALUES (1, [0])").await;
    h.ok("BEGIN BATCH \
          UPDATE kv SET l = [1] + l WHERE k = 1; \
          UPDATE kv SET l = [2] + l WHERE k = 1; \
          UPDATE kv SET l = [3, 4] + l WHERE k = 1 \
          APPLY BATCH")
        .await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[3, 4, 2, 1, 0])));
}

#[tokio::test]
async fn appends_with_equal_timestamps_both_survive() {
    let h = Harness::new();
    h.ok("UPDATE kv USING TIMESTAMP 1000 SET l = l + [1] WHERE k = 1")
        .await;
    h.ok("UPDATE kv USING TIMESTAMP 1000 SET l = l + [2] WHERE k = 1")
        .await;
    h.ok("UPDATE kv USING TIMESTAMP 1000 SET l = [0] + l WHERE k = 1")
        .await;
    h.ok("UPDATE kv USING TIMESTAMP 1000 SET l = [-1] + l WHERE k = 1")
        .await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[-1, 0, 1, 2])));
}

#[tokio::test]
async fn list_operations_of_one_statement_see_the_earlier_ones() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, l) VALUES (1, [1, 2, 3, 4])").await;
    h.ok("UPDATE kv SET l[2] = 7, l[2] = 8 WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2, 8, 4])));
    h.ok("UPDATE kv SET l[2] = 9, l[2] = 6 WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2, 9, 4])));
    h.ok("DELETE l[2], l[2] FROM kv WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2])));
    h.ok("UPDATE kv SET l = l + [3, 4], l[3] = 7 WHERE k = 1")
        .await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2, 3, 7])));
    h.ok("UPDATE kv SET l = l - [3], l[2] = 8 WHERE k = 1")
        .await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2, 8])));
    let e = h
        .err("UPDATE kv SET l = l - [8], l[2] = 4 WHERE k = 1", &[])
        .await;
    assert_eq!(e, "List index 2 out of bound, list has size 2");
    h.ok("UPDATE kv SET l[1] = 3, l = l - [3] WHERE k = 1")
        .await;
    assert_eq!(
        h.value("kv", 1, "l").await,
        Some(ints(&[1, 8])),
        "the element set first is removed"
    );
}
