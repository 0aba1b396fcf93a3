//! Targeted scenarios: scripted operations around scripted faults, for the
//! sequences random plans seldom line up.
//!
//! `repair-race`: for each node X in turn, a register key is written through
//! node 1 at ALL; X is cut off and a QUORUM write through it times out, so
//! only X holds the new value; the partition heals and at once the key is
//! read through X (a read that repairs the replica it asked) and then through
//! every other node. With read repair that waits for its acknowledgements
//! the later reads see X's value; a read answered before its repair landed
//! lets them read the older one, an inversion (P4).

use std::sync::Arc;

use cql_lite::Consistency;

use crate::history::Function;
use crate::recorder::Recorder;
use crate::workload::{Ctx, Scripted, Workload};

use super::faults;
use super::world::World;

/// Scripted processes' ids start here, far from the workers' and the final
/// readers'.
const PROCESS_BASE: u64 = 500_000_000;
/// A scripted step is given this long (simulated) to finish.
const STEP_MS: u64 = 30_000;
/// Keys each node writes alone.
const KEYS_PER_NODE: usize = 6;

/// A targeted scenario, run instead of the random workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A write only one replica holds, read through it, then through the
    /// others at once.
    RepairRace,
}

impl Scenario {
    /// The workloads whose keys it writes (the final phase reads them).
    pub(crate) fn workloads(self) -> Vec<Workload> {
        vec![Workload::RegisterCoord]
    }
}

/// Runs `scenario` on the booted `world`.
pub(crate) fn run(scenario: Scenario, world: &mut World, ctx: &Arc<Ctx>, recorder: &Recorder) {
    match scenario {
        Scenario::RepairRace => repair_race(world, ctx, recorder),
    }
}

fn repair_race(world: &mut World, ctx: &Arc<Ctx>, recorder: &Recorder) {
    let n = world.nodes.len();
    for x in 1..=n {
        if repair_race_through(world, ctx, recorder, x).is_none() {
            return;
        }
    }
}

/// The keys node `x` writes alone: several, so that for some of them `x` is
/// the replica other coordinators ask last (a read asks its own node, then
/// the others in placement order), the one the race needs.
fn keys_of(x: usize, n: usize) -> Vec<String> {
    (0..KEYS_PER_NODE)
        .map(|k| format!("rc:{}", x + k * n))
        .collect()
}

fn repair_race_through(
    world: &mut World,
    ctx: &Arc<Ctx>,
    recorder: &Recorder,
    x: usize,
) -> Option<()> {
    let n = world.nodes.len();
    let keys = keys_of(x, n);
    let mut client = Scripted::new(
        Arc::clone(ctx),
        Workload::RegisterCoord,
        PROCESS_BASE + x as u64,
    );
    let baseline = {
        let keys = keys.clone();
        async move {
            for key in &keys {
                client.write(key, 1, Consistency::All).await;
            }
            client
        }
    };
    let mut client = run_step(world, baseline)?;
    let cut = world.nodes.get(x - 1)?.endpoint();
    let fault = format!("partition-one n{x} isolated (scripted)");
    world.net.isolate(cut);
    faults::record(world, recorder, Function::Start, fault.clone());
    let lonely = {
        let keys = keys.clone();
        async move {
            for key in &keys {
                client.write(key, x, Consistency::Quorum).await;
            }
            client
        }
    };
    let mut client = run_step(world, lonely)?;
    world.net.heal();
    faults::record(world, recorder, Function::Stop, fault);
    let reads = async move {
        for key in &keys {
            client.read(key, x).await;
            for y in (1..=n).filter(|&y| y != x) {
                client.read(key, y).await;
            }
        }
        client
    };
    run_step(world, reads).map(drop)
}

/// Runs `step` on the client host until it finishes (or [`STEP_MS`] pass).
fn run_step<F>(world: &mut World, step: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = world.clients.spawn(step);
    if !world.step_until(STEP_MS, |_| task.is_finished()) {
        task.abort();
        return None;
    }
    world.clients.block_on(task).ok()
}
