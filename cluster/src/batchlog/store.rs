//! The durable batchlog store of one node: a file per batch it keeps for
//! some coordinator.
//!
//! `<dir>/<batch-id>.batch` holds `magic "BBL1" | stored_ms: u64 LE |
//! len: u32 LE | crc: u32 LE | payload`, where the payload is the
//! `BATCH_STORE` request as it arrived and the CRC32C covers `stored_ms`,
//! `len` and the payload (see `docs/design/batchlog.md`). A file is written
//! by `storage::durable`'s atomic replace — `<batch-id>.batch.tmp`,
//! fsynced, renamed, the directory fsynced — before the store acknowledges:
//! an acknowledged batch survives a crash of this node. Every file access
//! goes through the `FileSystem` seam. `stored_ms` is this
//! node's clock when the batch arrived, so the age that decides a replay
//! never compares two nodes' clocks.
//!
//! Removal is not fsynced: a batch that reappears after a crash is replayed
//! once more, which changes nothing (its mutations carry their timestamps).
//! A file that fails its checksum is renamed to `.corrupt` and left for an
//! operator; it is never replayed half-read.
//!
//! The store is bounded: past `max_total_bytes` new batches are refused
//! (the coordinator reports the batchlog write as failed).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use storage::FileSystem;
use storage::durable;

use super::wire::{BatchId, BatchStoreRequest};
use crate::hints::HintClock;

const MAGIC: &[u8; 4] = b"BBL1";
/// Magic, time, length and CRC.
const HEADER: usize = 20;
const SUFFIX: &str = ".batch";
/// What the atomic replace's temporary files end with.
const TEMP_SUFFIX: &str = durable::TEMP_SUFFIX;
const CORRUPT_SUFFIX: &str = ".corrupt";
/// A batch file is never larger than a batch's payload can be (`u32` length).
const MAX_FILE_BYTES: u64 = HEADER as u64 + u32::MAX as u64;

/// The store's settings.
#[derive(Clone, Debug)]
pub struct BatchlogStoreConfig {
    /// Where the files live: `<data_dir>/batchlog`.
    pub dir: PathBuf,
    /// Batches beyond this many bytes on disk are refused: 256 MiB.
    pub max_total_bytes: u64,
}

impl BatchlogStoreConfig {
    /// A store in `dir` holding at most 256 MiB (over 5,000 batches at the
    /// default 50 KiB batch size limit).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BatchlogStoreConfig {
            dir: dir.into(),
            max_total_bytes: 256 << 20,
        }
    }
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store holds `max_total_bytes` already.
    #[error("the batchlog is full ({0} bytes)")]
    Full(u64),
    /// Writing the file failed.
    #[error("writing the batchlog failed: {0}")]
    Io(#[from] io::Error),
}

/// Why a stored batch could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file failed its checks; it has been set aside as `.corrupt`.
    #[error("batchlog entry {id} is corrupt: {reason}")]
    Corrupt {
        /// The batch.
        id: BatchId,
        /// What was wrong.
        reason: String,
    },
    /// Reading the file failed.
    #[error("reading the batchlog failed: {0}")]
    Io(#[from] io::Error),
}

/// The store's counters (for /metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchlogCounters {
    /// Batches stored since start.
    pub stored: u64,
    /// Batches this node replayed since start.
    pub replayed: u64,
    /// Mutations of replayed batches skipped since start because their table
    /// no longer exists.
    pub undeliverable: u64,
    /// Batches dropped unreplayed since start: older than their tables' gc
    /// grace.
    pub expired: u64,
    /// Batches held now.
    pub pending: u64,
    /// Bytes held now.
    pub pending_bytes: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    stored_ms: u64,
    bytes: u64,
}

/// One node's batchlog.
pub struct BatchlogStore {
    fs: Arc<dyn FileSystem>,
    config: BatchlogStoreConfig,
    clock: HintClock,
    entries: Mutex<BTreeMap<BatchId, Entry>>,
    stored: AtomicU64,
    replayed: AtomicU64,
    undeliverable: AtomicU64,
    expired: AtomicU64,
}

impl fmt::Debug for BatchlogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchlogStore")
            .field("config", &self.config)
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

fn file_name(id: BatchId) -> String {
    format!("{id}{SUFFIX}")
}

/// The header of a batch file: when it was stored and the payload's length.
fn parse_header(header: &[u8]) -> Result<(u64, u32, u32), String> {
    if header.len() < HEADER || &header[..4] != MAGIC {
        return Err("not a batchlog file (bad magic or too short)".into());
    }
    let word = |at: usize, n: usize| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&header[at..at + n]);
        u64::from_le_bytes(b)
    };
    let len = u32::try_from(word(12, 4)).unwrap_or(u32::MAX);
    let crc = u32::try_from(word(16, 4)).unwrap_or(u32::MAX);
    Ok((word(4, 8), len, crc))
}

fn encode_file(stored_ms: u64, payload: &[u8]) -> Result<Vec<u8>, StoreError> {
    let len = u32::try_from(payload.len()).map_err(|_| StoreError::Full(payload.len() as u64))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&stored_ms.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[4..16]), payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

impl BatchlogStore {
    /// Opens (creating) the store in `config.dir` on `fs`, picking up the
    /// batches a previous run kept; `clock` stamps and ages them in ms.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        config: BatchlogStoreConfig,
        clock: HintClock,
    ) -> io::Result<BatchlogStore> {
        fs.create_dir_all(&config.dir)?;
        let mut entries = BTreeMap::new();
        for path in fs.read_dir(&config.dir)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(TEMP_SUFFIX) {
                // A store that crashed before its rename: never acknowledged.
                fs.remove_file(&path)?;
                continue;
            }
            let Some(id) = name.strip_suffix(SUFFIX).and_then(BatchId::parse_hex) else {
                continue;
            };
            entries.insert(id, read_entry(fs.as_ref(), &path)?);
        }
        Ok(BatchlogStore {
            fs,
            config,
            clock,
            entries: Mutex::new(entries),
            stored: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            undeliverable: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<BatchId, Entry>> {
        // The map is updated only after the file operation it describes.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, id: BatchId, suffix: &str) -> PathBuf {
        self.config.dir.join(format!("{id}{suffix}"))
    }

    /// Keeps a `BATCH_STORE` request (`payload`, already validated) durably;
    /// storing a batch already held succeeds without writing it again.
    pub fn store(&self, id: BatchId, payload: &[u8]) -> Result<(), StoreError> {
        let file = encode_file((self.clock)(), payload)?;
        let bytes = file.len() as u64;
        {
            let entries = self.lock();
            if entries.contains_key(&id) {
                return Ok(());
            }
            let total: u64 = entries.values().map(|e| e.bytes).sum();
            if total + bytes > self.config.max_total_bytes {
                return Err(StoreError::Full(total));
            }
        }
        let path = self.config.dir.join(file_name(id));
        durable::replace_atomically(self.fs.as_ref(), &path, &file)?;
        let stored_ms = parse_header(&file).map_or(0, |(ms, _, _)| ms);
        self.lock().insert(id, Entry { stored_ms, bytes });
        self.stored.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Forgets a batch; whether it was held.
    pub fn remove(&self, id: BatchId) -> io::Result<bool> {
        if !self.lock().contains_key(&id) {
            return Ok(false);
        }
        match self.fs.remove_file(&self.path(id, SUFFIX)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(self.lock().remove(&id).is_some())
    }

    /// The batches stored at least `min_age` ago, oldest first.
    pub fn due(&self, min_age: Duration) -> Vec<BatchId> {
        let now = (self.clock)();
        let age = u64::try_from(min_age.as_millis()).unwrap_or(u64::MAX);
        let mut due: Vec<(u64, BatchId)> = self
            .lock()
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.stored_ms) >= age)
            .map(|(id, e)| (e.stored_ms, *id))
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Reads a batch back; `None` if it is no longer held. A damaged file is
    /// set aside (renamed `.corrupt`) and reported.
    pub fn load(&self, id: BatchId) -> Result<Option<BatchStoreRequest>, LoadError> {
        let path = self.path(id, SUFFIX);
        let Some(bytes) = durable::read_whole(self.fs.as_ref(), &path, MAX_FILE_BYTES)? else {
            self.lock().remove(&id);
            return Ok(None);
        };
        match decode_file(id, &bytes) {
            Ok(request) => Ok(Some(request)),
            Err(reason) => {
                self.fs.rename(&path, &self.path(id, CORRUPT_SUFFIX))?;
                self.lock().remove(&id);
                Err(LoadError::Corrupt { id, reason })
            }
        }
    }

    /// Counts a batch this node replayed.
    pub fn count_replayed(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    /// How long ago (ms, by this store's clock) batch `id` arrived, if held.
    pub fn age_ms(&self, id: BatchId) -> Option<u64> {
        let stored_ms = self.lock().get(&id)?.stored_ms;
        Some((self.clock)().saturating_sub(stored_ms))
    }

    /// Counts a batch dropped unreplayed because it outlived its tables' gc
    /// grace.
    pub fn count_expired(&self) {
        self.expired.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts mutations of a replayed batch that could never be applied.
    pub fn count_undeliverable(&self, n: u64) {
        self.undeliverable.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters.
    pub fn counters(&self) -> BatchlogCounters {
        let entries = self.lock();
        BatchlogCounters {
            stored: self.stored.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            undeliverable: self.undeliverable.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            pending: entries.len() as u64,
            pending_bytes: entries.values().map(|e| e.bytes).sum(),
        }
    }
}

/// A batch file's entry at open: its size and arrival time. A bad header
/// still gets an entry, due at once: loading it finds the damage and sets the
/// file aside.
fn read_entry(fs: &dyn FileSystem, path: &Path) -> io::Result<Entry> {
    let file = fs.open(path)?;
    let bytes = file.size()?;
    let mut header = [0u8; HEADER];
    let n = usize::try_from(bytes).map_or(HEADER, |b| b.min(HEADER));
    let header = header.get_mut(..n).unwrap_or_default();
    file.read_exact_at(header, 0)?;
    let stored_ms = parse_header(header).map_or(0, |(ms, _, _)| ms);
    Ok(Entry { stored_ms, bytes })
}

/// Checks a file's header, length and checksum, then decodes its request.
fn decode_file(id: BatchId, bytes: &[u8]) -> Result<BatchStoreRequest, String> {
    let (_, len, crc) = parse_header(bytes)?;
    let payload = &bytes[HEADER..];
    if payload.len() != len as usize {
        return Err(format!(
            "{} payload bytes where the header says {len}",
            payload.len()
        ));
    }
    if crc32c::crc32c_append(crc32c::crc32c(&bytes[4..16]), payload) != crc {
        return Err("checksum mismatch".into());
    }
    let request = BatchStoreRequest::decode(payload).map_err(|e| e.to_string())?;
    if request.id != id {
        return Err(format!("the file holds batch {}", request.id));
    }
    Ok(request)
}

#[cfg(test)]
mod tests;
