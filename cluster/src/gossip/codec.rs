//! The byte form of gossip messages, so they can cross any
//! [`Transport`](crate::net::Transport).
//!
//! The layout follows Cassandra's serializers field for field (strings,
//! digests as address + generation + max version, states as heartbeat +
//! (ordinal, value, version) triples), big-endian, but it is Basalt's own
//! framing, not Cassandra's internode wire protocol. Unknown state ordinals
//! (from a newer node) are skipped, so states can be added without breaking
//! mixed-version clusters.
//!
//! After the message a versioned trailer may follow, carrying the sender's
//! wall clock ([`ClockStamp`]) for the skew estimate: a version byte (1), the
//! `sent` reading (i64 µs) and the `echo` reading (i64 µs, `i64::MIN` for
//! none). A message without it (from an older node) still decodes; a trailer
//! of a later version is read for its version 1 fields and the bytes a later
//! version appends are skipped, so fields can be added the same way.
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::exchange::{
    GossipDigest, GossipDigestAck, GossipDigestAck2, GossipDigestSyn, GossipMessage,
};
use super::skew::ClockStamp;
use super::state::{ApplicationState, EndpointState, HeartBeatState, VersionedValue};
use crate::net::{Endpoint, Message, Verb};

/// A gossip payload that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended inside a field.
    #[error("gossip message truncated")]
    Truncated,
    /// A field had an impossible value.
    #[error("malformed gossip message: {0}")]
    Malformed(&'static str),
    /// The verb is not a gossip verb.
    #[error("not a gossip verb: {0:?}")]
    NotGossip(Verb),
    /// Bytes were left over after the message.
    #[error("{0} trailing bytes after gossip message")]
    Trailing(usize),
}

impl GossipMessage {
    /// The verb this message travels under.
    pub fn verb(&self) -> Verb {
        match self {
            GossipMessage::Syn(_) => Verb::GOSSIP_DIGEST_SYN,
            GossipMessage::Ack(_) => Verb::GOSSIP_DIGEST_ACK,
            GossipMessage::Ack2(_) => Verb::GOSSIP_DIGEST_ACK2,
        }
    }

    /// Serializes this message into a transport [`Message`] with request `id`.
    pub fn to_message(&self, id: u64) -> Message {
        let mut out = Vec::new();
        match self {
            GossipMessage::Syn(syn) => {
                put_str(&mut out, &syn.cluster_name);
                put_str(&mut out, &syn.partitioner);
                put_digests(&mut out, &syn.digests);
            }
            GossipMessage::Ack(ack) => {
                put_digests(&mut out, &ack.digests);
                put_states(&mut out, &ack.states);
            }
            GossipMessage::Ack2(ack2) => put_states(&mut out, &ack2.states),
        }
        Message {
            verb: self.verb(),
            id,
            payload: out,
        }
    }

    /// As [`GossipMessage::to_message`], with the clock trailer after it.
    pub fn to_stamped_message(&self, id: u64, stamp: ClockStamp) -> Message {
        let mut message = self.to_message(id);
        let out = &mut message.payload;
        out.push(CLOCK_TRAILER_VERSION);
        out.extend_from_slice(&stamp.sent_micros.to_be_bytes());
        let echo = stamp.echo_micros.unwrap_or(NO_ECHO);
        out.extend_from_slice(&echo.to_be_bytes());
        message
    }

    /// Reads a gossip message from a transport [`Message`], ignoring any
    /// clock trailer.
    pub fn from_message(message: &Message) -> Result<Self, DecodeError> {
        Self::from_stamped_message(message).map(|(message, _)| message)
    }

    /// Reads a gossip message and its clock trailer, if it has one.
    pub fn from_stamped_message(
        message: &Message,
    ) -> Result<(Self, Option<ClockStamp>), DecodeError> {
        let mut r = Reader(&message.payload);
        let msg = match message.verb {
            Verb::GOSSIP_DIGEST_SYN => GossipMessage::Syn(GossipDigestSyn {
                cluster_name: r.string()?,
                partitioner: r.string()?,
                digests: r.digests()?,
            }),
            Verb::GOSSIP_DIGEST_ACK => GossipMessage::Ack(GossipDigestAck {
                digests: r.digests()?,
                states: r.states()?,
            }),
            Verb::GOSSIP_DIGEST_ACK2 => GossipMessage::Ack2(GossipDigestAck2 {
                states: r.states()?,
            }),
            other => return Err(DecodeError::NotGossip(other)),
        };
        if r.0.is_empty() {
            return Ok((msg, None));
        }
        let stamp = r.clock_trailer()?;
        Ok((msg, Some(stamp)))
    }
}

/// The clock trailer's version this build writes.
const CLOCK_TRAILER_VERSION: u8 = 1;
/// The `echo` of a message that answers nothing.
const NO_ECHO: i64 = i64::MIN;

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths beyond u32 cannot occur in a gossip message (states are a few
    // KiB); saturating keeps the encoder total, and the decoder then fails.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_endpoint(out: &mut Vec<u8>, e: &Endpoint) {
    match e.ip() {
        IpAddr::V4(ip) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(16);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&e.port().to_be_bytes());
}

fn put_digests(out: &mut Vec<u8>, digests: &[GossipDigest]) {
    put_len(out, digests.len());
    for d in digests {
        put_endpoint(out, &d.endpoint);
        out.extend_from_slice(&d.generation.to_be_bytes());
        out.extend_from_slice(&d.max_version.to_be_bytes());
    }
}

fn put_states(out: &mut Vec<u8>, states: &BTreeMap<Endpoint, EndpointState>) {
    put_len(out, states.len());
    for (endpoint, state) in states {
        put_endpoint(out, endpoint);
        out.extend_from_slice(&state.heartbeat.generation.to_be_bytes());
        out.extend_from_slice(&state.heartbeat.version.to_be_bytes());
        put_len(out, state.states.len());
        for (key, value) in &state.states {
            out.extend_from_slice(&key.ordinal().to_be_bytes());
            put_str(out, &value.value);
            out.extend_from_slice(&value.version.to_be_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take()?))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take()?))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take()?))
    }

    /// The clock trailer: version 1's fields; a later version's extra bytes
    /// are skipped, extra bytes after version 1 are an error.
    fn clock_trailer(&mut self) -> Result<ClockStamp, DecodeError> {
        let [version] = self.take::<1>()?;
        if version == 0 {
            return Err(DecodeError::Malformed("clock trailer version 0"));
        }
        let sent_micros = self.i64()?;
        let echo = self.i64()?;
        let stamp = ClockStamp {
            sent_micros,
            echo_micros: (echo != NO_ECHO).then_some(echo),
        };
        match (version, self.0.len()) {
            (CLOCK_TRAILER_VERSION, n) if n > 0 => Err(DecodeError::Trailing(n)),
            _ => {
                self.0 = &[];
                Ok(stamp)
            }
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = usize::try_from(self.u32()?).map_err(|_| DecodeError::Truncated)?;
        if len > self.0.len() {
            return Err(DecodeError::Truncated);
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Malformed("string is not UTF-8"))
    }

    fn endpoint(&mut self) -> Result<Endpoint, DecodeError> {
        let ip = match self.take::<1>()?[0] {
            4 => IpAddr::V4(Ipv4Addr::from(self.take::<4>()?)),
            16 => IpAddr::V6(Ipv6Addr::from(self.take::<16>()?)),
            _ => return Err(DecodeError::Malformed("address length")),
        };
        Ok(Endpoint::new(ip, u16::from_be_bytes(self.take()?)))
    }

    fn digests(&mut self) -> Result<Vec<GossipDigest>, DecodeError> {
        // No capacity from the count: a corrupt count must not allocate.
        let mut out = Vec::new();
        for _ in 0..self.u32()? {
            out.push(GossipDigest {
                endpoint: self.endpoint()?,
                generation: self.i32()?,
                max_version: self.i32()?,
            });
        }
        Ok(out)
    }

    fn states(&mut self) -> Result<BTreeMap<Endpoint, EndpointState>, DecodeError> {
        let mut out = BTreeMap::new();
        for _ in 0..self.u32()? {
            let endpoint = self.endpoint()?;
            let heartbeat = HeartBeatState {
                generation: self.i32()?,
                version: self.i32()?,
            };
            let mut state = EndpointState::new(heartbeat);
            for _ in 0..self.u32()? {
                let ordinal = self.u32()?;
                let value = VersionedValue {
                    value: self.string()?,
                    version: self.i32()?,
                };
                if let Some(key) = ApplicationState::from_ordinal(ordinal) {
                    state.states.insert(key, value);
                }
            }
            out.insert(endpoint, state);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
