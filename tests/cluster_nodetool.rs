//! `basalt nodetool` against one node of a three-node cluster in this process
//! (127.0.0.1–3) sees the whole cluster: `status` lists three UN nodes with
//! distinct host ids and announced loads, `ring` every node's tokens,
//! `gossipinfo` three endpoint states, `describecluster` one schema version,
//! and `getendpoints` three replicas for an RF 3 keyspace; once node 3 shuts
//! down, `status` shows it DN and `describecluster` unreachable.

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use basalt::Config;
use basalt::Node;
use cql_lite::client::Client;
use cql_lite::{Consistency, QueryParameters};
use support::nodetool_ok;
use tempfile::TempDir;

fn ip(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))
}

/// A port free on 127.0.0.1, .2 and .3 alike.
fn common_port() -> u16 {
    support::free_ports(&[ip(1), ip(2), ip(3)], 1)
}

async fn start(i: u8, ports: [u16; 3]) -> (Node, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = Config {
        listen_address: ip(i),
        rpc_address: ip(i),
        native_transport_port: ports[0],
        storage_port: ports[1],
        admin_port: ports[2],
        seeds: vec!["127.0.0.1".to_owned()],
        data_file_directories: vec![dir.path().join("data")],
        commitlog_directory: dir.path().join("commitlog"),
        ..Config::default()
    };
    let node = Node::start(&config).await.expect("node starts");
    (node, dir)
}

/// Whether `word` looks like a uuid (8-4-4-4-12 hex digits).
fn is_uuid(word: &str) -> bool {
    let parts: Vec<usize> = word.split('-').map(str::len).collect();
    parts == [8, 4, 4, 4, 12] && word.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// The `UN` lines of `status` output with their host ids, when every line
/// shows a load (no `?`).
fn up_normal(status: &str) -> Vec<(String, String)> {
    status
        .lines()
        .filter(|l| l.starts_with("UN"))
        .filter(|l| !l.contains(" ? "))
        .map(|l| {
            let host = l.split_whitespace().find(|w| is_uuid(w)).unwrap_or("");
            (l.to_owned(), host.to_owned())
        })
        .collect()
}

/// Polls `status` until it shows three UN nodes with loads, or panics.
async fn three_up(port: u16) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = nodetool_ok(port, &["status", "ks"]).await;
        let up = up_normal(&status);
        if up.len() == 3 {
            return up;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "three UN nodes with loads never showed:\n{status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `status` until node 3 shows DN (it said goodbye) and the others UN,
/// and `describecluster` counts it unreachable, or panics.
async fn one_down(port: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = nodetool_ok(port, &["status"]).await;
        let down = status.lines().filter(|l| l.starts_with("DN")).count();
        let up = status.lines().filter(|l| l.starts_with("UN")).count();
        if (up, down) == (2, 1) {
            assert!(status.contains("DN  127.0.0.3"), "{status}");
            let describe = nodetool_ok(port, &["describecluster"]).await;
            assert!(describe.contains("UNREACHABLE: [127.0.0.3]"), "{describe}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node 3 never showed down:\n{status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodetool_sees_the_whole_cluster() {
    support::bounded(async {
        let ports = [common_port(), common_port(), common_port()];
        let mut nodes = Vec::new();
        for i in 1..=3 {
            nodes.push(start(i, ports).await);
        }
        let client = Client::connect((ip(1), ports[0]))
            .await
            .expect("connect");
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
            "CREATE TABLE ks.t (k int PRIMARY KEY, v text)",
        ] {
            client
                .query(cql, QueryParameters::new(Consistency::One))
                .await
                .expect("schema change");
        }
        let admin = nodes[0].0.admin_addr().expect("the node listens").port();

        let up = three_up(admin).await;
        let hosts: BTreeSet<&str> = up.iter().map(|(_, h)| h.as_str()).collect();
        assert_eq!(hosts.len(), 3, "distinct host ids: {up:?}");
        for (line, _) in &up {
            assert!(line.contains("100.0%"), "RF 3 over 3 nodes: {line}");
        }

        let endpoints = nodetool_ok(admin, &["getendpoints", "ks", "t", "1"]).await;
        let replicas: BTreeSet<&str> = endpoints.lines().collect();
        let expected: BTreeSet<String> = (1..=3).map(|i| ip(i).to_string()).collect();
        let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(replicas, expected, "getendpoints: {endpoints}");

        let ring = nodetool_ok(admin, &["ring"]).await;
        for i in 1..=3 {
            assert!(ring.contains(&ip(i).to_string()), "ring: {ring}");
        }
        let gossip = nodetool_ok(admin, &["gossipinfo"]).await;
        let endpoints = gossip.lines().filter(|l| l.starts_with('/')).count();
        assert_eq!(endpoints, 3, "gossipinfo: {gossip}");
        assert!(gossip.contains("LOAD:"), "gossipinfo: {gossip}");

        let (third, _dir) = nodes.pop().expect("node 3");
        third.shutdown().await.expect("clean shutdown");
        one_down(admin).await;

        for (node, _dir) in nodes {
            node.shutdown().await.expect("clean shutdown");
        }
    })
    .await;
}
