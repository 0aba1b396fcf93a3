//! The commit log: every mutation is appended here before it reaches a memtable,
//! so that a crash loses no acknowledged write.
//!
//! The log is a directory of fixed-size, pre-allocated segment files. Appends
//! encode a checksummed frame into an in-memory buffer under a short lock; a
//! flush round later writes the buffer with one `write` and makes it durable
//! with one `fdatasync`, which concurrent writers share (group commit). Once
//! every table dirty in a segment has flushed past it, the segment is recycled
//! (renamed to a fresh id, header rewritten) or deleted. After a failed write or
//! fsync the log is poisoned and refuses everything, since the kernel may have
//! dropped the dirty pages and a retry could report false success.
//!
//! Layout, sync modes and replay rules: `docs/design/commitlog.md`.

mod format;
mod payload;
mod replay;
mod segments;
mod writer;

#[cfg(test)]
mod tests;

use crate::background::Background;
use crate::error::{Error, Result};
use crate::io::FileSystem;
use crate::key::TableId;
use crate::mutation::Mutation;
use crate::position::ReplayPosition;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use writer::Shared;

/// When appended records become durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// A background thread writes and fsyncs every `interval_ms`; appends are
    /// acknowledged at once and a crash may lose up to one interval of writes.
    Periodic {
        /// Milliseconds between fsyncs.
        interval_ms: u64,
    },
    /// `wait_durable` returns once the record is written and fsynced; writers
    /// that wait at the same time share one fsync.
    Batch,
    /// Like `Batch`, but the writer that leads an fsync first waits
    /// `window_us` for more records to share it, when other writers are
    /// waiting too.
    Group {
        /// Microseconds the leader waits before writing.
        window_us: u64,
    },
}

impl Default for SyncMode {
    /// Group commit with a 20 µs window, taken only when other writers are
    /// waiting too: a lone writer goes straight to its fsync, while under
    /// concurrency the window catches writers that were just being woken by
    /// the previous round. Measured here (fsync about 90 µs) it made 4 to 16
    /// synchronous writers 1.6 to 1.8 times faster than no window, and changed
    /// nothing for one writer or 64.
    fn default() -> Self {
        SyncMode::Group { window_us: 20 }
    }
}

/// Where segment `id` of a log in `dir` lives (for tools, tests and fuzzing).
pub fn segment_path(dir: &std::path::Path, id: u64) -> PathBuf {
    format::segment_path(dir, id)
}

/// The most the log's segments may take before the tables pinning the oldest
/// are flushed, when not configured: Cassandra's `commitlog_total_space`
/// default, the smaller of 8 GiB and a quarter of the volume holding `dir`
/// (8 GiB when the volume's size cannot be read). `dir` need not exist yet:
/// the nearest existing ancestor's volume is asked.
pub fn default_total_space(dir: &Path) -> u64 {
    const CAP: u64 = 8 << 30;
    let volume = dir
        .ancestors()
        .find_map(|d| rustix::fs::statvfs(d).ok())
        .map(|s| s.f_blocks.saturating_mul(s.f_frsize));
    match volume {
        Some(bytes) if bytes > 0 => CAP.min(bytes / 4),
        _ => CAP,
    }
}

/// How the commit log is laid out and synced.
#[derive(Clone, Debug)]
pub struct CommitLogOptions {
    /// The directory holding the segment files (created if missing).
    pub dir: PathBuf,
    /// The size of each segment file (default 32 MiB, at least 4 KiB).
    pub segment_size_bytes: u64,
    /// When records become durable.
    pub sync: SyncMode,
    /// Replay skips corrupt records followed by valid ones (with a warning)
    /// instead of failing. An operator's choice to lose data knowingly.
    pub skip_corrupt_records: bool,
    /// How many emptied segments are kept for reuse instead of deleted.
    pub max_recycled_segments: usize,
    /// Compress each record's payload with LZ4 when that makes it smaller
    /// (Cassandra's `commitlog_compression`). On by default: the log is
    /// usually the largest part of a node's write traffic.
    pub compression: bool,
}

impl CommitLogOptions {
    /// Defaults for a log in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CommitLogOptions {
            dir: dir.into(),
            segment_size_bytes: 32 << 20,
            sync: SyncMode::default(),
            skip_corrupt_records: false,
            max_recycled_segments: 4,
            compression: true,
        }
    }
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records handed to the callback.
    pub records: u64,
    /// Segment files read.
    pub segments: u64,
    /// Bytes of torn tails and skipped corruption.
    pub bytes_skipped: u64,
    /// One line per torn tail or skipped corruption (also logged).
    pub warnings: Vec<String>,
}

/// Counters for monitoring and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitLogStats {
    /// Segment files holding records that may still be needed (active included).
    pub segments: usize,
    /// Emptied or pre-allocated segment files ready for reuse.
    pub recycled_segments: usize,
    /// Records appended since open.
    pub appends: u64,
    /// Bytes of framed records appended since open.
    pub bytes_appended: u64,
    /// `write` calls made since open.
    pub writes: u64,
    /// `fdatasync` calls on segments since open.
    pub syncs: u64,
}

/// The commit log of one engine; `Send + Sync`, shared through an `Arc`.
#[derive(Debug)]
pub struct CommitLog {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl CommitLog {
    /// Opens (creating if needed) the log in `opts.dir`. Existing segments are
    /// kept for [`CommitLog::replay`]; new records go to a fresh segment.
    pub fn open(fs: Arc<dyn FileSystem>, opts: CommitLogOptions) -> Result<CommitLog> {
        Self::open_with(fs, opts, Background::Threads)
    }

    /// As [`CommitLog::open`], with the background work placed as
    /// `background` says. [`Background::Inline`] starts no thread: a rollover
    /// creates the next segment itself, batch and group modes fsync in the
    /// writer (without group commit's window, since no other writer can
    /// arrive meanwhile), and in periodic mode nothing is fsynced until the
    /// caller calls [`CommitLog::sync`] (a writer only writes a buffer that
    /// outgrew its bound out, unsynced, as the syncer thread would).
    pub fn open_with(
        fs: Arc<dyn FileSystem>,
        opts: CommitLogOptions,
        background: Background,
    ) -> Result<CommitLog> {
        let shared = Arc::new(Shared::open(fs, opts, background)?);
        let threads = match background {
            Background::Inline => Vec::new(),
            Background::Threads => match writer::spawn_threads(&shared) {
                Ok(t) => t,
                Err(e) => {
                    // Stops a thread that did start.
                    let _ = shared.close();
                    return Err(e);
                }
            },
        };
        Ok(CommitLog {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Hands every decodable record of the segments found at open to `apply`,
    /// in position order. Called once, before appends. Skipping records that
    /// a table already flushed is the caller's business; afterwards the caller
    /// should call [`CommitLog::discard_completed`] (or `forget_table`) for
    /// every table it saw so that old segments can go.
    pub fn replay(
        &self,
        apply: &mut dyn FnMut(ReplayPosition, Mutation) -> Result<()>,
    ) -> Result<ReplayStats> {
        replay::replay(&self.shared, apply)
    }

    /// Logs one encoded mutation of `table` and returns its position. Not yet
    /// durable: see [`CommitLog::wait_durable`].
    pub fn append(&self, table: TableId, encoded_mutation: &[u8]) -> Result<ReplayPosition> {
        self.shared.append(table, encoded_mutation)
    }

    /// Blocks until the record at `pos` is fsynced (batch and group modes);
    /// returns at once in periodic mode. Fails if the log is poisoned.
    pub fn wait_durable(&self, pos: ReplayPosition) -> Result<()> {
        self.shared.wait_durable(pos)
    }

    /// The position the next record will get (or a smaller one): every record
    /// appended before this call is below it.
    pub fn current_position(&self) -> ReplayPosition {
        self.shared.current_position()
    }

    /// Records that `table`'s records below `flushed_up_to` are in SSTables
    /// (whose manifest is durable), then recycles or deletes segments that no
    /// table needs any more.
    pub fn discard_completed(&self, table: TableId, flushed_up_to: ReplayPosition) -> Result<()> {
        self.shared.discard_completed(table, flushed_up_to)
    }

    /// The tables to flush so that the log's segments fit in `limit_bytes`
    /// again: those dirty in the oldest segments, taken oldest first until
    /// the segments they pin cover the excess (Cassandra flushes the tables
    /// dirty in the oldest segment). Empty while the log is within the limit.
    pub fn tables_over_limit(&self, limit_bytes: u64) -> Vec<TableId> {
        self.shared.tables_over_limit(limit_bytes)
    }

    /// Marks a dropped or truncated table clean in every segment.
    pub fn forget_table(&self, table: TableId) -> Result<()> {
        self.shared.forget_table(table)
    }

    /// Writes and fsyncs everything appended so far, in any sync mode.
    pub fn sync(&self) -> Result<()> {
        self.shared.sync()
    }

    /// Current counters.
    pub fn stats(&self) -> CommitLogStats {
        self.shared.stats()
    }

    /// Refuses further appends, fsyncs what was appended and stops the
    /// background threads. Also done, best effort, on drop.
    pub fn shutdown(&self) -> Result<()> {
        let result = self.shared.close();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            if t.join().is_err() {
                return Err(Error::Poisoned("a commit log thread panicked".into()));
            }
        }
        result
    }
}

impl Drop for CommitLog {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!("commit log shutdown on drop failed: {e}");
        }
    }
}
