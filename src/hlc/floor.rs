//! The clock floors a node keeps across restarts: a ceiling above every write
//! timestamp its hybrid logical clock has issued, and its last gossip
//! generation.
//!
//! Without them, a node restarted with its wall clock stepped back would issue
//! write timestamps below ones it already used (its new writes would lose to
//! its old ones), and its gossip generation (seconds since the epoch) would not
//! be greater than the one peers hold, so they would ignore its gossip.
//!
//! The HLC does not write the file per timestamp: it persists a ceiling
//! [`CEILING_WINDOW`] ahead of the timestamp it issues, and rewrites it only
//! when timestamps come within half the window of it. Every timestamp issued
//! is below the persisted ceiling, so after a restart the clock starts above
//! the ceiling and never repeats or goes below one it issued. The gossip
//! generation of a start is `max(now in seconds, last + 1)`, saved before
//! gossip announces it.
//!
//! `<data dir>/node.clock` is text, `hlc_ceiling <µs>` and
//! `gossip_generation <s>` lines, written by `storage::durable`'s atomic
//! replace (`node.clock.tmp`, fsync, rename, directory fsync) through the
//! `FileSystem` seam.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use storage::FileSystem;
use storage::durable;

/// How far ahead of the timestamps it issues the HLC persists its ceiling:
/// the file is rewritten about once per half of it while writes flow. Short,
/// because a node restarted before its clock passed the ceiling waits for it
/// (`MAX_CEILING_WAIT`): starting its clock at the ceiling instead would put
/// its timestamps ahead of every other node's by up to the window, and its
/// writes would win over later ones (a delete acknowledged after an insert
/// would lose to it).
pub(crate) const CEILING_WINDOW: Duration = Duration::from_secs(1);

/// The longest a starting node waits for its wall clock to pass the saved
/// ceiling. Longer means the clock was stepped back while the node was down:
/// it then starts its clock at the ceiling, ahead of the wall clock, and
/// says so, rather than staying down until the clock catches up.
pub(crate) const MAX_CEILING_WAIT: Duration = Duration::from_secs(2);

const FILE: &str = "node.clock";
/// Two short lines; anything larger is not this file.
const MAX_FILE_BYTES: u64 = 4096;

/// What the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Floors {
    /// Every write timestamp issued before is below this (µs).
    pub hlc_ceiling: i64,
    /// The gossip generation of the last start (seconds); 0 before any.
    pub gossip_generation: i32,
}

impl Default for Floors {
    fn default() -> Self {
        Floors {
            hlc_ceiling: i64::MIN,
            gossip_generation: 0,
        }
    }
}

/// The persisted floors of one data directory.
pub(crate) struct ClockFloor {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    /// What the file holds; the lock serialises rewrites.
    saved: Mutex<Floors>,
    /// `saved.hlc_ceiling`, readable without the lock on every timestamp.
    ceiling: AtomicI64,
    window_micros: i64,
}

impl std::fmt::Debug for ClockFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockFloor")
            .field("dir", &self.dir)
            .field("ceiling", &self.ceiling.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ClockFloor {
    /// Loads the floors under `dir` (none on a first start). A corrupt file is
    /// an error: starting without the floors would break what they promise.
    pub(crate) fn open(fs: Arc<dyn FileSystem>, dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(FILE);
        // A save cut short before its rename: the file it did not replace is
        // still current, and it covers every timestamp issued (none was
        // issued at or above a ceiling that was not yet saved).
        durable::remove_stale_temp(fs.as_ref(), &path)?;
        let saved = match durable::read_whole(fs.as_ref(), &path, MAX_FILE_BYTES)? {
            Some(bytes) => parse(&bytes).map_err(|reason| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {reason}", path.display()),
                )
            })?,
            None => Floors::default(),
        };
        Ok(ClockFloor {
            fs,
            dir: dir.to_path_buf(),
            saved: Mutex::new(saved),
            ceiling: AtomicI64::new(saved.hlc_ceiling),
            window_micros: i64::try_from(CEILING_WINDOW.as_micros()).unwrap_or(i64::MAX),
        })
    }

    /// The persisted ceiling: the HLC starts above it.
    pub(crate) fn ceiling(&self) -> i64 {
        self.ceiling.load(Ordering::Acquire)
    }

    /// The gossip generation of this start, `max(now in seconds, last + 1)`,
    /// saved before it is returned.
    pub(crate) fn next_generation(&self, now_micros: i64) -> std::io::Result<i32> {
        let mut saved = self.lock();
        let seconds = i32::try_from(now_micros.div_euclid(1_000_000)).unwrap_or(i32::MAX);
        let generation = seconds.max(saved.gossip_generation.saturating_add(1));
        let floors = Floors {
            gossip_generation: generation,
            ..*saved
        };
        self.save(&floors)?;
        *saved = floors;
        Ok(generation)
    }

    /// Makes sure the persisted ceiling is above `timestamp`, which the HLC is
    /// about to issue. Below half a window under the ceiling this is one
    /// atomic load. Closer, the first caller rewrites the file (the others go
    /// on); at or past it, the caller waits for the rewrite, so no timestamp
    /// at or above a saved ceiling is ever returned. A failed rewrite is
    /// logged and the timestamp issued anyway: refusing writes for a full
    /// disk would be worse than the restart risk it leaves.
    pub(crate) fn cover(&self, timestamp: i64) {
        let ceiling = self.ceiling();
        if timestamp < ceiling.saturating_sub(self.window_micros / 2) {
            return;
        }
        let saved = if timestamp < ceiling {
            match self.saved.try_lock() {
                Ok(saved) => saved,
                // Another caller is rewriting it; this timestamp is covered.
                Err(_) => return,
            }
        } else {
            self.lock()
        };
        self.raise(saved, timestamp);
    }

    fn raise(&self, mut saved: MutexGuard<'_, Floors>, timestamp: i64) {
        if timestamp < saved.hlc_ceiling.saturating_sub(self.window_micros / 2) {
            return; // raised meanwhile
        }
        let floors = Floors {
            hlc_ceiling: timestamp.saturating_add(self.window_micros),
            ..*saved
        };
        match self.save(&floors) {
            Ok(()) => {
                *saved = floors;
                self.ceiling.store(floors.hlc_ceiling, Ordering::Release);
            }
            Err(e) => tracing::error!(
                error = %e,
                "could not persist the write-timestamp ceiling: a restart with the clock \
                 stepped back could reuse timestamps"
            ),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Floors> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, floors: &Floors) -> std::io::Result<()> {
        self.fs.create_dir_all(&self.dir)?;
        let text = format!(
            "hlc_ceiling {}\ngossip_generation {}\n",
            floors.hlc_ceiling, floors.gossip_generation
        );
        durable::replace_atomically(self.fs.as_ref(), &self.dir.join(FILE), text.as_bytes())
    }
}

fn parse(bytes: &[u8]) -> Result<Floors, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let (mut ceiling, mut generation) = (None, None);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once(' ') {
            Some(("hlc_ceiling", v)) => {
                ceiling = Some(v.parse().map_err(|_| format!("bad hlc_ceiling {v}"))?);
            }
            Some(("gossip_generation", v)) => {
                generation = Some(
                    v.parse()
                        .map_err(|_| format!("bad gossip_generation {v}"))?,
                );
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    Ok(Floors {
        hlc_ceiling: ceiling.ok_or("no hlc_ceiling")?,
        gossip_generation: generation.ok_or("no gossip_generation")?,
    })
}

#[cfg(test)]
mod tests;
