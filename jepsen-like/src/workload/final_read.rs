//! The final phase's reads: every key of every workload at CL ALL, after the
//! faults are healed, retried until one succeeds (Jepsen's final read).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cql_lite::Consistency;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::{Ctx, Done, WORKERS, Worker, Workload};
use crate::clock::MonotonicMicros;
use crate::history::Function;

/// Final readers run at once.
const READERS: usize = 4;
/// Attempts per key; each failure waits before the next.
const ATTEMPTS: usize = 10;
const BETWEEN_ATTEMPTS: Duration = Duration::from_secs(1);
/// Final readers' process ids start here, far above the workers'.
const PROCESS_BASE: u64 = 1_000_000_000;

impl Worker {
    /// Reads `key` at ALL through each node in turn until one answer comes,
    /// or `deadline`.
    async fn final_read(&mut self, workload: Workload, key: &str, first: usize, deadline: Instant) {
        self.workload = workload;
        let n = self.ctx.nodes.count();
        for attempt in 0..ATTEMPTS {
            let node = (first + attempt) % n + 1;
            let mut call = self.read_call(key.to_owned(), node);
            call.function = Function::FinalRead;
            call.cl = Consistency::All;
            if matches!(self.invoke(call).await, Done::Ok { .. }) || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(BETWEEN_ATTEMPTS).await;
        }
    }
}

/// Reads every key of `workloads` at ALL, `READERS` at a time, giving up on
/// a key at `deadline`.
pub(crate) async fn final_reads(ctx: Arc<Ctx>, workloads: &[Workload], deadline: Instant) {
    let mut stripes: BTreeMap<usize, Vec<(Workload, String)>> = BTreeMap::new();
    let keys = workloads
        .iter()
        .flat_map(|&w| w.all_keys().into_iter().map(move |k| (w, k)));
    for (i, entry) in keys.enumerate() {
        stripes.entry(i % READERS).or_default().push(entry);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (slot, keys) in stripes {
        let mut worker = Worker {
            ctx: Arc::clone(&ctx),
            workload: Workload::Register,
            // Retiring adds WORKERS; slots below WORKERS never collide.
            process: PROCESS_BASE + (slot % WORKERS) as u64,
            seq: 0,
            rng: StdRng::seed_from_u64(slot as u64),
            clock: MonotonicMicros::default(),
            conns: BTreeMap::new(),
            pending_deletes: Vec::new(),
        };
        tasks.spawn(async move {
            for (i, (workload, key)) in keys.iter().enumerate() {
                worker.final_read(*workload, key, slot + i, deadline).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
