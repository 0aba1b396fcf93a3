//! One seed of the simulation: boot the cluster, create the schema, run the
//! workloads under the plan, heal, drain, read everything at ALL, check.

use std::sync::Arc;
use std::time::Duration;

use crate::checker::{Verdict, check_all};
use crate::history::{Event, to_jsonl};
use crate::nemesis::{Fault, FaultKind, Plan, Timing};
use crate::recorder::Recorder;
use crate::workload::{self, Ctx, Workload};

use super::client::SimConnector;
use super::convergence;
use super::faults::Nemesis;
use super::scenario::{self, Scenario};
use super::time;
use super::world::World;

/// The sim's rhythm: faults of 1–4 s, each noticed by gossip within a
/// second or two, with the cluster healthy for 0.5–2 s between them.
const TIMING: Timing = Timing {
    warm_up_ms: 1_000,
    quiet_end_ms: 1_000,
    hold_ms: (1_000, 4_000),
    healthy_ms: (500, 2_000),
};
/// Bounds of the phases around the workload (simulated time).
const BOOT_MS: u64 = 30_000;
const SCHEMA_MS: u64 = 60_000;
const DRAIN_MS: u64 = 60_000;
const FINAL_READS_MS: u64 = 60_000;

/// What one seed runs.
#[derive(Clone, Debug)]
pub(crate) struct SeedPlan {
    pub(crate) nodes: usize,
    pub(crate) rf: usize,
    pub(crate) tokens: u32,
    pub(crate) time_s: u64,
    pub(crate) workloads: Vec<Workload>,
    pub(crate) nemeses: Vec<FaultKind>,
    /// A worker's pause between operations (ms).
    pub(crate) think_ms: (u64, u64),
    /// How long a message takes between healthy nodes (ms).
    pub(crate) latency_ms: (u64, u64),
    /// A targeted scenario run instead of the random workload and plan.
    pub(crate) scenario: Option<Scenario>,
    /// Crashes take every node at once (the chaos profile).
    pub(crate) crash_all: bool,
}

/// How one seed ended.
#[derive(Debug)]
pub(crate) struct SeedOutcome {
    pub(crate) history: Vec<Event>,
    pub(crate) verdicts: Vec<Verdict>,
    /// FNV-1a of the history's JSON lines: equal for equal runs.
    pub(crate) hash: u64,
    pub(crate) plan: Plan,
}

/// FNV-1a over `events` as JSON lines.
pub(crate) fn history_hash(events: &[Event]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for event in events {
        for byte in to_jsonl(event).bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Runs seed `seed` of `plan` on this thread.
pub(crate) fn run(plan: &SeedPlan, seed: u64) -> Result<SeedOutcome, String> {
    basalt::sim::seed_thread(Some(seed));
    crate::clock::set_thread_source(Some(time::wall_micros));
    let outcome = run_seeded(plan, seed);
    crate::clock::set_thread_source(None);
    basalt::sim::seed_thread(None);
    outcome
}

fn run_seeded(plan: &SeedPlan, seed: u64) -> Result<SeedOutcome, String> {
    let mut world = World::new(seed, plan.nodes, plan.tokens, plan.latency_ms)?;
    world.torn_crashes = plan.crash_all;
    for i in 1..=plan.nodes {
        world.boot(i)?;
    }
    if !world.step_until(BOOT_MS, |w| all_see_all(w, plan.nodes)) {
        return Err(format!(
            "the nodes did not all start and see each other: {}",
            liveness(&world)
        ));
    }
    let (recorder, writer) = {
        let _runtime = world.clients.enter();
        Recorder::in_memory()
    };
    let nodes: Arc<dyn workload::Connector> = Arc::new(SimConnector::new(Arc::clone(&world.slots)));
    create_schema(&mut world, &nodes, plan.rf)?;
    let ctx = Arc::new(Ctx {
        recorder: recorder.clone(),
        nodes,
        stop_at: recorder.start() + Duration::from_secs(plan.time_s),
        think_ms: plan.think_ms,
    });
    let mut schedule = Plan::generate_timed(seed, plan.nodes, plan.time_s, &plan.nemeses, TIMING);
    if plan.crash_all {
        for step in &mut schedule.steps {
            if let Fault::Kill { nodes } = &mut step.fault {
                *nodes = (1..=plan.nodes).collect();
            }
        }
    }
    match plan.scenario {
        Some(scenario) => {
            schedule.steps.clear();
            scenario::run(scenario, &mut world, &ctx, &recorder);
        }
        None => run_workload(&mut world, &ctx, plan, seed, &schedule, &recorder),
    }
    drain(&mut world);
    final_reads(&mut world, &ctx, plan);
    drop(ctx);
    drop(recorder);
    let history = collect(&mut world, writer)?;
    let mut verdicts = check_all(&history);
    verdicts.push(convergence::check(&world, plan.nodes == plan.rf));
    Ok(SeedOutcome {
        hash: history_hash(&history),
        history,
        verdicts,
        plan: schedule,
    })
}

/// Every node runs and sees every other as up.
fn all_see_all(world: &World, n: usize) -> bool {
    let started = world.started();
    started.len() == n && started.iter().all(|(_, node)| peers_up(node) + 1 == n)
}

/// How many other nodes `node` sees up.
fn peers_up(node: &basalt::Node) -> usize {
    let view = node.cluster().view();
    view.live.iter().filter(|e| **e != view.local).count()
}

/// `n1 sees 3 up, n2 down, …`: who sees whom, for error messages.
fn liveness(world: &World) -> String {
    let each: Vec<String> = world
        .nodes
        .iter()
        .map(|sim| match sim.node() {
            Some(node) => format!("n{} sees {} peers up", sim.index, peers_up(&node)),
            None if sim.is_up() => format!("n{} starting", sim.index),
            None => format!("n{} down", sim.index),
        })
        .collect();
    each.join(", ")
}

fn create_schema(
    world: &mut World,
    nodes: &Arc<dyn workload::Connector>,
    rf: usize,
) -> Result<(), String> {
    let nodes = Arc::clone(nodes);
    let task = world.clients.spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(SCHEMA_MS);
        workload::create_schema(nodes.as_ref(), rf, deadline).await
    });
    if !world.step_until(SCHEMA_MS + 1_000, |_| task.is_finished()) {
        return Err("schema creation did not finish".into());
    }
    world.clients.block_on(task).map_err(|e| e.to_string())?
}

fn run_workload(
    world: &mut World,
    ctx: &Arc<Ctx>,
    plan: &SeedPlan,
    seed: u64,
    schedule: &Plan,
    recorder: &Recorder,
) {
    let (ctx, workloads) = (Arc::clone(ctx), plan.workloads.clone());
    let task = world
        .clients
        .spawn(async move { workload::run_workers(ctx, &workloads, seed).await });
    let start = world.now_ms();
    let mut nemesis = Nemesis::new(schedule.clone());
    let limit = plan.time_s * 1000 + 10_000;
    while !task.is_finished() && world.now_ms() - start < limit {
        nemesis.tick(world, recorder, world.now_ms() - start);
        world.step();
    }
    nemesis.heal_all(world, recorder);
    task.abort();
}

/// Boots every node that is down, then waits until every node sees all
/// the others up and holds no hints or batches for them.
fn drain(world: &mut World) {
    let n = world.nodes.len();
    for i in 1..=n {
        if let Err(e) = world.boot(i) {
            eprintln!("sim: cannot restart n{i}: {e}");
        }
    }
    world.step_until(DRAIN_MS, |w| {
        all_see_all(w, n)
            && w.started()
                .iter()
                .all(|(_, node)| node.pending_handoffs() == 0)
    });
}

fn final_reads(world: &mut World, ctx: &Arc<Ctx>, plan: &SeedPlan) {
    let (ctx, workloads) = (Arc::clone(ctx), plan.workloads.clone());
    let task = world.clients.spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(FINAL_READS_MS);
        workload::final_reads(ctx, &workloads, deadline).await;
    });
    world.step_until(FINAL_READS_MS + 20_000, |_| task.is_finished());
    task.abort();
}

fn collect(world: &mut World, writer: crate::recorder::Writer) -> Result<Vec<Event>, String> {
    world.step_until(10_000, |_| writer.is_finished());
    world
        .clients
        .block_on(writer)
        .map_err(|e| format!("history writer: {e}"))?
}
