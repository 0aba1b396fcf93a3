use std::collections::BTreeMap;

use super::*;
use crate::gossip::state::{HeartBeatState, VersionedValue};

fn info(n: u8, tokens: &[i64]) -> LocalInfo {
    LocalInfo {
        host_id: HostId([n; 16]),
        tokens: tokens.iter().map(|t| Token(*t)).collect(),
        datacenter: "dc1".into(),
        rack: format!("r{n}"),
        native_address: SocketAddr::from(([127, 0, 0, n], 9042)),
        release_version: "5.0.0".into(),
    }
}

fn state_of(info: &LocalInfo, status: Status) -> EndpointState {
    let mut state = EndpointState::new(HeartBeatState {
        generation: 1,
        version: 1,
    });
    for (version, (key, value)) in announce(info, status).into_iter().enumerate() {
        state.states.insert(
            key,
            VersionedValue {
                value,
                version: version as i32 + 2,
            },
        );
    }
    state
}

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([127, 0, 0, n], 7000))
}

#[test]
fn announced_states_read_back_as_the_same_member() {
    let me = info(1, &[-5, 10]);
    let m = member(ep(1), &state_of(&me, Status::Normal)).unwrap();
    assert_eq!(m.host_id, me.host_id);
    assert_eq!(m.tokens, me.tokens);
    assert_eq!(m.native_address, Some(me.native_address));
    assert_eq!((m.datacenter.as_str(), m.rack.as_str()), ("dc1", "r1"));
    assert_eq!(parse_host_id(&me.host_id.to_string()), Some(me.host_id));
}

#[test]
fn a_node_without_host_id_or_status_is_not_a_member_yet() {
    let empty = EndpointState::new(HeartBeatState {
        generation: 1,
        version: 1,
    });
    assert!(member(ep(1), &empty).is_none());
}

#[test]
fn the_ring_holds_normal_and_leaving_nodes_and_resolves_clashes_alike() {
    let mut states = BTreeMap::new();
    states.insert(ep(1), state_of(&info(1, &[0, 100]), Status::Normal));
    states.insert(ep(2), state_of(&info(2, &[50, 100]), Status::Leaving));
    states.insert(ep(3), state_of(&info(3, &[75]), Status::Boot));
    states.insert(ep(4), state_of(&info(4, &[25]), Status::Left));
    let ring = ring_of(&members(&states));
    let owners: Vec<(i64, u8)> = ring.tokens().map(|(t, h)| (t.0, h.0[0])).collect();
    // Token 100 goes to the first member listed (ep 1); BOOT and LEFT own nothing.
    assert_eq!(owners, [(0, 1), (50, 2), (100, 1)]);
}
