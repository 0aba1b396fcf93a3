//! The coordinator's half of the batchlog (see [`crate::batchlog`]): store a
//! logged batch on its batchlog nodes before applying it, forget it after.

use storage::Mutation;
use tokio::task::JoinSet;

use super::send::SendError;
use super::{ClusterCoordinator, CoordinatorError, WriteType};
use crate::batchlog::{BatchId, batchlog_endpoints, encode_batch_store};
use crate::consistency::{ConsistencyLevel, Unavailable};
use crate::ring::HostId;

/// A batch kept on its batchlog nodes, to be forgotten once applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedBatch {
    /// The batch.
    pub id: BatchId,
    /// The nodes keeping it.
    pub hosts: Vec<HostId>,
}

/// Spreads batches over the candidate nodes by their ids.
fn spread(id: BatchId) -> u64 {
    let (a, b) = id.0.split_at(8);
    let word = |s: &[u8]| {
        s.iter()
            .fold(0u64, |acc, &x| acc.rotate_left(8) ^ u64::from(x))
    };
    word(a) ^ word(b).rotate_left(29)
}

impl ClusterCoordinator {
    /// Stores `mutations` as batch `id` on its batchlog nodes and waits until
    /// every one of them has it durably; only then may the batch be applied.
    ///
    /// Unavailable (as Cassandra reports it: ONE, 1 required, 0 alive) when
    /// the data center has other nodes but none is alive, unless `cl` is ANY,
    /// which settles for this node's own batchlog.
    pub async fn log_batch(
        &self,
        id: BatchId,
        mutations: &[Mutation],
        cl: ConsistencyLevel,
    ) -> Result<LoggedBatch, CoordinatorError> {
        let ring = self.topology.ring();
        let local = self.config.local_host;
        let hosts =
            match batchlog_endpoints(&ring, local, |h| self.topology.is_alive(h), spread(id)) {
                Some(hosts) => hosts,
                None if cl == ConsistencyLevel::Any || ring.endpoint(local).is_none() => {
                    vec![local]
                }
                None => {
                    return Err(CoordinatorError::Unavailable(Unavailable {
                        cl: ConsistencyLevel::One,
                        required: 1,
                        alive: 0,
                        dc: None,
                    }));
                }
            };
        let payload = encode_batch_store(id, mutations);
        let mut sends = JoinSet::new();
        for &host in &hosts {
            let timeout = self.config.write_timeout;
            sends.spawn(self.sender.store_batch(host, id, payload.clone(), timeout));
        }
        let (mut received, mut failure) = (0, None);
        while let Some(result) = sends.join_next().await {
            match result {
                Ok(Ok(())) => received += 1,
                Ok(Err(e @ (SendError::Replica(_) | SendError::Malformed(_)))) => {
                    failure = Some(e.message());
                }
                Ok(Err(_)) => {}
                Err(e) => failure = Some(format!("batchlog task failed: {e}")),
            }
        }
        let block_for = hosts.len();
        if received == block_for {
            return Ok(LoggedBatch { id, hosts });
        }
        let write_type = WriteType::BatchLog;
        Err(match failure {
            Some(message) => CoordinatorError::WriteFailure {
                cl,
                received,
                block_for,
                failures: block_for - received,
                write_type,
                message,
            },
            None => CoordinatorError::WriteTimeout {
                cl,
                received,
                block_for,
                write_type,
            },
        })
    }

    /// Tells the batch's nodes it was applied, in the background: a lost
    /// message only means one needless, harmless replay.
    pub fn forget_batch(&self, batch: LoggedBatch) {
        for host in batch.hosts {
            let send = self
                .sender
                .remove_batch(host, batch.id, self.config.write_timeout);
            tokio::spawn(async move {
                if let Err(e) = send.await {
                    tracing::debug!(%host, id = %batch.id, error = %e.message(), "batch not forgotten");
                }
            });
        }
    }
}
