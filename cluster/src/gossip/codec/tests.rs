use super::*;
use crate::gossip::skew::ClockStamp;

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
        Err(DecodeError::Malformed("clock trailer version 0"))
    );
    m.verb = Verb(999);
    assert_eq!(
        GossipMessage::from_message(&m),
        Err(DecodeError::NotGossip(Verb(999)))
    );
}

#[test]
fn the_clock_trailer_round_trips_and_is_optional() {
    let message = GossipMessage::Ack2(GossipDigestAck2 {
        states: sample_states(),
    });
    for stamp in [
        ClockStamp {
            sent_micros: 1_800_000_000_000_000,
            echo_micros: Some(1_799_999_999_999_000),
        },
        ClockStamp {
            sent_micros: -5,
            echo_micros: None,
        },
    ] {
        let wire = message.to_stamped_message(3, stamp);
        let plain = message.to_message(3);
        assert_eq!(wire.payload.len(), plain.payload.len() + 17);
        assert_eq!(
            GossipMessage::from_stamped_message(&wire),
            Ok((message.clone(), Some(stamp)))
        );
        assert_eq!(GossipMessage::from_message(&wire), Ok(message.clone()));
        // An older node's message has no trailer.
        assert_eq!(
            GossipMessage::from_stamped_message(&plain),
            Ok((message.clone(), None))
        );
        // Cut anywhere inside the trailer: an error, never a panic.
        for cut in plain.payload.len() + 1..wire.payload.len() {
            let mut m = wire.clone();
            m.payload.truncate(cut);
            assert!(
                GossipMessage::from_stamped_message(&m).is_err(),
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn a_later_trailer_version_is_read_for_what_this_one_knows() {
    let message = GossipMessage::Syn(GossipDigestSyn {
        cluster_name: "c".into(),
        partitioner: "p".into(),
        digests: Vec::new(),
    });
    let stamp = ClockStamp {
        sent_micros: 42,
        echo_micros: None,
    };
    let mut wire = message.to_stamped_message(1, stamp);
    let at = message.to_message(1).payload.len();
    wire.payload.extend_from_slice(&[1, 2, 3]);
    // Version 1 with bytes after it: not a format this build knows.
    assert_eq!(
        GossipMessage::from_stamped_message(&wire),
        Err(DecodeError::Trailing(3))
    );
    wire.payload[at] = 2;
    assert_eq!(
        GossipMessage::from_stamped_message(&wire),
        Ok((message, Some(stamp)))
    );
}
