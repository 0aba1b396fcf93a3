//! The single-node coordinator: every read and write goes to the local engine.
//!
//! Writes go through a bounded queue to a few writer threads that take whatever
//! has queued up and hand it to [`Engine::apply_batch`]: one commit-log fsync
//! and one thread wake-up per batch instead of per write. Under load that is
//! what makes group commit cheap; a lone write still goes out at once. Point
//! reads run on the calling task (they touch the memtable and cached blocks);
//! scans, which may read many blocks, run on the blocking pool.

use std::sync::Arc;

use cluster::{BatchWriteError as WriteError, BatchWriter};
use cql_lite::{Consistency, ErrorKind, ErrorResponse, WriteType};
use storage::{Engine, Mutation, TableId};
use storage::{PartitionRead, ScanCommand, ScanItem};

use super::{BoxFuture, Coordinator, PartitionData, ReadLimits, ReadOutcome};

/// The single-node coordinator: everything goes to the local engine.
#[derive(Debug)]
pub struct LocalCoordinator {
    engine: Arc<Engine>,
    writer: BatchWriter,
}

impl LocalCoordinator {
    /// A coordinator over `engine`, with its writer started.
    pub fn new(engine: Arc<Engine>) -> Self {
        LocalCoordinator {
            writer: BatchWriter::new(Arc::clone(&engine)),
            engine,
        }
    }
}

/// A storage failure as the client sees it.
pub(crate) fn storage_error(error: &storage::Error) -> ErrorResponse {
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
    ::cluster::blocking::run(work).await.unwrap_or_else(|e| {
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
        Box::pin(async move {
            self.writer.apply(mutations).await.map_err(|e| match e {
                WriteError::Storage(e) => storage_error(&e),
                WriteError::Closed => {
                    ErrorResponse::new(ErrorKind::ServerError, "the node is shutting down")
                }
            })
        })
    }

    fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        _consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        Box::pin(async move { read_partition(&self.engine, table, &read, limits) })
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

    fn truncate(&self, table: TableId, at: i64) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        let engine = Arc::clone(&self.engine);
        Box::pin(blocking(move || {
            engine
                .truncate(table, storage::Timestamp(at))
                .map_err(|e| storage_error(&e))
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
                ..
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
