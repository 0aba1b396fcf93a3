//! The internode wire format: one versioned, checksummed frame per message,
//! and a sans-IO decoder over a growing buffer.
//!
//! Layout (big-endian), 24 header bytes then the payload:
//!
//! ```text
//! 0..4   magic "BSLT"         catches a client speaking another protocol
//! 4      protocol version     PROTOCOL_VERSION; anything else is refused
//! 5      flags                low 2 bits: the FrameKind; other bits zero
//! 6..8   verb (u16)
//! 8..16  message id (u64)
//! 16..20 payload length (u32) at most the decoder's cap (16 MiB default)
//! 20..24 CRC32C               over bytes 0..20 and then the payload
//! ```
//!
//! The checksum covers the header as well as the payload, so a flipped bit
//! in the verb or id cannot route a message to the wrong handler or request.
//! Every decode error is fatal to its connection: after a bad frame the
//! stream position is unknown, so the reader closes the connection and the
//! sender reconnects.
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Endpoint, Message, MessageKind, Verb};

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"BSLT";
/// The frame layout version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;
/// The default cap on a payload: 16 MiB, Cassandra's default too.
pub const DEFAULT_MAX_PAYLOAD: u32 = 16 * 1024 * 1024;

const KIND_MASK: u8 = 0b11;

/// What a frame carries; the flags byte on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A request that wants a reply.
    Request,
    /// A reply to a request.
    Response,
    /// A message that wants no reply.
    OneWay,
    /// The first frame on a connection: the sender's listen address, so the
    /// receiver knows whom inbound messages are from and where replies go.
    Handshake,
}

impl FrameKind {
    fn to_flags(self) -> u8 {
        match self {
            FrameKind::Request => 0,
            FrameKind::Response => 1,
            FrameKind::OneWay => 2,
            FrameKind::Handshake => 3,
        }
    }

    fn from_flags(flags: u8) -> Result<FrameKind, FrameError> {
        if flags & !KIND_MASK != 0 {
            return Err(FrameError::BadFlags(flags));
        }
        Ok(match flags & KIND_MASK {
            0 => FrameKind::Request,
            1 => FrameKind::Response,
            2 => FrameKind::OneWay,
            _ => FrameKind::Handshake,
        })
    }
}

impl From<MessageKind> for FrameKind {
    fn from(kind: MessageKind) -> FrameKind {
        match kind {
            MessageKind::Request => FrameKind::Request,
            MessageKind::Response => FrameKind::Response,
            MessageKind::OneWay => FrameKind::OneWay,
        }
    }
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the frame carries.
    pub kind: FrameKind,
    /// The message's verb (zero in a handshake).
    pub verb: Verb,
    /// The message's id (zero in a handshake).
    pub id: u64,
    /// The body.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The frame that carries `message`, its kind read off verb and id.
    pub fn from_message(message: Message) -> Frame {
        Frame {
            kind: MessageKind::of(&message).into(),
            verb: message.verb,
            id: message.id,
            payload: message.payload,
        }
    }

    /// The message this frame carries.
    pub fn into_message(self) -> Message {
        Message {
            verb: self.verb,
            id: self.id,
            payload: self.payload,
        }
    }

    /// A handshake announcing `listen` as the sender's address.
    pub fn handshake(listen: Endpoint) -> Frame {
        Frame {
            kind: FrameKind::Handshake,
            verb: Verb(0),
            id: 0,
            payload: encode_endpoint(listen),
        }
    }
}

/// Why bytes are not a valid frame. Every variant closes the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The stream does not start with [`MAGIC`].
    #[error("bad frame magic {0:02x?}")]
    BadMagic(Vec<u8>),
    /// The peer speaks another frame version.
    #[error("unsupported internode protocol version {0}")]
    UnsupportedVersion(u8),
    /// Reserved flag bits are set.
    #[error("bad frame flags {0:#04x}")]
    BadFlags(u8),
    /// The payload is longer than the configured cap.
    #[error("frame payload of {len} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// The announced (or attempted) length.
        len: u64,
        /// The cap.
        max: u32,
    },
    /// The checksum does not match the bytes.
    #[error("frame checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes received.
        computed: u32,
    },
    /// A handshake payload that is not an address.
    #[error("malformed handshake")]
    BadHandshake,
}

/// Appends the encoding of a frame to `out`; refuses payloads over `max_payload`.
pub fn encode(
    out: &mut Vec<u8>,
    kind: FrameKind,
    verb: Verb,
    id: u64,
    payload: &[u8],
    max_payload: u32,
) -> Result<(), FrameError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= max_payload)
        .ok_or(FrameError::TooLarge {
            len: payload.len() as u64,
            max: max_payload,
        })?;
    let start = out.len();
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(PROTOCOL_VERSION);
    out.push(kind.to_flags());
    out.extend_from_slice(&verb.0.to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    let header = out.get(start..).unwrap_or_default();
    let crc = crc32c::crc32c_append(crc32c::crc32c(header), payload);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Appends the encoding of `frame` to `out`.
pub fn encode_frame(out: &mut Vec<u8>, frame: &Frame, max_payload: u32) -> Result<(), FrameError> {
    encode(
        out,
        frame.kind,
        frame.verb,
        frame.id,
        &frame.payload,
        max_payload,
    )
}

/// Splits frames off the front of a buffer that grows as bytes arrive.
///
/// Stateless apart from its cap: the caller owns the buffer and advances past
/// each decoded frame, so the same decoder serves any reader.
#[derive(Clone, Copy, Debug)]
pub struct FrameDecoder {
    max_payload: u32,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_PAYLOAD)
    }
}

impl FrameDecoder {
    /// A decoder that refuses payloads longer than `max_payload` bytes.
    pub fn new(max_payload: u32) -> Self {
        FrameDecoder { max_payload }
    }

    /// The payload cap.
    pub fn max_payload(&self) -> u32 {
        self.max_payload
    }

    /// Decodes the frame at the start of `buf`.
    ///
    /// `Ok(Some((frame, n)))`: a frame that used the first `n` bytes.
    /// `Ok(None)`: `buf` holds only part of a frame; read more. An error is
    /// reported as soon as the bytes seen prove it (a bad magic after one
    /// byte, an oversized length as soon as the header is in), so a reader
    /// never buffers more than one header plus the cap.
    pub fn decode(&self, buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let seen = buf.iter().zip(MAGIC).take_while(|(b, m)| *b == m).count();
        if seen < MAGIC.len() && seen < buf.len() {
            let shown = buf.len().min(MAGIC.len());
            return Err(FrameError::BadMagic(
                buf.get(..shown).unwrap_or_default().to_vec(),
            ));
        }
        if let Some(&version) = buf.get(4)
            && version != PROTOCOL_VERSION
        {
            return Err(FrameError::UnsupportedVersion(version));
        }
        let Some(header) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let kind = FrameKind::from_flags(field::<1>(header, 5)[0])?;
        let len = u32::from_be_bytes(field(header, 16));
        if len > self.max_payload {
            return Err(FrameError::TooLarge {
                len: u64::from(len),
                max: self.max_payload,
            });
        }
        let total = HEADER_LEN + len as usize;
        let Some(payload) = buf.get(HEADER_LEN..total) else {
            return Ok(None);
        };
        let stored = u32::from_be_bytes(field(header, 20));
        let covered = header.get(..20).unwrap_or_default();
        let computed = crc32c::crc32c_append(crc32c::crc32c(covered), payload);
        if stored != computed {
            return Err(FrameError::Checksum { stored, computed });
        }
        let frame = Frame {
            kind,
            verb: Verb(u16::from_be_bytes(field(header, 6))),
            id: u64::from_be_bytes(field(header, 8)),
            payload: payload.to_vec(),
        };
        Ok(Some((frame, total)))
    }
}

/// `N` bytes of `header` at `at`; the header is exactly [`HEADER_LEN`] long
/// and every caller reads inside it, so the fallback zeros are unreachable.
fn field<const N: usize>(header: &[u8], at: usize) -> [u8; N] {
    header
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// An address as a handshake payload: family (4 or 6), address bytes, port.
pub fn encode_endpoint(endpoint: Endpoint) -> Vec<u8> {
    let mut out = Vec::with_capacity(19);
    match endpoint.ip() {
        IpAddr::V4(ip) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(6);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&endpoint.port().to_be_bytes());
    out
}

/// Reads [`encode_endpoint`]'s output; the whole payload must be used.
pub fn decode_endpoint(bytes: &[u8]) -> Result<Endpoint, FrameError> {
    let (ip, rest): (IpAddr, &[u8]) = match bytes.split_first() {
        Some((4, rest)) if rest.len() == 6 => (Ipv4Addr::from(field::<4>(rest, 0)).into(), rest),
        Some((6, rest)) if rest.len() == 18 => (Ipv6Addr::from(field::<16>(rest, 0)).into(), rest),
        _ => return Err(FrameError::BadHandshake),
    };
    let port_at = rest.len() - 2;
    Ok(Endpoint::new(ip, u16::from_be_bytes(field(rest, port_at))))
}

#[cfg(test)]
mod tests;
