use super::*;
use crate::net::Verb;

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([10, 0, 0, n], 7000))
}

fn msg(id: u64) -> Message {
    Message {
        verb: Verb::GOSSIP_DIGEST_SYN,
        id,
        payload: vec![id as u8],
    }
}

fn drain(t: &SimTransport) -> Vec<u64> {
    std::iter::from_fn(|| t.try_recv())
        .map(|e| e.message.id)
        .collect()
}

#[test]
fn messages_wait_for_their_delay() {
    let net = SimNetwork::new(
        1,
        SimConfig {
            delay: Delay::Fixed(10),
            ..SimConfig::default()
        },
    );
    let a = net.register(ep(1));
    let b = net.register(ep(2));
    a.send_now(ep(2), msg(7)).unwrap();
    assert_eq!(net.advance_to(9), 0);
    assert!(b.try_recv().is_none());
    assert_eq!(net.next_delivery_ms(), Some(10));
    assert_eq!(net.advance_to(10), 1);
    let got = b.try_recv().unwrap();
    assert_eq!((got.from, got.to, got.message), (ep(1), ep(2), msg(7)));
}

#[test]
fn partitions_cut_both_ways_and_heal() {
    let net = SimNetwork::new(1, SimConfig::default());
    let a = net.register(ep(1));
    let b = net.register(ep(2));
    net.partition(ep(1), ep(2));
    a.send_now(ep(2), msg(1)).unwrap();
    b.send_now(ep(1), msg(2)).unwrap();
    net.advance_to(1);
    assert!(drain(&a).is_empty() && drain(&b).is_empty());
    assert_eq!(net.stats().dropped_partition, 2);
    net.heal();
    a.send_now(ep(2), msg(3)).unwrap();
    net.advance_to(2);
    assert_eq!(drain(&b), vec![3]);
}

#[test]
fn oneway_partition_and_in_flight_cut() {
    let net = SimNetwork::new(
        1,
        SimConfig {
            delay: Delay::Fixed(5),
            ..SimConfig::default()
        },
    );
    let a = net.register(ep(1));
    let b = net.register(ep(2));
    net.partition_oneway(ep(1), ep(2));
    a.send_now(ep(2), msg(1)).unwrap();
    b.send_now(ep(1), msg(2)).unwrap();
    net.advance_to(5);
    assert!(drain(&b).is_empty());
    assert_eq!(drain(&a), vec![2]);
    // A message already on the wire is lost when the link is cut under it.
    net.heal();
    b.send_now(ep(1), msg(3)).unwrap();
    net.isolate(ep(1));
    net.advance_to(10);
    assert!(drain(&a).is_empty());
}

#[test]
fn queues_are_bounded() {
    let net = SimNetwork::new(
        1,
        SimConfig {
            queue_capacity: 2,
            ..SimConfig::default()
        },
    );
    let a = net.register(ep(1));
    let _b = net.register(ep(2));
    a.send_now(ep(2), msg(1)).unwrap();
    a.send_now(ep(2), msg(2)).unwrap();
    assert_eq!(
        a.send_now(ep(2), msg(3)),
        Err(TransportError::QueueFull(ep(2)))
    );
    assert_eq!(
        a.send_now(ep(9), msg(4)),
        Err(TransportError::UnknownPeer(ep(9)))
    );
}

/// Same seed, same trace: which messages are lost and in what order the
/// rest arrive under random delays.
#[test]
fn drops_and_delays_replay_from_the_seed() {
    let run = |seed| {
        let net = SimNetwork::new(
            seed,
            SimConfig {
                drop_probability: 0.3,
                delay: Delay::Uniform {
                    min_ms: 0,
                    max_ms: 50,
                },
                queue_capacity: 1000,
            },
        );
        let a = net.register(ep(1));
        let b = net.register(ep(2));
        for id in 0..200 {
            a.send_now(ep(2), msg(id)).unwrap();
        }
        net.advance_to(100);
        drain(&b)
    };
    let first = run(42);
    assert_eq!(first, run(42));
    assert_ne!(first, run(43));
    assert!(first.len() > 100 && first.len() < 180, "{}", first.len());
    assert!(
        first.windows(2).any(|w| w[0] > w[1]),
        "random delays reorder"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn works_through_the_trait_object() {
    let net = SimNetwork::new(1, SimConfig::default());
    let a: Box<dyn Transport> = Box::new(net.register(ep(1)));
    let b: Box<dyn Transport> = Box::new(net.register(ep(2)));
    a.send(ep(2), msg(5)).await.unwrap();
    net.advance_to(0);
    let got = b.recv().await.unwrap();
    assert_eq!((got.from, got.message.id), (ep(1), 5));
    assert_eq!(b.local(), ep(2));
}
