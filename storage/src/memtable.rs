//! The memtable: recent writes, reconciled in memory until they are flushed.
//!
//! Partitions live in a lock-free skip list ordered by `(token, key)`; each
//! partition's contents sit behind their own mutex, so writers to different
//! partitions never contend on one lock, and writes to one partition reconcile
//! in place (see [`crate::reconcile`]). Readers copy rows out in bounded chunks
//! under the partition lock and resume after the last key copied, so a huge
//! partition is never materialized and a writer is never blocked for long.
//!
//! Most partitions are written once before they are flushed, so a partition
//! starts in a compact encoded form (one allocation, see [`encoded`]) and is
//! kept encoded when written again while it stays small; only partitions that
//! grow get the decoded structure, where writes merge in place. Short partition
//! keys live inside the skip-list node ([`key`]). For the common shape (a short
//! key, one row of a few cells) that is two allocations per partition.
//!
//! Size accounting counts what the allocator hands out for keys, values and the
//! structures holding them, so flushing on `size_bytes` bounds real memory.

use crate::cell::{CellKind, ColumnCell, DeletionTime, RangeTombstone, Row, Timestamp};
use crate::error::Result;
use crate::key::{ClusteringKey, ClusteringRange, DecoratedKey};
use crate::mutation::Mutation;
use crate::partition::{
    KeyRange, PartitionBound, PartitionHeader, PartitionPosition, PartitionSource, PartitionStream,
    RowIter, UnfilteredIter,
};
use crate::reconcile::{merge_deletion, merge_opt_deletion, merge_rows};
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use key::MemKey;
use rows::RowsRef;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Bound as RBound;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

mod encoded;
mod iter;
mod key;
mod rows;
#[cfg(test)]
mod tests;

/// How many rows (or scan items) a reader copies per lock acquisition.
const CHUNK: usize = 64;

/// A first write this large is stored decoded: readers of an encoded partition
/// scan it from its start for each chunk they copy.
const ENCODED_MAX: usize = 16 << 10;
/// A partition written again is encoded again while it is at most this large
/// and has at most [`REENCODE_MAX_ROWS`] rows, which bounds the work of
/// decoding and re-encoding it on every write.
const REENCODE_MAX: usize = 1 << 10;
const REENCODE_MAX_ROWS: usize = 16;

/// What the allocator takes for a request of `n` bytes: glibc malloc adds an
/// 8-byte header, rounds to 16 bytes and hands out at least 32.
const fn alloc_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let chunk = (n + 8 + 15) & !15;
    if chunk < 32 { 32 } else { chunk }
}

/// The expected allocation of a skip-list node: key, value, reference count
/// and height, and a tower of pointers whose height is geometric (p = 1/2).
const fn skiplist_node_size() -> usize {
    let base = size_of::<MemKey>() + size_of::<MemPartition>() + 8;
    let (mut sum, mut weight, mut h) = (0, 1 << 20, 1);
    while h <= 20 {
        weight /= 2;
        sum += alloc_size(base + 8 * h) * weight;
        h += 1;
    }
    sum / ((1 << 20) - 1)
}
const SKIPLIST_NODE_SIZE: usize = skiplist_node_size();
/// A BTreeMap entry, with node slack amortized (nodes hold up to 11 entries).
const ROW_ENTRY_OVERHEAD: usize = (size_of::<ClusteringKey>() + size_of::<Row>()) * 3 / 2;
/// What the allocator adds to each separately allocated buffer.
const ALLOC_OVERHEAD: usize = 16;

/// The in-memory table of recent writes.
pub(crate) struct Memtable {
    id: u64,
    partitions: SkipMap<MemKey, MemPartition>,
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
    slot: Mutex<Slot>,
}

impl MemPartition {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Merges never leave a half-applied row behind that a reader could
        // misinterpret, so a panic elsewhere does not make the data unusable.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A partition's contents, in one of two forms.
enum Slot {
    /// Serialized (see [`encoded`]); empty until the first write.
    Encoded(Box<[u8]>),
    /// Rows in a structure that merges writes in place.
    Decoded(Box<PartitionData>),
}

impl Default for Slot {
    fn default() -> Self {
        Slot::Encoded(Box::default())
    }
}

thread_local! {
    /// Where partitions are encoded before being copied to an exact-size buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Encodes with `encode` into the thread's scratch buffer and returns an
/// exact-size copy, unless it is longer than `max`.
fn encode_with(max: usize, encode: impl FnOnce(&mut Vec<u8>)) -> Option<Box<[u8]>> {
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        encode(scratch);
        let out = (scratch.len() <= max).then(|| Box::from(scratch.as_slice()));
        if scratch.capacity() > 4 * ENCODED_MAX {
            *scratch = Vec::new();
        }
        out
    })
}

/// The encoding of a first write, unless it is large or not in the canonical
/// shape the decoded structure would give it (rows sorted, ranges distinct).
fn encode_mutation(m: &Mutation) -> Option<Box<[u8]>> {
    let rts = &m.range_tombstones;
    let sorted = m.rows.windows(2).all(|w| w[0].clustering < w[1].clustering);
    let distinct =
        rts.len() <= 16 && (1..rts.len()).all(|i| rts[..i].iter().all(|r| r.range != rts[i].range));
    if !sorted || !distinct || m.estimated_size() > ENCODED_MAX {
        return None;
    }
    encode_with(ENCODED_MAX, |out| {
        let static_row = m.static_row.as_ref();
        encoded::encode(out, m.partition_deletion, rts, static_row, m.rows.iter());
    })
}

impl Slot {
    /// Whether nothing was written to the partition yet.
    fn is_fresh(&self) -> bool {
        matches!(self, Slot::Encoded(b) if b.is_empty())
    }

    /// Merges a mutation in; returns the change in accounted bytes.
    fn apply(&mut self, m: Cow<'_, Mutation>) -> i64 {
        let decoded = match self {
            Slot::Decoded(data) => return data.apply(m),
            Slot::Encoded(buf) if buf.is_empty() => {
                if let Some(enc) = encode_mutation(&m) {
                    *buf = enc;
                    return alloc_size(buf.len()) as i64;
                }
                PartitionData::default()
            }
            Slot::Encoded(buf) => PartitionData::decode(buf),
        };
        let before = self.accounted();
        let mut data = decoded;
        data.apply(m);
        *self = match data.encode_small() {
            Some(enc) => Slot::Encoded(enc),
            None => Slot::Decoded(Box::new(data)),
        };
        self.accounted() - before
    }

    /// Accounted bytes of the contents (computed in full: only for the
    /// encoded form and the switch away from it).
    fn accounted(&self) -> i64 {
        match self {
            Slot::Encoded(buf) => alloc_size(buf.len()) as i64,
            Slot::Decoded(data) => alloc_size(size_of::<PartitionData>()) as i64 + data.accounted(),
        }
    }

    fn header(&self, key: DecoratedKey) -> PartitionHeader {
        match self {
            Slot::Decoded(data) => data.header(key),
            Slot::Encoded(buf) => {
                let h = encoded::header(buf);
                PartitionHeader {
                    key,
                    deletion: h.deletion,
                    range_tombstones: h.range_tombstones,
                    static_row: h.static_row.map(Box::new),
                }
            }
        }
    }

    fn rows(&self) -> RowsRef<'_> {
        match self {
            Slot::Decoded(data) => RowsRef::Decoded(&data.rows),
            Slot::Encoded(buf) => RowsRef::Encoded(encoded::rows_of(buf)),
        }
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
    fn header(&self, key: DecoratedKey) -> PartitionHeader {
        PartitionHeader {
            key,
            deletion: self.deletion,
            range_tombstones: self.range_tombstones.clone(),
            static_row: self.static_row.clone(),
        }
    }

    fn decode(buf: &[u8]) -> PartitionData {
        let h = encoded::header(buf);
        PartitionData {
            deletion: h.deletion,
            range_tombstones: h.range_tombstones,
            static_row: h.static_row.map(Box::new),
            rows: encoded::decode_rows(encoded::rows_of(buf)),
        }
    }

    /// The encoding, if the partition is small enough to keep encoded.
    fn encode_small(&self) -> Option<Box<[u8]>> {
        if self.rows.len() > REENCODE_MAX_ROWS {
            return None;
        }
        encode_with(REENCODE_MAX, |out| {
            let static_row = self.static_row.as_deref();
            let rts = &self.range_tombstones;
            encoded::encode(out, self.deletion, rts, static_row, self.rows.iter());
        })
    }

    /// Accounted bytes of everything held, computed in full.
    fn accounted(&self) -> i64 {
        let rts: usize = self.range_tombstones.iter().map(range_tombstone_size).sum();
        let static_row = self
            .static_row
            .as_deref()
            .map_or(0, |r| alloc_size(size_of::<Row>()) + row_heap_size(r));
        (rts + static_row) as i64 + self.rows.accounted()
    }

    /// Merges a mutation in; returns the change in accounted bytes.
    fn apply(&mut self, m: Cow<'_, Mutation>) -> i64 {
        let mut delta = 0;
        if let Some(d) = m.partition_deletion {
            self.deletion = merge_opt_deletion(self.deletion, Some(d));
        }
        for rt in &m.range_tombstones {
            delta += add_range_tombstone(&mut self.range_tombstones, rt);
        }
        let (static_row, rows): (_, Box<dyn Iterator<Item = Row>>) = match m {
            Cow::Borrowed(m) => (m.static_row.clone(), Box::new(m.rows.iter().cloned())),
            Cow::Owned(m) => (m.static_row, Box::new(m.rows.into_iter())),
        };
        if let Some(s) = static_row {
            delta += self.apply_static(s);
        }
        for row in rows {
            delta += self.rows.apply(row);
        }
        delta
    }

    fn apply_static(&mut self, s: Row) -> i64 {
        let (old, before) = match self.static_row.take() {
            Some(b) => {
                let before = row_heap_size(&b) as i64;
                (*b, before)
            }
            None => (Row::default(), -(alloc_size(size_of::<Row>()) as i64)),
        };
        let merged = merge_rows(
            old,
            Row {
                clustering: ClusteringKey::EMPTY,
                ..s
            },
        );
        let delta = row_heap_size(&merged) as i64 - before;
        self.static_row = Some(Box::new(merged));
        delta
    }
}

impl Memtable {
    /// An empty memtable with an identifier chosen by the caller.
    pub(crate) fn new(id: u64) -> Arc<Memtable> {
        Arc::new(Memtable {
            id,
            partitions: SkipMap::new(),
            size: AtomicI64::new(0),
            min_timestamp: AtomicI64::new(i64::MAX),
        })
    }

    /// Applies a mutation, reconciling with what is there; returns the bytes it
    /// added to the accounting (0 when it shrank it). Reconciliation does not
    /// depend on time, so no `now` is taken.
    pub(crate) fn apply(&self, m: &Mutation) -> usize {
        self.apply_cow(Cow::Borrowed(m))
    }

    /// Like [`Memtable::apply`] but consumes the mutation, saving the row
    /// clones when the partition is already in its decoded form.
    #[cfg(test)]
    pub(crate) fn apply_owned(&self, m: Mutation) -> usize {
        self.apply_cow(Cow::Owned(m))
    }

    fn apply_cow(&self, m: Cow<'_, Mutation>) -> usize {
        let min_ts = mutation_min_timestamp(&m);
        let entry = self
            .partitions
            .get_or_insert_with(MemKey::of(&m.key), MemPartition::default);
        let delta = {
            let mut slot = entry.value().lock();
            // The first writer to a node counts it (of nodes racing to be
            // inserted, only the one in the list is ever written to).
            let node = if slot.is_fresh() {
                (SKIPLIST_NODE_SIZE + alloc_size(entry.key().heap_len())) as i64
            } else {
                0
            };
            node + slot.apply(m)
        };
        // A plain load first: most writes are newer than the minimum, and a
        // read keeps the cache line shared between writer threads.
        if min_ts < self.min_timestamp.load(Ordering::Relaxed) {
            self.min_timestamp.fetch_min(min_ts, Ordering::Relaxed);
        }
        self.size.fetch_add(delta, Ordering::Relaxed);
        usize::try_from(delta).unwrap_or(0)
    }

    /// Bytes of memory the contents are estimated to occupy.
    pub(crate) fn size_bytes(&self) -> usize {
        usize::try_from(self.size.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Whether nothing was written.
    pub(crate) fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The number of partitions.
    pub(crate) fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// The smallest write or deletion timestamp applied (`i64::MAX` when empty),
    /// so compaction knows which tombstones might still shadow data here.
    pub(crate) fn min_timestamp(&self) -> Timestamp {
        Timestamp(self.min_timestamp.load(Ordering::Relaxed))
    }

    /// Whether the partition is present (exact, unlike a bloom filter).
    pub(crate) fn may_contain(&self, key: &DecoratedKey) -> bool {
        self.partitions.contains_key(&MemKey::of(key))
    }
}

fn mutation_min_timestamp(m: &Mutation) -> i64 {
    let deletions = m
        .partition_deletion
        .iter()
        .chain(m.range_tombstones.iter().map(|rt| &rt.deletion))
        .map(|d| d.marked_for_delete_at.0);
    let rows = m.static_row.iter().chain(&m.rows).map(row_min_timestamp);
    deletions.chain(rows).min().unwrap_or(i64::MAX)
}

fn range_tombstone_size(rt: &RangeTombstone) -> usize {
    size_of::<RangeTombstone>() + bound_len(&rt.range.start) + bound_len(&rt.range.end)
}

fn add_range_tombstone(rts: &mut Vec<RangeTombstone>, rt: &RangeTombstone) -> i64 {
    // Repeated deletes of the same range are common (retries, hints): keep one.
    if let Some(existing) = rts.iter_mut().find(|e| e.range == rt.range) {
        existing.deletion = merge_deletion(existing.deletion, rt.deletion);
        return 0;
    }
    rts.push(rt.clone());
    range_tombstone_size(rt) as i64
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
        let mem_key = MemKey::of(key);
        let Some(entry) = self.partitions.get(&mem_key) else {
            return Ok(None);
        };
        let mut cursor = iter::RowCursor::new(Arc::from(slices), reversed);
        let mut first = Buffered::new();
        let header = {
            let slot = entry.value().lock();
            cursor.fill(slot.rows(), CHUNK, &mut |r| first.push_back(r));
            slot.header(key.clone())
        };
        let rows: RowIter = Box::new(iter::MemRowIter::new(self.clone(), mem_key, cursor, first));
        Ok(Some(PartitionStream { header, rows }))
    }

    fn scan(self: Arc<Self>, range: &KeyRange) -> Result<UnfilteredIter> {
        Ok(Box::new(iter::MemScanIter::new(self, range.clone())))
    }
}

/// The first skip-list position at or after a range's start.
fn start_key_bound(start: &PartitionBound) -> Option<RBound<MemKey>> {
    Some(match start {
        PartitionBound::Unbounded => RBound::Unbounded,
        PartitionBound::Inclusive(PartitionPosition::Key(k)) => RBound::Included(MemKey::of(k)),
        PartitionBound::Exclusive(PartitionPosition::Key(k)) => RBound::Excluded(MemKey::of(k)),
        PartitionBound::Inclusive(PartitionPosition::Token(t)) => {
            RBound::Included(MemKey::token_start(*t))
        }
        PartitionBound::Exclusive(PartitionPosition::Token(t)) => {
            RBound::Included(MemKey::token_start(crate::key::Token(t.0.checked_add(1)?)))
        }
    })
}

type Buffered<T> = VecDeque<T>;
