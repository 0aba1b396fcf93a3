//! Shared harness for the integration tests: a real node on a free loopback
//! port with its data in a temporary directory, and helpers every test uses.
//!
//! Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

pub(crate) mod processes;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use basalt::Config;
use basalt::Node;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use tempfile::TempDir;

/// Upper bound on any one test, so a hung server fails the test instead of CI.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A port nobody listens on right now: bind port 0, note the port, let it go.
/// Another process could take it before the node binds it; on a test machine
/// that race is rare enough to accept.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A node running in this process, and the directory holding its data.
pub(crate) struct TestNode {
    node: Option<Node>,
    /// Where CQL clients connect.
    pub(crate) addr: SocketAddr,
    config: Config,
    /// Kept so the directory outlives the node.
    dir: TempDir,
}

impl TestNode {
    /// Starts a node on 127.0.0.1 with free ports and a fresh data directory.
    pub(crate) async fn start() -> TestNode {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = Config {
            native_transport_port: free_port(),
            storage_port: free_port(),
            admin_port: free_port(),
            data_file_directories: vec![dir.path().join("data")],
            commitlog_directory: dir.path().join("commitlog"),
            ..Config::default()
        };
        let node = Node::start(&config).await.expect("node starts");
        let addr = node.local_addr();
        TestNode {
            node: Some(node),
            addr,
            config,
            dir,
        }
    }

    /// Shuts the node down gracefully and starts it again on the same port and
    /// data; connected drivers see the connection drop and reconnect.
    pub(crate) async fn restart(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.expect("clean shutdown");
        }
        let node = Node::start(&self.config).await.expect("node restarts");
        self.addr = node.local_addr();
        self.node = Some(node);
    }

    /// The admin API's port (nodetool, `/metrics`).
    pub(crate) fn admin_port(&self) -> u16 {
        self.config.admin_port
    }

    /// A scylla session connected to this node, with schema metadata fetched.
    pub(crate) async fn session(&self) -> Session {
        SessionBuilder::new()
            .known_node_addr(self.addr)
            .build()
            .await
            .expect("the driver connects")
    }

    /// Stops the node gracefully.
    pub(crate) async fn shutdown(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.expect("clean shutdown");
        }
    }
}

/// Runs a test body under [`TEST_TIMEOUT`].
pub(crate) async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test finished within its time limit");
}

/// Runs `basalt nodetool -h 127.0.0.1 -p PORT <args>` through the library, off
/// the runtime (the client blocks).
pub(crate) async fn nodetool(port: u16, args: &[&str]) -> basalt::NodetoolOutput {
    use clap::Parser;
    let port = port.to_string();
    let argv: Vec<String> = ["basalt", "nodetool", "-h", "127.0.0.1", "-p", &port]
        .iter()
        .chain(args)
        .map(|s| (*s).to_owned())
        .collect();
    let basalt::Command::Nodetool(args) = basalt::Cli::try_parse_from(argv)
        .expect("valid arguments")
        .command
    else {
        panic!("not a nodetool command");
    };
    tokio::task::spawn_blocking(move || basalt::execute_nodetool(&args))
        .await
        .expect("nodetool ran")
}

/// [`nodetool`]'s standard output; the command must succeed.
pub(crate) async fn nodetool_ok(port: u16, args: &[&str]) -> String {
    let out = nodetool(port, args).await;
    assert_eq!(out.code, 0, "nodetool {args:?}: {}", out.stderr);
    out.stdout
}
