//! Running one compaction task: merge the inputs, write size-bounded outputs,
//! swap the manifest, then delete the inputs.
//!
//! Crash safety comes from the order: outputs are durable before the manifest
//! names them, and inputs are deleted only after the manifest stops naming them.
//! Files that a crash leaves unnamed are removed when the table is next opened.

use super::{LiveSsTable, Table};
use crate::cell::Timestamp;
use crate::compaction::{CompactionTask, TaskKind, fully_expired};
use crate::error::Result;
use crate::key::DecoratedKey;
use crate::memtable::Memtable;
use crate::partition::{KeyRange, PartitionSource, Unfiltered, UnfilteredIter};
use crate::read::merge_for_compaction;
use crate::sstable::{SsTable, SsTableWriter};
use crate::throttle::Throttle;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How many partitions one output should size its bloom filter for: the
/// inputs' total (an upper bound, since merging only removes duplicates), scaled
/// down when outputs are split by size.
fn expected_partitions(inputs: &[&LiveSsTable], max_output_bytes: Option<u64>) -> usize {
    let partitions: u64 = inputs
        .iter()
        .map(|l| l.sstable.stats().partition_count)
        .sum();
    let bytes: u64 = inputs.iter().map(|l| l.sstable.size_bytes()).sum();
    let share = match max_output_bytes {
        Some(max) if bytes > max => (partitions as f64 * max as f64 / bytes as f64 * 1.1) as u64,
        _ => partitions,
    };
    usize::try_from(share.max(1)).unwrap_or(usize::MAX)
}

/// What the purge rule must look at: everything outside the compaction that may
/// hold older data for a key.
struct Outside {
    sstables: Vec<Arc<SsTable>>,
    memtables: Vec<Arc<Memtable>>,
}

impl Outside {
    /// The oldest timestamp of data for `key` that survives outside the
    /// compaction: tombstones at or above it must be kept to keep shadowing it.
    fn max_purgeable(&self, key: &DecoratedKey) -> Timestamp {
        let sstables = self
            .sstables
            .iter()
            .filter(|s| s.may_contain(key))
            .map(|s| s.stats().min_timestamp);
        let memtables = self
            .memtables
            .iter()
            .filter(|m| m.may_contain(key))
            .map(|m| m.min_timestamp());
        sstables
            .chain(memtables)
            .min()
            .unwrap_or(Timestamp(i64::MAX))
    }
}

impl Table {
    /// Runs `task`, whose inputs the caller has marked as compacting.
    pub(crate) fn run_compaction(
        &self,
        task: &CompactionTask,
        now: i64,
        throttle: &Throttle,
    ) -> Result<()> {
        let inputs: HashSet<u64> = task.inputs.iter().copied().collect();
        let view = self.view();
        let (chosen, others): (Vec<_>, Vec<_>) = view
            .sstables
            .iter()
            .partition(|l| inputs.contains(&l.sstable.generation()));
        let outputs = if task.kind == TaskKind::Move {
            // The input overlaps nothing in the next level: re-level it in place.
            chosen
                .iter()
                .map(|l| LiveSsTable {
                    sstable: l.sstable.clone(),
                    level: task.output_level,
                })
                .collect()
        } else if task.kind == TaskKind::DropExpired {
            // Planning assumed empty memtables; recheck against the real ones
            // before anything is deleted.
            let gc_before = self.options().gc_before(now);
            let still = fully_expired(
                &self.descriptors(gc_before),
                gc_before,
                self.memtable_min_timestamp(),
            );
            if task.inputs.iter().any(|g| !still.contains(g)) {
                return Ok(());
            }
            Vec::new()
        } else {
            let outside = Outside {
                sstables: others.iter().map(|l| l.sstable.clone()).collect(),
                memtables: view.memtables().map(|s| s.memtable.clone()).collect(),
            };
            // What a truncation covers goes at the first compaction.
            let at = self.truncated_at();
            let sources = chosen
                .iter()
                .map(|l| {
                    let scan = l.sstable.clone().scan(&KeyRange::ALL)?;
                    Ok(match at {
                        Some(at) => crate::truncation::filter_scan(scan, at),
                        None => scan,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let gc_before = self.options().gc_before(now);
            let merged = merge_for_compaction(
                sources,
                now,
                gc_before,
                Box::new(move |k: &DecoratedKey| outside.max_purgeable(k)),
            );
            let expected = expected_partitions(&chosen, task.max_output_bytes);
            self.write_outputs(merged, task, expected, throttle)?
        };
        let moved = task.kind == TaskKind::Move;
        self.swap_sstables(&inputs, outputs)?;
        for l in chosen.iter().filter(|_| !moved) {
            SsTable::remove_files(self.ctx.fs.as_ref(), &self.dir, l.sstable.generation())?;
        }
        self.metrics.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the merged stream, starting a new SSTable at a partition boundary
    /// whenever the current one passes the task's size bound.
    fn write_outputs(
        &self,
        merged: UnfilteredIter,
        task: &CompactionTask,
        expected_partitions: usize,
        throttle: &Throttle,
    ) -> Result<Vec<LiveSsTable>> {
        let options = super::sstable_options(&self.options());
        let mut finished = Vec::new();
        let mut current: Option<SsTableWriter> = None;
        let mut throttled = 0u64;
        let result = (|| {
            for item in merged {
                let item = item?;
                let full = matches!(item, Unfiltered::Partition(_))
                    && current
                        .as_ref()
                        .zip(task.max_output_bytes)
                        .is_some_and(|(w, max)| w.bytes_written() >= max);
                if full && let Some(w) = current.take() {
                    finished.push(w.finish()?);
                }
                let writer = match current.as_mut() {
                    Some(w) => w,
                    None => current.insert(SsTableWriter::new(
                        self.ctx.fs.clone(),
                        &self.dir,
                        self.allocate_generation(),
                        &options,
                        expected_partitions,
                    )?),
                };
                writer.add(item)?;
                let written = writer.bytes_written();
                if written > throttled + (1 << 20) || written < throttled {
                    throttle.acquire(written.saturating_sub(throttled));
                    throttled = written;
                }
            }
            if let Some(w) = current.take() {
                finished.push(w.finish()?);
            }
            Ok(())
        })();
        if let Err(e) = result {
            if let Some(w) = current.take() {
                w.abort();
            }
            for info in &finished {
                let _ = SsTable::remove_files(self.ctx.fs.as_ref(), &self.dir, info.generation);
            }
            return Err(e);
        }
        finished
            .iter()
            .map(|info| {
                self.metrics
                    .bytes_compacted
                    .fetch_add(info.size_bytes, Ordering::Relaxed);
                let sstable = SsTable::open(
                    self.ctx.fs.clone(),
                    &self.dir,
                    info.generation,
                    self.ctx.cache.clone(),
                )?;
                Ok(LiveSsTable {
                    sstable,
                    level: task.output_level,
                })
            })
            .collect()
    }
}
