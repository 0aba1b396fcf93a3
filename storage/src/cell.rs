//! The contents of a partition: cells, rows, deletions.
//!
//! These are plain data. Which version of a value wins is decided in
//! [`crate::reconcile`], the one place that knows the rules.

use crate::key::{ClusteringKey, ClusteringRange, ColumnId};
use bytes::Bytes;

/// A write timestamp in microseconds (client-supplied or from the coordinator's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Older than any write.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
}

/// When and how something was deleted.
///
/// `marked_for_delete_at` shadows everything written at or before it;
/// `local_deletion_time` (seconds since the epoch, on the replica that accepted
/// the delete) decides when the tombstone may be purged after gc grace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeletionTime {
    /// Data with a timestamp at or below this is deleted.
    pub marked_for_delete_at: Timestamp,
    /// Seconds since the epoch when the deletion was accepted.
    pub local_deletion_time: i64,
}

impl DeletionTime {
    /// Builds a deletion time.
    pub fn new(marked_for_delete_at: i64, local_deletion_time: i64) -> Self {
        DeletionTime {
            marked_for_delete_at: Timestamp(marked_for_delete_at),
            local_deletion_time,
        }
    }

    /// Whether data written at `ts` is shadowed by this deletion.
    pub fn deletes(&self, ts: Timestamp) -> bool {
        ts <= self.marked_for_delete_at
    }
}

/// What a cell holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// A value with no expiry.
    Live(Bytes),
    /// A value that reads as deleted from `local_expiration_time` (seconds since the epoch) on.
    Expiring {
        /// The value.
        value: Bytes,
        /// The TTL it was written with, in seconds.
        ttl_seconds: i32,
        /// Seconds since the epoch at which the cell expires.
        local_expiration_time: i64,
    },
    /// A deleted cell.
    Tombstone {
        /// Seconds since the epoch when the deletion was accepted.
        local_deletion_time: i64,
    },
}

/// One versioned value of one column (or one element of a collection column).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// The write timestamp.
    pub timestamp: Timestamp,
    /// The value, expiring value or tombstone.
    pub kind: CellKind,
}

impl Cell {
    /// A live cell.
    pub fn live(timestamp: i64, value: impl Into<Bytes>) -> Self {
        Cell {
            timestamp: Timestamp(timestamp),
            kind: CellKind::Live(value.into()),
        }
    }

    /// An expiring cell written at `now` (seconds) with `ttl_seconds`.
    pub fn expiring(timestamp: i64, value: impl Into<Bytes>, ttl_seconds: i32, now: i64) -> Self {
        Cell {
            timestamp: Timestamp(timestamp),
            kind: CellKind::Expiring {
                value: value.into(),
                ttl_seconds,
                local_expiration_time: now.saturating_add(i64::from(ttl_seconds)),
            },
        }
    }

    /// A cell tombstone.
    pub fn tombstone(timestamp: i64, local_deletion_time: i64) -> Self {
        Cell {
            timestamp: Timestamp(timestamp),
            kind: CellKind::Tombstone {
                local_deletion_time,
            },
        }
    }

    /// The value, if the cell is live at `now` (seconds).
    pub fn value_at(&self, now: i64) -> Option<&Bytes> {
        match &self.kind {
            CellKind::Live(v) => Some(v),
            CellKind::Expiring {
                value,
                local_expiration_time,
                ..
            } if *local_expiration_time > now => Some(value),
            _ => None,
        }
    }

    /// Whether the cell reads as deleted at `now`: a tombstone, or expired.
    pub fn is_dead_at(&self, now: i64) -> bool {
        self.value_at(now).is_none()
    }

    /// The local time from which gc grace counts once the cell is dead:
    /// the deletion time of a tombstone, the expiration time of an expiring cell.
    pub fn local_deletion_time(&self) -> Option<i64> {
        match &self.kind {
            CellKind::Live(_) => None,
            CellKind::Expiring {
                local_expiration_time,
                ..
            } => Some(*local_expiration_time),
            CellKind::Tombstone {
                local_deletion_time,
            } => Some(*local_deletion_time),
        }
    }
}

/// A cell addressed within a row: by column, and by element path for collections.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ColumnCell {
    /// The column.
    pub column: ColumnId,
    /// The element's path inside a multi-cell (collection) column; `None` for simple columns.
    pub path: Option<Bytes>,
    /// The versioned value.
    pub cell: Cell,
}

/// The primary-key liveness of a row: an `INSERT` makes a row exist even with no
/// regular columns, and a TTL on the insert expires that existence too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LivenessInfo {
    /// The write timestamp of the insert.
    pub timestamp: Timestamp,
    /// `(ttl_seconds, local_expiration_time)` when the insert had a TTL.
    pub expiry: Option<(i32, i64)>,
}

impl LivenessInfo {
    /// Whether the marker still makes the row exist at `now`.
    pub fn is_live_at(&self, now: i64) -> bool {
        self.expiry.is_none_or(|(_, exp)| exp > now)
    }
}

/// One row (or the static row) of a partition.
///
/// Invariant: `cells` are sorted by `(column, path)` without duplicates, and
/// `column_deletions` by column without duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Row {
    /// The row's clustering key (empty for the static row).
    pub clustering: ClusteringKey,
    /// The primary-key liveness marker, if an insert wrote one.
    pub liveness: Option<LivenessInfo>,
    /// A row deletion.
    pub deletion: Option<DeletionTime>,
    /// Whole-collection deletions (an overwrite of a collection deletes its old elements).
    pub column_deletions: Vec<(ColumnId, DeletionTime)>,
    /// The cells.
    pub cells: Vec<ColumnCell>,
}

impl Row {
    /// The largest write or deletion timestamp in the row, if it has any.
    pub fn max_timestamp(&self) -> Option<Timestamp> {
        let liveness = self.liveness.iter().map(|l| l.timestamp);
        let deletion = self.deletion.iter().map(|d| d.marked_for_delete_at);
        let columns = self
            .column_deletions
            .iter()
            .map(|(_, d)| d.marked_for_delete_at);
        let cells = self.cells.iter().map(|c| c.cell.timestamp);
        liveness.chain(deletion).chain(columns).chain(cells).max()
    }

    /// An empty row at `clustering`.
    pub fn new(clustering: ClusteringKey) -> Self {
        Row {
            clustering,
            ..Row::default()
        }
    }

    /// Adds a cell, keeping `cells` sorted; a cell at the same address is replaced.
    pub fn with_cell(mut self, column: ColumnId, path: Option<Bytes>, cell: Cell) -> Self {
        let probe = (column, path.as_deref());
        match self
            .cells
            .binary_search_by(|c| (c.column, c.path.as_deref()).cmp(&probe))
        {
            Ok(i) => self.cells[i].cell = cell,
            Err(i) => self.cells.insert(i, ColumnCell { column, path, cell }),
        }
        self
    }

    /// Whether the row carries nothing at all.
    pub fn is_empty(&self) -> bool {
        self.liveness.is_none()
            && self.deletion.is_none()
            && self.column_deletions.is_empty()
            && self.cells.is_empty()
    }

    /// Whether the row has live content at `now` (the test for a row to be returned).
    pub fn has_live_data(&self, now: i64) -> bool {
        self.liveness.is_some_and(|l| l.is_live_at(now))
            || self.cells.iter().any(|c| !c.cell.is_dead_at(now))
    }
}

/// A deletion of every row in a clustering range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RangeTombstone {
    /// The rows it covers.
    pub range: ClusteringRange,
    /// When they were deleted.
    pub deletion: DeletionTime,
}
