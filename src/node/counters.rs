//! The cluster's counters on `/metrics`: the hint store's, the batchlog's,
//! the coordinator's read repairs and the internode drops, which live in
//! the pieces that count them, copied into [`Metrics`] every 5 s.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use cluster::BatchlogStore;
use cluster::HintStore;

use crate::coordinator::DistributedCoordinator;
use crate::metrics::Metrics;

/// Where the counters are read.
pub(super) struct Sources {
    pub(super) hints: Arc<HintStore>,
    pub(super) batchlog: Arc<BatchlogStore>,
    pub(super) coordinator: Arc<DistributedCoordinator>,
    /// Internode messages dropped so far (see `ClusterService::dropped_messages`).
    pub(super) dropped_messages: Box<dyn Fn() -> u64 + Send + Sync>,
}

/// Publishes the counters every 5 s for as long as the task runs.
pub(super) fn publish(sources: Sources, metrics: Arc<Metrics>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            copy(&sources, &metrics);
        }
    })
}

fn copy(sources: &Sources, metrics: &Metrics) {
    let c = &metrics.cluster;
    let hints = sources.hints.counters();
    // Written and neither delivered nor given up (undeliverable, expired).
    let done = hints
        .replayed
        .saturating_add(hints.undeliverable)
        .saturating_add(hints.expired);
    c.hints_pending
        .store(hints.stored.saturating_sub(done), Relaxed);
    c.hints_replayed.store(hints.replayed, Relaxed);
    c.hints_undeliverable.store(hints.undeliverable, Relaxed);
    c.hints_expired.store(hints.expired, Relaxed);
    c.hints_dropped.store(hints.dropped, Relaxed);
    c.hints_overloaded.store(hints.overloaded, Relaxed);
    let batchlog = sources.batchlog.counters();
    c.batchlog_pending.store(batchlog.pending, Relaxed);
    c.batchlog_replayed.store(batchlog.replayed, Relaxed);
    c.batchlog_undeliverable
        .store(batchlog.undeliverable, Relaxed);
    c.batchlog_expired.store(batchlog.expired, Relaxed);
    c.read_repairs
        .store(sources.coordinator.read_repairs(), Relaxed);
    c.dropped_messages
        .store((sources.dropped_messages)(), Relaxed);
}
