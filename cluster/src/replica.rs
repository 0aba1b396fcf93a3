//! The replica side of the coordinator's protocol: MUTATION, READ and
//! RANGE_READ served from the local [`Engine`], and BATCH_STORE and
//! BATCH_REMOVE served from the node's [`BatchlogStore`].
//!
//! Writes go through the [`BatchWriter`]: one commit-log durability wait per
//! batch of gathered writes instead of per write. A write is acknowledged only
//! once the engine reports it durable. Partition reads run on the calling task
//! (memtable and cached blocks); range reads run on tokio's blocking pool,
//! since they may read many SSTable blocks.
//!
//! Reads always keep tombstones when asked to (the coordinator reconciles
//! several replicas' answers), and a row limit counts only rows with live
//! data: tombstones in between travel along without using up the limit, as in
//! Cassandra.

use std::sync::{Arc, OnceLock};

use storage::{Engine, Mutation, TableId};
use storage::{PartitionRead, ScanCommand, ScanItem};

use crate::batch_writer::{BatchWriter, WriteError};
use crate::batchlog::{BatchId, BatchRemoveRequest, BatchStoreRequest, BatchlogStore, StoreError};
use crate::coordinator::merge::{digest, normalize};
use crate::coordinator::verbs;
use crate::coordinator::wire::{
    MutationRequest, RangeReadRequest, RangeReadResponse, ReadReply, ReadRequest, ReadResponse,
    ReplicaError, ReplicaErrorKind, encode_mutation_response, encode_range_response,
    encode_read_response,
};
use crate::net::{BoxFuture, Verb};

/// One node's replica: serves the coordinator protocol from its engine.
pub struct Replica {
    engine: Arc<Engine>,
    writer: BatchWriter,
    /// Where logged batches of other coordinators are kept, if this node
    /// keeps any.
    batchlog: Option<Arc<BatchlogStore>>,
    /// Told the newest timestamp of every write another node sends.
    observer: OnceLock<TimestampObserver>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("writer", &self.writer)
            .field("batchlog", &self.batchlog)
            .finish_non_exhaustive()
    }
}

/// Hears the write timestamps a replica receives from other nodes (the
/// node's hybrid logical clock advances past them).
pub type TimestampObserver = Arc<dyn Fn(i64) + Send + Sync>;

fn storage_error(e: &storage::Error) -> ReplicaError {
    let kind = match e {
        storage::Error::Overloaded(_) => ReplicaErrorKind::Overloaded,
        storage::Error::UnknownTable(_) => ReplicaErrorKind::UnknownTable,
        _ => ReplicaErrorKind::Storage,
    };
    ReplicaError {
        kind,
        message: e.to_string(),
    }
}

fn write_error(e: WriteError) -> ReplicaError {
    match e {
        WriteError::Storage(e) => storage_error(&e),
        WriteError::Closed => ReplicaError {
            kind: ReplicaErrorKind::Storage,
            message: "the replica is shutting down".into(),
        },
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
        Replica::build(engine, None)
    }

    /// A replica that also keeps logged batches in `batchlog`.
    pub fn with_batchlog(engine: Arc<Engine>, batchlog: Arc<BatchlogStore>) -> Arc<Replica> {
        Replica::build(engine, Some(batchlog))
    }

    fn build(engine: Arc<Engine>, batchlog: Option<Arc<BatchlogStore>>) -> Arc<Replica> {
        Arc::new(Replica {
            writer: BatchWriter::new(Arc::clone(&engine)),
            engine,
            batchlog,
            observer: OnceLock::new(),
        })
    }

    /// Tells `observer` the newest timestamp of each write received from
    /// another node from now on (set once; later calls are ignored).
    pub fn observe_timestamps(&self, observer: TimestampObserver) {
        let _ = self.observer.set(observer);
    }

    fn observe(&self, mutation: &Mutation) {
        if let (Some(observer), Some(ts)) = (self.observer.get(), mutation.max_timestamp()) {
            observer(ts.0);
        }
    }

    /// The engine this replica serves.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops taking writes and waits for the queued ones to be applied.
    pub fn shutdown(&self) {
        self.writer.shutdown();
    }

    /// Applies a mutation; resolves once it is durable.
    pub async fn apply(&self, mutation: Mutation) -> Result<(), ReplicaError> {
        self.apply_all(vec![mutation]).await
    }

    /// Applies several mutations (each atomic in its partition) in one queued
    /// job; resolves once all are durable, with the first error if any failed.
    pub async fn apply_all(&self, mutations: Vec<Mutation>) -> Result<(), ReplicaError> {
        self.writer.apply(mutations).await.map_err(write_error)
    }

    /// Serves a READ. A partition read touches the memtable and a few cached
    /// blocks, so it runs on the calling task: a hop to the blocking pool cost
    /// more than the read itself (a point read's server CPU went from about 6
    /// to 28 µs with it). Range reads, which may read many blocks, still hop.
    pub async fn read(&self, request: ReadRequest) -> Result<ReadResponse, ReplicaError> {
        read_partition(&self.engine, &request)
    }

    /// Serves a RANGE_READ.
    pub async fn range_read(
        &self,
        request: RangeReadRequest,
    ) -> Result<RangeReadResponse, ReplicaError> {
        let engine = Arc::clone(&self.engine);
        blocking(move || read_range(&engine, &request)).await
    }

    fn batchlog(&self) -> Result<Arc<BatchlogStore>, ReplicaError> {
        self.batchlog.clone().ok_or_else(|| ReplicaError {
            kind: ReplicaErrorKind::Storage,
            message: "this node keeps no batchlog".into(),
        })
    }

    /// Keeps a logged batch durably; `payload` is its encoded, already
    /// validated `BATCH_STORE` request.
    pub async fn store_batch(&self, id: BatchId, payload: Vec<u8>) -> Result<(), ReplicaError> {
        let store = self.batchlog()?;
        blocking(move || {
            store.store(id, &payload).map_err(|e| ReplicaError {
                kind: match e {
                    StoreError::Full(_) => ReplicaErrorKind::Overloaded,
                    StoreError::Io(_) => ReplicaErrorKind::Storage,
                },
                message: e.to_string(),
            })
        })
        .await
    }

    /// Forgets a logged batch that was applied.
    pub async fn remove_batch(&self, id: BatchId) -> Result<(), ReplicaError> {
        let store = self.batchlog()?;
        blocking(move || {
            store.remove(id).map(drop).map_err(|e| ReplicaError {
                kind: ReplicaErrorKind::Storage,
                message: format!("removing batch {id}: {e}"),
            })
        })
        .await
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
                    Ok(req) => {
                        this.observe(&req.mutation);
                        this.apply(req.mutation).await
                    }
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
        if verb == verbs::BATCH_STORE {
            return Some(Box::pin(async move {
                let result = match BatchStoreRequest::decode(&payload) {
                    Ok(req) => this.store_batch(req.id, payload).await,
                    Err(e) => Err(malformed(e)),
                };
                encode_mutation_response(&result)
            }));
        }
        if verb == verbs::BATCH_REMOVE {
            return Some(Box::pin(async move {
                let result = match BatchRemoveRequest::decode(&payload) {
                    Ok(req) => this.remove_batch(req.id).await,
                    Err(e) => Err(malformed(e)),
                };
                encode_mutation_response(&result)
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

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ReplicaError> + Send + 'static,
) -> Result<T, ReplicaError> {
    crate::blocking::run(work).await.unwrap_or_else(|e| {
        Err(ReplicaError {
            kind: ReplicaErrorKind::Storage,
            message: format!("storage task failed: {e}"),
        })
    })
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
    #[cfg(feature = "fault-injection")]
    purge_at_once(&mut partition, read.now);
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

/// The canary's purge: a replica's answer loses every tombstone deleted
/// before `now`, as if gc grace were 0, so a deletion one replica missed is
/// undone by reconciliation and read repair.
#[cfg(feature = "fault-injection")]
fn purge_at_once(m: &mut Mutation, now: i64) {
    use storage::canary::{Canary, active};
    if !active(Canary::PurgeTombstonesAtOnce) {
        return;
    }
    let purger = storage::reconcile::Purger {
        now,
        gc_before: now,
        max_purgeable: storage::Timestamp(i64::MAX),
    };
    m.partition_deletion = m
        .partition_deletion
        .filter(|d| !purger.purgeable_deletion(d));
    m.range_tombstones
        .retain(|rt| !purger.purgeable_deletion(&rt.deletion));
    if let Some(s) = &mut m.static_row {
        purger.purge_row_in_place(s);
        if s.is_empty() {
            m.static_row = None;
        }
    }
    m.rows.retain_mut(|r| {
        purger.purge_row_in_place(r);
        !r.is_empty()
    });
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
        #[cfg(feature = "fault-injection")]
        purge_at_once(last, self.now);
    }

    /// Takes one scan item; false when the limit was reached at a partition
    /// boundary (the new partition is left for the next page).
    fn take(&mut self, item: ScanItem, limit: u64) -> bool {
        match item {
            ScanItem::Partition {
                key,
                deletion,
                static_row,
                range_tombstones,
            } => {
                self.finish_partition();
                if self.live >= limit {
                    return false;
                }
                let mut m = Mutation::new(self.table, key);
                m.partition_deletion = deletion;
                m.static_row = static_row;
                m.range_tombstones = range_tombstones;
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
