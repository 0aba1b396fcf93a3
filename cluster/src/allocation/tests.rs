use super::*;
use crate::replication::{NetworkTopologyStrategy, SimpleStrategy, effective_ownership};
use crate::ring::HostId;
use crate::testing::endpoint;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Grows a one-DC ring host by host and returns the effective ownership
/// (SimpleStrategy, factor `rf`) after each host joins.
fn grow(hosts: u8, rf: usize, seed: u64) -> Vec<BTreeMap<HostId, f64>> {
    let mut ring = Ring::new();
    let mut history = Vec::new();
    for n in 1..=hosts {
        let ep = endpoint(n, "dc1", "r1");
        let tokens = allocate_tokens(&ring, &ep, DEFAULT_NUM_TOKENS, rf, seed);
        assert_eq!(tokens.len(), DEFAULT_NUM_TOKENS);
        ring.add(ep, tokens).unwrap();
        history.push(effective_ownership(&ring, &SimpleStrategy { rf }));
    }
    history
}

/// The largest relative deviation from even: |owns / (rf/N) - 1|.
fn worst_deviation(owns: &BTreeMap<HostId, f64>, rf: usize) -> f64 {
    let even = rf.min(owns.len()) as f64 / owns.len() as f64;
    owns.values()
        .map(|o| (o / even - 1.0).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_first_host_gets_evenly_spaced_tokens() {
    let ring = Ring::new();
    let tokens = allocate_tokens(&ring, &endpoint(1, "dc1", "r1"), 4, 3, 7);
    assert_eq!(tokens.len(), 4);
    let gaps: Vec<u64> = (0..4)
        .map(|i| (tokens[(i + 1) % 4].0 as u64).wrapping_sub(tokens[i].0 as u64))
        .collect();
    let quarter = u64::MAX / 4;
    assert!(gaps.iter().all(|&g| g.abs_diff(quarter) <= 4), "{gaps:?}");
}

#[test]
fn allocation_is_deterministic_given_the_seed() {
    let a = grow(4, 3, 11);
    let b = grow(4, 3, 11);
    assert_eq!(a, b);
    let mut ring = Ring::new();
    ring.add(
        endpoint(1, "dc1", "r1"),
        allocate_tokens(&ring, &endpoint(1, "dc1", "r1"), 16, 3, 1),
    )
    .unwrap();
    let other = allocate_tokens(&Ring::new(), &endpoint(1, "dc1", "r1"), 16, 3, 2);
    assert_ne!(ring.tokens_of(crate::testing::host(1)), other);
}

/// The goal, measured exactly: adding hosts 1..=6 one at a time to one data
/// center, 16 tokens each, factor 3. After each join with N = 3..=6 hosts,
/// every host's effective ownership (the fraction of the token space whose
/// SimpleStrategy rf-3 replica set includes it; the N values sum to 3) lies
/// within ±10% (relative) of the even share 3/N.
#[test]
fn ownership_stays_within_ten_percent_of_even_from_three_to_six_hosts() {
    for seed in [0, 1, 42, 0xdead_beef] {
        for (i, owns) in grow(6, 3, seed).iter().enumerate().skip(2) {
            let worst = worst_deviation(owns, 3);
            assert!(
                worst <= 0.10,
                "seed {seed}, {} hosts: {worst:.3} {owns:?}",
                i + 1
            );
        }
    }
}

#[test]
fn each_data_center_is_balanced_on_its_own() {
    let mut ring = Ring::new();
    for n in 1..=8u8 {
        let ep = endpoint(n, ["dc1", "dc2"][usize::from(n % 2)], "r1");
        let tokens = allocate_tokens(&ring, &ep, DEFAULT_NUM_TOKENS, 3, 5);
        ring.add(ep, tokens).unwrap();
    }
    let nts = NetworkTopologyStrategy {
        dc_rf: [("dc1".to_owned(), 3), ("dc2".to_owned(), 3)].into(),
    };
    let owns = effective_ownership(&ring, &nts);
    // Each DC replicates the whole ring three times over its four hosts.
    assert!(
        owns.values().all(|o| (o / 0.75 - 1.0).abs() <= 0.10),
        "{owns:?}"
    );
}

#[test]
fn random_tokens_are_deterministic_distinct_and_free() {
    let mut ring = Ring::new();
    ring.add(endpoint(1, "dc1", "r1"), random_tokens(&ring, 16, 9))
        .unwrap();
    let next = random_tokens(&ring, 16, 9);
    assert_eq!(next, random_tokens(&ring, 16, 9));
    assert_eq!(next.len(), 16);
    assert!(next.windows(2).all(|w| w[0] < w[1]));
    ring.add(endpoint(2, "dc1", "r1"), next).unwrap();
    assert_eq!(ring.token_count(), 32);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The same goal for arbitrary seeds.
    #[test]
    fn ownership_balance_holds_for_any_seed(seed in any::<u64>()) {
        for owns in grow(6, 3, seed).iter().skip(2) {
            prop_assert!(worst_deviation(owns, 3) <= 0.10, "{:?}", owns);
        }
    }
}
