//! Reconciliation: which version of a cell, marker or deletion wins, what a
//! deletion shadows, and which tombstones compaction may forget.
//!
//! This is the one place that knows the rules; memtables, reads and compaction
//! all call it, so every path agrees. It is pure: no I/O, no clock.
//!
//! Every `reconcile_*`/`merge_*` here is the maximum under a *total* order that
//! does not depend on `now`. That makes merging commutative, associative and
//! idempotent, and it also makes a merge done at write time (in the memtable)
//! agree with one done later at read time, when more cells have expired. The
//! order follows Cassandra 4 (CASSANDRA-14592): on equal timestamps a tombstone
//! beats an expiring cell, which beats a plain live cell (so a cell that is
//! expired at any `now` beats a live one, and an expiring cell never loses to a
//! live one only to win again once it expires); among two tombstones or two
//! expiring cells the later local deletion/expiration time wins; then the
//! greater value; then the greater TTL.

use crate::cell::Timestamp;
use crate::cell::{Cell, CellKind, ColumnCell, DeletionTime, LivenessInfo, RangeTombstone, Row};
use crate::partition::PartitionHeader;
use std::cmp::Ordering;

/// The order of cells of one address: the greater one wins.
pub fn compare_cells(a: &Cell, b: &Cell) -> Ordering {
    a.timestamp
        .cmp(&b.timestamp)
        .then_with(|| kind_rank(&a.kind).cmp(&kind_rank(&b.kind)))
        .then_with(|| a.local_deletion_time().cmp(&b.local_deletion_time()))
        .then_with(|| value_of(a).cmp(value_of(b)))
        .then_with(|| ttl_of(a).cmp(&ttl_of(b)))
}

fn kind_rank(k: &CellKind) -> u8 {
    match k {
        CellKind::Live(_) => 0,
        CellKind::Expiring { .. } => 1,
        CellKind::Tombstone { .. } => 2,
    }
}

fn value_of(c: &Cell) -> &[u8] {
    match &c.kind {
        CellKind::Live(v) | CellKind::Expiring { value: v, .. } => v,
        CellKind::Tombstone { .. } => &[],
    }
}

fn ttl_of(c: &Cell) -> i32 {
    match &c.kind {
        CellKind::Expiring { ttl_seconds, .. } => *ttl_seconds,
        _ => 0,
    }
}

/// The winner of two versions of one cell.
pub fn reconcile_cell(a: Cell, b: Cell) -> Cell {
    if compare_cells(&a, &b) == Ordering::Less {
        b
    } else {
        a
    }
}

/// The order of deletions: higher `marked_for_delete_at`, then later local time.
pub fn compare_deletions(a: &DeletionTime, b: &DeletionTime) -> Ordering {
    a.marked_for_delete_at
        .cmp(&b.marked_for_delete_at)
        .then_with(|| a.local_deletion_time.cmp(&b.local_deletion_time))
}

/// The stronger of two deletions.
pub fn merge_deletion(a: DeletionTime, b: DeletionTime) -> DeletionTime {
    if compare_deletions(&a, &b) == Ordering::Less {
        b
    } else {
        a
    }
}

/// The stronger of two optional deletions.
pub fn merge_opt_deletion(
    a: Option<DeletionTime>,
    b: Option<DeletionTime>,
) -> Option<DeletionTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(merge_deletion(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The order of liveness markers (Cassandra's `LivenessInfo.supersedes`):
/// higher timestamp, then expiring over non-expiring, then later expiration, then TTL.
pub fn compare_liveness(a: &LivenessInfo, b: &LivenessInfo) -> Ordering {
    a.timestamp
        .cmp(&b.timestamp)
        .then_with(|| a.expiry.is_some().cmp(&b.expiry.is_some()))
        .then_with(|| a.expiry.map(|e| e.1).cmp(&b.expiry.map(|e| e.1)))
        .then_with(|| a.expiry.map(|e| e.0).cmp(&b.expiry.map(|e| e.0)))
}

/// The winner of two optional liveness markers.
pub fn merge_liveness(a: Option<LivenessInfo>, b: Option<LivenessInfo>) -> Option<LivenessInfo> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if compare_liveness(&a, &b) == Ordering::Less {
            b
        } else {
            a
        }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Merges two rows with the same clustering key (`a`'s key is kept).
///
/// Cells are merged by `(column, path)`, column deletions by column. Nothing is
/// shadowed here; see [`shadow_row`].
pub fn merge_rows(a: Row, b: Row) -> Row {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return Row {
            clustering: a.clustering,
            ..b
        };
    }
    Row {
        clustering: a.clustering,
        liveness: merge_liveness(a.liveness, b.liveness),
        deletion: merge_opt_deletion(a.deletion, b.deletion),
        column_deletions: merge_column_deletions(a.column_deletions, b.column_deletions),
        cells: merge_cells(a.cells, b.cells),
    }
}

fn merge_column_deletions(
    a: Vec<(crate::key::ColumnId, DeletionTime)>,
    b: Vec<(crate::key::ColumnId, DeletionTime)>,
) -> Vec<(crate::key::ColumnId, DeletionTime)> {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return b;
    }
    merge_sorted(
        a,
        b,
        |x, y| x.0.cmp(&y.0),
        |x, y| (x.0, merge_deletion(x.1, y.1)),
    )
}

/// Merges two sorted cell vectors by address, reconciling collisions.
pub fn merge_cells(a: Vec<ColumnCell>, b: Vec<ColumnCell>) -> Vec<ColumnCell> {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return b;
    }
    merge_sorted(
        a,
        b,
        |x, y| (x.column, x.path.as_deref()).cmp(&(y.column, y.path.as_deref())),
        |x, y| ColumnCell {
            column: x.column,
            path: x.path,
            cell: reconcile_cell(x.cell, y.cell),
        },
    )
}

/// Merges two row lists sorted by clustering key: rows present in both are
/// merged with [`merge_rows`]. (Replicas' answers are merged this way.)
pub fn merge_row_lists(a: Vec<Row>, b: Vec<Row>) -> Vec<Row> {
    merge_sorted(a, b, |x, y| x.clustering.cmp(&y.clustering), merge_rows)
}

/// Merges two sorted vectors; `join` combines elements that compare equal.
fn merge_sorted<T>(
    a: Vec<T>,
    b: Vec<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    join: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let ord = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => cmp(x, y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        let next = match ord {
            Ordering::Less => a.next(),
            Ordering::Greater => b.next(),
            Ordering::Equal => match (a.next(), b.next()) {
                (Some(x), Some(y)) => Some(join(x, y)),
                _ => None,
            },
        };
        out.extend(next);
    }
    out
}

/// Merges two sources' headers of one partition (`a`'s key is kept): the
/// stronger partition deletion, range tombstones merged by range, static rows merged.
pub fn merge_headers(mut a: PartitionHeader, b: PartitionHeader) -> PartitionHeader {
    a.deletion = merge_opt_deletion(a.deletion, b.deletion);
    for rt in b.range_tombstones {
        match a.range_tombstones.iter_mut().find(|e| e.range == rt.range) {
            Some(e) => e.deletion = merge_deletion(e.deletion, rt.deletion),
            None => a.range_tombstones.push(rt),
        }
    }
    a.static_row = match (a.static_row, b.static_row) {
        (Some(x), Some(y)) => Some(Box::new(merge_rows(*x, *y))),
        (x, y) => x.or(y),
    };
    a
}

/// The deletion covering a row at `clustering`: the partition deletion and
/// every range tombstone that contains it (the row's own deletion is not included).
pub fn covering_deletion(
    partition_deletion: Option<DeletionTime>,
    range_tombstones: &[RangeTombstone],
    clustering: &[u8],
) -> Option<DeletionTime> {
    range_tombstones
        .iter()
        .filter(|rt| rt.range.contains(clustering))
        .fold(partition_deletion, |acc, rt| {
            merge_opt_deletion(acc, Some(rt.deletion))
        })
}

/// Removes from `row` everything shadowed by `covering` (the partition and range
/// deletions over it) and by its own deletions: liveness and cells at or below
/// the effective deletion, collection cells at or below their column deletion,
/// and deletions that a stronger one already implies. Returns the row; it may
/// be empty afterwards.
pub fn shadow_row(mut row: Row, covering: Option<DeletionTime>) -> Row {
    shadow_row_in_place(&mut row, covering);
    row
}

/// [`shadow_row`] in place, for merges that keep rows where they are.
pub fn shadow_row_in_place(row: &mut Row, covering: Option<DeletionTime>) {
    if let (Some(own), Some(cov)) = (row.deletion, covering)
        && compare_deletions(&own, &cov) != Ordering::Greater
    {
        row.deletion = None;
    }
    let effective = merge_opt_deletion(row.deletion, covering);
    let Some(del) = effective else {
        shadow_by_column_deletions(row);
        return;
    };
    if row.liveness.is_some_and(|l| del.deletes(l.timestamp)) {
        row.liveness = None;
    }
    row.column_deletions
        .retain(|(_, d)| !del.deletes(d.marked_for_delete_at));
    row.cells.retain(|c| !del.deletes(c.cell.timestamp));
    shadow_by_column_deletions(row);
}

fn shadow_by_column_deletions(row: &mut Row) {
    if row.column_deletions.is_empty() {
        return;
    }
    let dels = &row.column_deletions;
    row.cells.retain(|c| {
        dels.binary_search_by(|(col, _)| col.cmp(&c.column))
            .map_or(true, |i| !dels[i].1.deletes(c.cell.timestamp))
    });
}

/// Keeps only what a live read returns: live liveness and live cells at `now`.
/// Returns `None` when nothing in the row is live (the row does not exist for CQL).
pub fn live_row(mut row: Row, now: i64) -> Option<Row> {
    live_row_in_place(&mut row, now).then_some(row)
}

/// [`live_row`] in place: false (and `row` untouched) when nothing in it is live.
pub fn live_row_in_place(row: &mut Row, now: i64) -> bool {
    if !row.has_live_data(now) {
        return false;
    }
    if row.liveness.is_some_and(|l| !l.is_live_at(now)) {
        row.liveness = None;
    }
    row.deletion = None;
    row.column_deletions.clear();
    row.cells.retain(|c| !c.cell.is_dead_at(now));
    true
}

/// What compaction may forget: tombstones old enough (`local_deletion_time <
/// gc_before`) that shadow nothing outside the compaction (`timestamp <
/// max_purgeable`).
#[derive(Clone, Copy, Debug)]
pub struct Purger {
    /// The compaction's `now`, for turning expired cells into tombstones.
    pub now: i64,
    /// Tombstones deleted locally before this may be purged.
    pub gc_before: i64,
    /// Only tombstones with timestamps below this may be purged.
    pub max_purgeable: Timestamp,
}

impl Purger {
    /// Whether a tombstone with this timestamp and local deletion time may go.
    pub fn purgeable(&self, ts: Timestamp, local_deletion_time: i64) -> bool {
        local_deletion_time < self.gc_before && ts < self.max_purgeable
    }

    /// Whether a deletion may go.
    pub fn purgeable_deletion(&self, d: &DeletionTime) -> bool {
        self.purgeable(d.marked_for_delete_at, d.local_deletion_time)
    }

    /// Purges a (shadowed) row: expired cells older than `max_purgeable` become
    /// tombstones, purgeable tombstones and deletions go, and an expired liveness
    /// marker goes when purgeable (kept otherwise: it still supersedes older
    /// markers outside the compaction).
    pub fn purge_row(&self, mut row: Row) -> Row {
        self.purge_row_in_place(&mut row);
        row
    }

    /// [`Purger::purge_row`] in place.
    pub fn purge_row_in_place(&self, row: &mut Row) {
        if let Some(d) = row.deletion
            && self.purgeable_deletion(&d)
        {
            row.deletion = None;
        }
        if let Some(l) = row.liveness
            && let Some((_, exp)) = l.expiry
            && exp <= self.now
            && self.purgeable(l.timestamp, exp)
        {
            row.liveness = None;
        }
        row.column_deletions
            .retain(|(_, d)| !self.purgeable_deletion(d));
        row.cells.retain_mut(|c| self.purge_cell(&mut c.cell));
    }

    /// Turns an expired cell into a tombstone; false when the cell may go.
    fn purge_cell(&self, cell: &mut Cell) -> bool {
        // Only when nothing outside the compaction can hold a version of equal
        // timestamp: a tombstone reconciles differently from the expired cell
        // against an equal-timestamp expiring cell.
        if let CellKind::Expiring {
            local_expiration_time,
            ..
        } = cell.kind
            && local_expiration_time <= self.now
            && cell.timestamp < self.max_purgeable
        {
            cell.kind = CellKind::Tombstone {
                local_deletion_time: local_expiration_time,
            };
        }
        match cell.kind {
            CellKind::Tombstone {
                local_deletion_time,
            } => !self.purgeable(cell.timestamp, local_deletion_time),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests;
