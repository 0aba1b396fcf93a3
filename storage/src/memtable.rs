//! The memtable: recent writes, reconciled in memory until they are flushed.
//!
//! Partitions live in a lock-free skip list ordered by `(token, key)`; each
//! partition's contents sit behind their own mutex, so writers to different
//! partitions never contend on one lock, and writes to one partition reconcile
//! in place (see [`crate::reconcile`]). Readers copy rows out in bounded chunks
//! under the partition lock and resume after the last key copied, so a huge
//! partition is never materialized and a writer is never blocked for long.
//!
//! Size accounting counts keys, values and the per-entry overheads of the
//! structures holding them, so flushing on `size_bytes` bounds real memory.

use crate::cell::{CellKind, ColumnCell, DeletionTime, RangeTombstone, Row, Timestamp};
use crate::error::Result;
use crate::key::{ClusteringKey, ClusteringRange, DecoratedKey, Token};
use crate::mutation::Mutation;
use crate::partition::{
    KeyRange, PartitionBound, PartitionHeader, PartitionPosition, PartitionSource, PartitionStream,
    RowIter, Unfiltered, UnfilteredIter,
};
use crate::reconcile::{merge_deletion, merge_opt_deletion, merge_rows};
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::collections::VecDeque;
use std::ops::Bound as RBound;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

mod iter;
mod rows;
#[cfg(test)]
mod tests;

/// How many rows (or scan items) a reader copies per lock acquisition.
const CHUNK: usize = 64;

/// A skip-list node: key, value, a tower of ~2 pointers on average, header.
const SKIPLIST_NODE_OVERHEAD: usize =
    size_of::<DecoratedKey>() + size_of::<MemPartition>() + 2 * 8 + 16;
/// A BTreeMap entry, with node slack amortized (nodes hold up to 11 entries).
const ROW_ENTRY_OVERHEAD: usize = (size_of::<ClusteringKey>() + size_of::<Row>()) * 3 / 2;
/// What the allocator adds to each separately allocated buffer.
const ALLOC_OVERHEAD: usize = 16;

/// The in-memory table of recent writes.
pub struct Memtable {
    id: u64,
    partitions: SkipMap<DecoratedKey, MemPartition>,
    size: AtomicI64,
    min_timestamp: AtomicI64,
}

impl std::fmt::Debug for Memtable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memtable")
            .field("id", &self.id)
            .field("partitions", &self.partitions.len())
            .field("size_bytes", &self.size_bytes())
            .finish()
    }
}

#[derive(Default)]
struct MemPartition {
    data: Mutex<PartitionData>,
}

impl MemPartition {
    fn lock(&self) -> MutexGuard<'_, PartitionData> {
        // Merges never leave a half-applied row behind that a reader could
        // misinterpret, so a panic elsewhere does not make the data unusable.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct PartitionData {
    deletion: Option<DeletionTime>,
    range_tombstones: Vec<RangeTombstone>,
    static_row: Option<Box<Row>>,
    rows: rows::Rows,
}

impl PartitionData {
    fn header(&self, key: &DecoratedKey) -> PartitionHeader {
        PartitionHeader {
            key: key.clone(),
            deletion: self.deletion,
            range_tombstones: self.range_tombstones.clone(),
            static_row: self.static_row.clone(),
        }
    }
}

impl Memtable {
    /// An empty memtable with an identifier chosen by the caller.
    pub fn new(id: u64) -> Arc<Memtable> {
        Arc::new(Memtable {
            id,
            partitions: SkipMap::new(),
            size: AtomicI64::new(0),
            min_timestamp: AtomicI64::new(i64::MAX),
        })
    }

    /// The identifier given at creation.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Applies a mutation, reconciling with what is there; returns the bytes it
    /// added to the accounting (0 when it shrank it). `now` is unused today:
    /// reconciliation does not depend on time.
    pub fn apply(&self, m: &Mutation, now: i64) -> usize {
        self.apply_parts(
            &m.key,
            m.partition_deletion,
            &m.range_tombstones,
            m.static_row.clone(),
            m.rows.iter().cloned(),
            now,
        )
    }

    /// Like [`Memtable::apply`] but consumes the mutation, saving the row clones.
    pub fn apply_owned(&self, m: Mutation, now: i64) -> usize {
        self.apply_parts(
            &m.key,
            m.partition_deletion,
            &m.range_tombstones,
            m.static_row,
            m.rows.into_iter(),
            now,
        )
    }

    fn apply_parts(
        &self,
        key: &DecoratedKey,
        deletion: Option<DeletionTime>,
        range_tombstones: &[RangeTombstone],
        static_row: Option<Row>,
        rows: impl Iterator<Item = Row>,
        _now: i64,
    ) -> usize {
        let mut created = false;
        let entry = self.partitions.get_or_insert_with(key.clone(), || {
            created = true;
            MemPartition::default()
        });
        let mut delta: i64 = 0;
        if created {
            delta += (SKIPLIST_NODE_OVERHEAD + key.key.len() + ALLOC_OVERHEAD) as i64;
        }
        let mut min_ts = i64::MAX;
        {
            let mut data = entry.value().lock();
            if let Some(d) = deletion {
                min_ts = min_ts.min(d.marked_for_delete_at.0);
                data.deletion = merge_opt_deletion(data.deletion, Some(d));
            }
            for rt in range_tombstones {
                min_ts = min_ts.min(rt.deletion.marked_for_delete_at.0);
                delta += add_range_tombstone(&mut data.range_tombstones, rt);
            }
            if let Some(s) = static_row {
                min_ts = min_ts.min(row_min_timestamp(&s));
                let old = data.static_row.take().map_or_else(Row::default, |b| *b);
                let before = row_heap_size(&old) as i64;
                let merged = merge_rows(
                    old,
                    Row {
                        clustering: ClusteringKey::EMPTY,
                        ..s
                    },
                );
                delta += row_heap_size(&merged) as i64 - before;
                data.static_row = Some(Box::new(merged));
            }
            for row in rows {
                min_ts = min_ts.min(row_min_timestamp(&row));
                delta += data.rows.apply(row);
            }
        }
        // A plain load first: most writes are newer than the minimum, and a
        // read keeps the cache line shared between writer threads.
        if min_ts < self.min_timestamp.load(Ordering::Relaxed) {
            self.min_timestamp.fetch_min(min_ts, Ordering::Relaxed);
        }
        self.size.fetch_add(delta, Ordering::Relaxed);
        usize::try_from(delta).unwrap_or(0)
    }

    /// Bytes of memory the contents are estimated to occupy.
    pub fn size_bytes(&self) -> usize {
        usize::try_from(self.size.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The number of partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// The smallest write or deletion timestamp applied (`i64::MAX` when empty),
    /// so compaction knows which tombstones might still shadow data here.
    pub fn min_timestamp(&self) -> Timestamp {
        Timestamp(self.min_timestamp.load(Ordering::Relaxed))
    }

    /// Whether the partition is present (exact, unlike a bloom filter).
    pub fn may_contain(&self, key: &DecoratedKey) -> bool {
        self.partitions.contains_key(key)
    }
}

fn add_range_tombstone(rts: &mut Vec<RangeTombstone>, rt: &RangeTombstone) -> i64 {
    // Repeated deletes of the same range are common (retries, hints): keep one.
    if let Some(existing) = rts.iter_mut().find(|e| e.range == rt.range) {
        existing.deletion = merge_deletion(existing.deletion, rt.deletion);
        return 0;
    }
    rts.push(rt.clone());
    (size_of::<RangeTombstone>() + bound_len(&rt.range.start) + bound_len(&rt.range.end)) as i64
}

fn bound_len(b: &crate::key::Bound) -> usize {
    match b {
        crate::key::Bound::Inclusive(k) | crate::key::Bound::Exclusive(k) => {
            k.0.len() + ALLOC_OVERHEAD
        }
        crate::key::Bound::Unbounded => 0,
    }
}

/// Heap bytes owned by a row beyond its own struct.
fn row_heap_size(row: &Row) -> usize {
    let cells: usize = row.cells.iter().map(cell_heap_size).sum();
    let cells_vec = if row.cells.capacity() > 0 {
        row.cells.capacity() * size_of::<ColumnCell>() + ALLOC_OVERHEAD
    } else {
        0
    };
    cells + cells_vec + row.column_deletions.capacity() * size_of::<(u32, DeletionTime)>()
}

fn cell_heap_size(c: &ColumnCell) -> usize {
    let bytes = |b: &Bytes| {
        if b.is_empty() {
            0
        } else {
            b.len() + ALLOC_OVERHEAD
        }
    };
    let value = match &c.cell.kind {
        CellKind::Live(v) | CellKind::Expiring { value: v, .. } => bytes(v),
        CellKind::Tombstone { .. } => 0,
    };
    value + c.path.as_ref().map_or(0, bytes)
}

fn row_min_timestamp(row: &Row) -> i64 {
    let cells = row.cells.iter().map(|c| c.cell.timestamp.0);
    let liveness = row.liveness.map(|l| l.timestamp.0);
    let deletions = row
        .deletion
        .iter()
        .chain(row.column_deletions.iter().map(|(_, d)| d))
        .map(|d| d.marked_for_delete_at.0);
    cells
        .chain(liveness)
        .chain(deletions)
        .min()
        .unwrap_or(i64::MAX)
}

impl PartitionSource for Memtable {
    fn read_partition(
        self: Arc<Self>,
        key: &DecoratedKey,
        slices: &[ClusteringRange],
        reversed: bool,
    ) -> Result<Option<PartitionStream>> {
        let Some(entry) = self.partitions.get(key) else {
            return Ok(None);
        };
        let (header, first) = {
            let data = entry.value().lock();
            let header = data.header(key);
            let mut rows = iter::RowCursor::new(Arc::from(slices), reversed);
            let mut first = Buffered::new();
            rows.fill(&data.rows, CHUNK, &mut |r| first.push_back(r));
            (header, (rows, first))
        };
        let (cursor, buf) = first;
        let rows: RowIter = Box::new(iter::MemRowIter::new(
            self.clone(),
            key.clone(),
            cursor,
            buf,
        ));
        Ok(Some(PartitionStream { header, rows }))
    }

    fn scan(self: Arc<Self>, range: &KeyRange) -> Result<UnfilteredIter> {
        Ok(Box::new(iter::MemScanIter::new(self, range.clone())))
    }
}

/// The first skip-list position at or after a range's start.
fn start_key_bound(start: &PartitionBound) -> Option<RBound<DecoratedKey>> {
    let token_start = |t: Token| DecoratedKey::new(t, Bytes::new());
    Some(match start {
        PartitionBound::Unbounded => RBound::Unbounded,
        PartitionBound::Inclusive(PartitionPosition::Key(k)) => RBound::Included(k.clone()),
        PartitionBound::Exclusive(PartitionPosition::Key(k)) => RBound::Excluded(k.clone()),
        PartitionBound::Inclusive(PartitionPosition::Token(t)) => RBound::Included(token_start(*t)),
        PartitionBound::Exclusive(PartitionPosition::Token(t)) => {
            RBound::Included(token_start(Token(t.0.checked_add(1)?)))
        }
    })
}

type Buffered<T> = VecDeque<T>;

fn unfiltered_header(key: &DecoratedKey, data: &PartitionData) -> Unfiltered {
    Unfiltered::Partition(data.header(key))
}
