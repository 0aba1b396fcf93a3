//! The nemesis: a plan of faults generated from the seed before the run
//! (data, printed at the start and written to `nemesis.log`), and its
//! execution against the hosts (`exec`).
//!
//! The schedule is Jepsen's alternating one: 5 s of warm-up, then until 20 s
//! before the end one fault at a time, held U(3, 8) s, then U(2, 5) s healthy.
//! Targets are chosen when the plan is made, so the printed plan says exactly
//! what will happen. Kills and pauses never take more than a minority of the
//! nodes at once, the precondition of "an acked QUORUM write is never lost".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};

use crate::netns::Rules;

mod exec;

pub(crate) use exec::{Nemesis, heal_all};

/// The rhythm of a plan: how long before the first fault, how long each is
/// held and how long the cluster is healthy between two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) warm_up_ms: u64,
    /// No fault starts within this much of the end: the cluster gets time to
    /// settle before the final phase.
    pub(crate) quiet_end_ms: u64,
    pub(crate) hold_ms: (u64, u64),
    pub(crate) healthy_ms: (u64, u64),
}

impl Timing {
    /// The process tier's: real processes need seconds to notice a fault.
    pub(crate) const PROCESS: Timing = Timing {
        warm_up_ms: 5_000,
        quiet_end_ms: 20_000,
        hold_ms: (3_000, 8_000),
        healthy_ms: (2_000, 5_000),
    };
}
/// Clock bumps and strobes move a clock by 50 ms to 10 s.
const SKEW_MS: (f64, f64) = (50.0, 10_000.0);
/// A strobing clock flips every this many ms.
const STROBE_PERIOD_MS: u64 = 100;

/// A kind of fault, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FaultKind {
    PartitionOne,
    PartitionHalves,
    Bridge,
    MajoritiesRing,
    OneWay,
    Loss,
    Kill,
    Pause,
    ClockBump,
    ClockStrobe,
    Flush,
    Compact,
    /// Every link slow (the simulation tier only: no netem on these hosts).
    Slow,
    /// A node's disk fails its fsyncs, and the node is restarted after
    /// (the simulation tier only).
    Disk,
}

impl FaultKind {
    /// Faults only the simulation tier can inject.
    pub(crate) const SIM_ONLY: [FaultKind; 2] = [FaultKind::Slow, FaultKind::Disk];

    pub(crate) const ALL: [FaultKind; 12] = [
        FaultKind::PartitionOne,
        FaultKind::PartitionHalves,
        FaultKind::Bridge,
        FaultKind::MajoritiesRing,
        FaultKind::OneWay,
        FaultKind::Loss,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::ClockBump,
        FaultKind::ClockStrobe,
        FaultKind::Flush,
        FaultKind::Compact,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            FaultKind::PartitionOne => "partition-one",
            FaultKind::PartitionHalves => "partition-halves",
            FaultKind::Bridge => "bridge",
            FaultKind::MajoritiesRing => "majorities-ring",
            FaultKind::OneWay => "one-way",
            FaultKind::Loss => "loss",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::ClockBump => "clock-bump",
            FaultKind::ClockStrobe => "clock-strobe",
            FaultKind::Flush => "flush",
            FaultKind::Compact => "compact",
            FaultKind::Slow => "slow",
            FaultKind::Disk => "disk",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .chain(FaultKind::SIM_ONLY)
            .find(|k| k.name() == name)
    }

    pub(crate) fn is_clock(self) -> bool {
        matches!(self, FaultKind::ClockBump | FaultKind::ClockStrobe)
    }

    /// Whether the fault means anything on a cluster of `n` nodes.
    fn applies(self, n: usize) -> bool {
        match self {
            FaultKind::PartitionOne | FaultKind::PartitionHalves | FaultKind::OneWay => n >= 2,
            FaultKind::Loss | FaultKind::Slow => n >= 2,
            FaultKind::Bridge => n >= 3,
            FaultKind::MajoritiesRing => n >= 4,
            FaultKind::Kill | FaultKind::Pause | FaultKind::Disk => minority(n) >= 1,
            _ => true,
        }
    }
}

/// The most nodes that may be down at once: fewer than half.
pub(crate) fn minority(n: usize) -> usize {
    n.saturating_sub(1) / 2
}

/// For each node, the nodes it refuses to hear from (Jepsen's grudge).
pub(crate) type Grudge = BTreeMap<usize, BTreeSet<usize>>;

/// One concrete fault, targets chosen.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fault {
    /// Nodes drop traffic from (and to) the nodes in their grudge.
    Partition {
        kind: FaultKind,
        grudge: Grudge,
        sides: String,
    },
    /// `node` drops everything arriving from the other nodes.
    OneWay { node: usize, n: usize },
    /// Every node drops `pct` % of the packets from the others.
    Loss { pct: u8, n: usize },
    /// SIGKILL, restarted when the window ends.
    Kill { nodes: Vec<usize> },
    /// SIGSTOP, SIGCONT when the window ends.
    Pause { nodes: Vec<usize> },
    /// The node's wall clock moves by `delta_ms` for the window.
    ClockBump { node: usize, delta_ms: i64 },
    /// The node's wall clock flips between +0 and `delta_ms` every period.
    ClockStrobe {
        node: usize,
        delta_ms: i64,
        period_ms: u64,
    },
    /// Flushes on these nodes, back to back, for the window.
    Flush { nodes: Vec<usize> },
    /// Major compactions on these nodes, back to back, for the window.
    Compact { nodes: Vec<usize> },
    /// Every message takes `min_ms` to `max_ms` (so messages overtake each
    /// other), for the window.
    Slow { min_ms: u64, max_ms: u64 },
    /// Every fsync on these nodes' disks fails for the window; the nodes are
    /// restarted when it ends.
    Disk { nodes: Vec<usize> },
}

fn names(nodes: &[usize]) -> String {
    let names: Vec<String> = nodes.iter().map(|i| format!("n{i}")).collect();
    names.join(" ")
}

impl Fault {
    /// One line, its first word the fault's kind (the report groups by it).
    pub(crate) fn describe(&self) -> String {
        match self {
            Fault::Partition { kind, sides, .. } => format!("{} {sides}", kind.name()),
            Fault::OneWay { node, .. } => format!("one-way n{node} hears nobody"),
            Fault::Loss { pct, .. } => format!("loss {pct}% between all nodes"),
            Fault::Kill { nodes } => format!("kill {}", names(nodes)),
            Fault::Pause { nodes } => format!("pause {}", names(nodes)),
            Fault::ClockBump { node, delta_ms } => format!("clock-bump n{node} {delta_ms:+}ms"),
            Fault::ClockStrobe {
                node,
                delta_ms,
                period_ms,
            } => format!("clock-strobe n{node} 0/{delta_ms:+}ms every {period_ms}ms"),
            Fault::Flush { nodes } => format!("flush {}", names(nodes)),
            Fault::Compact { nodes } => format!("compact {}", names(nodes)),
            Fault::Slow { min_ms, max_ms } => format!("slow links take {min_ms}-{max_ms}ms"),
            Fault::Disk { nodes } => format!("disk errors on {}", names(nodes)),
        }
    }

    /// The firewall of every node while the fault holds; empty for faults
    /// that are not network faults.
    pub(crate) fn rules(&self) -> BTreeMap<usize, Rules> {
        let mut out = BTreeMap::new();
        match self {
            Fault::Partition { grudge, .. } => {
                for (&node, enemies) in grudge.iter().filter(|(_, e)| !e.is_empty()) {
                    let rules = Rules {
                        drop_from: enemies.clone(),
                        drop_to: enemies.clone(),
                        loss: None,
                    };
                    out.insert(node, rules);
                }
            }
            Fault::OneWay { node, n } => {
                let others = (1..=*n).filter(|i| i != node).collect();
                let rules = Rules {
                    drop_from: others,
                    ..Rules::default()
                };
                out.insert(*node, rules);
            }
            Fault::Loss { pct, n } => {
                for node in 1..=*n {
                    let others = (1..=*n).filter(|&i| i != node).collect();
                    let rules = Rules {
                        loss: Some((*pct, others)),
                        ..Rules::default()
                    };
                    out.insert(node, rules);
                }
            }
            _ => {}
        }
        out
    }
}

/// Every node drops every node outside its own component.
pub(crate) fn grudge_of_components(components: &[Vec<usize>]) -> Grudge {
    let all: BTreeSet<usize> = components.iter().flatten().copied().collect();
    let mut grudge = Grudge::new();
    for component in components {
        let mine: BTreeSet<usize> = component.iter().copied().collect();
        for &node in component {
            grudge.insert(node, all.difference(&mine).copied().collect());
        }
    }
    grudge
}

/// A shuffled list of the nodes 1..=n.
fn shuffled(rng: &mut StdRng, n: usize) -> Vec<usize> {
    let mut nodes: Vec<usize> = (1..=n).collect();
    nodes.shuffle(rng);
    nodes
}

fn sides(parts: &[&[usize]]) -> String {
    let sorted: Vec<String> = parts
        .iter()
        .map(|p| {
            let mut p = p.to_vec();
            p.sort_unstable();
            names(&p)
        })
        .collect();
    sorted.join(" | ")
}

/// The partitions: one node alone; two halves (minority | majority); a
/// bridge (two halves and one node that sees both); a ring of majorities.
fn partition(rng: &mut StdRng, kind: FaultKind, n: usize) -> Fault {
    let nodes = shuffled(rng, n);
    let (grudge, sides) = match kind {
        FaultKind::PartitionOne => {
            let (one, rest) = nodes.split_at(1);
            (
                grudge_of_components(&[one.to_vec(), rest.to_vec()]),
                sides(&[one, rest]),
            )
        }
        FaultKind::Bridge => bridge(&nodes),
        FaultKind::MajoritiesRing => majorities_ring(&nodes),
        _ => {
            let (small, large) = nodes.split_at(n / 2);
            let grudge = grudge_of_components(&[small.to_vec(), large.to_vec()]);
            (grudge, sides(&[small, large]))
        }
    };
    Fault::Partition {
        kind,
        grudge,
        sides,
    }
}

/// Jepsen's bridge: halves `a` and `b`, and the first node of `b` sees both.
fn bridge(nodes: &[usize]) -> (Grudge, String) {
    let (a, b) = nodes.split_at(nodes.len() / 2);
    let Some((&hub, b_rest)) = b.split_first() else {
        return (Grudge::new(), String::new());
    };
    let mut grudge = grudge_of_components(&[a.to_vec(), b_rest.to_vec()]);
    grudge.insert(hub, BTreeSet::new());
    let text = format!("{} | n{hub} sees both | {}", sides(&[a]), sides(&[b_rest]));
    (grudge, text)
}

/// Jepsen's majorities ring: the nodes in a ring, each seeing its nearest
/// neighbours on both sides, just enough for a majority; no two nodes see
/// the same majority.
fn majorities_ring(ring: &[usize]) -> (Grudge, String) {
    let n = ring.len();
    let reach = (n / 2).div_ceil(2);
    let mut grudge = Grudge::new();
    for (pos, &node) in ring.iter().enumerate() {
        let seen: BTreeSet<usize> = (0..n)
            .filter(|&other| {
                let d = pos.abs_diff(other);
                d.min(n - d) <= reach
            })
            .filter_map(|p| ring.get(p).copied())
            .collect();
        let enemies = ring.iter().copied().filter(|x| !seen.contains(x)).collect();
        grudge.insert(node, enemies);
    }
    let order: Vec<String> = ring.iter().map(|i| format!("n{i}")).collect();
    (grudge, order.join("-"))
}

/// 1 to `minority(n)` distinct random nodes, sorted.
fn some_minority(rng: &mut StdRng, n: usize) -> Vec<usize> {
    let count = rng.random_range(1..=minority(n).max(1));
    let mut nodes = shuffled(rng, n);
    nodes.truncate(count);
    nodes.sort_unstable();
    nodes
}

/// ±50 ms … 10 s, spread evenly in log scale.
fn skew_ms(rng: &mut StdRng) -> i64 {
    let (lo, hi) = (SKEW_MS.0.ln(), SKEW_MS.1.ln());
    let magnitude = rng.random_range(lo..=hi).exp().round();
    // The range is 50..=10 000, well inside i64.
    #[expect(clippy::cast_possible_truncation, reason = "bounded by SKEW_MS")]
    let magnitude = magnitude as i64;
    if rng.random_bool(0.5) {
        magnitude
    } else {
        -magnitude
    }
}

/// A fault of `kind` with its targets.
fn make(rng: &mut StdRng, kind: FaultKind, n: usize) -> Fault {
    match kind {
        FaultKind::PartitionOne
        | FaultKind::PartitionHalves
        | FaultKind::Bridge
        | FaultKind::MajoritiesRing => partition(rng, kind, n),
        FaultKind::OneWay => Fault::OneWay {
            node: rng.random_range(1..=n),
            n,
        },
        FaultKind::Loss => Fault::Loss {
            pct: rng.random_range(20..=40),
            n,
        },
        FaultKind::Kill => Fault::Kill {
            nodes: some_minority(rng, n),
        },
        FaultKind::Pause => Fault::Pause {
            nodes: some_minority(rng, n),
        },
        FaultKind::ClockBump => Fault::ClockBump {
            node: rng.random_range(1..=n),
            delta_ms: skew_ms(rng),
        },
        FaultKind::ClockStrobe => Fault::ClockStrobe {
            node: rng.random_range(1..=n),
            delta_ms: skew_ms(rng),
            period_ms: STROBE_PERIOD_MS,
        },
        FaultKind::Flush => Fault::Flush {
            nodes: some_minority(rng, n),
        },
        FaultKind::Compact => Fault::Compact {
            nodes: some_minority(rng, n),
        },
        FaultKind::Disk => Fault::Disk {
            nodes: some_minority(rng, n),
        },
        FaultKind::Slow => Fault::Slow {
            min_ms: 20,
            max_ms: rng.random_range(200..=600),
        },
    }
}

/// One fault of the plan: from `at_ms` after the workload starts, for
/// `hold_ms`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    pub(crate) at_ms: u64,
    pub(crate) hold_ms: u64,
    pub(crate) fault: Fault,
}

/// The whole schedule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
}

impl Plan {
    /// The schedule for a run of `time_s` seconds on `n` nodes, drawn from
    /// `kinds` (those that make sense for `n` nodes) with `seed`.
    pub(crate) fn generate(seed: u64, n: usize, time_s: u64, kinds: &[FaultKind]) -> Plan {
        Plan::generate_timed(seed, n, time_s, kinds, Timing::PROCESS)
    }

    /// As [`Plan::generate`], with the given rhythm.
    pub(crate) fn generate_timed(
        seed: u64,
        n: usize,
        time_s: u64,
        kinds: &[FaultKind],
        timing: Timing,
    ) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed);
        let kinds: Vec<FaultKind> = kinds.iter().copied().filter(|k| k.applies(n)).collect();
        let end = time_s
            .saturating_mul(1000)
            .saturating_sub(timing.quiet_end_ms);
        let mut steps = Vec::new();
        let mut at = timing.warm_up_ms;
        loop {
            let hold = rng.random_range(timing.hold_ms.0..=timing.hold_ms.1);
            let Some(&kind) = kinds.choose(&mut rng) else {
                break;
            };
            if at + hold > end {
                break;
            }
            let fault = make(&mut rng, kind, n);
            steps.push(Step {
                at_ms: at,
                hold_ms: hold,
                fault,
            });
            at += hold + rng.random_range(timing.healthy_ms.0..=timing.healthy_ms.1);
        }
        Plan { steps }
    }

    /// One line per step: `  t=5.0s  hold 4.2s  partition-one n2 | n1 n3`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let _ = writeln!(
                out,
                "  t={:6.1}s  hold {:.1}s  {}",
                step.at_ms as f64 / 1000.0,
                step.hold_ms as f64 / 1000.0,
                step.fault.describe()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
