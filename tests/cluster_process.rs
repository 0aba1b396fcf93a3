//! Three real `basalt server` processes on 127.0.0.1–3, started through the
//! launcher library and driven by the scylla driver as an application would:
//!
//! - RF 3: a table created through node 1 is used through node 3 once the
//!   driver has seen schema agreement;
//! - node 2 is SIGKILLed in the middle of a stream of QUORUM writes: writes
//!   keep being acknowledged, ALL is refused with Unavailable (3 required, 2
//!   alive) once node 2 is marked down, and once node 2 is back every
//!   acknowledged write reads back at QUORUM and at ALL;
//! - writes at ONE during the outage reach node 2 through hints: with node 1
//!   and node 3 killed, node 2 alone serves them;
//! - node 2 keeps its host id and tokens across a SIGKILL and a SIGTERM
//!   restart, in its own `system.local` and in node 1's `system.peers`;
//! - the driver's token-aware routing sends each request to its replica: at
//!   RF 1 no node serves a replica request for another coordinator
//!   (`basalt_replica_requests_total`), unlike with a client pinned to one
//!   node.
//!
//! Every wait is a bounded poll. The tests run one after the other (six node
//! processes at once would crowd a small machine), each under a time limit.
#![expect(
    clippy::too_many_lines,
    reason = "each test is one end-to-end scenario that reads top to bottom"
)]

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use basalt::AdminClient;
use basalt::admin_api::Status;
use basalt::{Cluster, StartOptions};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::policies::host_filter::AllowListHostFilter;
use scylla::policies::retry::FallthroughRetryPolicy;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use support::processes::{BINARY, bounded, free_base_port, loopback};
use uuid::Uuid;

/// Upper bound on one test. Each takes well under a minute on a quiet
/// machine, most of it waiting for the failure detector.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a node may take to see its peers (or a change in them).
const GOSSIP_WAIT: Duration = Duration::from_secs(30);
/// QUORUM writes acknowledged before node 2 is killed.
const WRITES_BEFORE_KILL: usize = 400;
/// QUORUM writes started after node 2 is killed.
const WRITES_AFTER_KILL: usize = 600;
/// Rows written at ONE while node 2 is down.
const HINTED_ROWS: i32 = 100;
/// Requests a writer or reader keeps in flight.
const CONCURRENCY: usize = 16;

/// Serialises the tests of this file.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts three nodes on a free base port and runs `scenario` on them under
/// [`TEST_TIMEOUT`]; whatever still runs afterwards is SIGKILLed.
fn with_three_nodes<F, Fut>(scenario: F)
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let _serial = one_at_a_time();
    bounded(TEST_TIMEOUT, move |dir| {
        let options = StartOptions {
            nodes: 3,
            base_port: Some(free_base_port()),
            binary: PathBuf::from(BINARY),
        };
        let mut cluster = Cluster::create(dir, &options).expect("laid out");
        cluster.start().expect("every node starts");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(scenario(cluster));
    });
}

/// Runs launcher and admin calls, which block, without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Polls `check` every 200 ms until it yields a value; panics after `limit`.
async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn cql(cluster: &Cluster, k: usize) -> SocketAddr {
    cluster.nodes()[k - 1].cql_addr()
}

fn admin(cluster: &Cluster, k: usize) -> AdminClient {
    let node = &cluster.nodes()[k - 1];
    AdminClient::new(&node.address.to_string(), node.admin_port)
}

/// Node `k`'s `/metrics`, or `None` while it cannot be reached.
fn metrics(cluster: &Cluster, k: usize) -> Option<String> {
    blocking(|| admin(cluster, k).get_text("/metrics").ok())
}

/// The sum of the samples whose series (name and labels) starts with `prefix`;
/// pass a whole series (`name` or `name{labels}`) for exactly one sample.
fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            series == &prefix || (prefix.ends_with([',', '{']) && series.starts_with(prefix))
        })
        .map(|(series, value)| {
            value
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("{series} {value}: {e}"))
        })
        .sum()
}

/// Whether node `k` sees node `other` as up (`U` in `nodetool status`);
/// `None` while node `k` cannot be asked.
fn sees_up(cluster: &Cluster, k: usize, other: u8) -> Option<bool> {
    let status: Status = blocking(|| admin(cluster, k).get("/v1/status").ok())?;
    let address = loopback(other).to_string();
    let node = status
        .datacenters
        .iter()
        .flat_map(|dc| &dc.nodes)
        .find(|n| n.address == address)?;
    Some(node.status == "U")
}

/// Waits until every running node among `nodes` sees all of `nodes` up.
async fn await_up(cluster: &Cluster, nodes: &[u8]) {
    eventually("the nodes see each other up", GOSSIP_WAIT, async || {
        let all = nodes.iter().all(|&k| {
            nodes
                .iter()
                .all(|&other| sees_up(cluster, usize::from(k), other) == Some(true))
        });
        all.then_some(())
    })
    .await;
}

/// A driver session that connects to the nodes at `addrs` and no others, so
/// every request is coordinated by one of them.
async fn session_on(addrs: &[SocketAddr]) -> Session {
    let filter = AllowListHostFilter::new(addrs.iter().copied()).expect("addresses");
    SessionBuilder::new()
        .known_nodes_addr(addrs.iter().copied())
        .host_filter(Arc::new(filter))
        .build()
        .await
        .expect("the driver connects")
}

async fn run(session: &Session, cql: &str) {
    session
        .query_unpaged(cql, &[])
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
}

/// `cql` prepared at `consistency`, never retried by the driver, so every
/// error is the coordinator's own answer.
async fn prepare(session: &Session, cql: &str, consistency: Consistency) -> PreparedStatement {
    let mut statement = session
        .prepare(cql)
        .await
        .unwrap_or_else(|e| panic!("prepare {cql}: {e}"));
    statement.set_consistency(consistency);
    statement.set_retry_policy(Some(Arc::new(FallthroughRetryPolicy)));
    statement
}

fn value(k: i32) -> String {
    format!("value-{k}")
}

/// The single `v` a `SELECT v … WHERE k = ?` returns, `None` for no row.
async fn read_v(
    session: &Session,
    select: &PreparedStatement,
    k: i32,
) -> Result<Option<String>, ExecutionError> {
    let result = session.execute_unpaged(select, (k,)).await?;
    let rows = result.into_rows_result().expect("rows");
    Ok(rows
        .maybe_first_row::<(String,)>()
        .expect("a text")
        .map(|(v,)| v))
}

/// `(consistency, required, alive)` of an Unavailable error.
fn unavailable(error: &ExecutionError) -> Option<(Consistency, i32, i32)> {
    match error {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(
            DbError::Unavailable {
                consistency,
                required,
                alive,
            },
            _,
        )) => Some((*consistency, *required, *alive)),
        _ => None,
    }
}

/// A node's host id and tokens.
type Identity = (Uuid, BTreeSet<String>);

/// The host id and tokens in the `system.local` of the node `session` is on.
async fn local_identity(session: &Session) -> Identity {
    session
        .query_unpaged("SELECT host_id, tokens FROM system.local", &[])
        .await
        .expect("system.local")
        .into_rows_result()
        .expect("rows")
        .single_row::<Identity>()
        .expect("one row")
}

/// The host id and tokens `system.peers` lists for `peer` on the node
/// `session` is on, if it lists it.
async fn peer_identity(session: &Session, peer: IpAddr) -> Option<Identity> {
    let rows = session
        .query_unpaged("SELECT peer, host_id, tokens FROM system.peers", &[])
        .await
        .expect("system.peers")
        .into_rows_result()
        .expect("rows");
    let peers = rows
        .rows::<(IpAddr, Option<Uuid>, Option<BTreeSet<String>>)>()
        .expect("peer rows");
    for row in peers {
        let (address, host_id, tokens) = row.expect("a peer row");
        if address == peer {
            return Some((host_id?, tokens?));
        }
    }
    None
}

/// Node 2 just restarted: its own `system.local` and, once node 1 sees it
/// up again, node 1's `system.peers` name the host id and tokens it had.
async fn check_identity(cluster: &Cluster, node1: &Session, before: &Identity, when: &str) {
    let node2 = session_on(&[cql(cluster, 2)]).await;
    assert_eq!(
        &local_identity(&node2).await,
        before,
        "node2's system.local {when}"
    );
    eventually(
        &format!("node1 sees node2 up {when}"),
        GOSSIP_WAIT,
        async || (sees_up(cluster, 1, 2) == Some(true)).then_some(()),
    )
    .await;
    // The row may lag node 1 marking node 2 up by a gossip round.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = peer_identity(node1, loopback(2)).await;
        if seen.as_ref() == Some(before) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node1's system.peers {when}: {seen:?}, expected {before:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the writer saw.
#[derive(Debug, Default)]
struct Writes {
    /// Keys whose QUORUM write was acknowledged.
    acked: Vec<i32>,
    /// Writes started after the kill, and how many of them were acknowledged.
    started_after_kill: usize,
    acked_after_kill: usize,
    /// The errors of the writes that were not acknowledged.
    errors: Vec<String>,
}

/// Writes keys 0, 1, 2, … at the insert's level, [`CONCURRENCY`] at a time,
/// until [`WRITES_AFTER_KILL`] writes have started after `killed` is set.
async fn write_until_after_kill(
    session: Arc<Session>,
    insert: PreparedStatement,
    acked_so_far: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
) -> Writes {
    let mut writes = Writes::default();
    let mut in_flight = FuturesUnordered::new();
    let mut next = 0;
    loop {
        while in_flight.len() < CONCURRENCY && writes.started_after_kill < WRITES_AFTER_KILL {
            let after_kill = killed.load(Ordering::SeqCst);
            writes.started_after_kill += usize::from(after_kill);
            let (session, insert, k) = (&session, &insert, next);
            in_flight.push(async move {
                let result = session.execute_unpaged(insert, (k, value(k))).await;
                (k, after_kill, result)
            });
            next += 1;
        }
        let Some((k, after_kill, result)) = in_flight.next().await else {
            return writes;
        };
        match result {
            Ok(_) => {
                writes.acked.push(k);
                writes.acked_after_kill += usize::from(after_kill);
                acked_so_far.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => writes.errors.push(format!("key {k}: {e}")),
        }
    }
}

/// Reads every key of `keys` with `select` (retrying errors a few times) and
/// fails on any key that is missing or has the wrong value.
async fn assert_all_present(
    session: &Session,
    select: &PreparedStatement,
    keys: &[i32],
    what: &str,
) {
    let reads = futures::stream::iter(keys.iter().copied())
        .map(|k| async move {
            let mut attempt = 0;
            loop {
                match read_v(session, select, k).await {
                    Ok(v) => return (k, Ok(v)),
                    Err(e) if attempt >= 4 => return (k, Err(e.to_string())),
                    Err(_) => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        })
        .buffer_unordered(CONCURRENCY);
    let results: Vec<_> = reads.collect().await;
    let wrong: Vec<_> = results
        .iter()
        .filter(|(k, v)| v.as_ref().ok() != Some(&Some(value(*k))))
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: {} of {} keys not read back, e.g. {wrong:?}",
        results
            .iter()
            .filter(|(k, v)| v.as_ref().ok() != Some(&Some(value(*k))))
            .count(),
        keys.len()
    );
}

#[test]
fn a_killed_node_loses_no_acknowledged_write_gets_its_hints_and_keeps_its_identity() {
    with_three_nodes(outage);
}

async fn outage(mut cluster: Cluster) {
    await_up(&cluster, &[1, 2, 3]).await;

    // RF 3, created through node 1.
    let s1 = session_on(&[cql(&cluster, 1)]).await;
    run(
        &s1,
        "CREATE KEYSPACE ks WITH replication = \
         {'class': 'SimpleStrategy', 'replication_factor': 3}",
    )
    .await;
    run(&s1, "CREATE TABLE ks.acked (k int PRIMARY KEY, v text)").await;
    run(&s1, "CREATE TABLE ks.hinted (k int PRIMARY KEY, v text)").await;
    s1.await_schema_agreement().await.expect("schema agreement");
    let admin1 = cluster.nodes()[0].admin_port;
    let replicas = support::nodetool_ok(admin1, &["getendpoints", "ks", "acked", "7"]).await;
    let replicas: BTreeSet<&str> = replicas.lines().collect();
    let every_node = BTreeSet::from(["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    assert_eq!(replicas, every_node, "RF 3");

    // Used through node 3 alone.
    let s3 = session_on(&[cql(&cluster, 3)]).await;
    let insert3 = prepare(
        &s3,
        "INSERT INTO ks.acked (k, v) VALUES (?, ?)",
        Consistency::Quorum,
    )
    .await;
    let select3 = prepare(
        &s3,
        "SELECT v FROM ks.acked WHERE k = ?",
        Consistency::Quorum,
    )
    .await;
    s3.execute_unpaged(&insert3, (-7, value(-7)))
        .await
        .expect("QUORUM write through node 3");
    let read = read_v(&s3, &select3, -7).await.expect("QUORUM read");
    assert_eq!(read, Some(value(-7)), "through node 3");

    // Node 2's identity as it sees itself and as node 1 sees it.
    let s2 = session_on(&[cql(&cluster, 2)]).await;
    let identity = local_identity(&s2).await;
    assert_eq!(identity.1.len(), 16, "num_tokens: {identity:?}");
    drop(s2);
    let peer = peer_identity(&s1, loopback(2)).await;
    assert_eq!(peer.as_ref(), Some(&identity), "node1's system.peers");

    // QUORUM writes through nodes 1 and 3; node 2 SIGKILLed part way.
    let writer = Arc::new(session_on(&[cql(&cluster, 1), cql(&cluster, 3)]).await);
    let insert = prepare(
        &writer,
        "INSERT INTO ks.acked (k, v) VALUES (?, ?)",
        Consistency::Quorum,
    )
    .await;
    let acked_so_far = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let writes = tokio::spawn(write_until_after_kill(
        Arc::clone(&writer),
        insert.clone(),
        Arc::clone(&acked_so_far),
        Arc::clone(&killed),
    ));
    eventually(
        "writes are acknowledged before the kill",
        Duration::from_secs(60),
        async || (acked_so_far.load(Ordering::SeqCst) >= WRITES_BEFORE_KILL).then_some(()),
    )
    .await;
    blocking(|| cluster.kill("node2")).expect("SIGKILL node2");
    killed.store(true, Ordering::SeqCst);
    let writes = writes.await.expect("the writer");
    assert!(
        writes.acked_after_kill * 2 >= writes.started_after_kill,
        "QUORUM writes failed with node2 killed: {} of {} acknowledged; {:?}",
        writes.acked_after_kill,
        writes.started_after_kill,
        &writes.errors[..writes.errors.len().min(10)]
    );
    let mut acked = writes.acked;

    // ALL is refused once node 1 has marked node 2 down; before that it
    // times out, and it never succeeds.
    let all_insert = prepare(
        &s1,
        "INSERT INTO ks.acked (k, v) VALUES (?, ?)",
        Consistency::All,
    )
    .await;
    let refusal = eventually(
        "node1 refuses ALL with Unavailable",
        Duration::from_secs(30),
        async || match s1.execute_unpaged(&all_insert, (-1, value(-1))).await {
            Ok(_) => panic!("an ALL write succeeded with node2 dead"),
            Err(e) => unavailable(&e),
        },
    )
    .await;
    assert_eq!(refusal, (Consistency::All, 3, 2), "ALL write");
    let all_select = prepare(&s1, "SELECT v FROM ks.acked WHERE k = ?", Consistency::All).await;
    let error = read_v(&s1, &all_select, 0)
        .await
        .expect_err("an ALL read with node2 down");
    assert_eq!(
        unavailable(&error),
        Some((Consistency::All, 3, 2)),
        "{error}"
    );

    // QUORUM still works with node 2 known to be down.
    let quorum_insert = prepare(
        &s1,
        "INSERT INTO ks.acked (k, v) VALUES (?, ?)",
        Consistency::Quorum,
    )
    .await;
    let down_keys: Vec<i32> = (100_000..100_050).collect();
    for &k in &down_keys {
        s1.execute_unpaged(&quorum_insert, (k, value(k)))
            .await
            .unwrap_or_else(|e| panic!("QUORUM write with node2 down: {e}"));
    }
    assert_all_present(&s3, &select3, &down_keys, "QUORUM reads with node2 down").await;
    acked.extend(down_keys);

    // Writes at ONE through node 1: node 1 and node 3 take them, node 2 is
    // owed them as hints.
    let one_insert = prepare(
        &s1,
        "INSERT INTO ks.hinted (k, v) VALUES (?, ?)",
        Consistency::One,
    )
    .await;
    for k in 0..HINTED_ROWS {
        s1.execute_unpaged(&one_insert, (k, value(k)))
            .await
            .unwrap_or_else(|e| panic!("ONE write with node2 down: {e}"));
    }
    // Node 1 holds hints for node 2: these rows and the writes it
    // coordinated since the kill.
    eventually(
        "node1 reports the hints it holds for node2",
        Duration::from_secs(15),
        async || {
            let text = metrics(&cluster, 1)?;
            (metric(&text, "basalt_hints_pending") >= HINTED_ROWS as u64).then_some(())
        },
    )
    .await;

    // Node 2 comes back from SIGKILL as itself.
    blocking(|| cluster.start_node("node2")).expect("node2 restarts");
    check_identity(&cluster, &s1, &identity, "after SIGKILL").await;

    // Node 1 and node 3 deliver every hint they hold.
    eventually(
        "the hints for node2 are delivered",
        Duration::from_secs(60),
        async || {
            let (m1, m3) = (metrics(&cluster, 1)?, metrics(&cluster, 3)?);
            let pending = metric(&m1, "basalt_hints_pending") + metric(&m3, "basalt_hints_pending");
            (pending == 0).then_some(())
        },
    )
    .await;
    let m1 = metrics(&cluster, 1).expect("node1's metrics");
    assert!(
        metric(&m1, "basalt_hints_replayed_total") >= HINTED_ROWS as u64,
        "node1 replayed too few hints:\n{m1}"
    );

    // No acknowledged write is lost.
    let quorum_select = prepare(
        &writer,
        "SELECT v FROM ks.acked WHERE k = ?",
        Consistency::Quorum,
    )
    .await;
    let all_select = prepare(
        &writer,
        "SELECT v FROM ks.acked WHERE k = ?",
        Consistency::All,
    )
    .await;
    assert_all_present(&writer, &quorum_select, &acked, "QUORUM reads").await;
    assert_all_present(&writer, &all_select, &acked, "ALL reads").await;

    // Node 2 comes back from SIGTERM as itself too.
    blocking(|| cluster.stop_node("node2")).expect("SIGTERM node2");
    eventually("node1 sees node2 go down", GOSSIP_WAIT, async || {
        (sees_up(&cluster, 1, 2) == Some(false)).then_some(())
    })
    .await;
    blocking(|| cluster.start_node("node2")).expect("node2 starts again");
    check_identity(&cluster, &s1, &identity, "after SIGTERM").await;

    // With node 1 and node 3 gone, whatever node 2 serves is its own: the
    // rows written at ONE while it was down reached it as hints, and it
    // holds every acknowledged write.
    blocking(|| cluster.kill("node1")).expect("SIGKILL node1");
    blocking(|| cluster.kill("node3")).expect("SIGKILL node3");
    let s2 = session_on(&[cql(&cluster, 2)]).await;
    let hinted = prepare(&s2, "SELECT v FROM ks.hinted WHERE k = ?", Consistency::One).await;
    let keys: Vec<i32> = (0..HINTED_ROWS).collect();
    assert_all_present(&s2, &hinted, &keys, "node2 alone, hinted rows").await;
    let own = prepare(&s2, "SELECT v FROM ks.acked WHERE k = ?", Consistency::One).await;
    assert_all_present(&s2, &own, &acked, "node2 alone, acknowledged writes").await;
}

/// Keys the routing test writes and reads.
const ROUTED_KEYS: i32 = 300;

/// What one node served, from its `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Served {
    /// Replica MUTATIONs and READs it served for another coordinator.
    replica_mutations: u64,
    replica_reads: u64,
    /// EXECUTE writes and reads it coordinated.
    executed_writes: u64,
    executed_reads: u64,
}

fn served(cluster: &Cluster) -> [Served; 3] {
    [1, 2, 3].map(|k| {
        let text = metrics(cluster, k).expect("metrics");
        Served {
            replica_mutations: metric(&text, "basalt_replica_requests_total{verb=\"mutation\"}"),
            replica_reads: metric(&text, "basalt_replica_requests_total{verb=\"read\"}"),
            executed_writes: metric(
                &text,
                "basalt_cql_requests_total{op=\"execute\",kind=\"write\",",
            ),
            executed_reads: metric(
                &text,
                "basalt_cql_requests_total{op=\"execute\",kind=\"read\",",
            ),
        }
    })
}

/// What each node served since `before`.
fn served_since(cluster: &Cluster, before: [Served; 3]) -> [Served; 3] {
    let after = served(cluster);
    [0, 1, 2].map(|i| Served {
        replica_mutations: after[i].replica_mutations - before[i].replica_mutations,
        replica_reads: after[i].replica_reads - before[i].replica_reads,
        executed_writes: after[i].executed_writes - before[i].executed_writes,
        executed_reads: after[i].executed_reads - before[i].executed_reads,
    })
}

/// Writes every routed key at ONE through `session` and reads it back.
async fn write_and_read_routed_keys(session: &Session) {
    let insert = prepare(
        session,
        "INSERT INTO rt.t (k, v) VALUES (?, ?)",
        Consistency::One,
    )
    .await;
    let select = prepare(session, "SELECT v FROM rt.t WHERE k = ?", Consistency::One).await;
    let keys: Vec<i32> = (0..ROUTED_KEYS).collect();
    futures::stream::iter(keys.iter().copied())
        .map(|k| {
            let insert = &insert;
            async move {
                session
                    .execute_unpaged(insert, (k, value(k)))
                    .await
                    .unwrap_or_else(|e| panic!("write of key {k}: {e}"));
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    assert_all_present(session, &select, &keys, "RF 1 reads").await;
}

#[test]
fn the_driver_sends_each_request_to_its_replica() {
    with_three_nodes(routing);
}

async fn routing(cluster: Cluster) {
    await_up(&cluster, &[1, 2, 3]).await;
    // Knows node 1 only, finds the others; token-aware by default.
    let session = SessionBuilder::new()
        .known_node_addr(cql(&cluster, 1))
        .build()
        .await
        .expect("the driver connects");
    run(
        &session,
        "CREATE KEYSPACE rt WITH replication = \
         {'class': 'SimpleStrategy', 'replication_factor': 1}",
    )
    .await;
    run(&session, "CREATE TABLE rt.t (k int PRIMARY KEY, v text)").await;
    session
        .await_schema_agreement()
        .await
        .expect("schema agreement");
    session.refresh_metadata().await.expect("metadata");
    eventually(
        "the driver is connected to every node",
        GOSSIP_WAIT,
        async || {
            let state = session.get_cluster_state();
            let nodes = state.get_nodes_info();
            (nodes.len() == 3 && nodes.iter().all(|n| n.is_connected())).then_some(())
        },
    )
    .await;

    // Each key's replica as the driver computes it; node 1's getendpoints
    // agrees on a few.
    let state = session.get_cluster_state();
    let owners: Vec<usize> = (0..ROUTED_KEYS)
        .map(|k| {
            let replicas = state.get_endpoints("rt", "t", &(k,)).expect("a token");
            assert_eq!(replicas.len(), 1, "RF 1: {replicas:?}");
            let ip = replicas[0].0.address.ip();
            (1..=3)
                .find(|&n| loopback(n) == ip)
                .map(usize::from)
                .unwrap_or_else(|| panic!("replica {ip} is no node"))
        })
        .collect();
    let owned: [u64; 3] = [1, 2, 3].map(|n| owners.iter().filter(|&&o| o == n).count() as u64);
    assert!(owned.iter().all(|&n| n > 0), "keys per node: {owned:?}");
    let admin1 = cluster.nodes()[0].admin_port;
    for (k, owner) in owners.iter().enumerate().take(5) {
        let key = k.to_string();
        let replicas = support::nodetool_ok(admin1, &["getendpoints", "rt", "t", &key]).await;
        assert_eq!(replicas, format!("127.0.0.{owner}\n"), "key {k}");
    }

    // Token-aware: every request is coordinated by the key's replica, which
    // serves it itself.
    let before = served(&cluster);
    write_and_read_routed_keys(&session).await;
    let routed = served_since(&cluster, before);
    for (i, node) in routed.iter().enumerate() {
        let expected = Served {
            replica_mutations: 0,
            replica_reads: 0,
            executed_writes: owned[i],
            executed_reads: owned[i],
        };
        assert_eq!(*node, expected, "node{} under token-aware routing", i + 1);
    }

    // Pinned to node 1, the requests for keys of nodes 2 and 3 reach them
    // as replica requests: the counters do see forwarding.
    let pinned = session_on(&[cql(&cluster, 1)]).await;
    let before = served(&cluster);
    write_and_read_routed_keys(&pinned).await;
    let forwarded = served_since(&cluster, before);
    assert_eq!(
        forwarded.map(|n| (n.replica_mutations, n.replica_reads)),
        [(0, 0), (owned[1], owned[1]), (owned[2], owned[2])],
        "through node 1 alone"
    );
}
