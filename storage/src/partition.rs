//! The shapes data takes between storage's layers: partition headers, the
//! unfiltered stream that memtables and SSTables yield, and partition ranges.
//!
//! Every source (a memtable, an SSTable) yields, per partition, a
//! [`PartitionHeader`] followed by its rows in clustering order (descending when
//! reversed). Reads and compaction merge such streams; flush and compaction write them.

use crate::cell::{DeletionTime, RangeTombstone, Row};
use crate::error::Result;
use crate::key::{ClusteringRange, DecoratedKey, Token};
use std::sync::Arc;

/// Partition-level data: comes before the rows of its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionHeader {
    /// The partition.
    pub key: DecoratedKey,
    /// A partition deletion.
    pub deletion: Option<DeletionTime>,
    /// Every range tombstone of the partition in this source (not only those in a slice).
    pub range_tombstones: Vec<RangeTombstone>,
    /// The static row (boxed: rarely present, and headers move through every
    /// layer of a scan, so they are kept small).
    pub static_row: Option<Box<Row>>,
}

impl PartitionHeader {
    /// A header with nothing but the key.
    pub fn new(key: DecoratedKey) -> Self {
        PartitionHeader {
            key,
            deletion: None,
            range_tombstones: Vec::new(),
            static_row: None,
        }
    }
}

/// One item of a source's stream: a partition starts, or one of its rows follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unfiltered {
    /// A new partition begins.
    Partition(PartitionHeader),
    /// A row of the last partition.
    Row(Row),
}

/// A boxed stream of unfiltered items.
pub(crate) type UnfilteredIter = Box<dyn Iterator<Item = Result<Unfiltered>> + Send>;

/// A boxed stream of rows of one partition.
pub(crate) type RowIter = Box<dyn Iterator<Item = Result<Row>> + Send>;

/// A position in partition order, for range bounds.
///
/// `Token(t)` stands for the whole group of keys with token `t`: as an inclusive
/// start it admits all of them, as an exclusive start none of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionPosition {
    /// All keys with this token.
    Token(Token),
    /// One key.
    Key(DecoratedKey),
}

/// One end of a partition range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionBound {
    /// Includes the position.
    Inclusive(PartitionPosition),
    /// Excludes the position.
    Exclusive(PartitionPosition),
    /// No limit.
    Unbounded,
}

/// A range of partitions in `(token, key)` order. Cassandra's token range
/// `(a, b]` is `start: Exclusive(Token(a)), end: Inclusive(Token(b))`; wrapping
/// ranges are split by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower end.
    pub start: PartitionBound,
    /// Upper end.
    pub end: PartitionBound,
}

impl KeyRange {
    /// Every partition.
    pub const ALL: KeyRange = KeyRange {
        start: PartitionBound::Unbounded,
        end: PartitionBound::Unbounded,
    };

    /// Whether `key` lies at or after the start.
    pub fn admits_after_start(&self, key: &DecoratedKey) -> bool {
        match &self.start {
            PartitionBound::Unbounded => true,
            PartitionBound::Inclusive(PartitionPosition::Token(t)) => key.token >= *t,
            PartitionBound::Exclusive(PartitionPosition::Token(t)) => key.token > *t,
            PartitionBound::Inclusive(PartitionPosition::Key(k)) => key >= k,
            PartitionBound::Exclusive(PartitionPosition::Key(k)) => key > k,
        }
    }

    /// Whether `key` lies at or before the end.
    pub fn admits_before_end(&self, key: &DecoratedKey) -> bool {
        match &self.end {
            PartitionBound::Unbounded => true,
            PartitionBound::Inclusive(PartitionPosition::Token(t)) => key.token <= *t,
            PartitionBound::Exclusive(PartitionPosition::Token(t)) => key.token < *t,
            PartitionBound::Inclusive(PartitionPosition::Key(k)) => key <= k,
            PartitionBound::Exclusive(PartitionPosition::Key(k)) => key < k,
        }
    }

    /// Whether the range contains `key`.
    pub fn contains(&self, key: &DecoratedKey) -> bool {
        self.admits_after_start(key) && self.admits_before_end(key)
    }
}

/// One partition as read from a source: its header and a stream of its rows.
pub struct PartitionStream {
    /// Partition-level data.
    pub header: PartitionHeader,
    /// Rows inside the requested slices, in the requested order.
    pub rows: RowIter,
}

impl std::fmt::Debug for PartitionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionStream")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Something reads can merge: a memtable or an SSTable.
///
/// Implementations return owned streams (they hold an `Arc` of themselves), so a
/// read can outlive the lock that picked its sources.
pub trait PartitionSource: Send + Sync + std::fmt::Debug {
    /// One partition's header and its rows within `slices` (sorted, disjoint),
    /// descending when `reversed`; `None` when this source has nothing for the key.
    fn read_partition(
        self: Arc<Self>,
        key: &DecoratedKey,
        slices: &[ClusteringRange],
        reversed: bool,
    ) -> Result<Option<PartitionStream>>;

    /// Every partition in `range`, in order, each header followed by all its rows ascending.
    fn scan(self: Arc<Self>, range: &KeyRange) -> Result<UnfilteredIter>;
}
