//! `basalt nodetool` against a node running in this process: every command's key
//! lines, `/metrics` after some queries, and the errors an operator sees.

mod support;

use std::process::Command;

use basalt::AdminClient;
use support::{TestNode, bounded, free_port, nodetool, nodetool_ok};

async fn load_some_data(node: &TestNode) {
    let session = node.session().await;
    for cql in [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(cql, &[]).await.expect("DDL");
    }
    let insert = session
        .prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        .await
        .expect("prepare");
    for k in 0..20 {
        session
            .execute_unpaged(&insert, (k, format!("v{k}")))
            .await
            .expect("insert");
    }
    session
        .query_unpaged("SELECT v FROM ks.t WHERE k = 1", &[])
        .await
        .expect("select");
    assert!(session.query_unpaged("SELEC nonsense", &[]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_a_live_node() {
    bounded(async {
        let node = TestNode::start().await;
        let port = node.admin_port();
        load_some_data(&node).await;

        let status = nodetool_ok(port, &["status"]).await;
        assert!(status.starts_with("Datacenter: datacenter1\n=======================\n"), "{status}");
        assert!(status.contains("--  Address    Load"), "{status}");
        let line = status.lines().find(|l| l.starts_with("UN  ")).expect("a UN line");
        assert!(line.starts_with("UN  127.0.0.1  "), "{line}");
        assert!(line.contains("  16      100.0%  "), "{line}");
        assert!(nodetool_ok(port, &["status", "ks"]).await.contains("100.0%"));

        let ring = nodetool_ok(port, &["ring"]).await;
        assert!(ring.contains("Datacenter: datacenter1\n==========\n"), "{ring}");
        assert_eq!(ring.matches("127.0.0.1  ").count(), 16, "{ring}");

        let info = nodetool_ok(port, &["info"]).await;
        assert!(info.contains("Native Transport active: true\n"), "{info}");
        assert!(info.contains("Data Center            : datacenter1\n"), "{info}");

        let cluster = nodetool_ok(port, &["describecluster"]).await;
        assert!(cluster.contains("\tName: Test Cluster\n"), "{cluster}");
        assert!(cluster.contains("\tks -> Replication class: SimpleStrategy {replication_factor=1}\n"));
        let gossip = nodetool_ok(port, &["gossipinfo"]).await;
        assert!(gossip.starts_with("/127.0.0.1\n  generation:"), "{gossip}");
        assert!(gossip.contains("  STATUS:"), "{gossip}");

        assert_eq!(nodetool_ok(port, &["getendpoints", "ks", "t", "1"]).await, "127.0.0.1\n");
        assert_eq!(nodetool_ok(port, &["version"]).await, "ReleaseVersion: 5.0.0\n");

        assert_eq!(nodetool_ok(port, &["flush", "ks", "t"]).await, "");
        let stats = nodetool_ok(port, &["tablestats", "ks.t"]).await;
        assert!(stats.starts_with("Total number of tables: 1\n"), "{stats}");
        assert!(stats.contains("\t\tTable: t\n\t\tSSTable count: 1\n"), "{stats}");
        assert_eq!(nodetool_ok(port, &["compact", "ks"]).await, "");

        let metrics = cluster::blocking::run(move || {
            AdminClient::new("127.0.0.1", port).get_text("/metrics")
        })
        .await
        .unwrap()
        .unwrap();
        for name in [
            "basalt_cql_requests_total{op=\"execute\",kind=\"write\",consistency=\"LOCAL_QUORUM\",outcome=\"ok\"} 20",
            "basalt_cql_request_latency_seconds_bucket{op=\"query\",kind=\"read\"",
            "outcome=\"client_error\"} 1",
            "basalt_table_sstables{keyspace=\"ks\",table=\"t\"} 1",
            "basalt_table_pending_compactions{keyspace=\"ks\",table=\"t\"}",
            "basalt_hints_pending 0",
            "basalt_read_repairs_total 0",
            "basalt_dropped_messages_total 0",
            "basalt_replica_requests_total{verb=\"mutation\"} 0",
        ] {
            assert!(metrics.contains(name), "{name} missing from\n{metrics}");
        }

        assert_eq!(nodetool_ok(port, &["drain"]).await, "");
        let info = nodetool_ok(port, &["info"]).await;
        assert!(info.contains("Native Transport active: false\n"), "{info}");
        node.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_errors_exit_with_2() {
    bounded(async {
        let node = TestNode::start().await;
        let port = node.admin_port();
        let out = nodetool(port, &["flush", "nope"]).await;
        assert_eq!(out.code, 2);
        assert_eq!(out.stderr, "error: Keyspace [nope] does not exist.\n");
        let out = nodetool(port, &["getendpoints", "system", "local", "x"]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let out = nodetool(port, &["tablestats", "ks."]).await;
        assert_eq!(out.code, 1, "{}", out.stderr);
        node.shutdown().await;
    })
    .await;
}

#[test]
fn an_unreachable_node_is_one_line_and_exit_1() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(["nodetool", "-p", &port.to_string(), "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "nodetool: Failed to connect to '127.0.0.1:{port}' - ConnectException: 'Connection refused'.\n"
        )
    );
}

#[test]
fn usage_errors_exit_with_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(["nodetool", "nosuchcommand"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// `GET path` on the admin API: the status code and the body.
fn raw_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("admin connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout set");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("answer read");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

async fn dump(port: u16) -> basalt::admin_api::Dump {
    cluster::blocking::run(move || {
        AdminClient::new("127.0.0.1", port).get("/v1/dump?keyspace=ks&table=t")
    })
    .await
    .expect("the request ran")
    .expect("the dump answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_lists_the_local_partitions_with_digests() {
    bounded(async {
        let node = TestNode::start().await;
        let port = node.admin_port();
        load_some_data(&node).await;
        let before = dump(port).await;
        assert_eq!(before.partitions.len(), 20);
        // k = 1 is the 4-byte big-endian int; its token is the one getendpoints reports.
        let one = before
            .partitions
            .iter()
            .find(|p| p.key == "00000001")
            .expect("k = 1 is listed");
        let endpoints: basalt::admin_api::Endpoints = cluster::blocking::run(move || {
            AdminClient::new("127.0.0.1", port).get("/v1/endpoints?keyspace=ks&table=t&key=1")
        })
        .await
        .expect("the request ran")
        .expect("endpoints answer");
        assert_eq!(one.token, endpoints.token);
        assert_eq!((one.cells, one.digest.len()), (1, 32));
        assert!(
            before
                .partitions
                .windows(2)
                .all(|w| w[0].token <= w[1].token)
        );

        // Flushing moves the data to an SSTable without changing it.
        assert_eq!(nodetool_ok(port, &["flush", "ks", "t"]).await, "");
        assert_eq!(dump(port).await, before);

        // A deletion leaves a tombstone: the partition stays listed, changed.
        let session = node.session().await;
        session
            .query_unpaged("DELETE FROM ks.t WHERE k = 1", &[])
            .await
            .expect("delete");
        let after = dump(port).await;
        assert_eq!(after.partitions.len(), 20);
        for (b, a) in before.partitions.iter().zip(&after.partitions) {
            assert_eq!(b.key, a.key);
            assert_eq!(b.digest != a.digest, b.key == "00000001", "{}", b.key);
        }

        let (status, body) =
            tokio::task::block_in_place(|| raw_get(port, "/v1/dump?keyspace=nope&table=t"));
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("Keyspace [nope] does not exist."), "{body}");
        let (status, body) =
            tokio::task::block_in_place(|| raw_get(port, "/v1/dump?keyspace=ks&table=nope"));
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("ks.nope"), "{body}");
        let (status, _) = tokio::task::block_in_place(|| raw_get(port, "/v1/dump?keyspace=ks"));
        assert_eq!(status, 400);
        node.shutdown().await;
    })
    .await;
}
