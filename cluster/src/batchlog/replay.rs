//! Replays the batches a node keeps whose coordinator never said they were
//! applied: every `interval`, each batch older than `min_age` is written to
//! its replicas through a [`BatchReplay`] (the node's coordinator) and
//! forgotten once that succeeded; a failed replay is retried next time.
//! Mutations that can never be applied (their table was dropped since) are
//! skipped by the target and counted here, so such a batch is forgotten
//! instead of being replayed forever. A batch at least as old as the
//! smallest gc grace of its mutations' tables is dropped and counted
//! instead of replayed, as Cassandra does: the tombstones its writes
//! missed may have been purged, and replaying it would resurrect data.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use storage::Mutation;

use super::store::{BatchlogStore, LoadError};
use super::wire::{BatchId, BatchStoreRequest};
use crate::gc_grace::{self, GcGrace};
use crate::net::BoxFuture;

/// Writes a replayed batch's mutations to their replicas.
pub trait BatchReplay: Send + Sync + fmt::Debug {
    /// Writes `mutations` to every live replica (hinting the others); `Ok`
    /// once the batch may be forgotten, with how many mutations were skipped
    /// because their table no longer exists (those are not errors).
    fn replay(&self, mutations: Vec<Mutation>) -> BoxFuture<'_, Result<usize, String>>;
}

/// When batches are replayed.
#[derive(Clone, Debug)]
pub struct BatchlogReplayConfig {
    /// How often the store is checked: 10 s, as in Cassandra.
    pub interval: Duration,
    /// How old a batch must be before it is replayed: twice the write
    /// timeout, so that a live coordinator always finishes first.
    pub min_age: Duration,
    /// Each table's gc grace period: a batch at least as old as the smallest
    /// of its mutations' tables is dropped, not replayed (its writes could
    /// resurrect data whose tombstones were purged). The node passes its
    /// engine's.
    pub gc_grace: GcGrace,
}

impl BatchlogReplayConfig {
    /// Cassandra's schedule for a node whose write timeout is
    /// `write_timeout`; no table's gc grace known.
    pub fn new(write_timeout: Duration) -> Self {
        BatchlogReplayConfig {
            interval: Duration::from_secs(10),
            min_age: write_timeout * 2,
            gc_grace: GcGrace::unknown(),
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayPass {
    /// Batches written and forgotten.
    pub replayed: usize,
    /// Batches whose write failed (kept for the next pass).
    pub failed: usize,
    /// Batches whose file was damaged (set aside).
    pub corrupt: usize,
    /// Mutations of replayed batches skipped: their table no longer exists.
    pub undeliverable: usize,
    /// Batches dropped unreplayed: older than their tables' gc grace.
    pub expired: usize,
}

/// The replay loop of one node.
#[derive(Debug)]
pub struct BatchlogReplayer {
    store: Arc<BatchlogStore>,
    target: Arc<dyn BatchReplay>,
    config: BatchlogReplayConfig,
}

impl BatchlogReplayer {
    /// A replayer of `store`'s batches through `target`.
    pub fn new(
        store: Arc<BatchlogStore>,
        target: Arc<dyn BatchReplay>,
        config: BatchlogReplayConfig,
    ) -> Self {
        BatchlogReplayer {
            store,
            target,
            config,
        }
    }

    /// Replays due batches every interval, for as long as the task runs.
    pub async fn run(self) {
        let mut every = tokio::time::interval(self.config.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let pass = self.replay_due().await;
            if pass != ReplayPass::default() {
                tracing::info!(?pass, "batchlog replay");
            }
        }
    }

    /// One pass over the batches due now.
    pub async fn replay_due(&self) -> ReplayPass {
        let mut pass = ReplayPass::default();
        for id in self.store.due(self.config.min_age) {
            match self.load(id).await {
                Ok(None) => {}
                Ok(Some(batch)) if self.past_gc_grace(&batch) => {
                    self.drop_expired(id).await;
                    pass.expired += 1;
                }
                Ok(Some(batch)) => match self.replay_one(batch).await {
                    Some(skipped) => {
                        pass.replayed += 1;
                        pass.undeliverable += skipped;
                    }
                    None => pass.failed += 1,
                },
                Err(LoadError::Corrupt { id, reason }) => {
                    tracing::error!(%id, %reason, "batchlog entry set aside");
                    pass.corrupt += 1;
                }
                Err(e) => {
                    tracing::warn!(%id, error = %e, "could not read a batchlog entry");
                    pass.failed += 1;
                }
            }
        }
        pass
    }

    /// Whether `batch` is at least as old as the smallest gc grace of its
    /// mutations' tables (Cassandra's rule; tables not known here do not
    /// count).
    fn past_gc_grace(&self, batch: &BatchStoreRequest) -> bool {
        let tables = batch.mutations.iter().map(|m| m.table);
        let Some(grace) = self.config.gc_grace.smallest(tables) else {
            return false;
        };
        self.store
            .age_ms(batch.id)
            .is_some_and(|age| gc_grace::past(age, grace))
    }

    /// Forgets a batch too old to replay, and counts it.
    async fn drop_expired(&self, id: BatchId) {
        tracing::warn!(%id, "batch older than its tables' gc grace dropped unreplayed");
        self.store.count_expired();
        let store = Arc::clone(&self.store);
        let removed = crate::blocking::run(move || store.remove(id)).await;
        if !matches!(removed, Ok(Ok(_))) {
            // Still held: the next pass finds it expired again.
            tracing::warn!(%id, "could not forget an expired batch");
        }
    }

    async fn load(&self, id: BatchId) -> Result<Option<BatchStoreRequest>, LoadError> {
        let store = Arc::clone(&self.store);
        crate::blocking::run(move || store.load(id))
            .await
            .unwrap_or_else(|e| Err(LoadError::Io(std::io::Error::other(e))))
    }

    /// Writes one batch; once written and forgotten, how many of its
    /// mutations were skipped as undeliverable.
    async fn replay_one(&self, batch: BatchStoreRequest) -> Option<usize> {
        let id = batch.id;
        let skipped = match self.target.replay(batch.mutations).await {
            Ok(skipped) => skipped,
            Err(e) => {
                tracing::warn!(%id, error = %e, "batch replay failed; retrying later");
                return None;
            }
        };
        if skipped > 0 {
            tracing::warn!(%id, skipped, "batch replayed without the mutations of dropped tables");
            self.store.count_undeliverable(skipped as u64);
        }
        let store = Arc::clone(&self.store);
        let removed = crate::blocking::run(move || store.remove(id)).await;
        if !matches!(removed, Ok(Ok(_))) {
            // Replayed but still held: the next pass replays it again,
            // which is harmless.
            tracing::warn!(%id, "could not forget a replayed batch");
        }
        self.store.count_replayed();
        Some(skipped)
    }
}
