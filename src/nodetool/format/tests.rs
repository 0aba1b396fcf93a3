//! Golden layouts: a fake cluster view through the admin API's report
//! builders and nodetool's formatters, compared with Cassandra's layout.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::admin::status_report;
use crate::admin::view::{ClusterView, GossipRecord, HostId, Liveness, NodeRecord, RingState};
use crate::schema::Replication;

#[derive(Debug)]
struct FakeView(Vec<NodeRecord>);

impl ClusterView for FakeView {
    fn cluster_name(&self) -> String {
        "prod".into()
    }
    fn snitch(&self) -> String {
        "org.apache.cassandra.locator.GossipingPropertyFileSnitch".into()
    }
    fn partitioner(&self) -> String {
        "org.apache.cassandra.dht.Murmur3Partitioner".into()
    }
    fn local_host_id(&self) -> HostId {
        self.0[0].host_id
    }
    fn nodes(&self) -> Vec<NodeRecord> {
        self.0.clone()
    }
    fn ownership(&self, _: Option<&Replication>) -> BTreeMap<HostId, f64> {
        let share = 1.0 / self.0.len() as f64;
        self.0.iter().map(|n| (n.host_id, share)).collect()
    }
    fn replicas(&self, _: &Replication, _: i64) -> Vec<IpAddr> {
        self.0.iter().map(|n| n.address).collect()
    }
    fn gossip(&self) -> Vec<GossipRecord> {
        Vec::new()
    }
}

fn node(i: u8, dc: &str, liveness: Liveness, state: RingState, load: u64) -> NodeRecord {
    NodeRecord {
        host_id: [i * 17; 16],
        address: IpAddr::from([10, 0, 1, 10 + i]),
        storage_port: 7000,
        datacenter: dc.into(),
        rack: format!("r{i}"),
        liveness,
        state,
        load_bytes: Some(load),
        tokens: (0..16).map(|t| i64::from(i) * 1000 + t).collect(),
        schema_version: [0; 16],
        release_version: "5.0.0".into(),
    }
}

#[test]
fn file_sizes_print_as_cassandra_does() {
    assert_eq!(file_size(0), "0 bytes");
    assert_eq!(file_size(1023), "1023 bytes");
    assert_eq!(file_size(1024), "1 KiB");
    assert_eq!(file_size(70_144), "68.5 KiB");
    assert_eq!(file_size(442_950_000_000), "412.53 GiB");
}

#[test]
fn status_of_one_node() {
    let view = FakeView(vec![node(
        1,
        "datacenter1",
        Liveness::Up,
        RingState::Normal,
        70_144,
    )]);
    let owns = view.ownership(None);
    let text = status(&status_report(&view, Some(&owns)));
    let expected = "\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load      Tokens  Owns (effective)  Host ID                               Rack
UN  10.0.1.11  68.5 KiB  16      100.0%            11111111-1111-1111-1111-111111111111  r1  

";
    assert_eq!(text, expected);
}

#[test]
fn status_of_three_nodes_in_two_data_centers() {
    let view = FakeView(vec![
        node(3, "dc2", Liveness::Down, RingState::Normal, 1 << 30),
        node(1, "dc1", Liveness::Up, RingState::Normal, 442_950_000_000),
        node(2, "dc1", Liveness::Up, RingState::Leaving, 0),
    ]);
    let text = status(&status_report(&view, None));
    let expected = "\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Tokens  Owns (effective)  Host ID                               Rack
UN  10.0.1.11  412.53 GiB  16      ?                 11111111-1111-1111-1111-111111111111  r1  
UL  10.0.1.12  0 bytes     16      ?                 22222222-2222-2222-2222-222222222222  r2  
Datacenter: dc2
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Tokens  Owns (effective)  Host ID                               Rack
DN  10.0.1.13  1 GiB       16      ?                 33333333-3333-3333-3333-333333333333  r3  

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
";
    assert_eq!(text, expected);
}

#[test]
fn ring_lists_every_token_after_the_vnode_warning() {
    let mut one = node(1, "dc1", Liveness::Up, RingState::Normal, 2048);
    one.tokens = vec![-5, 7];
    let ring = api::Ring {
        datacenters: vec![api::DcRing {
            name: "dc1".into(),
            tokens: one
                .tokens
                .iter()
                .map(|t| api::RingToken {
                    address: one.address.to_string(),
                    rack: one.rack.clone(),
                    status: "Up".into(),
                    state: "Normal".into(),
                    load_bytes: one.load_bytes,
                    owns: 1.0,
                    token: *t,
                })
                .collect(),
        }],
        ownership_note: None,
    };
    let pad = |s: &str, w: usize| format!("{s:<w$}");
    let line = |cells: [&str; 7]| {
        format!(
            "{}  {}{}{}{}{}{}\n",
            pad(cells[0], 9),
            pad(cells[1], 12),
            pad(cells[2], 7),
            pad(cells[3], 8),
            pad(cells[4], 16),
            pad(cells[5], 20),
            pad(cells[6], 44)
        )
    };
    let expected = [
        "  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n".to_owned(),
        "  To view status related info of a node use \"nodetool status\" instead.\n\n\n".to_owned(),
        "Datacenter: dc1\n==========\n".to_owned(),
        line([
            "Address", "Rack", "Status", "State", "Load", "Owns", "Token",
        ]),
        line(["", "", "", "", "", "", "7"]),
        line(["10.0.1.11", "r1", "Up", "Normal", "2 KiB", "100.00%", "-5"]),
        line(["10.0.1.11", "r1", "Up", "Normal", "2 KiB", "100.00%", "7"]),
        "\n".to_owned(),
    ]
    .concat();
    assert_eq!(super::ring(&ring), expected);
}
