//! End to end: statements executed against an in-memory engine and read back
//! through the coordinator.

use super::*;

#[tokio::test]
async fn inserted_values_read_back_and_expire_with_their_ttl() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, v, t) VALUES (1, 2, 'x') USING TTL 100")
        .await;
    assert_eq!(h.value("kv", 1, "v").await, Some(int(2)));
    assert_eq!(h.value("kv", 1, "t").await, Some(text("x")));
    let row = &h.read("kv", &[int(1)]).await.unwrap().rows[0];
    assert_eq!(row.liveness.unwrap().expiry, Some((100, NOW + 100)));
    assert!(
        h.read_at("kv", &[int(1)], NOW + 100, false).await.is_none(),
        "expired"
    );
    assert_eq!(h.writes()[0].1, WriteType::Simple);

    // texts' default_time_to_live = 50 applies without USING TTL.
    h.ok("INSERT INTO texts (k, v) VALUES ('a', 1)").await;
    let a = [text("a")];
    assert!(h.read_at("texts", &a, NOW + 49, false).await.is_some());
    assert!(h.read_at("texts", &a, NOW + 50, false).await.is_none());
}

#[tokio::test]
async fn rows_inserted_survive_losing_their_cells_rows_updated_do_not() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, v) VALUES (1, 2)").await;
    h.ok("UPDATE kv SET v = 3 WHERE k = 2").await;
    h.ok("DELETE v FROM kv WHERE k IN (1, 2)").await;
    let p = h.read("kv", &[int(1)]).await.unwrap();
    assert_eq!(p.rows.len(), 1, "the liveness marker keeps the row");
    assert_eq!(h.value("kv", 1, "v").await, None);
    assert!(
        h.read("kv", &[int(2)]).await.is_none(),
        "no marker: the row is gone"
    );
}

#[tokio::test]
async fn later_timestamps_win_and_using_timestamp_overrides_the_clock() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, v) VALUES (1, 1) USING TIMESTAMP 500")
        .await;
    h.ok("INSERT INTO kv (k, v) VALUES (1, 2) USING TIMESTAMP 400")
        .await;
    assert_eq!(h.value("kv", 1, "v").await, Some(int(1)));
    h.ok("DELETE FROM kv USING TIMESTAMP 450 WHERE k = 1").await;
    assert_eq!(
        h.value("kv", 1, "v").await,
        Some(int(1)),
        "the delete is older"
    );
    h.ok("DELETE FROM kv WHERE k = 1").await;
    assert!(h.read("kv", &[int(1)]).await.is_none());
}

#[tokio::test]
async fn list_operations_keep_cassandras_element_order() {
    let h = Harness::new();
    h.ok("INSERT INTO kv (k, l) VALUES (1, [1, 2])").await;
    h.ok("UPDATE kv SET l = l + [3, 4] WHERE k = 1").await;
    h.ok("UPDATE kv SET l = [-1, 0] + l WHERE k = 1").await;
    h.ok("UPDATE kv SET l = [-2] + l WHERE k = 1").await;
    assert_eq!(
        h.value("kv", 1, "l").await,
        Some(ints(&[-2, -1, 0, 1, 2, 3, 4]))
    );
    h.ok("UPDATE kv SET l[1] = 10 WHERE k = 1").await;
    assert_eq!(
        h.value("kv", 1, "l").await,
        Some(ints(&[-2, 10, 0, 1, 2, 3, 4]))
    );
    h.ok("UPDATE kv SET l = l + [2] WHERE k = 1").await;
    h.ok("UPDATE kv SET l = l - [2, 0] WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[-2, 10, 1, 3, 4])));
    // Each index counts in the list the earlier deletions left, as in Cassandra.
    let e = h.err("DELETE l[0], l[4] FROM kv WHERE k = 1", &[]).await;
    assert_eq!(e, "List index 4 out of bound, list has size 4");
    h.ok("DELETE l[0], l[3] FROM kv WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[10, 1, 3])));
    let e = h.err("UPDATE kv SET l[5] = 1 WHERE k = 1", &[]).await;
    assert_eq!(e, "List index 5 out of bound, list has size 3");
    let e = h.err("DELETE l[-1] FROM kv WHERE k = 1", &[]).await;
    assert_eq!(e, "List index -1 out of bound, list has size 3");
    h.ok("UPDATE kv SET l = [7] WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[7])));
    h.ok("UPDATE kv SET l = l - [7] WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "l").await, None, "an empty list is null");
    let e = h.err("UPDATE kv SET l[0] = 1 WHERE k = 1", &[]).await;
    assert_eq!(e, "Attempted to set an element on a list which is null");
    let e = h.err("DELETE l[0] FROM kv WHERE k = 1", &[]).await;
    assert_eq!(
        e,
        "Attempted to delete an element from a list which is null"
    );
    h.ok("UPDATE kv SET l = l - [1] WHERE k = 1").await;
}

#[tokio::test]
async fn static_lists_are_read_from_the_static_row() {
    let h = Harness::new();
    h.ok("INSERT INTO wide (k, c, v) VALUES (1, 1, 1)").await;
    h.ok("UPDATE wide SET sl = sl + [1, 2], st = 5 WHERE k = 1")
        .await;
    h.ok("UPDATE wide SET sl[1] = 20 WHERE k = 1").await;
    assert_eq!(h.value("wide", 1, "sl").await, Some(ints(&[1, 20])));
    assert_eq!(h.value("wide", 1, "st").await, Some(int(5)));
    h.ok("INSERT INTO wide (k, c, v) VALUES (1, 2, 2)").await;
    assert_eq!(h.read("wide", &[int(1)]).await.unwrap().rows.len(), 2);
}

#[tokio::test]
async fn sets_and_maps_merge_element_by_element() {
    let h = Harness::new();
    let strings = |v: &[&str]| CqlValue::Set(v.iter().map(|s| text(s)).collect());
    h.ok("INSERT INTO kv (k, s, m) VALUES (1, {'b', 'a'}, {'x': 1, 'y': 2})")
        .await;
    h.ok("UPDATE kv SET s = s + {'c'}, s = s - {'a'}, m['z'] = 3, m = m - {'x'} WHERE k = 1")
        .await;
    assert_eq!(h.value("kv", 1, "s").await, Some(strings(&["b", "c"])));
    let entries =
        |v: &[(&str, i32)]| CqlValue::Map(v.iter().map(|(k, v)| (text(k), int(*v))).collect());
    assert_eq!(
        h.value("kv", 1, "m").await,
        Some(entries(&[("y", 2), ("z", 3)]))
    );
    h.ok("DELETE m['y'], s['b'] FROM kv WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "m").await, Some(entries(&[("z", 3)])));
    assert_eq!(h.value("kv", 1, "s").await, Some(strings(&["c"])));
    h.ok("UPDATE kv SET m = {'q': 9} WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "m").await, Some(entries(&[("q", 9)])));
    h.ok("DELETE m FROM kv WHERE k = 1").await;
    assert_eq!(h.value("kv", 1, "m").await, None);
    h.ok("UPDATE kv USING TTL 10 SET s = s + {'t'} WHERE k = 1")
        .await;
    let p = h.read_at("kv", &[int(1)], NOW + 10, false).await.unwrap();
    let s = h.table("kv").column("s").unwrap().clone();
    assert_eq!(
        decode(&p.rows[0], &s, NOW + 10),
        Some(strings(&["c"])),
        "'t' expired"
    );
}

#[tokio::test]
async fn range_and_row_deletions_remove_what_they_cover() {
    let h = Harness::new();
    for c in 1..=10 {
        h.ok(&format!("INSERT INTO wide (k, c, v) VALUES (1, {c}, {c})"))
            .await;
    }
    h.ok("DELETE FROM wide WHERE k = 1 AND c > 7").await;
    h.ok("DELETE FROM wide WHERE k = 1 AND c >= 2 AND c < 4")
        .await;
    h.ok("DELETE FROM wide WHERE k = 1 AND c = 5").await;
    let layout = h.table("wide").clustering_layout().unwrap();
    let left: Vec<CqlValue> = h
        .read("wide", &[int(1)])
        .await
        .unwrap()
        .rows
        .iter()
        .map(|r| {
            rowcodec::decode_clustering(&layout, &r.clustering)
                .unwrap()
                .remove(0)
        })
        .collect();
    assert_eq!(left, [int(1), int(4), int(6), int(7)]);
    h.ok("DELETE FROM wide WHERE k = 1").await;
    assert!(h.read("wide", &[int(1)]).await.is_none());
    let tombstones = h.read_at("wide", &[int(1)], NOW, true).await;
    assert!(tombstones.is_none_or(|p| p.rows.iter().all(|r| !r.has_live_data(NOW))));
}

#[tokio::test]
async fn descending_clustering_ranges_delete_the_right_rows() {
    let h = Harness::new();
    for c2 in 1..=6 {
        h.ok(&format!(
            "INSERT INTO two (a, b, c1, c2, v) VALUES (1, 'x', 1, {c2}, 0)"
        ))
        .await;
    }
    h.ok("INSERT INTO two (a, b, c1, c2, v) VALUES (1, 'x', 2, 3, 0)")
        .await;
    h.ok("DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 = 1 AND c2 >= 2 AND c2 < 5")
        .await;
    let layout = h.table("two").clustering_layout().unwrap();
    let left: Vec<Vec<CqlValue>> = h
        .read("two", &[int(1), text("x")])
        .await
        .unwrap()
        .rows
        .iter()
        .map(|r| rowcodec::decode_clustering(&layout, &r.clustering).unwrap())
        .collect();
    assert_eq!(
        left,
        [
            vec![int(1), int(6)],
            vec![int(1), int(5)],
            vec![int(1), int(1)],
            vec![int(2), int(3)]
        ]
    );
}

/// An empty `IN` restricts to no value: the statement succeeds and writes
/// nothing, whether the list is literal or bound, on a partition key or a
/// clustering column; it never means "every row of the partition".
#[tokio::test]
async fn empty_in_lists_write_nothing() {
    let h = Harness::new();
    h.ok("INSERT INTO wide (k, c, st, v) VALUES (1, 1, 7, 10)")
        .await;
    h.ok("INSERT INTO two (a, b, c1, c2, v) VALUES (1, 'x', 1, 1, 11)")
        .await;
    let before = (
        h.read("wide", &[int(1)]).await,
        h.read("two", &[int(1), text("x")]).await,
    );
    let writes = h.writes().len();
    let empty = [val(&list(CqlType::Int), &ints(&[]))];
    let statements: [(&str, &[Value]); 12] = [
        ("UPDATE wide SET v = 1 WHERE k = 1 AND c IN ()", &[]),
        ("UPDATE wide SET v = 1 WHERE k IN () AND c = 1", &[]),
        ("UPDATE wide SET v = 1 WHERE k = 1 AND c IN ?", &empty),
        ("UPDATE wide SET st = 1 WHERE k IN ?", &empty),
        ("DELETE FROM wide WHERE k = 1 AND c IN ()", &[]),
        ("DELETE v FROM wide WHERE k = 1 AND c IN ()", &[]),
        ("DELETE FROM wide WHERE k = 1 AND c IN ?", &empty),
        ("DELETE FROM wide WHERE k IN ()", &[]),
        ("DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 IN ()", &[]),
        (
            "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 IN () AND c2 > 0",
            &[],
        ),
        ("DELETE FROM two WHERE a = 1 AND b IN () AND c1 = 1", &[]),
        (
            "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 IN ?",
            &empty,
        ),
    ];
    for (cql, values) in statements {
        if let Err(e) = h.run(cql, values).await {
            panic!("{cql}: {e:?}");
        }
        assert_eq!(h.writes().len(), writes, "{cql} wrote");
    }
    let after = (
        h.read("wide", &[int(1)]).await,
        h.read("two", &[int(1), text("x")]).await,
    );
    assert_eq!(after, before);
    // The same statements with a value do write, so the plans are sound.
    let one = val(&list(CqlType::Int), &ints(&[1]));
    h.run("DELETE FROM wide WHERE k = 1 AND c IN ?", &[one])
        .await
        .unwrap();
    assert_eq!(h.writes().len(), writes + 1);
}
