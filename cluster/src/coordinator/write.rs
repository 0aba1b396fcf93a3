//! The write path: every live replica gets the mutation, the level decides
//! how many acknowledgements to wait for, down replicas get hints.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use storage::Mutation;
use tokio::time::Instant;

use super::acks::AckTracker;
use super::send::SendError;
use super::wire::encode_mutation_request;
use super::{ClusterCoordinator, CoordinatorError, WriteType};
use crate::consistency::{ConsistencyLevel, check_available, live_per_dc};
use crate::net::BoxFuture;
use crate::replica::Replica;
use crate::replication::{ReplicationInfo, ReplicationStrategy};
use crate::ring::{HostId, Ring};

/// One mutation's replicas: host, data center, alive.
struct WritePlan {
    mutation: Mutation,
    replicas: Vec<(HostId, String, bool)>,
}

/// What settled for one plan (by index).
type Answer = (usize, Settled);

/// A replica's answer, or a durable hint's.
enum Settled {
    /// The replica's data center and its result.
    Replica(String, Result<(), SendError>),
    /// The hint for a down replica, at ANY: whether it is durable.
    Hint(HostId, bool),
}

/// The replica requests of one write call, polled together on the caller's
/// task: no task per replica. Dropping it (the level was met, or the caller
/// went away) hands the requests still in flight to one background task, so
/// their answers still arrive and late failures still leave hints.
struct InFlight(FuturesUnordered<BoxFuture<'static, Answer>>);

impl InFlight {
    async fn next(&mut self) -> Option<Answer> {
        self.0.next().await
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let mut rest = std::mem::take(&mut self.0);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { while rest.next().await.is_some() {} });
        }
    }
}

impl ClusterCoordinator {
    /// Writes `mutations` (each atomic within its partition) at `cl`.
    ///
    /// Every mutation's availability is checked before any replica is
    /// contacted; then each goes to all its live replicas, and the call
    /// completes when each has the acknowledgements `cl` asks for.
    pub async fn write(
        &self,
        mutations: Vec<Mutation>,
        cl: ConsistencyLevel,
        write_type: WriteType,
        strategy: &dyn ReplicationStrategy,
    ) -> Result<(), CoordinatorError> {
        if cl.is_serial() {
            return Err(CoordinatorError::Invalid(format!(
                "{cl} is not supported for writes"
            )));
        }
        let ring = self.topology.ring();
        let info = strategy.replication_info();
        let plans = mutations
            .into_iter()
            .map(|m| self.plan_write(&ring, strategy, &info, cl, m))
            .collect::<Result<Vec<_>, _>>()?;
        let deadline = Instant::now() + self.config.write_timeout;
        let result = if let Some(replica) = self.local_only(&plans) {
            let mutations = plans.into_iter().map(|p| p.mutation).collect();
            write_locally(&replica, mutations, cl, write_type, deadline).await
        } else {
            let mut sends = InFlight(FuturesUnordered::new());
            let trackers: Vec<AckTracker> = plans
                .into_iter()
                .enumerate()
                .map(|(i, p)| self.start_write(i, p, cl, &info, &mut sends))
                .collect();
            await_writes(sends, trackers, cl, write_type, deadline).await
        };
        #[cfg(feature = "fault-injection")]
        let result = timeout_as_unavailable(result);
        result
    }

    /// The local replica when it is the only replica of every mutation (one
    /// node, or RF 1 on keys it owns): then the whole write is one local batch,
    /// with no task, channel or encoding per mutation.
    fn local_only(&self, plans: &[WritePlan]) -> Option<Arc<Replica>> {
        let local = self.sender.local_host;
        let all_local = plans
            .iter()
            .all(|p| matches!(p.replicas.as_slice(), [(h, _, true)] if *h == local));
        all_local.then(|| self.sender.local_for(local)).flatten()
    }

    /// Fails with Unavailable, contacting nobody, when some mutation has too
    /// few live replicas for `cl`. A logged batch asks this before its
    /// batchlog write: once the batch is logged it will be applied, so an
    /// Unavailable after that would be a lie.
    pub fn check_writable(
        &self,
        mutations: &[Mutation],
        cl: ConsistencyLevel,
        strategy: &dyn ReplicationStrategy,
    ) -> Result<(), CoordinatorError> {
        let ring = self.topology.ring();
        let info = strategy.replication_info();
        for m in mutations {
            self.available_replicas(&ring, strategy, &info, cl, m)?;
        }
        Ok(())
    }

    /// The replicas of `mutation`, if enough are alive for `cl`.
    fn available_replicas(
        &self,
        ring: &Ring,
        strategy: &dyn ReplicationStrategy,
        info: &ReplicationInfo,
        cl: ConsistencyLevel,
        mutation: &Mutation,
    ) -> Result<Vec<HostId>, CoordinatorError> {
        let hosts = strategy.replicas(ring, mutation.key.token);
        let live = live_per_dc(ring, &hosts, |h| self.topology.is_alive(h));
        check_available(cl, info, &self.config.local_dc, &live)?;
        Ok(hosts)
    }

    fn plan_write(
        &self,
        ring: &Ring,
        strategy: &dyn ReplicationStrategy,
        info: &ReplicationInfo,
        cl: ConsistencyLevel,
        mutation: Mutation,
    ) -> Result<WritePlan, CoordinatorError> {
        let hosts = self.available_replicas(ring, strategy, info, cl, &mutation)?;
        let is_alive = |h| self.topology.is_alive(h);
        let replicas = hosts
            .into_iter()
            .filter_map(|h| {
                let dc = ring.endpoint(h)?.datacenter.clone();
                Some((h, dc, is_alive(h)))
            })
            .collect();
        Ok(WritePlan { mutation, replicas })
    }

    /// Sends plan `index`'s mutation to every live replica (adding the
    /// requests to `sends`) and hints the down ones; the tracker counts the
    /// answers it needs.
    fn start_write(
        &self,
        index: usize,
        plan: WritePlan,
        cl: ConsistencyLevel,
        info: &ReplicationInfo,
        sends: &mut InFlight,
    ) -> AckTracker {
        let mut tracker = AckTracker::new(cl, info, &self.config.local_dc);
        let encoded = encode_mutation_request(&plan.mutation);
        let mutation = Arc::new(plan.mutation);
        for (host, dc, alive) in plan.replicas {
            if !alive {
                self.hint_down(index, host, &mutation, &mut tracker, sends);
                continue;
            }
            tracker.expect(&dc);
            let send = self
                .sender
                .mutation(host, &mutation, &encoded, self.config.write_timeout);
            // Cassandra hints a replica that does not answer in time too.
            let hint = self
                .may_hint(host)
                .then(|| (Arc::clone(&self.hints), Arc::clone(&mutation)));
            sends.0.push(Box::pin(async move {
                let result = send.await;
                if let (Err(SendError::Timeout | SendError::Unreachable(_)), Some((hints, m))) =
                    (&result, hint)
                {
                    let stored = hints.store(host, &m);
                    // The canary takes the hint for the replica's answer.
                    #[cfg(feature = "fault-injection")]
                    if stored && crate::canary::active(crate::canary::Canary::HintsCountTowardCl) {
                        return (index, Settled::Replica(dc, Ok(())));
                    }
                    #[cfg(not(feature = "fault-injection"))]
                    let _ = stored;
                }
                (index, Settled::Replica(dc, result))
            }));
        }
        tracker
    }

    /// Hints a replica that is down, when allowed. At ANY the hint counts as
    /// an acknowledgement, but only once it is durable: the tracker waits
    /// for the sink's answer like a replica's. Other levels do not count
    /// hints, so theirs are left to the sink without waiting.
    fn hint_down(
        &self,
        index: usize,
        host: HostId,
        mutation: &Mutation,
        tracker: &mut AckTracker,
        sends: &mut InFlight,
    ) {
        if !self.may_hint(host) {
            return;
        }
        if !super::acks::hints_count(tracker.consistency()) {
            self.hints.store(host, mutation);
            return;
        }
        tracker.expect_hint();
        let durable = self.hints.store_durably(host, mutation);
        sends.0.push(Box::pin(async move {
            (index, Settled::Hint(host, durable.await))
        }));
    }
}

/// Applies a write whose only replica is this node's.
async fn write_locally(
    replica: &Replica,
    mutations: Vec<Mutation>,
    cl: ConsistencyLevel,
    write_type: WriteType,
    deadline: Instant,
) -> Result<(), CoordinatorError> {
    match tokio::time::timeout_at(deadline, replica.apply_all(mutations)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CoordinatorError::WriteFailure {
            cl,
            received: 0,
            block_for: 1,
            failures: 1,
            write_type,
            message: e.message,
        }),
        Err(_) => Err(CoordinatorError::WriteTimeout {
            cl,
            received: 0,
            block_for: 1,
            write_type,
        }),
    }
}

/// Waits until every plan's level is met, one cannot be met, or the
/// deadline passes.
async fn await_writes(
    mut sends: InFlight,
    mut trackers: Vec<AckTracker>,
    cl: ConsistencyLevel,
    write_type: WriteType,
    deadline: Instant,
) -> Result<(), CoordinatorError> {
    let mut last_failure: Option<String> = None;
    loop {
        if let Some(t) = trackers.iter().find(|t| t.hopeless()) {
            // Replicas that merely did not answer make it a timeout; only
            // replicas that refused the write make it a failure.
            return Err(match last_failure {
                Some(message) => CoordinatorError::WriteFailure {
                    cl,
                    received: t.received(),
                    block_for: t.block_for(),
                    failures: t.failures(),
                    write_type,
                    message,
                },
                None => timeout(t, cl, write_type),
            });
        }
        let Some(waiting) = trackers.iter().find(|t| !t.satisfied()) else {
            return Ok(());
        };
        let (index, settled) = match tokio::time::timeout_at(deadline, sends.next()).await {
            Err(_) | Ok(None) => return Err(timeout(waiting, cl, write_type)),
            Ok(Some(answer)) => answer,
        };
        let tracker = &mut trackers[index];
        match settled {
            Settled::Replica(dc, Ok(())) => tracker.ack(&dc),
            Settled::Replica(dc, Err(e)) => {
                if matches!(e, SendError::Replica(_) | SendError::Malformed(_)) {
                    last_failure = Some(e.message());
                }
                tracker.fail(&dc);
            }
            Settled::Hint(_, true) => tracker.hint_stored(),
            Settled::Hint(host, false) => {
                // Not stored or not durable: the write is not held anywhere.
                last_failure = Some(format!("the hint for {host} could not be stored"));
                tracker.hint_failed();
            }
        }
    }
}

fn timeout(t: &AckTracker, cl: ConsistencyLevel, write_type: WriteType) -> CoordinatorError {
    CoordinatorError::WriteTimeout {
        cl,
        received: t.received(),
        block_for: t.block_for(),
        write_type,
    }
}

/// The canary's lie: a write that timed out (and may have been applied) is
/// reported as Unavailable, which promises it was not.
#[cfg(feature = "fault-injection")]
fn timeout_as_unavailable(result: Result<(), CoordinatorError>) -> Result<(), CoordinatorError> {
    match result {
        Err(CoordinatorError::WriteTimeout {
            cl,
            received,
            block_for,
            ..
        }) if crate::canary::active(crate::canary::Canary::TimeoutAsFail) => Err(
            CoordinatorError::Unavailable(crate::consistency::Unavailable {
                cl,
                required: block_for,
                alive: received,
                dc: None,
            }),
        ),
        other => other,
    }
}
