use super::*;

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([10, 0, 0, n], 7000))
}

fn sample_states() -> BTreeMap<Endpoint, EndpointState> {
    let mut s = EndpointState::new(HeartBeatState {
        generation: 1_700_000_000,
        version: 42,
    });
    s.states.insert(
        ApplicationState::Status,
        VersionedValue {
            value: "NORMAL,-5".into(),
            version: 3,
        },
    );
    s.states.insert(
        ApplicationState::HostId,
        VersionedValue {
            value: "ä-host".into(),
            version: 4,
        },
    );
    let v6 = Endpoint::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 7001);
    BTreeMap::from([(ep(1), s.clone()), (v6, s)])
}

#[test]
fn every_message_round_trips() {
    let digests = vec![GossipDigest {
        endpoint: ep(2),
        generation: 7,
        max_version: -1,
    }];
    let messages = [
        GossipMessage::Syn(GossipDigestSyn {
            cluster_name: "Test Cluster".into(),
            partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
            digests: digests.clone(),
        }),
        GossipMessage::Ack(GossipDigestAck {
            digests,
            states: sample_states(),
        }),
        GossipMessage::Ack2(GossipDigestAck2 {
            states: sample_states(),
        }),
    ];
    for m in messages {
        let wire = m.to_message(9);
        assert_eq!(wire.id, 9);
        assert_eq!(GossipMessage::from_message(&wire).unwrap(), m);
    }
}

#[test]
fn bad_payloads_are_errors_not_panics() {
    let good = GossipMessage::Ack2(GossipDigestAck2 {
        states: sample_states(),
    })
    .to_message(1);
    for cut in 0..good.payload.len() {
        let mut m = good.clone();
        m.payload.truncate(cut);
        assert!(GossipMessage::from_message(&m).is_err(), "cut at {cut}");
    }
    let mut m = good.clone();
    m.payload.push(0);
    assert_eq!(
        GossipMessage::from_message(&m),
        Err(DecodeError::Trailing(1))
    );
    m.verb = Verb(999);
    assert_eq!(
        GossipMessage::from_message(&m),
        Err(DecodeError::NotGossip(Verb(999)))
    );
}
