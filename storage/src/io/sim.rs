//! [`SimFs`]: an in-memory [`FileSystem`] that models what survives a power cut.
//!
//! Crash tests need to know exactly which bytes a real machine could lose, and
//! fault tests need I/O calls that fail on demand. `SimFs` keeps, for every
//! file, the bytes written so far and the bytes made durable by the last
//! `sync_data`; for every directory, the entries it has now and the entries made
//! durable by the last `sync_dir`. [`SimFs::crash`] throws away everything not
//! durable and invalidates every open handle, so threads of an engine that
//! "lost power" cannot write into the rebooted disk. [`SimFs::halt`] goes one
//! step further for tests that crash a running engine: the disk freezes at the
//! crash instant and refuses every call (path operations included) until
//! [`SimFs::restart`], so the dead engine's threads cannot rename, create or
//! delete anything while the test tears them down.
//!
//! Simplifications, all on the side of a kind disk: directories themselves are
//! durable as soon as `create_dir_all` or `remove_dir_all` returns, a crash never
//! tears a write (unsynced bytes are lost whole, synced ones kept whole), and a
//! fault matches the path a handle was opened with, not the file's later name.

use super::{File, FileSystem};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Which kind of call a fault makes fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// `File::sync_data`.
    SyncData,
    /// `File::write_all_at` and `File::set_len` (nothing is written).
    Write,
    /// `FileSystem::sync_dir`.
    SyncDir,
    /// `FileSystem::rename`, matched on the path renamed from.
    Rename,
}

#[derive(Debug)]
struct Fault {
    kind: FaultKind,
    path_contains: String,
    /// `None`: fail until cleared.
    remaining: Option<u64>,
    /// Matching calls let through (unharmed) before the fault strikes.
    skip: u64,
    /// Strike with a power cut ([`SimFs::halt`]) instead of an error.
    halt: bool,
}

/// One file's contents, shared by every name (hard link) that points at it.
#[derive(Debug, Default)]
struct Inode {
    current: Vec<u8>,
    durable: Vec<u8>,
    /// Byte range of `current` that may differ from `durable` (besides length).
    dirty: Option<(usize, usize)>,
}

impl Inode {
    fn mark_dirty(&mut self, start: usize, end: usize) {
        self.dirty = Some(match self.dirty {
            Some((a, b)) => (a.min(start), b.max(end)),
            None => (start, end),
        });
    }

    fn sync(&mut self) {
        let len = self.current.len();
        self.durable.resize(len, 0);
        if let Some((a, b)) = self.dirty.take() {
            let b = b.min(len);
            if a < b {
                self.durable[a..b].copy_from_slice(&self.current[a..b]);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Dir {
    current: BTreeMap<OsString, u64>,
    durable: BTreeMap<OsString, u64>,
}

#[derive(Debug, Default)]
struct State {
    /// How long each `sync_data` sleeps (outside the lock), like a real disk.
    sync_latency: std::time::Duration,
    generation: u64,
    /// Set by [`SimFs::halt`]: every call fails until [`SimFs::restart`].
    halted: bool,
    next_inode: u64,
    inodes: HashMap<u64, Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    faults: Vec<Fault>,
}

impl State {
    /// Fails while the disk is halted.
    fn check_running(&self) -> io::Result<()> {
        if self.halted {
            return Err(io::Error::other(
                "simulated power cut: the disk is halted until restart",
            ));
        }
        Ok(())
    }

    /// Throws away everything not durable and invalidates every open handle.
    fn revert_to_durable(&mut self) {
        self.generation += 1;
        let mut live = HashSet::new();
        for dir in self.dirs.values_mut() {
            dir.current = dir.durable.clone();
            live.extend(dir.durable.values().copied());
        }
        self.inodes.retain(|ino, _| live.contains(ino));
        for inode in self.inodes.values_mut() {
            inode.current = inode.durable.clone();
            inode.dirty = None;
        }
    }

    /// Lets a prefix of each file's unsynced bytes reach the disk, its length
    /// drawn from `seed`: what a power cut in the middle of writing back
    /// leaves. Files in inode order, so a seed always tears the same way.
    fn tear(&mut self, seed: u64) {
        let mut state = seed;
        let mut inodes: Vec<u64> = self.inodes.keys().copied().collect();
        inodes.sort_unstable();
        for ino in inodes {
            let Some(inode) = self.inodes.get_mut(&ino) else {
                continue;
            };
            let Some((start, end)) = inode.dirty else {
                continue;
            };
            let end = end.min(inode.current.len());
            let span = end.saturating_sub(start);
            let keep = usize::try_from(splitmix64(&mut state) % (span as u64 + 1)).unwrap_or(0);
            let stop = start + keep;
            if inode.durable.len() < stop {
                inode.durable.resize(stop, 0);
            }
            inode.durable[start..stop].copy_from_slice(&inode.current[start..stop]);
        }
    }

    /// Consumes one matching fault, if any, and returns the error it causes.
    /// A halting fault cuts the power first, so the call never takes effect.
    fn fault(&mut self, kind: FaultKind, path: &Path) -> io::Result<()> {
        let text = path.to_string_lossy();
        let hit = self
            .faults
            .iter_mut()
            .position(|f| f.kind == kind && text.contains(f.path_contains.as_str()));
        let Some(i) = hit else { return Ok(()) };
        let fault = &mut self.faults[i];
        if fault.skip > 0 {
            fault.skip -= 1;
            return Ok(());
        }
        let halt = fault.halt;
        if let Some(n) = &mut fault.remaining {
            *n -= 1;
            if *n == 0 {
                self.faults.remove(i);
            }
        }
        if halt {
            self.revert_to_durable();
            self.halted = true;
            return Err(io::Error::other(format!(
                "simulated power cut at {kind:?} on {}",
                path.display()
            )));
        }
        Err(io::Error::other(format!(
            "injected {kind:?} fault on {}",
            path.display()
        )))
    }

    fn dir(&mut self, path: &Path) -> io::Result<&mut Dir> {
        self.dirs
            .get_mut(path)
            .ok_or_else(|| not_found("directory", path))
    }

    /// The inode a path names now.
    fn lookup(&self, path: &Path) -> io::Result<u64> {
        let (parent, name) = split(path)?;
        self.dirs
            .get(&parent)
            .and_then(|d| d.current.get(&name))
            .copied()
            .ok_or_else(|| not_found("file", path))
    }

    fn inode(&mut self, ino: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&ino)
            .ok_or_else(|| io::Error::other(format!("inode {ino} vanished")))
    }

    fn new_inode(&mut self) -> u64 {
        self.next_inode += 1;
        self.inodes.insert(self.next_inode, Inode::default());
        self.next_inode
    }
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no such {what}: {}", path.display()),
    )
}

/// Drops `.` and trailing slashes so that equal paths compare equal.
fn norm(path: &Path) -> PathBuf {
    path.components().collect()
}

fn split(path: &Path) -> io::Result<(PathBuf, OsString)> {
    let path = norm(path);
    match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => Ok((p.to_path_buf(), n.to_os_string())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )),
    }
}

/// SplitMix64: a seeded stream of numbers for tearing writes, without a
/// dependency on an RNG crate in storage's build.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The simulated file system; clones share the same disk.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

/// An open simulated file, valid until the next [`SimFs::crash`].
#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    inode: u64,
    generation: u64,
    path: PathBuf,
}

impl SimFs {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Locks the disk for a file-system call, which fails while it is halted.
    fn running(&self) -> io::Result<MutexGuard<'_, State>> {
        let st = self.lock();
        st.check_running()?;
        Ok(st)
    }

    /// Simulates a power cut and reboot: unsynced bytes and directory entries
    /// are lost, and every handle opened before now fails from now on.
    pub fn crash(&self) {
        self.lock().revert_to_durable();
    }

    /// Simulates a power cut that a running engine's threads survive: as
    /// [`SimFs::crash`], and then every call through any clone — file-system
    /// calls and handles alike — fails until [`SimFs::restart`]. The disk is
    /// frozen at the crash instant, as a machine without power would leave it.
    /// The test helpers ([`SimFs::read_all`], [`SimFs::corrupt`], ...) still work.
    pub fn halt(&self) {
        let mut st = self.lock();
        st.revert_to_durable();
        st.halted = true;
    }

    /// As [`SimFs::halt`], but the power cut tears the writes in progress:
    /// of each file's unsynced bytes a prefix, of a length drawn from `seed`,
    /// reaches the disk (directory entries never synced are still lost).
    pub fn halt_torn(&self, seed: u64) {
        let mut st = self.lock();
        st.tear(seed);
        st.revert_to_durable();
        st.halted = true;
    }

    /// Powers the disk back on after [`SimFs::halt`]: calls are accepted again,
    /// while handles opened before the halt keep failing. Stop every thread of
    /// the engine that was running at the halt first: a clone it still holds
    /// would act on the rebooted disk.
    pub fn restart(&self) {
        self.lock().halted = false;
    }

    /// Whether the disk is halted.
    pub fn is_halted(&self) -> bool {
        self.lock().halted
    }

    /// Makes calls of `kind` on paths containing `path_contains` fail, the next
    /// `times` of them or, with `None`, until [`SimFs::clear_faults`].
    pub fn inject_fault(&self, kind: FaultKind, path_contains: &str, times: Option<u64>) {
        if times == Some(0) {
            return;
        }
        self.lock().faults.push(Fault {
            kind,
            path_contains: path_contains.to_owned(),
            remaining: times,
            skip: 0,
            halt: false,
        });
    }

    /// Arms a power cut at an exact point: the call of `kind` on a path
    /// containing `path_contains` that comes after `skip` such calls halts the
    /// disk ([`SimFs::halt`]) before it takes effect, and fails. Crash tests
    /// use it to cut power between two given steps of a flush or compaction.
    /// While armed it hides other faults on the calls it matches.
    pub fn halt_on(&self, kind: FaultKind, path_contains: &str, skip: u64) {
        self.lock().faults.push(Fault {
            kind,
            path_contains: path_contains.to_owned(),
            remaining: Some(1),
            skip,
            halt: true,
        });
    }

    /// Shorthand for [`FaultKind::SyncData`] faults.
    pub fn fail_sync_data(&self, path_contains: &str, times: Option<u64>) {
        self.inject_fault(FaultKind::SyncData, path_contains, times);
    }

    /// Shorthand for [`FaultKind::Write`] faults.
    pub fn fail_writes(&self, path_contains: &str, times: Option<u64>) {
        self.inject_fault(FaultKind::Write, path_contains, times);
    }

    /// Makes every later `sync_data` take at least `latency`, so that tests
    /// of batching see fsyncs that overlap as they would on a disk.
    pub fn set_sync_latency(&self, latency: std::time::Duration) {
        self.lock().sync_latency = latency;
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// XORs one byte with `xor_mask`, in the current and the durable contents.
    pub fn corrupt(&self, path: &Path, offset: u64, xor_mask: u8) -> io::Result<()> {
        let mut st = self.lock();
        let ino = st.lookup(path)?;
        let inode = st.inode(ino)?;
        let i = usize::try_from(offset).map_err(io::Error::other)?;
        let Some(b) = inode.current.get_mut(i) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("offset {offset} is past the end of {}", path.display()),
            ));
        };
        *b ^= xor_mask;
        if let Some(b) = inode.durable.get_mut(i) {
            *b ^= xor_mask;
        }
        Ok(())
    }

    /// The current contents of a file.
    pub fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut st = self.lock();
        let ino = st.lookup(path)?;
        Ok(st.inode(ino)?.current.clone())
    }

    /// Replaces a file's contents, creating it if needed, durably at once.
    pub fn write_all(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        let (parent, name) = split(path)?;
        st.dir(&parent)?;
        let ino = match st.lookup(path) {
            Ok(ino) => ino,
            Err(_) => st.new_inode(),
        };
        let dir = st.dir(&parent)?;
        dir.current.insert(name.clone(), ino);
        dir.durable.insert(name, ino);
        let inode = st.inode(ino)?;
        inode.current = bytes.to_vec();
        inode.durable = bytes.to_vec();
        inode.dirty = None;
        Ok(())
    }

    /// Cuts a file to `len` bytes, in the current and the durable contents.
    pub fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut st = self.lock();
        let ino = st.lookup(path)?;
        let inode = st.inode(ino)?;
        let len = usize::try_from(len).map_err(io::Error::other)?;
        inode.current.truncate(len);
        inode.durable.truncate(len);
        Ok(())
    }
}

/// Every step of [`super::durable::replace_atomically`] of `path` where a
/// crash test can cut the power, as `(kind, path_contains)` for
/// [`SimFs::halt_on`]: while writing the temporary file, before its fsync,
/// before the rename, before the directory fsync.
pub fn replace_crash_points(path: &Path) -> Vec<(FaultKind, String)> {
    let temp = super::durable::temp_path(path)
        .to_string_lossy()
        .into_owned();
    let dir = path.parent().unwrap_or(path).to_string_lossy().into_owned();
    vec![
        (FaultKind::Write, temp.clone()),
        (FaultKind::SyncData, temp.clone()),
        (FaultKind::Rename, temp),
        (FaultKind::SyncDir, dir),
    ]
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock leaves the maps consistent (every method
    // mutates in single steps), so a poisoned lock is safe to reuse.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimFile {
    /// Locks the disk and checks the handle predates no crash.
    fn state(&self) -> io::Result<MutexGuard<'_, State>> {
        let st = lock(&self.state);
        st.check_running()?;
        if st.generation != self.generation {
            return Err(io::Error::other(format!(
                "handle to {} was opened before a simulated crash",
                self.path.display()
            )));
        }
        Ok(st)
    }
}

fn to_usize(v: u64) -> io::Result<usize> {
    usize::try_from(v).map_err(io::Error::other)
}

impl File for SimFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut st = self.state()?;
        let data = &st.inode(self.inode)?.current;
        let start = to_usize(offset)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past end of file"))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = self.state()?;
        st.fault(FaultKind::Write, &self.path)?;
        let inode = st.inode(self.inode)?;
        let start = to_usize(offset)?;
        let end = start + buf.len();
        if inode.current.len() < end {
            inode.current.resize(end, 0);
        }
        inode.current[start..end].copy_from_slice(buf);
        inode.mark_dirty(start, end);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let latency = self.state()?.sync_latency;
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        let mut st = self.state()?;
        st.fault(FaultKind::SyncData, &self.path)?;
        st.inode(self.inode)?.sync();
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = self.state()?;
        st.fault(FaultKind::Write, &self.path)?;
        let inode = st.inode(self.inode)?;
        let old = inode.current.len();
        let len = to_usize(len)?;
        inode.current.resize(len, 0);
        if len > old {
            inode.mark_dirty(old, len);
        }
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        let mut st = self.state()?;
        Ok(st.inode(self.inode)?.current.len() as u64)
    }
}

impl SimFs {
    fn handle(&self, st: &State, inode: u64, path: &Path) -> Arc<dyn File> {
        Arc::new(SimFile {
            state: self.state.clone(),
            inode,
            generation: st.generation,
            path: norm(path),
        })
    }
}

impl FileSystem for SimFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut st = self.running()?;
        let (parent, name) = split(path)?;
        st.dir(&parent)?;
        let ino = match st.lookup(path) {
            Ok(ino) => {
                let inode = st.inode(ino)?;
                inode.current.clear();
                inode.mark_dirty(0, 0);
                ino
            }
            Err(_) => {
                let ino = st.new_inode();
                st.dir(&parent)?.current.insert(name, ino);
                ino
            }
        };
        Ok(self.handle(&st, ino, path))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let st = self.running()?;
        let ino = st.lookup(path)?;
        Ok(self.handle(&st, ino, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        st.fault(FaultKind::Rename, &norm(from))?;
        let ino = st.lookup(from)?;
        let (from_dir, from_name) = split(from)?;
        let (to_dir, to_name) = split(to)?;
        st.dir(&to_dir)?;
        st.dir(&from_dir)?.current.remove(&from_name);
        st.dir(&to_dir)?.current.insert(to_name, ino);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        st.lookup(path)?;
        let (parent, name) = split(path)?;
        st.dir(&parent)?.current.remove(&name);
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        let path = norm(path);
        for dir in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
            st.dirs.entry(dir.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        let path = norm(path);
        st.dir(&path)?;
        st.dirs.retain(|p, _| !p.starts_with(&path));
        Ok(())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut st = self.running()?;
        let path = norm(path);
        let mut out: Vec<PathBuf> = st
            .dir(&path)?
            .current
            .keys()
            .map(|n| path.join(n))
            .collect();
        out.extend(
            st.dirs
                .keys()
                .filter(|p| p.parent() == Some(path.as_path()))
                .cloned(),
        );
        out.sort();
        Ok(out)
    }

    fn exists(&self, path: &Path) -> bool {
        let st = self.lock();
        if st.halted {
            return false;
        }
        st.dirs.contains_key(&norm(path)) || st.lookup(path).is_ok()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        let path = norm(path);
        st.fault(FaultKind::SyncDir, &path)?;
        let dir = st.dir(&path)?;
        // The canary's skipped fsync leaves the entries as durable as they were,
        // so simulated crashes show its effect.
        #[cfg(feature = "fault-injection")]
        if crate::canary::active(crate::canary::Canary::SkipDirFsync) {
            return Ok(());
        }
        dir.durable = dir.current.clone();
        Ok(())
    }

    fn hard_link(&self, original: &Path, link: &Path) -> io::Result<()> {
        let mut st = self.running()?;
        let ino = st.lookup(original)?;
        if st.lookup(link).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists", link.display()),
            ));
        }
        let (parent, name) = split(link)?;
        st.dir(&parent)?.current.insert(name, ino);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
