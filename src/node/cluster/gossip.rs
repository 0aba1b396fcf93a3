//! Gossip driven over messaging: the SYN → ACK → ACK2 handlers, the 1 s
//! rounds, and what follows an exchange that changed something (a new
//! snapshot, `system.peers`, client events, schema pulls).
//!
//! The [`Gossiper`](cluster::Gossiper) is sans-IO: it is called under
//! a short mutex with the time, and the messages it returns are sent after
//! the lock is released. Every gossip message travels one-way, answered to
//! the sender's listen address, as in Cassandra.
//!
//! Each message carries this node's wall clock, and a reply the reading of
//! the message it answers; what arrives feeds the clock-skew estimate of
//! each peer ([`SkewState`]), which `/metrics` exports and which logs a
//! warning when a peer's clock is off by more than the configured threshold.

use std::sync::{Arc, Weak};
use std::time::Duration;
// Tokio's clock: a simulation's paused runtime drives it.
use tokio::time::Instant;

use cluster::kind::ONE_WAY_ID;
use cluster::{ApplicationState, ClockSkew, ClockStamp, GossipMessage};
use cluster::{Endpoint, Message, Verb};

use super::{GossipState, Shared, events};
use crate::hlc::WallClock;
use crate::uuids::format_uuid;

/// Cassandra's gossip interval.
const ROUND: Duration = Duration::from_secs(1);

/// How often LOAD is announced (Cassandra's `LoadBroadcaster` uses 60 s; a
/// shorter period keeps `nodetool status` close to the disks at small cost).
const LOAD_INTERVAL: Duration = Duration::from_secs(10);

/// Registers the three gossip verbs.
pub(super) fn register(shared: &Arc<Shared>) {
    for verb in [
        Verb::GOSSIP_DIGEST_SYN,
        Verb::GOSSIP_DIGEST_ACK,
        Verb::GOSSIP_DIGEST_ACK2,
    ] {
        let weak = Arc::downgrade(shared);
        shared.messaging.register(verb, move |payload, from| {
            let weak = weak.clone();
            async move {
                if let Some(shared) = weak.upgrade() {
                    on_message(&shared, verb, payload, from).await;
                }
                None
            }
        });
    }
}

async fn on_message(shared: &Arc<Shared>, verb: Verb, payload: Vec<u8>, from: Endpoint) {
    let message = Message {
        verb,
        id: ONE_WAY_ID,
        payload,
    };
    let (message, stamp) = match GossipMessage::from_stamped_message(&message) {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::debug!(%from, %error, "dropping a malformed gossip message");
            return;
        }
    };
    if let Some(stamp) = stamp {
        let now = shared.wall.now_micros();
        shared.skew().record(from, stamp, now);
    }
    let reply = {
        let now = shared.now_ms();
        match shared.gossip().gossiper.handle(&message, now) {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(%from, %error, "refusing gossip");
                None
            }
        }
    };
    after_exchange(shared);
    if let Some(reply) = reply {
        send(shared, from, &reply, stamp.map(|s| s.sent_micros)).await;
    }
}

/// Sends a gossip message one-way, stamped with this node's wall clock and
/// `echo` (the reading of the message it answers); a full queue or a closed
/// transport only loses this message (gossip retries every round).
pub(super) async fn send(
    shared: &Shared,
    to: Endpoint,
    message: &GossipMessage,
    echo: Option<i64>,
) {
    let stamp = ClockStamp {
        sent_micros: shared.wall.now_micros(),
        echo_micros: echo,
    };
    let payload = message.to_stamped_message(ONE_WAY_ID, stamp).payload;
    if let Err(error) = shared.messaging.one_way(to, message.verb(), payload).await {
        tracing::debug!(%to, %error, "gossip message not sent");
    }
}

/// The 1 s gossip task; ends when the service is dropped.
pub(super) async fn run_rounds(shared: Weak<Shared>) {
    let mut interval = tokio::time::interval(ROUND);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        round(&shared).await;
    }
}

/// Announces this node's bytes on disk as LOAD every [`LOAD_INTERVAL`],
/// first at start; ends when the service is dropped.
pub(super) async fn announce_load(shared: Weak<Shared>) {
    let mut interval = tokio::time::interval(LOAD_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(engine) = shared.upgrade().map(|s| Arc::clone(&s.engine)) else {
            return;
        };
        // Table statistics take the engine's locks: off the async workers.
        let Ok(load) =
            ::cluster::blocking::run(move || crate::admin::view::disk_load(&engine)).await
        else {
            continue;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let value = format!("{:.1}", load as f64);
        shared
            .gossip()
            .gossiper
            .set_local_state(ApplicationState::Load, value);
    }
}

async fn round(shared: &Arc<Shared>) {
    let syns = {
        let now = shared.now_ms();
        let mut gossip = shared.gossip();
        announce_schema(&mut gossip, &shared.schema);
        let GossipState { gossiper, rng } = &mut *gossip;
        gossiper.tick(now, rng)
    };
    after_exchange(shared);
    // Also every round, so a failed pull is retried.
    (shared.after_gossip)(shared, &shared.view.get());
    for (to, syn) in syns {
        send(shared, to, &GossipMessage::Syn(syn), None).await;
    }
}

/// Opens a round with every live peer at once (after a schema change, so
/// the new version spreads without waiting for random rounds).
pub(super) async fn round_with_all(shared: &Arc<Shared>) {
    let (syn, peers) = {
        let mut gossip = shared.gossip();
        announce_schema(&mut gossip, &shared.schema);
        let peers: Vec<Endpoint> = gossip.gossiper.live_members().iter().copied().collect();
        (gossip.gossiper.make_syn(), peers)
    };
    for peer in peers {
        send(shared, peer, &GossipMessage::Syn(syn.clone()), None).await;
    }
}

/// Sets SCHEMA to the catalog's version when it moved on; whether it did.
fn announce_schema(gossip: &mut GossipState, schema: &crate::schema::SchemaService) -> bool {
    let version = format_uuid(&schema.version());
    let local = gossip.gossiper.local();
    let announced = gossip
        .gossiper
        .endpoint_state(local)
        .and_then(|s| s.get(ApplicationState::Schema));
    if announced == Some(version.as_str()) {
        return false;
    }
    gossip
        .gossiper
        .set_local_state(ApplicationState::Schema, version);
    true
}

/// After an exchange: when gossip reports changes, rebuild the snapshot and
/// act on it (peers table, client events, schema pulls).
pub(super) fn after_exchange(shared: &Arc<Shared>) {
    let old = shared.view.get();
    let rebuilt = {
        let mut gossip = shared.gossip();
        let changes = gossip.gossiper.take_events();
        if changes.is_empty() && !old.members.is_empty() {
            return;
        }
        let live = gossip.gossiper.live_members();
        let saved = shared.saved_peers.loaded();
        let view = old.rebuild(
            gossip.gossiper.endpoint_states(),
            live,
            saved,
            Instant::now(),
        );
        (changes, view)
    };
    let (changes, view) = rebuilt;
    shared.view.set(view);
    let view = shared.view.get();
    save_peers(shared, &view);
    shared.system_tables.set_peers(events::peer_infos(&view));
    events::publish(shared, &changes, &view);
    (shared.after_gossip)(shared, &view);
}

/// Saves the ring for the next start when its owners changed, off the
/// runtime (the save fsyncs).
fn save_peers(shared: &Arc<Shared>, view: &super::view::ClusterView) {
    let (members, local) = (view.members.clone(), view.local);
    let weak = Arc::downgrade(shared);
    // Nobody waits for the save: its task only hands the work on.
    tokio::spawn(::cluster::blocking::run(move || {
        if let Some(shared) = weak.upgrade() {
            shared.saved_peers.save(&members, local);
        }
    }));
}

/// Peers' clock offsets, and which of them are over the warning threshold.
#[derive(Debug)]
pub(crate) struct SkewState {
    estimates: ClockSkew,
    /// Peers whose skew was last seen over the threshold: warned about once
    /// per crossing, not every round.
    over: std::collections::BTreeSet<Endpoint>,
    warn_micros: i64,
}

impl SkewState {
    /// No estimates yet; warns above `warn_ms` milliseconds.
    pub(crate) fn new(warn_ms: i64) -> Self {
        SkewState {
            estimates: ClockSkew::new(),
            over: std::collections::BTreeSet::new(),
            warn_micros: warn_ms.saturating_mul(1000),
        }
    }

    /// Records a message from `peer`; logs when its estimate crosses the
    /// threshold either way.
    pub(crate) fn record(&mut self, peer: Endpoint, stamp: ClockStamp, now_micros: i64) {
        let Some(skew) = self.estimates.record(peer, stamp, now_micros) else {
            return;
        };
        let seconds = skew as f64 / 1e6;
        if skew.saturating_abs() > self.warn_micros {
            if self.over.insert(peer) {
                tracing::warn!(
                    %peer,
                    skew_seconds = seconds,
                    threshold_seconds = self.warn_micros as f64 / 1e6,
                    "clock skew with a peer is over the threshold: last-write-wins between \
                     their writes follows the clocks, not the order of the writes"
                );
            }
        } else if self.over.remove(&peer) {
            tracing::info!(%peer, skew_seconds = seconds, "clock skew with a peer is back under the threshold");
        }
    }

    /// Every peer's skew (this clock minus the peer's), µs.
    pub(crate) fn estimates(&self) -> Vec<(Endpoint, i64)> {
        self.estimates.estimates()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_over_the_threshold_from_crossing_it_until_back_under() {
        let peer: Endpoint = "127.0.0.2:7000".parse().expect("endpoint");
        let mut skew = SkewState::new(1_000);
        let at = |sent_micros| ClockStamp {
            sent_micros,
            echo_micros: None,
        };
        skew.record(peer, at(10_000_000), 10_500_000);
        assert!(skew.over.is_empty(), "0.5 s is under 1 s");
        skew.record(peer, at(10_000_000), 11_500_000);
        assert!(skew.over.contains(&peer));
        assert_eq!(skew.estimates(), vec![(peer, 1_500_000)]);
        skew.record(peer, at(20_000_000), 19_000_000);
        assert!(skew.over.is_empty(), "-1 s is not over 1 s");
    }
}
