//! Per-table statistics, the figures behind `nodetool tablestats`.

use super::Shared;
use crate::metrics::LatencySummary;
use crate::table::Table;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// SSTables of one level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// The level (0 for flushes and size-tiered tables).
    pub level: u32,
    /// SSTables in it.
    pub sstable_count: usize,
    /// Their bytes on disk.
    pub bytes: u64,
}

/// A table's statistics at one moment.
#[derive(Clone, Debug, Default)]
pub struct TableStats {
    /// Bytes in the active and flushing memtables.
    pub memtable_bytes: u64,
    /// Partitions in the active and flushing memtables.
    pub memtable_partitions: u64,
    /// Memtables switched out and waiting for, or in, flush.
    pub flushing_memtables: usize,
    /// Live SSTables.
    pub sstable_count: usize,
    /// Their bytes on disk.
    pub sstable_bytes: u64,
    /// Per level.
    pub levels: Vec<LevelStats>,
    /// Memory of the SSTables' bloom filters.
    pub bloom_memory_bytes: u64,
    /// Partitions in SSTables plus memtables (duplicates across them counted once each).
    pub estimated_partitions: u64,
    /// The largest partition written to an SSTable, in bytes.
    pub max_partition_bytes: u64,
    /// Tombstones in SSTables.
    pub sstable_tombstones: u64,
    /// Compactions the strategy would run now, plus those running.
    pub pending_compactions: usize,
    /// Bytes of the SSTables those pending compactions would read (an estimate).
    pub pending_compaction_bytes: u64,
    /// Compactions running on this table.
    pub compactions_running: usize,
    /// Point reads served.
    pub reads: u64,
    /// Point read latency (one read in eight is timed).
    pub read_latency: LatencySummary,
    /// Writes.
    pub write_latency: LatencySummary,
    /// Scans (time to open).
    pub scan_latency: LatencySummary,
    /// Flushes so far.
    pub flushes: u64,
    /// Compactions so far.
    pub compactions: u64,
    /// Bytes written by flushes.
    pub bytes_flushed: u64,
    /// Bytes written by compactions.
    pub bytes_compacted: u64,
}

pub(super) fn collect(shared: &Shared, table: &Table) -> TableStats {
    let view = table.view();
    let now = shared.options.clock.now_seconds();
    let gc_before = table.options().gc_before(now);
    let mut levels: BTreeMap<u32, LevelStats> = BTreeMap::new();
    let mut s = TableStats::default();
    for slot in view.memtables() {
        s.memtable_bytes += slot.memtable.size_bytes() as u64;
        s.memtable_partitions += slot.memtable.partition_count() as u64;
    }
    s.flushing_memtables = view.flushing.len();
    for l in &view.sstables {
        let size = l.sstable.size_bytes();
        let st = l.sstable.stats();
        let level = levels.entry(l.level).or_insert_with(|| LevelStats {
            level: l.level,
            ..LevelStats::default()
        });
        level.sstable_count += 1;
        level.bytes += size;
        s.sstable_count += 1;
        s.sstable_bytes += size;
        s.bloom_memory_bytes += l.sstable.bloom_memory_bytes();
        s.estimated_partitions += st.partition_count;
        s.max_partition_bytes = s.max_partition_bytes.max(st.largest_partition_bytes);
        s.sstable_tombstones += st.tombstone_count;
    }
    s.estimated_partitions += s.memtable_partitions;
    s.levels = levels.into_values().collect();
    let descriptors = table.descriptors(gc_before);
    s.compactions_running = compacting_tasks(table);
    s.pending_compactions =
        table.with_strategy(|st| st.pending_tasks(&descriptors)) + s.compactions_running;
    s.pending_compaction_bytes = table
        .with_strategy(|st| st.next_task(&descriptors, &Default::default(), gc_before))
        .map(|task| {
            descriptors
                .iter()
                .filter(|d| task.inputs.contains(&d.generation))
                .map(|d| d.size_bytes)
                .sum()
        })
        .unwrap_or(0);
    s.reads = table.metrics.reads_served();
    s.read_latency = table.metrics.reads.summary();
    s.write_latency = table.metrics.writes.summary();
    s.scan_latency = table.metrics.scans.summary();
    s.flushes = table.metrics.flushes.load(Ordering::Relaxed);
    s.compactions = table.metrics.compactions.load(Ordering::Relaxed);
    s.bytes_flushed = table.metrics.bytes_flushed.load(Ordering::Relaxed);
    s.bytes_compacted = table.metrics.bytes_compacted.load(Ordering::Relaxed);
    s
}

fn compacting_tasks(table: &Table) -> usize {
    // Inputs are marked per task; an approximation of running tasks is whether
    // any input is marked.
    usize::from(
        !table
            .compacting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty(),
    )
}
