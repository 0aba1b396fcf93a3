//! Per-partition state of a merge: the deletions that apply across sources,
//! and what each mode keeps of a merged row.

use super::ColumnFilter;
use crate::cell::{DeletionTime, RangeTombstone, Row};
use crate::partition::PartitionHeader;
use crate::reconcile::{
    Purger, compare_deletions, covering_deletion, live_row, merge_headers, shadow_row,
};
use std::cmp::Ordering;

/// What a merge keeps.
pub(crate) enum Mode {
    /// Live data at `now` in the selected columns (what CQL sees).
    Live(ColumnFilter),
    /// Reconciled data with tombstones, shadowed data removed.
    Tombstones(ColumnFilter),
    /// Like `Tombstones` for all columns, then purged for an SSTable.
    Compaction(Purger),
}

/// The partition-level deletions in force while merging one partition's rows.
pub(crate) struct PartitionCtx {
    deletion: Option<DeletionTime>,
    /// Every range tombstone of every source (merged by range).
    range_tombstones: Vec<RangeTombstone>,
    /// Those the output reports: not shadowed by the partition deletion (nor purged).
    visible: Vec<RangeTombstone>,
    now: i64,
    pub(crate) tombstones: usize,
}

impl PartitionCtx {
    /// Merges the headers of one partition from several sources; returns the
    /// context and the merged, not yet processed, static row.
    pub(crate) fn from_headers(
        headers: impl IntoIterator<Item = PartitionHeader>,
        mode: &Mode,
        now: i64,
    ) -> (PartitionCtx, Option<Row>) {
        let mut headers = headers.into_iter();
        let Some(first) = headers.next() else {
            return (PartitionCtx::empty(now), None);
        };
        let merged = headers.fold(first, merge_headers);
        let (deletion, range_tombstones, static_row) =
            (merged.deletion, merged.range_tombstones, merged.static_row);
        let purger = match mode {
            Mode::Compaction(p) => Some(p),
            _ => None,
        };
        let visible = range_tombstones
            .iter()
            .filter(|rt| {
                deletion.is_none_or(|d| compare_deletions(&rt.deletion, &d) == Ordering::Greater)
                    && !purger.is_some_and(|p| p.purgeable_deletion(&rt.deletion))
            })
            .cloned()
            .collect();
        let ctx = PartitionCtx {
            tombstones: usize::from(deletion.is_some()) + range_tombstones.len(),
            deletion,
            range_tombstones,
            visible,
            now,
        };
        (ctx, static_row)
    }

    fn empty(now: i64) -> PartitionCtx {
        PartitionCtx {
            deletion: None,
            range_tombstones: Vec::new(),
            visible: Vec::new(),
            now,
            tombstones: 0,
        }
    }

    /// The merged partition deletion.
    pub(crate) fn deletion(&self) -> Option<DeletionTime> {
        self.deletion
    }

    /// The partition deletion an output reports (purged in compaction).
    pub(crate) fn output_deletion(&self, mode: &Mode) -> Option<DeletionTime> {
        match mode {
            Mode::Compaction(p) => self.deletion.filter(|d| !p.purgeable_deletion(d)),
            _ => self.deletion,
        }
    }

    /// Range tombstones worth reporting.
    pub(crate) fn visible_range_tombstones(&self) -> &[RangeTombstone] {
        &self.visible
    }

    /// Processes the static row: only the partition deletion covers it.
    pub(crate) fn process_static(&mut self, mode: &Mode, row: Row) -> Option<Row> {
        self.count(&row);
        let row = shadow_row(row, self.deletion);
        self.finish(mode, row)
    }

    /// Processes a merged row: shadows it, then keeps what `mode` wants.
    pub(crate) fn process(&mut self, mode: &Mode, row: Row) -> Option<Row> {
        self.count(&row);
        let covering = if self.range_tombstones.is_empty() {
            self.deletion
        } else {
            covering_deletion(
                self.deletion,
                &self.range_tombstones,
                row.clustering.as_bytes(),
            )
        };
        let row = shadow_row(row, covering);
        self.finish(mode, row)
    }

    fn finish(&self, mode: &Mode, row: Row) -> Option<Row> {
        match mode {
            Mode::Live(cols) => live_row(row, self.now).map(|r| select(r, cols)),
            Mode::Tombstones(cols) => (!row.is_empty()).then(|| select(row, cols)),
            Mode::Compaction(p) => Some(p.purge_row(row)).filter(|r| !r.is_empty()),
        }
    }

    fn count(&mut self, row: &Row) {
        let now = self.now;
        self.tombstones += usize::from(row.deletion.is_some())
            + row.column_deletions.len()
            + row.cells.iter().filter(|c| c.cell.is_dead_at(now)).count();
    }
}

/// Keeps only the selected columns' cells and column deletions.
fn select(mut row: Row, cols: &ColumnFilter) -> Row {
    if let ColumnFilter::Only(_) = cols {
        row.cells.retain(|c| cols.selects(c.column));
        row.column_deletions.retain(|(c, _)| cols.selects(*c));
    }
    row
}
