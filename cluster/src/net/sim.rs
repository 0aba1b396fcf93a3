//! An in-memory network for tests: every node gets a bounded tokio mpsc inbox,
//! and the network in between can drop, delay and partition messages.
//!
//! Time is virtual. A sent message is stamped with a delivery time (now plus
//! the configured delay) and waits in the network until the test calls
//! [`SimNetwork::advance_to`]; only then is it pushed into the receiver's
//! inbox. Drops and random delays come from one seeded generator, and every
//! queue is ordered by (delivery time, send order), so a run is a function of
//! its seed and the order in which the test sends: the same seed replays the
//! same trace. Nothing here reads the wall clock or spawns tasks.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::mpsc;

use super::{BoxFuture, Endpoint, Envelope, Message, Transport, TransportError};

/// How long a message spends in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delay {
    /// Every message takes exactly this many milliseconds.
    Fixed(u64),
    /// Each message takes a duration drawn uniformly from `min_ms..=max_ms`;
    /// messages can therefore overtake each other.
    Uniform {
        /// Shortest delay.
        min_ms: u64,
        /// Longest delay.
        max_ms: u64,
    },
}

/// Fault and capacity settings of a [`SimNetwork`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Probability in `0.0..=1.0` that a message is silently lost.
    pub drop_probability: f64,
    /// Time a message spends in flight.
    pub delay: Delay,
    /// Bound on messages in flight towards one node, and on its inbox; the
    /// sender sees [`TransportError::QueueFull`] beyond it, and deliveries to
    /// a full inbox are dropped, as an overloaded real node would shed them.
    pub queue_capacity: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            drop_probability: 0.0,
            delay: Delay::Fixed(0),
            queue_capacity: 1024,
        }
    }
}

/// Counters of what the network did with messages, for test assertions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages accepted by `send`.
    pub sent: u64,
    /// Messages pushed into a receiver's inbox.
    pub delivered: u64,
    /// Messages lost to the random drop probability.
    pub dropped_random: u64,
    /// Messages lost to a partition (at send or while in flight).
    pub dropped_partition: u64,
    /// Messages lost to a full inbox or an unregistered receiver.
    pub dropped_overflow: u64,
}

/// A message waiting in the network, ordered by delivery time then send order.
#[derive(Debug)]
struct InFlight {
    at_ms: u64,
    seq: u64,
    envelope: Envelope,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

#[derive(Debug)]
struct State {
    rng: StdRng,
    config: SimConfig,
    now_ms: u64,
    next_seq: u64,
    inboxes: BTreeMap<Endpoint, mpsc::Sender<Envelope>>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    in_flight_to: BTreeMap<Endpoint, usize>,
    /// Directed links that lose every message: (from, to).
    blocked: BTreeSet<(Endpoint, Endpoint)>,
    stats: SimStats,
}

/// The simulated network; cheap to clone (all clones share one network).
#[derive(Clone, Debug)]
pub struct SimNetwork {
    state: Arc<Mutex<State>>,
}

impl SimNetwork {
    /// A network with no nodes, whose randomness is drawn from `seed`.
    pub fn new(seed: u64, config: SimConfig) -> Self {
        let state = State {
            rng: StdRng::seed_from_u64(seed),
            config,
            now_ms: 0,
            next_seq: 0,
            inboxes: BTreeMap::new(),
            in_flight: BinaryHeap::new(),
            in_flight_to: BTreeMap::new(),
            blocked: BTreeSet::new(),
            stats: SimStats::default(),
        };
        SimNetwork {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// A poisoned lock only means a test thread panicked mid-update; the
    /// counters are still usable, so keep going rather than panic again.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attaches a node and returns its transport. Registering an address again
    /// replaces its inbox (a restarted node does not see old messages).
    pub fn register(&self, endpoint: Endpoint) -> SimTransport {
        let mut state = self.lock();
        let (tx, rx) = mpsc::channel(state.config.queue_capacity.max(1));
        state.inboxes.insert(endpoint, tx);
        SimTransport {
            local: endpoint,
            network: self.clone(),
            inbox: tokio::sync::Mutex::new(rx),
        }
    }

    /// Detaches a node (a crash): messages to it are lost from now on.
    pub fn unregister(&self, endpoint: Endpoint) {
        self.lock().inboxes.remove(&endpoint);
    }

    /// Changes the probability that a message is lost.
    pub fn set_drop_probability(&self, probability: f64) {
        self.lock().config.drop_probability = probability;
    }

    /// Changes the delay of messages sent from now on.
    pub fn set_delay(&self, delay: Delay) {
        self.lock().config.delay = delay;
    }

    /// Cuts the link between `a` and `b` in both directions.
    pub fn partition(&self, a: Endpoint, b: Endpoint) {
        let mut state = self.lock();
        state.blocked.insert((a, b));
        state.blocked.insert((b, a));
    }

    /// Cuts only the direction `from` → `to`.
    pub fn partition_oneway(&self, from: Endpoint, to: Endpoint) {
        self.lock().blocked.insert((from, to));
    }

    /// Cuts every link between a node of `left` and a node of `right`.
    pub fn partition_groups(&self, left: &[Endpoint], right: &[Endpoint]) {
        let mut state = self.lock();
        for &a in left {
            for &b in right {
                state.blocked.insert((a, b));
                state.blocked.insert((b, a));
            }
        }
    }

    /// Cuts `endpoint` off from every registered node.
    pub fn isolate(&self, endpoint: Endpoint) {
        let others: Vec<Endpoint> = self.lock().inboxes.keys().copied().collect();
        self.partition_groups(&[endpoint], &others);
    }

    /// Restores the link between `a` and `b` in both directions.
    pub fn heal_pair(&self, a: Endpoint, b: Endpoint) {
        let mut state = self.lock();
        state.blocked.remove(&(a, b));
        state.blocked.remove(&(b, a));
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.lock().blocked.clear();
    }

    /// Whether messages from `from` to `to` are currently lost.
    pub fn is_blocked(&self, from: Endpoint, to: Endpoint) -> bool {
        self.lock().blocked.contains(&(from, to))
    }

    /// The network's virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.lock().now_ms
    }

    /// When the earliest message in flight is due, if any.
    pub fn next_delivery_ms(&self) -> Option<u64> {
        self.lock().in_flight.peek().map(|Reverse(m)| m.at_ms)
    }

    /// What the network has done so far.
    pub fn stats(&self) -> SimStats {
        self.lock().stats
    }

    /// Moves virtual time to `now_ms` (never backwards) and delivers every
    /// message due by then, in (due time, send order). Returns how many
    /// reached an inbox.
    pub fn advance_to(&self, now_ms: u64) -> usize {
        let mut state = self.lock();
        state.now_ms = state.now_ms.max(now_ms);
        let mut delivered = 0;
        while let Some(Reverse(next)) = state.in_flight.peek() {
            if next.at_ms > state.now_ms {
                break;
            }
            let Some(Reverse(msg)) = state.in_flight.pop() else {
                break;
            };
            if state.deliver(msg.envelope) {
                delivered += 1;
            }
        }
        delivered
    }

    fn enqueue(&self, envelope: Envelope) -> Result<(), TransportError> {
        self.lock().enqueue(envelope)
    }
}

impl State {
    fn enqueue(&mut self, envelope: Envelope) -> Result<(), TransportError> {
        let to = envelope.to;
        if !self.inboxes.contains_key(&to) {
            return Err(TransportError::UnknownPeer(to));
        }
        let queued = self.in_flight_to.get(&to).copied().unwrap_or(0);
        if queued >= self.config.queue_capacity {
            return Err(TransportError::QueueFull(to));
        }
        self.stats.sent += 1;
        if self.blocked.contains(&(envelope.from, to)) {
            self.stats.dropped_partition += 1;
            return Ok(());
        }
        // Draw from the generator only when the knob is on, so that turning
        // drops off does not shift the random delays of later messages.
        let p = self.config.drop_probability;
        if p > 0.0 && self.rng.random_bool(p.min(1.0)) {
            self.stats.dropped_random += 1;
            return Ok(());
        }
        let delay = match self.config.delay {
            Delay::Fixed(ms) => ms,
            Delay::Uniform { min_ms, max_ms } => self.rng.random_range(min_ms..=max_ms.max(min_ms)),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        *self.in_flight_to.entry(to).or_insert(0) += 1;
        self.in_flight.push(Reverse(InFlight {
            at_ms: self.now_ms + delay,
            seq,
            envelope,
        }));
        Ok(())
    }

    /// Pushes one due message into its inbox; false if it was lost.
    fn deliver(&mut self, envelope: Envelope) -> bool {
        let to = envelope.to;
        if let Some(n) = self.in_flight_to.get_mut(&to) {
            *n = n.saturating_sub(1);
        }
        // A partition raised while the message was in flight cuts it too, as
        // a real network drops packets already on the wire.
        if self.blocked.contains(&(envelope.from, to)) {
            self.stats.dropped_partition += 1;
            return false;
        }
        let ok = self
            .inboxes
            .get(&to)
            .is_some_and(|tx| tx.try_send(envelope).is_ok());
        if ok {
            self.stats.delivered += 1;
        } else {
            self.stats.dropped_overflow += 1;
        }
        ok
    }
}

/// One node's end of a [`SimNetwork`].
#[derive(Debug)]
pub struct SimTransport {
    local: Endpoint,
    network: SimNetwork,
    inbox: tokio::sync::Mutex<mpsc::Receiver<Envelope>>,
}

impl SimTransport {
    /// The next delivered message, without waiting: lets a synchronous test
    /// loop drain inboxes without a runtime.
    pub fn try_recv(&self) -> Option<Envelope> {
        self.inbox.try_lock().ok()?.try_recv().ok()
    }

    /// Sends without a runtime; the same as [`Transport::send`], which never
    /// actually waits in the sim.
    pub fn send_now(&self, to: Endpoint, message: Message) -> Result<(), TransportError> {
        self.network.enqueue(Envelope {
            from: self.local,
            to,
            message,
        })
    }
}

impl Transport for SimTransport {
    fn local(&self) -> Endpoint {
        self.local
    }

    fn send(&self, to: Endpoint, message: Message) -> BoxFuture<'_, Result<(), TransportError>> {
        let result = self.send_now(to, message);
        Box::pin(async move { result })
    }

    fn recv(&self) -> BoxFuture<'_, Option<Envelope>> {
        Box::pin(async move { self.inbox.lock().await.recv().await })
    }
}

#[cfg(test)]
mod tests;
