//! Partitions as replicas report them, reconciled: merging several replicas'
//! versions, the canonical form digests are computed over, and the live view
//! a client sees.
//!
//! A replica answers with its data *with tombstones* as a [`Mutation`] of the
//! partition (rows ascending). Merging uses storage's reconciliation rules
//! (`merge_rows`, `merge_opt_deletion`), so the coordinator agrees with what
//! each replica would compute once it holds every version. [`normalize`]
//! brings a partition into the form a replica's tombstone-mode read produces
//! (shadowed data removed, range tombstones sorted), so two replicas holding
//! the same data produce the same bytes, and therefore the same [`digest`].

use std::cmp::Ordering;

use storage::reconcile::{
    self, compare_deletions, covering_deletion, live_row, merge_deletion, merge_opt_deletion,
    merge_rows, shadow_row_in_place,
};
use storage::{Bound, ClusteringKey, DecoratedKey, Mutation, RangeTombstone, Row};

use super::PartitionData;

/// The 16-byte digest of a partition: xxh3-128 over its canonical encoding.
///
/// Not MD5 as in Cassandra: digests are compared only between Basalt nodes,
/// xxh3 is several times faster on the hot read path, and collisions are not
/// an adversarial concern here (a collision would only skip a read repair).
pub(crate) fn digest(partition: &Mutation) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(&partition.to_bytes()).to_le_bytes()
}

/// Sort key of a clustering bound for a canonical range tombstone order.
fn bound_key(b: &Bound) -> (u8, &[u8]) {
    match b {
        Bound::Unbounded => (0, &[]),
        Bound::Inclusive(k) => (1, k.as_bytes()),
        Bound::Exclusive(k) => (2, k.as_bytes()),
    }
}

fn rt_order(a: &RangeTombstone, b: &RangeTombstone) -> Ordering {
    (bound_key(&a.range.start), bound_key(&a.range.end))
        .cmp(&(bound_key(&b.range.start), bound_key(&b.range.end)))
        .then_with(|| compare_deletions(&a.deletion, &b.deletion))
}

/// Brings a partition into canonical form: deletions applied to the rows and
/// the static row (shadowed data and implied deletions removed), rows left
/// empty dropped, range tombstones no stronger than the partition deletion
/// dropped, the rest merged by range and sorted.
pub(crate) fn normalize(m: &mut Mutation) {
    let pd = m.partition_deletion;
    let mut rts = std::mem::take(&mut m.range_tombstones);
    rts.sort_by(rt_order);
    // Equal ranges merge into the strongest deletion (sorted last of its run).
    rts.dedup_by(|later, kept| {
        if later.range == kept.range {
            kept.deletion = merge_deletion(kept.deletion, later.deletion);
            true
        } else {
            false
        }
    });
    if let Some(s) = &mut m.static_row {
        shadow_row_in_place(s, pd);
        if s.is_empty() {
            m.static_row = None;
        }
    }
    m.rows.retain_mut(|row| {
        let covering = if rts.is_empty() {
            pd
        } else {
            covering_deletion(pd, &rts, row.clustering.as_bytes())
        };
        shadow_row_in_place(row, covering);
        !row.is_empty()
    });
    rts.retain(|rt| pd.is_none_or(|d| compare_deletions(&rt.deletion, &d) == Ordering::Greater));
    m.range_tombstones = rts;
}

/// Merges two versions of one partition (`a`'s table and key are kept).
/// The result is not normalized.
pub(crate) fn merge(mut a: Mutation, b: Mutation) -> Mutation {
    a.partition_deletion = merge_opt_deletion(a.partition_deletion, b.partition_deletion);
    a.range_tombstones.extend(b.range_tombstones);
    a.static_row = match (a.static_row.take(), b.static_row) {
        (Some(x), Some(y)) => Some(merge_rows(x, y)),
        (x, y) => x.or(y),
    };
    a.rows = reconcile::merge_row_lists(std::mem::take(&mut a.rows), b.rows);
    a
}

/// Merges every version and normalizes the result; `None` when there are none.
pub(crate) fn merge_all(versions: impl IntoIterator<Item = Mutation>) -> Option<Mutation> {
    let mut merged = versions.into_iter().reduce(merge)?;
    normalize(&mut merged);
    Some(merged)
}

/// Drops the rows after `last` in read order (ascending, or descending when
/// `reversed`): what lies beyond a replica's limit is unknown to it.
pub(crate) fn cut_rows_after(m: &mut Mutation, last: &ClusteringKey, reversed: bool) {
    if reversed {
        m.rows.retain(|r| r.clustering >= *last);
    } else {
        m.rows.retain(|r| r.clustering <= *last);
    }
}

/// What a client sees of a partition at `now`: live rows in read order (at
/// most `limit`), the static row if live. `None` when nothing is live. The
/// flag tells whether the limit cut rows off.
pub(crate) fn live_view(
    m: Mutation,
    now: i64,
    reversed: bool,
    limit: usize,
) -> (Option<PartitionData>, bool) {
    let static_row = m.static_row.and_then(|s| live_row(s, now));
    let mut rows: Vec<Row> = m
        .rows
        .into_iter()
        .filter_map(|r| live_row(r, now))
        .collect();
    if reversed {
        rows.reverse();
    }
    let cut = rows.len() > limit;
    rows.truncate(limit);
    if rows.is_empty() && static_row.is_none() {
        return (None, cut);
    }
    let data = PartitionData {
        key: m.key,
        deletion: m.partition_deletion,
        static_row,
        rows,
    };
    (Some(data), cut)
}

/// How far into a partition a scan position reaches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Within {
    /// Up to and including this row.
    Row(ClusteringKey),
    /// The whole partition.
    End,
}

/// A position in a scan's output: a partition, and how much of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ScanPosition {
    /// The partition.
    pub key: DecoratedKey,
    /// How much of it is covered.
    pub within: Within,
}

/// The last position a replica's scan answer covers; `partial` says the
/// limit stopped inside the last partition.
pub(crate) fn last_position(partitions: &[Mutation], partial: bool) -> Option<ScanPosition> {
    let last = partitions.last()?;
    let within = match last.rows.last() {
        Some(row) if partial => Within::Row(row.clustering.clone()),
        _ => Within::End,
    };
    Some(ScanPosition {
        key: last.key.clone(),
        within,
    })
}

/// Drops everything after `cut` from a scan answer.
pub(crate) fn cut_scan_after(partitions: &mut Vec<Mutation>, cut: &ScanPosition) {
    partitions.retain(|p| p.key <= cut.key);
    if let (Some(p), Within::Row(c)) = (partitions.last_mut(), &cut.within)
        && p.key == cut.key
    {
        p.rows.retain(|r| r.clustering <= *c);
    }
}

#[cfg(test)]
mod tests;
