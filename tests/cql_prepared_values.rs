//! Values through the executor as a driver sends them: prepared statements with
//! bound bytes in the client's order, batches of prepared statements and client
//! timestamps (with the guardrail on how far ahead they may be), read back with
//! SELECT.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use basalt::LocalCoordinator;
use basalt::{Executor, ExecutorParts};
use basalt::{Guardrails, TimeSource};
use basalt::{NodeInfo, SchemaService, SystemTables};
use bytes::Bytes;
use cql_lite::value::{self, CqlValue};
use cql_lite::{
    Batch, BatchQuery, BatchStatement, BatchType, Consistency, CqlType, ErrorResponse,
    QueryParameters, QueryResult, Value, Values,
};
use storage::ManualClock;
use storage::sim::SimFs;
use storage::{Engine, EngineOptions};

const START_SECONDS: i64 = 1_700_000_000;

/// A wall clock that stands still; write timestamps count up from it.
#[derive(Debug)]
struct StillTime {
    last: AtomicI64,
}

impl TimeSource for StillTime {
    fn write_timestamp(&self) -> i64 {
        self.last.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn observe(&self, timestamp: i64) {
        self.last.fetch_max(timestamp, Ordering::SeqCst);
    }

    fn wall_micros(&self) -> i64 {
        START_SECONDS * 1_000_000
    }
}

fn node_info() -> NodeInfo {
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    NodeInfo {
        cluster_name: "Test Cluster".to_owned(),
        listen_address: address,
        listen_port: 7000,
        rpc_address: address,
        native_port: 9042,
        data_center: "datacenter1".to_owned(),
        rack: "rack1".to_owned(),
        host_id: [7; 16],
        tokens: vec![0],
        partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".to_owned(),
        release_version: basalt::RELEASE_VERSION.to_owned(),
        cql_version: basalt::CQL_VERSION.to_owned(),
        gossip_generation: 1_700_000_000,
    }
}

fn executor() -> Executor {
    executor_with(Guardrails::default())
}

fn executor_with(guardrails: Guardrails) -> Executor {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START_SECONDS));
    let options = EngineOptions::new("/data", clock);
    let engine = Arc::new(Engine::open(Arc::new(fs.clone()), options).unwrap());
    let schema = SchemaService::open(
        Arc::new(fs),
        Path::new("/data"),
        Arc::clone(&engine),
        vec!["datacenter1".into()],
    )
    .unwrap();
    Executor::new(ExecutorParts {
        schema: Arc::new(schema),
        coordinator: Arc::new(LocalCoordinator::new(engine)),
        system_tables: Arc::new(SystemTables::new(node_info())),
        time: Arc::new(StillTime {
            last: AtomicI64::new(START_SECONDS * 1_000_000),
        }),
        guardrails,
        prepared_capacity: 16,
    })
}

fn params(values: Vec<Value>, timestamp: Option<i64>) -> QueryParameters {
    QueryParameters {
        values: Values::Positional(values),
        default_timestamp: timestamp,
        ..QueryParameters::new(Consistency::One)
    }
}

async fn run(ex: &Executor, cql: &str) -> QueryResult {
    let none = params(Vec::new(), None);
    ex.query(Some("ks"), cql, &none).await.unwrap().result
}

async fn setup(ex: &Executor, table: &str) {
    let ks = "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    run(ex, ks).await;
    run(ex, table).await;
}

async fn prepare(ex: &Executor, cql: &str) -> Bytes {
    match ex.prepare(Some("ks"), cql).unwrap().result {
        QueryResult::Prepared(p) => p.id,
        other => panic!("not prepared: {other:?}"),
    }
}

async fn execute(ex: &Executor, id: &Bytes, values: Vec<Value>, ts: Option<i64>) -> QueryResult {
    ex.execute(id, &params(values, ts)).await.unwrap().result
}

/// The cells of the rows a result holds, each decoded as `ty`.
fn cells(result: QueryResult, ty: &CqlType) -> Vec<Vec<Option<CqlValue>>> {
    let QueryResult::Rows(rows) = result else {
        panic!("not rows: {result:?}")
    };
    rows.rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.as_ref().map(|b| value::deserialize(ty, b).unwrap()))
                .collect()
        })
        .collect()
}

/// A value encoded as given: drivers send sets in the application's order.
fn sent(ty: &CqlType, v: &CqlValue) -> Value {
    let mut out = Vec::new();
    value::serialize(ty, v, &mut out).unwrap();
    Value::Set(Bytes::from(out))
}

fn int_set(v: &[i32]) -> CqlValue {
    CqlValue::Set(v.iter().map(|i| CqlValue::Int(*i)).collect())
}

fn ints(v: &[i32]) -> CqlValue {
    CqlValue::List(v.iter().map(|i| CqlValue::Int(*i)).collect())
}

/// `frozen<map<frozen<set<int>>, int>>` holding `{inner: v}`.
fn nested(inner: &[i32], v: i32) -> CqlValue {
    CqlValue::Map(vec![(int_set(inner), CqlValue::Int(v))])
}

fn nested_type() -> CqlType {
    CqlType::map(CqlType::set(CqlType::Int, true), CqlType::Int, true)
}

#[tokio::test]
async fn prepared_nested_collections_find_rows_written_in_another_order() {
    let ex = executor();
    setup(
        &ex,
        "CREATE TABLE t (k frozen<map<frozen<set<int>>, int>>, \
         c frozen<map<frozen<set<int>>, int>>, v frozen<map<frozen<set<int>>, int>>, \
         PRIMARY KEY (k, c))",
    )
    .await;
    let ty = nested_type();
    // Written sorted as a literal, read through keys bound in another order.
    run(
        &ex,
        "INSERT INTO t (k, c, v) VALUES ({{4, 5, 6}: 1}, {{1, 2}: 0}, {{9, 8}: 2})",
    )
    .await;
    let select = prepare(&ex, "SELECT v FROM t WHERE k = ? AND c = ?").await;
    let keys = vec![
        sent(&ty, &nested(&[5, 4, 6], 1)),
        sent(&ty, &nested(&[2, 1], 0)),
    ];
    let found = cells(execute(&ex, &select, keys, None).await, &ty);
    assert_eq!(found, [[Some(nested(&[8, 9], 2))]]);

    // Written bound in client order, found by a sorted literal.
    let insert = prepare(&ex, "INSERT INTO t (k, c, v) VALUES (?, ?, ?)").await;
    let values = vec![
        sent(&ty, &nested(&[3, 2, 1, 2], 7)),
        sent(&ty, &nested(&[6, 5], 0)),
        sent(&ty, &nested(&[1, 0], 1)),
    ];
    execute(&ex, &insert, values, None).await;
    let found = run(
        &ex,
        "SELECT c, v FROM t WHERE k = {{1, 2, 3}: 7} AND c = {{5, 6}: 0}",
    )
    .await;
    assert_eq!(
        cells(found, &ty),
        [[Some(nested(&[5, 6], 0)), Some(nested(&[0, 1], 1))]]
    );
}

#[tokio::test]
async fn prepared_prepends_in_one_batch_come_out_last_first() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, l list<int>)").await;
    let prepend = prepare(&ex, "UPDATE t SET l = ? + l WHERE k = 1").await;
    let list = CqlType::list(CqlType::Int, false);
    let statement = |v: &[i32]| BatchStatement {
        query: BatchQuery::Prepared(prepend.clone()),
        values: vec![sent(&list, &ints(v))],
    };
    let batch = Batch {
        batch_type: BatchType::Logged,
        statements: vec![statement(&[1]), statement(&[2]), statement(&[3])],
        consistency: Consistency::One,
        serial_consistency: None,
        default_timestamp: None,
    };
    ex.batch(Some("ks"), &batch).await.unwrap();
    let found = run(&ex, "SELECT l FROM t WHERE k = 1").await;
    assert_eq!(cells(found, &list), [[Some(ints(&[3, 2, 1]))]]);
}

#[tokio::test]
async fn appends_with_one_client_timestamp_both_survive() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, l list<int>)").await;
    let list = CqlType::list(CqlType::Int, false);
    let append = prepare(&ex, "UPDATE t SET l = l + ? WHERE k = 1").await;
    let ts = Some(START_SECONDS * 1_000_000 + 5);
    execute(&ex, &append, vec![sent(&list, &ints(&[1]))], ts).await;
    execute(&ex, &append, vec![sent(&list, &ints(&[2]))], ts).await;
    let found = run(&ex, "SELECT l FROM t WHERE k = 1").await;
    assert_eq!(cells(found, &list), [[Some(ints(&[1, 2]))]]);
}

#[tokio::test]
async fn operations_on_one_cell_of_a_statement_reconcile() {
    let ex = executor();
    setup(
        &ex,
        "CREATE TABLE t (k int PRIMARY KEY, m map<int, int>, s set<int>)",
    )
    .await;
    let update = prepare(&ex, "UPDATE t SET m[2] = ?, m[2] = ? WHERE k = 1").await;
    let int = |i: i32| sent(&CqlType::Int, &CqlValue::Int(i));
    execute(&ex, &update, vec![int(9), int(6)], None).await;
    let map = CqlType::map(CqlType::Int, CqlType::Int, false);
    let found = run(&ex, "SELECT m FROM t WHERE k = 1").await;
    let nine = CqlValue::Map(vec![(CqlValue::Int(2), CqlValue::Int(9))]);
    assert_eq!(cells(found, &map), [[Some(nine)]]);

    let set = CqlType::set(CqlType::Int, false);
    let update = prepare(&ex, "UPDATE t SET s = s - ?, s = s + ? WHERE k = 1").await;
    let values = vec![sent(&set, &int_set(&[3])), sent(&set, &int_set(&[3, 4]))];
    execute(&ex, &update, values, None).await;
    let found = run(&ex, "SELECT s FROM t WHERE k = 1").await;
    assert_eq!(cells(found, &set), [[Some(int_set(&[4]))]]);
}

/// The wall clock of [`StillTime`], in µs.
const NOW: i64 = START_SECONDS * 1_000_000;

/// A driver's default timestamp (or `USING TIMESTAMP`) `seconds` ahead of it.
fn ahead(seconds: i64) -> i64 {
    NOW + seconds * 1_000_000
}

fn bigint(v: i64) -> Value {
    sent(&CqlType::Bigint, &CqlValue::Bigint(v))
}

fn assert_refused(result: Result<basalt::Outcome, ErrorResponse>, lead: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.kind, cql_lite::ErrorKind::Invalid, "{err:?}");
    assert!(err.message.contains(lead), "{}", err.message);
    assert!(
        err.message
            .contains("client_timestamp_lead_fail_threshold (300.000s)"),
        "{}",
        err.message
    );
}

async fn rows_of(ex: &Executor) -> Vec<Vec<Option<CqlValue>>> {
    cells(run(ex, "SELECT v FROM t").await, &CqlType::Int)
}

#[tokio::test]
async fn using_timestamp_far_ahead_is_refused() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, v int)").await;
    let none = params(Vec::new(), None);
    let text = format!(
        "INSERT INTO t (k, v) VALUES (1, 1) USING TIMESTAMP {}",
        ahead(3600)
    );
    assert_refused(ex.query(Some("ks"), &text, &none).await, "3600.000s ahead");
    // Bound, and inside a batch.
    let id = prepare(&ex, "UPDATE t USING TIMESTAMP ? SET v = 2 WHERE k = 1").await;
    let bound = params(vec![bigint(ahead(301))], None);
    assert_refused(ex.execute(&id, &bound).await, "301.000s ahead");
    let batch = format!(
        "BEGIN BATCH USING TIMESTAMP {} INSERT INTO t (k, v) VALUES (1, 3); APPLY BATCH",
        ahead(86_400)
    );
    assert_refused(
        ex.query(Some("ks"), &batch, &none).await,
        "86400.000s ahead",
    );
    assert!(rows_of(&ex).await.is_empty());
}

#[tokio::test]
async fn default_timestamp_far_ahead_is_refused_and_leaves_the_clock() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, v int)").await;
    let insert = prepare(&ex, "INSERT INTO t (k, v) VALUES (1, 1)").await;
    let far = params(Vec::new(), Some(ahead(1800)));
    assert_refused(ex.execute(&insert, &far).await, "1800.000s ahead");
    let text = "INSERT INTO t (k, v) VALUES (1, 2)";
    assert_refused(ex.query(Some("ks"), text, &far).await, "1800.000s ahead");
    let batch = Batch {
        batch_type: BatchType::Logged,
        statements: vec![BatchStatement {
            query: BatchQuery::Prepared(insert.clone()),
            values: Vec::new(),
        }],
        consistency: Consistency::One,
        serial_consistency: None,
        default_timestamp: Some(ahead(1800)),
    };
    assert_refused(ex.batch(Some("ks"), &batch).await, "1800.000s ahead");
    // A schema change is timestamped the same way.
    let ddl = "CREATE TABLE u (k int PRIMARY KEY)";
    assert_refused(ex.query(Some("ks"), ddl, &far).await, "1800.000s ahead");
    assert!(ex.schema().current().table("ks", "u").is_none());
    assert!(rows_of(&ex).await.is_empty());
    // The refused timestamps did not move the node's clock: its next write is
    // stamped now, not half an hour on.
    execute(&ex, &insert, Vec::new(), None).await;
    let written = run(&ex, "SELECT writetime(v) FROM t WHERE k = 1").await;
    let found = cells(written, &CqlType::Bigint);
    let [Some(CqlValue::Bigint(ts))] = found[0][..] else {
        panic!("no writetime: {found:?}");
    };
    assert!(ts < ahead(1), "the clock was dragged to {ts}");
}

#[tokio::test]
async fn a_moderate_lead_is_written_with_a_warning() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, v int)").await;
    let insert = prepare(&ex, "INSERT INTO t (k, v) VALUES (1, 1)").await;
    let outcome = ex
        .execute(&insert, &params(Vec::new(), Some(ahead(60))))
        .await
        .unwrap();
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    let warning = &outcome.warnings[0];
    assert!(warning.contains("60.000s ahead"), "{warning}");
    assert!(
        warning.contains("client_timestamp_lead_warn_threshold (10.000s)"),
        "{warning}"
    );
    let text = format!(
        "UPDATE t USING TIMESTAMP {} SET v = 2 WHERE k = 1",
        ahead(120)
    );
    let none = params(Vec::new(), None);
    let outcome = ex.query(Some("ks"), &text, &none).await.unwrap();
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("120.000s ahead"));
    assert_eq!(rows_of(&ex).await, [[Some(CqlValue::Int(2))]]);
}

#[tokio::test]
async fn timestamps_near_or_behind_the_clock_pass_quietly() {
    let ex = executor();
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, v int)").await;
    let update = prepare(&ex, "UPDATE t USING TIMESTAMP ? SET v = ? WHERE k = 1").await;
    let int = |i: i32| sent(&CqlType::Int, &CqlValue::Int(i));
    for (ts, v) in [(ahead(-86_400), 1), (ahead(9), 2), (NOW, 3)] {
        let outcome = ex
            .execute(&update, &params(vec![bigint(ts), int(v)], Some(ahead(5))))
            .await
            .unwrap();
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    }
    // The last write went in below the one 9 s ahead, which still wins.
    assert_eq!(rows_of(&ex).await, [[Some(CqlValue::Int(2))]]);
}

#[tokio::test]
async fn zero_thresholds_disable_the_guardrail() {
    let ex = executor_with(Guardrails {
        timestamp_lead_warn_micros: 0,
        timestamp_lead_fail_micros: 0,
        ..Guardrails::default()
    });
    setup(&ex, "CREATE TABLE t (k int PRIMARY KEY, v int)").await;
    let none = params(Vec::new(), None);
    let text = format!(
        "INSERT INTO t (k, v) VALUES (1, 1) USING TIMESTAMP {}",
        ahead(86_400)
    );
    let outcome = ex.query(Some("ks"), &text, &none).await.unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    let far = params(Vec::new(), Some(ahead(3600)));
    let outcome = ex
        .query(Some("ks"), "INSERT INTO t (k, v) VALUES (2, 2)", &far)
        .await
        .unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(rows_of(&ex).await.len(), 2);
}
