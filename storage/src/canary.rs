//! Deliberate bugs for proving that the fault-injection checkers catch them
//! (the `fault-injection` feature; `docs/design/canaries.md`).
//!
//! At most one canary is selected per process, once, before any work starts
//! (the node does it from `BASALT_CANARY`); until then, and in every build
//! without the feature, none is active. The product code asks
//! [`active`] at the few places a canary changes.

use std::sync::OnceLock;

/// The bugs storage can be built to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Canary {
    /// Tombstones are purgeable at once, as if gc grace were 0, in
    /// compaction and in the replica's reads.
    PurgeTombstonesAtOnce,
    /// A write is acknowledged before its commit-log record is written and
    /// fsynced (it waits in the log's buffer, lost if the process dies).
    AckBeforeFsync,
    /// Directory fsyncs after creating, renaming or removing files are
    /// skipped, on the real file system and on the simulated one.
    SkipDirFsync,
}

impl Canary {
    /// Every storage canary.
    pub const ALL: [Canary; 3] = [
        Canary::PurgeTombstonesAtOnce,
        Canary::AckBeforeFsync,
        Canary::SkipDirFsync,
    ];

    /// Its name in `BASALT_CANARY`.
    pub fn name(self) -> &'static str {
        match self {
            Canary::PurgeTombstonesAtOnce => "purge-tombstones-at-once",
            Canary::AckBeforeFsync => "ack-before-fsync",
            Canary::SkipDirFsync => "skip-dir-fsync",
        }
    }

    /// The canary called `name`, if storage has one.
    pub fn from_name(name: &str) -> Option<Canary> {
        Canary::ALL.into_iter().find(|c| c.name() == name)
    }
}

static SELECTED: OnceLock<Canary> = OnceLock::new();

/// Activates `canary` for the rest of the process. Fails, naming the one in
/// force, if another was selected before; selecting the same one again is
/// harmless (several in-process nodes, several tests of one canary).
pub fn select(canary: Canary) -> Result<(), Canary> {
    let selected = *SELECTED.get_or_init(|| canary);
    if selected == canary {
        Ok(())
    } else {
        Err(selected)
    }
}

/// Whether `canary` is the selected one.
pub fn active(canary: Canary) -> bool {
    SELECTED.get() == Some(&canary)
}
