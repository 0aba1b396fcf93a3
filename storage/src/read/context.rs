//! Per-partition state of a merge: the deletions that apply across sources,
//! and what each mode keeps of a merged row.

use super::ColumnFilter;
use crate::cell::{DeletionTime, RangeTombstone, Row};
use crate::key::DecoratedKey;
use crate::partition::PartitionHeader;
use crate::reconcile::{
    Purger, compare_deletions, covering_deletion, live_row_in_place, merge_headers,
    shadow_row_in_place,
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
    ) -> (PartitionCtx, Option<Box<Row>>) {
        let mut ctx = PartitionCtx::empty(now);
        let mut headers = headers.into_iter();
        let Some(first) = headers.next() else {
            return (ctx, None);
        };
        let (_, static_row) = ctx.reset(headers.fold(first, merge_headers), mode);
        (ctx, static_row)
    }

    /// Starts the partition of one (merged) header, reusing this context's
    /// buffers; returns the header's key and its not yet processed static row.
    pub(crate) fn reset(
        &mut self,
        header: PartitionHeader,
        mode: &Mode,
    ) -> (DecoratedKey, Option<Box<Row>>) {
        let PartitionHeader {
            key,
            deletion,
            range_tombstones,
            static_row,
        } = header;
        self.visible.clear();
        if !range_tombstones.is_empty() {
            let purger = match mode {
                Mode::Compaction(p) => Some(p),
                _ => None,
            };
            self.visible.extend(
                range_tombstones
                    .iter()
                    .filter(|rt| {
                        deletion.is_none_or(|d| {
                            compare_deletions(&rt.deletion, &d) == Ordering::Greater
                        }) && !purger.is_some_and(|p| p.purgeable_deletion(&rt.deletion))
                    })
                    .cloned(),
            );
        }
        self.tombstones = usize::from(deletion.is_some()) + range_tombstones.len();
        self.deletion = deletion;
        self.range_tombstones = range_tombstones;
        (key, static_row)
    }

    /// The context of a partition no source has anything for.
    pub(crate) fn empty(now: i64) -> PartitionCtx {
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

    /// Takes the range tombstones worth reporting (the merge reports them once).
    pub(crate) fn take_visible_range_tombstones(&mut self) -> Vec<RangeTombstone> {
        std::mem::take(&mut self.visible)
    }

    /// Processes the static row: only the partition deletion covers it.
    pub(crate) fn process_static(&mut self, mode: &Mode, mut row: Box<Row>) -> Option<Box<Row>> {
        self.count(&row);
        shadow_row_in_place(&mut row, self.deletion);
        self.finish(mode, &mut row).then_some(row)
    }

    /// Processes a merged row in place: shadows it, then keeps what `mode`
    /// wants; false when nothing of it is to be returned.
    pub(crate) fn process(&mut self, mode: &Mode, row: &mut Row) -> bool {
        self.count(row);
        let covering = if self.range_tombstones.is_empty() {
            self.deletion
        } else {
            covering_deletion(
                self.deletion,
                &self.range_tombstones,
                row.clustering.as_bytes(),
            )
        };
        shadow_row_in_place(row, covering);
        self.finish(mode, row)
    }

    fn finish(&self, mode: &Mode, row: &mut Row) -> bool {
        match mode {
            Mode::Live(cols) => {
                let live = live_row_in_place(row, self.now);
                if live {
                    select(row, cols);
                }
                live
            }
            Mode::Tombstones(cols) => {
                // Emptiness is judged on all columns, before selection.
                let keep = !row.is_empty();
                if keep {
                    select(row, cols);
                }
                keep
            }
            Mode::Compaction(p) => {
                p.purge_row_in_place(row);
                !row.is_empty()
            }
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
fn select(row: &mut Row, cols: &ColumnFilter) {
    if let ColumnFilter::Only(_) = cols {
        row.cells.retain(|c| cols.selects(c.column));
        row.column_deletions.retain(|(c, _)| cols.selects(*c));
    }
}
