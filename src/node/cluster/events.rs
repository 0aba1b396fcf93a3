//! What drivers see of membership: `system.peers` rows built from the
//! snapshot, and STATUS_CHANGE / TOPOLOGY_CHANGE events for REGISTERed
//! connections, each naming the node's CQL address.

use std::sync::Arc;

use cluster::membership::Member;
use cluster::{GossipEvent, Status};
use cql_lite::{Event, StatusChangeType, TopologyChangeType};

use super::Shared;
use super::view::ClusterView;
use crate::schema::PeerInfo;

/// The `system.peers(_v2)` rows: every member but this node and those that
/// left the cluster.
pub(super) fn peer_infos(view: &ClusterView) -> Vec<PeerInfo> {
    view.members
        .iter()
        .filter(|m| m.endpoint != view.local && m.status != Status::Left)
        .map(peer_info)
        .collect()
}

fn peer_info(m: &Member) -> PeerInfo {
    let native = m
        .native_address
        .unwrap_or_else(|| std::net::SocketAddr::new(m.endpoint.ip(), 9042));
    PeerInfo {
        address: m.endpoint.ip(),
        port: m.endpoint.port(),
        native_address: native.ip(),
        native_port: native.port(),
        data_center: m.datacenter.clone(),
        rack: m.rack.clone(),
        host_id: m.host_id.0,
        tokens: m.tokens.iter().map(|t| t.0).collect(),
        release_version: m.release_version.clone().unwrap_or_default(),
        schema_version: m
            .schema_version
            .as_deref()
            .and_then(cluster::membership::parse_host_id)
            .map(|u| u.0),
    }
}

/// Turns gossip's events into client events. NEW_NODE goes out once per
/// host, the first time it is seen NORMAL; a restart is an UP, not a new
/// node.
pub(super) fn publish(shared: &Arc<Shared>, changes: &[GossipEvent], view: &ClusterView) {
    let Some(sender) = shared.events.get() else {
        return;
    };
    let mut known = shared.known_hosts.lock().unwrap_or_else(|p| p.into_inner());
    for m in &view.members {
        if m.status == Status::Normal
            && let Some(address) = m.native_address
            && known.insert(m.host_id)
        {
            sender.send(Event::TopologyChange {
                change: TopologyChangeType::NewNode,
                address,
            });
        }
    }
    drop(known);
    for change in changes {
        let (endpoint, event) = match change {
            GossipEvent::Up(e) => (e, Some(StatusChangeType::Up)),
            GossipEvent::Down(e) => (e, Some(StatusChangeType::Down)),
            GossipEvent::Left(e) => (e, None),
            _ => continue,
        };
        let Some(address) = view.member_at(*endpoint).and_then(|m| m.native_address) else {
            continue;
        };
        let event = match event {
            Some(change) => Event::StatusChange { change, address },
            None => Event::TopologyChange {
                change: TopologyChangeType::RemovedNode,
                address,
            },
        };
        sender.send(event);
    }
}
