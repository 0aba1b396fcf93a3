//! Clock skew between nodes, estimated from the wall-clock readings gossip
//! messages carry.
//!
//! Every gossip message may carry a [`ClockStamp`]: the sender's wall clock
//! when it sent it and, in a reply (ACK answering a SYN, ACK2 answering an
//! ACK), the `sent` reading of the message it answers, echoed back. The
//! receiver of a reply then knows when it sent the request (`t0`, its own
//! clock), when the peer answered (`t1`, the peer's clock) and when the answer
//! arrived (`t2`); assuming the peer read its clock half-way through the round
//! trip, the offset is `(t0 + t2) / 2 - t1`, wrong by at most half the round
//! trip. A message without an echo (a SYN) only gives `t2 - t1`, which also
//! counts the one-way delay, so it is used only until a round trip is seen.
//!
//! [`ClockSkew`] keeps the last few samples per peer and reports the one with
//! the shortest round trip, as NTP's clock filter does: the shortest round
//! trip bounds the error most tightly. The offset is the receiver's clock
//! minus the peer's: positive when the peer runs behind. Pure logic: the
//! caller passes its wall clock's reading in.

use std::collections::{BTreeMap, VecDeque};

use crate::net::Endpoint;

/// The wall-clock readings one gossip message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStamp {
    /// The sender's wall clock when it sent the message, µs since the epoch.
    pub sent_micros: i64,
    /// In a reply: the `sent_micros` of the message it answers (a reading of
    /// the receiver's own clock, echoed back), so the receiver sees the round
    /// trip. `None` in a message that answers nothing.
    pub echo_micros: Option<i64>,
}

/// One measurement of a peer's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkewSample {
    /// The receiver's clock minus the peer's, µs.
    pub offset_micros: i64,
    /// The round trip the sample spans, when it came with an echo; `None` for
    /// a one-way sample (the offset then includes the one-way delay).
    pub round_trip_micros: Option<i64>,
}

impl SkewSample {
    /// The sample a message stamped `stamp` gives when it arrives at
    /// `now_micros` on the receiver's clock. An echo from the receiver's
    /// future (its clock stepped back meanwhile) gives a one-way sample.
    pub fn new(stamp: ClockStamp, now_micros: i64) -> SkewSample {
        match stamp.echo_micros {
            Some(t0) if t0 <= now_micros => {
                let round_trip = now_micros.saturating_sub(t0);
                let midpoint = t0.saturating_add(round_trip / 2);
                SkewSample {
                    offset_micros: midpoint.saturating_sub(stamp.sent_micros),
                    round_trip_micros: Some(round_trip),
                }
            }
            _ => SkewSample {
                offset_micros: now_micros.saturating_sub(stamp.sent_micros),
                round_trip_micros: None,
            },
        }
    }
}

/// Samples kept per peer: the last few rounds (a round a second).
const SAMPLES_PER_PEER: usize = 8;
/// Peers tracked at most; samples from further ones are ignored. Far above
/// any cluster size, it only bounds what a flood of forged senders can take.
const MAX_PEERS: usize = 4096;

/// The estimated offset of each peer's clock.
#[derive(Debug, Default)]
pub struct ClockSkew {
    peers: BTreeMap<Endpoint, VecDeque<SkewSample>>,
}

impl ClockSkew {
    /// No estimates yet.
    pub fn new() -> Self {
        ClockSkew::default()
    }

    /// Records what a message from `peer` stamped `stamp` tells, arriving at
    /// `now_micros`; returns the peer's estimate after it.
    pub fn record(&mut self, peer: Endpoint, stamp: ClockStamp, now_micros: i64) -> Option<i64> {
        if self.peers.len() >= MAX_PEERS && !self.peers.contains_key(&peer) {
            return None;
        }
        let samples = self.peers.entry(peer).or_default();
        if samples.len() == SAMPLES_PER_PEER {
            samples.pop_front();
        }
        samples.push_back(SkewSample::new(stamp, now_micros));
        self.estimate(peer)
    }

    /// `peer`'s offset (this clock minus the peer's, µs): of the samples
    /// kept, the one with the shortest round trip, else the latest one-way.
    pub fn estimate(&self, peer: Endpoint) -> Option<i64> {
        let samples = self.peers.get(&peer)?;
        let best = samples
            .iter()
            .filter_map(|s| s.round_trip_micros.map(|rtt| (rtt, s.offset_micros)))
            .min_by_key(|(rtt, _)| *rtt);
        match best {
            Some((_, offset)) => Some(offset),
            None => samples.back().map(|s| s.offset_micros),
        }
    }

    /// Every peer's estimate, by endpoint.
    pub fn estimates(&self) -> Vec<(Endpoint, i64)> {
        self.peers
            .keys()
            .filter_map(|&p| self.estimate(p).map(|e| (p, e)))
            .collect()
    }

    /// Forgets `peer` (it left the cluster).
    pub fn forget(&mut self, peer: Endpoint) {
        self.peers.remove(&peer);
    }
}

#[cfg(test)]
mod tests;
