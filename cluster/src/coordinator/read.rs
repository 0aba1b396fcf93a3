//! The read path: data from the closest replica, digests from as many
//! others as the level needs; on a mismatch, full data from all of them,
//! reconciled, with the stale replicas repaired before the answer goes out.

use std::collections::BTreeMap;

use storage::PartitionRead;
use storage::{Mutation, TableId};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::merge::{cut_rows_after, digest, live_view, merge_all};
use super::send::{SendError, remaining};
use super::wire::{ReadReply, ReadRequest, ReadResponse, encode_mutation_request};
use super::{ClusterCoordinator, CoordinatorError, ReadLimits, ReadOutcome};
use crate::consistency::{ConsistencyLevel, check_available, each_quorum, live_per_dc};
use crate::net::BoxFuture;
use crate::replication::{ReplicationInfo, ReplicationStrategy};
use crate::ring::{HostId, Ring};

/// What one read round is held to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoundCtx {
    pub(crate) cl: ConsistencyLevel,
    pub(crate) block_for: usize,
    pub(crate) deadline: Instant,
}

/// Refuses the levels reads do not have.
pub(crate) fn check_read_level(cl: ConsistencyLevel) -> Result<(), CoordinatorError> {
    if cl == ConsistencyLevel::Any || cl.is_serial() {
        return Err(CoordinatorError::Invalid(format!(
            "{cl} is not supported for reads"
        )));
    }
    Ok(())
}

/// Runs requests concurrently until all answered or the deadline passed;
/// an entry stays `None` when its request had not answered by then.
pub(crate) async fn gather<T: Send + 'static>(
    requests: Vec<BoxFuture<'static, Result<T, SendError>>>,
    deadline: Instant,
) -> Vec<Option<Result<T, SendError>>> {
    if requests.len() == 1 {
        // One replica (CL ONE, RF 1): no task to spawn, just wait for it.
        let mut requests = requests;
        let request = requests.pop();
        let answer = match request {
            Some(r) => tokio::time::timeout_at(deadline, r).await.ok(),
            None => None,
        };
        return vec![answer];
    }
    let mut out: Vec<Option<Result<T, SendError>>> = requests.iter().map(|_| None).collect();
    let mut set = JoinSet::new();
    for (i, request) in requests.into_iter().enumerate() {
        set.spawn(async move { (i, request.await) });
    }
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, set.join_next()).await {
        if let Ok((i, result)) = joined
            && let Some(slot) = out.get_mut(i)
        {
            *slot = Some(result);
        }
    }
    out
}

/// Every answer of a round, or the error the round ends with: a failure when
/// a replica refused, a timeout when one did not answer.
pub(crate) fn all_answers<T>(
    results: Vec<Option<Result<T, SendError>>>,
    ctx: RoundCtx,
    data_present: impl Fn(&[Option<T>]) -> bool,
) -> Result<Vec<T>, CoordinatorError> {
    let mut answers = Vec::with_capacity(results.len());
    let mut failure = None;
    let mut failures = 0;
    for result in results {
        match result {
            Some(Ok(answer)) => answers.push(Some(answer)),
            Some(Err(e @ (SendError::Replica(_) | SendError::Malformed(_)))) => {
                failures += 1;
                failure = Some(e.message());
                answers.push(None);
            }
            _ => answers.push(None),
        }
    }
    let received = answers.iter().flatten().count();
    let present = data_present(&answers);
    if let Some(message) = failure {
        return Err(CoordinatorError::ReadFailure {
            cl: ctx.cl,
            received,
            block_for: ctx.block_for,
            failures,
            data_present: present,
            message,
        });
    }
    if received < answers.len() {
        return Err(CoordinatorError::ReadTimeout {
            cl: ctx.cl,
            received,
            block_for: ctx.block_for,
            data_present: present,
        });
    }
    Ok(answers.into_iter().flatten().collect())
}

impl ClusterCoordinator {
    /// The replicas a read at `cl` asks, closest first, after checking that
    /// enough are alive.
    pub(crate) fn read_targets(
        &self,
        ring: &Ring,
        replicas: &[HostId],
        info: &ReplicationInfo,
        cl: ConsistencyLevel,
    ) -> Result<Vec<HostId>, CoordinatorError> {
        let is_alive = |h| self.topology.is_alive(h);
        let local_dc = self.config.local_dc.as_str();
        check_available(cl, info, local_dc, &live_per_dc(ring, replicas, is_alive))?;
        let mut alive: Vec<(HostId, &str)> = replicas
            .iter()
            .filter(|&&h| is_alive(h))
            .filter_map(|&h| Some((h, ring.endpoint(h)?.datacenter.as_str())))
            .collect();
        // This node first, then its DC, otherwise in placement order.
        alive.sort_by_key(|&(h, dc)| (h != self.config.local_host, dc != local_dc));
        if cl == ConsistencyLevel::EachQuorum && matches!(info, ReplicationInfo::PerDc(_)) {
            let need = each_quorum(info);
            let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
            return Ok(alive
                .into_iter()
                .filter(|&(_, dc)| {
                    let n = taken.entry(dc).or_insert(0);
                    *n += 1;
                    *n <= need.get(dc).copied().unwrap_or(0)
                })
                .map(|(h, _)| h)
                .collect());
        }
        #[cfg(feature = "fault-injection")]
        let block_for = if crate::canary::active(crate::canary::Canary::ReadOneReplicaAtQuorum) {
            1
        } else {
            crate::consistency::block_for(cl, info, local_dc)
        };
        #[cfg(not(feature = "fault-injection"))]
        let block_for = crate::consistency::block_for(cl, info, local_dc);
        Ok(alive
            .into_iter()
            .filter(|&(_, dc)| !cl.is_dc_local() || dc == local_dc)
            .take(block_for)
            .map(|(h, _)| h)
            .collect())
    }

    /// Reads one partition of `table` at `cl`.
    pub async fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        cl: ConsistencyLevel,
        strategy: &dyn ReplicationStrategy,
    ) -> Result<ReadOutcome, CoordinatorError> {
        check_read_level(cl)?;
        let ring = self.topology.ring();
        let info = strategy.replication_info();
        let replicas = strategy.replicas(&ring, read.key.token);
        let targets = self.read_targets(&ring, &replicas, &info, cl)?;
        let ctx = RoundCtx {
            cl,
            block_for: targets.len(),
            deadline: Instant::now() + self.config.read_timeout,
        };
        let limit = read.row_limit.unwrap_or(usize::MAX).min(limits.max_rows);
        let (now, reversed) = (read.now, read.reversed);
        let request = ReadRequest {
            table,
            read: PartitionRead {
                row_limit: Some(limit),
                include_tombstones: true,
                ..read
            },
            digest: false,
            max_tombstones: limits.max_tombstones as u64,
        };
        let answers = self.digest_round(&targets, &request, ctx).await?;
        let tombstones = answers.iter().map(|a| a.tombstones_scanned).max();
        let (partition, hit_limit) = match digests_agree(answers) {
            Some((data, hit)) => (data, hit),
            None => self.repair_round(&targets, request, ctx).await?,
        };
        let (data, cut) = live_view(partition, now, reversed, limit);
        Ok(ReadOutcome {
            partitions: data.into_iter().collect(),
            stopped_at_limit: hit_limit || cut,
            tombstones_scanned: tombstones.unwrap_or(0) as usize,
        })
    }

    /// Data from the first target, digests from the rest.
    async fn digest_round(
        &self,
        targets: &[HostId],
        request: &ReadRequest,
        ctx: RoundCtx,
    ) -> Result<Vec<ReadResponse>, CoordinatorError> {
        let digest_request = ReadRequest {
            digest: true,
            ..request.clone()
        };
        let requests = targets
            .iter()
            .enumerate()
            .map(|(i, &host)| {
                let req = if i == 0 { request } else { &digest_request };
                self.sender.read(host, req, remaining(ctx.deadline))
            })
            .collect();
        let results = gather(requests, ctx.deadline).await;
        all_answers(results, ctx, |answers| {
            answers.first().is_some_and(Option::is_some)
        })
    }

    /// Full data from every target, merged; stale targets are repaired and
    /// their acknowledgements awaited. Returns the merged partition and
    /// whether a replica's row limit may have hidden later rows.
    async fn repair_round(
        &self,
        targets: &[HostId],
        request: ReadRequest,
        ctx: RoundCtx,
    ) -> Result<(Mutation, bool), CoordinatorError> {
        let requests = targets
            .iter()
            .map(|&host| self.sender.read(host, &request, remaining(ctx.deadline)))
            .collect();
        let answers = all_answers(gather(requests, ctx.deadline).await, ctx, |a| {
            a.iter().any(Option::is_some)
        })?;
        let reversed = request.read.reversed;
        let mut versions: Vec<Mutation> = Vec::with_capacity(answers.len());
        let mut limit_cut: Option<storage::ClusteringKey> = None;
        for answer in answers {
            let ReadReply::Data(m) = answer.reply else {
                continue;
            };
            // Past the last row a limited replica returned, its data is
            // unknown: everyone is cut there (the client pages on).
            let last = if reversed {
                m.rows.first()
            } else {
                m.rows.last()
            };
            if let (true, Some(last)) = (answer.hit_limit, last) {
                let last = last.clustering.clone();
                limit_cut = Some(match limit_cut {
                    Some(c) if (c < last) != reversed => c,
                    _ => last,
                });
            }
            versions.push(*m);
        }
        if let Some(cut) = &limit_cut {
            versions
                .iter_mut()
                .for_each(|m| cut_rows_after(m, cut, reversed));
        }
        let empty = Mutation::new(request.table, request.read.key.clone());
        let merged = merge_all(versions.iter().cloned()).unwrap_or(empty);
        let stale: Vec<HostId> = targets
            .iter()
            .zip(&versions)
            .filter(|(_, v)| digest(v) != digest(&merged))
            .map(|(&h, _)| h)
            .collect();
        self.repair(&stale, &merged, ctx).await?;
        Ok((merged, limit_cut.is_some()))
    }

    /// Sends `merged` to each stale replica and waits for every ack.
    pub(crate) async fn repair(
        &self,
        stale: &[HostId],
        merged: &Mutation,
        ctx: RoundCtx,
    ) -> Result<(), CoordinatorError> {
        if stale.is_empty() {
            return Ok(());
        }
        self.read_repairs
            .fetch_add(stale.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let encoded = encode_mutation_request(merged);
        let requests = stale
            .iter()
            .map(|&h| {
                self.sender
                    .mutation(h, merged, &encoded, remaining(ctx.deadline))
            })
            .collect();
        // The canary sends the repairs but answers without their acks.
        #[cfg(feature = "fault-injection")]
        if crate::canary::active(crate::canary::Canary::NoReadRepairWait) {
            tokio::spawn(gather(requests, ctx.deadline));
            return Ok(());
        }
        let results = gather(requests, ctx.deadline).await;
        let failed = results
            .iter()
            .filter(|r| !matches!(r, Some(Ok(()))))
            .count();
        if failed > 0 {
            return Err(CoordinatorError::ReadTimeout {
                cl: ctx.cl,
                received: ctx.block_for.saturating_sub(failed),
                block_for: ctx.block_for,
                data_present: true,
            });
        }
        Ok(())
    }
}

/// The data answer when every digest matches it, with its limit flag.
fn digests_agree(answers: Vec<ReadResponse>) -> Option<(Mutation, bool)> {
    let mut answers = answers.into_iter();
    let first = answers.next()?;
    let ReadReply::Data(data) = first.reply else {
        return None;
    };
    let expected = digest(&data);
    let agree = answers.all(|a| matches!(a.reply, ReadReply::Digest(d) if d == expected));
    agree.then_some((*data, first.hit_limit))
}
