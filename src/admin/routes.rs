//! The URL map and the handlers that describe the cluster (status, ring, info,
//! describecluster, gossipinfo, getendpoints, version).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::view::{ClusterView, HostId, Liveness, NodeRecord, RingState};
use super::{AdminState, Failure, api, blocking};
use crate::schema::system_keyspaces::is_system;
use crate::schema::{Replication, Schema};
use crate::uuids::format_uuid;

type S = State<Arc<AdminState>>;

/// Cassandra's note when effective ownership cannot be computed.
const OWNERSHIP_NOTE: &str = "Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless";

pub(super) fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/ring", get(ring))
        .route("/v1/info", get(info))
        .route("/v1/describecluster", get(describe_cluster))
        .route("/v1/gossipinfo", get(gossip_info))
        .route("/v1/endpoints", get(endpoints))
        .route("/v1/version", get(version))
        .route("/v1/flush", post(super::tables::flush))
        .route("/v1/compact", post(super::tables::compact))
        .route("/v1/tablestats", get(super::tables::table_stats))
        .route("/v1/drain", post(super::tables::drain))
        .route("/v1/dump", get(super::tables::dump))
        .route("/metrics", get(super::prometheus::metrics))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
pub(super) struct KeyspaceQuery {
    keyspace: Option<String>,
}

/// Effective ownership for `keyspace`, or, with none, for the replication every
/// user keyspace shares (Cassandra's rule); `None` with a note when they differ.
fn effective(
    view: &dyn ClusterView,
    schema: &Schema,
    keyspace: Option<&str>,
) -> Result<Option<BTreeMap<HostId, f64>>, Failure> {
    let replication = match keyspace {
        Some(name) => {
            let def = schema.keyspace(name).ok_or_else(|| {
                Failure::bad_request(format!("The keyspace {name}, does not exist"))
            })?;
            if def.replication == Replication::Local {
                return Err(Failure::bad_request(
                    "Ownership values for keyspaces with LocalStrategy are meaningless",
                ));
            }
            &def.replication
        }
        None => {
            let mut user = schema
                .keyspaces
                .values()
                .filter(|k| !is_system(&k.name))
                .map(|k| &k.replication);
            match user.next() {
                Some(first) if user.all(|r| r == first) => first,
                _ => return Ok(None),
            }
        }
    };
    Ok(Some(view.ownership(Some(replication))))
}

fn status_letter(node: &NodeRecord) -> (&'static str, &'static str) {
    let up = match node.liveness {
        Liveness::Up => "U",
        Liveness::Down => "D",
        Liveness::Unknown => "?",
    };
    let state = match node.state {
        RingState::Normal => "N",
        RingState::Leaving => "L",
        RingState::Joining => "J",
        RingState::Moving => "M",
    };
    (up, state)
}

fn by_datacenter(mut nodes: Vec<NodeRecord>) -> BTreeMap<String, Vec<NodeRecord>> {
    nodes.sort_by_key(|n| n.address);
    let mut dcs: BTreeMap<String, Vec<NodeRecord>> = BTreeMap::new();
    for node in nodes {
        dcs.entry(node.datacenter.clone()).or_default().push(node);
    }
    dcs
}

async fn status(State(s): S, Query(q): Query<KeyspaceQuery>) -> Result<Json<api::Status>, Failure> {
    blocking(move || {
        let owns = effective(&*s.view, &s.schema.current(), q.keyspace.as_deref())?;
        Ok(Json(status_report(&*s.view, owns.as_ref())))
    })
    .await
}

/// The status of every node in `view`, with `owns` (effective ownership by host)
/// or, without it, Cassandra's note.
pub(crate) fn status_report(
    view: &dyn ClusterView,
    owns: Option<&BTreeMap<HostId, f64>>,
) -> api::Status {
    let datacenters = by_datacenter(view.nodes())
        .into_iter()
        .map(|(name, nodes)| api::DcStatus {
            name,
            nodes: nodes
                .iter()
                .map(|n| {
                    let (status, state) = status_letter(n);
                    api::NodeStatus {
                        status: status.to_owned(),
                        state: state.to_owned(),
                        address: n.address.to_string(),
                        load_bytes: n.load_bytes,
                        tokens: n.tokens.len(),
                        owns: owns.map(|o| o.get(&n.host_id).copied().unwrap_or(0.0)),
                        host_id: format_uuid(&n.host_id),
                        rack: n.rack.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    api::Status {
        datacenters,
        ownership_note: owns.is_none().then(|| OWNERSHIP_NOTE.to_owned()),
    }
}

async fn ring(State(s): S, Query(q): Query<KeyspaceQuery>) -> Result<Json<api::Ring>, Failure> {
    blocking(move || {
        let effective = effective(&*s.view, &s.schema.current(), q.keyspace.as_deref())?;
        let ownership_note = effective.is_none().then(|| OWNERSHIP_NOTE.to_owned());
        let owns = effective.unwrap_or_else(|| s.view.ownership(None));
        let datacenters = by_datacenter(s.view.nodes())
            .into_iter()
            .map(|(name, nodes)| {
                let mut tokens: Vec<api::RingToken> = nodes
                    .iter()
                    .flat_map(|n| n.tokens.iter().map(move |t| (n, *t)))
                    .map(|(n, token)| api::RingToken {
                        address: n.address.to_string(),
                        rack: n.rack.clone(),
                        status: match n.liveness {
                            Liveness::Up => "Up",
                            Liveness::Down => "Down",
                            Liveness::Unknown => "?",
                        }
                        .to_owned(),
                        state: format!("{:?}", n.state),
                        load_bytes: n.load_bytes,
                        owns: owns.get(&n.host_id).copied().unwrap_or(0.0),
                        token,
                    })
                    .collect();
                tokens.sort_by_key(|t| t.token);
                api::DcRing { name, tokens }
            })
            .collect();
        Ok(Json(api::Ring {
            datacenters,
            ownership_note,
        }))
    })
    .await
}

async fn info(State(s): S) -> Result<Json<api::Info>, Failure> {
    blocking(move || {
        let id = s.view.local_host_id();
        let nodes = s.view.nodes();
        let me = nodes
            .iter()
            .find(|n| n.host_id == id)
            .ok_or_else(|| Failure::internal("this node is not in its own view"))?;
        let generation = s
            .view
            .gossip()
            .iter()
            .find(|g| g.address == me.address)
            .map_or(0, |g| g.generation);
        let bloom: u64 = s
            .engine
            .tables()
            .into_iter()
            .filter_map(|t| s.engine.table_stats(t).ok())
            .map(|t| t.bloom_memory_bytes)
            .sum();
        Ok(Json(api::Info {
            host_id: format_uuid(&id),
            gossip_active: s.control.gossip_active(),
            native_transport_active: s.control.native_transport_active(),
            load_bytes: me.load_bytes.unwrap_or(0),
            generation,
            uptime_seconds: s.started.elapsed().as_secs(),
            rss_bytes: proc_value("/proc/self/statm", 1).map_or(0, |pages| pages * 4096),
            memory_total_bytes: meminfo_total().unwrap_or(0),
            off_heap_bytes: s.engine.memtable_bytes() + bloom,
            datacenter: me.datacenter.clone(),
            rack: me.rack.clone(),
            exceptions: s.metrics.total(crate::metrics::Outcome::ServerError),
            tokens: me.tokens.clone(),
        }))
    })
    .await
}

/// The `index`th number in a whitespace-separated /proc file.
fn proc_value(path: &str, index: usize) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .nth(index)?
        .parse()
        .ok()
}

fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn describe_cluster(State(s): S) -> Result<Json<api::DescribeCluster>, Failure> {
    blocking(move || {
        let nodes = s.view.nodes();
        let mut schemas: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut dcs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let count = |state: RingState| nodes.iter().filter(|n| n.state == state).count();
        for n in &nodes {
            let down = n.liveness != Liveness::Up;
            let schema = if down {
                "UNREACHABLE".to_owned()
            } else {
                format_uuid(&n.schema_version)
            };
            schemas
                .entry(schema)
                .or_default()
                .push(n.address.to_string());
            let release = versions.entry(n.release_version.clone()).or_default();
            release.push(format!("{}:{}", n.address, n.storage_port));
            let dc = dcs.entry(n.datacenter.clone()).or_default();
            dc.0 += 1;
            dc.1 += usize::from(down);
        }
        let keyspaces = s
            .schema
            .current()
            .keyspaces
            .values()
            .map(|k| (k.name.clone(), replication_text(&k.replication)))
            .collect();
        Ok(Json(api::DescribeCluster {
            name: s.view.cluster_name(),
            snitch: s.view.snitch(),
            partitioner: s.view.partitioner(),
            schema_versions: schemas.into_iter().collect(),
            live: nodes.iter().filter(|n| n.liveness == Liveness::Up).count(),
            joining: count(RingState::Joining),
            moving: count(RingState::Moving),
            leaving: count(RingState::Leaving),
            unreachable: nodes.iter().filter(|n| n.liveness != Liveness::Up).count(),
            datacenters: dcs.into_iter().map(|(dc, (n, d))| (dc, n, d)).collect(),
            versions: versions.into_iter().collect(),
            keyspaces,
        }))
    })
    .await
}

/// `SimpleStrategy {replication_factor=3}`, as describecluster prints it.
fn replication_text(replication: &Replication) -> String {
    match replication {
        Replication::Simple { replication_factor } => {
            format!("SimpleStrategy {{replication_factor={replication_factor}}}")
        }
        Replication::NetworkTopology { data_centers } => {
            let dcs: Vec<String> = data_centers
                .iter()
                .map(|(dc, rf)| format!("{dc}={rf}"))
                .collect();
            format!("NetworkTopologyStrategy {{{}}}", dcs.join(", "))
        }
        Replication::Local => "LocalStrategy {}".to_owned(),
    }
}

async fn gossip_info(State(s): S) -> Result<Json<api::GossipInfo>, Failure> {
    blocking(move || {
        let mut records = s.view.gossip();
        records.sort_by_key(|r| r.address);
        let endpoints = records
            .into_iter()
            .map(|r| api::GossipEndpoint {
                address: r.address.to_string(),
                generation: r.generation,
                heartbeat: r.heartbeat,
                states: r.states,
            })
            .collect();
        Ok(Json(api::GossipInfo { endpoints }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct EndpointsQuery {
    keyspace: String,
    table: String,
    key: String,
}

async fn endpoints(
    State(s): S,
    Query(q): Query<EndpointsQuery>,
) -> Result<Json<api::Endpoints>, Failure> {
    let schema = s.schema.current();
    let keyspace = schema.keyspace(&q.keyspace).ok_or_else(|| {
        Failure::bad_request(format!("Keyspace [{}] does not exist.", q.keyspace))
    })?;
    let table = schema.table(&q.keyspace, &q.table).ok_or_else(|| {
        Failure::bad_request(format!(
            "Unknown table '{}' in keyspace '{}'",
            q.table, q.keyspace
        ))
    })?;
    let token = super::endpoints::token_of(table, &q.key).map_err(Failure::bad_request)?;
    let endpoints = s
        .view
        .replicas(&keyspace.replication, token)
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(Json(api::Endpoints { token, endpoints }))
}

async fn version() -> Json<api::Version> {
    Json(api::Version {
        release_version: crate::schema::RELEASE_VERSION.to_owned(),
        basalt_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
