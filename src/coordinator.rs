//! The seam between CQL execution and where data lives.
//!
//! The CQL layer turns statements into storage [`Mutation`]s, partition reads and
//! scans, and hands them to a [`Coordinator`] with the client's consistency level.
//! On one node, [`LocalCoordinator`] applies them to the local engine and every
//! level succeeds; the cluster's coordinator replaces it and gives the levels their
//! meaning (replicas, acknowledgements, timeouts) without the CQL layer changing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cql_lite::{Consistency, ErrorKind, ErrorResponse, WriteType};
use storage::read::{PartitionRead, ScanCommand, ScanItem};
use storage::{DecoratedKey, DeletionTime, Engine, Mutation, Row, TableId};

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

/// The single-node coordinator: everything goes to the local engine.
#[derive(Debug)]
pub struct LocalCoordinator {
    engine: Arc<Engine>,
}

impl LocalCoordinator {
    /// A coordinator over `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        LocalCoordinator { engine }
    }
}

/// A storage failure as the client sees it.
pub fn storage_error(error: &storage::Error) -> ErrorResponse {
    match error {
        storage::Error::Overloaded(_) => {
            ErrorResponse::new(ErrorKind::Overloaded, error.to_string())
        }
        _ => ErrorResponse::new(ErrorKind::ServerError, error.to_string()),
    }
}

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ErrorResponse> + Send + 'static,
) -> Result<T, ErrorResponse> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(ErrorResponse::new(
            ErrorKind::ServerError,
            format!("storage task failed: {e}"),
        ))
    })
}

impl Coordinator for LocalCoordinator {
    fn write(
        &self,
        mutations: Vec<Mutation>,
        _consistency: Consistency,
        _write_type: WriteType,
    ) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        let engine = Arc::clone(&self.engine);
        Box::pin(blocking(move || {
            for m in &mutations {
                // `now` only matters to storage for bookkeeping; TTLs are in the cells.
                engine.apply(m, 0).map_err(|e| storage_error(&e))?;
            }
            Ok(())
        }))
    }

    fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        _consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        let engine = Arc::clone(&self.engine);
        Box::pin(blocking(move || {
            read_partition(&engine, table, &read, limits)
        }))
    }

    fn scan(
        &self,
        table: TableId,
        scan: ScanCommand,
        limits: ReadLimits,
        _consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        let engine = Arc::clone(&self.engine);
        Box::pin(blocking(move || scan_range(&engine, table, &scan, limits)))
    }

    fn truncate(&self, table: TableId) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        let engine = Arc::clone(&self.engine);
        Box::pin(blocking(move || {
            engine.truncate(table).map_err(|e| storage_error(&e))
        }))
    }
}

fn too_many_tombstones(scanned: usize) -> ErrorResponse {
    ErrorResponse::new(
        ErrorKind::ReadFailure {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            num_failures: 1,
            data_present: false,
        },
        format!(
            "Scanned over {scanned} tombstones; query aborted (see tombstone_failure_threshold)"
        ),
    )
}

fn read_partition(
    engine: &Engine,
    table: TableId,
    read: &PartitionRead,
    limits: ReadLimits,
) -> Result<ReadOutcome, ErrorResponse> {
    let mut reader = engine.read(table, read).map_err(|e| storage_error(&e))?;
    let mut rows = Vec::new();
    let mut stopped_at_limit = false;
    while let Some(row) = reader.next() {
        rows.push(row.map_err(|e| storage_error(&e))?);
        let scanned = reader.stats().tombstones_scanned;
        if scanned > limits.max_tombstones {
            return Err(too_many_tombstones(scanned));
        }
        if rows.len() >= limits.max_rows {
            stopped_at_limit = true;
            break;
        }
    }
    let static_row = reader
        .static_row()
        .cloned()
        .filter(|r| r.has_live_data(read.now));
    let tombstones_scanned = reader.stats().tombstones_scanned;
    let mut partitions = Vec::new();
    if !rows.is_empty() || static_row.is_some() {
        partitions.push(PartitionData {
            key: reader.key().clone(),
            deletion: reader.partition_deletion(),
            static_row,
            rows,
        });
    }
    Ok(ReadOutcome {
        partitions,
        stopped_at_limit,
        tombstones_scanned,
    })
}

fn scan_range(
    engine: &Engine,
    table: TableId,
    scan: &ScanCommand,
    limits: ReadLimits,
) -> Result<ReadOutcome, ErrorResponse> {
    let mut reader = engine.scan(table, scan).map_err(|e| storage_error(&e))?;
    let mut out = ReadOutcome::default();
    let mut counted = 0usize;
    loop {
        // Stop only at a partition boundary or after a row, never mid-header.
        if counted >= limits.max_rows {
            out.stopped_at_limit = true;
            break;
        }
        let Some(item) = reader.next() else { break };
        match item.map_err(|e| storage_error(&e))? {
            ScanItem::Partition {
                key,
                deletion,
                static_row,
            } => {
                let static_row = static_row.filter(|r| r.has_live_data(scan.now));
                out.partitions.push(PartitionData {
                    key,
                    deletion,
                    static_row,
                    rows: Vec::new(),
                });
            }
            ScanItem::Row(row) => {
                if let Some(p) = out.partitions.last_mut() {
                    p.rows.push(row);
                    counted += 1;
                }
            }
        }
        let scanned = reader.stats().tombstones_scanned;
        if scanned > limits.max_tombstones {
            return Err(too_many_tombstones(scanned));
        }
    }
    out.tombstones_scanned = reader.stats().tombstones_scanned;
    Ok(out)
}
