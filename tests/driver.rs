//! The node driven by an unmodified `scylla` driver: connecting with schema
//! metadata and token-aware routing, DDL, every CQL type through bound values,
//! prepared statements, paging, batches, TTL, last-write-wins, and each class
//! of error the server reports.
//!
//! Each test starts its own node, so tests share nothing and run in parallel.
#![expect(
    clippy::too_many_lines,
    reason = "each test is one end-to-end scenario that reads top to bottom"
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use scylla::value::{
    CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlVarint,
};
use scylla::{DeserializeRow, SerializeRow};
use support::{TestNode, bounded};
use uuid::Uuid;

const KS: &str = "drv";

/// Creates the test keyspace; the driver waits for schema agreement itself.
async fn create_keyspace(session: &Session) {
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE {KS} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            &[],
        )
        .await
        .expect("CREATE KEYSPACE");
}

async fn run(session: &Session, cql: &str) {
    session
        .query_unpaged(cql, &[])
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
}

/// The server error behind a failed request, whether it failed when the driver
/// prepared it or when it ran.
fn db_error(err: &ExecutionError) -> &DbError {
    match err {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(e, _)) => e,
        ExecutionError::PrepareError(e) => prepare_db_error(e),
        other => panic!("expected a server error, got {other:?}"),
    }
}

fn prepare_db_error(err: &PrepareError) -> &DbError {
    match err {
        PrepareError::AllAttemptsFailed {
            first_attempt: RequestAttemptError::DbError(e, _),
        } => e,
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// After an error the connection and the node must still answer normally.
async fn assert_alive(session: &Session) {
    let rows = session
        .query_unpaged("SELECT release_version FROM system.local", &[])
        .await
        .expect("a normal query after an error")
        .into_rows_result()
        .expect("rows");
    let (version,) = rows.single_row::<(String,)>().expect("one row");
    assert!(!version.is_empty());
}

// ---------------------------------------------------------------------------
// Connecting: metadata and token-aware routing
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_schema_metadata_and_token_aware_routing() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.tok (a int, b text, c int, d text, v int, \
             PRIMARY KEY ((a, b), c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC)",
        )
        .await;
        session.await_schema_agreement().await.expect("agreement");
        session.refresh_metadata().await.expect("metadata refresh");

        let state = session.get_cluster_state();
        let nodes = state.get_nodes_info();
        assert_eq!(nodes.len(), 1, "one node: {nodes:?}");
        assert_eq!(nodes[0].address.ip(), node.addr.ip());
        assert_eq!(nodes[0].address.port(), node.addr.port());
        let keyspace = state.get_keyspace(KS).expect("keyspace in metadata");
        let table = keyspace.tables.get("tok").expect("table in metadata");
        assert_eq!(table.partition_key, ["a", "b"]);
        assert_eq!(table.clustering_key, ["c", "d"]);
        assert_eq!(table.columns.len(), 5);
        assert!(
            table
                .partitioner
                .as_deref()
                .is_none_or(|p| p.ends_with("Murmur3Partitioner")),
            "{:?}",
            table.partitioner
        );
        // System keyspaces are described too (cqlsh and drivers need them).
        assert!(state.get_keyspace("system").is_some());

        let insert = session
            .prepare("INSERT INTO drv.tok (a, b, c, d, v) VALUES (?, ?, ?, ?, ?)")
            .await
            .expect("prepare insert");
        assert!(insert.is_token_aware(), "partition key indexes are sent");
        let select = session
            .prepare("SELECT token(a, b) FROM drv.tok WHERE a = ? AND b = ?")
            .await
            .expect("prepare select");
        assert!(select.is_token_aware());

        for (a, b) in [(7, "seven"), (-1, ""), (i32::MAX, "ünïcode")] {
            session
                .execute_unpaged(&insert, (a, b, 1, "d", 10))
                .await
                .expect("insert");
            let driver_token = insert
                .calculate_token(&(a, b, 1, "d", 10))
                .expect("token computed")
                .expect("the statement has a partition key");
            let from_metadata = state
                .compute_token(KS, "tok", &(a, b))
                .expect("token from metadata");
            assert_eq!(driver_token, from_metadata);
            let (server_token,) = session
                .execute_unpaged(&select, (a, b))
                .await
                .expect("select token")
                .into_rows_result()
                .expect("rows")
                .single_row::<(i64,)>()
                .expect("one row");
            assert_eq!(server_token, driver_token.value(), "token({a}, {b:?})");
            let replicas = state.get_token_endpoints(KS, "tok", driver_token);
            assert!(
                replicas
                    .iter()
                    .any(|(n, _)| n.address.port() == node.addr.port()),
                "replicas for {a}: {replicas:?}"
            );
        }

        // NetworkTopologyStrategy in the node's own datacenter routes to it too.
        let dc = nodes[0]
            .datacenter
            .clone()
            .expect("the node has a datacenter");
        run(
            &session,
            &format!(
                "CREATE KEYSPACE nts WITH replication = \
                 {{'class': 'NetworkTopologyStrategy', '{dc}': 1}}"
            ),
        )
        .await;
        run(&session, "CREATE TABLE nts.t (k int PRIMARY KEY)").await;
        session.refresh_metadata().await.expect("metadata refresh");
        let state = session.get_cluster_state();
        let token = state.compute_token("nts", "t", &(5,)).expect("token");
        let replicas = state.get_token_endpoints("nts", "t", token);
        assert_eq!(replicas.len(), 1, "{replicas:?}");
        assert_eq!(replicas[0].0.address.port(), node.addr.port());
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_create_alter_drop_with_schema_agreement() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE KEYSPACE IF NOT EXISTS drv WITH replication = \
             {'class': 'SimpleStrategy', 'replication_factor': 3}",
        )
        .await;
        run(
            &session,
            "ALTER KEYSPACE drv WITH replication = \
             {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = true",
        )
        .await;
        run(&session, "CREATE TABLE drv.t (k int PRIMARY KEY, v text)").await;
        run(
            &session,
            "CREATE TABLE IF NOT EXISTS drv.t (k int PRIMARY KEY, other int)",
        )
        .await;
        run(&session, "ALTER TABLE drv.t ADD extra int").await;
        session.await_schema_agreement().await.expect("agreement");
        run(
            &session,
            "INSERT INTO drv.t (k, v, extra) VALUES (1, 'one', 11)",
        )
        .await;
        let row = session
            .query_unpaged("SELECT k, v, extra FROM drv.t WHERE k = 1", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<(i32, String, i32)>()
            .expect("row");
        assert_eq!(row, (1, "one".to_owned(), 11));

        session.refresh_metadata().await.expect("refresh");
        let state = session.get_cluster_state();
        let table = &state.get_keyspace(KS).expect("ks").tables["t"];
        assert!(table.columns.contains_key("extra"));
        assert!(!table.columns.contains_key("other"));

        run(&session, "ALTER TABLE drv.t DROP extra").await;
        let err = session
            .query_unpaged("SELECT extra FROM drv.t", &[])
            .await
            .expect_err("dropped column");
        assert!(matches!(db_error(&err), DbError::Invalid), "{err}");
        // Re-adding a dropped column with the same type is allowed and starts empty.
        run(&session, "ALTER TABLE drv.t ADD extra int").await;
        let (extra,) = session
            .query_unpaged("SELECT extra FROM drv.t WHERE k = 1", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<(Option<i32>,)>()
            .expect("row");
        assert_eq!(extra, None, "data of a dropped column stays dropped");

        run(&session, "DROP TABLE drv.t").await;
        run(&session, "DROP TABLE IF EXISTS drv.t").await;
        let err = session
            .query_unpaged("SELECT * FROM drv.t", &[])
            .await
            .expect_err("dropped table");
        assert!(matches!(db_error(&err), DbError::Invalid), "{err}");
        run(&session, "CREATE TABLE drv.t (k int PRIMARY KEY, v int)").await;
        let rows = session
            .query_unpaged("SELECT * FROM drv.t", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows");
        assert_eq!(rows.rows_num(), 0, "a re-created table starts empty");

        run(&session, "DROP KEYSPACE drv").await;
        run(&session, "DROP KEYSPACE IF EXISTS drv").await;
        session.await_schema_agreement().await.expect("agreement");
        session.refresh_metadata().await.expect("refresh");
        assert!(session.get_cluster_state().get_keyspace(KS).is_none());
        let err = session
            .query_unpaged("DROP KEYSPACE drv", &[])
            .await
            .expect_err("no such keyspace");
        // Cassandra 4+ answers InvalidRequest here (3.x said ConfigurationException).
        assert!(matches!(db_error(&err), DbError::Invalid), "{err}");
        assert_alive(&session).await;
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Every type, through bound values
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, SerializeRow, DeserializeRow)]
struct AllTypes {
    k: i32,
    a_ascii: Option<String>,
    a_bigint: Option<i64>,
    a_blob: Option<Vec<u8>>,
    a_boolean: Option<bool>,
    a_date: Option<CqlDate>,
    a_decimal: Option<CqlDecimal>,
    a_double: Option<f64>,
    a_duration: Option<CqlDuration>,
    a_float: Option<f32>,
    a_inet: Option<IpAddr>,
    a_int: Option<i32>,
    a_smallint: Option<i16>,
    a_text: Option<String>,
    a_time: Option<CqlTime>,
    a_timestamp: Option<CqlTimestamp>,
    a_timeuuid: Option<CqlTimeuuid>,
    a_tinyint: Option<i8>,
    a_uuid: Option<Uuid>,
    a_varint: Option<CqlVarint>,
    l: Option<Vec<i32>>,
    s: Option<BTreeSet<String>>,
    m: Option<BTreeMap<String, i32>>,
    fl: Option<Vec<i32>>,
    fs: Option<BTreeSet<i32>>,
    fm: Option<BTreeMap<i32, String>>,
    tup: Option<(i32, String, f64)>,
    nested: Option<BTreeMap<String, Vec<i32>>>,
}

const ALL_TYPES_TABLE: &str = "CREATE TABLE drv.types (k int PRIMARY KEY, \
    a_ascii ascii, a_bigint bigint, a_blob blob, a_boolean boolean, a_date date, \
    a_decimal decimal, a_double double, a_duration duration, a_float float, a_inet inet, \
    a_int int, a_smallint smallint, a_text text, a_time time, a_timestamp timestamp, \
    a_timeuuid timeuuid, a_tinyint tinyint, a_uuid uuid, a_varint varint, \
    l list<int>, s set<text>, m map<text, int>, \
    fl frozen<list<int>>, fs frozen<set<int>>, fm frozen<map<int, text>>, \
    tup tuple<int, text, double>, nested frozen<map<text, frozen<list<int>>>>)";

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("a valid uuid literal")
}

fn full_row(k: i32) -> AllTypes {
    AllTypes {
        k,
        a_ascii: Some("plain ascii ~!".to_owned()),
        a_bigint: Some(i64::MIN),
        a_blob: Some(vec![0, 1, 2, 0x7f, 0x80, 0xff]),
        a_boolean: Some(true),
        // Days are offset by 2^31: this is 2022-01-08, and the epoch is 2^31.
        a_date: Some(CqlDate((1 << 31) + 19_000)),
        // 123.456 and a negative scale.
        a_decimal: Some(CqlDecimal::from_signed_be_bytes_and_exponent(
            vec![0x01, 0xe2, 0x40],
            3,
        )),
        a_double: Some(-1.5e300),
        a_duration: Some(CqlDuration {
            months: 14,
            days: 3,
            nanoseconds: 123_456_789,
        }),
        a_float: Some(3.25),
        a_inet: Some("2001:db8::1".parse().expect("ipv6")),
        a_int: Some(i32::MAX),
        a_smallint: Some(i16::MIN),
        a_text: Some("héllo wörld ✓ 日本".to_owned()),
        a_time: Some(CqlTime(13 * 3_600_000_000_000 + 1)),
        a_timestamp: Some(CqlTimestamp(1_700_000_000_123)),
        a_timeuuid: Some(CqlTimeuuid::from(uuid(
            "d2177dd0-eaa2-11de-a572-001b779c76e3",
        ))),
        a_tinyint: Some(i8::MIN),
        a_uuid: Some(uuid("550e8400-e29b-41d4-a716-446655440000")),
        a_varint: Some(CqlVarint::from_signed_bytes_be(vec![
            0x00, 0xff, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33,
        ])),
        l: Some(vec![3, 1, 2, 1]),
        s: Some(["b", "a", "c"].map(str::to_owned).into()),
        m: Some(BTreeMap::from([("x".to_owned(), 1), ("y".to_owned(), -2)])),
        fl: Some(vec![5, 4]),
        fs: Some([3, 1, 2].into()),
        fm: Some(BTreeMap::from([
            (2, "two".to_owned()),
            (1, "one".to_owned()),
        ])),
        tup: Some((1, "t".to_owned(), 2.5)),
        nested: Some(BTreeMap::from([
            ("a".to_owned(), vec![1, 2]),
            ("b".to_owned(), vec![]),
        ])),
    }
}

fn other_row(k: i32) -> AllTypes {
    AllTypes {
        a_ascii: Some(String::new()),
        a_bigint: Some(i64::MAX),
        a_blob: Some(Vec::new()),
        a_boolean: Some(false),
        a_date: Some(CqlDate(0)),
        a_decimal: Some(CqlDecimal::from_signed_be_bytes_and_exponent(
            vec![0x85],
            -2,
        )),
        a_double: Some(f64::INFINITY),
        a_duration: Some(CqlDuration {
            months: -1,
            days: -2,
            nanoseconds: -3,
        }),
        a_float: Some(f32::MIN_POSITIVE),
        a_inet: Some("10.1.2.3".parse().expect("ipv4")),
        a_int: Some(0),
        a_smallint: Some(i16::MAX),
        a_text: Some(String::new()),
        a_time: Some(CqlTime(0)),
        a_timestamp: Some(CqlTimestamp(-1)),
        a_tinyint: Some(i8::MAX),
        a_varint: Some(CqlVarint::from_signed_bytes_be(vec![0x80])),
        tup: Some((-1, String::new(), -0.5)),
        ..full_row(k)
    }
}

fn null_row(k: i32) -> AllTypes {
    AllTypes {
        k,
        a_ascii: None,
        a_bigint: None,
        a_blob: None,
        a_boolean: None,
        a_date: None,
        a_decimal: None,
        a_double: None,
        a_duration: None,
        a_float: None,
        a_inet: None,
        a_int: None,
        a_smallint: None,
        a_text: None,
        a_time: None,
        a_timestamp: None,
        a_timeuuid: None,
        a_tinyint: None,
        a_uuid: None,
        a_varint: None,
        l: None,
        s: None,
        m: None,
        fl: None,
        fs: None,
        fm: None,
        tup: None,
        nested: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_through_bound_values() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(&session, ALL_TYPES_TABLE).await;
        // Column names, not positions, decide where each field goes: the order
        // here differs from the table's on purpose.
        let insert = session
            .prepare(
                "INSERT INTO drv.types (nested, tup, fm, fs, fl, m, s, l, a_varint, a_uuid, \
                 a_tinyint, a_timeuuid, a_timestamp, a_time, a_text, a_smallint, a_int, \
                 a_inet, a_float, a_duration, a_double, a_decimal, a_date, a_boolean, \
                 a_blob, a_bigint, a_ascii, k) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
                 ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .await
            .expect("prepare insert");
        let select = session
            .prepare("SELECT * FROM drv.types WHERE k = ?")
            .await
            .expect("prepare select");
        let extremes = AllTypes {
            a_date: Some(CqlDate(u32::MAX)),
            a_timestamp: Some(CqlTimestamp(i64::MIN)),
            a_time: Some(CqlTime(86_399_999_999_999)),
            a_double: Some(f64::NEG_INFINITY),
            a_float: Some(-0.0),
            a_inet: Some("::ffff:1.2.3.4".parse().expect("mapped v4")),
            a_decimal: Some(CqlDecimal::from_signed_be_bytes_and_exponent(
                vec![0x7f; 40],
                i32::MIN,
            )),
            a_duration: Some(CqlDuration {
                months: i32::MAX,
                days: i32::MAX,
                nanoseconds: i64::MAX,
            }),
            ..other_row(6)
        };
        for row in [full_row(1), other_row(2), null_row(3), extremes] {
            session
                .execute_unpaged(&insert, &row)
                .await
                .unwrap_or_else(|e| panic!("insert {}: {e}", row.k));
            let back = session
                .execute_unpaged(&select, (row.k,))
                .await
                .expect("select")
                .into_rows_result()
                .expect("rows")
                .single_row::<AllTypes>()
                .expect("one row");
            assert_eq!(back, row);
        }
        // Empty non-frozen collections are no cells at all, so they read as null;
        // empty frozen ones are values.
        let empty = AllTypes {
            l: Some(vec![]),
            s: Some(BTreeSet::new()),
            m: Some(BTreeMap::new()),
            fl: Some(vec![]),
            fs: Some(BTreeSet::new()),
            fm: Some(BTreeMap::new()),
            ..null_row(4)
        };
        session
            .execute_unpaged(&insert, &empty)
            .await
            .expect("insert empties");
        let back = session
            .execute_unpaged(&select, (4,))
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<AllTypes>()
            .expect("one row");
        let expected = AllTypes {
            fl: Some(vec![]),
            fs: Some(BTreeSet::new()),
            fm: Some(BTreeMap::new()),
            ..null_row(4)
        };
        assert_eq!(back, expected);

        // The same values written as literals read back equal to the bound ones.
        run(
            &session,
            "INSERT INTO drv.types (k, a_ascii, a_bigint, a_blob, a_boolean, a_date, a_decimal, \
             a_double, a_duration, a_float, a_inet, a_int, a_smallint, a_text, a_time, \
             a_timestamp, a_timeuuid, a_tinyint, a_uuid, a_varint, l, s, m, fl, fs, fm, tup, \
             nested) VALUES (5, 'plain ascii ~!', -9223372036854775808, 0x0001027f80ff, true, \
             '2022-01-08', 123.456, -1.5e300, 1y2mo3d123ms456us789ns, 3.25, '2001:db8::1', \
             2147483647, -32768, 'héllo wörld ✓ 日本', '13:00:00.000000001', \
             1700000000123, d2177dd0-eaa2-11de-a572-001b779c76e3, -128, \
             550e8400-e29b-41d4-a716-446655440000, 1234567890123456789 , [3, 1, 2, 1], \
             {'b', 'a', 'c'}, {'x': 1, 'y': -2}, [5, 4], {3, 1, 2}, {2: 'two', 1: 'one'}, \
             (1, 't', 2.5), {'a': [1, 2], 'b': []})",
        )
        .await;
        let back = session
            .execute_unpaged(&select, (5,))
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<AllTypes>()
            .expect("one row");
        let expected = AllTypes {
            a_varint: Some(CqlVarint::from_signed_bytes_be(
                1_234_567_890_123_456_789_i64.to_be_bytes().to_vec(),
            )),
            ..full_row(5)
        };
        assert_eq!(back, expected);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Prepared statements: positional and named values
// ---------------------------------------------------------------------------

#[derive(Debug, SerializeRow)]
struct Named {
    key: i32,
    val: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_with_positional_and_named_values() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.p (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))",
        )
        .await;
        let positional = session
            .prepare("INSERT INTO drv.p (k, c, v) VALUES (?, ?, ?)")
            .await
            .expect("prepare");
        for c in 0..5 {
            session
                .execute_unpaged(&positional, (1, c, format!("v{c}")))
                .await
                .expect("insert");
        }
        // Named markers: the driver matches struct fields to the names in the
        // prepared metadata, whatever the text order.
        let named = session
            .prepare("UPDATE drv.p SET v = :val WHERE k = :key AND c = 10")
            .await
            .expect("prepare named");
        let names: Vec<&str> = named
            .get_variable_col_specs()
            .iter()
            .map(|spec| spec.name())
            .collect();
        assert_eq!(names, ["val", "key"]);
        session
            .execute_unpaged(
                &named,
                Named {
                    key: 1,
                    val: "named".to_owned(),
                },
            )
            .await
            .expect("update with named values");
        // Both kinds of marker, and a marker inside a collection operation.
        let append = session
            .prepare("UPDATE drv.p SET l = l + ? WHERE k = ? AND c = ?")
            .await
            .expect("prepare append");
        session
            .execute_unpaged(&append, (vec![1, 2], 1, 0))
            .await
            .expect("append");
        session
            .execute_unpaged(&append, (vec![3], 1, 0))
            .await
            .expect("append");

        let range = session
            .prepare("SELECT c, v FROM drv.p WHERE k = :k AND c >= :lo AND c < :hi")
            .await
            .expect("prepare range");
        let rows: Vec<(i32, String)> = session
            .execute_unpaged(&range, (1, 1, 11))
            .await
            .expect("range")
            .into_rows_result()
            .expect("rows")
            .rows::<(i32, String)>()
            .expect("typed")
            .collect::<Result<_, _>>()
            .expect("decode");
        let expected: Vec<(i32, String)> = [1, 2, 3, 4]
            .map(|c| (c, format!("v{c}")))
            .into_iter()
            .chain([(10, "named".to_owned())])
            .collect();
        assert_eq!(rows, expected);
        let (l,) = session
            .query_unpaged("SELECT l FROM drv.p WHERE k = ? AND c = ?", (1, 0))
            .await
            .expect("select with values")
            .into_rows_result()
            .expect("rows")
            .single_row::<(Vec<i32>,)>()
            .expect("row");
        assert_eq!(l, [1, 2, 3]);
        // IN with a bound list.
        let in_list = session
            .prepare("SELECT c FROM drv.p WHERE k = ? AND c IN ?")
            .await
            .expect("prepare IN");
        let cs: Vec<i32> = session
            .execute_unpaged(&in_list, (1, vec![4, 0, 10, 99]))
            .await
            .expect("IN")
            .into_rows_result()
            .expect("rows")
            .rows::<(i32,)>()
            .expect("typed")
            .map(|r| r.expect("decode").0)
            .collect();
        assert_eq!(cs, [0, 4, 10]);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------

const PAGE: i32 = 333;
const ROWS: i32 = 10_000;

async fn insert_all(session: &Session, insert: &PreparedStatement, rows: Vec<(i32, i32)>) {
    futures::stream::iter(rows)
        .map(|(p, c)| session.execute_unpaged(insert, (p, c, format!("value {c}"))))
        .buffer_unordered(64)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("inserts");
}

/// Reads every page by hand so each page's size can be checked.
async fn pages(session: &Session, statement: &PreparedStatement, values: (i32,)) -> Vec<Vec<i32>> {
    let mut state = PagingState::start();
    let mut pages = Vec::new();
    loop {
        let (result, next) = session
            .execute_single_page(statement, values, state)
            .await
            .expect("page");
        let page: Vec<i32> = result
            .into_rows_result()
            .expect("rows")
            .rows::<(i32,)>()
            .expect("typed")
            .map(|r| r.expect("decode").0)
            .collect();
        pages.push(page);
        match next {
            PagingStateResponse::HasMorePages { state: s } => state = s,
            PagingStateResponse::NoMorePages => return pages,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_ten_thousand_rows() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.one (p int, c int, v text, PRIMARY KEY (p, c))",
        )
        .await;
        run(
            &session,
            "CREATE TABLE drv.many (p int, c int, v text, PRIMARY KEY (p, c))",
        )
        .await;
        let insert_one = session
            .prepare("INSERT INTO drv.one (p, c, v) VALUES (?, ?, ?)")
            .await
            .expect("prepare");
        let insert_many = session
            .prepare("INSERT INTO drv.many (p, c, v) VALUES (?, ?, ?)")
            .await
            .expect("prepare");
        insert_all(&session, &insert_one, (0..ROWS).map(|c| (0, c)).collect()).await;
        insert_all(
            &session,
            &insert_many,
            (0..ROWS).map(|i| (i / 100, i % 100)).collect(),
        )
        .await;

        // One partition, page by page: full pages of exactly PAGE rows, in order.
        let mut by_hand = session
            .prepare("SELECT c FROM drv.one WHERE p = ?")
            .await
            .expect("prepare");
        by_hand.set_page_size(PAGE);
        let pages = pages(&session, &by_hand, (0,)).await;
        let full = usize::try_from(ROWS / PAGE).expect("small");
        assert!(
            pages.len() == full + 1 || pages.len() == full + 2,
            "{}",
            pages.len()
        );
        for page in &pages[..full] {
            assert_eq!(page.len(), PAGE as usize);
        }
        let all: Vec<i32> = pages.concat();
        assert_eq!(all, (0..ROWS).collect::<Vec<_>>());

        // The same partition backwards through the driver's pager.
        let mut reversed = session
            .prepare("SELECT c, v FROM drv.one WHERE p = ? ORDER BY c DESC")
            .await
            .expect("prepare");
        reversed.set_page_size(PAGE);
        let rows: Vec<(i32, String)> = session
            .execute_iter(reversed, (0,))
            .await
            .expect("pager")
            .rows_stream::<(i32, String)>()
            .expect("typed")
            .try_collect()
            .await
            .expect("all pages");
        assert_eq!(rows.len(), ROWS as usize);
        for (i, (c, v)) in rows.iter().enumerate() {
            let expected = ROWS - 1 - i32::try_from(i).expect("small");
            assert_eq!(
                (*c, v.as_str()),
                (expected, format!("value {expected}").as_str())
            );
        }

        // Across partitions: token order, clustering order inside each
        // partition, every row exactly once, tokens as the driver computes them.
        let scan = Statement::new("SELECT token(p), p, c FROM drv.many").with_page_size(PAGE);
        let rows: Vec<(i64, i32, i32)> = session
            .query_iter(scan, &[])
            .await
            .expect("pager")
            .rows_stream::<(i64, i32, i32)>()
            .expect("typed")
            .try_collect()
            .await
            .expect("all pages");
        assert_eq!(rows.len(), ROWS as usize);
        let state = session.get_cluster_state();
        for pair in rows.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(
                (a.0, a.1) < (b.0, b.1) || (a.1 == b.1 && a.2 < b.2),
                "out of order: {a:?} then {b:?}"
            );
        }
        let mut seen = BTreeSet::new();
        for (token, p, c) in &rows {
            assert!(seen.insert((*p, *c)), "({p}, {c}) twice");
            if *c == 0 {
                let expected = state.compute_token(KS, "many", &(*p,)).expect("token");
                assert_eq!(*token, expected.value(), "token({p})");
            }
        }
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

async fn select_kcv(session: &Session, table: &str) -> Vec<(i32, i32, String)> {
    let mut rows: Vec<(i32, i32, String)> = session
        .query_unpaged(format!("SELECT k, c, v FROM drv.{table}"), &[])
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .rows::<(i32, i32, String)>()
        .expect("typed")
        .collect::<Result<_, _>>()
        .expect("decode");
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_unlogged_and_mixed_batches() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.b (k int, c int, v text, PRIMARY KEY (k, c))",
        )
        .await;
        let insert = session
            .prepare("INSERT INTO drv.b (k, c, v) VALUES (?, ?, ?)")
            .await
            .expect("prepare");
        let update = session
            .prepare("UPDATE drv.b SET v = ? WHERE k = ? AND c = ?")
            .await
            .expect("prepare");

        // Logged, mixing prepared and text statements, across partitions.
        let mut logged = Batch::new(BatchType::Logged);
        logged.append_statement(insert.clone());
        logged.append_statement("INSERT INTO drv.b (k, c, v) VALUES (1, 2, 'text')");
        logged.append_statement(insert.clone());
        logged.append_statement(update.clone());
        session
            .batch(
                &logged,
                ((1, 1, "prepared"), (), (2, 1, "other"), ("updated", 2, 1)),
            )
            .await
            .expect("logged batch");
        assert_eq!(
            select_kcv(&session, "b").await,
            [
                (1, 1, "prepared".to_owned()),
                (1, 2, "text".to_owned()),
                (2, 1, "updated".to_owned()),
            ]
        );

        // Unlogged: a deletion and inserts in one partition.
        let mut unlogged = Batch::new(BatchType::Unlogged);
        unlogged.append_statement("DELETE FROM drv.b WHERE k = 1 AND c = 1");
        unlogged.append_statement(insert.clone());
        unlogged.append_statement(insert.clone());
        session
            .batch(&unlogged, ((), (1, 3, "three"), (1, 4, "four")))
            .await
            .expect("unlogged batch");
        assert_eq!(
            select_kcv(&session, "b").await,
            [
                (1, 2, "text".to_owned()),
                (1, 3, "three".to_owned()),
                (1, 4, "four".to_owned()),
                (2, 1, "updated".to_owned()),
            ]
        );

        // A text-only batch through a plain QUERY, and one statement with its own
        // timestamp losing to the batch's newer write.
        run(
            &session,
            "BEGIN BATCH USING TIMESTAMP 5000 \
             INSERT INTO drv.b (k, c, v) VALUES (3, 1, 'a'); \
             UPDATE drv.b SET v = 'b' WHERE k = 3 AND c = 2; \
             APPLY BATCH",
        )
        .await;
        run(
            &session,
            "INSERT INTO drv.b (k, c, v) VALUES (3, 1, 'old') USING TIMESTAMP 4999",
        )
        .await;
        let rows = select_kcv(&session, "b").await;
        assert!(rows.contains(&(3, 1, "a".to_owned())), "{rows:?}");
        assert!(rows.contains(&(3, 2, "b".to_owned())), "{rows:?}");

        // A batch that fails validation applies nothing.
        let mut bad = Batch::new(BatchType::Logged);
        bad.append_statement(insert.clone());
        bad.append_statement("INSERT INTO drv.b (k, c, nope) VALUES (9, 9, 'x')");
        let err = session
            .batch(&bad, ((9, 1, "first"), ()))
            .await
            .expect_err("unknown column");
        assert!(matches!(db_error(&err), DbError::Invalid), "{err}");
        let rows = select_kcv(&session, "b").await;
        assert!(rows.iter().all(|(k, _, _)| *k != 9), "{rows:?}");
        assert_alive(&session).await;
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// TTL and last-write-wins
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_expiry_and_ttl_function() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.ttl (k int PRIMARY KEY, v text, w int)",
        )
        .await;
        let insert = session
            .prepare("INSERT INTO drv.ttl (k, v) VALUES (?, ?) USING TTL ?")
            .await
            .expect("prepare");
        session
            .execute_unpaged(&insert, (1, "short", 1))
            .await
            .expect("insert ttl 1");
        session
            .execute_unpaged(&insert, (2, "long", 1000))
            .await
            .expect("insert ttl 1000");
        // A cell with no TTL inside an expiring row outlives the row marker.
        run(&session, "UPDATE drv.ttl SET w = 7 WHERE k = 1").await;

        let ttls = session
            .prepare("SELECT ttl(v), ttl(w) FROM drv.ttl WHERE k = ?")
            .await
            .expect("prepare ttl()");
        let (short, none) = session
            .execute_unpaged(&ttls, (1,))
            .await
            .expect("ttl(v)")
            .into_rows_result()
            .expect("rows")
            .single_row::<(Option<i32>, Option<i32>)>()
            .expect("row");
        // On a loaded machine the second may already be over: then the cell
        // has expired and ttl() is null, which is also right.
        assert!(matches!(short, Some(0..=1) | None), "{short:?}");
        assert_eq!(none, None);
        let (long, _) = session
            .execute_unpaged(&ttls, (2,))
            .await
            .expect("ttl(v)")
            .into_rows_result()
            .expect("rows")
            .single_row::<(Option<i32>, Option<i32>)>()
            .expect("row");
        assert!(matches!(long, Some(990..=1000)), "{long:?}");

        tokio::time::sleep(Duration::from_millis(2500)).await;
        let rows: Vec<(i32, Option<String>, Option<i32>)> = session
            .query_unpaged("SELECT k, v, w FROM drv.ttl", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .rows()
            .expect("typed")
            .collect::<Result<_, _>>()
            .expect("decode");
        let mut rows = rows;
        rows.sort();
        assert_eq!(
            rows,
            [(1, None, Some(7)), (2, Some("long".to_owned()), None)],
            "the expired cell is gone, the rest stays"
        );
        // A row whose only content expires disappears altogether.
        session
            .execute_unpaged(&insert, (3, "gone", 1))
            .await
            .expect("insert");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let rows = session
            .query_unpaged("SELECT * FROM drv.ttl WHERE k = 3", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows");
        assert_eq!(rows.rows_num(), 0);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

async fn value_of(session: &Session, k: i32) -> Option<String> {
    session
        .query_unpaged("SELECT v FROM drv.lww WHERE k = ?", (k,))
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .maybe_first_row::<(Option<String>,)>()
        .expect("decode")
        .and_then(|(v,)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_write_wins_with_using_timestamp() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(&session, "CREATE TABLE drv.lww (k int PRIMARY KEY, v text)").await;
        let write = session
            .prepare("INSERT INTO drv.lww (k, v) VALUES (?, ?) USING TIMESTAMP ?")
            .await
            .expect("prepare");
        let put = |k: i32, v: &'static str, ts: i64| {
            let write = &write;
            let session = &session;
            async move {
                session
                    .execute_unpaged(write, (k, v, ts))
                    .await
                    .expect("write");
            }
        };

        // An older timestamp loses, whatever the arrival order.
        put(1, "new", 2000).await;
        put(1, "old", 1000).await;
        assert_eq!(value_of(&session, 1).await.as_deref(), Some("new"));
        let (wt,) = session
            .query_unpaged("SELECT writetime(v) FROM drv.lww WHERE k = 1", &[])
            .await
            .expect("writetime")
            .into_rows_result()
            .expect("rows")
            .single_row::<(i64,)>()
            .expect("row");
        assert_eq!(wt, 2000);

        // Equal timestamps: the larger value wins, in either order.
        put(2, "a", 3000).await;
        put(2, "b", 3000).await;
        assert_eq!(value_of(&session, 2).await.as_deref(), Some("b"));
        put(3, "b", 3000).await;
        put(3, "a", 3000).await;
        assert_eq!(value_of(&session, 3).await.as_deref(), Some("b"));

        // Deletions: older ones lose, equal ones win, newer writes win again.
        let delete = session
            .prepare("DELETE FROM drv.lww USING TIMESTAMP ? WHERE k = ?")
            .await
            .expect("prepare delete");
        session
            .execute_unpaged(&delete, (2999_i64, 2))
            .await
            .expect("delete");
        assert_eq!(value_of(&session, 2).await.as_deref(), Some("b"));
        session
            .execute_unpaged(&delete, (3000_i64, 2))
            .await
            .expect("delete");
        assert_eq!(value_of(&session, 2).await, None);
        put(2, "z", 3000).await;
        assert_eq!(
            value_of(&session, 2).await,
            None,
            "a tie goes to the tombstone"
        );
        put(2, "later", 3001).await;
        assert_eq!(value_of(&session, 2).await.as_deref(), Some("later"));

        // Without USING TIMESTAMP the driver's client-side timestamp (now) wins
        // over the small explicit ones above.
        run(&session, "INSERT INTO drv.lww (k, v) VALUES (1, 'now')").await;
        assert_eq!(value_of(&session, 1).await.as_deref(), Some("now"));
        drop(session);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_class_and_the_server_keeps_serving() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(&session, "CREATE TABLE drv.e (k int PRIMARY KEY, v text)").await;

        // Syntax errors, through QUERY and through PREPARE.
        let err = session
            .query_unpaged("SELEC * FROM drv.e", &[])
            .await
            .expect_err("syntax");
        assert!(matches!(db_error(&err), DbError::SyntaxError), "{err}");
        assert_alive(&session).await;
        let err = session
            .prepare("INSERT INTO drv.e (k, v) VALUES (?, ?")
            .await
            .expect_err("syntax");
        assert!(
            matches!(prepare_db_error(&err), DbError::SyntaxError),
            "{err}"
        );
        assert_alive(&session).await;

        // Invalid: unknown table, unknown column, type mismatch, unknown keyspace.
        for cql in [
            "SELECT * FROM drv.nope",
            "SELECT nope FROM drv.e",
            "INSERT INTO drv.e (k, nope) VALUES (1, 'x')",
            "INSERT INTO drv.e (k, v) VALUES ('text', 'x')",
            "INSERT INTO drv.e (k, v) VALUES (1, 2)",
            "SELECT * FROM drv.e WHERE v = 'x'",
            "SELECT * FROM nokeyspace.e",
        ] {
            let err = session.query_unpaged(cql, &[]).await.expect_err(cql);
            assert!(matches!(db_error(&err), DbError::Invalid), "{cql}: {err}");
            assert_alive(&session).await;
        }
        let err = session
            .prepare("SELECT * FROM drv.e WHERE k = ? AND nope = ?")
            .await
            .expect_err("invalid prepare");
        assert!(matches!(prepare_db_error(&err), DbError::Invalid), "{err}");
        assert_alive(&session).await;

        // Already exists, naming what exists.
        let err = session
            .query_unpaged("CREATE TABLE drv.e (k int PRIMARY KEY)", &[])
            .await
            .expect_err("table exists");
        match db_error(&err) {
            DbError::AlreadyExists { keyspace, table } => {
                assert_eq!((keyspace.as_str(), table.as_str()), ("drv", "e"));
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_alive(&session).await;
        let err = session
            .query_unpaged(
                "CREATE KEYSPACE drv WITH replication = \
                 {'class': 'SimpleStrategy', 'replication_factor': 1}",
                &[],
            )
            .await
            .expect_err("keyspace exists");
        match db_error(&err) {
            DbError::AlreadyExists { keyspace, table } => {
                assert_eq!((keyspace.as_str(), table.as_str()), ("drv", ""));
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_alive(&session).await;

        // The session still writes and reads after all of that.
        run(&session, "INSERT INTO drv.e (k, v) VALUES (1, 'fine')").await;
        let (v,) = session
            .query_unpaged("SELECT v FROM drv.e WHERE k = 1", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<(String,)>()
            .expect("row");
        assert_eq!(v, "fine");
        drop(session);
        node.shutdown().await;
    })
    .await;
}

/// A v4 request frame: version, flags, stream, opcode, length, body.
fn frame(stream: i16, opcode: u8, body: &[u8]) -> Bytes {
    let mut bytes = vec![0x04, 0x00];
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.push(opcode);
    let len = u32::try_from(body.len()).expect("small body");
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(body);
    Bytes::from(bytes)
}

fn error_kind(response: cql_lite::Response) -> cql_lite::ErrorKind {
    match response {
        cql_lite::Response::Error(e) => e.kind,
        other => panic!("expected an ERROR, got {other:?}"),
    }
}

async fn assert_client_alive(client: &cql_lite::client::Client) {
    let result = client
        .query(
            "SELECT release_version FROM system.local",
            cql_lite::QueryParameters::new(cql_lite::Consistency::One),
        )
        .await
        .expect("a normal query on the same connection");
    assert!(
        matches!(result, cql_lite::QueryResult::Rows(_)),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprepared_and_protocol_errors_keep_the_connection() {
    bounded(async {
        let node = TestNode::start().await;
        let client = cql_lite::client::Client::connect(node.addr)
            .await
            .expect("connect");

        // EXECUTE of an id the server never issued: Unprepared, echoing the id.
        let id =
            Bytes::from_static(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10");
        let err = client
            .execute(
                id.clone(),
                cql_lite::QueryParameters::new(cql_lite::Consistency::One),
            )
            .await
            .expect_err("unknown id");
        match err {
            cql_lite::client::ClientError::Server(e) => match e.kind {
                cql_lite::ErrorKind::Unprepared { id: echoed } => assert_eq!(echoed, id),
                other => panic!("expected Unprepared, got {other:?}"),
            },
            other => panic!("expected a server error, got {other:?}"),
        }
        assert_client_alive(&client).await;

        // A frame with an opcode that does not exist.
        let answer = client
            .send_raw(1000, frame(1000, 0x42, &[]))
            .await
            .expect("an answer");
        assert_eq!(answer.stream, 1000);
        assert!(
            matches!(
                error_kind(answer.response),
                cql_lite::ErrorKind::ProtocolError
            ),
            "unknown opcode"
        );
        assert_client_alive(&client).await;

        // A QUERY whose string claims more bytes than the body holds.
        let mut body = 100_i32.to_be_bytes().to_vec();
        body.extend_from_slice(b"SEL");
        let answer = client
            .send_raw(1001, frame(1001, 0x07, &body))
            .await
            .expect("an answer");
        assert_eq!(answer.stream, 1001);
        assert!(
            matches!(
                error_kind(answer.response),
                cql_lite::ErrorKind::ProtocolError
            ),
            "truncated body"
        );
        assert_client_alive(&client).await;

        // A response opcode sent as a request.
        let answer = client
            .send_raw(1002, frame(1002, 0x02, &[]))
            .await
            .expect("an answer");
        assert!(
            matches!(
                error_kind(answer.response),
                cql_lite::ErrorKind::ProtocolError
            ),
            "READY is not a request"
        );
        assert_client_alive(&client).await;

        // A new, prepared-then-executed statement still works on this connection.
        let prepared = client
            .prepare("SELECT key FROM system.local WHERE key = 'local'")
            .await
            .expect("prepare");
        let result = client
            .execute(
                prepared.id.clone(),
                cql_lite::QueryParameters::new(cql_lite::Consistency::One),
            )
            .await
            .expect("execute");
        assert!(matches!(result, cql_lite::QueryResult::Rows(_)));
        drop(client);
        node.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// What drivers do beyond plain statements
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_change_events_refresh_driver_metadata() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.pushed (k int PRIMARY KEY, v int)",
        )
        .await;
        // No refresh_metadata(): the driver learns of the table from the
        // SCHEMA_CHANGE event (or its own refresh after the DDL).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let state = session.get_cluster_state();
            let known = state
                .get_keyspace(KS)
                .is_some_and(|ks| ks.tables.contains_key("pushed"));
            if known {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the driver never saw the new table"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(session);
        node.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_keyspace_and_lz4_compression_with_large_values() {
    bounded(async {
        let node = TestNode::start().await;
        let setup = node.session().await;
        create_keyspace(&setup).await;
        run(&setup, "CREATE TABLE drv.big (k int PRIMARY KEY, b blob)").await;
        drop(setup);
        let session = scylla::client::session_builder::SessionBuilder::new()
            .known_node_addr(node.addr)
            .compression(Some(scylla::frame::Compression::Lz4))
            .use_keyspace(KS, false)
            .build()
            .await
            .expect("connects with LZ4 and a keyspace");
        let insert = session
            .prepare("INSERT INTO big (k, b) VALUES (?, ?)")
            .await
            .expect("unqualified table resolves in the session keyspace");
        // Compressible and incompressible, around and above a MiB.
        let zeros = vec![0_u8; 1 << 20];
        let noise: Vec<u8> = (0..(3 << 19))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for (k, value) in [(1, &zeros), (2, &noise)] {
            session
                .execute_unpaged(&insert, (k, value))
                .await
                .expect("large insert");
            let (back,) = session
                .query_unpaged("SELECT b FROM big WHERE k = ?", (k,))
                .await
                .expect("select")
                .into_rows_result()
                .expect("rows")
                .single_row::<(Vec<u8>,)>()
                .expect("row");
            assert!(back == *value, "blob {k} differs after the round trip");
        }
        session.use_keyspace("system", false).await.expect("USE");
        let rows = session
            .query_unpaged("SELECT key FROM local", &[])
            .await
            .expect("unqualified system table")
            .into_rows_result()
            .expect("rows");
        assert_eq!(rows.rows_num(), 1);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_with_limits_statics_distinct_and_token_ranges() {
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(
            &session,
            "CREATE TABLE drv.s (p int, c int, st text static, v int, PRIMARY KEY (p, c))",
        )
        .await;
        let insert = session
            .prepare("INSERT INTO drv.s (p, c, st, v) VALUES (?, ?, ?, ?)")
            .await
            .expect("prepare");
        let rows: Vec<(i32, i32)> = (0..50).flat_map(|p| (0..20).map(move |c| (p, c))).collect();
        futures::stream::iter(rows)
            .map(|(p, c)| session.execute_unpaged(&insert, (p, c, format!("static {p}"), c * 10)))
            .buffer_unordered(64)
            .try_for_each(|_| async { Ok(()) })
            .await
            .expect("inserts");

        async fn collect<T>(session: &Session, cql: &str, page: i32) -> Vec<T>
        where
            T: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm> + 'static,
        {
            session
                .query_iter(Statement::new(cql).with_page_size(page), &[])
                .await
                .unwrap_or_else(|e| panic!("{cql}: {e}"))
                .rows_stream::<T>()
                .expect("typed")
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("{cql}: {e}"))
        }

        // LIMIT across pages stops at exactly the limit.
        let limited: Vec<(i32, i32)> =
            collect(&session, "SELECT p, c FROM drv.s LIMIT 777", 100).await;
        assert_eq!(limited.len(), 777);
        // PER PARTITION LIMIT across pages.
        let per: Vec<(i32, i32)> =
            collect(&session, "SELECT p, c FROM drv.s PER PARTITION LIMIT 3", 7).await;
        assert_eq!(per.len(), 150);
        assert!(per.iter().all(|(_, c)| *c < 3), "{per:?}");
        // DISTINCT partition keys and statics, paged.
        let distinct: Vec<(i32, String)> =
            collect(&session, "SELECT DISTINCT p, st FROM drv.s", 9).await;
        assert_eq!(distinct.len(), 50);
        assert!(distinct.iter().all(|(p, st)| *st == format!("static {p}")));
        // Statics repeat on every row of their partition.
        let with_static: Vec<(i32, i32, String)> =
            collect(&session, "SELECT p, c, st FROM drv.s WHERE p = 7", 6).await;
        assert_eq!(with_static.len(), 20);
        assert!(with_static.iter().all(|(_, _, st)| st == "static 7"));
        // COUNT(*) over everything, whatever the page size.
        let (count,) = session
            .query_unpaged(
                Statement::new("SELECT COUNT(*) FROM drv.s").with_page_size(10),
                &[],
            )
            .await
            .expect("count")
            .into_rows_result()
            .expect("rows")
            .single_row::<(i64,)>()
            .expect("row");
        assert_eq!(count, 1000);
        // IN over partitions, paged, in the order of the IN values' tokens or
        // as written: either way every row once.
        let in_rows: Vec<(i32, i32)> =
            collect(&session, "SELECT p, c FROM drv.s WHERE p IN (3, 1, 2)", 7).await;
        assert_eq!(in_rows.len(), 60);
        let distinct_in: BTreeSet<(i32, i32)> = in_rows.iter().copied().collect();
        assert_eq!(distinct_in.len(), 60);

        // Token ranges as drivers and Spark split a scan: the pieces add up to
        // the whole, each row exactly once.
        let by_range = session
            .prepare("SELECT p, c FROM drv.s WHERE token(p) > ? AND token(p) <= ?")
            .await
            .expect("prepare token range");
        let bounds = [i64::MIN, -(1 << 62), 0, 1 << 62, i64::MAX];
        let mut total = BTreeSet::new();
        for pair in bounds.windows(2) {
            let mut stmt = by_range.clone();
            stmt.set_page_size(13);
            let part: Vec<(i32, i32)> = session
                .execute_iter(stmt, (pair[0], pair[1]))
                .await
                .expect("range")
                .rows_stream::<(i32, i32)>()
                .expect("typed")
                .try_collect()
                .await
                .expect("range pages");
            for row in part {
                assert!(total.insert(row), "{row:?} in two ranges");
            }
        }
        // token(p) > MIN excludes nothing: no key has the minimum token.
        assert_eq!(total.len(), 1000);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_reprepares_and_reconnects_after_a_restart() {
    bounded(async {
        let mut node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(&session, "CREATE TABLE drv.r (k int PRIMARY KEY, v text)").await;
        let insert = session
            .prepare("INSERT INTO drv.r (k, v) VALUES (?, ?)")
            .await
            .expect("prepare");
        session
            .execute_unpaged(&insert, (1, "before"))
            .await
            .expect("insert");
        node.restart().await;
        // The new process knows no prepared ids: the driver gets Unprepared,
        // prepares again and retries, once its pool has reconnected.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match session.execute_unpaged(&insert, (2, "after")).await {
                Ok(_) => break,
                Err(e) => {
                    assert!(std::time::Instant::now() < deadline, "never recovered: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let mut rows: Vec<(i32, String)> = session
            .query_unpaged("SELECT k, v FROM drv.r", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .rows()
            .expect("typed")
            .collect::<Result<_, _>>()
            .expect("decode");
        rows.sort();
        assert_eq!(rows, [(1, "before".to_owned()), (2, "after".to_owned())]);
        drop(session);
        node.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timestamps_consistency_levels_and_bad_paging_state() {
    use scylla::statement::Consistency;
    bounded(async {
        let node = TestNode::start().await;
        let session = node.session().await;
        create_keyspace(&session).await;
        run(&session, "CREATE TABLE drv.c (k int PRIMARY KEY, v text)").await;

        // The client-supplied timestamp (flag 0x20) is the write's timestamp.
        let mut insert = session
            .prepare("INSERT INTO drv.c (k, v) VALUES (?, ?)")
            .await
            .expect("prepare");
        insert.set_timestamp(Some(1_234_567));
        session
            .execute_unpaged(&insert, (1, "stamped"))
            .await
            .expect("insert");
        let mut text = Statement::new("INSERT INTO drv.c (k, v) VALUES (1, 'older')");
        text.set_timestamp(Some(1_234_566));
        session.query_unpaged(text, &[]).await.expect("insert");
        let (v, wt) = session
            .query_unpaged("SELECT v, writetime(v) FROM drv.c WHERE k = 1", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<(String, i64)>()
            .expect("row");
        assert_eq!((v.as_str(), wt), ("stamped", 1_234_567));
        let mut batch = Batch::new(BatchType::Unlogged);
        batch.append_statement("INSERT INTO drv.c (k, v) VALUES (2, 'batched')");
        batch.set_timestamp(Some(42));
        session.batch(&batch, ((),)).await.expect("batch");
        let (wt,) = session
            .query_unpaged("SELECT writetime(v) FROM drv.c WHERE k = 2", &[])
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows")
            .single_row::<(i64,)>()
            .expect("row");
        assert_eq!(wt, 42);

        // Every consistency level a single replica can satisfy.
        let mut select = session
            .prepare("SELECT v FROM drv.c WHERE k = ?")
            .await
            .expect("prepare");
        let mut write = session
            .prepare("UPDATE drv.c SET v = ? WHERE k = ?")
            .await
            .expect("prepare");
        for cl in [
            Consistency::One,
            Consistency::LocalOne,
            Consistency::Quorum,
            Consistency::LocalQuorum,
            Consistency::All,
        ] {
            write.set_consistency(cl);
            select.set_consistency(cl);
            session
                .execute_unpaged(&write, (format!("{cl:?}"), 3))
                .await
                .unwrap_or_else(|e| panic!("write at {cl:?}: {e}"));
            let (v,) = session
                .execute_unpaged(&select, (3,))
                .await
                .unwrap_or_else(|e| panic!("read at {cl:?}: {e}"))
                .into_rows_result()
                .expect("rows")
                .single_row::<(String,)>()
                .expect("row");
            assert_eq!(v, format!("{cl:?}"));
        }
        write.set_consistency(Consistency::Any);
        session
            .execute_unpaged(&write, ("any".to_owned(), 3))
            .await
            .expect("writes accept ANY");

        // A paging state the server never issued is refused, not trusted.
        let mut scan = session
            .prepare("SELECT k FROM drv.c")
            .await
            .expect("prepare");
        scan.set_page_size(1);
        for garbage in [
            &b"\xff\xff\xff\xff"[..],
            b"",
            b"\x00\x00\x00\x10abc",
            &[0x7f; 64],
        ] {
            let state = PagingState::new_from_raw_bytes(garbage);
            match session.execute_single_page(&scan, &[], state).await {
                Ok((result, _)) => {
                    // Tolerated only if it reads as a harmless position.
                    let rows = result.into_rows_result().expect("rows");
                    assert!(rows.rows_num() <= 1);
                }
                Err(e) => {
                    assert!(
                        matches!(db_error(&e), DbError::ProtocolError | DbError::Invalid),
                        "{e}"
                    );
                }
            }
            assert_alive(&session).await;
        }
        drop(session);
        node.shutdown().await;
    })
    .await;
}
