//! Shared harness for the integration tests: a real node on a free loopback
//! port with its data in a temporary directory, and helpers every test uses.
//!
//! Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

pub(crate) mod processes;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use basalt::Config;
use basalt::Node;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use tempfile::TempDir;

/// Upper bound on any one test, so a hung server fails the test instead of CI.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The first port tests take, and how many they choose from: ports below
/// Linux's ephemeral range (32768 and up), so that no outgoing connection (a
/// driver's, a node's) can take a port between the test choosing it and the
/// node binding it.
const FIRST_PORT: u16 = 20_000;
const PORT_SPAN: u16 = 12_000;

/// `count` consecutive ports free on every address of `hosts`, none handed out
/// before by this process; processes start at different offsets. Only another
/// program binding the same port in between can still race the node.
pub(crate) fn free_ports(hosts: &[IpAddr], count: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORT_SPAN - count);
    let offset = std::process::id().wrapping_mul(97) % span;
    for _ in 0..PORT_SPAN {
        let n = NEXT.fetch_add(u32::from(count), Ordering::Relaxed);
        let base = FIRST_PORT + u16::try_from((offset + n) % span).expect("below the span");
        let free = hosts
            .iter()
            .all(|&host| (base..base + count).all(|port| TcpListener::bind((host, port)).is_ok()));
        if free {
            return base;
        }
    }
    panic!("no {count} free ports below the ephemeral range");
}

/// A port nobody listens on right now on 127.0.0.1 (see [`free_ports`]).
pub(crate) fn free_port() -> u16 {
    free_ports(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], 1)
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
    cluster::blocking::run(move || basalt::execute_nodetool(&args))
        .await
        .expect("nodetool ran")
}

/// [`nodetool`]'s standard output; the command must succeed.
pub(crate) async fn nodetool_ok(port: u16, args: &[&str]) -> String {
    let out = nodetool(port, args).await;
    assert_eq!(out.code, 0, "nodetool {args:?}: {}", out.stderr);
    out.stdout
}
