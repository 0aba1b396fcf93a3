//! The seam between CQL execution and where data lives.
//!
//! The CQL layer turns statements into storage [`Mutation`]s, partition reads and
//! scans, and hands them to a [`Coordinator`] with the client's consistency level.
//! On one node, [`LocalCoordinator`] applies them to the local engine and every
//! level succeeds; the cluster's coordinator replaces it and gives the levels their
//! meaning (replicas, acknowledgements, timeouts) without the CQL layer changing.

use std::future::Future;
use std::pin::Pin;

use cql_lite::{Consistency, ErrorResponse, WriteType};
use storage::read::{PartitionRead, ScanCommand};
use storage::{DecoratedKey, DeletionTime, Mutation, Row, TableId};

/// A boxed future, so [`Coordinator`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a read may cost before it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Stop once this many CQL rows are collected (a partition with only a static
    /// row counts as one row).
    pub max_rows: usize,
    /// Fail once more tombstones than this were scanned
    /// (`tombstone_failure_threshold`).
    pub max_tombstones: usize,
}

/// One partition as read: its deletion, static row and the rows asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionData {
    /// The key.
    pub key: DecoratedKey,
    /// The partition deletion, if any.
    pub deletion: Option<DeletionTime>,
    /// The static row, if the table has one and it holds live data.
    pub static_row: Option<Row>,
    /// Rows in the order asked for.
    pub rows: Vec<Row>,
}

/// The result of a read or a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Partitions with something to return, in token order (scans) or the single
    /// partition read.
    pub partitions: Vec<PartitionData>,
    /// Whether the read ended because it reached `max_rows` (more may follow).
    pub stopped_at_limit: bool,
    /// Tombstones met while reading.
    pub tombstones_scanned: usize,
}

/// Routes reads and writes to where the data lives, at a consistency level.
pub trait Coordinator: Send + Sync + std::fmt::Debug + 'static {
    /// Applies mutations, each atomically within its partition.
    fn write(
        &self,
        mutations: Vec<Mutation>,
        consistency: Consistency,
        write_type: WriteType,
    ) -> BoxFuture<'_, Result<(), ErrorResponse>>;

    /// Reads one partition.
    fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>>;

    /// Scans a range of partitions in token order.
    fn scan(
        &self,
        table: TableId,
        scan: ScanCommand,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>>;

    /// Removes every row of a table.
    fn truncate(&self, table: TableId) -> BoxFuture<'_, Result<(), ErrorResponse>>;
}

pub mod cluster;
mod local;

pub use cluster::DistributedCoordinator;
pub use local::{LocalCoordinator, storage_error};
