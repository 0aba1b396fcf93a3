use super::*;
use crate::testing::{endpoint, host, ring_of};
use proptest::prelude::*;
use std::collections::BTreeSet;

const Q: i64 = 1 << 62;

fn nts(rfs: &[(&str, usize)]) -> NetworkTopologyStrategy {
    NetworkTopologyStrategy {
        dc_rf: rfs.iter().map(|&(dc, rf)| (dc.to_owned(), rf)).collect(),
    }
}

fn hosts(ns: &[u8]) -> Vec<HostId> {
    ns.iter().map(|&n| host(n)).collect()
}

#[test]
fn simple_strategy_walks_clockwise_to_distinct_hosts() {
    let ring = ring_of(&[
        (1, "dc1", "r1", &[0, 40]),
        (2, "dc1", "r1", &[10]),
        (3, "dc1", "r1", &[20]),
        (4, "dc1", "r1", &[30]),
    ]);
    let s = SimpleStrategy { rf: 3 };
    assert_eq!(s.replicas(&ring, Token(5)), hosts(&[2, 3, 4]));
    // Host 1's second token (40) is passed over on the wrap: it is already in.
    assert_eq!(s.replicas(&ring, Token(35)), hosts(&[1, 2, 3]));
    assert_eq!(s.replicas(&ring, Token(25)), hosts(&[4, 1, 2]));
    assert_eq!(SimpleStrategy { rf: 9 }.replicas(&ring, Token(5)).len(), 4);
    assert!(
        SimpleStrategy { rf: 0 }
            .replicas(&ring, Token(5))
            .is_empty()
    );
    assert!(s.replicas(&crate::ring::Ring::new(), Token(5)).is_empty());
}

/// Two DCs: dc1 has racks r1 (A, B), r2 (C), r3 (D); dc2 has r1 (E, G), r2 (F).
fn two_dc_ring() -> crate::ring::Ring {
    ring_of(&[
        (1, "dc1", "r1", &[0]),
        (2, "dc1", "r1", &[10]),
        (3, "dc1", "r2", &[20]),
        (4, "dc1", "r3", &[30]),
        (5, "dc2", "r1", &[5]),
        (6, "dc2", "r2", &[15]),
        (7, "dc2", "r1", &[25]),
    ])
}

#[test]
fn nts_fills_each_dc_in_walk_order() {
    let ring = two_dc_ring();
    let s = nts(&[("dc1", 3), ("dc2", 2)]);
    // Walk from 5: E(dc2) B(dc1 r1) F(dc2, dc2 done) C(r2) G(skipped) D(r3).
    assert_eq!(s.replicas(&ring, Token(1)), hosts(&[5, 2, 6, 3, 4]));
    // Walk from 0: A(r1) E B(r1 again: dc1 has 3 racks, no repeat) F C G D.
    assert_eq!(s.replicas(&ring, Token(31)), hosts(&[1, 5, 6, 3, 4]));
}

#[test]
fn nts_repeats_racks_only_when_the_dc_has_too_few() {
    // dc1: racks r1 (A, B, C) and r2 (D); rf 3 allows one rack repeat.
    let ring = ring_of(&[
        (1, "dc1", "r1", &[0]),
        (2, "dc1", "r1", &[10]),
        (3, "dc1", "r1", &[20]),
        (4, "dc1", "r2", &[30]),
    ]);
    let s = nts(&[("dc1", 3)]);
    assert_eq!(s.replicas(&ring, Token(1)), hosts(&[2, 3, 4]));
    assert_eq!(s.replicas(&ring, Token(21)), hosts(&[4, 1, 2]));
    // A, then B (the one repeat), C refused (must leave room for r2), then D.
    assert_eq!(s.replicas(&ring, Token(-5)), hosts(&[1, 2, 4]));
}

#[test]
fn nts_ignores_dcs_without_a_factor_and_caps_at_the_dcs_hosts() {
    let ring = two_dc_ring();
    assert_eq!(nts(&[("dc2", 2)]).replicas(&ring, Token(1)), hosts(&[5, 6]));
    assert_eq!(
        nts(&[("dc2", 5)]).replicas(&ring, Token(1)),
        hosts(&[5, 6, 7])
    );
    assert!(nts(&[("dc9", 3)]).replicas(&ring, Token(1)).is_empty());
}

#[test]
fn effective_ownership_of_a_hand_worked_ring() {
    // A owns (-Q, 0] = 1/4, B owns (0, Q] = 1/4, C owns (Q, -Q] = 1/2.
    let ring = ring_of(&[
        (1, "dc1", "r1", &[0]),
        (2, "dc1", "r1", &[Q]),
        (3, "dc1", "r1", &[-Q]),
    ]);
    let rf1 = effective_ownership(&ring, &SimpleStrategy { rf: 1 });
    assert_eq!(
        rf1.values().copied().collect::<Vec<_>>(),
        vec![0.25, 0.25, 0.5]
    );
    // RF 2: A also holds C's half, B holds A's quarter, C holds B's quarter.
    let rf2 = effective_ownership(&ring, &SimpleStrategy { rf: 2 });
    assert_eq!(
        rf2.values().copied().collect::<Vec<_>>(),
        vec![0.75, 0.5, 0.75]
    );
    let rf3 = effective_ownership(&ring, &SimpleStrategy { rf: 3 });
    assert!(rf3.values().all(|&o| o == 1.0));
    assert_eq!(
        ranges_of(&ring, &SimpleStrategy { rf: 2 }, host(2)),
        vec![
            TokenRange {
                left: Token(-Q),
                right: Token(0)
            },
            TokenRange {
                left: Token(0),
                right: Token(Q)
            },
        ]
    );
}

#[test]
fn replication_info_sums_dc_factors() {
    let info = nts(&[("dc1", 3), ("dc2", 2)]).replication_info();
    assert_eq!(info.total(), 5);
    assert_eq!(info.dc_rf("dc2"), 2);
    assert_eq!(info.dc_rf("dc3"), 0);
    let simple = SimpleStrategy { rf: 3 }.replication_info();
    assert_eq!((simple.total(), simple.dc_rf("any")), (3, 3));
}

/// Cassandra 2.x's NetworkTopologyStrategy, as written there: take new racks,
/// skip hosts on seen racks, and once every rack is seen add the skipped
/// hosts, then any host. Our placement must pick the same hosts.
fn reference_nts(
    s: &NetworkTopologyStrategy,
    ring: &crate::ring::Ring,
    token: Token,
) -> BTreeSet<HostId> {
    let mut out = BTreeSet::new();
    for (dc, &rf) in &s.dc_rf {
        let dc_hosts: Vec<_> = ring.endpoints().filter(|e| &e.datacenter == dc).collect();
        let racks: BTreeSet<&str> = dc_hosts.iter().map(|e| e.rack.as_str()).collect();
        let want = rf.min(dc_hosts.len());
        let (mut chosen, mut seen, mut skipped) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
        for (_, h) in ring.ring_from(token) {
            let ep = ring.endpoint(h).unwrap();
            if &ep.datacenter != dc || chosen.len() >= want {
                continue;
            }
            if seen.len() == racks.len() {
                chosen.insert(h);
            } else if !seen.insert(ep.rack.as_str()) {
                skipped.push(h);
            } else {
                chosen.insert(h);
                if seen.len() == racks.len() {
                    for &s in &skipped {
                        if chosen.len() < want {
                            chosen.insert(s);
                        }
                    }
                }
            }
        }
        out.extend(chosen);
    }
    out
}

/// Random rings: up to 9 hosts over two DCs and three racks, 1–4 tokens each.
fn arb_ring() -> impl Strategy<Value = crate::ring::Ring> {
    prop::collection::vec(
        (
            0..2usize,
            0..3usize,
            prop::collection::btree_set(any::<i64>(), 1..5),
        ),
        1..10,
    )
    .prop_map(|hosts| {
        let mut ring = crate::ring::Ring::new();
        for (i, (dc, rack, tokens)) in hosts.into_iter().enumerate() {
            let ep = endpoint(i as u8 + 1, ["dc1", "dc2"][dc], ["r1", "r2", "r3"][rack]);
            // A token another host drew is simply dropped (then maybe the host).
            let free: Vec<Token> = tokens
                .into_iter()
                .map(Token)
                .filter(|t| ring.tokens().all(|(taken, _)| taken != *t))
                .collect();
            let _ = ring.add(ep, free);
        }
        ring
    })
}

proptest! {
    #[test]
    fn simple_replicas_are_distinct_and_as_many_as_possible(
        ring in arb_ring(), rf in 0..6usize, t in any::<i64>()
    ) {
        let r = SimpleStrategy { rf }.replicas(&ring, Token(t));
        let distinct: BTreeSet<_> = r.iter().collect();
        prop_assert_eq!(distinct.len(), r.len());
        prop_assert_eq!(r.len(), rf.min(ring.host_count()));
        if rf > 0 {
            prop_assert_eq!(r.first().copied(), ring.token_owner(Token(t)));
        }
    }

    #[test]
    fn nts_replicas_fill_each_dc_on_distinct_racks(
        ring in arb_ring(), rf1 in 0..5usize, rf2 in 0..5usize, t in any::<i64>()
    ) {
        let s = nts(&[("dc1", rf1), ("dc2", rf2)]);
        let r = s.replicas(&ring, Token(t));
        let distinct: BTreeSet<_> = r.iter().copied().collect();
        prop_assert_eq!(distinct.len(), r.len());
        prop_assert_eq!(&distinct, &reference_nts(&s, &ring, Token(t)));
        for (dc, rf) in [("dc1", rf1), ("dc2", rf2)] {
            let dc_eps: Vec<_> = ring.endpoints().filter(|e| e.datacenter == dc).collect();
            let racks: BTreeSet<_> = dc_eps.iter().map(|e| &e.rack).collect();
            let mine: Vec<_> = r
                .iter()
                .map(|h| ring.endpoint(*h).unwrap())
                .filter(|e| e.datacenter == dc)
                .collect();
            prop_assert_eq!(mine.len(), rf.min(dc_eps.len()));
            let mine_racks: BTreeSet<_> = mine.iter().map(|e| &e.rack).collect();
            if racks.len() >= rf {
                prop_assert_eq!(mine_racks.len(), mine.len(), "racks repeat in {}", dc);
            } else {
                prop_assert_eq!(mine_racks.len(), racks.len().min(mine.len()));
            }
        }
    }

    #[test]
    fn effective_ownership_sums_to_the_replica_count(ring in arb_ring(), rf in 1..5usize) {
        let owns = effective_ownership(&ring, &SimpleStrategy { rf });
        let total: f64 = owns.values().sum();
        let expected = rf.min(ring.host_count()) as f64;
        prop_assert!((total - expected).abs() < 1e-9, "{} vs {}", total, expected);
    }
}
