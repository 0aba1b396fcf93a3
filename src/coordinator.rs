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
use storage::{Mutation, TableId};
use storage::{PartitionRead, ScanCommand};

/// A boxed future, so [`Coordinator`] can be used as a trait object.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// The shapes of reads and their results are the cluster coordinator's own, so
// the single-node and cluster coordinators answer the CQL layer alike.
pub(crate) use ::cluster::{PartitionData, ReadLimits, ReadOutcome};

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

    /// Removes every row of a table, with `at` (µs) as its truncation time:
    /// nothing written at or before it is kept or shown afterwards.
    fn truncate(&self, table: TableId, at: i64) -> BoxFuture<'_, Result<(), ErrorResponse>>;
}

pub(crate) mod cluster;
mod local;

pub(crate) use cluster::DistributedCoordinator;
pub use local::LocalCoordinator;
pub(crate) use local::storage_error;
