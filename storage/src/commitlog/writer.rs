//! The write path: appends into an in-memory buffer, flush rounds that write
//! and fsync it outside the lock, and the background threads.
//!
//! One lock guards the buffer and the bookkeeping; it is held only to encode a
//! frame or to swap buffers, never across I/O. At most one flush round runs at
//! a time (the `flushing` flag): a writer that needs durability either leads the
//! next round or waits for the running one and then, if its record is still not
//! covered, leads the next. So writers arriving during an fsync share the next.

use super::format::{self, HEADER_LEN};
use super::{CommitLogOptions, CommitLogStats, SyncMode};
use crate::background::Background;
use crate::error::{Error, Result};
use crate::io::{File, FileSystem};
use crate::key::TableId;
use crate::position::ReplayPosition;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// In periodic mode the buffer is written out (without fsync) past this size.
const PERIODIC_WRITE_THRESHOLD: usize = 1 << 20;
/// Buffers kept for reuse between rounds, and the largest capacity kept.
const BUFFER_POOL: usize = 4;
const MAX_POOLED_CAPACITY: usize = 4 << 20;

/// An open segment file.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) id: u64,
    pub(super) file: Arc<dyn File>,
}

/// Which tables a segment holds records of, with each one's last record offset.
#[derive(Debug)]
pub(super) enum Dirty {
    /// Found at open and not yet replayed.
    Unknown,
    /// Known tables.
    Known(HashMap<TableId, u64>),
}

/// Encoded records of one segment handed to a flush round.
#[derive(Debug)]
struct Chunk {
    segment: u64,
    file: Arc<dyn File>,
    offset: u64,
    data: Vec<u8>,
}

/// What one flush round writes and fsyncs.
#[derive(Debug)]
struct Work {
    chunks: Vec<Chunk>,
    fsync: Vec<(u64, Arc<dyn File>)>,
    target: ReplayPosition,
    sync: bool,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) active: Segment,
    pub(super) active_dirty: HashMap<TableId, u64>,
    /// Where the next record of the active segment goes.
    next_offset: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    /// Records of earlier segments not yet handed to a round.
    sealed: Vec<Chunk>,
    /// Files written but not fsynced.
    unsynced: Vec<(u64, Arc<dyn File>)>,
    /// Every record below this position was written / fsynced.
    pub(super) written: ReplayPosition,
    durable: ReplayPosition,
    flushing: bool,
    /// Threads inside `ensure`, a sign of concurrent writers.
    waiters: usize,
    pub(super) poison: Option<String>,
    pub(super) closed: bool,
    /// Segments holding records, the active one excepted.
    pub(super) segments: BTreeMap<u64, Dirty>,
    /// Segments found at open, for replay: (id, path).
    pub(super) old: Vec<(u64, PathBuf)>,
    pub(super) replayed: bool,
    /// The first segment this process wrote; lower ones are never written.
    pub(super) first_new_segment: u64,
    /// Empty segments ready to become active, all with ids above the active one.
    pub(super) ready: BTreeMap<u64, Arc<dyn File>>,
    allocating: bool,
    pub(super) recycling: usize,
    pub(super) next_id: u64,
    pool: Vec<Vec<u8>>,
    pub(super) stats: CommitLogStats,
}

impl State {
    /// Hands out a segment id larger than every id used so far.
    pub(super) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn check_open(&self) -> Result<()> {
        if let Some(p) = &self.poison {
            return Err(Error::Poisoned(p.clone()));
        }
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    pub(super) fn current_position(&self) -> ReplayPosition {
        ReplayPosition {
            segment_id: self.active.id,
            offset: self.next_offset,
        }
    }

    /// Takes everything appended so far for a round.
    fn take_work(&mut self, sync: bool) -> Work {
        let mut chunks = std::mem::take(&mut self.sealed);
        if !self.buf.is_empty() {
            let fresh = self.pool.pop().unwrap_or_default();
            let data = std::mem::replace(&mut self.buf, fresh);
            let offset = self.buf_offset;
            self.buf_offset += data.len() as u64;
            chunks.push(Chunk {
                segment: self.active.id,
                file: self.active.file.clone(),
                offset,
                data,
            });
        }
        for c in &chunks {
            if !self.unsynced.iter().any(|(id, _)| *id == c.segment) {
                self.unsynced.push((c.segment, c.file.clone()));
            }
        }
        let fsync = if sync {
            std::mem::take(&mut self.unsynced)
        } else {
            Vec::new()
        };
        Work {
            chunks,
            fsync,
            target: self.current_position(),
            sync,
        }
    }

    fn finish_round(&mut self, mut work: Work, result: Result<(), String>) {
        self.flushing = false;
        self.stats.writes += work.chunks.len() as u64;
        self.stats.syncs += work.fsync.len() as u64;
        match result {
            Ok(()) => {
                self.written = self.written.max(work.target);
                if work.sync {
                    self.durable = self.durable.max(work.target);
                }
            }
            Err(msg) => self.poison = Some(msg),
        }
        for c in work.chunks.drain(..) {
            let mut data = c.data;
            if self.pool.len() < BUFFER_POOL && data.capacity() <= MAX_POOLED_CAPACITY {
                data.clear();
                self.pool.push(data);
            }
        }
    }
}

/// Everything the public handle and the background threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(super) fs: Arc<dyn FileSystem>,
    pub(super) opts: CommitLogOptions,
    /// Whether the allocator and syncer threads run.
    background: Background,
    state: Mutex<State>,
    /// A flush round ended.
    round_done: Condvar,
    /// The allocator has work, or an allocation ended.
    alloc: Condvar,
    /// The periodic thread has work.
    periodic: Condvar,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before anything
        // that could panic, so a poisoned mutex is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, cv: &Condvar, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    /// Lists existing segments and creates the first segment of this process.
    pub(super) fn open(
        fs: Arc<dyn FileSystem>,
        opts: CommitLogOptions,
        background: Background,
    ) -> Result<Shared> {
        if !(4096..=1 << 32).contains(&opts.segment_size_bytes) {
            return Err(Error::InvalidArgument(format!(
                "commit log segment size {} is not between 4 KiB and 4 GiB",
                opts.segment_size_bytes
            )));
        }
        let dir = &opts.dir;
        fs.create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let (old, max_id) = super::segments::list(fs.as_ref(), dir)?;
        let id = max_id + 1;
        let active = super::segments::create(fs.as_ref(), &opts, id)?;
        let start = ReplayPosition {
            segment_id: id,
            offset: HEADER_LEN,
        };
        let state = State {
            active,
            active_dirty: HashMap::new(),
            next_offset: HEADER_LEN,
            buf: Vec::new(),
            buf_offset: HEADER_LEN,
            sealed: Vec::new(),
            unsynced: Vec::new(),
            written: start,
            durable: start,
            flushing: false,
            waiters: 0,
            poison: None,
            closed: false,
            segments: old.iter().map(|(id, _)| (*id, Dirty::Unknown)).collect(),
            old,
            replayed: false,
            first_new_segment: id,
            ready: BTreeMap::new(),
            allocating: false,
            recycling: 0,
            next_id: id + 1,
            pool: Vec::new(),
            stats: CommitLogStats::default(),
        };
        Ok(Shared {
            fs,
            opts,
            background,
            state: Mutex::new(state),
            round_done: Condvar::new(),
            alloc: Condvar::new(),
            periodic: Condvar::new(),
        })
    }

    pub(super) fn append(&self, table: TableId, mutation: &[u8]) -> Result<ReplayPosition> {
        let max = usize::try_from(self.opts.segment_size_bytes / 2).unwrap_or(usize::MAX);
        if mutation.len() > max {
            return Err(Error::MutationTooLarge {
                size: mutation.len(),
                max,
            });
        }
        // Compressed before the lock is taken, so writers compress in parallel.
        let payload = super::payload::encode(mutation, self.opts.compression);
        let payload = payload.as_ref();
        let need = format::frame_len(payload.len()) as u64;
        let mut st = self.lock();
        st.check_open()?;
        // Room for the record and the end marker written after it. Another
        // writer may roll while this one waits in `roll`, hence the loop.
        let size = self.opts.segment_size_bytes;
        while st.next_offset + need + format::END_MARKER_LEN as u64 > size {
            st = self.roll(st)?;
        }
        let pos = st.current_position();
        let before = st.buf.len();
        format::encode_frame(&mut st.buf, pos.segment_id, payload);
        st.next_offset += need;
        st.active_dirty.insert(table, pos.offset);
        st.stats.appends += 1;
        st.stats.bytes_appended += need;
        let periodic = matches!(self.opts.sync, SyncMode::Periodic { .. });
        if periodic && before < PERIODIC_WRITE_THRESHOLD && st.buf.len() >= PERIODIC_WRITE_THRESHOLD
        {
            self.periodic.notify_one();
        }
        Ok(pos)
    }

    /// Makes the lowest ready segment active; the old one's buffer is sealed.
    /// Returns early, without rolling, if it had to wait for the allocator
    /// (another writer may have rolled meanwhile): the caller checks again.
    fn roll<'a>(&'a self, mut st: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        if st.ready.is_empty() && st.allocating {
            st = self.wait(&self.alloc, st);
            st.check_open()?;
            return Ok(st);
        }
        let next = match st.ready.pop_first() {
            Some((id, file)) => Segment { id, file },
            None => {
                // The allocator fell behind: create one here, under the lock.
                let id = st.take_id();
                match super::segments::create(self.fs.as_ref(), &self.opts, id) {
                    Ok(s) => s,
                    Err(e) => {
                        st.poison = Some(e.to_string());
                        return Err(Error::Poisoned(e.to_string()));
                    }
                }
            }
        };
        // Replay orders segments by id: a new active segment must sort after
        // every segment written before it.
        debug_assert!(
            next.id > st.active.id,
            "segment {} after {}",
            next.id,
            st.active.id
        );
        let old = std::mem::replace(&mut st.active, next);
        if !st.buf.is_empty() {
            let data = std::mem::take(&mut st.buf);
            let offset = st.buf_offset;
            st.sealed.push(Chunk {
                segment: old.id,
                file: old.file,
                offset,
                data,
            });
        }
        let dirty = std::mem::take(&mut st.active_dirty);
        st.segments.insert(old.id, Dirty::Known(dirty));
        st.next_offset = HEADER_LEN;
        st.buf_offset = HEADER_LEN;
        self.alloc.notify_all();
        Ok(st)
    }

    pub(super) fn current_position(&self) -> ReplayPosition {
        self.lock().current_position()
    }

    pub(super) fn wait_durable(&self, pos: ReplayPosition) -> Result<()> {
        // The canary acknowledges as periodic mode does: the record may still
        // be in the log's buffer, so a crash now loses an acknowledged write.
        #[cfg(feature = "fault-injection")]
        let periodic = matches!(self.opts.sync, SyncMode::Periodic { .. })
            || crate::canary::active(crate::canary::Canary::AckBeforeFsync);
        #[cfg(not(feature = "fault-injection"))]
        let periodic = matches!(self.opts.sync, SyncMode::Periodic { .. });
        if periodic {
            let st = self.lock();
            if let Some(p) = &st.poison {
                return Err(Error::Poisoned(p.clone()));
            }
            // Without the syncer thread, the writer that grew the buffer
            // past the bound writes it out itself, as `append` would have
            // asked the syncer to.
            let large = st.buf.len() >= PERIODIC_WRITE_THRESHOLD;
            drop(st);
            if self.background == Background::Inline && large {
                return self.ensure(self.current_position(), false);
            }
            return Ok(());
        }
        let target = ReplayPosition {
            segment_id: pos.segment_id,
            offset: pos.offset + 1,
        };
        self.ensure(target, true)
    }

    pub(super) fn sync(&self) -> Result<()> {
        let target = self.current_position();
        self.ensure(target, true)
    }

    fn window(&self) -> Option<Duration> {
        if self.background == Background::Inline {
            // One thread runs everything: no writer can arrive during a
            // window, and waiting one out would read the OS clock.
            return None;
        }
        match self.opts.sync {
            SyncMode::Group { window_us } if window_us > 0 => {
                Some(Duration::from_micros(window_us))
            }
            _ => None,
        }
    }

    /// Returns once every record below `target` is written (and fsynced if
    /// `sync`), leading flush rounds as needed.
    fn ensure(&self, target: ReplayPosition, sync: bool) -> Result<()> {
        let mut st = self.lock();
        st.waiters += 1;
        let (mut st, result) = self.ensure_locked(st, target, sync);
        st.waiters -= 1;
        result
    }

    fn ensure_locked<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        target: ReplayPosition,
        sync: bool,
    ) -> (MutexGuard<'a, State>, Result<()>) {
        let target = target.min(st.current_position());
        loop {
            if let Some(p) = &st.poison {
                let err = Error::Poisoned(p.clone());
                return (st, Err(err));
            }
            let reached = if sync { st.durable } else { st.written };
            if reached >= target {
                return (st, Ok(()));
            }
            if st.flushing {
                st = self.wait(&self.round_done, st);
                continue;
            }
            st.flushing = true;
            // Only wait for company when there is some: a lone writer goes
            // straight to its fsync.
            if let Some(window) = self.window().filter(|_| sync && st.waiters > 1) {
                drop(st);
                gather(window);
                st = self.lock();
            }
            let mut work = st.take_work(sync);
            drop(st);
            let result = self.do_io(&mut work);
            st = self.lock();
            st.finish_round(work, result);
            self.round_done.notify_all();
        }
    }

    /// Writes each chunk followed by a zero end marker, then fsyncs.
    fn do_io(&self, work: &mut Work) -> Result<(), String> {
        let dir = &self.opts.dir;
        for c in &mut work.chunks {
            let len = c.data.len();
            // The marker makes a cleanly written segment end in a zero length
            // even over a recycled file's stale bytes; the next write covers it.
            c.data.resize(len + format::END_MARKER_LEN, 0);
            c.file.write_all_at(&c.data, c.offset).map_err(|e| {
                format!(
                    "write of {} bytes to commit log segment {} at offset {} failed: {e}",
                    len,
                    format::segment_path(dir, c.segment).display(),
                    c.offset
                )
            })?;
            c.data.truncate(len);
        }
        for (id, file) in &work.fsync {
            file.sync_data().map_err(|e| {
                format!(
                    "fsync of commit log segment {} failed: {e}",
                    format::segment_path(dir, *id).display()
                )
            })?;
        }
        Ok(())
    }

    /// Marks the log closed, then fsyncs what was appended. Idempotent.
    pub(super) fn close(&self) -> Result<()> {
        {
            let mut st = self.lock();
            if st.closed {
                return Ok(());
            }
            st.closed = true;
        }
        self.alloc.notify_all();
        self.periodic.notify_all();
        self.sync()?;
        self.remove_spare_segments()
    }

    /// Deletes the empty segments kept ready for reuse: at a clean shutdown
    /// they only hold disk space, and the next start makes new ones as needed.
    fn remove_spare_segments(&self) -> Result<()> {
        let spare = std::mem::take(&mut self.lock().ready);
        if spare.is_empty() {
            return Ok(());
        }
        let dir = &self.opts.dir;
        for id in spare.into_keys() {
            let path = format::segment_path(dir, id);
            self.fs.remove_file(&path).map_err(|e| {
                Error::io(
                    format!("removing spare commit log segment {}", path.display()),
                    e,
                )
            })?;
        }
        self.fs
            .sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
    }

    pub(super) fn stats(&self) -> CommitLogStats {
        let st = self.lock();
        CommitLogStats {
            segments: st.segments.len() + 1,
            recycled_segments: st.ready.len(),
            ..st.stats.clone()
        }
    }

    /// Keeps one empty segment ready so that rollover rarely waits for I/O.
    fn allocator_loop(&self) {
        let mut st = self.lock();
        loop {
            while !st.closed && st.poison.is_none() && !st.ready.is_empty() {
                st = self.wait(&self.alloc, st);
            }
            if st.closed || st.poison.is_some() {
                return;
            }
            let id = st.take_id();
            st.allocating = true;
            drop(st);
            let created = super::segments::create(self.fs.as_ref(), &self.opts, id);
            st = self.lock();
            st.allocating = false;
            match created {
                Ok(seg) if seg.id > st.active.id => {
                    st.ready.insert(seg.id, seg.file);
                }
                Ok(seg) => {
                    // Unreachable while rollovers wait for the allocator; an
                    // id below the active one must never be used, so drop it.
                    drop(st);
                    let _ = self
                        .fs
                        .remove_file(&format::segment_path(&self.opts.dir, seg.id));
                    st = self.lock();
                }
                Err(e) => st.poison = Some(e.to_string()),
            }
            self.alloc.notify_all();
        }
    }

    /// Periodic mode: fsyncs every interval and writes a large buffer early.
    fn periodic_loop(&self, interval: Duration) {
        let mut next_sync = Instant::now() + interval;
        loop {
            let mut st = self.lock();
            let sync = loop {
                if st.closed || st.poison.is_some() {
                    return;
                }
                let now = Instant::now();
                if now >= next_sync {
                    next_sync = now + interval;
                    break true;
                }
                if st.buf.len() >= PERIODIC_WRITE_THRESHOLD {
                    break false;
                }
                st = self
                    .periodic
                    .wait_timeout(st, next_sync - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            };
            let target = st.current_position();
            drop(st);
            // A failure poisons the log; appenders see it from the state.
            let _ = self.ensure(target, sync);
        }
    }
}

/// Lets other writers append for `window` before a round takes the buffer.
/// Yields instead of sleeping: a sleep this short overshoots by a timer tick
/// (often a millisecond or more), which would cap a lone writer's throughput.
fn gather(window: Duration) {
    let start = Instant::now();
    while start.elapsed() < window {
        std::thread::yield_now();
    }
}

/// Starts the allocator thread and, in periodic mode, the syncer.
pub(super) fn spawn_threads(shared: &Arc<Shared>) -> Result<Vec<JoinHandle<()>>> {
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map_err(|e| Error::io(format!("spawning {name}"), e))
    };
    let s = shared.clone();
    let mut threads = vec![spawn(
        "commitlog-alloc",
        Box::new(move || s.allocator_loop()),
    )?];
    if let SyncMode::Periodic { interval_ms } = shared.opts.sync {
        let s = shared.clone();
        let interval = Duration::from_millis(interval_ms.max(1));
        threads.push(spawn(
            "commitlog-sync",
            Box::new(move || s.periodic_loop(interval)),
        )?);
    }
    Ok(threads)
}
