//! Chunked readers over a memtable: copy a bounded number of rows under the
//! partition lock, remember the last key, and resume after it.

use super::rows::Rows;
use super::{Buffered, CHUNK, Memtable, PartitionData, start_key_bound, unfiltered_header};
use crate::cell::Row;
use crate::error::Result;
use crate::key::{Bound, ClusteringKey, ClusteringRange, DecoratedKey};
use crate::partition::{KeyRange, Unfiltered};
use std::ops::Bound as RBound;
use std::sync::Arc;

/// The smallest byte string greater than every extension of `prefix`, if any.
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<ClusteringKey> {
    let keep = prefix.iter().rposition(|&b| b != 0xff)?;
    let mut out = prefix[..=keep].to_vec();
    out[keep] += 1;
    Some(ClusteringKey::new(out))
}

/// A slice as BTreeMap bounds; `None` when no key can be in it.
pub(crate) fn slice_bounds(
    slice: &ClusteringRange,
) -> Option<(RBound<ClusteringKey>, RBound<ClusteringKey>)> {
    let lo = match &slice.start {
        Bound::Unbounded => RBound::Unbounded,
        Bound::Inclusive(p) => RBound::Included(p.clone()),
        // Every extension of the prefix is excluded too.
        Bound::Exclusive(p) => RBound::Included(prefix_successor(p.as_bytes())?),
    };
    let hi = match &slice.end {
        Bound::Unbounded => RBound::Unbounded,
        Bound::Inclusive(p) => match prefix_successor(p.as_bytes()) {
            Some(s) => RBound::Excluded(s),
            None => RBound::Unbounded,
        },
        Bound::Exclusive(p) => RBound::Excluded(p.clone()),
    };
    Some((lo, hi))
}

/// Whether `BTreeMap::range` accepts these bounds and they may hold a key.
fn non_empty(lo: &RBound<ClusteringKey>, hi: &RBound<ClusteringKey>) -> bool {
    match (lo, hi) {
        (RBound::Unbounded, _) | (_, RBound::Unbounded) => true,
        (RBound::Included(a), RBound::Included(b)) => a <= b,
        (RBound::Included(a) | RBound::Excluded(a), RBound::Included(b) | RBound::Excluded(b)) => {
            a < b
        }
    }
}

/// Where a read is within its slices.
#[derive(Debug)]
pub(crate) struct RowCursor {
    slices: Vec<ClusteringRange>,
    reversed: bool,
    /// Slices done, counted in traversal order.
    done_slices: usize,
    /// The last key handed out in the current slice.
    last: Option<ClusteringKey>,
}

impl RowCursor {
    pub(crate) fn new(slices: &[ClusteringRange], reversed: bool) -> Self {
        RowCursor {
            slices: slices.to_vec(),
            reversed,
            done_slices: 0,
            last: None,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done_slices >= self.slices.len()
    }

    fn next_slice(&mut self) {
        self.done_slices += 1;
        self.last = None;
    }

    /// Copies up to `max` further rows out of `rows`.
    pub(crate) fn fill(&mut self, rows: &Rows, max: usize) -> Buffered<Row> {
        let mut out = Buffered::new();
        while out.len() < max && !self.is_done() {
            let i = if self.reversed {
                self.slices.len() - 1 - self.done_slices
            } else {
                self.done_slices
            };
            let slice = &self.slices[i];
            let Some((mut lo, mut hi)) = slice_bounds(slice) else {
                self.next_slice();
                continue;
            };
            if let Some(last) = &self.last {
                if self.reversed {
                    hi = RBound::Excluded(last.clone());
                } else {
                    lo = RBound::Excluded(last.clone());
                }
            }
            if !non_empty(&lo, &hi) {
                self.next_slice();
                continue;
            }
            let want = max - out.len();
            let before = out.len();
            rows.copy_range(
                lo.as_ref(),
                hi.as_ref(),
                self.reversed,
                want,
                |k| slice.contains(k.as_bytes()),
                &mut out,
            );
            if out.len() - before < want {
                self.next_slice();
            } else {
                self.last = out.back().map(|r| r.clustering.clone());
            }
        }
        out
    }
}

/// The rows of one partition, copied a chunk at a time.
pub(crate) struct MemRowIter {
    mt: Arc<Memtable>,
    key: DecoratedKey,
    cursor: RowCursor,
    buf: Buffered<Row>,
}

impl MemRowIter {
    pub(crate) fn new(
        mt: Arc<Memtable>,
        key: DecoratedKey,
        cursor: RowCursor,
        buf: Buffered<Row>,
    ) -> Self {
        MemRowIter {
            mt,
            key,
            cursor,
            buf,
        }
    }
}

impl Iterator for MemRowIter {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if self.buf.is_empty() && !self.cursor.is_done() {
            // Partitions are never removed from a memtable, so it is still there.
            let entry = self.mt.partitions.get(&self.key)?;
            let data = entry.value().lock();
            self.buf = self.cursor.fill(&data.rows, CHUNK);
        }
        self.buf.pop_front().map(Ok)
    }
}

enum ScanPos {
    /// Looking for the next partition from this skip-list bound.
    Next(RBound<DecoratedKey>),
    /// Inside a partition.
    In(DecoratedKey, RowCursor),
    Done,
}

/// Every partition of a key range, headers then rows, a chunk at a time.
pub(crate) struct MemScanIter {
    mt: Arc<Memtable>,
    range: KeyRange,
    pos: ScanPos,
    buf: Buffered<Unfiltered>,
}

impl MemScanIter {
    pub(crate) fn new(mt: Arc<Memtable>, range: KeyRange) -> Self {
        let pos = match start_key_bound(&range.start) {
            Some(b) => ScanPos::Next(b),
            None => ScanPos::Done,
        };
        MemScanIter {
            mt,
            range,
            pos,
            buf: Buffered::new(),
        }
    }

    fn fill(&mut self) {
        while self.buf.len() < CHUNK {
            match std::mem::replace(&mut self.pos, ScanPos::Done) {
                ScanPos::Done => return,
                ScanPos::Next(bound) => self.pos = self.enter_next(bound),
                ScanPos::In(key, mut cursor) => {
                    if let Some(entry) = self.mt.partitions.get(&key) {
                        let data = entry.value().lock();
                        let rows = cursor.fill(&data.rows, CHUNK - self.buf.len());
                        self.buf.extend(rows.into_iter().map(Unfiltered::Row));
                    }
                    self.pos = if cursor.is_done() {
                        ScanPos::Next(RBound::Excluded(key))
                    } else {
                        ScanPos::In(key, cursor)
                    };
                }
            }
        }
    }

    /// Emits the header of the next partition in range, if any.
    fn enter_next(&mut self, bound: RBound<DecoratedKey>) -> ScanPos {
        let mut entry = self.mt.partitions.lower_bound(bound.as_ref());
        while let Some(e) = &entry {
            if self.range.admits_after_start(e.key()) {
                break;
            }
            entry = e.next();
        }
        let Some(e) = entry else {
            return ScanPos::Done;
        };
        if !self.range.admits_before_end(e.key()) {
            return ScanPos::Done;
        }
        let data: std::sync::MutexGuard<'_, PartitionData> = e.value().lock();
        self.buf.push_back(unfiltered_header(e.key(), &data));
        ScanPos::In(
            e.key().clone(),
            RowCursor::new(&[ClusteringRange::ALL], false),
        )
    }
}

impl Iterator for MemScanIter {
    type Item = Result<Unfiltered>;

    fn next(&mut self) -> Option<Result<Unfiltered>> {
        if self.buf.is_empty() {
            self.fill();
        }
        self.buf.pop_front().map(Ok)
    }
}
