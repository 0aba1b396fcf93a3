//! Three nodes in one process, on 127.0.0.1–3, form one database: they find
//! each other through the seed, agree on schema, replicate at RF 3, serve
//! QUORUM with a node down, refuse ALL with Unavailable while it is down,
//! and serve ALL again once it is back, with the write it missed replayed to
//! it from a hint. Drivers see the ring in
//! `system.peers` and route by token. A hint older than a TRUNCATE, held
//! for a node that was down, brings nothing back when delivered after it.
//! Two nodes that created one table apart converge on it without losing
//! writes; clock skew and clocks stepped back across a restart are
//! measured, exported and survived.
#![expect(
    clippy::too_many_lines,
    reason = "each test is one end-to-end scenario that reads top to bottom"
)]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use basalt::Config;
use basalt::Node;
use bytes::Bytes;
use cql_lite::client::{Client, ClientError};
use cql_lite::{Consistency, ErrorKind, QueryParameters, QueryResult};
use scylla::client::session_builder::SessionBuilder;
use tempfile::TempDir;

fn ip(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))
}

/// A port free on 127.0.0.1, .2 and .3 alike, so every node uses the same
/// CQL port (drivers reach peers on the port they first connected to).
fn common_port() -> u16 {
    support::free_ports(&[ip(1), ip(2), ip(3)], 1)
}

struct Ports {
    native: u16,
    storage: u16,
    admin: u16,
}

struct ClusterNode {
    node: Option<Node>,
    config: Config,
    _dir: TempDir,
}

impl ClusterNode {
    async fn start(i: u8, ports: &Ports) -> ClusterNode {
        ClusterNode::start_with(i, ports, |_| {}).await
    }

    async fn start_with(i: u8, ports: &Ports, tweak: impl FnOnce(&mut Config)) -> ClusterNode {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config {
            listen_address: ip(i),
            rpc_address: ip(i),
            native_transport_port: ports.native,
            storage_port: ports.storage,
            admin_port: ports.admin,
            seeds: vec!["127.0.0.1".to_owned()],
            data_file_directories: vec![dir.path().join("data")],
            commitlog_directory: dir.path().join("commitlog"),
            ..Config::default()
        };
        tweak(&mut config);
        let node = Node::start(&config).await.expect("node starts");
        ClusterNode {
            node: Some(node),
            config,
            _dir: dir,
        }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("running")
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.config.rpc_address, self.config.native_transport_port)
    }

    fn live(&self) -> usize {
        self.node().cluster().view().live_members().count()
    }

    async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.expect("clean shutdown");
        }
    }

    async fn restart(&mut self) {
        self.stop().await;
        let node = Node::start(&self.config).await.expect("node restarts");
        self.node = Some(node);
    }

    async fn client(&self) -> Client {
        Client::connect(self.addr()).await.expect("connect")
    }
}

/// Polls `check` every 100 ms until it holds; panics after `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rows(result: QueryResult) -> Vec<Vec<Option<Bytes>>> {
    match result {
        QueryResult::Rows(rows) => rows.rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

async fn query(client: &Client, cql: &str, cl: Consistency) -> Result<QueryResult, ClientError> {
    client.query(cql, QueryParameters::new(cl)).await
}

async fn schema_version(node: &ClusterNode) -> Bytes {
    let client = node.client().await;
    let result = query(
        &client,
        "SELECT schema_version FROM system.local",
        Consistency::One,
    )
    .await
    .expect("system.local");
    rows(result)[0][0].clone().expect("a version")
}

/// A `set<text>` cell's elements.
fn text_set(bytes: &[u8]) -> Vec<String> {
    let int = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let (count, mut at) = (int(bytes), 4);
    (0..count)
        .map(|_| {
            let len = int(&bytes[at..]);
            let s = String::from_utf8(bytes[at + 4..at + 4 + len].to_vec()).expect("utf8");
            at += 4 + len;
            s
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_form_one_database() {
    support::bounded(async {
        let ports = Ports {
            native: common_port(),
            storage: common_port(),
            admin: common_port(),
        };
        let mut nodes = Vec::new();
        for i in 1..=3 {
            nodes.push(ClusterNode::start(i, &ports).await);
        }
        eventually("every node sees three live members", Duration::from_secs(20), async || {
            nodes.iter().all(|n| n.live() == 3)
        })
        .await;

        let c1 = nodes[0].client().await;
        query(
            &c1,
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            Consistency::One,
        )
        .await
        .expect("create keyspace");
        await_agreement(&nodes).await;
        query(&c1, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)", Consistency::One)
            .await
            .expect("create table");
        await_agreement(&nodes).await;

        query(&c1, "INSERT INTO ks.t (k, v) VALUES (1, 'one')", Consistency::Quorum)
            .await
            .expect("QUORUM write through node 1");
        let c3 = nodes[2].client().await;
        let read = query(&c3, "SELECT v FROM ks.t WHERE k = 1", Consistency::Quorum)
            .await
            .expect("QUORUM read through node 3");
        assert_eq!(rows(read)[0][0].as_deref(), Some(&b"one"[..]));

        check_peers(&nodes).await;
        check_driver_routing(&nodes).await;
        check_logged_batch(&nodes, &c1).await;
        check_truncate_with_a_pending_hint(&mut nodes, &c1).await;
        check_outage(&mut nodes, &c1).await;
    })
    .await;
}

/// A logged batch across partitions is kept on two nodes other than its
/// coordinator until applied, then forgotten; single-partition and unlogged
/// batches skip the batchlog.
async fn check_logged_batch(nodes: &[ClusterNode], c1: &Client) {
    let stored = || {
        nodes
            .iter()
            .map(|n| n.node().batchlog().stored)
            .sum::<u64>()
    };
    let before = stored();
    query(
        c1,
        "BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (10, 'a'); \
         INSERT INTO ks.t (k, v) VALUES (11, 'b'); APPLY BATCH",
        Consistency::Quorum,
    )
    .await
    .expect("logged batch");
    assert_eq!(stored() - before, 2, "two batchlog copies");
    assert_eq!(
        nodes[0].node().batchlog().stored,
        0,
        "not on its coordinator"
    );
    eventually(
        "the batch is forgotten",
        Duration::from_secs(10),
        async || nodes.iter().all(|n| n.node().batchlog().pending == 0),
    )
    .await;
    let read = query(
        c1,
        "SELECT v FROM ks.t WHERE k IN (10, 11)",
        Consistency::All,
    )
    .await
    .expect("read at ALL");
    assert_eq!(rows(read).len(), 2);
    for cql in [
        "BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (12, 'a'); \
         UPDATE ks.t SET v = 'c' WHERE k = 12; APPLY BATCH",
        "BEGIN UNLOGGED BATCH INSERT INTO ks.t (k, v) VALUES (13, 'a'); \
         INSERT INTO ks.t (k, v) VALUES (14, 'b'); APPLY BATCH",
    ] {
        query(c1, cql, Consistency::Quorum).await.expect(cql);
    }
    assert_eq!(stored() - before, 2, "no batchlog for these");
}

/// Node 1's clock runs a minute ahead. A write through node 2 right after
/// one through node 1 must still win: node 2's hybrid logical clock moved
/// past the timestamp it received with node 1's write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_clock_moves_past_a_fast_peers_timestamps() {
    support::bounded(async {
        let ports = Ports {
            native: common_port(),
            storage: common_port(),
            admin: common_port(),
        };
        let fast = ClusterNode::start_with(1, &ports, |c| c.clock_offset = 60_000).await;
        let slow = ClusterNode::start(2, &ports).await;
        let nodes = [fast, slow];
        eventually("both nodes see each other", Duration::from_secs(20), async || {
            nodes.iter().all(|n| n.live() == 2)
        })
        .await;
        let (c1, c2) = (nodes[0].client().await, nodes[1].client().await);
        query(
            &c1,
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
            Consistency::One,
        )
        .await
        .expect("create keyspace");
        query(&c1, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)", Consistency::One)
            .await
            .expect("create table");
        await_agreement(&nodes).await;
        query(&c1, "INSERT INTO ks.t (k, v) VALUES (1, 'first')", Consistency::All)
            .await
            .expect("write through the fast node");
        query(&c2, "INSERT INTO ks.t (k, v) VALUES (1, 'second')", Consistency::All)
            .await
            .expect("write through the slow node");
        let read = query(&c2, "SELECT v FROM ks.t WHERE k = 1", Consistency::All)
            .await
            .expect("read");
        assert_eq!(rows(read)[0][0].as_deref(), Some(&b"second"[..]));
    })
    .await;
}

async fn await_agreement(nodes: &[ClusterNode]) {
    eventually("schema agreement", Duration::from_secs(15), async || {
        let mut versions = Vec::new();
        for n in nodes {
            versions.push(schema_version(n).await);
        }
        versions.windows(2).all(|w| w[0] == w[1])
    })
    .await;
}

/// `system.peers` on node 2 lists nodes 1 and 3 with their host ids and
/// tokens.
async fn check_peers(nodes: &[ClusterNode]) {
    let c2 = nodes[1].client().await;
    let result = query(
        &c2,
        "SELECT peer, host_id, tokens FROM system.peers",
        Consistency::One,
    )
    .await
    .expect("system.peers");
    let mut peers: Vec<(Vec<u8>, Vec<u8>, Vec<String>)> = rows(result)
        .into_iter()
        .map(|r| {
            let cell = |i: usize| r[i].clone().expect("a value").to_vec();
            (cell(0), cell(1), text_set(&cell(2)))
        })
        .collect();
    peers.sort();
    assert_eq!(peers.len(), 2, "{peers:?}");
    for (peer, n) in peers.iter().zip([&nodes[0], &nodes[2]]) {
        let view = n.node().cluster().view();
        let me = view.member(view.local_host).expect("itself");
        let IpAddr::V4(address) = n.config.listen_address else {
            panic!("IPv4 only")
        };
        assert_eq!(peer.0, address.octets().to_vec());
        assert_eq!(peer.1, me.host_id.0.to_vec());
        let mut tokens: Vec<String> = me.tokens.iter().map(|t| t.0.to_string()).collect();
        let mut got = peer.2.clone();
        tokens.sort();
        got.sort();
        assert_eq!(got, tokens);
    }
}

/// The scylla driver, given only node 1, finds all three and routes a
/// partition of an RF 3 keyspace to three replicas.
async fn check_driver_routing(nodes: &[ClusterNode]) {
    let session = SessionBuilder::new()
        .known_node_addr(nodes[0].addr())
        .build()
        .await
        .expect("the driver connects");
    session.await_schema_agreement().await.expect("agreement");
    let state = session.get_cluster_state();
    assert_eq!(state.get_nodes_info().len(), 3);
    let replicas = state.get_endpoints("ks", "t", &(1_i32,)).expect("token");
    assert_eq!(replicas.len(), 3);
    let (v,): (String,) = session
        .query_unpaged("SELECT v FROM ks.t WHERE k = 1", &[])
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("row");
    assert_eq!(v, "one");
}

/// Hint files `node` holds for other nodes.
fn hint_files(node: &ClusterNode) -> usize {
    let dir = node.config.data_file_directories[0].join("hints");
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "hints"))
            .count()
    })
}

async fn all_rows(client: &Client, table: &str, cl: Consistency) -> Vec<Vec<Option<Bytes>>> {
    let select = format!("SELECT k, v FROM ks.{table}");
    rows(query(client, &select, cl).await.expect("select"))
}

/// Node 3 misses a write, which node 1 keeps as a hint; the table is
/// truncated once node 3 is back, and the hint that arrives afterwards
/// (node 1 replays hints once a second, so usually after the TRUNCATE) does
/// not bring the write back. A write after the TRUNCATE stamped before it
/// (a client timestamp in the past) is dropped everywhere, as documented.
async fn check_truncate_with_a_pending_hint(nodes: &mut [ClusterNode], c1: &Client) {
    query(
        c1,
        "CREATE TABLE ks.tr (k int PRIMARY KEY, v text)",
        Consistency::One,
    )
    .await
    .expect("create table");
    await_agreement(nodes).await;
    query(
        c1,
        "INSERT INTO ks.tr (k, v) VALUES (1, 'one')",
        Consistency::All,
    )
    .await
    .expect("ALL write");
    nodes[2].stop().await;
    eventually(
        "node 1 sees node 3 down",
        Duration::from_secs(15),
        async || nodes[0].live() == 2,
    )
    .await;
    query(
        c1,
        "INSERT INTO ks.tr (k, v) VALUES (2, 'two')",
        Consistency::Quorum,
    )
    .await
    .expect("QUORUM write with node 3 down");
    eventually("node 1 keeps a hint", Duration::from_secs(15), async || {
        hint_files(&nodes[0]) > 0
    })
    .await;
    nodes[2].restart().await;
    // TRUNCATE needs every node up in the coordinator's view.
    eventually("TRUNCATE succeeds", Duration::from_secs(20), async || {
        query(c1, "TRUNCATE ks.tr", Consistency::One).await.is_ok()
    })
    .await;
    eventually(
        "node 1 delivered its hint",
        Duration::from_secs(20),
        async || hint_files(&nodes[0]) == 0,
    )
    .await;
    let c3 = nodes[2].client().await;
    assert_eq!(
        all_rows(&c3, "tr", Consistency::One).await,
        Vec::<Vec<_>>::new()
    );
    // Node 3 shows the truncation time it recorded, as Cassandra does.
    let local = query(
        &c3,
        "SELECT truncated_at FROM system.local",
        Consistency::One,
    )
    .await
    .expect("system.local");
    assert!(rows(local)[0][0].is_some(), "truncated_at is set");
    assert_eq!(
        all_rows(c1, "tr", Consistency::All).await,
        Vec::<Vec<_>>::new()
    );
    query(
        c1,
        "INSERT INTO ks.tr (k, v) VALUES (3, 'past') USING TIMESTAMP 1",
        Consistency::All,
    )
    .await
    .expect("a write stamped before the truncation is accepted");
    query(
        c1,
        "INSERT INTO ks.tr (k, v) VALUES (4, 'four')",
        Consistency::All,
    )
    .await
    .expect("ALL write");
    let four = vec![vec![
        Some(Bytes::from_static(&[0, 0, 0, 4])),
        Some(Bytes::from_static(b"four")),
    ]];
    assert_eq!(all_rows(&c3, "tr", Consistency::One).await, four);
    assert_eq!(all_rows(c1, "tr", Consistency::All).await, four);
}

/// Node 3 stops: QUORUM still works, ALL is Unavailable (3 required, 2
/// alive); once it is back, ALL works again.
async fn check_outage(nodes: &mut [ClusterNode], c1: &Client) {
    nodes[2].stop().await;
    let write = "INSERT INTO ks.t (k, v) VALUES (2, 'two')";
    eventually(
        "ALL is unavailable",
        Duration::from_secs(15),
        async || match query(c1, write, Consistency::All).await {
            Err(ClientError::Server(e)) => {
                assert_eq!(
                    e.kind,
                    ErrorKind::Unavailable {
                        consistency: Consistency::All,
                        required: 3,
                        alive: 2
                    }
                );
                true
            }
            _ => false,
        },
    )
    .await;
    query(c1, write, Consistency::Quorum)
        .await
        .expect("QUORUM write with a node down");
    // A logged batch refused as Unavailable was never logged, so it is never
    // applied behind the client's back.
    let logged = || {
        nodes
            .iter()
            .filter_map(|n| n.node.as_ref())
            .map(|n| n.batchlog().stored)
            .sum::<u64>()
    };
    let before = logged();
    let batch = "BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (30, 'a'); \
                 INSERT INTO ks.t (k, v) VALUES (31, 'b'); APPLY BATCH";
    let refused = query(c1, batch, Consistency::All)
        .await
        .expect_err("Unavailable");
    assert!(
        matches!(&refused, ClientError::Server(e) if matches!(e.kind, ErrorKind::Unavailable { .. })),
        "{refused:?}"
    );
    assert_eq!(logged(), before, "an Unavailable batch was logged");
    nodes[2].restart().await;
    eventually("node 3 is back", Duration::from_secs(20), async || {
        nodes.iter().all(|n| n.live() == 3)
    })
    .await;
    eventually(
        "ALL works again",
        Duration::from_secs(20),
        async || match query(c1, "SELECT v FROM ks.t WHERE k = 1", Consistency::All).await {
            Ok(result) => rows(result)[0][0].as_deref() == Some(&b"one"[..]),
            Err(_) => false,
        },
    )
    .await;
    // The write it missed reaches it as a hint from node 1 (a ONE read on
    // node 3 asks only itself, so nothing but the hint can bring it).
    let c3 = nodes[2].client().await;
    eventually(
        "node 3 got its hint",
        Duration::from_secs(20),
        async || match query(&c3, "SELECT v FROM ks.t WHERE k = 2", Consistency::One).await {
            Ok(result) => rows(result).first().and_then(|r| r[0].as_deref()) == Some(&b"two"[..]),
            Err(_) => false,
        },
    )
    .await;
    for n in nodes.iter_mut() {
        n.stop().await;
    }
}

/// Node `node`'s `/metrics` text.
async fn metrics(node: &ClusterNode) -> String {
    let (ip, port) = (
        node.config.listen_address.to_string(),
        node.config.admin_port,
    );
    cluster::blocking::run(move || basalt::AdminClient::new(&ip, port).get_text("/metrics"))
        .await
        .expect("metrics task")
        .expect("/metrics answers")
}

/// The `basalt_clock_skew_seconds` value `metrics` shows for `peer`.
fn skew_of(metrics: &str, peer: SocketAddr) -> Option<f64> {
    let prefix = format!("basalt_clock_skew_seconds{{peer=\"{peer}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
}

/// Two nodes that have not met (each its own seed) both create one keyspace
/// and one table, and take writes; then they meet. The table ids agree, so
/// the schema merge drops no storage and every acknowledged write is read
/// back. Node 1's clock runs 5 s ahead: node 2 measures the skew over gossip
/// and exports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tables_created_apart_converge_without_losing_writes() {
    support::bounded(async {
        let ports = Ports {
            native: common_port(),
            storage: common_port(),
            admin: common_port(),
        };
        let fast = ClusterNode::start_with(1, &ports, |c| c.clock_offset = 5_000).await;
        let apart = |c: &mut Config| c.seeds = vec!["127.0.0.2".to_owned()];
        let mut nodes = [fast, ClusterNode::start_with(2, &ports, apart).await];
        for (i, n) in nodes.iter().enumerate() {
            let c = n.client().await;
            for cql in [
                "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
                "CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY, v text)",
            ] {
                query(&c, cql, Consistency::One).await.expect("create");
            }
            for k in 0..20 {
                let cql = format!("INSERT INTO ks.t (k, v) VALUES ({}, 'x')", i * 100 + k);
                query(&c, &cql, Consistency::One).await.expect("acked write");
            }
        }
        assert_eq!(nodes[0].live(), 1, "the nodes have not met");
        // Node 2 restarts seeded with node 1: they meet and merge schemas.
        nodes[1].config.seeds = vec!["127.0.0.1".to_owned()];
        nodes[1].restart().await;
        eventually("both nodes see each other", Duration::from_secs(20), async || {
            nodes.iter().all(|n| n.live() == 2)
        })
        .await;
        await_agreement(&nodes).await;
        let c2 = nodes[1].client().await;
        let read = query(&c2, "SELECT k FROM ks.t", Consistency::All)
            .await
            .expect("read");
        assert_eq!(rows(read).len(), 40, "every acknowledged write is there");

        let peer = SocketAddr::new(ip(1), ports.storage);
        let mut skew = None;
        eventually("node 2 exports its skew to node 1", Duration::from_secs(20), async || {
            skew = skew_of(&metrics(&nodes[1]).await, peer);
            skew.is_some()
        })
        .await;
        let skew = skew.expect("a skew");
        // Node 2's clock minus node 1's: about -5 s (loopback round trips
        // are far below the half second allowed).
        assert!((skew + 5.0).abs() < 0.5, "skew {skew}");
        for n in &mut nodes {
            n.stop().await;
        }
    })
    .await;
}

/// `system.local`'s gossip generation on `node`.
async fn gossip_generation(node: &ClusterNode) -> i32 {
    let c = node.client().await;
    let result = query(
        &c,
        "SELECT gossip_generation FROM system.local",
        Consistency::One,
    )
    .await
    .expect("read system.local");
    let bytes = rows(result)[0][0].clone().expect("a generation");
    i32::from_be_bytes(bytes[..].try_into().expect("an int"))
}

/// The generation `node`'s gossip holds for the node at `address`.
async fn generation_seen(node: &ClusterNode, address: IpAddr) -> Option<i64> {
    let (ip, port) = (
        node.config.listen_address.to_string(),
        node.config.admin_port,
    );
    let text = cluster::blocking::run(move || {
        basalt::AdminClient::new(&ip, port).get_text("/v1/gossipinfo")
    })
    .await
    .expect("gossipinfo task")
    .ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let endpoints = info["endpoints"].as_array()?;
    let seen = endpoints
        .iter()
        .find(|e| e["address"].as_str() == Some(address.to_string().as_str()))?;
    seen["generation"].as_i64()
}

/// A node restarted with its clock stepped back two minutes still announces
/// a greater gossip generation, so its peer takes its gossip, and its writes
/// still supersede the ones it took before the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_with_the_clock_stepped_back_is_still_heard() {
    support::bounded(async {
        let ports = Ports {
            native: common_port(),
            storage: common_port(),
            admin: common_port(),
        };
        let mut nodes = [
            ClusterNode::start(1, &ports).await,
            ClusterNode::start(2, &ports).await,
        ];
        eventually("both nodes see each other", Duration::from_secs(20), async || {
            nodes.iter().all(|n| n.live() == 2)
        })
        .await;
        let c2 = nodes[1].client().await;
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
            "CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
        ] {
            query(&c2, cql, Consistency::One).await.expect(cql);
        }
        await_agreement(&nodes).await;
        query(&c2, "INSERT INTO ks.t (k, v) VALUES (1, 'before')", Consistency::All)
            .await
            .expect("write before the restart");
        drop(c2);
        let before = gossip_generation(&nodes[1]).await;
        nodes[1].config.clock_offset = -120_000;
        nodes[1].restart().await;
        // Written before anything is read, so only the persisted ceiling
        // keeps its timestamp above the first write's.
        let c2 = nodes[1].client().await;
        query(&c2, "INSERT INTO ks.t (k, v) VALUES (1, 'after')", Consistency::One)
            .await
            .expect("write after the restart");
        let after = gossip_generation(&nodes[1]).await;
        assert!(after > before, "generation {after} after {before}");
        eventually("node 1 takes node 2's new generation", Duration::from_secs(20), async || {
            generation_seen(&nodes[0], ip(2)).await == Some(i64::from(after))
        })
        .await;
        eventually("both nodes see each other again", Duration::from_secs(20), async || {
            nodes.iter().all(|n| n.live() == 2)
        })
        .await;
        let read = query(&c2, "SELECT v FROM ks.t WHERE k = 1", Consistency::All)
            .await
            .expect("read");
        assert_eq!(rows(read)[0][0].as_deref(), Some(&b"after"[..]));
        for n in &mut nodes {
            n.stop().await;
        }
    })
    .await;
}

/// Two of four nodes restarted while the other two stay down: without the
/// ring saved at the last run they would route every key to themselves and
/// acknowledge QUORUM writes that the real replicas never see. Every write
/// they acknowledge must be readable once all four are back, and the keys
/// whose replicas are both down must be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_restarted_apart_from_their_peers_misplace_no_write() {
    support::bounded(async {
        let hosts = [ip(1), ip(2), ip(3), ip(4)];
        let ports = Ports {
            native: support::free_ports(&hosts, 1),
            storage: support::free_ports(&hosts, 1),
            admin: support::free_ports(&hosts, 1),
        };
        let mut nodes = Vec::new();
        for i in 1..=4 {
            nodes.push(ClusterNode::start(i, &ports).await);
        }
        eventually("four nodes see each other", Duration::from_secs(30), async || {
            nodes.iter().all(|n| n.live() == 4)
        })
        .await;
        let c1 = nodes[0].client().await;
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}",
            "CREATE TABLE ks.t (k int PRIMARY KEY, v int)",
        ] {
            query(&c1, cql, Consistency::One).await.expect(cql);
        }
        await_agreement(&nodes).await;
        drop(c1);
        for n in &mut nodes {
            n.stop().await;
        }
        for n in &mut nodes[..2] {
            n.restart().await;
        }
        eventually("the two restarted nodes see each other", Duration::from_secs(30), async || {
            nodes[..2].iter().all(|n| n.live() == 2)
        })
        .await;
        let c1 = nodes[0].client().await;
        let (mut acked, mut refused) = (Vec::new(), 0);
        for k in 0..40 {
            let cql = format!("INSERT INTO ks.t (k, v) VALUES ({k}, {k})");
            match query(&c1, &cql, Consistency::Quorum).await {
                Ok(_) => acked.push(k),
                Err(ClientError::Server(e)) if matches!(e.kind, ErrorKind::Unavailable { .. }) => {
                    refused += 1;
                }
                Err(e) => panic!("write {k}: {e}"),
            }
        }
        assert!(refused > 0, "no key had both replicas down: the ring was incomplete");
        assert!(!acked.is_empty(), "no key had both replicas up");
        for n in &mut nodes[2..] {
            n.restart().await;
        }
        eventually("all four see each other", Duration::from_secs(30), async || {
            nodes.iter().all(|n| n.live() == 4)
        })
        .await;
        let c4 = nodes[3].client().await;
        for k in acked {
            let cql = format!("SELECT v FROM ks.t WHERE k = {k}");
            let read = query(&c4, &cql, Consistency::Quorum).await.expect("read");
            assert_eq!(rows(read).len(), 1, "acknowledged write {k} lost");
        }
        for n in &mut nodes {
            n.stop().await;
        }
    })
    .await;
}
