//! Membership as gossip describes it: what each node announces about itself,
//! and the members and token ring read back from everyone's endpoint states.
//!
//! A node publishes its host id, tokens, data center, rack, native (CQL)
//! address, schema version and release version as application states; every
//! other node rebuilds the same [`Member`] list and [`Ring`] from what it has
//! heard, so placement agrees wherever gossip has converged.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::gossip::state::{ApplicationState, EndpointState, Status, encode_tokens, parse_tokens};
use crate::net::Endpoint;
use crate::ring::{self, HostId, Ring};
use storage::Token;

/// What a node announces about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalInfo {
    /// Its host id.
    pub host_id: HostId,
    /// Its tokens.
    pub tokens: Vec<Token>,
    /// Its data center.
    pub datacenter: String,
    /// Its rack.
    pub rack: String,
    /// Where clients reach it over CQL.
    pub native_address: SocketAddr,
    /// The release version drivers see.
    pub release_version: String,
}

/// The application states announcing `info` with `status`.
pub fn announce(info: &LocalInfo, status: Status) -> Vec<(ApplicationState, String)> {
    vec![
        (ApplicationState::HostId, info.host_id.to_string()),
        (ApplicationState::Tokens, encode_tokens(&info.tokens)),
        (ApplicationState::Dc, info.datacenter.clone()),
        (ApplicationState::Rack, info.rack.clone()),
        (
            ApplicationState::NativeAddressAndPort,
            info.native_address.to_string(),
        ),
        (
            ApplicationState::ReleaseVersion,
            info.release_version.clone(),
        ),
        (ApplicationState::Status, status.as_str().to_owned()),
    ]
}

/// One node as the local node knows it through gossip.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Its internode address (what gossip keys it by).
    pub endpoint: Endpoint,
    /// Its host id.
    pub host_id: HostId,
    /// Its data center.
    pub datacenter: String,
    /// Its rack.
    pub rack: String,
    /// Its tokens (empty until announced).
    pub tokens: Vec<Token>,
    /// Its status (BOOT, NORMAL, LEAVING, LEFT, shutdown).
    pub status: Status,
    /// Its CQL address, once announced.
    pub native_address: Option<SocketAddr>,
    /// Its schema version (a uuid in text form), once announced.
    pub schema_version: Option<String>,
    /// Its release version, once announced.
    pub release_version: Option<String>,
    /// Its data size on disk in bytes, once announced.
    pub load: Option<f64>,
}

/// The member an endpoint state describes, or `None` until it has announced a
/// host id and a status (a node still starting up).
pub fn member(endpoint: Endpoint, state: &EndpointState) -> Option<Member> {
    let host_id = parse_host_id(state.get(ApplicationState::HostId)?)?;
    let status = state.status()?;
    Some(Member {
        endpoint,
        host_id,
        datacenter: state
            .get(ApplicationState::Dc)
            .unwrap_or("datacenter1")
            .to_owned(),
        rack: state
            .get(ApplicationState::Rack)
            .unwrap_or("rack1")
            .to_owned(),
        tokens: state
            .get(ApplicationState::Tokens)
            .and_then(parse_tokens)
            .unwrap_or_default(),
        status,
        native_address: state
            .get(ApplicationState::NativeAddressAndPort)
            .and_then(|a| a.parse().ok()),
        schema_version: state.get(ApplicationState::Schema).map(str::to_owned),
        release_version: state
            .get(ApplicationState::ReleaseVersion)
            .map(str::to_owned),
        load: state
            .get(ApplicationState::Load)
            .and_then(|l| l.parse().ok()),
    })
}

/// Every member described by `states`, by endpoint.
pub fn members(states: &BTreeMap<Endpoint, EndpointState>) -> Vec<Member> {
    states
        .iter()
        .filter_map(|(endpoint, state)| member(*endpoint, state))
        .collect()
}

/// The ring of the members that own data: NORMAL and LEAVING nodes with
/// tokens. A token claimed twice (two nodes that picked the same one) goes to
/// the member listed first, so every node resolves the clash the same way.
pub fn ring_of(members: &[Member]) -> Ring {
    let mut ring = Ring::new();
    for m in members {
        if !matches!(m.status, Status::Normal | Status::Leaving) || m.tokens.is_empty() {
            continue;
        }
        let endpoint = ring::Endpoint {
            host_id: m.host_id,
            address: m.endpoint,
            datacenter: m.datacenter.clone(),
            rack: m.rack.clone(),
        };
        let taken: Vec<Token> = m
            .tokens
            .iter()
            .copied()
            .filter(|t| !ring.tokens().any(|(taken, _)| taken == *t))
            .collect();
        if !taken.is_empty() {
            // Cannot fail: the tokens were filtered to free ones.
            let _ = ring.add(endpoint, taken);
        }
    }
    ring
}

/// A host id from its uuid text (`8-4-4-4-12` hex digits).
pub fn parse_host_id(text: &str) -> Option<HostId> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = std::str::from_utf8(&hex[2 * i..2 * i + 2]).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(HostId(out))
}

#[cfg(test)]
mod tests;
