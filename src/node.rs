//! One running node: the storage engine, the schema catalog, the executor and the
//! CQL server, started from a [`Config`] and stopped gracefully.
//!
//! Shutdown order matters for durability: stop accepting and finish in-flight
//! requests first, then flush memtables and close the commit log, so every
//! acknowledged write is in an SSTable or a synced log segment.

pub mod cluster;
mod control;
mod handler;
pub mod identity;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::cluster::coordinator::{ClusterCoordinator, CoordinatorConfig};
use ::cluster::hints::{HintReplayer, HintStore, HintStoreConfig, ReplayConfig};

use cql_lite::Event;
use cql_lite::server::{Server, ServerConfig};
use storage::Engine;

use crate::admin::{AdminServer, AdminState};
use crate::config::Config;
use crate::coordinator::DistributedCoordinator;
use crate::coordinator::cluster::PeerTruncate;
use crate::cql::Guardrails;
use crate::cql::executor::{Executor, ExecutorParts};
use crate::hlc::{Hlc, StorageClock, SystemWallClock, WallClock};
use crate::metrics::Metrics;
use crate::schema::{NodeInfo, SchemaService, SystemTables};

pub use cluster::{ClusterParts, ClusterService};
pub use handler::CqlHandler;

/// Why a node could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(#[from] storage::Error),
    /// A file or socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The schema catalog could not be loaded.
    #[error("schema: {0}")]
    Schema(String),
}

/// A started node.
#[derive(Debug)]
pub struct Node {
    lifecycle: Arc<control::Lifecycle>,
    local_addr: SocketAddr,
    admin: AdminServer,
    engine: Arc<Engine>,
    executor: Arc<Executor>,
    cluster: ClusterService,
    events: tokio::task::JoinHandle<()>,
    hints: Arc<HintStore>,
    hint_replay: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Opens storage and the catalog, joins the cluster (gossip on the
    /// storage port), and starts serving CQL and the admin API.
    pub async fn start(config: &Config) -> Result<Node, NodeError> {
        let started = Instant::now();
        let engine = open_engine(config).await?;
        let data_dir = config
            .engine_options(Arc::new(StorageClock(SystemWallClock)))
            .data_dir;
        let identity = identity::load_or_create(&data_dir, config.num_tokens as usize)?;
        let fs: Arc<dyn storage::io::FileSystem> = Arc::new(storage::io::StdFs);
        let schema = Arc::new(
            SchemaService::open(fs, &data_dir, Arc::clone(&engine), vec![config.dc.clone()])
                .map_err(|e| NodeError::Schema(e.to_string()))?,
        );
        let node_info = node_info(config, &identity);
        let system_tables = Arc::new(SystemTables::new(node_info));
        let metrics = Arc::new(Metrics::new());
        let cluster = ClusterService::start(ClusterParts {
            config,
            identity: &identity,
            engine: Arc::clone(&engine),
            schema: Arc::clone(&schema),
            system_tables: Arc::clone(&system_tables),
            metrics: Arc::clone(&metrics),
        })
        .await?;
        let hints = open_hints(&data_dir).await?;
        let hint_replay = start_hint_replay(&cluster, &hints, &metrics);
        let coordinator = coordinator(config, &cluster, &schema, &engine, &hints);
        let executor = Arc::new(Executor::new(ExecutorParts {
            schema: Arc::clone(&schema),
            coordinator: Arc::new(coordinator),
            system_tables,
            time: Arc::new(Hlc::system()),
            guardrails: guardrails(config),
            prepared_capacity: prepared_capacity(config),
        }));
        let address = SocketAddr::new(config.rpc_address, config.native_transport_port);
        let server = Server::bind(
            address,
            server_config(config),
            Arc::new(CqlHandler::new(Arc::clone(&executor), Arc::clone(&metrics))),
        )
        .await?;
        let local_addr = server.local_addr();
        cluster.set_event_sender(server.events());
        let events = forward_schema_events(&schema, server.events());
        tracing::info!(%address, "listening for CQL clients");
        let lifecycle = Arc::new(control::Lifecycle::new(server, Arc::clone(&engine)));
        let view = cluster.admin_view(config.cluster_name.clone(), snitch(config));
        let state = AdminState {
            view: Arc::new(view),
            engine: Arc::clone(&engine),
            schema,
            metrics,
            control: Arc::clone(&lifecycle) as _,
            started,
        };
        let admin_address = SocketAddr::new(config.listen_address, config.admin_port);
        let admin = AdminServer::start(admin_address, state).await?;
        Ok(Node {
            lifecycle,
            local_addr,
            admin,
            engine,
            executor,
            cluster,
            events,
            hints,
            hint_replay,
        })
    }

    /// The cluster as this node sees it.
    pub fn cluster(&self) -> &ClusterService {
        &self.cluster
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the admin API (nodetool, `/metrics`) listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// Stops serving, then flushes memtables and closes the commit log.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.admin.shutdown().await;
        self.lifecycle.stop_serving().await;
        drop(self.lifecycle);
        self.events.abort();
        drop(self.executor);
        self.hint_replay.abort();
        let _ = self.hint_replay.await;
        let hints = self.hints;
        match tokio::task::spawn_blocking(move || hints.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not flush hints"),
            Err(e) => tracing::warn!(error = %e, "could not flush hints"),
        }
        self.cluster.shutdown().await;
        let engine = self.engine;
        tokio::task::spawn_blocking(move || match Arc::try_unwrap(engine) {
            Ok(engine) => engine.drain(),
            // A storage task still holds the engine: flush what we can; the
            // commit log covers the rest at the next start.
            Err(engine) => engine.flush_all(),
        })
        .await
        .map_err(|e| NodeError::Io(std::io::Error::other(e)))??;
        tracing::info!("drained");
        Ok(())
    }
}

/// Runs a node until SIGINT or SIGTERM, then shuts it down gracefully.
pub async fn run(config: &Config) -> Result<(), NodeError> {
    let node = Node::start(config).await?;
    wait_for_signal().await?;
    tracing::info!("shutting down");
    node.shutdown().await
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

async fn open_engine(config: &Config) -> Result<Arc<Engine>, NodeError> {
    let options = config.engine_options(Arc::new(StorageClock(SystemWallClock)));
    let fs: Arc<dyn storage::io::FileSystem> = Arc::new(storage::io::StdFs);
    let engine = tokio::task::spawn_blocking(move || Engine::open(fs, options))
        .await
        .map_err(|e| NodeError::Io(std::io::Error::other(e)))??;
    Ok(Arc::new(engine))
}

fn forward_schema_events(
    schema: &SchemaService,
    events: cql_lite::server::EventSender,
) -> tokio::task::JoinHandle<()> {
    let mut changes = schema.subscribe();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    events.send(Event::SchemaChange(change));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

/// Opens the durable hint store in `<data_dir>/hints` (Cassandra's defaults:
/// 10 s / 1 MiB flushes, a 3 h window), stamped by the node's wall clock.
async fn open_hints(data_dir: &std::path::Path) -> Result<Arc<HintStore>, NodeError> {
    // The store's 3 h window is the coordinator's `max_hint_window` default.
    let settings = HintStoreConfig::new(data_dir.join("hints"));
    let clock: ::cluster::hints::HintClock =
        Arc::new(|| u64::try_from(SystemWallClock.now_micros() / 1000).unwrap_or(0));
    let store = tokio::task::spawn_blocking(move || HintStore::open(settings, clock))
        .await
        .map_err(|e| NodeError::Io(std::io::Error::other(e)))??;
    Ok(Arc::new(store))
}

/// Replays hints to hosts that come back, for as long as the node runs, and
/// publishes the hint counters to `/metrics` every few seconds.
fn start_hint_replay(
    cluster: &ClusterService,
    hints: &Arc<HintStore>,
    metrics: &Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    let replayer = HintReplayer::new(
        Arc::clone(hints),
        cluster.peers(),
        cluster.topology(),
        ReplayConfig::new(cluster.view().local_host),
    );
    let publish = publish_hint_counters(Arc::clone(hints), Arc::clone(metrics));
    tokio::spawn(async move {
        tokio::join!(replayer.run(), publish);
    })
}

async fn publish_hint_counters(hints: Arc<HintStore>, metrics: Arc<Metrics>) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        every.tick().await;
        let c = hints.counters();
        // Written and not delivered (hints that expired before delivery stay
        // counted: the store does not count those apart from refused ones).
        let pending = c.stored.saturating_sub(c.replayed);
        metrics.cluster.hints_pending.store(pending, Relaxed);
        metrics.cluster.hints_replayed.store(c.replayed, Relaxed);
    }
}

/// The distributed coordinator over the cluster service.
fn coordinator(
    config: &Config,
    cluster: &ClusterService,
    schema: &Arc<SchemaService>,
    engine: &Arc<Engine>,
    hints: &Arc<HintStore>,
) -> DistributedCoordinator {
    let view = cluster.view();
    let mut settings = CoordinatorConfig::new(view.local_host, config.dc.clone());
    settings.read_timeout = Duration::from_millis(config.read_request_timeout);
    settings.write_timeout = Duration::from_millis(config.write_request_timeout);
    settings.range_timeout = Duration::from_millis(config.range_request_timeout);
    let inner = ClusterCoordinator::new(
        settings,
        cluster.peers(),
        cluster.topology(),
        Arc::clone(hints) as _,
        Some(cluster.replica()),
    );
    let (messaging, views) = (cluster.messaging(), cluster.view_cell());
    let truncate: PeerTruncate = Arc::new(move |table| {
        let (messaging, view) = (Arc::clone(&messaging), views.get());
        Box::pin(async move { cluster::truncate_peers(&messaging, &view, table).await })
    });
    DistributedCoordinator::new(inner, Arc::clone(schema), Arc::clone(engine), truncate)
}

fn guardrails(config: &Config) -> Guardrails {
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Guardrails {
        batch_size_warn_bytes: size(config.batch_size_warn_threshold << 10),
        batch_size_fail_bytes: size(config.batch_size_fail_threshold << 10),
        tombstone_warn: size(config.tombstone_warn_threshold),
        tombstone_failure: size(config.tombstone_failure_threshold),
    }
}

/// Prepared statements take roughly 2 KiB each with their plans.
fn prepared_capacity(config: &Config) -> usize {
    usize::try_from((config.prepared_statements_cache_size << 20) / 2048).unwrap_or(1 << 16)
}

fn server_config(config: &Config) -> ServerConfig {
    let mut server = ServerConfig::default();
    server.max_frame_length = u32::try_from(config.native_transport_max_frame_size << 20)
        .unwrap_or(server.max_frame_length);
    server.max_in_flight_per_connection =
        config.native_transport_max_concurrent_requests_per_connection as usize;
    server.max_connections = config.native_transport_max_concurrent_connections as usize;
    server
}

/// The snitch's Java class name, as `describecluster` prints it.
fn snitch(config: &Config) -> String {
    format!("org.apache.cassandra.locator.{:?}", config.endpoint_snitch)
}

fn node_info(config: &Config, identity: &identity::Identity) -> NodeInfo {
    NodeInfo {
        cluster_name: config.cluster_name.clone(),
        listen_address: config.listen_address,
        rpc_address: config.rpc_address,
        native_port: config.native_transport_port,
        data_center: config.dc.clone(),
        rack: config.rack.clone(),
        listen_port: config.storage_port,
        host_id: identity.host_id,
        tokens: identity.tokens.clone(),
        partitioner: cluster::PARTITIONER.to_owned(),
        release_version: crate::schema::RELEASE_VERSION.to_owned(),
        cql_version: crate::schema::CQL_VERSION.to_owned(),
        gossip_generation: identity::generation(),
    }
}
