//! The admin API's [`ClusterView`](AdminView) over gossip: what `nodetool
//! status`, `ring`, `describecluster`, `gossipinfo` and `getendpoints` show of
//! a cluster.
//!
//! Members, their liveness and their announced states are read from the
//! gossiper at each request (the admin API is rare and wants the latest
//! heartbeats and LOAD, which do not rebuild the routing snapshot); ownership
//! and replicas come from the snapshot's ring, the one the coordinator routes
//! by, so `getendpoints` names the replicas writes really go to. The admin
//! module sees only its own records: no gossip type crosses into it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Weak};

use cluster::effective_ownership;
use cluster::membership::{self, Member};
use cluster::{ApplicationState, EndpointState, Status};
use storage::Engine;
use storage::Token;

use super::Shared;
use crate::admin::view::{
    ClusterView as AdminView, GossipRecord, HostId, Liveness, NodeRecord, RingState, disk_load,
};
use crate::coordinator::cluster::strategy_of;
use crate::schema::{Replication, SchemaService};

/// What `nodetool gossipinfo` shows instead of the token list (as Cassandra).
const HIDDEN: &str = "<hidden>";

/// The admin view of a node in a cluster.
#[derive(Debug)]
pub struct GossipView {
    shared: Weak<Shared>,
    cluster_name: String,
    snitch: String,
    engine: Arc<Engine>,
    schema: Arc<SchemaService>,
}

impl GossipView {
    pub(super) fn new(
        shared: &Arc<Shared>,
        cluster_name: String,
        snitch: String,
        engine: Arc<Engine>,
    ) -> Self {
        GossipView {
            shared: Arc::downgrade(shared),
            cluster_name,
            snitch,
            engine,
            schema: Arc::clone(&shared.schema),
        }
    }

    /// The members gossip describes with their liveness, read under the
    /// gossip lock (empty once the service is gone).
    fn members(&self) -> Vec<(Member, bool)> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        let gossip = shared.gossip();
        let gossiper = &gossip.gossiper;
        membership::members(gossiper.endpoint_states())
            .into_iter()
            .filter(|m| m.status != Status::Left)
            .map(|m| {
                let alive = gossiper.is_alive(m.endpoint) && !m.status.is_dead();
                (m, alive)
            })
            .collect()
    }

    fn record(&self, member: Member, alive: bool) -> NodeRecord {
        let local = self.local_host_id() == member.host_id.0;
        let state = match member.status {
            Status::Boot => RingState::Joining,
            Status::Leaving => RingState::Leaving,
            Status::Normal | Status::Shutdown | Status::Left => RingState::Normal,
        };
        let load_bytes = if local {
            Some(disk_load(&self.engine))
        } else {
            // Gossip carries LOAD as a double; bytes fit well within its range.
            member.load.map(|l| l.max(0.0) as u64)
        };
        let schema_version = if local {
            self.schema.version()
        } else {
            member
                .schema_version
                .as_deref()
                .and_then(membership::parse_host_id)
                .map_or([0; 16], |h| h.0)
        };
        let mut tokens: Vec<i64> = member.tokens.iter().map(|t| t.0).collect();
        tokens.sort_unstable();
        NodeRecord {
            host_id: member.host_id.0,
            address: member.endpoint.ip(),
            storage_port: member.endpoint.port(),
            datacenter: member.datacenter,
            rack: member.rack,
            liveness: if alive || local {
                Liveness::Up
            } else {
                Liveness::Down
            },
            state,
            load_bytes,
            tokens,
            schema_version,
            release_version: member.release_version.unwrap_or_default(),
        }
    }

    fn ring(&self) -> Option<Arc<cluster::Ring>> {
        let shared = self.shared.upgrade()?;
        let ring = Arc::clone(&shared.view.get().ring);
        (!ring.is_empty()).then_some(ring)
    }
}

impl AdminView for GossipView {
    fn cluster_name(&self) -> String {
        self.cluster_name.clone()
    }

    fn snitch(&self) -> String {
        self.snitch.clone()
    }

    fn partitioner(&self) -> String {
        super::PARTITIONER.to_owned()
    }

    fn local_host_id(&self) -> HostId {
        self.shared
            .upgrade()
            .map_or([0; 16], |s| s.view.get().local_host.0)
    }

    fn nodes(&self) -> Vec<NodeRecord> {
        self.members()
            .into_iter()
            .map(|(m, alive)| self.record(m, alive))
            .collect()
    }

    fn ownership(&self, replication: Option<&Replication>) -> BTreeMap<HostId, f64> {
        let local = self.local_host_id();
        let Some(ring) = self.ring() else {
            // No ring yet (tokens not announced): this node holds everything.
            return BTreeMap::from([(local, 1.0)]);
        };
        match replication {
            Some(replication) => {
                let strategy = strategy_of(replication, cluster::HostId(local));
                effective_ownership(&ring, &*strategy)
                    .into_iter()
                    .map(|(host, owns)| (host.0, owns))
                    .collect()
            }
            None => {
                let mut owns: BTreeMap<HostId, f64> = BTreeMap::new();
                for (range, host) in ring.ranges() {
                    *owns.entry(host.0).or_default() += range.fraction();
                }
                owns
            }
        }
    }

    fn replicas(&self, replication: &Replication, token: i64) -> Vec<IpAddr> {
        let local = self.local_host_id();
        let Some(ring) = self.ring() else {
            return self
                .nodes()
                .into_iter()
                .filter(|n| n.host_id == local)
                .map(|n| n.address)
                .collect();
        };
        let strategy = strategy_of(replication, cluster::HostId(local));
        strategy
            .replicas(&ring, Token(token))
            .into_iter()
            .filter_map(|host| ring.endpoint(host).map(|e| e.address.ip()))
            .collect()
    }

    fn gossip(&self) -> Vec<GossipRecord> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        let gossip = shared.gossip();
        gossip
            .gossiper
            .endpoint_states()
            .iter()
            .map(|(endpoint, state)| gossip_record(endpoint.ip(), state))
            .collect()
    }

    fn clock_skew(&self) -> Vec<(String, f64)> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        let estimates = shared.skew().estimates();
        let gossip = shared.gossip();
        // Only peers gossip still knows: a removed node's last reading would
        // otherwise be exported for ever.
        let known = gossip.gossiper.endpoint_states();
        estimates
            .into_iter()
            .filter(|(peer, _)| known.contains_key(peer))
            .map(|(peer, micros)| (peer.to_string(), micros as f64 / 1e6))
            .collect()
    }
}

/// One endpoint's state as `gossipinfo` prints it.
fn gossip_record(address: IpAddr, state: &EndpointState) -> GossipRecord {
    let states = state
        .states
        .iter()
        .map(|(name, value)| {
            let shown = if *name == ApplicationState::Tokens {
                HIDDEN.to_owned()
            } else {
                value.value.clone()
            };
            let version = u64::try_from(value.version).unwrap_or(0);
            (state_name(*name), version, shown)
        })
        .collect();
    GossipRecord {
        address,
        generation: state.heartbeat.generation,
        heartbeat: u64::try_from(state.heartbeat.version).unwrap_or(0),
        states,
    }
}

/// Cassandra's name for a state: `ReleaseVersion` → `RELEASE_VERSION`.
fn state_name(state: ApplicationState) -> String {
    let camel = format!("{state:?}");
    let mut name = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_cassandras() {
        assert_eq!(state_name(ApplicationState::Status), "STATUS");
        assert_eq!(
            state_name(ApplicationState::ReleaseVersion),
            "RELEASE_VERSION"
        );
        assert_eq!(
            state_name(ApplicationState::NativeAddressAndPort),
            "NATIVE_ADDRESS_AND_PORT"
        );
    }
}
