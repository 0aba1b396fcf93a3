//! The nemesis plan applied to the simulated world: the same plan the
//! process tier runs ([`Plan`]), turned into network cuts, crashes, pauses,
//! clock offsets and flush or compaction storms at simulated times.

use std::net::SocketAddr;

use crate::history::Function;
use crate::nemesis::{Fault, Plan, Step};
use crate::recorder::Recorder;

use super::world::World;
use cluster::sim::Delay;

/// Storm rounds (flush or major compaction) are this far apart.
const STORM_PERIOD_MS: u64 = 200;

/// The plan's progress.
pub(crate) struct Nemesis {
    steps: Vec<Step>,
    next: usize,
    /// Faults in force, with when they end (ms since the workload started).
    active: Vec<(u64, Fault)>,
    last_storm_ms: u64,
}

fn endpoint(world: &World, i: usize) -> Option<SocketAddr> {
    world.nodes.get(i.wrapping_sub(1)).map(|n| n.endpoint())
}

impl Nemesis {
    pub(crate) fn new(plan: Plan) -> Self {
        Nemesis {
            steps: plan.steps,
            next: 0,
            active: Vec::new(),
            last_storm_ms: 0,
        }
    }

    /// Starts and stops what is due at `t_ms` after the workload started.
    pub(crate) fn tick(&mut self, world: &mut World, recorder: &Recorder, t_ms: u64) {
        let (ended, running): (Vec<_>, Vec<_>) =
            self.active.drain(..).partition(|(end, _)| *end <= t_ms);
        self.active = running;
        for (_, fault) in ended {
            stop(world, &fault);
            record(world, recorder, Function::Stop, fault.describe());
        }
        while let Some(step) = self.steps.get(self.next).filter(|s| s.at_ms <= t_ms) {
            let step = step.clone();
            self.next += 1;
            start(world, &step.fault);
            record(world, recorder, Function::Start, step.fault.describe());
            self.active.push((step.at_ms + step.hold_ms, step.fault));
        }
        self.continuous(world, t_ms);
    }

    /// Strobing clocks flip, storms run another round.
    fn continuous(&mut self, world: &mut World, t_ms: u64) {
        let storm = t_ms >= self.last_storm_ms + STORM_PERIOD_MS;
        if storm {
            self.last_storm_ms = t_ms;
        }
        for (_, fault) in &self.active {
            match fault {
                Fault::ClockStrobe {
                    node,
                    delta_ms,
                    period_ms,
                } => {
                    let on = (t_ms / (*period_ms).max(1)) % 2 == 1;
                    if let Ok(sim) = world.node_mut(*node) {
                        sim.skew_micros = if on { delta_ms * 1000 } else { 0 };
                    }
                }
                Fault::Flush { nodes } if storm => storm_round(world, nodes, false),
                Fault::Compact { nodes } if storm => storm_round(world, nodes, true),
                _ => {}
            }
        }
    }

    /// Ends every fault in force (the final phase starts healthy).
    pub(crate) fn heal_all(&mut self, world: &mut World, recorder: &Recorder) {
        for (_, fault) in std::mem::take(&mut self.active) {
            stop(world, &fault);
            record(world, recorder, Function::Stop, fault.describe());
        }
        self.next = self.steps.len();
    }
}

pub(crate) fn record(world: &World, recorder: &Recorder, function: Function, description: String) {
    let recorder = recorder.clone();
    world.clients.spawn(async move {
        recorder.nemesis(function, &description).await;
    });
}

/// Flushes (or major-compacts) every table of the running `nodes`. Storage
/// errors are the node's business: a storm only makes work.
fn storm_round(world: &World, nodes: &[usize], compact: bool) {
    for &i in nodes {
        let Some(node) = world.nodes.get(i - 1).and_then(|n| n.node()) else {
            continue;
        };
        let engine = node.engine();
        if compact {
            for table in engine.tables() {
                let _ = engine.compact(table, true);
            }
        } else {
            let _ = engine.flush_all();
        }
    }
}

fn start(world: &mut World, fault: &Fault) {
    match fault {
        Fault::Partition { grudge, .. } => {
            for (&node, enemies) in grudge {
                for &enemy in enemies {
                    if let (Some(a), Some(b)) = (endpoint(world, node), endpoint(world, enemy)) {
                        world.net.partition(a, b);
                    }
                }
            }
        }
        Fault::OneWay { node, n } => {
            for other in (1..=*n).filter(|o| o != node) {
                if let (Some(from), Some(to)) = (endpoint(world, other), endpoint(world, *node)) {
                    world.net.partition_oneway(from, to);
                }
            }
        }
        Fault::Loss { pct, .. } => world.net.set_drop_probability(f64::from(*pct) / 100.0),
        Fault::Kill { nodes } => {
            for &i in nodes {
                let _ = world.crash(i);
            }
        }
        Fault::Pause { nodes } => {
            for &i in nodes {
                if let Ok(sim) = world.node_mut(i) {
                    sim.paused = true;
                }
            }
        }
        Fault::ClockBump { node, delta_ms } => {
            if let Ok(sim) = world.node_mut(*node) {
                sim.skew_micros = delta_ms * 1000;
            }
        }
        Fault::Disk { nodes } => {
            for &i in nodes {
                if let Ok(sim) = world.node_mut(i) {
                    sim.fs.fail_sync_data("", None);
                }
            }
        }
        Fault::Slow { min_ms, max_ms } => world.net.set_delay(Delay::Uniform {
            min_ms: *min_ms,
            max_ms: *max_ms,
        }),
        Fault::ClockStrobe { .. } | Fault::Flush { .. } | Fault::Compact { .. } => {}
    }
}

fn stop(world: &mut World, fault: &Fault) {
    match fault {
        Fault::Partition { .. } | Fault::OneWay { .. } => world.net.heal(),
        Fault::Loss { .. } => world.net.set_drop_probability(0.0),
        Fault::Kill { nodes } => {
            for &i in nodes {
                if let Err(e) = world.boot(i) {
                    eprintln!("sim: cannot restart n{i}: {e}");
                }
            }
        }
        Fault::Pause { nodes } => {
            for &i in nodes {
                if let Ok(sim) = world.node_mut(i) {
                    sim.paused = false;
                }
            }
        }
        Fault::ClockBump { node, .. } | Fault::ClockStrobe { node, .. } => {
            if let Ok(sim) = world.node_mut(*node) {
                sim.skew_micros = 0;
            }
        }
        Fault::Slow { .. } => world.net.set_delay(world.normal_delay),
        Fault::Disk { nodes } => {
            // The disk is replaced and the node restarted: what a failed
            // fsync leaves can only be trusted again after recovery.
            for &i in nodes {
                let _ = world.crash(i);
                if let Ok(sim) = world.node_mut(i) {
                    sim.fs.clear_faults();
                }
                if let Err(e) = world.boot(i) {
                    eprintln!("sim: cannot restart n{i}: {e}");
                }
            }
        }
        Fault::Flush { .. } | Fault::Compact { .. } => {}
    }
}
