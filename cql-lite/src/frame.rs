//! The v4 frame: a 9-byte header and a body, decoded from a growing buffer.
//!
//! ```text
//! 0         1       2    3    4        5    6    7    8
//! +---------+-------+---------+--------+-------------------+
//! | version | flags | stream  | opcode | length            |
//! +---------+-------+---------+--------+-------------------+
//! ```
//!
//! The decoder is sans-IO: the caller appends whatever the socket gave to a `BytesMut`
//! and calls [`FrameDecoder::decode`] until it returns `Ok(None)`.
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::opcode::Opcode;

/// The only protocol version this codec speaks.
pub const PROTOCOL_VERSION: u8 = 4;
/// Bytes in a v3/v4 header.
pub const HEADER_LENGTH: usize = 9;
/// Cassandra's `native_transport_max_frame_size` default, 16 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: u32 = 16 * 1024 * 1024;
/// The version byte's direction bit: set on responses.
const RESPONSE_BIT: u8 = 0x80;
/// ERROR code for a protocol error.
const PROTOCOL_ERROR_CODE: i32 = 0x000A;

/// The header's flags byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(u8);

impl Flags {
    /// The body is compressed with the negotiated algorithm.
    pub const COMPRESSION: Self = Self(0x01);
    /// Request: trace this query. Response: the body starts with the tracing `[uuid]`.
    pub const TRACING: Self = Self(0x02);
    /// A `[bytes map]` custom payload precedes the message body.
    pub const CUSTOM_PAYLOAD: Self = Self(0x04);
    /// Response only: a `[string list]` of warnings precedes the message body.
    pub const WARNING: Self = Self(0x08);
    /// v5's USE_BETA; carried through, meaningless in v4.
    pub const USE_BETA: Self = Self(0x10);

    /// Flags from the raw byte; unknown bits are kept so they can be ignored, not lost.
    pub fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The raw byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: Self, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
}

/// One frame with its body still encoded (and possibly compressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The direction bit: responses travel server to client.
    pub is_response: bool,
    /// The header flags.
    pub flags: Flags,
    /// The stream id; the server echoes the request's, events use -1.
    pub stream: i16,
    /// The message type.
    pub opcode: Opcode,
    /// The body, exactly `length` bytes.
    pub body: Bytes,
}

impl Frame {
    /// Appends header and body to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        let length = u32::try_from(self.body.len()).map_err(|_| Error::TooLong {
            what: "frame body",
            length: self.body.len(),
        })?;
        dst.reserve(HEADER_LENGTH + self.body.len());
        let direction = if self.is_response { RESPONSE_BIT } else { 0 };
        dst.put_u8(PROTOCOL_VERSION | direction);
        dst.put_u8(self.flags.bits());
        dst.put_i16(self.stream);
        dst.put_u8(self.opcode.byte());
        dst.put_u32(length);
        dst.put_slice(&self.body);
        Ok(())
    }

    /// The frame's bytes, header first.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut dst = BytesMut::new();
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }
}

/// Splits frames off a growing buffer.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_length: u32,
    /// Body bytes of an oversized frame still to be thrown away.
    discarding: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the 16 MiB default limit.
    pub fn new() -> Self {
        Self::with_max_frame_length(DEFAULT_MAX_FRAME_LENGTH)
    }

    /// A decoder that refuses bodies longer than `max_frame_length` bytes.
    pub fn with_max_frame_length(max_frame_length: u32) -> Self {
        Self {
            max_frame_length,
            discarding: 0,
        }
    }

    /// The configured limit (also the cap on a decompressed body).
    pub fn max_frame_length(&self) -> u32 {
        self.max_frame_length
    }

    /// Takes the next frame off the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed; nothing was consumed except the remains of
    /// an oversized frame. After [`Error::FrameTooLarge`] or [`Error::UnknownOpcode`] the
    /// offending frame is (or will be) skipped and decoding can go on; after
    /// [`Error::UnsupportedVersion`] it cannot (see [`Error::is_fatal`]).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>> {
        if !self.discard(buf) {
            return Ok(None);
        }
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let version = first & !RESPONSE_BIT;
        if version != PROTOCOL_VERSION {
            return match foreign_stream(version, buf) {
                Some(stream) => Err(Error::UnsupportedVersion { version, stream }),
                None => Ok(None),
            };
        }
        let Some(header) = buf.first_chunk::<HEADER_LENGTH>() else {
            return Ok(None);
        };
        let stream = i16::from_be_bytes([header[2], header[3]]);
        let length = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
        if length > self.max_frame_length {
            // Refuse before buffering the body; skip it as it arrives so the stream stays framed.
            buf.advance(HEADER_LENGTH);
            self.discarding = length as usize;
            self.discard(buf);
            return Err(Error::FrameTooLarge {
                stream,
                length,
                max: self.max_frame_length,
            });
        }
        let total = HEADER_LENGTH + length as usize;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let (flags, opcode) = (header[1], header[4]);
        let body = buf.split_to(total).freeze().slice(HEADER_LENGTH..);
        let opcode = Opcode::from_byte(opcode).ok_or(Error::UnknownOpcode { stream, opcode })?;
        Ok(Some(Frame {
            is_response: first & RESPONSE_BIT != 0,
            flags: Flags::from_bits(flags),
            stream,
            opcode,
            body,
        }))
    }

    /// Drops pending oversized-frame bytes; true once none are pending.
    fn discard(&mut self, buf: &mut BytesMut) -> bool {
        let n = self.discarding.min(buf.len());
        buf.advance(n);
        self.discarding -= n;
        self.discarding == 0
    }
}

/// The stream id of a frame in another version's header layout, once enough bytes arrived:
/// v1 and v2 have a one-byte stream at offset 2, v3 and later two bytes.
fn foreign_stream(version: u8, buf: &[u8]) -> Option<i16> {
    if version <= 2 {
        buf.get(2).map(|b| i16::from(i8::from_be_bytes([*b])))
    } else {
        buf.get(2..4)
            .and_then(|b| b.try_into().ok())
            .map(i16::from_be_bytes)
    }
}

/// An ERROR 0x000A (Protocol error) response on `stream`.
///
/// The message is cut at 65535 bytes (on a character boundary) to fit its `[string]`.
pub fn protocol_error_frame(stream: i16, message: &str) -> Frame {
    let mut end = message.len().min(usize::from(u16::MAX));
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = message.get(..end).unwrap_or_default().as_bytes();
    let mut body = BytesMut::with_capacity(6 + message.len());
    body.put_i32(PROTOCOL_ERROR_CODE);
    body.put_u16(end as u16);
    body.put_slice(message);
    Frame {
        is_response: true,
        flags: Flags::default(),
        stream,
        opcode: Opcode::Error,
        body: body.freeze(),
    }
}

/// The answer drivers expect to a frame of another protocol version: ERROR 0x000A on the
/// same stream, in a v4 (0x84) header, whose message contains `unsupported protocol version`.
/// Drivers then retry with a lower version on a new connection (clients.md §0.1).
pub fn unsupported_version_frame(version: u8, stream: i16) -> Frame {
    let message = Error::UnsupportedVersion { version, stream }.to_string();
    protocol_error_frame(stream, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(version: u8, stream: i16) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u8(version);
        b.put_u8(0);
        b.put_i16(stream);
        b.put_slice(&[0x05, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn decodes_byte_by_byte() {
        let frame = Frame {
            is_response: false,
            flags: Flags::TRACING,
            stream: 300,
            opcode: Opcode::Query,
            body: Bytes::from_static(b"abc"),
        };
        let wire = frame.to_bytes().unwrap();
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            assert_eq!(decoder.decode(&mut buf).unwrap(), None, "at byte {i}");
            buf.put_u8(*byte);
        }
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(frame));
        assert!(buf.is_empty());
    }

    #[test]
    fn foreign_versions_name_their_stream() {
        let mut decoder = FrameDecoder::new();
        for (version, stream) in [(0x42u8, 0i16), (0x41, 7), (0x05, -3), (0x03, 9)] {
            let err = decoder.decode(&mut options(version, stream)).unwrap_err();
            assert_eq!(err, Error::UnsupportedVersion { version, stream });
            assert!(err.is_fatal());
        }
        let mut v2 = BytesMut::from(&[0x02u8, 0x00, 0x05][..]);
        assert_eq!(
            decoder.decode(&mut v2).unwrap_err(),
            Error::UnsupportedVersion {
                version: 2,
                stream: 5
            }
        );
        assert_eq!(
            decoder
                .decode(&mut BytesMut::from(&[0x42u8, 0][..]))
                .unwrap(),
            None
        );
    }

    #[test]
    fn version_error_frame_matches_what_drivers_parse() {
        let frame = unsupported_version_frame(0x42, 0);
        let wire = frame.to_bytes().unwrap();
        assert_eq!(&wire[..5], &[0x84, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(&wire[9..13], &[0, 0, 0, 0x0A]);
        let message = std::str::from_utf8(&wire[15..]).unwrap();
        assert_eq!(
            message,
            "Invalid or unsupported protocol version (66); supported versions are (3/v3, 4/v4)"
        );
        assert!(
            message
                .to_lowercase()
                .contains("unsupported protocol version")
        );
    }

    #[test]
    fn oversized_frame_is_refused_then_skipped() {
        let mut decoder = FrameDecoder::with_max_frame_length(4);
        let big = Frame {
            is_response: false,
            flags: Flags::default(),
            stream: 2,
            opcode: Opcode::Query,
            body: Bytes::from_static(b"0123456789"),
        };
        let wire = big.to_bytes().unwrap();
        let mut buf = BytesMut::from(&wire[..12]);
        assert_eq!(
            decoder.decode(&mut buf).unwrap_err(),
            Error::FrameTooLarge {
                stream: 2,
                length: 10,
                max: 4
            }
        );
        assert!(
            buf.capacity() < 1024,
            "no allocation for the announced body"
        );
        buf.put_slice(&wire[12..]);
        buf.put_slice(&options(4, 3));
        let next = decoder.decode(&mut buf).unwrap().unwrap();
        assert_eq!((next.stream, next.opcode), (3, Opcode::Options));
    }

    #[test]
    fn unknown_opcode_consumes_the_frame() {
        let mut buf = options(4, 1);
        buf[4] = 0x04;
        buf.put_slice(&options(4, 2));
        let mut decoder = FrameDecoder::new();
        assert_eq!(
            decoder.decode(&mut buf).unwrap_err(),
            Error::UnknownOpcode {
                stream: 1,
                opcode: 4
            }
        );
        assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().stream, 2);
    }

    #[test]
    fn protocol_error_message_is_cut_on_a_char_boundary() {
        let long = "é".repeat(40_000);
        let frame = protocol_error_frame(1, &long);
        let n = usize::from(u16::from_be_bytes([frame.body[4], frame.body[5]]));
        assert_eq!(n, 65_534);
        assert!(std::str::from_utf8(&frame.body[6..]).is_ok());
    }
}
