//! Time-window compaction: for time series written once and expired by TTL.
//!
//! Tables are grouped by the window their newest write falls in
//! (`max_timestamp`, in µs, divided into windows of `window_size_seconds`).
//! The newest window still receives flushes and is compacted by size-tiered
//! rules; an older window is merged into a single table once it holds two or
//! more. A table whose data all expired and shadows nothing is dropped whole
//! ([`TaskKind::DropExpired`]), which is what makes TTL'd time series cheap.
//!
//! As in Cassandra, the newest window is the newest one any table falls in,
//! not the one holding `now`: write timestamps come from clients, so data
//! decides what "current" means.

use super::size_tiered::{merge, pending, pick_bucket};
use super::strategy::{CompactionStrategy, available, drop_expired_task, tombstone_task};
use super::{CompactionTask, SsTableDescriptor, TaskKind};
use crate::options::TimeWindowOptions;
use std::collections::{BTreeMap, HashSet};

/// The time-window planner.
#[derive(Debug, Clone)]
pub struct TimeWindowStrategy {
    opts: TimeWindowOptions,
}

impl TimeWindowStrategy {
    /// A planner with these options.
    pub fn new(opts: TimeWindowOptions) -> Self {
        TimeWindowStrategy { opts }
    }

    /// The index of the window `t`'s newest write falls in.
    pub fn window_of(&self, t: &SsTableDescriptor) -> i64 {
        let width = self
            .opts
            .window_size_seconds
            .saturating_mul(1_000_000)
            .max(1);
        t.max_timestamp.0.div_euclid(width)
    }

    /// Tables by window, oldest window first.
    fn windows<'a>(
        &self,
        tables: impl IntoIterator<Item = &'a SsTableDescriptor>,
    ) -> BTreeMap<i64, Vec<&'a SsTableDescriptor>> {
        let mut windows: BTreeMap<i64, Vec<&SsTableDescriptor>> = BTreeMap::new();
        for t in tables {
            windows.entry(self.window_of(t)).or_default().push(t);
        }
        windows
    }

    /// A whole older window into one table, the smallest `max_threshold` first.
    fn old_window_task(&self, mut tables: Vec<&SsTableDescriptor>) -> Option<CompactionTask> {
        if tables.len() < 2 {
            return None;
        }
        tables.sort_by_key(|t| (t.size_bytes, t.generation));
        tables.truncate(self.opts.size_tiered.max_threshold.max(2));
        Some(merge(tables, TaskKind::Merge))
    }
}

impl CompactionStrategy for TimeWindowStrategy {
    fn next_task(
        &self,
        sstables: &[SsTableDescriptor],
        compacting: &HashSet<u64>,
        gc_before: i64,
    ) -> Option<CompactionTask> {
        if let Some(t) = drop_expired_task(sstables, compacting, gc_before) {
            return Some(t);
        }
        // The newest window counts running tasks' tables too: it does not
        // change because its tables are being compacted.
        let newest = sstables.iter().map(|t| self.window_of(t)).max()?;
        let stcs = &self.opts.size_tiered;
        self.windows(available(sstables, compacting))
            .into_iter()
            .rev()
            .find_map(|(w, tables)| {
                if w == newest {
                    pick_bucket(tables, stcs).map(|b| merge(b, TaskKind::Merge))
                } else {
                    self.old_window_task(tables)
                }
            })
            .or_else(|| tombstone_task(sstables, compacting, stcs.tombstone_threshold))
    }

    fn pending_tasks(&self, sstables: &[SsTableDescriptor]) -> usize {
        let windows = self.windows(sstables);
        let newest = windows.keys().next_back().copied();
        let max = self.opts.size_tiered.max_threshold.max(2);
        windows
            .into_iter()
            .map(|(w, tables)| match (Some(w) == newest, tables.len()) {
                (true, _) => pending(tables, &self.opts.size_tiered),
                (false, n) if n >= 2 => n.div_ceil(max),
                _ => 0,
            })
            .sum()
    }

    /// One table per window.
    fn major_tasks(&self, sstables: &[SsTableDescriptor]) -> Vec<CompactionTask> {
        self.windows(sstables)
            .into_values()
            .map(|tables| merge(tables, TaskKind::Major))
            .collect()
    }
}
