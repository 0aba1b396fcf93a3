//! Preparing: what is refused (with Cassandra's wording) and how markers are registered.

use cql_lite::types::CqlType;

use super::*;

fn prepare_err(h: &Harness, cql: &str) -> String {
    h.prepare(cql).unwrap_err().message
}

#[test]
fn markers_are_registered_in_text_order_with_receiver_names() {
    let h = Harness::new();
    let (_, m) = h
        .prepare(
            "UPDATE kv USING TTL ? AND TIMESTAMP ? SET m[?] = ?, l = l + ?, v = :val WHERE k = ?",
        )
        .unwrap();
    let names: Vec<(&str, &CqlType)> = m.specs().iter().map(|s| (s.name.as_str(), &s.ty)).collect();
    assert_eq!(
        names,
        [
            ("[ttl]", &CqlType::Int),
            ("[timestamp]", &CqlType::Bigint),
            ("key(m)", &CqlType::Text),
            ("value(m)", &CqlType::Int),
            ("l", &list(CqlType::Int)),
            ("val", &CqlType::Int),
            ("k", &CqlType::Int),
        ]
    );
    let (_, m) = h
        .prepare("INSERT INTO kv (v, k, t) VALUES (?, ?, ?) USING TTL ?")
        .unwrap();
    let names: Vec<&str> = m.specs().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["v", "k", "t", "[ttl]"]);
    let (_, m) = h
        .prepare("INSERT INTO kv (k, v) VALUES (?, ?) USING TIMESTAMP ? AND TTL ?")
        .unwrap();
    let names: Vec<&str> = m.specs().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["k", "v", "[timestamp]", "[ttl]"]);
    let (_, m) = h
        .prepare("DELETE l[?] FROM kv USING TIMESTAMP ? WHERE k IN ?")
        .unwrap();
    let names: Vec<&str> = m.specs().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["idx(l)", "[timestamp]", "in(k)"]);
    assert_eq!(m.specs()[2].ty, list(CqlType::Int));
}

#[test]
fn pk_indexes_name_the_markers_of_the_partition_key() {
    let h = Harness::new();
    let (p, _) = h
        .prepare("INSERT INTO two (v, b, c1, a, c2) VALUES (?, ?, ?, ?, ?)")
        .unwrap();
    assert_eq!(p.pk_indexes(), [3, 1]);
    let (p, _) = h
        .prepare("UPDATE two SET v = ? WHERE a = 1 AND b = ? AND c1 = ? AND c2 = ?")
        .unwrap();
    assert!(p.pk_indexes().is_empty(), "a literal key part: no routing");
    let (p, _) = h.prepare("DELETE FROM kv WHERE k IN (?, ?)").unwrap();
    assert!(p.pk_indexes().is_empty());
    let (p, _) = h.prepare("DELETE FROM kv WHERE k = ?").unwrap();
    assert_eq!(p.pk_indexes(), [0]);
    assert_eq!(p.keyspace(), "ks");
    assert_eq!(p.table().name, "kv");
}

#[test]
fn missing_key_parts_are_named() {
    let h = Harness::new();
    let e = prepare_err(&h, "INSERT INTO two (a, c1, c2, v) VALUES (1, 2, 3, 4)");
    assert_eq!(e, "Some partition key parts are missing: b");
    let e = prepare_err(&h, "INSERT INTO two (a, b, c1, v) VALUES (1, 'x', 3, 4)");
    assert_eq!(e, "Some clustering keys are missing: c2");
    let e = prepare_err(&h, "UPDATE wide SET v = 1 WHERE k = 1");
    assert_eq!(e, "Some clustering keys are missing: c");
    let e = prepare_err(&h, "INSERT INTO wide (k) VALUES (1)");
    assert_eq!(e, "Some clustering keys are missing: c");
    let e = prepare_err(&h, "DELETE FROM two WHERE a = 1");
    assert_eq!(e, "Some partition key parts are missing: b");
}

#[test]
fn static_only_writes_need_no_clustering_and_refuse_it_in_update() {
    let h = Harness::new();
    h.prepare("INSERT INTO wide (k, st) VALUES (1, 2)").unwrap();
    h.prepare("UPDATE wide SET st = 2 WHERE k = 1").unwrap();
    h.prepare("DELETE st FROM wide WHERE k = 1").unwrap();
    let e = prepare_err(&h, "UPDATE wide SET st = 2 WHERE k = 1 AND c = 1");
    assert!(e.contains("modifies only static columns"), "{e}");
    let e = prepare_err(&h, "DELETE st FROM wide WHERE k = 1 AND c = 1");
    assert!(
        e.contains("DELETE statement modifies only static columns"),
        "{e}"
    );
}

#[test]
fn where_clause_restrictions_follow_cassandras_rules() {
    let h = Harness::new();
    let cases = [
        (
            "UPDATE kv SET v = 1 WHERE k > 1",
            "Only EQ and IN relation are supported on the partition key",
        ),
        (
            "UPDATE kv SET v = 1 WHERE k = 1 AND v = 2",
            "Non PRIMARY KEY columns found in where clause: v",
        ),
        (
            "UPDATE kv SET v = 1 WHERE k = 1 AND nope = 2",
            "Undefined column name nope",
        ),
        (
            "UPDATE kv SET v = 1 WHERE k = 1 AND k = 2",
            "cannot be restricted by more than one relation",
        ),
        (
            "UPDATE wide SET v = 1 WHERE k = 1 AND c > 2",
            "Slice restrictions are not supported on the clustering columns in UPDATE statements",
        ),
        (
            "DELETE FROM two WHERE a = 1 AND b = 'x' AND c2 = 1",
            "PRIMARY KEY column \"c2\" cannot be restricted as preceding column \"c1\" is not restricted",
        ),
        (
            "DELETE FROM two WHERE a = 1 AND b = 'x' AND c1 > 1 AND c2 = 1",
            "Clustering column \"c2\" cannot be restricted (preceding column \"c1\" is restricted by a non-EQ relation)",
        ),
        (
            "DELETE FROM wide WHERE k = 1 AND c > 1 AND c > 2",
            "More than one restriction was found for the start bound on c",
        ),
        (
            "DELETE FROM wide WHERE token(k) > 1",
            "token function cannot be used",
        ),
        (
            "DELETE FROM two WHERE a = 1 AND b = 'x' AND (c1, c2) = (1, 2)",
            "Multi-column relations are not supported",
        ),
        (
            "DELETE v FROM wide WHERE k = 1 AND c > 1",
            "Range deletions are not supported for specific columns",
        ),
        (
            "DELETE v FROM wide WHERE k = 1",
            "Range deletions are not supported for specific columns",
        ),
    ];
    for (cql, expected) in cases {
        let e = prepare_err(&h, cql);
        assert!(e.contains(expected), "{cql}: {e}");
    }
}

#[test]
fn operations_must_fit_the_column_type() {
    let h = Harness::new();
    let cases = [
        (
            "UPDATE kv SET k = 1 WHERE k = 1",
            "PRIMARY KEY part k found in SET part",
        ),
        (
            "UPDATE kv SET v = v + 1 WHERE k = 1",
            "for non counter column v",
        ),
        (
            "UPDATE kv SET fl = fl + [1] WHERE k = 1",
            "for frozen collection column fl",
        ),
        (
            "UPDATE kv SET s = ['a'] + s WHERE k = 1",
            "for non list column s",
        ),
        ("UPDATE kv SET s['a'] = 'b' WHERE k = 1", "for set column s"),
        (
            "UPDATE kv SET v[0] = 1 WHERE k = 1",
            "for non collection column v",
        ),
        (
            "UPDATE kv SET v = 1, v = 2 WHERE k = 1",
            "Multiple incompatible setting of column v",
        ),
        (
            "UPDATE kv SET l = [1], l = l + [2] WHERE k = 1",
            "Multiple incompatible setting of column l",
        ),
        (
            "DELETE k FROM kv WHERE k = 1",
            "Invalid identifier k for deletion (should not be a PRIMARY KEY part)",
        ),
        (
            "DELETE v[1] FROM kv WHERE k = 1",
            "Invalid deletion operation for non collection column v",
        ),
        (
            "DELETE fl[1] FROM kv WHERE k = 1",
            "Invalid deletion operation for frozen collection column fl",
        ),
        (
            "INSERT INTO kv (k, v, v) VALUES (1, 2, 3)",
            "The column names contains duplicates",
        ),
        (
            "INSERT INTO kv (k, nope) VALUES (1, 2)",
            "Undefined column name nope",
        ),
        ("INSERT INTO kv (k, v) VALUES (1, 'x')", "Invalid"),
    ];
    for (cql, expected) in cases {
        let e = prepare_err(&h, cql);
        assert!(e.contains(expected), "{cql}: {e}");
    }
}

#[test]
fn unsupported_features_are_refused_by_name() {
    let h = Harness::new();
    let cases = [
        (
            "INSERT INTO kv (k, v) VALUES (1, 2) IF NOT EXISTS",
            "Conditional updates are not supported",
        ),
        (
            "UPDATE kv SET v = 1 WHERE k = 1 IF v = 2",
            "Conditional updates are not supported",
        ),
        (
            "UPDATE kv SET v = 1 WHERE k = 1 IF EXISTS",
            "Conditional updates are not supported",
        ),
        (
            "DELETE FROM kv WHERE k = 1 IF EXISTS",
            "Conditional updates are not supported",
        ),
        (
            "INSERT INTO kv JSON '{\"k\": 1}'",
            "INSERT JSON is not supported",
        ),
        (
            "DELETE FROM kv USING TTL 5 WHERE k = 1",
            "TTL attribute is not allowed for DELETE statements",
        ),
        ("INSERT INTO nope (k) VALUES (1)", "unconfigured table nope"),
        (
            "INSERT INTO other.kv (k) VALUES (1)",
            "Keyspace other does not exist",
        ),
    ];
    for (cql, expected) in cases {
        let stmt = cql_lite::parse(cql).unwrap();
        let e = WritePlan::prepare(&h.schema, Some("ks"), &stmt, &mut Markers::default())
            .unwrap_err()
            .message;
        assert!(e.contains(expected), "{cql}: {e}");
    }
}

#[test]
fn counters_and_system_tables_cannot_be_written() {
    let mut counters = table(&TableSpec {
        name: "hits",
        pk: &[("k", CqlType::Int)],
        ck: &[],
        statics: &[],
        regular: &[("n", CqlType::Counter)],
    });
    let h = Harness::with_tables(vec![counters.clone()]);
    let e = prepare_err(&h, "UPDATE hits SET n = n + 1 WHERE k = 1");
    assert!(e.contains("counters not supported"), "{e}");
    counters.name = "peers".into();
    counters.is_virtual = true;
    let h = Harness::with_tables(vec![counters]);
    let e = prepare_err(&h, "DELETE FROM peers WHERE k = 1");
    assert!(e.contains("cannot be modified"), "{e}");
}

#[test]
fn statements_without_a_keyspace_are_refused() {
    let h = Harness::new();
    let stmt = cql_lite::parse("INSERT INTO kv (k) VALUES (1)").unwrap();
    let e = WritePlan::prepare(&h.schema, None, &stmt, &mut Markers::default()).unwrap_err();
    assert!(
        e.message.contains("No keyspace has been specified"),
        "{}",
        e.message
    );
    let stmt = cql_lite::parse("SELECT * FROM kv").unwrap();
    assert!(WritePlan::prepare(&h.schema, Some("ks"), &stmt, &mut Markers::default()).is_err());
}

#[test]
fn plans_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WritePlan>();
    assert_send_sync::<BatchPlan>();
    let h = Harness::new();
    let (plan, _) = h.prepare("UPDATE kv SET l[0] = 1 WHERE k = 1").unwrap();
    let ctx = h.ctx();
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    assert_send(plan.mutations(&ctx, &[]));
    assert_send(execute(&plan, &ctx, &[]));
}
