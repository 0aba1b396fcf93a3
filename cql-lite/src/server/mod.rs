//! An async CQL native protocol v4 server on tokio.
//!
//! The server owns everything that is about the protocol and not about the database:
//! accepting sockets, framing, version negotiation, the connection state machine
//! (OPTIONS, STARTUP, REGISTER, AUTH_RESPONSE), LZ4 compression, stream ids, back-pressure,
//! pushing events and graceful shutdown. The node plugs in a [`Handler`] that answers
//! QUERY, PREPARE, EXECUTE and BATCH.
//!
//! ```no_run
//! use std::sync::Arc;
//! use cql_lite::server::{Handler, Reply, Server, ServerConfig, Session};
//! use cql_lite::{QueryResult, Request, Response};
//!
//! struct Void;
//!
//! impl Handler for Void {
//!     async fn handle(&self, _session: &Arc<Session>, _request: Request) -> Reply {
//!         Reply::new(Response::Result(QueryResult::Void))
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind("127.0.0.1:9042", ServerConfig::default(), Arc::new(Void)).await?;
//! tokio::select! {
//!     _ = std::future::pending::<()>() => {} // e.g. tokio::signal::ctrl_c()
//! }
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod connection;
mod events;
mod listener;
mod session;
mod startup;
mod unwind;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error_response::{ErrorKind, ErrorResponse};
use crate::frame::DEFAULT_MAX_FRAME_LENGTH;
use crate::request::Request;
use crate::response::Response;

pub use events::EventSender;
pub use listener::Server;
pub use session::Session;

/// The CQL version the server advertises unless configured otherwise (clients.md §0.2).
pub const DEFAULT_CQL_VERSION: &str = "3.4.5";

/// What the node implements: the answer to every request the connection does not handle
/// itself.
///
/// The connection answers OPTIONS, STARTUP, REGISTER and AUTH_RESPONSE; QUERY, PREPARE,
/// EXECUTE and BATCH come here. Requests of one connection run concurrently, each in its
/// own task, so a slow one does not hold up the others; a panic is caught and answered
/// with a Server error.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request of `session`'s connection.
    ///
    /// A [`QueryResult::SetKeyspace`](crate::QueryResult::SetKeyspace) answer also sets
    /// the session's keyspace, so `USE ks` needs no extra bookkeeping here.
    fn handle(
        &self,
        session: &Arc<Session>,
        request: Request,
    ) -> impl Future<Output = Reply> + Send;
}

/// A handler's answer: the response and the warnings to send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response message.
    pub response: Response,
    /// Warnings drivers log (header flag 0x08 when not empty).
    pub warnings: Vec<String>,
}

impl Reply {
    /// A reply without warnings.
    pub fn new(response: Response) -> Self {
        Self {
            response,
            warnings: Vec::new(),
        }
    }

    /// An ERROR reply.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(Response::Error(ErrorResponse::new(kind, message)))
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Self::new(response)
    }
}

/// Limits and advertised options of a [`Server`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The largest request body accepted, compressed or not (Cassandra's
    /// `native_transport_max_frame_size`); a larger frame gets a protocol error and the
    /// connection is closed.
    pub max_frame_length: u32,
    /// Requests one connection may have in the handler at once. At the limit the
    /// connection stops reading its socket until one finishes, so a fast client cannot
    /// make the server buffer without bound.
    pub max_in_flight_per_connection: usize,
    /// Open connections at once; a connection over the limit is closed right after accept.
    pub max_connections: usize,
    /// Open connections at once from one source IP (Cassandra's
    /// `native_transport_max_concurrent_connections_per_ip`); one over it is closed right
    /// after accept. It keeps one misbehaving host from taking every slot of
    /// [`max_connections`](Self::max_connections). `usize::MAX` means no limit.
    pub max_connections_per_ip: usize,
    /// How long a connection may take from accept to an answered STARTUP before it is
    /// closed, so that sockets that never speak do not hold slots forever. Zero disables it.
    pub handshake_timeout: Duration,
    /// A connection with no request in flight that reads nothing for this long is closed
    /// (Cassandra's `native_transport_idle_timeout`). Zero disables it.
    pub idle_timeout: Duration,
    /// The `CQL_VERSION` advertised in SUPPORTED.
    pub cql_version: String,
    /// Events buffered per connection before a slow connection starts losing them
    /// (a lagging connection never blocks the publisher or other connections).
    pub event_buffer: usize,
    /// How long [`Server::shutdown`] waits for in-flight requests before closing anyway.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            max_in_flight_per_connection: 1024,
            max_connections: 4096,
            // A quarter of the global limit: a client pool with many connections fits, a
            // single host cannot lock everyone else out.
            max_connections_per_ip: 1024,
            handshake_timeout: Duration::from_secs(10),
            // Off, as in Cassandra: drivers keep pooled connections open between bursts
            // (their heartbeat is an OPTIONS every 30 s by default, but not every driver
            // sends one), and closing those would cost reconnects, not protect anything.
            idle_timeout: Duration::ZERO,
            cql_version: DEFAULT_CQL_VERSION.to_owned(),
            event_buffer: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
