//! Size-tiered compaction (Cassandra's default): merge tables of similar size.
//!
//! Tables are sorted by size and cut into buckets of similar sizes; a bucket
//! with at least `min_threshold` tables is merged (at most `max_threshold` of
//! them, the smallest). Each byte is rewritten about once per tier, so write
//! amplification grows with log(data / flush size) and reads may touch one
//! table per tier.
//!
//! Two choices differ from Cassandra, on purpose:
//! - Bucket bounds hold against the bucket's *final* average: a table joins
//!   the current bucket only if, with it, every member is still within
//!   `[bucket_low × avg, bucket_high × avg]`. Cassandra checks only the joining
//!   table against the average so far, so a bucket can drift to members many
//!   times apart. A table below `min_sstable_size` counts as exactly that size,
//!   so all small tables share a bucket, as in Cassandra.
//! - Among eligible buckets the one with the smallest average size wins, not
//!   the "hottest" (Cassandra's read rate per byte, which storage does not
//!   track): it removes the most tables per byte rewritten, and running tasks'
//!   tables are excluded, so a concurrent planner moves on to the next bucket.

use super::strategy::{CompactionStrategy, available, drop_expired_task, tombstone_task};
use super::{CompactionTask, SsTableDescriptor, TaskKind};
use crate::options::SizeTieredOptions;
use std::collections::HashSet;

/// The size-tiered planner.
#[derive(Debug, Clone)]
pub struct SizeTieredStrategy {
    opts: SizeTieredOptions,
}

impl SizeTieredStrategy {
    /// A planner with these options.
    pub fn new(opts: SizeTieredOptions) -> Self {
        SizeTieredStrategy { opts }
    }
}

/// The size a table counts as when bucketing.
pub(super) fn bucket_size(t: &SsTableDescriptor, opts: &SizeTieredOptions) -> u64 {
    t.size_bytes.max(opts.min_sstable_size_bytes)
}

/// Cuts `tables` into buckets of similar size, each sorted by size (ascending).
pub(super) fn buckets<'a>(
    mut tables: Vec<&'a SsTableDescriptor>,
    opts: &SizeTieredOptions,
) -> Vec<Vec<&'a SsTableDescriptor>> {
    tables.sort_by_key(|t| (bucket_size(t, opts), t.generation));
    let mut out: Vec<Vec<&SsTableDescriptor>> = Vec::new();
    let mut sum = 0f64;
    for t in tables {
        let size = bucket_size(t, opts) as f64;
        let fits = out.last().is_some_and(|b| {
            // Sorted ascending: the first member is the smallest, `t` the largest.
            let avg = (sum + size) / (b.len() + 1) as f64;
            bucket_size(b[0], opts) as f64 >= opts.bucket_low * avg
                && size <= opts.bucket_high * avg
        });
        match out.last_mut() {
            Some(b) if fits => b.push(t),
            _ => {
                out.push(vec![t]);
                sum = 0.0;
            }
        }
        sum += size;
    }
    out
}

/// The cheapest bucket worth merging, trimmed to `max_threshold` tables.
/// Trimming keeps the smallest members, a prefix of the sorted bucket, which
/// was itself a valid bucket when its last member joined.
pub(super) fn pick_bucket<'a>(
    tables: Vec<&'a SsTableDescriptor>,
    opts: &SizeTieredOptions,
) -> Option<Vec<&'a SsTableDescriptor>> {
    buckets(tables, opts)
        .into_iter()
        .filter(|b| b.len() >= opts.min_threshold)
        .map(|mut b| {
            b.truncate(opts.max_threshold);
            b
        })
        .min_by(|a, b| {
            let avg = |v: &[&SsTableDescriptor]| {
                v.iter().map(|t| t.size_bytes as f64).sum::<f64>() / v.len() as f64
            };
            avg(a)
                .total_cmp(&avg(b))
                .then(b.len().cmp(&a.len()))
                .then(a[0].generation.cmp(&b[0].generation))
        })
}

/// Tasks waiting among `tables` by size-tiered rules.
pub(super) fn pending(tables: Vec<&SsTableDescriptor>, opts: &SizeTieredOptions) -> usize {
    buckets(tables, opts)
        .iter()
        .filter(|b| b.len() >= opts.min_threshold)
        .map(|b| b.len().div_ceil(opts.max_threshold.max(1)))
        .sum()
}

pub(super) fn merge(inputs: Vec<&SsTableDescriptor>, kind: TaskKind) -> CompactionTask {
    CompactionTask {
        inputs: inputs.iter().map(|t| t.generation).collect(),
        output_level: 0,
        max_output_bytes: None,
        kind,
    }
}

impl CompactionStrategy for SizeTieredStrategy {
    fn next_task(
        &self,
        sstables: &[SsTableDescriptor],
        compacting: &HashSet<u64>,
        gc_before: i64,
    ) -> Option<CompactionTask> {
        drop_expired_task(sstables, compacting, gc_before)
            .or_else(|| {
                pick_bucket(available(sstables, compacting), &self.opts)
                    .map(|b| merge(b, TaskKind::Merge))
            })
            .or_else(|| tombstone_task(sstables, compacting, self.opts.tombstone_threshold))
    }

    fn pending_tasks(&self, sstables: &[SsTableDescriptor]) -> usize {
        pending(sstables.iter().collect(), &self.opts)
    }

    /// Everything into one table.
    fn major_tasks(&self, sstables: &[SsTableDescriptor]) -> Vec<CompactionTask> {
        if sstables.is_empty() {
            return Vec::new();
        }
        vec![merge(sstables.iter().collect(), TaskKind::Major)]
    }
}
