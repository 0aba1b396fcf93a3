//! Truncation times: a table truncated at time `T` holds nothing written at or
//! before `T`, wherever that data comes from.
//!
//! TRUNCATE empties the table, and the truncation time keeps it empty of the
//! past: writes that arrive afterwards carrying older timestamps (a hint, a
//! replayed batch, a mutation that was in flight, a commit-log record replayed
//! at open) lose their parts stamped at or before `T`, and reads filter every
//! source the same way, so even an SSTable a crash left behind shows nothing
//! of the past.
//!
//! The rule is by timestamp, part by part, exactly as if a partition deletion
//! at `T` covered every partition, except that no tombstone is ever stored or
//! returned. Parts rather than whole mutations: one mutation can carry several
//! timestamps (statements of a batch with their own `USING TIMESTAMP`), and
//! filtering parts on the write path keeps what is written identical to what
//! the read-side filter would show anyway. A client write issued after the
//! TRUNCATE with an explicit timestamp at or before `T` is dropped too: a
//! replica cannot tell it from a late hint, and one rule everywhere keeps
//! replicas in agreement.

use crate::cell::{Row, Timestamp};
use crate::error::Result;
use crate::key::{ClusteringRange, DecoratedKey};
use crate::mutation::Mutation;
use crate::partition::{
    KeyRange, PartitionHeader, PartitionSource, PartitionStream, Unfiltered, UnfilteredIter,
};
use std::borrow::Cow;
use std::sync::Arc;

/// Whether data written at `ts` outlives a truncation at `at`.
fn survives(ts: Timestamp, at: Timestamp) -> bool {
    ts > at
}

/// Whether any part of `row` was written at or before `at`.
fn row_has_past(row: &Row, at: Timestamp) -> bool {
    row.liveness.is_some_and(|l| !survives(l.timestamp, at))
        || row
            .deletion
            .is_some_and(|d| !survives(d.marked_for_delete_at, at))
        || row
            .column_deletions
            .iter()
            .any(|(_, d)| !survives(d.marked_for_delete_at, at))
        || row.cells.iter().any(|c| !survives(c.cell.timestamp, at))
}

/// Removes from `row` everything written at or before `at`; the row may be
/// empty afterwards.
fn filter_row(row: &mut Row, at: Timestamp) {
    if row.liveness.is_some_and(|l| !survives(l.timestamp, at)) {
        row.liveness = None;
    }
    if row
        .deletion
        .is_some_and(|d| !survives(d.marked_for_delete_at, at))
    {
        row.deletion = None;
    }
    row.column_deletions
        .retain(|(_, d)| survives(d.marked_for_delete_at, at));
    row.cells.retain(|c| survives(c.cell.timestamp, at));
}

/// Whether any part of `m` was written at or before `at`.
fn mutation_has_past(m: &Mutation, at: Timestamp) -> bool {
    m.partition_deletion
        .is_some_and(|d| !survives(d.marked_for_delete_at, at))
        || m.range_tombstones
            .iter()
            .any(|r| !survives(r.deletion.marked_for_delete_at, at))
        || m.static_row
            .iter()
            .chain(&m.rows)
            .any(|r| row_has_past(r, at))
}

/// What of `m` a table truncated at `at` takes: `m` itself when all of it is
/// newer (no copy), the newer parts when only some are, `None` when nothing
/// is left.
pub(crate) fn admit(m: &Mutation, at: Option<Timestamp>) -> Option<Cow<'_, Mutation>> {
    let Some(at) = at else {
        return Some(Cow::Borrowed(m));
    };
    if !mutation_has_past(m, at) {
        return Some(Cow::Borrowed(m));
    }
    let mut kept = m.clone();
    kept.partition_deletion = kept
        .partition_deletion
        .filter(|d| survives(d.marked_for_delete_at, at));
    kept.range_tombstones
        .retain(|r| survives(r.deletion.marked_for_delete_at, at));
    if let Some(row) = &mut kept.static_row {
        filter_row(row, at);
    }
    kept.static_row = kept.static_row.filter(|r| !r.is_empty());
    for row in &mut kept.rows {
        filter_row(row, at);
    }
    kept.rows.retain(|r| !r.is_empty());
    let empty = kept.partition_deletion.is_none()
        && kept.range_tombstones.is_empty()
        && kept.static_row.is_none()
        && kept.rows.is_empty();
    (!empty).then_some(Cow::Owned(kept))
}

/// Removes from a partition header everything written at or before `at`;
/// whether anything is left.
fn filter_header(h: &mut PartitionHeader, at: Timestamp) -> bool {
    h.deletion = h.deletion.filter(|d| survives(d.marked_for_delete_at, at));
    h.range_tombstones
        .retain(|r| survives(r.deletion.marked_for_delete_at, at));
    if let Some(row) = &mut h.static_row {
        filter_row(row, at);
    }
    h.static_row = h.static_row.take().filter(|r| !r.is_empty());
    h.deletion.is_some() || !h.range_tombstones.is_empty() || h.static_row.is_some()
}

/// A source seen through a truncation at `at`: it yields only what was
/// written after it, and no partition left with nothing.
#[derive(Debug)]
pub(crate) struct Truncated {
    inner: Arc<dyn PartitionSource>,
    at: Timestamp,
}

impl Truncated {
    /// `inner` filtered by a truncation at `at`.
    pub(crate) fn wrap(inner: Arc<dyn PartitionSource>, at: Timestamp) -> Arc<dyn PartitionSource> {
        Arc::new(Truncated { inner, at })
    }
}

impl PartitionSource for Truncated {
    fn read_partition(
        self: Arc<Self>,
        key: &DecoratedKey,
        slices: &[ClusteringRange],
        reversed: bool,
    ) -> Result<Option<PartitionStream>> {
        let Some(stream) = Arc::clone(&self.inner).read_partition(key, slices, reversed)? else {
            return Ok(None);
        };
        filter_stream(stream, self.at)
    }

    fn scan(self: Arc<Self>, range: &KeyRange) -> Result<UnfilteredIter> {
        Ok(filter_scan(Arc::clone(&self.inner).scan(range)?, self.at))
    }
}

/// A scan's stream filtered by a truncation at `at`.
pub(crate) fn filter_scan(inner: UnfilteredIter, at: Timestamp) -> UnfilteredIter {
    Box::new(ScanFilter {
        inner,
        at,
        pending: None,
        queued: None,
    })
}

/// One partition filtered; `None` when nothing of it is left.
pub(crate) fn filter_stream(
    mut stream: PartitionStream,
    at: Timestamp,
) -> Result<Option<PartitionStream>> {
    let header_left = filter_header(&mut stream.header, at);
    let mut rows = stream.rows.filter_map(move |r| match r {
        Ok(mut row) => {
            filter_row(&mut row, at);
            (!row.is_empty()).then_some(Ok(row))
        }
        Err(e) => Some(Err(e)),
    });
    // Look for a first row left, so a partition with nothing left is no source at all.
    let first = rows.next().transpose()?;
    if !header_left && first.is_none() {
        return Ok(None);
    }
    Ok(Some(PartitionStream {
        header: stream.header,
        rows: Box::new(first.map(Ok).into_iter().chain(rows)),
    }))
}

/// A scan filtered by a truncation. A partition whose header has nothing left
/// is held back until one of its rows survives, and dropped if none does.
struct ScanFilter {
    inner: UnfilteredIter,
    at: Timestamp,
    /// A partition header with nothing left of its own, not yet yielded.
    pending: Option<PartitionHeader>,
    /// A row to yield right after the held-back header it belongs to.
    queued: Option<Row>,
}

impl Iterator for ScanFilter {
    type Item = Result<Unfiltered>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(row) = self.queued.take() {
            return Some(Ok(Unfiltered::Row(row)));
        }
        loop {
            match self.inner.next()? {
                Err(e) => return Some(Err(e)),
                Ok(Unfiltered::Partition(mut h)) => {
                    if filter_header(&mut h, self.at) {
                        self.pending = None;
                        return Some(Ok(Unfiltered::Partition(h)));
                    }
                    self.pending = Some(h);
                }
                Ok(Unfiltered::Row(mut row)) => {
                    filter_row(&mut row, self.at);
                    if row.is_empty() {
                        continue;
                    }
                    if let Some(h) = self.pending.take() {
                        self.queued = Some(row);
                        return Some(Ok(Unfiltered::Partition(h)));
                    }
                    return Some(Ok(Unfiltered::Row(row)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
