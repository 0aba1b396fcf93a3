//! The manifest: a table's options and the exact set of its live SSTables.
//!
//! A flush or a compaction changes which SSTables are live as one step: the
//! new manifest lists the outputs and drops the inputs. Writing it to
//! `MANIFEST.tmp`, syncing, renaming over `MANIFEST` and syncing the directory
//! makes that step atomic, so after a crash at any point the table is exactly
//! the old set or exactly the new one. SSTable files the manifest does not
//! list are leftovers of an interrupted flush or compaction and may be deleted.
//!
//! The replace is `io::durable`'s atomic replace; `MANIFEST.tmp` is its
//! temporary file.
//!
//! The manifest also records `flushed_up_to`: every commit-log record before
//! it is in the listed SSTables, so replay skips it. Truncation stores, in one
//! step, a manifest with no SSTables, `flushed_up_to` at the commit log's
//! current position and the truncation time (see [`crate::truncation`]), so
//! a crash leaves either the table before the truncation or the truncated
//! table with its time.
//!
//! Layout: `b"BMAN"`, a version byte, the body, then a little-endian CRC32C of
//! everything before it. Version 2 appends the truncation time to version 1's
//! body; version 1 manifests still load, as never truncated.

use crate::cell::Timestamp;
use crate::codec::{DecodeError, Reader, put_varint};
use crate::error::{Error, Result};
use crate::io::{FileSystem, durable};
use crate::key::TableId;
use crate::options::TableOptions;
use crate::position::ReplayPosition;
use bytes::BufMut;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The manifest's file name inside its table directory.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// The name the next manifest is written under before it is renamed into place.
pub const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";
const MAGIC: &[u8; 4] = b"BMAN";
/// Version byte of the manifest layout.
pub const MANIFEST_FORMAT_VERSION: u8 = 2;
/// The layout before the truncation time: read, never written.
const MANIFEST_FORMAT_V1: u8 = 1;
/// Refuse to allocate for a manifest larger than this: it would list millions of tables.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// One live SSTable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SsTableEntry {
    /// The SSTable's generation: its files are named after it, never reused.
    pub generation: u64,
    /// Its level (0 for flushes; leveled compaction uses 1 and up).
    pub level: u32,
}

/// A table's durable state outside its SSTables.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Which table.
    pub table: TableId,
    /// Its options.
    pub options: TableOptions,
    /// The live SSTables, in no particular order.
    pub sstables: Vec<SsTableEntry>,
    /// Every commit-log record before this position is in `sstables`.
    pub flushed_up_to: ReplayPosition,
    /// The generation the next SSTable gets; above every generation ever used.
    pub next_generation: u64,
    /// When the table was last truncated: nothing written at or before it is
    /// kept or shown.
    pub truncated_at: Option<Timestamp>,
}

impl Manifest {
    /// A new table with no SSTables.
    pub fn new(table: TableId, options: TableOptions) -> Self {
        Manifest {
            table,
            options,
            sstables: Vec::new(),
            flushed_up_to: ReplayPosition::ZERO,
            next_generation: 1,
            truncated_at: None,
        }
    }

    /// Hands out a fresh generation. It is only durable once a manifest with a
    /// larger `next_generation` is stored; until then a crash may reuse it, which
    /// is harmless since files it names are unlisted leftovers.
    pub fn allocate_generation(&mut self) -> u64 {
        let g = self.next_generation;
        self.next_generation += 1;
        g
    }

    /// Reads the table directory's manifest; `None` if there is none.
    pub fn load(fs: &dyn FileSystem, table_dir: &Path) -> Result<Option<Manifest>> {
        let path = table_dir.join(MANIFEST_FILE);
        match durable::read_whole(fs, &path, MAX_MANIFEST_BYTES) {
            Ok(None) => Ok(None),
            Ok(Some(buf)) => Self::decode(&buf, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(corrupt(&path, 0, format!("implausibly large: {e}")))
            }
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Atomically replaces the table directory's manifest with this one. The
    /// directory must exist; a leftover `MANIFEST.tmp` from a crash is overwritten.
    pub fn store(&self, fs: &dyn FileSystem, table_dir: &Path) -> Result<()> {
        self.check()?;
        let mut buf = Vec::with_capacity(64 + self.sstables.len() * 4);
        self.encode(&mut buf);
        let path = table_dir.join(MANIFEST_FILE);
        durable::replace_atomically(fs, &path, &buf)
            .map_err(|e| Error::io(format!("storing {}", path.display()), e))
    }

    /// Rejects a manifest that would not load back.
    fn check(&self) -> Result<()> {
        let mut seen = HashSet::with_capacity(self.sstables.len());
        for e in &self.sstables {
            if e.generation >= self.next_generation || !seen.insert(e.generation) {
                return Err(Error::InvalidArgument(format!(
                    "manifest of table {} lists generation {} twice or at or above next generation {}",
                    self.table, e.generation, self.next_generation
                )));
            }
        }
        self.options.validate()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_slice(MAGIC);
        out.put_u8(MANIFEST_FORMAT_VERSION);
        out.put_u128_le(self.table.0);
        self.options.encode(out);
        put_varint(out, self.flushed_up_to.segment_id);
        put_varint(out, self.flushed_up_to.offset);
        put_varint(out, self.next_generation);
        put_varint(out, self.sstables.len() as u64);
        for e in &self.sstables {
            put_varint(out, e.generation);
            put_varint(out, u64::from(e.level));
        }
        match self.truncated_at {
            None => out.put_u8(0),
            Some(t) => {
                out.put_u8(1);
                out.put_i64_le(t.0);
            }
        }
        let crc = crc32c::crc32c(out);
        out.put_u32_le(crc);
    }

    fn decode(buf: &[u8], path: &Path) -> Result<Manifest> {
        let Some((body, crc)) = buf.split_last_chunk::<4>() else {
            return Err(corrupt(path, 0, format!("only {} bytes", buf.len())));
        };
        let body_len = body.len();
        let stored = u32::from_le_bytes(*crc);
        let actual = crc32c::crc32c(body);
        if stored != actual {
            return Err(corrupt(
                path,
                body_len as u64,
                format!("checksum {stored:#010x} does not match contents ({actual:#010x})"),
            ));
        }
        let mut r = Reader::new(body);
        let m = decode_body(&mut r).map_err(|e| corrupt(path, r.position() as u64, e.0))?;
        if !r.is_empty() {
            return Err(corrupt(path, r.position() as u64, "trailing bytes".into()));
        }
        m.check().map_err(|e| corrupt(path, 0, e.to_string()))?;
        Ok(m)
    }
}

fn decode_body(r: &mut Reader<'_>) -> Result<Manifest, DecodeError> {
    if r.take(4)? != MAGIC {
        return Err(DecodeError("not a manifest (bad magic)".into()));
    }
    let version = r.u8()?;
    if version != MANIFEST_FORMAT_VERSION && version != MANIFEST_FORMAT_V1 {
        return Err(DecodeError(format!("unknown manifest version {version}")));
    }
    let table = TableId(u128::from_le_bytes(
        r.take(16)?
            .try_into()
            .map_err(|_| DecodeError("table id".into()))?,
    ));
    let options = TableOptions::decode(r)?;
    let flushed_up_to = ReplayPosition {
        segment_id: r.varint()?,
        offset: r.varint()?,
    };
    let next_generation = r.varint()?;
    let count = r.varint()?;
    // Each entry takes at least two bytes: bound the allocation by the input.
    if count > r.remaining() as u64 / 2 {
        return Err(DecodeError(format!("{count} SSTables cannot fit")));
    }
    let mut sstables = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let generation = r.varint()?;
        let level = u32::try_from(r.varint()?).map_err(|_| DecodeError("level".into()))?;
        sstables.push(SsTableEntry { generation, level });
    }
    let truncated_at = match version {
        MANIFEST_FORMAT_V1 => None,
        _ => match r.u8()? {
            0 => None,
            1 => Some(Timestamp(r.i64()?)),
            other => return Err(DecodeError(format!("truncation flag {other}"))),
        },
    };
    Ok(Manifest {
        table,
        options,
        sstables,
        flushed_up_to,
        next_generation,
        truncated_at,
    })
}

fn corrupt(path: &Path, offset: u64, reason: String) -> Error {
    Error::Corrupt {
        file: PathBuf::from(path),
        component: "manifest",
        offset,
        reason,
    }
}

#[cfg(test)]
mod tests;
