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
//! **No disk I/O on the caller's thread.** The write path runs on the async
//! runtime, next to gossip: an append that waited for a slow disk would
//! stall heartbeats and get healthy nodes convicted. So an append only
//! encodes the hint and pushes it on a byte-bounded queue
//! (`max_queued_bytes`); the store's own writer thread creates, writes and
//! fsyncs the files. When the queue is full the hint is refused and counted
//! as dropped (and as overloaded), as Cassandra drops hints under overload.
//! A caller that needs the hint on disk (a write at ANY) appends with
//! [`HintStore::append_durably`] and awaits the answer: the writer takes
//! everything queued at once and fsyncs each touched file once for the
//! whole group (group commit).
//!
//! Otherwise durability is batched like Cassandra's `hints_flush_period`:
//! the writer fsyncs the open files once `flush_bytes` are pending or
//! `flush_period` has passed since the last flush. **Loss window:** hints
//! queued or appended since the last flush (up to `max_queued_bytes` plus
//! `flush_bytes`, or `flush_period` of traffic) are lost if the process or
//! machine dies; a torn last record is detected by its length and CRC and
//! skipped. Losing such a hint only weakens convergence until repair, never
//! an acknowledged consistency level: only ANY counts hints, and it waits
//! for the fsync.
//!
//! The store is bounded: past `max_total_bytes` on disk new hints are
//! refused and counted as dropped.
//!
//! **Inline mode.** Opened on a thread in inline mode (a deterministic
//! simulation, see [`crate::blocking`]), the store starts no writer thread:
//! an append writes its hint on the caller (a durable one fsyncs there too,
//! before `append_durably` returns its future), in the same files with the
//! same limits and counters; nothing is ever queued. The periodic flush is
//! then a task on the runtime the store was opened in, sleeping on tokio's
//! clock, so simulated time drives it (opened outside a runtime, the next
//! append or flush does it once due).
//!
//! A hint lives `min(max_hint_window, its table's gc grace)` from its
//! creation ([`HintStore::lifetime`], `HintStoreConfig::gc_grace`): older,
//! it is neither stored nor replayed, since the tombstones it missed may
//! have been purged and replaying it would resurrect deleted data.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use storage::FileSystem;
use storage::durable::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameError, FrameErrorKind, FramedFormat, FramedReader,
    FramedWriter,
};
use storage::{Mutation, TableId};
// Tokio's clock: the real one normally, the paused one of a simulation's
// runtime when the store runs inline there.
use tokio::time::Instant;

use super::queue::{Queue, Queued};
use crate::coordinator::HintSink;
use crate::gc_grace::{self, GcGrace};
use crate::net::BoxFuture;
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
    /// Each table's gc grace period: a hint older than its table's is
    /// neither stored nor replayed either (it could resurrect data whose
    /// tombstone was purged). The node passes its engine's.
    pub gc_grace: GcGrace,
    /// Hints waiting for the writer thread may take this much memory
    /// (payloads plus a small overhead each); past it new hints are dropped:
    /// 16 MiB.
    pub max_queued_bytes: u64,
}

impl HintStoreConfig {
    /// Cassandra-like defaults for a store in `dir`: 10 s / 1 MiB flushes,
    /// 8 MiB files, 1 GiB in all, a 3 h window, a 16 MiB queue; no table's
    /// gc grace known.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        HintStoreConfig {
            dir: dir.into(),
            max_total_bytes: 1 << 30,
            max_file_bytes: 8 << 20,
            flush_period: Duration::from_secs(10),
            flush_bytes: 1 << 20,
            max_hint_window: Duration::from_secs(3 * 3600),
            gc_grace: GcGrace::unknown(),
            max_queued_bytes: 16 << 20,
        }
    }
}

/// The store's counters (for /metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintCounters {
    /// Hints written to a file.
    pub stored: u64,
    /// Hints delivered by replay.
    pub replayed: u64,
    /// Hints refused (store full, queue full, too old, I/O error) or lost
    /// to a failed fsync.
    pub dropped: u64,
    /// Stored hints not replayed because they outlived their window: the
    /// hint window or their table's gc grace, whichever is shorter.
    pub expired: u64,
    /// Of the dropped hints, those refused because the writer's queue was
    /// full (the disk did not keep up).
    pub overloaded: u64,
    /// Hints skipped at replay because their replica answered that they can
    /// never be applied (their table does not exist there).
    pub undeliverable: u64,
    /// Bytes in hint files now.
    pub pending_bytes: u64,
    /// Bytes waiting for the writer thread now.
    pub queued_bytes: u64,
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
    /// Hints appended since the last sync: lost if it fails.
    unsynced_hints: u64,
}

/// Every file on disk. Its lock is never held across I/O, so the runtime's
/// threads may read it (`hosts`, `counters`).
#[derive(Debug)]
struct Files {
    /// Every file by host and sequence number, with its size.
    by_host: BTreeMap<HostId, BTreeMap<u64, u64>>,
    next_seq: u64,
    total_bytes: u64,
}

/// The files being appended to. Its lock is held across writes and fsyncs,
/// so only the writer thread and blocking callers (`flush`, `seal`) take it,
/// and, in inline mode, the appending caller.
#[derive(Debug)]
struct Writers {
    open: HashMap<HostId, OpenFile>,
    unflushed: u64,
    last_flush: Instant,
    /// Hosts with a file whose fsync failed during the current group: their
    /// waiters are told their hint is not durable.
    failed_syncs: Vec<HostId>,
}

/// What the store's handle and its writer thread (or inline flusher) share.
struct Shared {
    fs: Arc<dyn FileSystem>,
    config: HintStoreConfig,
    files: Mutex<Files>,
    writers: Mutex<Writers>,
    queue: Queue,
    stored: AtomicU64,
    dropped: AtomicU64,
    overloaded: AtomicU64,
}

/// Hints on disk, per target host; see the module docs. Dropping the store
/// stops its writer thread after it wrote and fsynced what was queued.
pub struct HintStore {
    shared: Arc<Shared>,
    clock: HintClock,
    /// The writer thread; `None` in inline mode.
    writer: Option<std::thread::JoinHandle<()>>,
    /// In inline mode only: what runs the periodic flush.
    inline: Option<InlineFlusher>,
    replayed: AtomicU64,
    expired: AtomicU64,
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
            .field("config", &self.shared.config)
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

/// The files a previous run left in `dir`.
fn scan_dir(fs: &dyn FileSystem, dir: &Path) -> io::Result<Files> {
    let mut files = Files {
        by_host: BTreeMap::new(),
        next_seq: 0,
        total_bytes: 0,
    };
    for path in fs.read_dir(dir)? {
        let name = path.file_name().and_then(|n| n.to_str());
        let Some((host, seq)) = name.and_then(parse_name) else {
            continue;
        };
        let len = fs.open(&path)?.size()?;
        files.by_host.entry(host).or_default().insert(seq, len);
        files.total_bytes += len;
        files.next_seq = files.next_seq.max(seq + 1);
    }
    Ok(files)
}

/// The periodic flush of an inline store: a task on the runtime the store
/// was opened in, woken after each append.
#[derive(Debug)]
struct InlineFlusher {
    wake: Arc<tokio::sync::Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InlineFlusher {
    /// The flusher of `shared`: a task when there is a runtime to run it.
    fn start(shared: &Arc<Shared>) -> InlineFlusher {
        let wake = Arc::new(tokio::sync::Notify::new());
        let task = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            runtime.spawn(flush_periodically(
                Arc::downgrade(shared),
                Arc::clone(&wake),
            ))
        });
        InlineFlusher { wake, task }
    }
}

/// Fsyncs an inline store's files once `flush_period` has passed since the
/// last flush with hints pending, sleeping on tokio's clock; ends with the
/// store.
async fn flush_periodically(shared: std::sync::Weak<Shared>, wake: Arc<tokio::sync::Notify>) {
    loop {
        let Some(due) = shared.upgrade().map(|s| s.until_flush_due()) else {
            return;
        };
        match due {
            // Nothing pending: an append wakes us (a wake-up sent before
            // we wait is kept, so none is missed).
            None => wake.notified().await,
            Some(wait) => {
                tokio::time::sleep(wait).await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                if let Err(e) = shared.flush_if_due() {
                    tracing::warn!(error = %e, "could not flush hints");
                }
            }
        }
    }
}

impl HintStore {
    /// Opens (creating) the store in `config.dir` on `fs`, picking up the
    /// files a previous run left, and starts its writer thread (in inline
    /// mode, none: see the module docs); hints are stamped and aged by
    /// `clock`.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        config: HintStoreConfig,
        clock: HintClock,
    ) -> io::Result<HintStore> {
        fs.create_dir_all(&config.dir)?;
        let files = scan_dir(fs.as_ref(), &config.dir)?;
        let writers = Writers {
            open: HashMap::new(),
            unflushed: 0,
            last_flush: Instant::now(),
            failed_syncs: Vec::new(),
        };
        let shared = Arc::new(Shared {
            fs,
            queue: Queue::new(config.max_queued_bytes),
            config,
            files: Mutex::new(files),
            writers: Mutex::new(writers),
            stored: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
        });
        let (writer, inline) = if crate::blocking::is_inline() {
            (None, Some(InlineFlusher::start(&shared)))
        } else {
            let shared = Arc::clone(&shared);
            let writer = std::thread::Builder::new()
                .name("hint-writer".into())
                .spawn(move || shared.run())?;
            (Some(writer), None)
        };
        Ok(HintStore {
            shared,
            clock,
            writer,
            inline,
            replayed: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            undeliverable: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn config(&self) -> &HintStoreConfig {
        &self.shared.config
    }

    fn path(&self, host: HostId, seq: u64) -> PathBuf {
        self.shared.path(host, seq)
    }

    /// Now, by the store's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// How long a hint for `table` lives: the hint window, or the table's
    /// gc grace when shorter (as Cassandra: a hint replayed after the
    /// tombstones it missed may have been purged could resurrect data).
    pub fn lifetime(&self, table: TableId) -> Duration {
        let config = &self.shared.config;
        let window = config.max_hint_window;
        config.gc_grace.of(table).map_or(window, |g| g.min(window))
    }

    /// Whether a hint for `table` created at `created_ms` has outlived its
    /// [`HintStore::lifetime`] (a zero lifetime: always).
    pub fn expired(&self, created_ms: u64, table: TableId) -> bool {
        let age = self.now_ms().saturating_sub(created_ms);
        gc_grace::past(age, self.lifetime(table))
    }

    /// Queues a hint for `host` created at `created_ms` for the writer
    /// thread, without waiting for the disk; false (counted as dropped) when
    /// it is too old or the queue is full. Whether it then reaches a file
    /// shows in the counters: a failed write counts it as dropped. In inline
    /// mode it writes the hint itself, and false also means that write
    /// refused or failed it.
    pub fn append(&self, host: HostId, created_ms: u64, mutation: &Mutation) -> bool {
        self.enqueue(host, created_ms, mutation, None)
    }

    /// Queues a hint as [`HintStore::append`] does, and resolves once the
    /// writer has it on disk and fsynced (true), or could not store it
    /// (false: too old, queue or store full, I/O error). Only the returned
    /// future waits; queueing never blocks. In inline mode the hint is
    /// written and fsynced before this returns, and the future is ready.
    pub fn append_durably(
        &self,
        host: HostId,
        created_ms: u64,
        mutation: &Mutation,
    ) -> impl Future<Output = bool> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.enqueue(host, created_ms, mutation, Some(tx));
        async move { queued && rx.await.unwrap_or(false) }
    }

    fn enqueue(
        &self,
        host: HostId,
        created_ms: u64,
        mutation: &Mutation,
        durable: Option<tokio::sync::oneshot::Sender<bool>>,
    ) -> bool {
        if self.expired(created_ms, mutation.table) {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let payload = encode_payload(created_ms, mutation);
        let hint = Queued {
            host,
            payload,
            durable,
        };
        if let Some(inline) = &self.inline {
            let stored = self.shared.write_group(vec![hint]) == 1;
            // The flush period may start now.
            inline.wake.notify_one();
            return stored;
        }
        if self.shared.queue.push(hint).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.overloaded.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%host, "hint queue full; hint dropped");
            return false;
        }
        true
    }

    /// Writes and fsyncs every hint queued before the call. Blocks the
    /// thread: call it off the async runtime.
    pub fn flush(&self) -> io::Result<()> {
        self.shared.queue.wait_written();
        self.shared.flush_all(&mut self.shared.writers())
    }

    /// Hosts with hint files.
    pub fn hosts(&self) -> Vec<HostId> {
        self.shared.files().by_host.keys().copied().collect()
    }

    /// Closes `host`'s open file (new hints go to a new one) once the hints
    /// queued before the call are in it, and returns all its files, oldest
    /// first, for replay. Blocks the thread: call it off the async runtime.
    pub fn seal(&self, host: HostId) -> io::Result<Vec<HintFile>> {
        self.shared.queue.wait_written();
        let mut writers = self.shared.writers();
        if let Some(mut open) = writers.open.remove(&host) {
            self.shared.sync(&mut writers, host, &mut open)?;
        }
        drop(writers);
        let seqs = self
            .shared
            .files()
            .by_host
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
        match self.shared.fs.remove_file(&file.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut files = self.shared.files();
        let of_host = files.by_host.entry(host).or_default();
        let size = of_host.remove(&file.seq).unwrap_or(0);
        if of_host.is_empty() {
            files.by_host.remove(&host);
        }
        files.total_bytes = files.total_bytes.saturating_sub(size);
        Ok(())
    }

    /// Waits until the writer has written (not necessarily fsynced) every
    /// hint queued before the call.
    #[cfg(test)]
    pub(crate) fn wait_written(&self) {
        self.shared.queue.wait_written();
    }

    /// A reader of one of the files [`HintStore::seal`] handed out.
    pub(crate) fn reader(&self, file: &HintFile) -> io::Result<HintReader> {
        HintReader::open(self.shared.fs.as_ref(), &file.path)
    }

    /// Counts hints delivered by replay.
    pub fn count_replayed(&self, n: u64) {
        self.replayed.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts hints given up on at replay because they expired.
    pub fn count_expired(&self, n: u64) {
        self.expired.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts hints skipped at replay because they can never be applied.
    pub fn count_undeliverable(&self, n: u64) {
        self.undeliverable.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn counters(&self) -> HintCounters {
        let s = &self.shared;
        HintCounters {
            stored: s.stored.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            overloaded: s.overloaded.load(Ordering::Relaxed),
            undeliverable: self.undeliverable.load(Ordering::Relaxed),
            pending_bytes: s.files().total_bytes,
            queued_bytes: s.queue.queued_bytes(),
        }
    }
}

impl Drop for HintStore {
    fn drop(&mut self) {
        if let Some(mut inline) = self.inline.take() {
            if let Some(task) = inline.task.take() {
                task.abort();
            }
            // What the writer thread does when it stops.
            if let Err(e) = self.shared.flush_all(&mut self.shared.writers()) {
                tracing::warn!(error = %e, "could not flush hints");
            }
        }
        self.shared.queue.close();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the hint writer thread panicked");
        }
    }
}

/// Stops the queue when the writer thread ends, however it ends, so that
/// nobody waits for a writer that is gone.
struct WriterGone<'a>(&'a Shared);

impl Drop for WriterGone<'_> {
    fn drop(&mut self) {
        let orphans = self.0.queue.writer_gone() as u64;
        self.0.dropped.fetch_add(orphans, Ordering::Relaxed);
    }
}

impl Shared {
    fn files(&self) -> MutexGuard<'_, Files> {
        // Updated only after the I/O it describes succeeded, in steps that
        // cannot panic half-way.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn writers(&self) -> MutexGuard<'_, Writers> {
        // A failed writer is removed before its error is returned; a panic
        // elsewhere leaves the map consistent enough to go on.
        self.writers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, host: HostId, seq: u64) -> PathBuf {
        self.config.dir.join(file_name(host, seq))
    }

    /// The writer thread: takes what is queued, writes it, fsyncs when a
    /// caller waits for durability or a flush is due, until the store closes.
    fn run(&self) {
        let _gone = WriterGone(self);
        // The flush period counts on this thread's clock from now.
        self.writers().last_flush = Instant::now();
        loop {
            let taken = self.queue.take(self.until_flush_due());
            if !taken.hints.is_empty() {
                self.write_group(taken.hints);
                self.queue.written(taken.upto);
            } else if let Err(e) = self.flush_if_due() {
                tracing::warn!(error = %e, "could not flush hints");
            }
            if taken.closed {
                if let Err(e) = self.flush_all(&mut self.writers()) {
                    tracing::warn!(error = %e, "could not flush hints");
                }
                return;
            }
        }
    }

    /// How long the writer may sleep before a periodic flush is due; `None`
    /// when nothing is waiting for one.
    fn until_flush_due(&self) -> Option<Duration> {
        let writers = self.writers();
        (writers.unflushed > 0).then(|| {
            self.config
                .flush_period
                .saturating_sub(writers.last_flush.elapsed())
        })
    }

    fn flush_if_due(&self) -> io::Result<()> {
        let mut writers = self.writers();
        if writers.unflushed > 0 && writers.last_flush.elapsed() >= self.config.flush_period {
            self.flush_all(&mut writers)?;
        }
        Ok(())
    }

    /// Appends a group of hints; fsyncs every open file once if some caller
    /// waits for durability or a flush is due, then answers the waiters.
    /// How many of the hints were appended.
    fn write_group(&self, hints: Vec<Queued>) -> usize {
        let mut writers = self.writers();
        writers.failed_syncs.clear();
        let mut waiters = Vec::new();
        let mut appended_count = 0;
        for hint in hints {
            let appended = match self.append_one(&mut writers, hint.host, &hint.payload) {
                Ok(fits) => fits,
                Err(e) => {
                    tracing::warn!(host = %hint.host, error = %e, "could not store a hint");
                    false
                }
            };
            if appended {
                appended_count += 1;
                self.stored.fetch_add(1, Ordering::Relaxed);
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(tx) = hint.durable {
                waiters.push((hint.host, appended, tx));
            }
        }
        let due = !waiters.is_empty()
            || writers.unflushed >= self.config.flush_bytes
            || writers.last_flush.elapsed() >= self.config.flush_period;
        if !due {
            return appended_count;
        }
        let failed = self.flush_hosts(&mut writers);
        // A file rolled during the group was fsynced then; if that failed,
        // the host is listed too (conservatively, whichever file its hint
        // went to).
        let unsynced = std::mem::take(&mut writers.failed_syncs);
        drop(writers);
        for (host, appended, tx) in waiters {
            let _ = tx.send(appended && !unsynced.contains(&host));
        }
        if let Some((_, e)) = failed.first() {
            tracing::warn!(error = %e, "could not flush hints");
        }
        appended_count
    }

    /// Appends one record for `host`, rolling its file when full; false when
    /// the record (and the header of a new file) would pass `max_total_bytes`.
    fn append_one(&self, writers: &mut Writers, host: HostId, payload: &[u8]) -> io::Result<bool> {
        let full = writers
            .open
            .get(&host)
            .is_some_and(|f| f.writer.len() >= self.config.max_file_bytes);
        let new_file = full || !writers.open.contains_key(&host);
        let header = if new_file { FILE_HEADER_LEN } else { 0 };
        let cost = (header + FRAME_HEADER_LEN + payload.len()) as u64;
        if self.files().total_bytes + cost > self.config.max_total_bytes {
            return Ok(false);
        }
        if full && let Some(mut old) = writers.open.remove(&host) {
            self.sync(writers, host, &mut old)?;
        }
        if !writers.open.contains_key(&host) {
            self.start_file(writers, host)?;
        }
        let Some(open) = writers.open.get_mut(&host) else {
            return Err(io::Error::other("hint file vanished"));
        };
        let len = match open.writer.append(payload) {
            Ok(len) => len,
            Err(e) => {
                // A failed writer refuses everything after: the host's next
                // hint starts a new file.
                if let Some(failed) = writers.open.remove(&host) {
                    self.retire(writers, failed);
                }
                return Err(e);
            }
        };
        open.unflushed += len;
        open.unsynced_hints += 1;
        let seq = open.seq;
        writers.unflushed += len;
        let mut files = self.files();
        if let Some(size) = files.by_host.get_mut(&host).and_then(|f| f.get_mut(&seq)) {
            *size += len;
        }
        files.total_bytes += len;
        Ok(true)
    }

    /// Creates the next file for `host`, its header already durable.
    fn start_file(&self, writers: &mut Writers, host: HostId) -> io::Result<()> {
        let seq = {
            let mut files = self.files();
            files.next_seq += 1;
            files.next_seq - 1
        };
        let path = self.path(host, seq);
        let writer = FramedWriter::create(self.fs.as_ref(), &path, &HINTS_FORMAT)?;
        let mut files = self.files();
        files
            .by_host
            .entry(host)
            .or_default()
            .insert(seq, writer.len());
        files.total_bytes += writer.len();
        drop(files);
        let open = OpenFile {
            seq,
            writer,
            unflushed: 0,
            unsynced_hints: 0,
        };
        writers.open.insert(host, open);
        Ok(())
    }

    /// Forgets a file that failed: its unsynced hints may be lost.
    fn retire(&self, writers: &mut Writers, mut file: OpenFile) {
        writers.unflushed = writers.unflushed.saturating_sub(file.unflushed);
        file.unflushed = 0;
        let lost = std::mem::take(&mut file.unsynced_hints);
        self.dropped.fetch_add(lost, Ordering::Relaxed);
    }

    /// Writes and fsyncs one file taken out of `writers.open`; its bytes are
    /// no longer pending, synced or not (a failed file is never written
    /// again, and its unsynced hints count as dropped).
    fn sync(&self, writers: &mut Writers, host: HostId, open: &mut OpenFile) -> io::Result<()> {
        writers.unflushed = writers.unflushed.saturating_sub(open.unflushed);
        open.unflushed = 0;
        match open.writer.sync() {
            Ok(()) => {
                open.unsynced_hints = 0;
                Ok(())
            }
            Err(e) => {
                let lost = std::mem::take(&mut open.unsynced_hints);
                self.dropped.fetch_add(lost, Ordering::Relaxed);
                writers.failed_syncs.push(host);
                Err(e)
            }
        }
    }

    /// Writes and fsyncs every open file; the first failure.
    fn flush_all(&self, writers: &mut Writers) -> io::Result<()> {
        match self.flush_hosts(writers).into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes and fsyncs every open file with unsynced hints, each once. A
    /// file that fails is retired (a failed writer refuses everything after,
    /// so keeping it would fail every later flush); its host's next hint
    /// starts a new file. The others are still synced. The hosts whose file
    /// failed.
    fn flush_hosts(&self, writers: &mut Writers) -> Vec<(HostId, io::Error)> {
        let mut failed = Vec::new();
        // A file with nothing appended since its last fsync needs none.
        let dirty = writers.open.iter_mut().filter(|(_, f)| f.unflushed > 0);
        for (host, open) in dirty {
            if let Err(e) = open.writer.sync() {
                failed.push((*host, e));
                continue;
            }
            open.unflushed = 0;
            open.unsynced_hints = 0;
        }
        for (host, _) in &failed {
            if let Some(file) = writers.open.remove(host) {
                self.retire(writers, file);
            }
            writers.failed_syncs.push(*host);
        }
        writers.unflushed = writers.open.values().map(|f| f.unflushed).sum();
        writers.last_flush = Instant::now();
        failed
    }
}

impl HintSink for HintStore {
    fn store(&self, host: HostId, mutation: &Mutation) -> bool {
        self.append(host, self.now_ms(), mutation)
    }

    fn store_durably(&self, host: HostId, mutation: &Mutation) -> BoxFuture<'static, bool> {
        Box::pin(self.append_durably(host, self.now_ms(), mutation))
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
        for i in 0..20 {
            // Queued: the writer finds the store full.
            assert!(store.store(host(1), &put(i, "v")));
        }
        store.wait_written();
        let c = store.counters();
        let stored = c.stored as usize;
        assert!(stored > 1 && stored < 20, "{stored}");
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
        store.wait_written();
        fs.crash();
        drop(store);
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
            drop(store);
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
        store.wait_written();
        fs.fail_sync_data(&host(1).to_string(), Some(1));
        assert!(store.flush().is_err());
        assert_eq!(store.counters().dropped, 1, "the unsynced hint");
        assert!(store.store(host(1), &put(3, "new file")));
        store.flush().unwrap();
        fs.crash();
        drop(store);
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

    /// A store on `fs` opened in inline mode (the thread then leaves it: the
    /// store keeps the mode it was opened in).
    fn inline_store(fs: &SimFs, config: HintStoreConfig) -> HintStore {
        crate::blocking::set_inline(true);
        let store = HintStore::open(Arc::new(fs.clone()), config, Arc::new(|| NOW));
        crate::blocking::set_inline(false);
        store.unwrap()
    }

    #[test]
    fn inline_hints_are_written_by_the_caller_and_survive_a_reopen() {
        let fs = SimFs::new();
        let config = HintStoreConfig::new("/data/hints");
        let store = inline_store(&fs, config.clone());
        assert!(store.store(host(1), &put(1, "a")));
        assert!(store.store(host(1), &put(2, "b")));
        assert!(store.store(host(2), &put(3, "c")));
        // Written already, without waiting for anyone.
        let c = store.counters();
        assert_eq!((c.stored, c.queued_bytes), (3, 0));
        // Dropping the store flushes, as its writer thread would.
        drop(store);
        fs.crash();
        let store = inline_store(&fs, config);
        assert_eq!(store.hosts(), vec![host(1), host(2)]);
        assert_eq!(mutations(&store, host(1)), vec![put(1, "a"), put(2, "b")]);
        assert_eq!(mutations(&store, host(2)), vec![put(3, "c")]);
    }

    #[test]
    fn inline_a_full_store_refuses_at_once_and_counts() {
        let fs = SimFs::new();
        let mut config = HintStoreConfig::new("/data/hints");
        config.max_total_bytes = 200;
        config.max_file_bytes = 60;
        let store = inline_store(&fs, config);
        // No queue in between: the caller hears the refusal.
        let accepted = (0..20)
            .filter(|&i| store.store(host(1), &put(i, "v")))
            .count() as u64;
        assert!(accepted > 1 && accepted < 20, "{accepted}");
        let c = store.counters();
        assert_eq!((c.stored, c.dropped), (accepted, 20 - accepted));
        assert!(c.pending_bytes <= 200);
        assert!(store.seal(host(1)).unwrap().len() > 1, "small files roll");
        let want: Vec<Mutation> = (0..accepted as u8).map(|i| put(i, "v")).collect();
        assert_eq!(mutations(&store, host(1)), want);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn inline_a_durable_append_is_fsynced_when_it_returns() {
        let fs = SimFs::new();
        let config = HintStoreConfig::new("/data/hints");
        let store = inline_store(&fs, config.clone());
        let start = Instant::now();
        let durable = store.append_durably(host(1), NOW, &put(1, "durable"));
        assert!(store.append(host(1), NOW, &put(2, "not synced")));
        // The power fails before anyone awaits the answer.
        fs.crash();
        assert!(durable.await);
        assert_eq!(Instant::now(), start, "no time passed waiting");
        drop(store);
        let store = inline_store(&fs, config);
        assert_eq!(mutations(&store, host(1)), vec![put(1, "durable")]);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn inline_the_flush_period_runs_on_tokio_time() {
        let config = HintStoreConfig::new("/data/hints");
        let period = config.flush_period;
        // Crashed just before the period ends, the hint is lost; just after,
        // the periodic flush has made it durable. (Not at the very end: which
        // of two timers due at once runs first is not this test's business.)
        let ms = Duration::from_millis(1);
        for (waited, kept) in [(period - ms, false), (period + ms, true)] {
            let fs = SimFs::new();
            let store = inline_store(&fs, config.clone());
            assert!(store.append(host(1), NOW, &put(1, "a")));
            tokio::time::sleep(waited).await;
            fs.crash();
            drop(store);
            let got = mutations(&inline_store(&fs, config.clone()), host(1));
            assert_eq!(!got.is_empty(), kept, "after {waited:?}");
        }
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
