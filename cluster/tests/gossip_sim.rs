//! A deterministic in-process cluster: five gossipers on the sim network with
//! a virtual clock. Every round advances time 1 s, ticks each node, then
//! delivers messages (random 0–50 ms delays) in time order until the round
//! ends. Everything is drawn from one seed, so a failure replays exactly.

use std::collections::BTreeMap;

use cluster::Endpoint;
use cluster::encode_tokens;
use cluster::sim::{Delay, SimConfig, SimNetwork, SimTransport};
use cluster::{ApplicationState, GossipConfig, GossipEvent, GossipMessage, Gossiper, Status};
use rand::SeedableRng;
use rand::rngs::StdRng;
use storage::Token;

const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

fn ep(i: usize) -> Endpoint {
    Endpoint::from(([10, 0, 0, i as u8 + 1], 7000))
}

struct Node {
    gossiper: Gossiper,
    transport: SimTransport,
    rng: StdRng,
    running: bool,
    events: Vec<GossipEvent>,
}

struct Sim {
    net: SimNetwork,
    nodes: Vec<Node>,
    now_ms: u64,
    next_id: u64,
}

fn announce(g: &mut Gossiper, i: usize) {
    let tokens = encode_tokens(&[Token(i as i64 * 1000 - 2000)]);
    g.set_local_state(ApplicationState::Tokens, tokens.clone());
    g.set_local_state(ApplicationState::HostId, format!("host-{i}"));
    g.set_local_state(ApplicationState::Dc, "dc1");
    g.set_local_state(ApplicationState::Rack, "rack1");
    g.set_local_state(ApplicationState::Status, format!("NORMAL,{tokens}"));
}

impl Sim {
    /// `n` nodes, the first two of them seeds, all at generation 1.
    fn new(n: usize, seed: u64) -> Self {
        let net = SimNetwork::new(
            seed,
            SimConfig {
                delay: Delay::Uniform {
                    min_ms: 0,
                    max_ms: 50,
                },
                ..SimConfig::default()
            },
        );
        let nodes = (0..n).map(|i| Self::start(&net, i, 1, seed)).collect();
        Sim {
            net,
            nodes,
            now_ms: 0,
            next_id: 0,
        }
    }

    fn start(net: &SimNetwork, i: usize, generation: i32, seed: u64) -> Node {
        let config = GossipConfig::new("Test Cluster", PARTITIONER, [ep(0), ep(1)]);
        let mut gossiper = Gossiper::new(ep(i), generation, config);
        announce(&mut gossiper, i);
        Node {
            gossiper,
            transport: net.register(ep(i)),
            rng: StdRng::seed_from_u64(seed ^ (i as u64 + 1) ^ ((generation as u64) << 32)),
            running: true,
            events: Vec::new(),
        }
    }

    fn send(&mut self, from: usize, to: Endpoint, msg: &GossipMessage) {
        self.next_id += 1;
        // A full queue or unknown peer is just a lost message to gossip.
        let _ = self.nodes[from]
            .transport
            .send_now(to, msg.to_message(self.next_id));
    }

    /// One gossip round: tick everyone, then deliver until the next second.
    fn round(&mut self) {
        self.now_ms += 1000;
        self.net.advance_to(self.now_ms);
        self.drain_inboxes(self.now_ms);
        for i in 0..self.nodes.len() {
            if !self.nodes[i].running {
                continue;
            }
            let node = &mut self.nodes[i];
            let syns = node.gossiper.tick(self.now_ms, &mut node.rng);
            for (to, syn) in syns {
                self.send(i, to, &GossipMessage::Syn(syn));
            }
        }
        self.deliver_until(self.now_ms + 999);
    }

    fn deliver_until(&mut self, end_ms: u64) {
        self.drain_inboxes(self.net.now_ms());
        while let Some(at) = self.net.next_delivery_ms().filter(|&at| at <= end_ms) {
            self.net.advance_to(at);
            self.drain_inboxes(at);
        }
    }

    fn drain_inboxes(&mut self, now_ms: u64) {
        for i in 0..self.nodes.len() {
            while let Some(env) = self.nodes[i].transport.try_recv() {
                if !self.nodes[i].running {
                    continue;
                }
                let msg =
                    GossipMessage::from_message(&env.message).expect("gossip payloads decode");
                let reply = self.nodes[i]
                    .gossiper
                    .handle(&msg, now_ms)
                    .expect("same cluster");
                let node = &mut self.nodes[i];
                node.events.extend(node.gossiper.take_events());
                if let Some(reply) = reply {
                    self.send(i, env.from, &reply);
                }
            }
        }
    }

    fn running(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.running)
    }

    /// Every running node's view of every node's application states (the
    /// heartbeat is left out: it moves every round by design).
    fn converged(&self) -> bool {
        let views: Vec<BTreeMap<Endpoint, _>> = self
            .running()
            .map(|n| {
                let states = n.gossiper.endpoint_states().iter();
                states
                    .map(|(e, s)| (*e, (s.heartbeat.generation, s.states.clone())))
                    .collect()
            })
            .collect();
        views.windows(2).all(|w| w[0] == w[1])
            && views.first().is_some_and(|v| v.len() == self.nodes.len())
    }

    fn rounds_until(&mut self, limit: usize, done: impl Fn(&Sim) -> bool) -> Option<usize> {
        for round in 1..=limit {
            self.round();
            if done(self) {
                return Some(round);
            }
        }
        None
    }

    fn all_see(&self, target: Endpoint, alive: bool) -> bool {
        self.running()
            .filter(|n| n.gossiper.local() != target)
            .all(|n| n.gossiper.is_alive(target) == alive)
    }
}

/// Five nodes that only know the two seeds converge quickly. Why ≤ 10: in
/// round 1 every non-seed node sends a SYN to a seed (it has no live peer),
/// so the seeds learn everyone; in round 2 everyone who talks to a seed, or
/// to a node that did, learns everything. Epidemic spread takes O(log N)
/// rounds; 10 leaves a wide margin for unlucky target choices and delays.
#[test]
fn five_nodes_converge_within_ten_rounds() {
    for seed in 0..20 {
        let mut sim = Sim::new(5, seed);
        let rounds = sim.rounds_until(10, Sim::converged);
        assert!(
            rounds.is_some(),
            "seed {seed} did not converge in 10 rounds"
        );
        eprintln!("seed {seed}: converged in {rounds:?} rounds");
        for n in sim.running() {
            for i in 0..5 {
                let s = n.gossiper.endpoint_state(ep(i)).unwrap();
                assert_eq!(s.status(), Some(Status::Normal));
                assert_eq!(
                    s.get(ApplicationState::HostId),
                    Some(format!("host-{i}").as_str())
                );
                assert!(s.get(ApplicationState::Tokens).is_some());
            }
        }
        // Everyone is UP for everyone once converged.
        assert!((0..5).all(|i| sim.all_see(ep(i), true)), "seed {seed}");
    }
}

#[test]
fn same_seed_same_run() {
    let trace = |seed| {
        let mut sim = Sim::new(5, seed);
        sim.rounds_until(15, |_| false);
        (
            sim.net.stats(),
            sim.nodes
                .iter()
                .map(|n| n.events.clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(trace(7), trace(7));
    assert_ne!(trace(7).0, trace(8).0);
}

/// A partitioned node is convicted by the rest, and comes back UP when the
/// partition heals.
///
/// The bound: Cassandra's phi alone (`0.434 · Δt / mean`) crosses 8 only
/// after ≈ 18.4 mean intervals of silence (22–27 s here, where peers hear
/// heartbeats second-hand), so the detector also convicts after 10 s of
/// silence (`FailureDetectorConfig::max_silence_ms`). The last heartbeat a
/// peer heard may be a round or two old when the partition starts, and the
/// verdict is read once per round: 12–13 s over seeds 10–15. We assert DOWN
/// between 10 s (no hair trigger) and 15 s.
#[test]
fn partitioned_node_goes_down_then_up() {
    for seed in 10..16 {
        partition_and_heal(seed);
    }
}

fn partition_and_heal(seed: u64) {
    let mut sim = Sim::new(5, seed);
    sim.rounds_until(10, Sim::converged).expect("converges");
    sim.rounds_until(30, |_| false);
    assert!(
        sim.all_see(ep(4), true),
        "no false conviction before the partition"
    );
    sim.net.isolate(ep(4));
    let start = sim.now_ms;
    let rounds = sim
        .rounds_until(40, |s| s.all_see(ep(4), false))
        .expect("peers convict the isolated node");
    let secs = (sim.now_ms - start) / 1000;
    assert!(
        (10..=15).contains(&secs),
        "seed {seed}: convicted after {secs} s ({rounds} rounds)"
    );
    eprintln!("seed {seed}: partitioned node convicted by all peers after {secs} s");
    // The isolated node convicts everyone else as well (on its own clock:
    // its arrival history differs, so not necessarily in the same round).
    sim.rounds_until(10, |s| s.nodes[4].gossiper.live_members().is_empty())
        .expect("the isolated node convicts its peers");
    for n in &sim.nodes[..4] {
        assert!(n.events.contains(&GossipEvent::Down(ep(4))));
    }
    sim.net.heal();
    let back = sim.rounds_until(5, |s| {
        s.all_see(ep(4), true) && s.nodes[4].gossiper.live_members().len() == 4
    });
    assert!(back.is_some(), "not UP again within 5 rounds of the heal");
}

/// A node that announces its shutdown is DOWN on every peer at once, stays
/// DOWN while stale gossip about it circulates, and is UP again after it
/// restarts with a new generation.
#[test]
fn shutdown_marks_down_at_once() {
    let mut sim = Sim::new(5, 3);
    sim.rounds_until(10, Sim::converged).unwrap();
    let pushes = sim.nodes[3].gossiper.announce_shutdown();
    assert_eq!(pushes.len(), 4);
    for (to, msg) in pushes {
        sim.send(3, to, &msg);
    }
    sim.nodes[3].running = false;
    sim.deliver_until(sim.net.now_ms() + 100);
    assert!(sim.all_see(ep(3), false), "DOWN within the same second");
    sim.rounds_until(10, |_| false);
    assert!(sim.all_see(ep(3), false), "stale gossip did not revive it");
    // Restart: a new process, a new generation.
    sim.nodes[3] = Sim::start(&sim.net, 3, 2, 99);
    let up = sim.rounds_until(10, |s| s.all_see(ep(3), true));
    assert!(up.is_some(), "restarted node not UP again");
}

/// A node that leaves stays gone: a node partitioned away while it left
/// still holds its NORMAL state, and after the heal it learns LEFT instead of
/// spreading NORMAL back; no one ever sees the leaver UP again.
#[test]
fn left_node_is_not_resurrected() {
    let mut sim = Sim::new(5, 5);
    sim.rounds_until(10, Sim::converged).unwrap();
    sim.net.isolate(ep(2));
    let tokens = encode_tokens(&[Token(2000)]);
    sim.nodes[4]
        .gossiper
        .set_local_state(ApplicationState::Status, format!("LEFT,{tokens}"));
    let learned = |s: &Sim| {
        s.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2 && *i != 4)
            .all(|(_, n)| {
                let st = n.gossiper.endpoint_state(ep(4));
                st.and_then(|st| st.status()) == Some(Status::Left)
            })
    };
    sim.rounds_until(10, learned).unwrap();
    sim.nodes[4].running = false;
    sim.net.unregister(ep(4));
    sim.net.heal();
    for _ in 0..20 {
        sim.round();
        assert!(sim.all_see(ep(4), false), "LEFT node came back UP");
    }
    for n in sim.running() {
        let st = n.gossiper.endpoint_state(ep(4)).unwrap();
        assert_eq!(st.status(), Some(Status::Left), "on {}", n.gossiper.local());
        if n.gossiper.local() != ep(2) {
            assert!(n.events.contains(&GossipEvent::Left(ep(4))));
        }
    }
}
