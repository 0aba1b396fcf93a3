use super::*;

fn kill_or_pause_count(fault: &Fault) -> usize {
    match fault {
        Fault::Kill { nodes } | Fault::Pause { nodes } => nodes.len(),
        _ => 0,
    }
}

#[test]
fn a_seed_always_gives_the_same_plan() {
    let kinds = FaultKind::ALL;
    let a = Plan::generate(42, 5, 180, &kinds);
    let b = Plan::generate(42, 5, 180, &kinds);
    let c = Plan::generate(43, 5, 180, &kinds);
    assert_eq!(a, b);
    assert_eq!(a.render(), b.render());
    assert_ne!(a, c);
    assert!(a.steps.len() >= 10, "{}", a.render());
}

#[test]
fn faults_follow_the_schedule() {
    for seed in 0..50 {
        let plan = Plan::generate(seed, 5, 120, &FaultKind::ALL);
        let mut free_from = Timing::PROCESS.warm_up_ms;
        for step in &plan.steps {
            assert!(
                step.at_ms >= free_from,
                "seed {seed}: overlap\n{}",
                plan.render()
            );
            assert!(
                (Timing::PROCESS.hold_ms.0..=Timing::PROCESS.hold_ms.1).contains(&step.hold_ms)
            );
            assert!(step.at_ms + step.hold_ms <= 120_000 - Timing::PROCESS.quiet_end_ms);
            free_from = step.at_ms + step.hold_ms + Timing::PROCESS.healthy_ms.0;
        }
    }
}

#[test]
fn never_more_than_a_minority_is_killed_or_paused() {
    for n in 1..=7 {
        for seed in 0..100 {
            let plan = Plan::generate(seed, n, 300, &[FaultKind::Kill, FaultKind::Pause]);
            for step in &plan.steps {
                let count = kill_or_pause_count(&step.fault);
                assert!(count >= 1 && count <= minority(n), "n={n} {:?}", step.fault);
            }
            if n < 3 {
                assert!(plan.steps.is_empty(), "no minority to kill among {n}");
            }
        }
    }
}

#[test]
fn only_the_chosen_kinds_appear() {
    let plan = Plan::generate(
        9,
        3,
        180,
        &[FaultKind::PartitionOne, FaultKind::MajoritiesRing],
    );
    assert!(!plan.steps.is_empty());
    for step in &plan.steps {
        assert!(
            step.fault.describe().starts_with("partition-one "),
            "{:?}",
            step.fault
        );
    }
}

/// Whether every node's grudge is returned by the nodes it holds it against.
fn symmetric(grudge: &Grudge) -> bool {
    grudge.iter().all(|(a, enemies)| {
        enemies
            .iter()
            .all(|b| grudge.get(b).is_some_and(|e| e.contains(a)))
    })
}

#[test]
fn partitions_are_symmetric_grudges_of_the_right_shape() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..50 {
        let Fault::Partition { grudge, .. } = partition(&mut rng, FaultKind::PartitionHalves, 5)
        else {
            panic!("a partition");
        };
        assert!(symmetric(&grudge));
        let sizes: BTreeSet<usize> = grudge.values().map(BTreeSet::len).collect();
        assert_eq!(
            sizes,
            [2, 3].into(),
            "majority side drops 2, minority side 3"
        );
        let Fault::Partition { grudge, .. } = partition(&mut rng, FaultKind::PartitionOne, 3)
        else {
            panic!("a partition");
        };
        assert!(symmetric(&grudge));
        assert_eq!(grudge.values().filter(|e| e.len() == 2).count(), 1);
    }
}

#[test]
fn the_bridge_node_sees_both_halves() {
    let (grudge, text) = bridge(&[4, 1, 5, 2, 3]);
    assert!(symmetric(&grudge));
    assert_eq!(grudge[&5], BTreeSet::new(), "{text}");
    assert_eq!(grudge[&4], [2, 3].into());
    assert_eq!(grudge[&2], [1, 4].into());
    assert_eq!(text, "n1 n4 | n5 sees both | n2 n3");
}

#[test]
fn every_node_of_the_ring_sees_its_own_majority() {
    for ring in [vec![3, 1, 4, 5, 2], vec![1, 2, 3, 4]] {
        let n = ring.len();
        let (grudge, _) = majorities_ring(&ring);
        assert!(symmetric(&grudge));
        let mut seen_sets = BTreeSet::new();
        for node in &ring {
            let seen: BTreeSet<usize> = ring
                .iter()
                .copied()
                .filter(|x| !grudge[node].contains(x))
                .collect();
            assert!(seen.len() > n / 2, "{node} sees a majority");
            assert!(seen_sets.insert(seen), "no two nodes see the same majority");
        }
    }
}

#[test]
fn grudges_become_firewall_rules() {
    let grudge = grudge_of_components(&[vec![1], vec![2, 3]]);
    let fault = Fault::Partition {
        kind: FaultKind::PartitionOne,
        grudge,
        sides: "n1 | n2 n3".into(),
    };
    let rules = fault.rules();
    assert_eq!(rules[&1].drop_from, [2, 3].into());
    assert_eq!(rules[&1].drop_to, [2, 3].into());
    assert_eq!(rules[&2].drop_from, [1].into());
    assert_eq!(rules[&3].drop_to, [1].into());
    let one_way = Fault::OneWay { node: 2, n: 3 }.rules();
    assert_eq!(one_way.len(), 1);
    assert_eq!(one_way[&2].drop_from, [1, 3].into());
    assert!(one_way[&2].drop_to.is_empty(), "one-way: n2 still sends");
    let loss = Fault::Loss { pct: 25, n: 3 }.rules();
    assert_eq!(loss[&3].loss, Some((25, [1, 2].into())));
    assert!(Fault::Kill { nodes: vec![1] }.rules().is_empty());
}

#[test]
fn clock_skews_stay_in_range() {
    let mut rng = StdRng::seed_from_u64(5);
    let skews: Vec<i64> = (0..1000).map(|_| skew_ms(&mut rng)).collect();
    assert!(skews.iter().all(|s| (50..=10_000).contains(&s.abs())));
    assert!(skews.iter().any(|s| *s < 0) && skews.iter().any(|s| *s > 0));
}
