//! Hint replay: once a host with hints is alive again (polling the
//! [`Topology`]), its hints go to it in order with the MUTATION verb through
//! the coordinator's [`Peers`] seam, throttled to a KiB/s cap (Cassandra's
//! `hinted_handoff_throttle`, 1024 KiB/s by default). A file is deleted once
//! every hint in it was acknowledged or given up on; on any transient failure
//! (timeout, down, overloaded) the host is left for the next tick, and its
//! files are sent again from the start (mutations are idempotent, so a hint
//! delivered twice does no harm). A hint the replica answers can never be
//! applied (its table does not exist there, as after a DROP TABLE) is
//! skipped and counted as undeliverable, as Cassandra drops hints of unknown
//! tables: retrying it would block every later hint for that host until the
//! hint window expired.

use std::sync::Arc;
use std::time::Duration;

use super::store::{HintFile, HintReader, HintStore};
use crate::coordinator::wire::{
    ReplicaErrorKind, decode_mutation_response, encode_mutation_request,
};
use crate::coordinator::{Peers, Topology, verbs};
use crate::ring::HostId;

/// The replay task's settings.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// This node: never a replay target.
    pub local_host: HostId,
    /// At most this many KiB of hints per second: 1024.
    pub throttle_kib_per_sec: u64,
    /// How often hosts are checked: 1 s.
    pub poll_interval: Duration,
    /// How long one hint may wait for its acknowledgement: 2 s.
    pub request_timeout: Duration,
}

impl ReplayConfig {
    /// Cassandra's defaults for the node `local_host`.
    pub fn new(local_host: HostId) -> Self {
        ReplayConfig {
            local_host,
            throttle_kib_per_sec: 1024,
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// Why a host's replay stopped; its remaining files are tried again later.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The host did not acknowledge a hint.
    #[error("hint not delivered: {0}")]
    Delivery(String),
    /// A hint file could not be read or deleted.
    #[error("hint file: {0}")]
    Io(String),
}

/// Sends stored hints to hosts that are back.
#[derive(Debug, Clone)]
pub struct HintReplayer {
    store: Arc<HintStore>,
    peers: Arc<dyn Peers>,
    topology: Arc<dyn Topology>,
    config: ReplayConfig,
}

impl HintReplayer {
    /// A replayer of `store`'s hints through `peers`.
    pub fn new(
        store: Arc<HintStore>,
        peers: Arc<dyn Peers>,
        topology: Arc<dyn Topology>,
        config: ReplayConfig,
    ) -> Self {
        HintReplayer {
            store,
            peers,
            topology,
            config,
        }
    }

    /// Runs forever: every `poll_interval`, replays the hints of every live
    /// host. Abort the task to stop it.
    pub async fn run(self) {
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.tick().await;
        }
    }

    /// One round: replay every live host with hints. (The store's writer
    /// thread flushes on its own.)
    pub async fn tick(&self) {
        for host in self.store.hosts() {
            if host == self.config.local_host || !self.topology.is_alive(host) {
                continue;
            }
            match self.replay_host(host).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(%host, hints = n, "hints replayed"),
                Err(e) => tracing::info!(%host, error = %e, "hint replay stopped; will retry"),
            }
        }
    }

    /// Sends every hint stored for `host`, oldest first, deleting each file
    /// once all its hints were acknowledged or skipped as undeliverable; the
    /// hints delivered.
    pub async fn replay_host(&self, host: HostId) -> Result<u64, ReplayError> {
        let store = Arc::clone(&self.store);
        let files = blocking(move || store.seal(host)).await?;
        let mut delivered = 0;
        for file in files {
            delivered += self.replay_file(host, &file).await?;
            let (store, file) = (Arc::clone(&self.store), file.clone());
            blocking(move || store.delete(host, &file)).await?;
        }
        Ok(delivered)
    }

    async fn replay_file(&self, host: HostId, file: &HintFile) -> Result<u64, ReplayError> {
        let (store, sealed) = (Arc::clone(&self.store), file.clone());
        let reader =
            match blocking(move || store.reader(&sealed).map(Some).or_else(missing)).await? {
                Some(r) => r,
                None => return Ok(0),
            };
        let mut delivered = 0;
        for hint in reader {
            let hint = match hint {
                Ok(h) => h,
                Err(e) => {
                    // What follows a torn or corrupt record cannot be
                    // framed: the file ends here.
                    tracing::warn!(error = %e, "hint file damaged; rest skipped");
                    break;
                }
            };
            if self.store.expired(hint.created_ms, hint.mutation.table) {
                // Past the hint window or its table's gc grace: replaying it
                // now could resurrect data whose tombstone was purged.
                self.store.count_expired(1);
                continue;
            }
            let payload = encode_mutation_request(&hint.mutation);
            let size = payload.len() as u64;
            match self.send(host, payload).await? {
                Sent::Applied => {
                    self.store.count_replayed(1);
                    delivered += 1;
                }
                Sent::Undeliverable(reason) => {
                    tracing::warn!(%host, table = %hint.mutation.table, %reason,
                        "hint can never be applied; skipped");
                    self.store.count_undeliverable(1);
                }
            }
            self.throttle(size).await;
        }
        Ok(delivered)
    }

    /// Sends one hint: `Err` when it may yet be delivered later (the host
    /// is then retried from the start of its files), `Ok` when it is done
    /// with, applied or not.
    async fn send(&self, host: HostId, payload: Vec<u8>) -> Result<Sent, ReplayError> {
        let timeout = self.config.request_timeout;
        let answer = self
            .peers
            .send_request(host, verbs::MUTATION, payload, timeout)
            .await
            .map_err(|e| ReplayError::Delivery(e.to_string()))?;
        match decode_mutation_response(&answer) {
            Ok(Ok(())) => Ok(Sent::Applied),
            Ok(Err(e)) if e.kind == ReplicaErrorKind::UnknownTable => {
                Ok(Sent::Undeliverable(e.message))
            }
            Ok(Err(e)) => Err(ReplayError::Delivery(e.to_string())),
            Err(e) => Err(ReplayError::Delivery(e.to_string())),
        }
    }

    /// Sleeps as long as `bytes` take at the throttle's rate.
    async fn throttle(&self, bytes: u64) {
        let rate = self.config.throttle_kib_per_sec.saturating_mul(1024);
        if rate == 0 {
            return;
        }
        let secs = bytes as f64 / rate as f64;
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }
}

/// What became of one hint sent.
enum Sent {
    /// The replica applied it.
    Applied,
    /// The replica can never apply it; why.
    Undeliverable(String),
}

/// A file replay was about to read is gone (deleted by an earlier round).
fn missing(e: std::io::Error) -> std::io::Result<Option<HintReader>> {
    match e.kind() {
        std::io::ErrorKind::NotFound => Ok(None),
        _ => Err(e),
    }
}

/// Runs file I/O (fsync, reading up to a file, deleting) off the async
/// workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, ReplayError> {
    crate::blocking::run(work)
        .await
        .map_err(|e| ReplayError::Io(e.to_string()))?
        .map_err(|e| ReplayError::Io(e.to_string()))
}
