//! The local cluster launcher driving real `basalt server` processes on
//! 127.0.0.1 … 127.0.0.3: through the library API (`basalt::launcher`) and
//! through `basalt cluster` itself.
//!
//! Every cluster uses a free base port, so a developer's node on 9042 is left
//! alone; every test runs under a time limit, and a guard SIGKILLs whatever
//! nodes are still running when a test ends, passed or failed.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use basalt::{Cluster, LauncherError, StartOptions};
use cql_lite::client::Client;
use cql_lite::{Consistency, QueryParameters, QueryResult};
use support::processes::{BINARY, bounded, free_base_port, loopback};

/// Upper bound on one test: three node starts and a restart, each well under
/// a second on a quiet machine, leave a wide margin for a loaded one.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// `SELECT release_version FROM system.local` on the node at `addr`, with the
/// cql-lite client, within 20 s.
fn release_version(addr: SocketAddr) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let query = async {
            let client = Client::connect(addr).await.expect("connects");
            let result = client
                .query(
                    "SELECT release_version FROM system.local",
                    QueryParameters::new(Consistency::One),
                )
                .await
                .expect("query succeeds");
            let QueryResult::Rows(rows) = result else {
                panic!("expected rows, got {result:?}");
            };
            let cell = rows.rows[0][0].clone().expect("a release version");
            String::from_utf8(cell.to_vec()).expect("text")
        };
        tokio::time::timeout(Duration::from_secs(20), query)
            .await
            .expect("answered within 20 s")
    })
}

fn running(cluster: &Cluster) -> Vec<(String, bool, bool)> {
    cluster
        .status()
        .into_iter()
        .map(|s| (s.name.clone(), s.running(), s.cql_open))
        .collect()
}

fn expect_running(cluster: &Cluster, states: [bool; 3]) {
    let expected: Vec<_> = (1..=3)
        .zip(states)
        .map(|(k, up)| (format!("node{k}"), up, up))
        .collect();
    assert_eq!(running(cluster), expected);
}

#[test]
fn three_nodes_start_answer_cql_survive_a_kill_and_are_cleared() {
    bounded(TEST_TIMEOUT, |dir| {
        let options = StartOptions {
            nodes: 3,
            base_port: Some(free_base_port()),
            binary: PathBuf::from(BINARY),
        };
        let mut cluster = Cluster::create(dir, &options).expect("laid out");
        let started = cluster.start().expect("every node starts");
        assert_eq!(started, ["node1", "node2", "node3"]);
        for (k, node) in (1..=3).zip(cluster.nodes()) {
            assert_eq!(node.address, loopback(k));
            assert_eq!(release_version(node.cql_addr()), basalt::RELEASE_VERSION);
        }
        expect_running(&cluster, [true, true, true]);

        cluster.kill("node2").expect("SIGKILL");
        expect_running(&cluster, [true, false, true]);
        // A launcher that did not start the nodes (the CLI's next run) sees the same.
        let reopened = Cluster::open(dir, PathBuf::from(BINARY)).expect("opens");
        expect_running(&reopened, [true, false, true]);

        // A new cluster is refused while nodes run in the directory.
        let refused = Cluster::create(dir, &options).expect_err("refused");
        assert!(
            matches!(refused, LauncherError::Running { ref nodes, .. } if nodes == &["node1", "node3"])
        );

        cluster.start_node("node2").expect("node2 restarts");
        let node2 = cluster.node("node2").expect("node2").cql_addr();
        assert_eq!(release_version(node2), basalt::RELEASE_VERSION);
        expect_running(&cluster, [true, true, true]);

        // SIGTERM to one node leaves the others running.
        cluster.stop_node("node2").expect("SIGTERM stops node2");
        expect_running(&cluster, [true, false, true]);
        let again = cluster.stop_node("node2").expect_err("already stopped");
        assert!(matches!(again, LauncherError::NotRunning(ref n) if n == "node2"));
        cluster.start_node("node2").expect("node2 starts again");
        expect_running(&cluster, [true, true, true]);

        cluster.stop().expect("SIGTERM stops every node");
        expect_running(&cluster, [false, false, false]);
        cluster.clear().expect("cleared");
        assert!(!dir.exists());
    });
}

fn basalt_cluster(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(BINARY)
        .arg("cluster")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("the binary runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn the_cli_starts_reports_kills_and_clears_a_cluster() {
    bounded(TEST_TIMEOUT, |dir| {
        let base = free_base_port().to_string();
        let (ok, out) = basalt_cluster(dir, &["start", "--nodes", "2", "--base-port", &base]);
        assert!(ok, "{out}");
        // The nodes outlive the launcher process that started them.
        let cql = SocketAddr::new(loopback(2), base.parse().expect("port"));
        assert_eq!(release_version(cql), basalt::RELEASE_VERSION);

        let (ok, out) = basalt_cluster(dir, &["kill", "node2"]);
        assert!(ok, "{out}");
        let (ok, status) = basalt_cluster(dir, &["status"]);
        assert!(ok, "{status}");
        let lines: Vec<_> = status.lines().collect();
        assert_eq!(lines.len(), 2, "{status}");
        assert!(lines[0].starts_with("node1  127.0.0.1  pid "), "{status}");
        assert!(lines[0].contains(" running "), "{status}");
        assert!(lines[0].ends_with(&format!("CQL {base} open")), "{status}");
        assert!(lines[1].contains(" stopped "), "{status}");
        assert!(lines[1].ends_with("closed"), "{status}");

        let (ok, out) = basalt_cluster(dir, &["start", "--nodes", "3"]);
        assert!(!ok && out.contains("nodes are running"), "{out}");
        let (ok, out) = basalt_cluster(dir, &["kill", "node2"]);
        assert!(!ok && out.contains("node2 is not running"), "{out}");

        let (ok, out) = basalt_cluster(dir, &["clear"]);
        assert!(ok, "{out}");
        assert!(!dir.exists());
    });
}
