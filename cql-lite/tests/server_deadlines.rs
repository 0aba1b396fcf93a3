//! Connections that hold a slot without using it: the handshake deadline, the per-address
//! limit and the idle timeout, over real sockets on loopback, each test bounded in time.

mod net;

use std::net::SocketAddr;
use std::time::Duration;

use cql_lite::client::Client;
use cql_lite::server::{Server, ServerConfig};
use cql_lite::*;
use net::*;
use tokio::net::TcpSocket;
use tokio::time::timeout;

/// Short enough to keep the tests quick, long enough that a loaded machine still opens a
/// handful of sockets within it.
const SHORT: Duration = Duration::from_millis(300);

fn params() -> QueryParameters {
    QueryParameters::new(Consistency::One)
}

/// Waits until the server counts `open` connections (accepts run on the server's task).
async fn until_open(server: &Server, open: usize) {
    while server.connection_count() != open {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Asserts that `raw`, a started connection, still answers a query.
async fn answers(raw: &mut Raw, text: &str) {
    raw.send(2, query(text)).await;
    let answer = raw.recv().await;
    let Response::Result(result) = &answer.response else {
        panic!("{answer:?}");
    };
    assert_eq!(echoed(result), text);
}

/// A raw connection to `server` that leaves from `source` (any of 127/8 reaches loopback).
async fn connect_from(source: &str, server: SocketAddr) -> Raw {
    let socket = TcpSocket::new_v4().expect("an IPv4 socket");
    let source = format!("{source}:0").parse().expect("a source address");
    socket.bind(source).expect("bind the source address");
    Raw::over(socket.connect(server).await.expect("connect"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_never_start_up_are_closed_and_free_the_port() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            max_connections: 8,
            // Longer than the others: all eight must be open at once before it expires.
            handshake_timeout: Duration::from_secs(1),
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let addr = server.local_addr();
        let mut started = Raw::started(addr).await;
        let mut silent = Vec::new();
        for _ in 0..7 {
            silent.push(Raw::connect(addr).await);
        }
        until_open(&server, 8).await;
        // Every slot is taken; the silent ones are closed by the deadline...
        for raw in &mut silent {
            assert!(raw.closed().await);
        }
        // ...the one that finished STARTUP is not...
        answers(&mut started, "still here").await;
        // ...and a real client gets in.
        until_open(&server, 1).await;
        let client = Client::connect(addr).await.unwrap();
        let result = client.query("hello", params()).await.unwrap();
        assert_eq!(echoed(&result), "hello");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_address_limit_are_closed() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            max_connections_per_ip: 2,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let addr = server.local_addr();
        let mut first = Raw::started(addr).await;
        let mut second = Raw::started(addr).await;
        let mut third = Raw::connect(addr).await;
        assert!(third.closed().await);
        // The refusal does not touch the connections already open from that address...
        answers(&mut first, "first").await;
        answers(&mut second, "second").await;
        // ...nor another address.
        let mut other = connect_from("127.0.0.2", addr).await;
        let startup = [("CQL_VERSION".to_owned(), "3.4.5".to_owned())].into();
        other.send(1, Request::Startup(startup)).await;
        assert_eq!(other.recv().await.response, Response::Ready);
        answers(&mut other, "other").await;
        // A slot comes back when its connection goes.
        drop(first);
        until_open(&server, 2).await;
        let mut again = Raw::started(addr).await;
        answers(&mut again, "again").await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_busy_ones_are_not() {
    timeout(LIMIT, async {
        let idle_timeout = Duration::from_millis(500);
        let config = ServerConfig {
            idle_timeout,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let addr = server.local_addr();
        let mut idle = Raw::started(addr).await;
        let mut busy = Raw::started(addr).await;
        // In the handler for two idle timeouts and a bit, with nothing read meanwhile;
        // the answer lands mid-way through an idle period, not at its end.
        busy.send(2, query("sleep 1100 slow")).await;
        assert!(idle.closed().await);
        let answer = busy.recv().await;
        let Response::Result(result) = &answer.response else {
            panic!("{answer:?}");
        };
        assert_eq!(echoed(result), "sleep 1100 slow");
        // The connection is still open for the next request (a connection closed while
        // busy would still deliver the answers in flight, but read nothing more).
        answers(&mut busy, "next").await;
        // Once nothing is in flight, the busy connection is idle like any other.
        assert!(busy.closed().await);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_stay_open_by_default() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::started(server.local_addr()).await;
        // Well past the short timeouts used above, the connection still answers.
        assert!(timeout(SHORT * 3, raw.frame()).await.is_err(), "closed");
        answers(&mut raw, "quiet but welcome").await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_too_long_to_represent_never_fire() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            handshake_timeout: Duration::MAX,
            idle_timeout: Duration::MAX,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let mut raw = Raw::started(server.local_addr()).await;
        answers(&mut raw, "far future").await;
    })
    .await
    .unwrap();
}
