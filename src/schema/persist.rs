//! The durable catalog: the user keyspaces in `<data_dir>/schema/schema.db`.
//!
//! The file is hand-written binary, not JSON, so the schema version and the file
//! share one canonical encoding (`codec`) and no serde derive reaches the
//! cql-lite types:
//!
//! ```text
//! "BSCH" | format version (u8) = 2 | payload length (u32 LE) | payload | CRC32C (u32 LE)
//! ```
//!
//! Format 2 holds `codec`'s version 3 (timestamps, tombstones and generations,
//! for merging schemas across nodes; the payload's first byte says which, and
//! version 2, without generations, still loads); format 1 files, written before, hold version 1 and
//! still load (every timestamp 0), and are rewritten as format 2 at the next save.
//!
//! The CRC covers everything before it (see `docs/design/schema-catalog.md`).
//! A save is `storage::durable`'s atomic replace: it writes
//! `schema.db.tmp`, fsyncs it, renames it over `schema.db` and fsyncs the
//! directory, so a crash at any point leaves either the old catalog or the new
//! one. A file that fails its
//! checks is an error: starting with an empty schema would silently hide every
//! table's data, so the node refuses to start instead.

use std::io;
use std::path::{Path, PathBuf};

use storage::FileSystem;
use storage::durable;

use super::{Schema, codec};

/// The catalog's file name inside its directory.
pub(crate) const FILE_NAME: &str = "schema.db";
/// Far above any real catalog (a thousand tables take well under a MiB); a
/// larger file is refused before anything is allocated for it.
const MAX_FILE_BYTES: u64 = 256 << 20;
const MAGIC: &[u8; 4] = b"BSCH";
const FORMAT_VERSION: u8 = 2;
/// The format before timestamps and tombstones; still read.
const FORMAT_V1: u8 = 1;
const HEADER: usize = 4 + 1 + 4;

/// Why the catalog could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file-system call failed.
    #[error("schema catalog {path}: {what}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// The file exists but is not a valid catalog.
    #[error(
        "schema catalog {path} is corrupt ({reason}); refusing to start with an unknown schema: \
         restore the file from a backup or another node"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io_error(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> PersistError {
    let path = path.to_path_buf();
    move |source| PersistError::Io { path, what, source }
}

/// The bytes of the catalog file for `schema` (its user keyspaces).
pub(crate) fn encode_file(schema: &Schema) -> Vec<u8> {
    let payload = codec::encode(schema);
    let mut out = Vec::with_capacity(HEADER + payload.len() + 4);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    // Catalogs stay far below 4 GiB; a larger one would fail its length check
    // on load rather than be misread.
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The user keyspaces a catalog file holds, checked.
pub(crate) fn decode_file(bytes: &[u8]) -> Result<Schema, String> {
    if bytes.len() < HEADER + 4 {
        return Err(format!("{} bytes is too short", bytes.len()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32c::crc32c(body) != stored {
        return Err("checksum mismatch".to_owned());
    }
    if &body[..4] != MAGIC {
        return Err("not a schema catalog (bad magic)".to_owned());
    }
    let decode = match body[4] {
        FORMAT_VERSION => codec::decode,
        FORMAT_V1 => codec::decode_v1,
        v => return Err(format!("unknown format version {v}")),
    };
    let len = u32::from_le_bytes([body[5], body[6], body[7], body[8]]) as usize;
    let payload = &body[HEADER..];
    if payload.len() != len {
        return Err(format!(
            "payload is {} bytes, header says {len}",
            payload.len()
        ));
    }
    decode(payload).map_err(|e| e.to_string())
}

/// Durably replaces the catalog in `dir` with `schema`'s user keyspaces.
pub(crate) fn save(fs: &dyn FileSystem, dir: &Path, schema: &Schema) -> Result<(), PersistError> {
    let created = !fs.exists(dir);
    fs.create_dir_all(dir)
        .map_err(io_error(dir, "creating the directory"))?;
    let target = dir.join(FILE_NAME);
    durable::replace_atomically(fs, &target, &encode_file(schema))
        .map_err(io_error(&target, "replacing the catalog"))?;
    if created {
        // The first save also creates `dir`: make its entry durable too.
        // Later saves skip this sync (every DDL statement pays for each
        // one); `load` syncs the entry of a directory an earlier process
        // created but may have died before syncing.
        sync_parent(fs, dir)?;
    }
    Ok(())
}

/// The user keyspaces saved in `dir`, or `None` if no catalog was ever saved.
pub(crate) fn load(fs: &dyn FileSystem, dir: &Path) -> Result<Option<Schema>, PersistError> {
    if fs.exists(dir) {
        sync_parent(fs, dir)?;
    }
    let target = dir.join(FILE_NAME);
    // A save that crashed before its rename: the catalog it did not replace
    // is still the current one.
    durable::remove_stale_temp(fs, &target)
        .map_err(io_error(&target, "removing a stale temporary file"))?;
    let bytes = match durable::read_whole(fs, &target, MAX_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(PersistError::Corrupt {
                path: target,
                reason: e.to_string(),
            });
        }
        Err(e) => return Err(io_error(&target, "reading")(e)),
    };
    decode_file(&bytes)
        .map(Some)
        .map_err(|reason| PersistError::Corrupt {
            path: target,
            reason,
        })
}

fn sync_parent(fs: &dyn FileSystem, dir: &Path) -> Result<(), PersistError> {
    match dir.parent() {
        Some(parent) => fs
            .sync_dir(parent)
            .map_err(io_error(parent, "syncing the data directory")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
