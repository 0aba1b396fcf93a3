use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn peer(n: u8) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)), 7000)
}

/// A peer whose clock reads `peer_minus_local` µs ahead of ours answers a
/// request sent at `t0` (our clock) after `out` µs, and the answer takes
/// `back` µs to return: the stamp of that answer and when it arrives.
fn reply(t0: i64, out: i64, back: i64, peer_minus_local: i64) -> (ClockStamp, i64) {
    let t1 = t0 + out + peer_minus_local;
    let stamp = ClockStamp {
        sent_micros: t1,
        echo_micros: Some(t0),
    };
    (stamp, t0 + out + back)
}

#[test]
fn a_symmetric_round_trip_measures_the_offset_exactly() {
    let (stamp, now) = reply(1_000_000, 500, 500, -2_000_000);
    let s = SkewSample::new(stamp, now);
    assert_eq!(s.offset_micros, 2_000_000, "the peer runs 2 s behind");
    assert_eq!(s.round_trip_micros, Some(1_000));
}

#[test]
fn an_asymmetric_round_trip_errs_by_at_most_half_of_it() {
    let (stamp, now) = reply(1_000_000, 900, 100, 3_000);
    let s = SkewSample::new(stamp, now);
    let error = (s.offset_micros - (-3_000)).abs();
    assert!(error <= 500, "error {error}");
}

#[test]
fn a_one_way_message_counts_its_delay() {
    let stamp = ClockStamp {
        sent_micros: 10_000,
        echo_micros: None,
    };
    let s = SkewSample::new(stamp, 10_300);
    assert_eq!(
        s,
        SkewSample {
            offset_micros: 300,
            round_trip_micros: None
        }
    );
}

#[test]
fn an_echo_from_the_future_is_a_one_way_sample() {
    let stamp = ClockStamp {
        sent_micros: 5_000,
        echo_micros: Some(9_000),
    };
    assert_eq!(SkewSample::new(stamp, 6_000).round_trip_micros, None);
}

#[test]
fn hostile_stamps_saturate_instead_of_overflowing() {
    for (sent, echo, now) in [
        (i64::MIN, Some(i64::MIN), i64::MAX),
        (i64::MAX, None, i64::MIN),
        (i64::MAX, Some(i64::MIN), 0),
    ] {
        let stamp = ClockStamp {
            sent_micros: sent,
            echo_micros: echo,
        };
        let _ = SkewSample::new(stamp, now);
    }
}

#[test]
fn the_estimate_is_the_shortest_round_trip_and_round_trips_beat_one_way() {
    let mut skew = ClockSkew::new();
    let one_way = ClockStamp {
        sent_micros: 0,
        echo_micros: None,
    };
    assert_eq!(skew.record(peer(2), one_way, 40_000), Some(40_000));
    // A round trip of 10 ms with a lopsided delay, then one of 1 ms.
    let (slow, at) = reply(100_000, 9_000, 1_000, -50_000);
    let slow_estimate = skew.record(peer(2), slow, at);
    assert_eq!(slow_estimate, Some(SkewSample::new(slow, at).offset_micros));
    let (fast, at) = reply(200_000, 500, 500, -50_000);
    assert_eq!(skew.record(peer(2), fast, at), Some(50_000));
    // A later, slower sample does not replace the better one.
    let (slow, at) = reply(300_000, 20_000, 1_000, -50_000);
    assert_eq!(skew.record(peer(2), slow, at), Some(50_000));
    assert_eq!(skew.estimate(peer(3)), None);
    assert_eq!(skew.estimates(), vec![(peer(2), 50_000)]);
    skew.forget(peer(2));
    assert!(skew.estimates().is_empty());
}

#[test]
fn old_samples_age_out() {
    let mut skew = ClockSkew::new();
    let (best, at) = reply(0, 1, 1, 7_000);
    skew.record(peer(2), best, at);
    for round in 1..=SAMPLES_PER_PEER as i64 {
        let (s, at) = reply(round * 1_000_000, 50, 50, -9_000);
        skew.record(peer(2), s, at);
    }
    assert_eq!(
        skew.estimate(peer(2)),
        Some(9_000),
        "the clock moved; so does the estimate"
    );
}

#[test]
fn peers_tracked_are_bounded() {
    let mut skew = ClockSkew::new();
    let stamp = ClockStamp {
        sent_micros: 0,
        echo_micros: None,
    };
    for i in 0..MAX_PEERS + 10 {
        let port = u16::try_from(i % 60_000).expect("port");
        let ip = IpAddr::V4(Ipv4Addr::from(0x7F00_0000 + u32::try_from(i).expect("i")));
        skew.record(Endpoint::new(ip, port), stamp, 1);
    }
    assert_eq!(skew.estimates().len(), MAX_PEERS);
}
