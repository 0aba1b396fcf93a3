//! Merging what memtables and SSTables hold into what a read, a scan or a
//! compaction sees.
//!
//! Every source yields partitions as a header followed by rows in clustering
//! order. Reads merge the sources lazily (a k-way merge of their streams), apply
//! deletions across sources (a tombstone in one source shadows data in any
//! other), and then either keep only live data at `now` (what CQL sees), keep
//! tombstones too (digests and read repair), or purge what gc grace allows
//! (compaction). Row processing is shared by all three in [`context`].

use crate::cell::{DeletionTime, RangeTombstone, Row};
use crate::error::Result;
use crate::key::{ClusteringKey, ClusteringRange, ColumnId, DecoratedKey};
use crate::partition::{KeyRange, PartitionStream, Unfiltered, UnfilteredIter};

mod context;
mod cursor;
mod merge;
#[cfg(test)]
mod tests;

use context::{Mode, PartitionCtx};
use cursor::{Cursor, next_merged_row};
pub(crate) use merge::merge_for_compaction;
use merge::{MergeConfig, MergeIter};

/// Which columns a read returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnFilter {
    /// Every column.
    All,
    /// Only these columns (sorted, no duplicates).
    Only(Vec<ColumnId>),
}

impl ColumnFilter {
    /// Whether `column` is selected.
    pub fn selects(&self, column: ColumnId) -> bool {
        match self {
            ColumnFilter::All => true,
            ColumnFilter::Only(cols) => cols.binary_search(&column).is_ok(),
        }
    }
}

/// A read of one partition.
#[derive(Clone, Debug)]
pub struct PartitionRead {
    /// The partition.
    pub key: DecoratedKey,
    /// Sorted, disjoint slices; `vec![ClusteringRange::ALL]` for all rows.
    pub slices: Vec<ClusteringRange>,
    /// The columns returned (liveness is judged on all columns regardless).
    pub columns: ColumnFilter,
    /// Descending clustering order.
    pub reversed: bool,
    /// At most this many rows are returned.
    pub row_limit: Option<usize>,
    /// Seconds since the epoch, for TTLs.
    pub now: i64,
    /// Keep tombstones and dead rows (for digests and read repair).
    pub include_tombstones: bool,
}

/// What a read cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// SSTables the read consulted.
    pub sstables_touched: usize,
    /// Tombstones met so far: partition, range and row deletions, column
    /// deletions, cell tombstones and cells expired at `now`.
    pub tombstones_scanned: usize,
}

/// The merged rows of one partition, produced lazily.
pub struct PartitionReader {
    key: DecoratedKey,
    sstables_touched: usize,
    /// The merge, when any source holds the partition. Boxed so that the common
    /// miss (no source, e.g. after the bloom filters said no) allocates nothing
    /// and moves a small value.
    merge: Option<Box<Merging>>,
}

/// The state of a partition read that has sources.
struct Merging {
    mode: Mode,
    ctx: PartitionCtx,
    static_row: Option<Box<Row>>,
    cursors: Vec<Cursor>,
    active: Vec<usize>,
    reversed: bool,
    /// The slices, when they are not everything: rows outside them are dropped
    /// even if a source returns them.
    slices: Option<Vec<ClusteringRange>>,
    remaining: usize,
    failed: bool,
}

impl std::fmt::Debug for PartitionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionReader")
            .field("key", &self.key)
            .field(
                "sources",
                &self.merge.as_ref().map_or(0, |m| m.cursors.len()),
            )
            .finish_non_exhaustive()
    }
}

impl PartitionReader {
    /// Merges what each source returned for `cmd.key` (already restricted to
    /// `cmd.slices` and ordered per `cmd.reversed`).
    pub fn new(
        cmd: &PartitionRead,
        sources: Vec<PartitionStream>,
        sstables_touched: usize,
    ) -> Result<PartitionReader> {
        let merge = (!sources.is_empty()).then(|| Box::new(Merging::new(cmd, sources)));
        Ok(PartitionReader {
            key: cmd.key.clone(),
            sstables_touched,
            merge,
        })
    }

    /// The partition key.
    pub fn key(&self) -> &DecoratedKey {
        &self.key
    }

    /// The merged partition deletion.
    pub fn partition_deletion(&self) -> Option<DeletionTime> {
        self.merge.as_ref().and_then(|m| m.ctx.deletion())
    }

    /// The static row, processed like the rows (live-filtered in live mode).
    pub fn static_row(&self) -> Option<&Row> {
        self.merge.as_ref().and_then(|m| m.static_row.as_deref())
    }

    /// The merged range tombstones that are not shadowed by the partition deletion.
    pub fn range_tombstones(&self) -> &[RangeTombstone] {
        self.merge
            .as_ref()
            .map_or(&[], |m| m.ctx.visible_range_tombstones())
    }

    /// Whether the partition has no partition-level content (deletion, range
    /// tombstones, static row) to report; rows may still follow.
    pub fn is_header_empty(&self) -> bool {
        self.static_row().is_none()
            && self.partition_deletion().is_none()
            && self.range_tombstones().is_empty()
    }

    /// What the read has cost so far.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            sstables_touched: self.sstables_touched,
            tombstones_scanned: self.merge.as_ref().map_or(0, |m| m.ctx.tombstones),
        }
    }
}

impl Merging {
    fn new(cmd: &PartitionRead, sources: Vec<PartitionStream>) -> Merging {
        let mode = if cmd.include_tombstones {
            Mode::Tombstones(cmd.columns.clone())
        } else {
            Mode::Live(cmd.columns.clone())
        };
        let mut headers = Vec::with_capacity(sources.len());
        let mut cursors = Vec::with_capacity(sources.len());
        for s in sources {
            headers.push(s.header);
            cursors.push(Cursor::new(Box::new(
                s.rows.map(|r| r.map(Unfiltered::Row)),
            )));
        }
        let (mut ctx, static_row) = PartitionCtx::from_headers(headers, &mode, cmd.now);
        let static_row = static_row.and_then(|s| ctx.process_static(&mode, s));
        Merging {
            mode,
            ctx,
            static_row,
            active: (0..cursors.len()).collect(),
            cursors,
            reversed: cmd.reversed,
            slices: (cmd.slices.as_slice() != [ClusteringRange::ALL]).then(|| cmd.slices.clone()),
            remaining: cmd.row_limit.unwrap_or(usize::MAX),
            failed: false,
        }
    }

    fn next_row(&mut self) -> Option<Result<Row>> {
        while self.remaining > 0 && !self.failed {
            let mut row = match next_merged_row(&mut self.cursors, &self.active, self.reversed) {
                Ok(Some(row)) => row,
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            if let Some(slices) = &self.slices
                && !slices.iter().any(|s| s.contains(row.clustering.as_bytes()))
            {
                continue;
            }
            if self.ctx.process(&self.mode, &mut row) {
                self.remaining -= 1;
                return Some(Ok(row));
            }
        }
        None
    }
}

impl Iterator for PartitionReader {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        self.merge.as_mut()?.next_row()
    }
}

/// A scan of a range of partitions.
#[derive(Clone, Debug)]
pub struct ScanCommand {
    /// The partitions.
    pub range: KeyRange,
    /// Continue inside this partition after this row (CQL paging); earlier
    /// partitions are skipped.
    pub resume_after: Option<(DecoratedKey, ClusteringKey)>,
    /// The columns returned.
    pub columns: ColumnFilter,
    /// Seconds since the epoch, for TTLs.
    pub now: i64,
    /// Keep tombstones and dead rows.
    pub include_tombstones: bool,
}

/// One item of a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanItem {
    /// A partition begins (only partitions with something to return are reported).
    Partition {
        /// The key.
        key: DecoratedKey,
        /// The merged partition deletion.
        deletion: Option<DeletionTime>,
        /// The static row, processed like the rows.
        static_row: Option<Row>,
        /// The partition's range tombstones (with `include_tombstones` only;
        /// a replica's answer needs them, or a row another replica still
        /// holds would come back to life in a scan).
        range_tombstones: Vec<RangeTombstone>,
    },
    /// A row of the last partition, in ascending clustering order.
    Row(Row),
}

/// A lazy k-way merge of the sources' scans.
pub struct ScanReader {
    inner: MergeIter,
    sstables_touched: usize,
}

impl std::fmt::Debug for ScanReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanReader").finish_non_exhaustive()
    }
}

impl ScanReader {
    /// Merges the sources (each in `(token, key)` order, headers then rows), of
    /// which `sstables_touched` are SSTables.
    pub fn new(
        cmd: &ScanCommand,
        sources: Vec<UnfilteredIter>,
        sstables_touched: usize,
    ) -> ScanReader {
        let mode = if cmd.include_tombstones {
            Mode::Tombstones(cmd.columns.clone())
        } else {
            Mode::Live(cmd.columns.clone())
        };
        ScanReader {
            inner: MergeIter::new(
                sources,
                MergeConfig {
                    mode,
                    now: cmd.now,
                    range: cmd.range.clone(),
                    resume_after: cmd.resume_after.clone(),
                },
            ),
            sstables_touched,
        }
    }

    /// What the scan has cost so far.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            sstables_touched: self.sstables_touched,
            tombstones_scanned: self.inner.tombstones(),
        }
    }
}

impl Iterator for ScanReader {
    type Item = Result<ScanItem>;

    fn next(&mut self) -> Option<Result<ScanItem>> {
        Some(self.inner.next()?.map(|u| match u {
            Unfiltered::Partition(h) => ScanItem::Partition {
                key: h.key,
                deletion: h.deletion,
                static_row: h.static_row.map(|s| *s),
                range_tombstones: h.range_tombstones,
            },
            Unfiltered::Row(r) => ScanItem::Row(r),
        }))
    }
}
