//! The file-level format: names, the footer, and the framing of data blocks.
//!
//! Everything here is little-endian. Each component carries a CRC32C, so a flipped
//! byte anywhere is reported as `Error::Corrupt` naming the component, never read as data.
#![deny(clippy::indexing_slicing)]

use crate::codec::Reader;
use crate::error::Error;
use std::path::{Path, PathBuf};

/// The format version written by this build (stored in the footer).
pub const FORMAT_VERSION: u32 = 1;

/// The last 8 bytes of every SSTable.
pub(super) const MAGIC: [u8; 8] = *b"BSLTSST1";

/// The footer's fixed size.
pub(super) const FOOTER_LEN: usize = 80;

/// Block frame kinds: the first byte of a block on disk.
pub(super) const BLOCK_RAW: u8 = 0;
pub(super) const BLOCK_LZ4: u8 = 1;

/// Bytes a frame adds around a block's payload: the kind byte and the CRC32C.
pub(super) const FRAME_OVERHEAD: usize = 5;

pub(super) const COMPONENT_DATA: &str = "data block";
pub(super) const COMPONENT_INDEX: &str = "index";
pub(super) const COMPONENT_BLOOM: &str = "bloom filter";
pub(super) const COMPONENT_STATS: &str = "statistics";
pub(super) const COMPONENT_FOOTER: &str = "footer";

const PREFIX: &str = "sst-";
const SUFFIX: &str = ".db";
const TEMP_SUFFIX: &str = ".db.tmp";

/// `sst-<generation as 20 digits>.db`: fixed width so names sort like generations.
pub(super) fn file_name(generation: u64) -> String {
    format!("{PREFIX}{generation:020}{SUFFIX}")
}

pub(super) fn temp_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{generation:020}{TEMP_SUFFIX}"))
}

/// The generation of a final file name, `None` for anything else.
pub(super) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(super) fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|d| d.len() == 20 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Builds a corruption error.
pub(super) fn corrupt(
    file: &Path,
    component: &'static str,
    offset: u64,
    reason: impl Into<String>,
) -> Error {
    Error::Corrupt {
        file: file.to_path_buf(),
        component,
        offset,
        reason: reason.into(),
    }
}

/// Where one metadata component lies, and its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct Extent {
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) crc: u32,
}

/// The footer: locates the index, bloom filter and statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Footer {
    pub(super) version: u32,
    pub(super) index: Extent,
    pub(super) bloom: Extent,
    pub(super) stats: Extent,
}

impl Footer {
    pub(super) fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for e in [self.index, self.bloom, self.stats] {
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.len.to_le_bytes());
        }
        for e in [self.index, self.bloom, self.stats] {
            out.extend_from_slice(&e.crc.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MAGIC);
        let mut fixed = [0u8; FOOTER_LEN];
        fixed.copy_from_slice(&out);
        fixed
    }

    /// Decodes and checks the footer of a file of `file_len` bytes.
    pub(super) fn decode(buf: &[u8; FOOTER_LEN], file_len: u64) -> Result<Footer, String> {
        if buf[FOOTER_LEN - 8..] != MAGIC {
            return Err("bad magic: not a Basalt SSTable, or truncated".into());
        }
        let body = &buf[..FOOTER_LEN - 12];
        let mut r = Reader::new(&buf[FOOTER_LEN - 12..]);
        let stored = r.u32().map_err(|e| e.0)?;
        if crc32c::crc32c(body) != stored {
            return Err("footer checksum mismatch".into());
        }
        let mut r = Reader::new(body);
        let version = r.u32().map_err(|e| e.0)?;
        if version != FORMAT_VERSION {
            return Err(format!("unsupported format version {version}"));
        }
        let _flags = r.u32().map_err(|e| e.0)?;
        let mut ext = [Extent::default(); 3];
        for e in &mut ext {
            e.offset = r.u64().map_err(|e| e.0)?;
            e.len = r.u64().map_err(|e| e.0)?;
        }
        for e in &mut ext {
            e.crc = r.u32().map_err(|e| e.0)?;
        }
        let footer = Footer {
            version,
            index: ext[0],
            bloom: ext[1],
            stats: ext[2],
        };
        footer.check_layout(file_len)?;
        Ok(footer)
    }

    /// The components must tile the file's tail: index, bloom, stats, footer.
    fn check_layout(&self, file_len: u64) -> Result<(), String> {
        let end = |e: Extent| e.offset.checked_add(e.len);
        let ok = end(self.index) == Some(self.bloom.offset)
            && end(self.bloom) == Some(self.stats.offset)
            && end(self.stats) == file_len.checked_sub(FOOTER_LEN as u64);
        if ok {
            Ok(())
        } else {
            Err(format!(
                "component extents {:?} do not fit a file of {file_len} bytes",
                [self.index, self.bloom, self.stats]
            ))
        }
    }
}

/// The CRC32C of a block frame's kind byte and payload.
pub(super) fn frame_crc(kind: u8, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&[kind]), payload)
}

/// Checks a frame read from disk and returns its decompressed block.
pub(super) fn unframe(frame: Vec<u8>, raw_len: usize) -> Result<bytes::Bytes, String> {
    let too_short = || format!("frame of {} bytes is too short", frame.len());
    if frame.len() < FRAME_OVERHEAD {
        return Err(too_short());
    }
    let (body, crc) = frame.split_last_chunk::<4>().ok_or_else(too_short)?;
    let stored = u32::from_le_bytes(*crc);
    let (&kind, payload) = body.split_first().ok_or_else(too_short)?;
    if frame_crc(kind, payload) != stored {
        return Err("block checksum mismatch".into());
    }
    match kind {
        BLOCK_RAW if payload.len() == raw_len => {
            let n = frame.len() - 4;
            Ok(bytes::Bytes::from(frame).slice(1..n))
        }
        BLOCK_LZ4 => {
            let mut out = vec![0u8; raw_len];
            let n = lz4_flex::block::decompress_into(payload, &mut out)
                .map_err(|e| format!("lz4: {e}"))?;
            if n != raw_len {
                return Err(format!("decompressed to {n} bytes, expected {raw_len}"));
            }
            Ok(bytes::Bytes::from(out))
        }
        k => Err(format!("unknown block kind {k} or bad raw length")),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests cut and corrupt buffers on purpose
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() {
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("sst-42.db"), None);
        assert_eq!(parse_file_name("sst-00000000000000000042.db.tmp"), None);
        assert!(is_temp_name("sst-00000000000000000042.db.tmp"));
        assert!(!is_temp_name("sst-00000000000000000042.db"));
    }

    #[test]
    fn footer_round_trips_and_detects_damage() {
        let f = Footer {
            version: FORMAT_VERSION,
            index: Extent {
                offset: 100,
                len: 10,
                crc: 1,
            },
            bloom: Extent {
                offset: 110,
                len: 20,
                crc: 2,
            },
            stats: Extent {
                offset: 130,
                len: 5,
                crc: 3,
            },
        };
        let bytes = f.encode();
        let len = 135 + FOOTER_LEN as u64;
        assert_eq!(Footer::decode(&bytes, len), Ok(f));
        assert!(Footer::decode(&bytes, len + 1).is_err());
        for i in 0..FOOTER_LEN {
            let mut b = bytes;
            b[i] ^= 0x10;
            assert!(Footer::decode(&b, len).is_err(), "byte {i}");
        }
    }
}
