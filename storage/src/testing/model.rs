//! The reference model: keep every version of everything ever written and
//! reconcile per address at read time, by the rules of `reconcile` but without
//! any of the read path's machinery (no merging of sorted sources, no purging,
//! no slicing of tombstones). Whatever storage does in between — memtables,
//! flushes, compactions, restarts — a read at `now` must equal this.

use crate::cell::{Cell, ColumnCell, DeletionTime, Row, Timestamp};
use crate::key::{ClusteringKey, ColumnId, DecoratedKey};
use crate::mutation::Mutation;
use crate::read::{ColumnFilter, PartitionRead, ScanCommand, ScanItem};
use crate::reconcile::{compare_cells, merge_deletion, merge_liveness, merge_opt_deletion};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// What a live read of one row returns, given every version of it and the
/// deletions covering it; `None` when nothing in it is live at `now`.
pub(crate) fn model_row(
    versions: &[&Row],
    covering: Option<DeletionTime>,
    now: i64,
    cols: &ColumnFilter,
) -> Option<Row> {
    let del = versions
        .iter()
        .fold(covering, |d, r| merge_opt_deletion(d, r.deletion));
    let deletes = |ts: Timestamp| del.is_some_and(|d| d.deletes(ts));
    let liveness = versions
        .iter()
        .fold(None, |l, r| merge_liveness(l, r.liveness))
        .filter(|l| !deletes(l.timestamp));
    let mut cells: BTreeMap<(ColumnId, Option<Bytes>), Cell> = BTreeMap::new();
    let mut coldel: BTreeMap<ColumnId, DeletionTime> = BTreeMap::new();
    for r in versions {
        for c in &r.cells {
            let e = cells
                .entry((c.column, c.path.clone()))
                .or_insert_with(|| c.cell.clone());
            if compare_cells(&c.cell, e).is_gt() {
                *e = c.cell.clone();
            }
        }
        for (c, d) in &r.column_deletions {
            let e = coldel.entry(*c).or_insert(*d);
            *e = merge_deletion(*e, *d);
        }
    }
    let kept: Vec<_> = cells
        .into_iter()
        .filter(|((col, _), c)| {
            !deletes(c.timestamp) && !coldel.get(col).is_some_and(|d| d.deletes(c.timestamp))
        })
        .collect();
    let live =
        liveness.is_some_and(|l| l.is_live_at(now)) || kept.iter().any(|(_, c)| !c.is_dead_at(now));
    if !live {
        return None;
    }
    let mut row = Row::new(versions[0].clustering.clone());
    row.liveness = liveness.filter(|l| l.is_live_at(now));
    row.cells = kept
        .into_iter()
        .filter(|((col, _), c)| !c.is_dead_at(now) && cols.selects(*col))
        .map(|((column, path), cell)| ColumnCell { column, path, cell })
        .collect();
    Some(row)
}

/// One partition as a live read at `now` sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelPartition {
    /// The merged partition deletion.
    pub(crate) deletion: Option<DeletionTime>,
    /// The live static row.
    pub(crate) static_row: Option<Row>,
    /// The live rows, in clustering order.
    pub(crate) rows: Vec<Row>,
}

/// Reconciles every mutation of `key` in `muts` (all of one table).
pub(crate) fn model_partition(
    muts: &[Mutation],
    key: &DecoratedKey,
    now: i64,
    cols: &ColumnFilter,
) -> ModelPartition {
    let muts: Vec<_> = muts.iter().filter(|m| m.key == *key).collect();
    let pd = muts
        .iter()
        .fold(None, |d, m| merge_opt_deletion(d, m.partition_deletion));
    let statics: Vec<&Row> = muts.iter().filter_map(|m| m.static_row.as_ref()).collect();
    let static_row = if statics.is_empty() {
        None
    } else {
        model_row(&statics, pd, now, cols)
    };
    let mut by_key: BTreeMap<&ClusteringKey, Vec<&Row>> = BTreeMap::new();
    for m in &muts {
        for r in &m.rows {
            by_key.entry(&r.clustering).or_default().push(r);
        }
    }
    let rows = by_key
        .into_iter()
        .filter_map(|(ck, versions)| {
            let cov = muts
                .iter()
                .flat_map(|m| &m.range_tombstones)
                .filter(|rt| rt.range.contains(ck.as_bytes()))
                .fold(pd, |d, rt| merge_opt_deletion(d, Some(rt.deletion)));
            model_row(&versions, cov, now, cols)
        })
        .collect();
    ModelPartition {
        deletion: pd,
        static_row,
        rows,
    }
}

/// What a live point read returns: the static row, the partition deletion and
/// the rows in the slices, in the read's order, up to its limit. Ignores
/// `include_tombstones` (compare a tombstone read after live-filtering it).
pub(crate) fn model_read(muts: &[Mutation], cmd: &PartitionRead) -> ModelPartition {
    let mut p = model_partition(muts, &cmd.key, cmd.now, &cmd.columns);
    p.rows.retain(|r| {
        cmd.slices
            .iter()
            .any(|s| s.contains(r.clustering.as_bytes()))
    });
    if cmd.reversed {
        p.rows.reverse();
    }
    p.rows.truncate(cmd.row_limit.unwrap_or(usize::MAX));
    p
}

/// The partition keys `muts` write, in scan order.
pub(crate) fn model_keys(muts: &[Mutation]) -> BTreeSet<DecoratedKey> {
    muts.iter().map(|m| m.key.clone()).collect()
}

/// What a live scan returns: every partition in range with a live static row
/// or live rows, from just after `resume_after`.
pub(crate) fn model_scan(muts: &[Mutation], cmd: &ScanCommand) -> Vec<ScanItem> {
    let mut out = Vec::new();
    for key in model_keys(muts) {
        if !cmd.range.contains(&key) {
            continue;
        }
        let resume = cmd.resume_after.as_ref();
        if resume.is_some_and(|(k, _)| key < *k) {
            continue;
        }
        let after = resume.filter(|(k, _)| *k == key).map(|(_, c)| c.clone());
        let p = model_partition(muts, &key, cmd.now, &cmd.columns);
        let rows: Vec<_> = p
            .rows
            .into_iter()
            .filter(|r| after.as_ref().is_none_or(|c| r.clustering > *c))
            .collect();
        if rows.is_empty() && (after.is_some() || p.static_row.is_none()) {
            continue;
        }
        out.push(ScanItem::Partition {
            key,
            deletion: p.deletion,
            static_row: p.static_row,
            range_tombstones: Vec::new(),
        });
        out.extend(rows.into_iter().map(ScanItem::Row));
    }
    out
}
