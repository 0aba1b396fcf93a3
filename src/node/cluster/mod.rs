//! The node's place in a cluster: internode TCP on the storage port, gossip
//! membership, the replica protocol served from the local engine, and the
//! snapshot of members, ring and liveness the coordinator routes by.
//!
//! [`ClusterService::start`] binds a [`TcpTransport`] on
//! `listen_address:storage_port`, puts [`Messaging`] on it and registers the
//! verbs: gossip's SYN/ACK/ACK2 (each answered one-way to the sender's
//! listen address, as Cassandra does), the replica protocol (MUTATION, READ,
//! RANGE_READ through [`Replica::handle`]), and the node's own verbs
//! ([`verbs`]: schema pull and push, truncate). A 1 s task runs gossip
//! rounds. After every exchange that changed something, the snapshot
//! ([`ClusterView`]) is rebuilt, `system.peers` is refreshed, and UP/DOWN and
//! NEW_NODE/REMOVED_NODE events go to REGISTERed CQL clients.
//!
//! Every ~10 s the node announces its LOAD (bytes of live SSTables), which
//! `nodetool status` shows for peers; [`GossipView`] is the admin API's view of
//! the cluster over gossip and the snapshot.
//!
//! A node alone (its only seed is itself, the default) gossips with nobody,
//! owns the whole ring and so serves every request locally, as before.

mod admin_view;
mod events;
mod gossip;
mod peers;
mod saved_peers;
mod schema_sync;
mod truncate;
pub(crate) use truncate::truncate_peers;
pub(crate) mod verbs;
mod view;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
// Tokio's clock: a simulation's paused runtime drives it.
use tokio::time::Instant;

use cluster::BatchlogStore;
use cluster::HostId;
use cluster::Messaging;
use cluster::Replica;
use cluster::Topology;
use cluster::membership::{self, LocalInfo};
use cluster::{ApplicationState, GossipConfig, Gossiper, Status};
use cluster::{Endpoint, Transport};
use cluster::{TcpConfig, TcpTransport};
use cql_lite::server::EventSender;
use rand::SeedableRng;
use rand::rngs::StdRng;
use storage::{Engine, Token};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::cql::TimeSource;
use crate::hlc::OffsetWallClock;
use crate::metrics::Metrics;
use crate::schema::{SchemaService, SystemTables};

pub use admin_view::GossipView;
pub use peers::MessagingPeers;
pub use view::{ClusterView, ViewCell};

use super::identity::Identity;

/// The partitioner every node must share (gossip refuses others).
pub(crate) const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

/// What the cluster service is started with.
#[derive(Debug)]
pub struct ClusterParts<'a> {
    /// The node's configuration.
    pub config: &'a Config,
    /// Its host id and tokens.
    pub identity: &'a Identity,
    /// The gossip generation of this start (`ClockFloor::next_generation`:
    /// greater than the last start's, whatever the clock says).
    pub generation: i32,
    /// The node's wall clock, whose readings gossip messages carry so peers
    /// can measure the skew between clocks.
    pub(crate) wall: OffsetWallClock,
    /// The local engine, served to other nodes as a replica.
    pub engine: Arc<Engine>,
    /// Where this node keeps other coordinators' logged batches.
    pub batchlog: Arc<BatchlogStore>,
    /// The schema catalog, announced and synchronised.
    pub schema: Arc<SchemaService>,
    /// Where `system.peers` rows are published.
    pub system_tables: Arc<SystemTables>,
    /// Where the replica protocol's requests are counted.
    pub metrics: Arc<Metrics>,
    /// Where the saved ring lives: the node's file system.
    pub fs: Arc<dyn storage::FileSystem>,
    /// The internode transport to use; `None` binds TCP on the storage port.
    pub transport: Option<Arc<dyn Transport>>,
    /// The node's hybrid clock: the timestamps of writes from other nodes and
    /// truncation times are observed by it, and a TRUNCATE request that
    /// carries no time is truncated at a time taken from it.
    pub time: Arc<dyn TimeSource>,
}

/// Gossip's state machine and the RNG its rounds draw targets with.
#[derive(Debug)]
struct GossipState {
    gossiper: Gossiper,
    rng: StdRng,
}

/// State shared by the service's tasks and verb handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    gossip: Mutex<GossipState>,
    started: Instant,
    view: Arc<ViewCell>,
    messaging: Arc<Messaging>,
    replica: Arc<Replica>,
    /// The local engine, whose size on disk is announced as LOAD.
    engine: Arc<Engine>,
    schema: Arc<SchemaService>,
    system_tables: Arc<SystemTables>,
    events: OnceLock<EventSender>,
    /// Peers a schema pull is in flight from: at most one each.
    pulls: Mutex<HashSet<Endpoint>>,
    /// Hosts announced to clients as NEW_NODE already.
    known_hosts: Mutex<BTreeSet<HostId>>,
    /// Called with the view after every gossip round and exchange, so what
    /// follows the gossiped state (schema pulls) needs no hook in gossip itself.
    after_gossip: fn(&Arc<Shared>, &ClusterView),
    /// The node's hybrid clock.
    time: Arc<dyn TimeSource>,
    /// The node's wall clock, stamped on gossip messages.
    wall: OffsetWallClock,
    /// Peers' clock offsets measured over gossip.
    skew: Mutex<gossip::SkewState>,
    /// The ring as the last run knew it, and where it is saved.
    saved_peers: saved_peers::SavedPeers,
}

impl Shared {
    /// Milliseconds since the service started: gossip's clock.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn skew(&self) -> std::sync::MutexGuard<'_, gossip::SkewState> {
        // Replaced sample by sample; a panic elsewhere leaves it usable.
        self.skew.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gossip(&self) -> std::sync::MutexGuard<'_, GossipState> {
        // Gossip's state is replaced field by field by pure functions; a
        // panic elsewhere leaves it usable.
        self.gossip.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running cluster service of one node.
#[derive(Debug)]
pub struct ClusterService {
    shared: Arc<Shared>,
    /// The TCP transport, when the node binds one (a simulation gives its own).
    tcp: Option<Arc<TcpTransport>>,
    tasks: Vec<JoinHandle<()>>,
}

/// The node's data directory (validation guarantees exactly one).
fn data_dir(config: &Config) -> std::path::PathBuf {
    config
        .data_file_directories
        .first()
        .cloned()
        .unwrap_or_default()
}

impl ClusterService {
    /// Binds the storage port, announces this node and starts gossiping.
    pub async fn start(parts: ClusterParts<'_>) -> std::io::Result<ClusterService> {
        let config = parts.config;
        let (transport, tcp) = match parts.transport {
            Some(transport) => (transport, None),
            None => {
                let listen = SocketAddr::new(config.listen_address, config.storage_port);
                let tcp = Arc::new(TcpTransport::bind(listen, TcpConfig::default()).await?);
                (Arc::clone(&tcp) as Arc<dyn Transport>, Some(tcp))
            }
        };
        let local = transport.local();
        let messaging = Arc::new(Messaging::new(transport));
        let host = HostId(parts.identity.host_id);
        let gossip = new_gossip(
            config,
            parts.identity,
            parts.generation,
            local,
            &parts.schema,
        );
        let view = Arc::new(ViewCell::new(ClusterView::alone(local, host)));
        let shared = Arc::new(Shared {
            gossip: Mutex::new(gossip),
            started: Instant::now(),
            view,
            messaging,
            replica: Replica::with_batchlog(Arc::clone(&parts.engine), parts.batchlog),
            engine: parts.engine,
            schema: parts.schema,
            system_tables: parts.system_tables,
            events: OnceLock::new(),
            pulls: Mutex::new(HashSet::new()),
            known_hosts: Mutex::new(BTreeSet::from([host])),
            after_gossip: schema_sync::pull_if_behind,
            time: parts.time,
            wall: parts.wall,
            skew: Mutex::new(gossip::SkewState::new(config.clock_skew_warn_threshold)),
            saved_peers: saved_peers::SavedPeers::load(parts.fs, &data_dir(config)),
        });
        let time = Arc::clone(&shared.time);
        shared
            .replica
            .observe_timestamps(Arc::new(move |ts| time.observe(ts)));
        gossip::after_exchange(&shared);
        register_verbs(&shared, &parts.metrics);
        let tasks = vec![
            tokio::spawn(gossip::run_rounds(Arc::downgrade(&shared))),
            tokio::spawn(schema_sync::watch_local_schema(Arc::downgrade(&shared))),
            tokio::spawn(gossip::announce_load(Arc::downgrade(&shared))),
        ];
        tracing::info!(%local, %host, "internode messaging and gossip started");
        Ok(ClusterService { shared, tcp, tasks })
    }

    /// Where REGISTERed CQL clients get STATUS_CHANGE and TOPOLOGY_CHANGE.
    pub fn set_event_sender(&self, events: EventSender) {
        let _ = self.shared.events.set(events);
    }

    /// The current snapshot of the cluster.
    pub fn view(&self) -> Arc<ClusterView> {
        self.shared.view.get()
    }

    /// The admin API's view of the cluster: members, liveness and states
    /// from gossip, ownership and replicas from the snapshot's ring.
    pub fn admin_view(&self, cluster_name: String, snitch: String) -> GossipView {
        let engine = Arc::clone(&self.shared.engine);
        GossipView::new(&self.shared, cluster_name, snitch, engine)
    }

    /// The snapshot cell itself.
    pub fn view_cell(&self) -> Arc<ViewCell> {
        Arc::clone(&self.shared.view)
    }

    /// The snapshot cell, as the coordinator's [`Topology`].
    pub fn topology(&self) -> Arc<dyn Topology> {
        self.shared.view.clone()
    }

    /// The coordinator's way to other replicas.
    pub fn peers(&self) -> Arc<MessagingPeers> {
        Arc::new(MessagingPeers {
            messaging: Arc::clone(&self.shared.messaging),
            view: Arc::clone(&self.shared.view),
        })
    }

    /// This node's replica (the coordinator calls it directly).
    pub fn replica(&self) -> Arc<Replica> {
        Arc::clone(&self.shared.replica)
    }

    /// Internode messaging (for the coordinator's cluster-wide verbs).
    pub fn messaging(&self) -> Arc<Messaging> {
        Arc::clone(&self.shared.messaging)
    }

    /// Counts the internode messages this node dropped so far: requests
    /// refused over the handler limit or for an unknown verb, replies it
    /// could not send, queued messages lost with a failed connection and
    /// oversized ones (late replies to timed-out requests are timeouts, not
    /// drops). A function, so a metrics task can poll it.
    pub fn dropped_messages(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let (messaging, transport) = (self.messaging(), self.tcp.clone());
        move || {
            let m = messaging.stats();
            let t = transport.as_ref().map_or(0, |t| {
                let stats = t.stats();
                stats.messages_lost + stats.oversized_dropped
            });
            m.dropped_unknown_verb + m.dropped_overloaded + m.dropped_replies + t
        }
    }

    /// Tells live peers this node is going away (they mark it down at once),
    /// then stops gossip, closes the transport and the replica.
    pub async fn shutdown(self) {
        let goodbyes = self.shared.gossip().gossiper.announce_shutdown();
        for (peer, message) in goodbyes {
            let payload = message.to_message(0).payload;
            let _ = self
                .shared
                .messaging
                .one_way(peer, message.verb(), payload)
                .await;
        }
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        // Lets the writers flush the goodbyes (bounded by the grace period).
        if let Some(tcp) = self.tcp {
            tcp.shutdown().await;
        }
        self.shared.replica.shutdown();
        tracing::info!("left the cluster's gossip");
    }
}

/// A gossiper for this node with everything it announces set.
fn new_gossip(
    config: &Config,
    identity: &Identity,
    generation: i32,
    local: Endpoint,
    schema: &SchemaService,
) -> GossipState {
    let mut gossip_config =
        GossipConfig::new(config.cluster_name.clone(), PARTITIONER, seeds(config));
    gossip_config.phi_threshold = config.phi_convict_threshold;
    let mut gossiper = Gossiper::new(local, generation, gossip_config);
    let info = LocalInfo {
        host_id: HostId(identity.host_id),
        tokens: identity.tokens.iter().copied().map(Token).collect(),
        datacenter: config.dc.clone(),
        rack: config.rack.clone(),
        native_address: SocketAddr::new(config.rpc_address, config.native_transport_port),
        release_version: crate::schema::RELEASE_VERSION.to_owned(),
    };
    for (state, value) in membership::announce(&info, Status::Normal) {
        gossiper.set_local_state(state, value);
    }
    let version = crate::uuids::format_uuid(&schema.version());
    gossiper.set_local_state(ApplicationState::Schema, version);
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(&identity.host_id);
    GossipState {
        gossiper,
        rng: StdRng::from_seed(seed),
    }
}

/// The configured seeds as internode addresses; a seed without a port uses
/// this node's storage port.
fn seeds(config: &Config) -> Vec<Endpoint> {
    config
        .seeds
        .iter()
        .filter_map(|seed| {
            let parsed = seed.parse::<SocketAddr>().ok().or_else(|| {
                seed.parse::<std::net::IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, config.storage_port))
            });
            if parsed.is_none() {
                tracing::warn!(%seed, "ignoring a seed that is not an address");
            }
            parsed
        })
        .collect()
}

/// Registers every verb this node serves; handlers hold the shared state
/// weakly so that dropping the service frees it. Each replica-protocol
/// request is counted in `metrics` by verb.
fn register_verbs(shared: &Arc<Shared>, metrics: &Arc<Metrics>) {
    gossip::register(shared);
    schema_sync::register(shared);
    truncate::register(shared);
    let replica = Arc::downgrade(&shared.replica);
    // In `crate::metrics::REPLICA_VERBS` order.
    let verbs = [
        cluster::verbs::MUTATION,
        cluster::verbs::READ,
        cluster::verbs::RANGE_READ,
        cluster::verbs::BATCH_STORE,
        cluster::verbs::BATCH_REMOVE,
    ];
    for (index, verb) in verbs.into_iter().enumerate() {
        let replica: Weak<Replica> = replica.clone();
        let metrics = Arc::clone(metrics);
        shared.messaging.register(verb, move |payload, _from| {
            if let Some(served) = metrics.cluster.replica_requests.get(index) {
                served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let work = replica.upgrade().and_then(|r| r.handle(verb, payload));
            async move {
                match work {
                    Some(work) => Some(work.await),
                    None => None,
                }
            }
        });
    }
}
