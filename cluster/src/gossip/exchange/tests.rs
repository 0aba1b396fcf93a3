use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([10, 0, 0, n], 7000))
}

fn node(n: u8) -> Gossiper {
    let mut g = Gossiper::new(ep(n), 1, GossipConfig::new("c", "p", [ep(1)]));
    g.set_local_state(ApplicationState::Status, "NORMAL,0");
    g
}

fn exchange(a: &mut Gossiper, b: &mut Gossiper, now_ms: u64) {
    let ack = b.on_syn(&a.make_syn(), now_ms).unwrap();
    let ack2 = a.on_ack(&ack, now_ms);
    b.on_ack2(&ack2, now_ms);
}

#[test]
fn rejects_other_clusters_and_partitioners() {
    let mut a = node(1);
    let mut syn = node(2).make_syn();
    syn.cluster_name = "other".into();
    assert!(matches!(
        a.on_syn(&syn, 0),
        Err(GossipError::ClusterNameMismatch { .. })
    ));
    syn.cluster_name = "c".into();
    syn.partitioner = "RandomPartitioner".into();
    assert!(matches!(
        a.on_syn(&syn, 0),
        Err(GossipError::PartitionerMismatch { .. })
    ));
}

#[test]
fn one_exchange_makes_both_sides_equal() {
    let (mut a, mut b) = (node(1), node(2));
    exchange(&mut a, &mut b, 1000);
    assert_eq!(a.endpoint_states(), b.endpoint_states());
    assert!(a.is_alive(ep(2)) && b.is_alive(ep(1)));
    let events = a.take_events();
    assert_eq!(events[0], GossipEvent::Joined(ep(2)));
    assert!(events.contains(&GossipEvent::Up(ep(2))));
}

#[test]
fn ack_sends_only_versions_above_the_digest() {
    let (mut a, mut b) = (node(1), node(2));
    exchange(&mut a, &mut b, 1000);
    b.set_local_state(ApplicationState::Load, "42");
    let ack = b.on_syn(&a.make_syn(), 2000).unwrap();
    let delta = &ack.states[&ep(2)];
    assert_eq!(
        delta.states.keys().collect::<Vec<_>>(),
        vec![&ApplicationState::Load]
    );
    assert!(ack.digests.is_empty());
}

#[test]
fn quarantine_blocks_even_newer_generations_until_it_ends() {
    let (mut a, mut b) = (node(1), node(2));
    exchange(&mut a, &mut b, 1000);
    b.set_local_state(ApplicationState::Status, "LEFT,0");
    exchange(&mut a, &mut b, 2000);
    assert!(a.take_events().contains(&GossipEvent::Left(ep(2))));
    assert!(a.is_quarantined(ep(2), 2000) && !a.is_alive(ep(2)));
    // The same address comes back as a new process within the quarantine.
    let mut reborn = node(2);
    reborn
        .endpoints
        .get_mut(&ep(2))
        .unwrap()
        .heartbeat
        .generation = 2;
    exchange(&mut reborn, &mut a, 30_000);
    assert_eq!(
        a.endpoint_state(ep(2)).unwrap().status(),
        Some(Status::Left)
    );
    let after = 2000 + QUARANTINE_MS;
    exchange(&mut reborn, &mut a, after);
    assert_eq!(
        a.endpoint_state(ep(2)).unwrap().status(),
        Some(Status::Normal)
    );
    assert!(a.is_alive(ep(2)));
}

#[test]
fn assassinate_spreads_as_a_newer_generation() {
    let (mut a, mut b, mut c) = (node(1), node(2), node(3));
    exchange(&mut a, &mut b, 1000);
    exchange(&mut c, &mut a, 1000);
    assert!(a.assassinate(ep(2), 5000));
    assert!(!a.assassinate(ep(1), 5000) && !a.assassinate(ep(9), 5000));
    exchange(&mut a, &mut c, 6000);
    assert_eq!(
        c.endpoint_state(ep(2)).unwrap().status(),
        Some(Status::Left)
    );
    assert!(c.is_quarantined(ep(2), 6000));
}

#[test]
fn a_lone_node_gossips_to_a_seed() {
    let mut g = node(5);
    let mut rng = StdRng::seed_from_u64(1);
    let targets: Vec<_> = g.tick(1000, &mut rng).into_iter().map(|(t, _)| t).collect();
    assert_eq!(targets, vec![ep(1)]);
    // A seed alone in its cluster has no one to talk to.
    let mut seed = node(1);
    assert!(seed.tick(1000, &mut rng).is_empty());
}

#[test]
fn tick_bumps_the_heartbeat_from_the_shared_counter() {
    let mut g = node(5);
    let before = g.endpoint_state(ep(5)).unwrap().max_version();
    g.tick(1000, &mut StdRng::seed_from_u64(1));
    let hb = g.endpoint_state(ep(5)).unwrap().heartbeat;
    assert_eq!(hb.version, before + 1);
}
