//! The `basalt` binary as an operator runs it: every acknowledged write
//! survives SIGKILL (commit-log replay at the next start), SIGTERM shuts the
//! node down cleanly with exit status 0, and a restart after that still has
//! the data.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use support::{bounded, free_port};

const ROWS: i32 = 500;

/// A `basalt server` child process, killed if a test fails while it runs.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts the binary on `port` with its data under `dir`, and waits until
    /// it accepts CQL connections.
    async fn start(dir: &Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_basalt"))
            .arg("server")
            .arg("--data-dir")
            .arg(dir)
            .args(["--native-transport-port", &port.to_string()])
            .args(["--set", &format!("storage_port={}", free_port())])
            .args(["--set", &format!("admin_port={}", free_port())])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        server.wait_until_serving().await;
        server
    }

    async fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if cql_lite::client::Client::connect(self.addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start serving within 30 s");
    }

    async fn session(&self) -> Session {
        SessionBuilder::new()
            .known_node_addr(self.addr)
            .build()
            .await
            .expect("the driver connects")
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then wait up to 30 s for the exit.
    async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached with the child still running when a test failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn write_rows(session: &Session) {
    session
        .query_unpaged(
            "CREATE KEYSPACE proc WITH replication = \
             {'class': 'SimpleStrategy', 'replication_factor': 1}",
            &[],
        )
        .await
        .expect("create keyspace");
    session
        .query_unpaged(
            "CREATE TABLE proc.t (p int, c int, v text, PRIMARY KEY (p, c))",
            &[],
        )
        .await
        .expect("create table");
    let insert = session
        .prepare("INSERT INTO proc.t (p, c, v) VALUES (?, ?, ?)")
        .await
        .expect("prepare");
    futures::stream::iter(0..ROWS)
        .map(|i| session.execute_unpaged(&insert, (i % 10, i, format!("v{i}"))))
        .buffer_unordered(32)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("every write acknowledged");
    // A deletion and an overwrite must survive replay too.
    session
        .query_unpaged("DELETE FROM proc.t WHERE p = 0 AND c = 0", &[])
        .await
        .expect("delete");
    session
        .query_unpaged("UPDATE proc.t SET v = 'changed' WHERE p = 1 AND c = 1", &[])
        .await
        .expect("update");
}

/// Every row written by [`write_rows`], in (p, c) order.
fn expected_rows() -> Vec<(i32, i32, String)> {
    let mut rows: Vec<(i32, i32, String)> = (1..ROWS)
        .map(|i| {
            let v = if i == 1 {
                "changed".to_owned()
            } else {
                format!("v{i}")
            };
            (i % 10, i, v)
        })
        .collect();
    rows.sort();
    rows
}

async fn read_rows(session: &Session) -> Vec<(i32, i32, String)> {
    let mut rows: Vec<(i32, i32, String)> = session
        .query_iter("SELECT p, c, v FROM proc.t", &[])
        .await
        .expect("scan")
        .rows_stream::<(i32, i32, String)>()
        .expect("typed")
        .try_collect()
        .await
        .expect("all pages");
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_sigterm_is_clean() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();

        let server = Server::start(dir.path(), port).await;
        let session = server.session().await;
        write_rows(&session).await;
        drop(session);
        server.kill();

        // The commit log brings back every acknowledged write, and the schema.
        let server = Server::start(dir.path(), port).await;
        let session = server.session().await;
        assert_eq!(read_rows(&session).await, expected_rows(), "after SIGKILL");
        // Writes after recovery go on working.
        session
            .query_unpaged("INSERT INTO proc.t (p, c, v) VALUES (42, 42, 'after')", &[])
            .await
            .expect("write after recovery");
        drop(session);

        let status = server.terminate().await;
        assert!(status.success(), "SIGTERM exit status: {status:?}");

        let server = Server::start(dir.path(), port).await;
        let session = server.session().await;
        let mut expected = expected_rows();
        expected.push((42, 42, "after".to_owned()));
        expected.sort();
        assert_eq!(read_rows(&session).await, expected, "after SIGTERM");
        drop(session);
        let status = server.terminate().await;
        assert!(status.success(), "second SIGTERM exit status: {status:?}");
    })
    .await;
}

/// A fault-injection build refuses to start with a canary it does not have,
/// so a harness never believes it runs a bug that is not there.
#[cfg(feature = "fault-injection")]
#[test]
fn an_unknown_canary_stops_the_server_at_start() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .arg("server")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--native-transport-port", &free_port().to_string()])
        .args(["--set", &format!("storage_port={}", free_port())])
        .args(["--set", &format!("admin_port={}", free_port())])
        .env("BASALT_CANARY", "no-such-bug")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child is polled") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            panic!("the server kept running with an unknown canary");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut child.stderr.take().expect("stderr is piped"),
        &mut stderr,
    )
    .expect("stderr reads");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("BASALT_CANARY=no-such-bug: no such canary"),
        "{stderr}"
    );
}
