//! v4 body compression: LZ4 as the spec defines it, a 4-byte big-endian uncompressed
//! length followed by one LZ4 block.
//!
//! Snappy is not offered: drivers only pick what SUPPORTED advertises.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::frame::{DEFAULT_MAX_FRAME_LENGTH, Flags, Frame};

/// The body compression a connection negotiated in STARTUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Bodies are sent as they are; a frame with the compression flag is an error.
    #[default]
    None,
    /// `COMPRESSION: lz4`.
    Lz4,
}

impl Compression {
    /// The STARTUP option value naming this algorithm, if any.
    pub fn startup_name(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Lz4 => Some("lz4"),
        }
    }

    /// The algorithm a STARTUP `COMPRESSION` value names; `None` if we do not offer it.
    pub fn from_startup_name(name: &str) -> Option<Self> {
        name.eq_ignore_ascii_case("lz4").then_some(Self::Lz4)
    }
}

/// Compresses `body` into the v4 LZ4 layout.
pub fn compress_lz4(body: &[u8]) -> Result<Bytes> {
    let length = u32::try_from(body.len()).map_err(|_| Error::TooLong {
        what: "compressed body",
        length: body.len(),
    })?;
    let block = lz4_flex::block::compress(body);
    let mut out = BytesMut::with_capacity(4 + block.len());
    out.put_u32(length);
    out.put_slice(&block);
    Ok(out.freeze())
}

/// Decompresses a v4 LZ4 body, refusing one that claims to be longer than `max_length`
/// before allocating for it.
pub fn decompress_lz4(body: &[u8], max_length: u32) -> Result<Bytes> {
    let Some((prefix, block)) = body.split_first_chunk::<4>() else {
        return Err(Error::Truncated {
            what: "LZ4 length prefix",
            needed: 4,
            remaining: body.len(),
        });
    };
    let length = u32::from_be_bytes(*prefix);
    if length > max_length {
        return Err(Error::Decompression {
            reason: format!("uncompressed length {length} exceeds maximum {max_length}"),
        });
    }
    let expected = length as usize;
    let out = lz4_flex::block::decompress(block, expected).map_err(|e| Error::Decompression {
        reason: e.to_string(),
    })?;
    if out.len() != expected {
        return Err(Error::Decompression {
            reason: format!("announced {expected} bytes, got {}", out.len()),
        });
    }
    Ok(Bytes::from(out))
}

/// What a connection negotiated that decoding and encoding bodies must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecOptions {
    /// The STARTUP-negotiated compression (none until STARTUP was answered).
    pub compression: Compression,
    /// The cap on a body, compressed or not; see [`crate::FrameDecoder`].
    pub max_frame_length: u32,
}

impl Default for CodecOptions {
    fn default() -> Self {
        Self {
            compression: Compression::None,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl CodecOptions {
    /// The frame's body, decompressed if its flag says so.
    pub(crate) fn open(&self, frame: &Frame) -> Result<Bytes> {
        if !frame.flags.contains(Flags::COMPRESSION) {
            return Ok(frame.body.clone());
        }
        match self.compression {
            Compression::None => Err(Error::CompressionNotNegotiated),
            Compression::Lz4 => decompress_lz4(&frame.body, self.max_frame_length),
        }
    }

    /// Compresses `body` if `allowed` and compression was negotiated, setting the flag.
    pub(crate) fn seal(&self, body: Bytes, flags: &mut Flags, allowed: bool) -> Result<Bytes> {
        match self.compression {
            Compression::Lz4 if allowed => {
                flags.set(Flags::COMPRESSION, true);
                compress_lz4(&body)
            }
            _ => Ok(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_prefix() {
        let body = b"SELECT * FROM system.local WHERE key='local'".repeat(10);
        let compressed = compress_lz4(&body).unwrap();
        assert_eq!(&compressed[..4], &(body.len() as u32).to_be_bytes());
        assert!(compressed.len() < body.len());
        assert_eq!(decompress_lz4(&compressed, 1 << 20).unwrap(), body);
        assert_eq!(
            decompress_lz4(&compress_lz4(b"").unwrap(), 0).unwrap(),
            Bytes::new()
        );
    }

    #[test]
    fn refuses_bombs_and_lies() {
        let compressed = compress_lz4(&[7u8; 1000]).unwrap();
        assert!(matches!(
            decompress_lz4(&compressed, 999),
            Err(Error::Decompression { .. })
        ));
        let mut lying = compressed.to_vec();
        lying[3] = lying[3].wrapping_add(1);
        assert!(decompress_lz4(&lying, 1 << 20).is_err());
        assert!(decompress_lz4(&[0, 0], 10).is_err());
    }
}
