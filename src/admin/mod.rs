//! The admin HTTP API on `admin_port` (7199, Cassandra's JMX port): JSON for
//! `basalt nodetool`, and Prometheus metrics at `/metrics`.
//!
//! It is served with axum on the node's tokio runtime. Handlers read the cluster
//! through [`ClusterView`], so the same code serves one node and the ring (the
//! node hands it the cluster service's gossip view). Engine calls (flush, compaction,
//! statistics) block, so they run on the blocking pool.

pub mod api;
pub(crate) mod endpoints;
mod prometheus;
mod routes;
mod tables;
pub(crate) mod view;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use storage::Engine;
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::schema::SchemaService;

#[cfg(test)]
pub(crate) use routes::status_report;
pub(crate) use view::ClusterView;

/// A boxed future, for [`NodeControl`]'s object-safe async method.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the admin API may do to the node's lifecycle.
pub(crate) trait NodeControl: Send + Sync + std::fmt::Debug {
    /// `nodetool drain`: stop serving clients, then flush every memtable.
    fn drain(&self) -> BoxFuture<'_, Result<(), String>>;
    /// Whether the CQL server accepts clients.
    fn native_transport_active(&self) -> bool;
    /// Whether gossip runs.
    fn gossip_active(&self) -> bool;
}

/// Everything the handlers read.
#[derive(Debug)]
pub(crate) struct AdminState {
    /// The cluster.
    pub view: Arc<dyn ClusterView>,
    /// This node's storage.
    pub engine: Arc<Engine>,
    /// The catalog.
    pub schema: Arc<SchemaService>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Drain and lifecycle flags.
    pub control: Arc<dyn NodeControl>,
    /// When the node started.
    pub started: Instant,
}

/// A running admin server.
#[derive(Debug)]
pub(crate) struct AdminServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// How long shutdown waits for in-flight admin requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl AdminServer {
    /// Binds `address` and serves the API until [`AdminServer::shutdown`].
    pub(crate) async fn start(
        address: SocketAddr,
        state: AdminState,
    ) -> std::io::Result<AdminServer> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        let router = routes::router(Arc::new(state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("admin server stopped: {e}");
            }
        });
        tracing::info!(address = %local_addr, "admin API listening");
        Ok(AdminServer {
            local_addr,
            stop,
            task,
        })
    }

    /// Where the API listens.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, waits briefly for requests in flight, and drops the
    /// state (so the engine it holds can be closed).
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// An error answer: a status and a one-line message as [`api::ApiError`].
#[derive(Debug)]
pub(crate) struct Failure(StatusCode, String);

impl Failure {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Failure(StatusCode::BAD_REQUEST, message.into())
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Failure(StatusCode::NOT_FOUND, message.into())
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Failure(StatusCode::PAYLOAD_TOO_LARGE, message.into())
    }

    pub(crate) fn internal(message: impl std::fmt::Display) -> Self {
        Failure(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(api::ApiError { error: self.1 })).into_response()
    }
}

/// Runs blocking engine work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    ::cluster::blocking::run(work)
        .await
        .map_err(Failure::internal)?
}
