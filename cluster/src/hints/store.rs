//! The durable hint store: one append-only file at a time per target host.
//!
//! A file is a framed append-only file of `storage::durable` (see
//! `docs/design/hints.md`): a header with the magic `BHNT` and the format
//! version (1), then records `len: u32 LE | crc: u32 LE | payload`, where the
//! CRC32C covers the length bytes and the payload, and the payload is the
//! write's creation time (ms since the Unix epoch, u64 LE) followed by the
//! encoded [`Mutation`]. Files written before the header existed (version 0)
//! are the same records without a header, and are still replayed. Files roll
//! at `max_file_bytes`, so a reader holds at most one file in memory. Every
//! file access goes through the `FileSystem` seam.
//!
//! Durability is batched like Cassandra's `hints_flush_period`: appends go
//! to a buffered writer and are written and fsynced once `flush_bytes` are
//! pending or `flush_period` has passed since the last flush (checked on
//! every append and by the replay task's ticks). **Loss window:** hints
//! appended since the last flush (up to `flush_bytes`, or `flush_period` of
//! traffic) are lost if the process or machine dies; a torn last record is
//! detected by its length and CRC and skipped. Losing a hint only weakens
//! convergence until repair, never an acknowledged consistency level: hints
//! count only for ANY.
//!
//! The store is bounded: past `max_total_bytes` on disk new hints are
//! refused and counted as dropped.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use storage::FileSystem;
use storage::Mutation;
use storage::durable::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameError, FrameErrorKind, FramedFormat, FramedReader,
    FramedWriter,
};

use crate::coordinator::HintSink;
use crate::ring::HostId;

/// A larger length can only be garbage: no mutation is this big.
const MAX_RECORD: u32 = 256 << 20;
/// The hint file format: version 1 has the header; headerless files are
/// version 0. The magic read as a length is over 1 GiB, far above
/// `MAX_RECORD`, so no version 0 file can start with it.
pub(crate) const HINTS_FORMAT: FramedFormat = FramedFormat {
    magic: *b"BHNT",
    version: 1,
    max_record: MAX_RECORD,
    headerless_v0: true,
};
/// The file name suffix.
const SUFFIX: &str = ".hints";

/// The store's settings.
#[derive(Clone, Debug)]
pub struct HintStoreConfig {
    /// Where the files live: `<data_dir>/hints`.
    pub dir: PathBuf,
    /// Hints beyond this many bytes on disk (all hosts) are refused.
    pub max_total_bytes: u64,
    /// A host's file is closed and a new one started past this size.
    pub max_file_bytes: u64,
    /// Pending hints are fsynced at least this often: 10 s.
    pub flush_period: Duration,
    /// ...or once this many bytes are pending: 1 MiB.
    pub flush_bytes: u64,
    /// Hints older than this are neither stored nor replayed: 3 h.
    pub max_hint_window: Duration,
}

impl HintStoreConfig {
    /// Cassandra-like defaults for a store in `dir`: 10 s / 1 MiB flushes,
    /// 8 MiB files, 1 GiB in all, a 3 h window.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        HintStoreConfig {
            dir: dir.into(),
            max_total_bytes: 1 << 30,
            max_file_bytes: 8 << 20,
            flush_period: Duration::from_secs(10),
            flush_bytes: 1 << 20,
            max_hint_window: Duration::from_secs(3 * 3600),
        }
    }
}

/// The store's counters (for /metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintCounters {
    /// Hints written.
    pub stored: u64,
    /// Hints delivered by replay.
    pub replayed: u64,
    /// Hints refused (store full, too old, I/O error) or expired at replay.
    pub dropped: u64,
    /// Hints skipped at replay because their replica answered that they can
    /// never be applied (their table does not exist there).
    pub undeliverable: u64,
    /// Bytes in hint files now.
    pub pending_bytes: u64,
}

/// One hint read back.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hint {
    /// When the write was created, ms since the Unix epoch.
    pub created_ms: u64,
    /// The write.
    pub mutation: Mutation,
}

/// Where and why reading a hint file stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HintFileError {
    /// The file.
    pub path: PathBuf,
    /// The offset of the bad record.
    pub offset: u64,
    /// A torn tail (a crash during an append) or corruption.
    pub kind: FrameErrorKind,
    /// What was wrong.
    pub reason: String,
}

impl From<FrameError> for HintFileError {
    fn from(e: FrameError) -> Self {
        HintFileError {
            path: e.path,
            offset: e.offset,
            kind: e.kind,
            reason: e.reason,
        }
    }
}

impl fmt::Display for HintFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hint file {} at offset {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

impl std::error::Error for HintFileError {}

/// A file of hints for one host, as [`HintStore::seal`] hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HintFile {
    /// Its path.
    pub path: PathBuf,
    seq: u64,
}

/// The file being appended to for one host.
#[derive(Debug)]
struct OpenFile {
    seq: u64,
    writer: FramedWriter,
    /// Bytes appended since the last sync.
    unflushed: u64,
}

#[derive(Debug)]
struct Inner {
    open: HashMap<HostId, OpenFile>,
    /// Every file on disk by host and sequence number, with its size.
    files: BTreeMap<HostId, BTreeMap<u64, u64>>,
    next_seq: u64,
    total_bytes: u64,
    unflushed: u64,
    last_flush: Instant,
}

/// Hints on disk, per target host; see the module docs.
pub struct HintStore {
    fs: Arc<dyn FileSystem>,
    config: HintStoreConfig,
    clock: HintClock,
    inner: Mutex<Inner>,
    stored: AtomicU64,
    replayed: AtomicU64,
    dropped: AtomicU64,
    undeliverable: AtomicU64,
}

/// The wall clock hints are stamped with: ms since the Unix epoch. The
/// node passes its clock in (this crate reads no wall time itself).
pub type HintClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// `<host>-<seq>.hints`.
fn file_name(host: HostId, seq: u64) -> String {
    format!("{host}-{seq}{SUFFIX}")
}

/// The host and sequence number of a hint file's name.
fn parse_name(name: &str) -> Option<(HostId, u64)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (uuid, seq) = stem.rsplit_once('-')?;
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || uuid.len() != 36 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((HostId(id), seq.parse().ok()?))
}

/// One record's payload: creation time, then the mutation.
fn encode_payload(created_ms: u64, mutation: &Mutation) -> Vec<u8> {
    let mut payload = Vec::with_capacity(mutation.estimated_size() + 16);
    payload.extend_from_slice(&created_ms.to_le_bytes());
    mutation.encode(&mut payload);
    payload
}

impl fmt::Debug for HintStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HintStore")
            .field("config", &self.config)
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

impl HintStore {
    /// Opens (creating) the store in `config.dir` on `fs`, picking up the
    /// files a previous run left; hints are stamped and aged by `clock`.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        config: HintStoreConfig,
        clock: HintClock,
    ) -> io::Result<HintStore> {
        fs.create_dir_all(&config.dir)?;
        let mut files: BTreeMap<HostId, BTreeMap<u64, u64>> = BTreeMap::new();
        let (mut total_bytes, mut next_seq) = (0, 0);
        for path in fs.read_dir(&config.dir)? {
            let name = path.file_name().and_then(|n| n.to_str());
            let Some((host, seq)) = name.and_then(parse_name) else {
                continue;
            };
            let len = fs.open(&path)?.size()?;
            files.entry(host).or_default().insert(seq, len);
            total_bytes += len;
            next_seq = next_seq.max(seq + 1);
        }
        let inner = Inner {
            open: HashMap::new(),
            files,
            next_seq,
            total_bytes,
            unflushed: 0,
            last_flush: Instant::now(),
        };
        Ok(HintStore {
            fs,
            config,
            clock,
            inner: Mutex::new(inner),
            stored: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            undeliverable: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn config(&self) -> &HintStoreConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every field is updated after the I/O it describes succeeded; a
        // panic elsewhere leaves it consistent enough to go on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, host: HostId, seq: u64) -> PathBuf {
        self.config.dir.join(file_name(host, seq))
    }

    /// Now, by the store's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// Whether a write created at `created_ms` is past the hint window.
    pub fn expired(&self, created_ms: u64) -> bool {
        let window = u64::try_from(self.config.max_hint_window.as_millis()).unwrap_or(u64::MAX);
        self.now_ms().saturating_sub(created_ms) > window
    }

    /// Appends a hint for `host` created at `created_ms`; false (counted as
    /// dropped) when it is too old, the store is full or the write failed.
    pub fn append(&self, host: HostId, created_ms: u64, mutation: &Mutation) -> bool {
        if self.expired(created_ms) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let payload = encode_payload(created_ms, mutation);
        let mut inner = self.lock();
        let appended = match self.append_locked(&mut inner, host, &payload) {
            Ok(fits) => fits,
            Err(e) => {
                tracing::warn!(%host, error = %e, "could not store a hint");
                false
            }
        };
        if !appended {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.stored.fetch_add(1, Ordering::Relaxed);
        let due = inner.unflushed >= self.config.flush_bytes
            || inner.last_flush.elapsed() >= self.config.flush_period;
        if due && let Err(e) = flush_locked(&mut inner) {
            tracing::warn!(error = %e, "could not flush hints");
        }
        true
    }

    /// Appends one record for `host`, rolling its file when full; false when
    /// the record (and the header of a new file) would pass `max_total_bytes`.
    fn append_locked(&self, inner: &mut Inner, host: HostId, payload: &[u8]) -> io::Result<bool> {
        let full = inner
            .open
            .get(&host)
            .is_some_and(|f| f.writer.len() >= self.config.max_file_bytes);
        let new_file = full || !inner.open.contains_key(&host);
        let header = if new_file { FILE_HEADER_LEN } else { 0 };
        let cost = (header + FRAME_HEADER_LEN + payload.len()) as u64;
        if inner.total_bytes + cost > self.config.max_total_bytes {
            return Ok(false);
        }
        if full && let Some(mut old) = inner.open.remove(&host) {
            sync(inner, &mut old)?;
        }
        if !inner.open.contains_key(&host) {
            self.start_file(inner, host)?;
        }
        let Some(open) = inner.open.get_mut(&host) else {
            return Err(io::Error::other("hint file vanished"));
        };
        let appended = open.writer.append(payload);
        let len = match appended {
            Ok(len) => len,
            Err(e) => {
                // A failed writer refuses everything after: the host's next
                // hint starts a new file.
                if let Some(mut failed) = inner.open.remove(&host) {
                    inner.unflushed = inner.unflushed.saturating_sub(failed.unflushed);
                    failed.unflushed = 0;
                }
                return Err(e);
            }
        };
        open.unflushed += len;
        let seq = open.seq;
        if let Some(size) = inner.files.get_mut(&host).and_then(|f| f.get_mut(&seq)) {
            *size += len;
        }
        inner.total_bytes += len;
        inner.unflushed += len;
        Ok(true)
    }

    /// Creates the next file for `host`, its header already durable.
    fn start_file(&self, inner: &mut Inner, host: HostId) -> io::Result<()> {
        let seq = inner.next_seq;
        let path = self.path(host, seq);
        let writer = FramedWriter::create(self.fs.as_ref(), &path, &HINTS_FORMAT)?;
        inner.next_seq += 1;
        inner
            .files
            .entry(host)
            .or_default()
            .insert(seq, writer.len());
        inner.total_bytes += writer.len();
        let open = OpenFile {
            seq,
            writer,
            unflushed: 0,
        };
        inner.open.insert(host, open);
        Ok(())
    }

    /// Writes and fsyncs every pending hint.
    pub fn flush(&self) -> io::Result<()> {
        flush_locked(&mut self.lock())
    }

    /// Flushes when the flush period has passed (the replay task's tick).
    pub fn flush_if_due(&self) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.unflushed > 0 && inner.last_flush.elapsed() >= self.config.flush_period {
            flush_locked(&mut inner)?;
        }
        Ok(())
    }

    /// Hosts with hint files.
    pub fn hosts(&self) -> Vec<HostId> {
        self.lock().files.keys().copied().collect()
    }

    /// Closes `host`'s open file (new hints go to a new one) and returns all
    /// its files, oldest first, for replay.
    pub fn seal(&self, host: HostId) -> io::Result<Vec<HintFile>> {
        let mut inner = self.lock();
        if let Some(mut open) = inner.open.remove(&host) {
            sync(&mut inner, &mut open)?;
        }
        let seqs = inner
            .files
            .get(&host)
            .map(|f| f.keys().copied().collect::<Vec<_>>());
        Ok(seqs
            .unwrap_or_default()
            .into_iter()
            .map(|seq| HintFile {
                path: self.path(host, seq),
                seq,
            })
            .collect())
    }

    /// Deletes a replayed file of `host`.
    pub fn delete(&self, host: HostId, file: &HintFile) -> io::Result<()> {
        let mut inner = self.lock();
        match self.fs.remove_file(&file.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let files = inner.files.entry(host).or_default();
        let size = files.remove(&file.seq).unwrap_or(0);
        if files.is_empty() {
            inner.files.remove(&host);
        }
        inner.total_bytes = inner.total_bytes.saturating_sub(size);
        Ok(())
    }

    /// A reader of one of the files [`HintStore::seal`] handed out.
    pub(crate) fn reader(&self, file: &HintFile) -> io::Result<HintReader> {
        HintReader::open(self.fs.as_ref(), &file.path)
    }

    /// Counts hints delivered by replay.
    pub fn count_replayed(&self, n: u64) {
        self.replayed.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts hints given up on at replay (expired).
    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts hints skipped at replay because they can never be applied.
    pub fn count_undeliverable(&self, n: u64) {
        self.undeliverable.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn counters(&self) -> HintCounters {
        HintCounters {
            stored: self.stored.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            undeliverable: self.undeliverable.load(Ordering::Relaxed),
            pending_bytes: self.lock().total_bytes,
        }
    }
}

/// Writes and fsyncs one file taken out of `inner.open`; its bytes are no
/// longer pending, synced or not (a failed file is never written again).
fn sync(inner: &mut Inner, open: &mut OpenFile) -> io::Result<()> {
    inner.unflushed = inner.unflushed.saturating_sub(open.unflushed);
    open.unflushed = 0;
    open.writer.sync()
}

/// Writes and fsyncs every open file. A file that fails is retired (a failed
/// writer refuses everything after, so keeping it would fail every later
/// flush); its host's next hint starts a new file. The others are still
/// synced, and the first failure is returned.
fn flush_locked(inner: &mut Inner) -> io::Result<()> {
    let mut failed = Vec::new();
    let mut first_error = None;
    for (host, open) in &mut inner.open {
        if let Err(e) = open.writer.sync() {
            failed.push(*host);
            first_error.get_or_insert(e);
        }
        open.unflushed = 0;
    }
    for host in failed {
        inner.open.remove(&host);
    }
    inner.unflushed = 0;
    inner.last_flush = Instant::now();
    first_error.map_or(Ok(()), Err)
}

impl HintSink for HintStore {
    fn store(&self, host: HostId, mutation: &Mutation) -> bool {
        self.append(host, self.now_ms(), mutation)
    }
}

/// Reads one hint file back, record by record; stops at the first torn or
/// corrupt record and yields it as an error. Never panics on any bytes.
#[derive(Debug)]
pub(crate) struct HintReader {
    path: PathBuf,
    frames: FramedReader,
    done: bool,
}

impl HintReader {
    /// Reads the file at `path` on `fs`.
    pub(crate) fn open(fs: &dyn FileSystem, path: &Path) -> io::Result<HintReader> {
        let frames = FramedReader::open(fs, path, &HINTS_FORMAT)?;
        Ok(HintReader::with_frames(path, frames))
    }

    /// Reads `bytes` as if they were the file at `path`.
    #[cfg(test)]
    pub(crate) fn from_bytes(path: &Path, bytes: Vec<u8>) -> HintReader {
        let frames = FramedReader::from_bytes(path, bytes, &HINTS_FORMAT);
        HintReader::with_frames(path, frames)
    }

    fn with_frames(path: &Path, frames: FramedReader) -> HintReader {
        HintReader {
            path: path.to_path_buf(),
            frames,
            done: false,
        }
    }

    /// The file's format version: 1, or 0 for a file without a header.
    #[cfg(test)]
    pub(crate) fn version(&self) -> u32 {
        self.frames.version()
    }

    /// A record that passed its checksum but holds no hint.
    fn corrupt(&mut self, offset: u64, reason: String) -> Result<Hint, HintFileError> {
        self.done = true;
        Err(HintFileError {
            path: self.path.clone(),
            offset,
            kind: FrameErrorKind::Corrupt,
            reason,
        })
    }
}

impl Iterator for HintReader {
    type Item = Result<Hint, HintFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let record = match self.frames.next()? {
            Ok(record) => record,
            Err(e) => return Some(Err(e.into())),
        };
        let (Some(created), Some(body)) = (record.payload.get(0..8), record.payload.get(8..))
        else {
            return Some(self.corrupt(record.offset, "record too short".into()));
        };
        let created_ms = u64::from_le_bytes(created.try_into().unwrap_or_default());
        Some(match Mutation::decode(body) {
            Ok(mutation) => Ok(Hint {
                created_ms,
                mutation,
            }),
            Err(e) => self.corrupt(record.offset, format!("undecodable mutation: {e}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::host;
    use proptest::prelude::*;
    use std::fs;
    use storage::StdFs;
    use storage::durable::encode_frame;
    use storage::sim::{FaultKind, SimFs};
    use storage::{Cell, ClusteringKey, ColumnId, DecoratedKey, Row, TableId, Token};

    fn put(k: u8, v: &str) -> Mutation {
        let key = DecoratedKey::new(Token(i64::from(k)), vec![k]);
        Mutation::new(TableId(1), key).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
            ColumnId(1),
            None,
            Cell::live(10, v.as_bytes().to_vec()),
        ))
    }

    const NOW: u64 = 1_700_000_000_000;

    fn open(config: HintStoreConfig) -> HintStore {
        HintStore::open(Arc::new(StdFs), config, Arc::new(|| NOW)).unwrap()
    }

    fn read_all(store: &HintStore, h: HostId) -> Vec<Result<Hint, HintFileError>> {
        let files = store.seal(h).unwrap();
        files
            .iter()
            .flat_map(|f| store.reader(f).unwrap())
            .collect()
    }

    /// One framed record, as a headerless (version 0) file holds them.
    fn encode_record(created_ms: u64, mutation: &Mutation) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&encode_payload(created_ms, mutation), &mut out);
        out
    }

    #[test]
    fn names_round_trip() {
        let h = HostId([0xab; 16]);
        assert_eq!(parse_name(&file_name(h, 42)), Some((h, 42)));
        assert_eq!(parse_name("x-1.hints"), None);
        assert_eq!(parse_name("notes.txt"), None);
    }

    #[test]
    fn hints_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = HintStoreConfig::new(dir.path());
        let store = open(config.clone());
        assert!(store.store(host(1), &put(1, "a")));
        assert!(store.store(host(1), &put(2, "b")));
        assert!(store.store(host(2), &put(3, "c")));
        store.flush().unwrap();
        drop(store);
        let store = open(config);
        assert_eq!(store.hosts(), vec![host(1), host(2)]);
        let got: Vec<Mutation> = read_all(&store, host(1))
            .into_iter()
            .map(|h| h.unwrap().mutation)
            .collect();
        assert_eq!(got, vec![put(1, "a"), put(2, "b")]);
        // New hints after a reopen go to a new file, after the old ones.
        assert!(store.store(host(1), &put(4, "d")));
        let got = read_all(&store, host(1));
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].as_ref().unwrap().mutation, put(4, "d"));
    }

    #[test]
    fn deleting_replayed_files_frees_space() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(HintStoreConfig::new(dir.path()));
        store.store(host(1), &put(1, "a"));
        let files = store.seal(host(1)).unwrap();
        assert!(store.counters().pending_bytes > 0);
        for f in &files {
            store.delete(host(1), f).unwrap();
            assert!(!f.path.exists());
        }
        assert!(store.hosts().is_empty());
        assert_eq!(store.counters().pending_bytes, 0);
    }

    #[test]
    fn full_store_refuses_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HintStoreConfig::new(dir.path());
        config.max_total_bytes = 200;
        config.max_file_bytes = 60;
        let store = open(config);
        let stored = (0..20)
            .filter(|i| store.store(host(1), &put(*i, "v")))
            .count();
        assert!(stored > 1 && stored < 20, "{stored}");
        let c = store.counters();
        assert_eq!(c.stored, stored as u64);
        assert_eq!(c.dropped, 20 - stored as u64);
        assert!(c.pending_bytes <= 200);
        // Small files roll: several files, read back in order.
        let files = store.seal(host(1)).unwrap();
        assert!(files.len() > 1);
        let got: Vec<_> = read_all(&store, host(1));
        assert_eq!(got.len(), stored);
        assert_eq!(got[0].as_ref().unwrap().mutation, put(0, "v"));
    }

    #[test]
    fn old_hints_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(HintStoreConfig::new(dir.path()));
        let old = NOW - 4 * 3600 * 1000;
        assert!(!store.append(host(1), old, &put(1, "a")));
        assert_eq!(store.counters().dropped, 1);
        assert!(store.hosts().is_empty());
    }

    #[test]
    fn torn_tail_stops_the_reader_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(HintStoreConfig::new(dir.path()));
        store.store(host(1), &put(1, "a"));
        store.store(host(1), &put(2, "b"));
        let files = store.seal(host(1)).unwrap();
        let bytes = fs::read(&files[0].path).unwrap();
        // The second record starts after the file header and the first record.
        let first = FILE_HEADER_LEN + encode_record(0, &put(1, "a")).len();
        for cut in [first + 3, bytes.len() - 1] {
            let got: Vec<_> =
                HintReader::from_bytes(&files[0].path, bytes[..cut].to_vec()).collect();
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].as_ref().unwrap().mutation, put(1, "a"));
            let err = got[1].as_ref().unwrap_err();
            assert_eq!(err.offset, first as u64);
            assert_eq!(err.path, files[0].path);
        }
    }

    #[test]
    fn corruption_is_reported_by_offset() {
        let mut bytes = encode_record(5, &put(1, "a"));
        let second = bytes.len();
        bytes.extend(encode_record(6, &put(2, "b")));
        bytes.extend(encode_record(7, &put(3, "c")));
        bytes[second + 12] ^= 0xff;
        let got: Vec<_> = HintReader::from_bytes(Path::new("f.hints"), bytes).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().created_ms, 5);
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(err.offset, second as u64);
        assert!(err.reason.contains("checksum"), "{err}");
    }

    #[test]
    fn new_files_have_a_versioned_header_and_headerless_ones_still_replay() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = encode_record(NOW, &put(1, "a"));
        old.extend(encode_record(NOW, &put(2, "b")));
        fs::write(dir.path().join(file_name(host(1), 0)), &old).unwrap();
        let store = open(HintStoreConfig::new(dir.path()));
        assert!(store.store(host(1), &put(3, "c")));
        let files = store.seal(host(1)).unwrap();
        let versions: Vec<u32> = files
            .iter()
            .map(|f| store.reader(f).unwrap().version())
            .collect();
        assert_eq!(versions, vec![0, 1]);
        assert_eq!(&fs::read(&files[1].path).unwrap()[..4], b"BHNT");
        let got: Vec<Mutation> = read_all(&store, host(1))
            .into_iter()
            .map(|h| h.unwrap().mutation)
            .collect();
        assert_eq!(got, vec![put(1, "a"), put(2, "b"), put(3, "c")]);
    }

    fn sim_store(fs: &SimFs) -> HintStore {
        let config = HintStoreConfig::new("/data/hints");
        HintStore::open(Arc::new(fs.clone()), config, Arc::new(|| NOW)).unwrap()
    }

    fn mutations(store: &HintStore, h: HostId) -> Vec<Mutation> {
        read_all(store, h)
            .into_iter()
            .map(|h| h.expect("no damage").mutation)
            .collect()
    }

    #[test]
    fn after_a_crash_every_synced_hint_survives_and_nothing_else_is_read() {
        let fs = SimFs::new();
        let store = sim_store(&fs);
        for i in 0..3 {
            assert!(store.store(host(1), &put(i, "synced")));
        }
        store.flush().unwrap();
        assert!(store.store(host(1), &put(9, "lost")));
        fs.crash();
        let store = sim_store(&fs);
        let want: Vec<Mutation> = (0..3).map(|i| put(i, "synced")).collect();
        assert_eq!(mutations(&store, host(1)), want);
    }

    #[test]
    fn a_crash_during_a_flush_or_a_file_creation_leaves_a_synced_prefix() {
        for (kind, at, skip) in [
            (FaultKind::SyncData, ".hints", 1),
            (FaultKind::SyncData, ".hints", 0),
            (FaultKind::SyncDir, "hints", 0),
            (FaultKind::Write, ".hints", 1),
        ] {
            let fs = SimFs::new();
            let store = sim_store(&fs);
            fs.halt_on(kind, at, skip);
            let stored: Vec<bool> = (0..3).map(|i| store.store(host(1), &put(i, "v"))).collect();
            let _ = store.flush();
            assert!(fs.is_halted(), "{kind:?} {skip} never happened: {stored:?}");
            fs.restart();
            let got = mutations(&sim_store(&fs), host(1));
            let want: Vec<Mutation> = (0..got.len() as u8).map(|i| put(i, "v")).collect();
            assert_eq!(got, want, "{kind:?} {skip}");
        }
    }

    #[test]
    fn a_failed_fsync_retires_one_file_and_the_others_still_flush() {
        let fs = SimFs::new();
        let store = sim_store(&fs);
        assert!(store.store(host(1), &put(1, "lost")));
        assert!(store.store(host(2), &put(2, "kept")));
        fs.fail_sync_data(&host(1).to_string(), Some(1));
        assert!(store.flush().is_err());
        assert!(store.store(host(1), &put(3, "new file")));
        store.flush().unwrap();
        fs.crash();
        let store = sim_store(&fs);
        assert_eq!(mutations(&store, host(2)), vec![put(2, "kept")]);
        assert_eq!(mutations(&store, host(1)), vec![put(3, "new file")]);
        assert_eq!(store.seal(host(1)).unwrap().len(), 2);
    }

    #[test]
    fn a_torn_last_record_ends_the_file_cleanly() {
        let fs = SimFs::new();
        let store = sim_store(&fs);
        store.store(host(1), &put(1, "a"));
        store.store(host(1), &put(2, "b"));
        let files = store.seal(host(1)).unwrap();
        let len = fs.read_all(&files[0].path).unwrap().len() as u64;
        fs.truncate(&files[0].path, len - 5).unwrap();
        let got: Vec<_> = store.reader(&files[0]).unwrap().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().mutation, put(1, "a"));
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(err.kind, FrameErrorKind::Torn, "{err}");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let n = HintReader::from_bytes(Path::new("r.hints"), bytes).count();
            prop_assert!(n <= 64);
        }

        #[test]
        fn damaged_files_keep_their_good_prefix(cut in 0usize..200, flip in 0usize..200) {
            let mut bytes = Vec::new();
            for i in 0..3 {
                bytes.extend(encode_record(i, &put(i as u8, "value")));
            }
            let len = bytes.len();
            if flip < len { bytes[flip] ^= 0x55; }
            bytes.truncate(cut.min(len));
            let mut good = 0;
            for r in HintReader::from_bytes(Path::new("d.hints"), bytes) {
                match r {
                    Ok(h) => { prop_assert_eq!(h.mutation, put(good as u8, "value")); good += 1; }
                    Err(e) => { prop_assert!(e.offset <= len as u64); }
                }
            }
            prop_assert!(good <= 3);
        }
    }
}
