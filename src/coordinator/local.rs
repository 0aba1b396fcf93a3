//! The single-node coordinator: every read and write goes to the local engine.
//!
//! Writes go through a bounded queue to a few writer threads that take whatever
//! has queued up and hand it to [`Engine::apply_batch`]: one commit-log fsync
//! and one thread wake-up per batch instead of per write. Under load that is
//! what makes group commit cheap; a lone write still goes out at once. Point
//! reads run on the calling task (they touch the memtable and cached blocks);
//! scans, which may read many blocks, run on the blocking pool.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use cql_lite::{Consistency, ErrorKind, ErrorResponse, WriteType};
use storage::read::{PartitionRead, ScanCommand, ScanItem};
use storage::{Engine, Mutation, TableId};
use tokio::sync::{mpsc, oneshot};

use super::{BoxFuture, Coordinator, PartitionData, ReadLimits, ReadOutcome};

/// Writes waiting for a writer thread; beyond this, writers wait (back-pressure).
const QUEUE_CAPACITY: usize = 4096;
/// Mutations one engine batch takes at most.
const MAX_BATCH: usize = 512;
/// Writer threads. One: while it waits for its fsync the next batch gathers in
/// the queue, so batches grow with load; a second thread measured no better on
/// two cores (it competes with the flush thread and the runtime's workers).
const WRITER_THREADS: usize = 1;

struct WriteRequest {
    mutations: Vec<Mutation>,
    done: oneshot::Sender<Result<(), ErrorResponse>>,
}

type Queue = Arc<Mutex<mpsc::Receiver<WriteRequest>>>;

/// The answers of one engine batch, for the completer task to hand out.
type Completions = Vec<(
    oneshot::Sender<Result<(), ErrorResponse>>,
    Result<(), ErrorResponse>,
)>;

/// Hands a batch's answers to waiting requests from inside the runtime. Woken
/// from a writer thread, each request's task would be pushed through the
/// runtime's shared queue and often unpark a worker (a futex each); woken from
/// this task, they go to the worker's local queue. One wake-up per batch.
#[derive(Clone)]
struct Completer(Option<mpsc::UnboundedSender<Completions>>);

impl Completer {
    /// A completer task on the current runtime; without a runtime (some unit
    /// tests), writers answer directly.
    fn start() -> Completer {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Completer(None);
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Completions>();
        runtime.spawn(async move {
            while let Some(batch) = rx.recv().await {
                answer(batch);
            }
        });
        Completer(Some(tx))
    }

    fn complete(&self, batch: Completions) {
        match &self.0 {
            Some(tx) => {
                if let Err(unsent) = tx.send(batch) {
                    answer(unsent.0);
                }
            }
            None => answer(batch),
        }
    }
}

fn answer(batch: Completions) {
    for (done, outcome) in batch {
        // The client may have gone; its write stands either way.
        let _ = done.send(outcome);
    }
}

/// The single-node coordinator: everything goes to the local engine.
#[derive(Debug)]
pub struct LocalCoordinator {
    engine: Arc<Engine>,
    writes: Option<mpsc::Sender<WriteRequest>>,
    writers: Vec<JoinHandle<()>>,
}

impl LocalCoordinator {
    /// A coordinator over `engine`, with its writer threads started.
    pub fn new(engine: Arc<Engine>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let queue: Queue = Arc::new(Mutex::new(rx));
        let completer = Completer::start();
        let writers = (0..WRITER_THREADS)
            .map(|i| {
                let (engine, queue) = (Arc::clone(&engine), Arc::clone(&queue));
                let completer = completer.clone();
                std::thread::Builder::new()
                    .name(format!("basalt-writer-{i}"))
                    .spawn(move || write_loop(&engine, &queue, &completer))
            })
            .filter_map(Result::ok)
            .collect();
        LocalCoordinator {
            engine,
            writes: Some(tx),
            writers,
        }
    }
}

impl Drop for LocalCoordinator {
    /// Closes the queue and waits for the writers to finish what was queued, so
    /// the engine is no longer shared when the node closes it.
    fn drop(&mut self) {
        self.writes.take();
        for writer in self.writers.drain(..) {
            let _ = writer.join();
        }
    }
}

/// Takes what has queued (one blocking receive, then whatever else is ready),
/// applies it as one engine batch and answers each request.
fn write_loop(engine: &Engine, queue: &Mutex<mpsc::Receiver<WriteRequest>>, completer: &Completer) {
    loop {
        let mut requests = Vec::new();
        {
            let mut rx = queue.lock().unwrap_or_else(|p| p.into_inner());
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            let mut count = first.mutations.len();
            requests.push(first);
            while count < MAX_BATCH {
                let Ok(next) = rx.try_recv() else { break };
                count += next.mutations.len();
                requests.push(next);
            }
        }
        completer.complete(apply(engine, requests));
    }
}

fn apply(engine: &Engine, requests: Vec<WriteRequest>) -> Completions {
    let mut mutations = Vec::new();
    let mut spans = Vec::with_capacity(requests.len());
    for r in requests {
        spans.push((r.mutations.len(), r.done));
        mutations.extend(r.mutations);
    }
    // `now` only matters to storage for bookkeeping; TTLs are in the cells.
    let mut results = engine.apply_batch(&mutations, 0).into_iter();
    spans
        .into_iter()
        .map(|(count, done)| {
            let outcome = results
                .by_ref()
                .take(count)
                .find_map(Result::err)
                .map_or(Ok(()), |e| Err(storage_error(&e)));
            (done, outcome)
        })
        .collect()
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
        Box::pin(async move {
            let closed = || ErrorResponse::new(ErrorKind::ServerError, "the node is shutting down");
            let queue = self.writes.as_ref().ok_or_else(closed)?;
            let (done, result) = oneshot::channel();
            queue
                .send(WriteRequest { mutations, done })
                .await
                .map_err(|_| closed())?;
            result.await.map_err(|_| closed())?
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
