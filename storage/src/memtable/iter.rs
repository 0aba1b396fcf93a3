//! Chunked readers over a memtable: copy a bounded number of rows under the
//! partition lock, remember the last key, and resume after it.

use super::key::MemKey;
use super::rows::RowsRef;
use super::{Buffered, CHUNK, Memtable, start_key_bound};
use crate::cell::Row;
use crate::error::Result;
use crate::key::{Bound, ClusteringKey, ClusteringRange};
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
    slices: Arc<[ClusteringRange]>,
    reversed: bool,
    /// Slices done, counted in traversal order.
    done_slices: usize,
    /// The last key handed out in the current slice.
    last: Option<ClusteringKey>,
}

impl RowCursor {
    pub(crate) fn new(slices: Arc<[ClusteringRange]>, reversed: bool) -> Self {
        RowCursor {
            slices,
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

    /// Copies up to `max` further rows out of `rows` into `sink`.
    pub(crate) fn fill(&mut self, rows: RowsRef<'_>, max: usize, sink: &mut dyn FnMut(Row)) {
        let mut copied = 0;
        while copied < max && !self.is_done() {
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
            let want = max - copied;
            let (n, last) = rows.copy_range(
                lo.as_ref(),
                hi.as_ref(),
                self.reversed,
                want,
                &|k| slice.contains(k),
                sink,
            );
            copied += n;
            if n < want {
                self.next_slice();
            } else {
                self.last = last;
            }
        }
    }
}

/// The rows of one partition, copied a chunk at a time.
pub(crate) struct MemRowIter {
    mt: Arc<Memtable>,
    key: MemKey,
    cursor: RowCursor,
    buf: Buffered<Row>,
}

impl MemRowIter {
    pub(crate) fn new(
        mt: Arc<Memtable>,
        key: MemKey,
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
            let slot = entry.value().lock();
            let buf = &mut self.buf;
            self.cursor
                .fill(slot.rows(), CHUNK, &mut |r| buf.push_back(r));
        }
        self.buf.pop_front().map(Ok)
    }
}

enum ScanPos {
    /// Looking for the next partition from this skip-list bound.
    Next(RBound<MemKey>),
    /// Inside a partition.
    In(MemKey, RowCursor),
    Done,
}

/// Every partition of a key range, headers then rows, a chunk at a time.
pub(crate) struct MemScanIter {
    mt: Arc<Memtable>,
    range: KeyRange,
    all: Arc<[ClusteringRange]>,
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
            all: Arc::from([ClusteringRange::ALL]),
            pos,
            buf: Buffered::new(),
        }
    }

    /// Copies the next chunk: the rest of the current partition, then whole
    /// partitions following it in the skip list, until the chunk is full.
    fn fill(&mut self) {
        let mt = Arc::clone(&self.mt);
        let buf = &mut self.buf;
        let mut entry = match std::mem::replace(&mut self.pos, ScanPos::Done) {
            ScanPos::Done => return,
            ScanPos::Next(bound) => mt.partitions.lower_bound(bound.as_ref()),
            ScanPos::In(key, mut cursor) => {
                let Some(e) = mt.partitions.get(&key) else {
                    return;
                };
                let slot = e.value().lock();
                cursor.fill(slot.rows(), CHUNK, &mut |r| {
                    buf.push_back(Unfiltered::Row(r))
                });
                drop(slot);
                if !cursor.is_done() {
                    self.pos = ScanPos::In(key, cursor);
                    return;
                }
                e.next()
            }
        };
        while let Some(e) = entry {
            let key = e.key().to_decorated();
            if !self.range.admits_after_start(&key) {
                entry = e.next();
                continue;
            }
            if !self.range.admits_before_end(&key) {
                return;
            }
            if buf.len() >= CHUNK {
                self.pos = ScanPos::Next(RBound::Included(e.key().clone()));
                return;
            }
            let mut cursor = RowCursor::new(Arc::clone(&self.all), false);
            {
                let slot = e.value().lock();
                buf.push_back(Unfiltered::Partition(slot.header(key)));
                let budget = CHUNK.saturating_sub(buf.len()).max(1);
                cursor.fill(slot.rows(), budget, &mut |r| {
                    buf.push_back(Unfiltered::Row(r))
                });
            }
            if !cursor.is_done() {
                self.pos = ScanPos::In(e.key().clone(), cursor);
                return;
            }
            entry = e.next();
        }
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
