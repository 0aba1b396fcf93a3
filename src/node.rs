//! One running node: the storage engine, the schema catalog, the executor and the
//! CQL server, started from a [`Config`] and stopped gracefully.
//!
//! Shutdown order matters for durability: stop accepting and finish in-flight
//! requests first, then flush memtables and close the commit log, so every
//! acknowledged write is in an SSTable or a synced log segment.

mod canary;
pub(crate) mod cluster;
mod control;
mod counters;
mod handler;
pub(crate) mod identity;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::cluster::TimestampObserver;
use ::cluster::{BatchlogReplayConfig, BatchlogReplayer, BatchlogStore, BatchlogStoreConfig};
use ::cluster::{ClusterCoordinator, CoordinatorConfig, GcGrace};
use ::cluster::{HintReplayConfig as ReplayConfig, HintReplayer, HintStore, HintStoreConfig};

use cql_lite::Event;
use cql_lite::server::{Server, ServerConfig};
use storage::Engine;

use crate::admin::{AdminServer, AdminState};
use crate::config::Config;
use crate::coordinator::DistributedCoordinator;
use crate::coordinator::cluster::PeerTruncate;
use crate::cql::Guardrails;
use crate::cql::executor::{Executor, ExecutorParts};
use crate::hlc::{ClockFloor, Hlc, OffsetWallClock, StorageClock, WallClock};
use crate::metrics::Metrics;
use crate::schema::{NodeInfo, SchemaService, SystemTables};

pub(crate) use cluster::{ClusterParts, ClusterService};
pub(crate) use handler::CqlHandler;

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
    /// `BASALT_CANARY` names no canary this build has.
    #[error("{0}")]
    Canary(String),
}

/// What a node runs on: the machine (its file system, TCP and clock), or a
/// simulation's doubles, so that a deterministic simulation runs the same
/// node code over a simulated disk, network and time.
#[derive(Clone)]
pub struct NodeEnv {
    /// Where the data directory lives.
    pub fs: Arc<dyn storage::FileSystem>,
    /// The internode transport; `None` binds TCP on the storage port.
    pub transport: Option<Arc<dyn ::cluster::Transport>>,
    /// The wall clock in µs since the epoch before `clock_offset`; `None`
    /// reads the system's.
    pub wall_source: Option<fn() -> i64>,
    /// Whether clients reach the node over TCP (the CQL port and the admin
    /// API); a simulation sends requests through [`Node::execute`] instead.
    pub listen: bool,
    /// Where storage's background work runs: its own threads, or (in a
    /// simulation, which has one thread) inline, with the periodic checks
    /// run by a task of the node every [`INLINE_STORAGE_ROUND`].
    pub storage_background: storage::Background,
}

/// How often a node whose storage runs inline runs storage's periodic checks
/// (timed flushes, the commit log's periodic sync and space bound).
pub const INLINE_STORAGE_ROUND: Duration = Duration::from_millis(100);

impl NodeEnv {
    /// The machine's file system, TCP and clock.
    pub fn real() -> Self {
        NodeEnv {
            fs: Arc::new(storage::StdFs),
            transport: None,
            wall_source: None,
            listen: true,
            storage_background: storage::Background::Threads,
        }
    }
}

impl std::fmt::Debug for NodeEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeEnv")
            .field("simulated_transport", &self.transport.is_some())
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

/// Selects the canary `name` for this process, before any node starts (a
/// simulation's nodes share its process); an error when this build has no
/// canaries or another one is active.
pub fn select_canary(name: &str) -> Result<(), String> {
    canary::select_named(name)
}

/// A started node.
#[derive(Debug)]
pub struct Node {
    lifecycle: Arc<control::Lifecycle>,
    local_addr: SocketAddr,
    admin: Option<AdminServer>,
    handler: Arc<CqlHandler>,
    events: Option<tokio::task::JoinHandle<()>>,
    core: Core,
}

/// What [`Node::start_with`] opens before clients are served.
#[derive(Debug)]
struct Core {
    engine: Arc<Engine>,
    schema: Arc<SchemaService>,
    metrics: Arc<Metrics>,
    cluster: ClusterService,
    executor: Arc<Executor>,
    hints: Arc<HintStore>,
    hint_replay: tokio::task::JoinHandle<()>,
    batchlog: Arc<BatchlogStore>,
    batch_replay: tokio::task::JoinHandle<()>,
    counters: tokio::task::JoinHandle<()>,
    storage_rounds: Option<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Opens storage and the catalog, joins the cluster (gossip on the
    /// storage port), and starts serving CQL and the admin API.
    pub async fn start(config: &Config) -> Result<Node, NodeError> {
        Node::start_with(config, NodeEnv::real()).await
    }

    /// As [`Node::start`], on the file system, transport and clock of `env`.
    pub async fn start_with(config: &Config, env: NodeEnv) -> Result<Node, NodeError> {
        let started = Instant::now();
        let core = open_core(config, &env).await?;
        let handler = Arc::new(CqlHandler::new(
            Arc::clone(&core.executor),
            Arc::clone(&core.metrics),
        ));
        let (server, local_addr) = if env.listen {
            let server = serve_cql(config, Arc::clone(&handler)).await?;
            let address = server.local_addr();
            (Some(server), address)
        } else {
            let address = SocketAddr::new(config.rpc_address, config.native_transport_port);
            (None, address)
        };
        let events = server.as_ref().map(|server| {
            core.cluster.set_event_sender(server.events());
            forward_schema_events(&core.schema, server.events())
        });
        let lifecycle = Arc::new(control::Lifecycle::new(server, Arc::clone(&core.engine)));
        let admin = if env.listen {
            let view = core
                .cluster
                .admin_view(config.cluster_name.clone(), snitch(config));
            let state = AdminState {
                view: Arc::new(view),
                engine: Arc::clone(&core.engine),
                schema: Arc::clone(&core.schema),
                metrics: Arc::clone(&core.metrics),
                control: Arc::clone(&lifecycle) as _,
                started,
            };
            Some(start_admin(config, state).await?)
        } else {
            None
        };
        Ok(Node {
            lifecycle,
            local_addr,
            admin,
            handler,
            events,
            core,
        })
    }

    /// Answers one CQL request of `session` as the CQL port would: how a
    /// simulation's clients reach a node that does not listen.
    pub async fn execute(
        &self,
        session: &Arc<cql_lite::server::Session>,
        request: cql_lite::Request,
    ) -> cql_lite::server::Reply {
        cql_lite::server::Handler::handle(self.handler.as_ref(), session, request).await
    }

    /// The local storage engine (a simulation flushes and compacts it).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.core.engine
    }

    /// Every partition of `keyspace.table` in this node's storage, with its
    /// digest (what `/v1/dump` lists). Blocks on storage.
    pub fn dump_table(
        &self,
        keyspace: &str,
        table: &str,
    ) -> Result<Vec<::cluster::PartitionSummary>, String> {
        let schema = self.core.schema.current();
        let def = schema
            .table(keyspace, table)
            .ok_or_else(|| format!("no table {keyspace}.{table}"))?;
        ::cluster::dump(&self.core.engine, def.table_id(), usize::MAX).map_err(|e| e.to_string())
    }

    /// Hint bytes and logged batches this node still holds for others: zero
    /// once every hint is delivered and every batch confirmed.
    pub fn pending_handoffs(&self) -> u64 {
        let hints = self.core.hints.counters();
        hints.pending_bytes + hints.queued_bytes + self.core.batchlog.counters().pending
    }

    /// The cluster as this node sees it.
    pub fn cluster(&self) -> &ClusterService {
        &self.core.cluster
    }

    /// The logged batches this node keeps for coordinators.
    pub fn batchlog(&self) -> ::cluster::BatchlogCounters {
        self.core.batchlog.counters()
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the admin API (nodetool, `/metrics`) listens.
    /// `None` when the node does not listen (a simulated one).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::local_addr)
    }

    /// Stops serving, then flushes memtables and closes the commit log.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        if let Some(admin) = self.admin {
            admin.shutdown().await;
        }
        self.lifecycle.stop_serving().await;
        drop(self.lifecycle);
        if let Some(events) = self.events {
            events.abort();
        }
        // What holds the engine goes first, so that it can be drained below.
        drop(self.handler);
        let core = self.core;
        drop((core.executor, core.schema, core.metrics));
        core.hint_replay.abort();
        let _ = core.hint_replay.await;
        core.batch_replay.abort();
        let _ = core.batch_replay.await;
        core.counters.abort();
        if let Some(rounds) = core.storage_rounds {
            rounds.abort();
            let _ = rounds.await;
        }
        drop(core.batchlog);
        let hints = core.hints;
        match ::cluster::blocking::run(move || hints.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not flush hints"),
            Err(e) => tracing::warn!(error = %e, "could not flush hints"),
        }
        core.cluster.shutdown().await;
        let engine = core.engine;
        ::cluster::blocking::run(move || match Arc::try_unwrap(engine) {
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

/// Storage, the catalog, the cluster service, hints, the batchlog and the
/// executor: everything but the ways clients come in.
async fn open_core(config: &Config, env: &NodeEnv) -> Result<Core, NodeError> {
    let wall = match env.wall_source {
        Some(source) => wall_clock(config).with_source(source),
        None => wall_clock(config),
    };
    let fs = Arc::clone(&env.fs);
    let engine = open_engine(config, Arc::clone(&fs), wall, env.storage_background).await?;
    let data_dir = config.engine_options(Arc::new(StorageClock(wall))).data_dir;
    let (identity, floor, generation) = load_identity(config, &fs, &data_dir, wall)?;
    let schema = open_schema(config, Arc::clone(&fs), &data_dir, &engine)?;
    let system_tables = system_tables(node_info(config, &identity, generation), &engine);
    let batchlog = open_batchlog(Arc::clone(&fs), &data_dir, wall).await?;
    let metrics = Arc::new(Metrics::new());
    wait_for_ceiling(&floor, wall).await;
    let (hlc, observer) = hybrid_clock(wall, floor);
    let cluster = ClusterService::start(ClusterParts {
        config,
        identity: &identity,
        generation,
        wall,
        engine: Arc::clone(&engine),
        batchlog: Arc::clone(&batchlog),
        schema: Arc::clone(&schema),
        system_tables: Arc::clone(&system_tables),
        metrics: Arc::clone(&metrics),
        fs: Arc::clone(&fs),
        transport: env.transport.clone(),
        time: Arc::clone(&hlc) as _,
    })
    .await?;
    let hints = open_hints(fs, config, &data_dir, wall, &engine).await?;
    let hint_replay = start_hint_replay(config, &cluster, &hints);
    let coordinator = coordinator(config, &cluster, &schema, &engine, &hints);
    let coordinator = Arc::new(coordinator.with_timestamp_observer(observer));
    let batch_replay = start_batchlog_replay(config, &batchlog, &coordinator, &engine);
    let counters = publish_counters(&cluster, &hints, &batchlog, &coordinator, &metrics);
    let executor = Arc::new(Executor::new(ExecutorParts {
        schema: Arc::clone(&schema),
        coordinator: coordinator as _,
        system_tables,
        time: hlc,
        guardrails: guardrails(config),
        prepared_capacity: prepared_capacity(config),
    }));
    let inline = env.storage_background == storage::Background::Inline;
    let storage_rounds = inline.then(|| run_storage_rounds(&engine));
    Ok(Core {
        storage_rounds,
        engine,
        schema,
        metrics,
        cluster,
        executor,
        hints,
        hint_replay,
        batchlog,
        batch_replay,
        counters,
    })
}

/// Runs storage's periodic checks every [`INLINE_STORAGE_ROUND`], for an
/// engine whose background work runs inline (it has no threads to run them).
fn run_storage_rounds(engine: &Arc<Engine>) -> tokio::task::JoinHandle<()> {
    let engine = Arc::downgrade(engine);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INLINE_STORAGE_ROUND);
        loop {
            ticks.tick().await;
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let round = ::cluster::blocking::run(move || engine.run_background_round()).await;
            if let Ok(Err(e)) = round {
                tracing::warn!(error = %e, "storage's background round failed");
            }
        }
    })
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

/// The node's wall clock: the system's, shifted by `clock_offset`.
/// Copies the counters the cluster's pieces keep into `/metrics`, every 5 s.
fn publish_counters(
    cluster: &ClusterService,
    hints: &Arc<HintStore>,
    batchlog: &Arc<BatchlogStore>,
    coordinator: &Arc<DistributedCoordinator>,
    metrics: &Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    let sources = counters::Sources {
        hints: Arc::clone(hints),
        batchlog: Arc::clone(batchlog),
        coordinator: Arc::clone(coordinator),
        dropped_messages: Box::new(cluster.dropped_messages()),
    };
    counters::publish(sources, Arc::clone(metrics))
}

/// The schema catalog in `<data_dir>/schema`, with this node's data center
/// for the keyspaces it creates.
fn open_schema(
    config: &Config,
    fs: Arc<dyn storage::FileSystem>,
    data_dir: &std::path::Path,
    engine: &Arc<Engine>,
) -> Result<Arc<SchemaService>, NodeError> {
    let dcs = vec![config.dc.clone()];
    SchemaService::open(fs, data_dir, Arc::clone(engine), dcs)
        .map(Arc::new)
        .map_err(|e| NodeError::Schema(e.to_string()))
}

/// The virtual tables, with the truncation times the engine keeps.
fn system_tables(node: NodeInfo, engine: &Arc<Engine>) -> Arc<SystemTables> {
    let engine = Arc::clone(engine);
    let times = Arc::new(move |table| engine.truncated_at(table).ok().flatten().map(|t| t.0));
    Arc::new(SystemTables::new(node).with_truncation_times(times))
}

/// The node's host id and tokens, its clock floors, and the gossip generation
/// of this start (saved before it is returned).
fn load_identity(
    config: &Config,
    fs: &Arc<dyn storage::FileSystem>,
    data_dir: &std::path::Path,
    wall: OffsetWallClock,
) -> Result<(identity::Identity, Arc<ClockFloor>, i32), NodeError> {
    let identity = identity::load_or_create(fs.as_ref(), data_dir, config.num_tokens as usize)?;
    let floor = Arc::new(ClockFloor::open(Arc::clone(fs), data_dir)?);
    let generation = floor.next_generation(wall.now_micros())?;
    Ok((identity, floor, generation))
}

/// Waits until the wall clock passes the ceiling the last run saved, when
/// that is near, so the clock starts at the present rather than ahead of the
/// other nodes' (see `hlc::floor`); a ceiling further ahead means the clock
/// was stepped back, and is logged.
async fn wait_for_ceiling(floor: &ClockFloor, wall: OffsetWallClock) {
    let ahead = floor.ceiling().saturating_sub(wall.now_micros());
    let Ok(ahead) = u64::try_from(ahead) else {
        return;
    };
    let ahead = Duration::from_micros(ahead);
    if ahead <= crate::hlc::MAX_CEILING_WAIT {
        tokio::time::sleep(ahead).await;
    } else {
        tracing::warn!(
            ahead_ms = ahead.as_millis(),
            "the wall clock is behind the timestamps the last run issued: this node's \
             timestamps lead its clock until it catches up"
        );
    }
}

/// The clock that stamps this node's writes (above every timestamp an earlier
/// start issued, through `floor`), and the observer through which the
/// timestamps of peers' writes and of read results advance it.
fn hybrid_clock(
    wall: OffsetWallClock,
    floor: Arc<ClockFloor>,
) -> (Arc<Hlc<OffsetWallClock>>, TimestampObserver) {
    let hlc = Arc::new(Hlc::new(wall).with_floor(floor));
    let observer: TimestampObserver = {
        let hlc = Arc::clone(&hlc);
        // Timestamps over an hour ahead are ignored (and logged).
        Arc::new(move |ts| crate::cql::TimeSource::observe(hlc.as_ref(), ts))
    };
    (hlc, observer)
}

/// The CQL server on `rpc_address:native_transport_port`.
async fn serve_cql(config: &Config, handler: Arc<CqlHandler>) -> Result<Server, NodeError> {
    let address = SocketAddr::new(config.rpc_address, config.native_transport_port);
    let server = Server::bind(address, server_config(config), handler).await?;
    tracing::info!(%address, "listening for CQL clients");
    Ok(server)
}

/// The admin API (nodetool, /metrics) on `listen_address:admin_port`.
async fn start_admin(config: &Config, state: AdminState) -> Result<AdminServer, NodeError> {
    let address = SocketAddr::new(config.listen_address, config.admin_port);
    Ok(AdminServer::start(address, state).await?)
}

fn wall_clock(config: &Config) -> OffsetWallClock {
    OffsetWallClock::from_millis(config.clock_offset)
}

/// A store's clock in ms since the epoch, on the node's wall clock.
fn millis_clock(wall: OffsetWallClock) -> ::cluster::HintClock {
    Arc::new(move || u64::try_from(wall.now_micros() / 1000).unwrap_or(0))
}

/// Selects the canary (`BASALT_CANARY`, in fault-injection builds) before
/// storage opens, so that storage's canaries act from its first file, then
/// opens the engine.
async fn open_engine(
    config: &Config,
    fs: Arc<dyn storage::FileSystem>,
    wall: OffsetWallClock,
    background: storage::Background,
) -> Result<Arc<Engine>, NodeError> {
    canary::select_from_env().map_err(NodeError::Canary)?;
    let mut options = config.engine_options(Arc::new(StorageClock(wall)));
    options.background = background;
    let engine = ::cluster::blocking::run(move || Engine::open(fs, options))
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

/// Opens the durable hint store in `<data_dir>/hints` (fsynced every
/// `hints_flush_period` or 1 MiB, `max_hint_window`), stamped by the node's
/// wall clock; hints expire at their table's gc grace in `engine` when it is
/// shorter than the window.
async fn open_hints(
    fs: Arc<dyn storage::FileSystem>,
    config: &Config,
    data_dir: &std::path::Path,
    wall: OffsetWallClock,
    engine: &Arc<Engine>,
) -> Result<Arc<HintStore>, NodeError> {
    let mut settings = HintStoreConfig::new(data_dir.join("hints"));
    settings.max_hint_window = Duration::from_millis(config.max_hint_window);
    settings.gc_grace = GcGrace::from_engine(Arc::clone(engine));
    settings.flush_period = Duration::from_millis(config.hints_flush_period);
    let clock = millis_clock(wall);
    open_blocking(move || HintStore::open(fs, settings, clock)).await
}

/// Opens the batchlog this node keeps for other coordinators, in
/// `<data_dir>/batchlog`, aged by the node's wall clock.
async fn open_batchlog(
    fs: Arc<dyn storage::FileSystem>,
    data_dir: &std::path::Path,
    wall: OffsetWallClock,
) -> Result<Arc<BatchlogStore>, NodeError> {
    let settings = BatchlogStoreConfig::new(data_dir.join("batchlog"));
    let clock = millis_clock(wall);
    open_blocking(move || BatchlogStore::open(fs, settings, clock)).await
}

/// Runs a store's blocking `open` off the async threads.
async fn open_blocking<T: Send + 'static>(
    open: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<Arc<T>, NodeError> {
    let store = ::cluster::blocking::run(open)
        .await
        .map_err(|e| NodeError::Io(std::io::Error::other(e)))??;
    Ok(Arc::new(store))
}

/// Replays the batches whose coordinator never confirmed them (every 10 s,
/// those older than twice the write timeout; those older than their tables'
/// gc grace in `engine` are dropped instead), for as long as the node runs.
fn start_batchlog_replay(
    config: &Config,
    store: &Arc<BatchlogStore>,
    coordinator: &Arc<DistributedCoordinator>,
    engine: &Arc<Engine>,
) -> tokio::task::JoinHandle<()> {
    let mut settings =
        BatchlogReplayConfig::new(Duration::from_millis(config.write_request_timeout));
    settings.gc_grace = GcGrace::from_engine(Arc::clone(engine));
    let replayer = BatchlogReplayer::new(Arc::clone(store), Arc::clone(coordinator) as _, settings);
    tokio::spawn(replayer.run())
}

/// Replays hints to hosts that come back, for as long as the node runs.
fn start_hint_replay(
    config: &Config,
    cluster: &ClusterService,
    hints: &Arc<HintStore>,
) -> tokio::task::JoinHandle<()> {
    let mut settings = ReplayConfig::new(cluster.view().local_host);
    settings.throttle_kib_per_sec = config.hinted_handoff_throttle;
    let replayer = HintReplayer::new(
        Arc::clone(hints),
        cluster.peers(),
        cluster.topology(),
        settings,
    );
    tokio::spawn(replayer.run())
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
    settings.hinted_handoff = config.hinted_handoff_enabled;
    settings.max_hint_window = Duration::from_millis(config.max_hint_window);
    let inner = ClusterCoordinator::new(
        settings,
        cluster.peers(),
        cluster.topology(),
        Arc::clone(hints) as _,
        Some(cluster.replica()),
    );
    let (messaging, views) = (cluster.messaging(), cluster.view_cell());
    let truncate: PeerTruncate = Arc::new(move |table, at| {
        let (messaging, view) = (Arc::clone(&messaging), views.get());
        Box::pin(async move { cluster::truncate_peers(&messaging, &view, table, at).await })
    });
    DistributedCoordinator::new(inner, Arc::clone(schema), Arc::clone(engine), truncate)
}

fn guardrails(config: &Config) -> Guardrails {
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let micros =
        |seconds: u64| i64::try_from(seconds).map_or(i64::MAX, |s| s.saturating_mul(1_000_000));
    Guardrails {
        batch_size_warn_bytes: size(config.batch_size_warn_threshold << 10),
        batch_size_fail_bytes: size(config.batch_size_fail_threshold << 10),
        tombstone_warn: size(config.tombstone_warn_threshold),
        tombstone_failure: size(config.tombstone_failure_threshold),
        timestamp_lead_warn_micros: micros(config.client_timestamp_lead_warn_threshold),
        timestamp_lead_fail_micros: micros(config.client_timestamp_lead_fail_threshold),
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
    // Negative is -1, no limit; the reader refuses zero and anything below -1.
    server.max_connections_per_ip =
        usize::try_from(config.native_transport_max_concurrent_connections_per_ip)
            .unwrap_or(usize::MAX);
    server.handshake_timeout = Duration::from_millis(config.native_transport_handshake_timeout);
    server.idle_timeout = Duration::from_millis(config.native_transport_idle_timeout);
    server
}

/// The snitch's Java class name, as `describecluster` prints it.
fn snitch(config: &Config) -> String {
    format!("org.apache.cassandra.locator.{:?}", config.endpoint_snitch)
}

fn node_info(config: &Config, identity: &identity::Identity, generation: i32) -> NodeInfo {
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
        gossip_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_config_takes_the_connection_limits_and_timeouts() {
        let mut config = Config {
            native_transport_max_concurrent_connections_per_ip: 7,
            native_transport_handshake_timeout: 2_500,
            native_transport_idle_timeout: 60_000,
            ..Config::default()
        };
        let server = server_config(&config);
        assert_eq!(server.max_connections_per_ip, 7);
        assert_eq!(server.handshake_timeout, Duration::from_millis(2_500));
        assert_eq!(server.idle_timeout, Duration::from_secs(60));
        // Cassandra's -1: no limit.
        config.native_transport_max_concurrent_connections_per_ip = -1;
        assert_eq!(server_config(&config).max_connections_per_ip, usize::MAX);
    }

    #[test]
    fn the_default_configuration_gives_the_default_guardrails() {
        // Both spell the same defaults, in the config's units and the executor's.
        assert_eq!(guardrails(&Config::default()), Guardrails::default());
    }

    /// Simulated wall time: 2030-01-01 plus what the paused runtime advanced.
    fn paused_wall() -> i64 {
        thread_local! {
            static START: tokio::time::Instant = tokio::time::Instant::now();
        }
        let advanced = START.with(|start| start.elapsed());
        1_893_456_000_000_000 + i64::try_from(advanced.as_micros()).unwrap_or(i64::MAX)
    }

    fn floor_with_ceiling(fs: &storage::sim::SimFs, ceiling: i64) -> ClockFloor {
        let fs: Arc<dyn storage::FileSystem> = Arc::new(fs.clone());
        let floor = ClockFloor::open(Arc::clone(&fs), std::path::Path::new("/data"))
            .expect("open the floor");
        // Issuing a timestamp just below `ceiling` saves a ceiling above it.
        floor.cover(ceiling - 1);
        ClockFloor::open(fs, std::path::Path::new("/data")).expect("reopen")
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_waits_for_a_near_ceiling_so_its_clock_does_not_lead() {
        let wall = OffsetWallClock::default().with_source(paused_wall);
        let fs = storage::sim::SimFs::new();
        let floor = Arc::new(floor_with_ceiling(&fs, wall.now_micros() + 300_000));
        let ceiling = floor.ceiling();
        assert!(
            ceiling > wall.now_micros(),
            "the ceiling is ahead of the clock"
        );
        wait_for_ceiling(&floor, wall).await;
        let (hlc, _) = hybrid_clock(wall, floor);
        let first = crate::cql::TimeSource::write_timestamp(hlc.as_ref());
        assert!(first > ceiling - 1, "above every timestamp issued before");
        assert!(
            first <= wall.now_micros() + 1,
            "the clock starts at the present ({first}), not at the ceiling ahead of it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_stepped_far_back_starts_at_the_ceiling_without_waiting() {
        let wall = OffsetWallClock::default().with_source(paused_wall);
        let fs = storage::sim::SimFs::new();
        let hour = 3_600_000_000;
        let floor = Arc::new(floor_with_ceiling(&fs, wall.now_micros() + hour));
        let ceiling = floor.ceiling();
        let before = tokio::time::Instant::now();
        wait_for_ceiling(&floor, wall).await;
        assert_eq!(before.elapsed(), Duration::ZERO, "no wait for an hour");
        let (hlc, _) = hybrid_clock(wall, floor);
        let first = crate::cql::TimeSource::write_timestamp(hlc.as_ref());
        assert!(first > ceiling, "never below a timestamp issued before");
    }
}
