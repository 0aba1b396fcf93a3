//! The [`CompactionStrategy`] trait and the planning steps strategies share.

use super::{CompactionTask, SsTableDescriptor, TaskKind, fully_expired};
use crate::cell::Timestamp;
use std::collections::HashSet;
use std::fmt::Debug;

/// Decides which tables to compact. Implementations are pure functions of their
/// arguments (leveled compaction also remembers where it stopped in each level).
pub trait CompactionStrategy: Send + Sync + Debug {
    /// The most useful task over the live `sstables`, none of whose inputs is in
    /// `compacting`; `None` if nothing is worth doing. `gc_before` is now (in
    /// seconds since the epoch) less `gc_grace_seconds`: tombstones deleted
    /// before it may be purged. No strategy needs the time otherwise (time
    /// windows follow the data's timestamps). The caller marks the inputs
    /// compacting before asking again.
    fn next_task(
        &self,
        sstables: &[SsTableDescriptor],
        compacting: &HashSet<u64>,
        gc_before: i64,
    ) -> Option<CompactionTask>;

    /// An estimate of how many tasks are waiting, for the visible backlog.
    fn pending_tasks(&self, sstables: &[SsTableDescriptor]) -> usize;

    /// The tasks of a major compaction over all `sstables`. The caller waits for
    /// running compactions to finish first and asks for no background task
    /// until the major tasks are done.
    fn major_tasks(&self, sstables: &[SsTableDescriptor]) -> Vec<CompactionTask>;
}

/// The tables planning may use.
pub(super) fn available<'a>(
    sstables: &'a [SsTableDescriptor],
    compacting: &HashSet<u64>,
) -> Vec<&'a SsTableDescriptor> {
    sstables
        .iter()
        .filter(|t| !compacting.contains(&t.generation))
        .collect()
}

/// Drop every available fully expired table. Memtables are unknown here, so
/// they count as empty; [`TaskKind::DropExpired`] tells the executor to recheck.
pub(super) fn drop_expired_task(
    sstables: &[SsTableDescriptor],
    compacting: &HashSet<u64>,
    gc_before: i64,
) -> Option<CompactionTask> {
    // Cheap pre-check: most tables hold never-expiring data.
    if !sstables
        .iter()
        .any(|t| t.max_local_deletion_time < gc_before && !compacting.contains(&t.generation))
    {
        return None;
    }
    let inputs: Vec<u64> = fully_expired(sstables, gc_before, Timestamp(i64::MAX))
        .into_iter()
        .filter(|g| !compacting.contains(g))
        .collect();
    (!inputs.is_empty()).then_some(CompactionTask {
        inputs,
        output_level: 0,
        max_output_bytes: None,
        kind: TaskKind::DropExpired,
    })
}

/// A single-table compaction to purge tombstones: the available table with the
/// highest droppable ratio above `threshold` (ties: the smaller one) whose
/// tombstones can actually go, i.e. no other table overlapping it holds data
/// as old as its newest write. The output stays at the table's level. Without that check a table whose tombstones
/// must stay would be rewritten again and again, its ratio never falling.
pub(super) fn tombstone_task(
    sstables: &[SsTableDescriptor],
    compacting: &HashSet<u64>,
    threshold: f64,
) -> Option<CompactionTask> {
    let purgeable = |t: &SsTableDescriptor| {
        !sstables.iter().any(|o| {
            o.generation != t.generation && o.overlaps(t) && o.min_timestamp <= t.max_timestamp
        })
    };
    let best = available(sstables, compacting)
        .into_iter()
        .filter(|t| t.droppable_tombstone_ratio > threshold && purgeable(t))
        .max_by(|a, b| {
            a.droppable_tombstone_ratio
                .total_cmp(&b.droppable_tombstone_ratio)
                .then(b.size_bytes.cmp(&a.size_bytes))
                .then(b.generation.cmp(&a.generation))
        })?;
    Some(CompactionTask {
        inputs: vec![best.generation],
        output_level: best.level,
        max_output_bytes: None,
        kind: TaskKind::Merge,
    })
}
