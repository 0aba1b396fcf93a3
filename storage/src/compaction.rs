//! Compaction planning: which SSTables to merge next, and into what.
//!
//! This module is pure: it sees [`SsTableDescriptor`]s (a table's size, level,
//! key range, timestamps and tombstone statistics) and returns
//! [`CompactionTask`]s. It reads no file and runs nothing, so every strategy is
//! tested and simulated (`bin/compaction-sim.rs`) without I/O. The engine
//! executes the tasks, then swaps the outputs in with one manifest store.
//!
//! Three strategies, as in Cassandra: size-tiered (the default),
//! leveled and time-window; see their modules.

mod leveled;
mod size_tiered;
mod strategy;
mod time_window;

pub use leveled::{LeveledStrategy, MAX_LEVEL};
pub use size_tiered::SizeTieredStrategy;
pub use strategy::CompactionStrategy;
pub use time_window::TimeWindowStrategy;

use crate::cell::Timestamp;
use crate::key::DecoratedKey;
use crate::options::CompactionStrategyOptions;

/// What planning needs to know about one live SSTable.
#[derive(Clone, Debug, PartialEq)]
pub struct SsTableDescriptor {
    /// The table's generation (its identity in the manifest).
    pub generation: u64,
    /// Its size on disk.
    pub size_bytes: u64,
    /// Its level (0 unless leveled compaction placed it).
    pub level: u32,
    /// Its first partition key.
    pub min_key: DecoratedKey,
    /// Its last partition key.
    pub max_key: DecoratedKey,
    /// The oldest write timestamp in it (cells, tombstones, liveness).
    pub min_timestamp: Timestamp,
    /// The newest write timestamp in it.
    pub max_timestamp: Timestamp,
    /// The latest time (seconds) at which anything in it stops being live data:
    /// the largest tombstone local deletion time or expiry of a TTL'd cell;
    /// `i64::MAX` if it holds data that never expires.
    pub max_local_deletion_time: i64,
    /// The fraction of its cells and tombstones that are droppable at the
    /// `gc_before` passed to planning (deleted or expired before it).
    pub droppable_tombstone_ratio: f64,
}

impl SsTableDescriptor {
    /// Whether the two tables' key ranges share a key.
    pub fn overlaps(&self, other: &SsTableDescriptor) -> bool {
        self.overlaps_range(&other.min_key, &other.max_key)
    }

    /// Whether this table's key range meets `[min, max]`.
    pub fn overlaps_range(&self, min: &DecoratedKey, max: &DecoratedKey) -> bool {
        self.min_key <= *max && *min <= self.max_key
    }
}

/// What executing a task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// Merge the inputs into new tables at `output_level`, purging what gc allows.
    Merge,
    /// Delete the inputs and write nothing: they hold only data expired before
    /// gc grace that shadows nothing. Planning cannot see memtables, so the
    /// executor must, just before deleting, keep only the inputs that
    /// [`fully_expired`] (called with the memtables' oldest timestamp) still returns.
    DropExpired,
    /// Rewrite nothing: record the inputs at `output_level` in the manifest.
    /// Leveled compaction uses it for a table that overlaps nothing in the next level.
    Move,
    /// A user-requested major compaction; otherwise as `Merge`.
    Major,
}

/// One unit of compaction work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionTask {
    /// Generations of the input tables; never empty, never a table already compacting.
    pub inputs: Vec<u64>,
    /// The level the outputs get.
    pub output_level: u32,
    /// Start a new output table once one reaches this size, at a partition
    /// boundary (leveled compaction); `None` writes a single output.
    pub max_output_bytes: Option<u64>,
    /// What to do.
    pub kind: TaskKind,
}

/// The planner for a table's compaction options.
pub fn strategy_for(opts: &CompactionStrategyOptions) -> Box<dyn CompactionStrategy> {
    match opts {
        CompactionStrategyOptions::SizeTiered(o) => Box::new(SizeTieredStrategy::new(o.clone())),
        CompactionStrategyOptions::Leveled(o) => Box::new(LeveledStrategy::new(o.clone())),
        CompactionStrategyOptions::TimeWindow(o) => Box::new(TimeWindowStrategy::new(o.clone())),
    }
}

/// Generations of the tables that can be deleted outright (Cassandra's rule):
/// everything in them was deleted or expired before `gc_before`
/// (`max_local_deletion_time < gc_before`), and no data they could shadow
/// exists elsewhere: every other table whose key range overlaps theirs and
/// still holds live data, and the memtables, hold only data newer than their
/// `max_timestamp`. Pass `Timestamp(i64::MAX)` when the memtables are empty.
///
/// Unlike Cassandra, which compares against one minimum over all overlapping
/// tables, each candidate is judged by the tables that overlap it: data can
/// only shadow data of the same partition.
pub fn fully_expired(
    sstables: &[SsTableDescriptor],
    gc_before: i64,
    memtable_min_timestamp: Timestamp,
) -> Vec<u64> {
    let dead = |t: &SsTableDescriptor| t.max_local_deletion_time < gc_before;
    sstables
        .iter()
        .filter(|c| dead(c))
        .filter(|c| {
            let oldest_live = sstables
                .iter()
                .filter(|o| !dead(o) && o.overlaps(c))
                .map(|o| o.min_timestamp)
                .fold(memtable_min_timestamp, Ord::min);
            c.max_timestamp < oldest_live
        })
        .map(|c| c.generation)
        .collect()
}

#[cfg(test)]
mod tests;
