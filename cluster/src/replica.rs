//! The replica side of the coordinator's protocol: MUTATION, READ and
//! RANGE_READ served from the local [`Engine`].
//!
//! Writes go through a bounded queue to one writer thread that hands whatever
//! has gathered to [`Engine::apply_batch`]: one commit-log durability wait per
//! batch instead of per write, which is what keeps many concurrent replica
//! writes cheap. A write is acknowledged only once the engine reports it
//! durable. Reads and scans run on tokio's blocking pool, since they may touch
//! SSTable blocks on disk.
//!
//! Reads always keep tombstones when asked to (the coordinator reconciles
//! several replicas' answers), and a row limit counts only rows with live
//! data: tombstones in between travel along without using up the limit, as in
//! Cassandra.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use storage::read::{PartitionRead, ScanCommand, ScanItem};
use storage::{Engine, Mutation, TableId};
use tokio::sync::{mpsc, oneshot};

use crate::coordinator::merge::{digest, normalize};
use crate::coordinator::verbs;
use crate::coordinator::wire::{
    MutationRequest, RangeReadRequest, RangeReadResponse, ReadReply, ReadRequest, ReadResponse,
    ReplicaError, ReplicaErrorKind, encode_mutation_response, encode_range_response,
    encode_read_response,
};
use crate::net::{BoxFuture, Verb};

/// Writes waiting for the writer thread; beyond this, callers wait.
const QUEUE_CAPACITY: usize = 4096;
/// Mutations one engine batch takes at most.
const MAX_BATCH: usize = 512;

struct WriteJob {
    mutation: Mutation,
    done: oneshot::Sender<Result<(), ReplicaError>>,
}

/// One node's replica: serves the coordinator protocol from its engine.
#[derive(Debug)]
pub struct Replica {
    engine: Arc<Engine>,
    writes: Mutex<Option<mpsc::Sender<WriteJob>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteJob").finish_non_exhaustive()
    }
}

fn storage_error(e: &storage::Error) -> ReplicaError {
    let kind = match e {
        storage::Error::Overloaded(_) => ReplicaErrorKind::Overloaded,
        _ => ReplicaErrorKind::Storage,
    };
    ReplicaError {
        kind,
        message: e.to_string(),
    }
}

fn closed() -> ReplicaError {
    ReplicaError {
        kind: ReplicaErrorKind::Storage,
        message: "the replica is shutting down".into(),
    }
}

fn malformed(e: impl std::fmt::Display) -> ReplicaError {
    ReplicaError {
        kind: ReplicaErrorKind::Malformed,
        message: e.to_string(),
    }
}

fn too_many_tombstones(scanned: u64) -> ReplicaError {
    ReplicaError {
        kind: ReplicaErrorKind::TooManyTombstones,
        message: format!(
            "Scanned over {scanned} tombstones; query aborted (see tombstone_failure_threshold)"
        ),
    }
}

impl Replica {
    /// A replica over `engine`, with its writer thread started.
    pub fn new(engine: Arc<Engine>) -> Arc<Replica> {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let writer_engine = Arc::clone(&engine);
        let writer = std::thread::Builder::new()
            .name("basalt-replica-writer".into())
            .spawn(move || write_loop(&writer_engine, rx))
            .ok();
        Arc::new(Replica {
            engine,
            writes: Mutex::new(writer.is_some().then_some(tx)),
            writer: Mutex::new(writer),
        })
    }

    /// The engine this replica serves.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops taking writes and waits for the queued ones to be applied.
    pub fn shutdown(&self) {
        self.writes.lock().unwrap_or_else(|p| p.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }

    /// Applies a mutation; resolves once it is durable.
    pub async fn apply(&self, mutation: Mutation) -> Result<(), ReplicaError> {
        let queue = self
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(closed)?;
        let (done, result) = oneshot::channel();
        queue
            .send(WriteJob { mutation, done })
            .await
            .map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }

    /// Serves a READ.
    pub async fn read(&self, request: ReadRequest) -> Result<ReadResponse, ReplicaError> {
        let engine = Arc::clone(&self.engine);
        blocking(move || read_partition(&engine, &request)).await
    }

    /// Serves a RANGE_READ.
    pub async fn range_read(
        &self,
        request: RangeReadRequest,
    ) -> Result<RangeReadResponse, ReplicaError> {
        let engine = Arc::clone(&self.engine);
        blocking(move || read_range(&engine, &request)).await
    }

    /// Serves one encoded request of the replica protocol and encodes the
    /// answer; `None` for a verb that is not the replica protocol's.
    pub fn handle(
        self: &Arc<Self>,
        verb: Verb,
        payload: Vec<u8>,
    ) -> Option<BoxFuture<'static, Vec<u8>>> {
        let this = Arc::clone(self);
        if verb == verbs::MUTATION {
            return Some(Box::pin(async move {
                let result = match MutationRequest::decode(&payload) {
                    Ok(req) => this.apply(req.mutation).await,
                    Err(e) => Err(malformed(e)),
                };
                encode_mutation_response(&result)
            }));
        }
        if verb == verbs::READ {
            return Some(Box::pin(async move {
                let result = match ReadRequest::decode(&payload) {
                    Ok(req) => this.read(req).await,
                    Err(e) => Err(malformed(e)),
                };
                encode_read_response(&result)
            }));
        }
        if verb == verbs::RANGE_READ {
            return Some(Box::pin(async move {
                let result = match RangeReadRequest::decode(&payload) {
                    Ok(req) => this.range_read(req).await,
                    Err(e) => Err(malformed(e)),
                };
                encode_range_response(&result)
            }));
        }
        None
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ReplicaError> + Send + 'static,
) -> Result<T, ReplicaError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(ReplicaError {
            kind: ReplicaErrorKind::Storage,
            message: format!("storage task failed: {e}"),
        })
    })
}

/// Takes what has queued (one blocking receive, then whatever else is
/// ready), applies it as one engine batch and answers each write.
fn write_loop(engine: &Engine, mut rx: mpsc::Receiver<WriteJob>) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            let Ok(next) = rx.try_recv() else { break };
            jobs.push(next);
        }
        let (mutations, dones): (Vec<Mutation>, Vec<_>) =
            jobs.into_iter().map(|j| (j.mutation, j.done)).unzip();
        // `now` only matters to storage for bookkeeping; TTLs are in the cells.
        let results = engine.apply_batch(&mutations, 0);
        for (done, result) in dones.into_iter().zip(results) {
            // The coordinator may have given up; the write stands either way.
            let _ = done.send(result.map_err(|e| storage_error(&e)));
        }
    }
}

/// Reads one partition: rows until `row_limit` live ones, canonical form,
/// then data or digest.
fn read_partition(engine: &Engine, request: &ReadRequest) -> Result<ReadResponse, ReplicaError> {
    let read = &request.read;
    let cmd = PartitionRead {
        row_limit: None,
        ..read.clone()
    };
    let limit = read.row_limit.unwrap_or(usize::MAX);
    let mut reader = engine
        .read(request.table, &cmd)
        .map_err(|e| storage_error(&e))?;
    let mut rows = Vec::new();
    let mut live = 0usize;
    while live < limit {
        let Some(row) = reader.next() else { break };
        let row = row.map_err(|e| storage_error(&e))?;
        live += usize::from(row.has_live_data(read.now));
        rows.push(row);
        let scanned = reader.stats().tombstones_scanned as u64;
        if scanned > request.max_tombstones {
            return Err(too_many_tombstones(scanned));
        }
    }
    if read.reversed {
        rows.reverse();
    }
    let mut partition = Mutation::new(request.table, read.key.clone());
    partition.partition_deletion = reader.partition_deletion();
    partition.range_tombstones = reader.range_tombstones().to_vec();
    partition.static_row = reader.static_row().cloned();
    partition.rows = rows;
    normalize(&mut partition);
    let reply = if request.digest {
        ReadReply::Digest(digest(&partition))
    } else {
        ReadReply::Data(Box::new(partition))
    };
    Ok(ReadResponse {
        reply,
        hit_limit: live >= limit,
        tombstones_scanned: reader.stats().tombstones_scanned as u64,
    })
}

/// The partitions of a scan, gathered until the live-row limit.
struct Gathered {
    table: TableId,
    now: i64,
    partitions: Vec<Mutation>,
    /// Live rows so far; a partition whose only live data is its static row
    /// counts as one, once it is complete.
    live: u64,
    live_in_current: u64,
}

impl Gathered {
    fn finish_partition(&mut self) {
        let Some(last) = self.partitions.last_mut() else {
            return;
        };
        let static_live = last
            .static_row
            .as_ref()
            .is_some_and(|s| s.has_live_data(self.now));
        if self.live_in_current == 0 && static_live {
            self.live += 1;
        }
        normalize(last);
    }

    /// Takes one scan item; false when the limit was reached at a partition
    /// boundary (the new partition is left for the next page).
    fn take(&mut self, item: ScanItem, limit: u64) -> bool {
        match item {
            ScanItem::Partition {
                key,
                deletion,
                static_row,
            } => {
                self.finish_partition();
                if self.live >= limit {
                    return false;
                }
                let mut m = Mutation::new(self.table, key);
                m.partition_deletion = deletion;
                m.static_row = static_row;
                self.partitions.push(m);
                self.live_in_current = 0;
            }
            ScanItem::Row(row) => {
                if let Some(p) = self.partitions.last_mut() {
                    let live = u64::from(row.has_live_data(self.now));
                    self.live += live;
                    self.live_in_current += live;
                    p.rows.push(row);
                }
            }
        }
        true
    }
}

/// Scans a key range with tombstones until `row_limit` live rows.
fn read_range(
    engine: &Engine,
    request: &RangeReadRequest,
) -> Result<RangeReadResponse, ReplicaError> {
    let cmd = ScanCommand {
        range: request.range.clone(),
        resume_after: request.resume_after.clone(),
        columns: request.columns.clone(),
        now: request.now,
        include_tombstones: true,
    };
    let limit = request.row_limit.unwrap_or(u64::MAX);
    let mut reader = engine
        .scan(request.table, &cmd)
        .map_err(|e| storage_error(&e))?;
    let mut gathered = Gathered {
        table: request.table,
        now: request.now,
        partitions: Vec::new(),
        live: 0,
        live_in_current: 0,
    };
    // Stopping right after the row that reaches the limit leaves the last
    // partition partial; stopping when the next partition begins leaves it
    // complete. The coordinator needs to know which to page correctly.
    let (mut hit_limit, mut last_partial) = (false, false);
    loop {
        if gathered.live >= limit {
            (hit_limit, last_partial) = (true, true);
            break;
        }
        let Some(item) = reader.next() else { break };
        if !gathered.take(item.map_err(|e| storage_error(&e))?, limit) {
            hit_limit = true;
            break;
        }
        let scanned = reader.stats().tombstones_scanned as u64;
        if scanned > request.max_tombstones {
            return Err(too_many_tombstones(scanned));
        }
    }
    gathered.finish_partition();
    Ok(RangeReadResponse {
        partitions: gathered.partitions,
        hit_limit,
        last_partial,
        tombstones_scanned: reader.stats().tombstones_scanned as u64,
    })
}
