//! The simulation tier: the node's own code (storage, gossip, coordinator,
//! replicas, hints, batchlog, schema sync, the CQL executor) runs as a whole
//! cluster in one thread, over the simulated disk of `storage` (which loses
//! what was not fsynced at a crash), the simulated network of `cluster`, and
//! tokio's paused time. The workloads, the nemesis plan and the checkers are
//! the process tier's. A seed decides everything: a failing seed prints the
//! command that replays it, and every `--determinism-every`th seed is run
//! twice and must give the same history.
//!
//! `cargo run --release -p jepsen-like --features sim -- sim [--seeds N]
//! [--first-seed S | --seed S] [--profile safe|chaos|skew] [--canary NAME]`.

mod client;
mod convergence;
mod faults;
mod scenario;
mod seed;
mod time;
mod world;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Args, ValueEnum};

use crate::checker::{Validity, Verdict};
use crate::history::to_jsonl;
use crate::nemesis::FaultKind;
use crate::settings::parse_names;
use crate::workload::Workload;

pub use scenario::Scenario;
use seed::{SeedOutcome, SeedPlan};

/// Which faults, and which promises must hold under them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SimProfile {
    /// Every fault of the process tier's default profile, never more than a
    /// minority of the nodes down: every property must hold.
    Safe,
    /// As safe, but crashes take every node at once and tear the writes in
    /// progress, and disks fail their fsyncs: P1 (no lost acked writes) is
    /// reported, not required.
    Chaos,
    /// Clock bumps and strobes on top of partitions.
    Skew,
}

impl SimProfile {
    fn name(self) -> &'static str {
        match self {
            SimProfile::Safe => "safe",
            SimProfile::Chaos => "chaos",
            SimProfile::Skew => "skew",
        }
    }

    fn nemeses(self) -> Vec<FaultKind> {
        use FaultKind::*;
        match self {
            SimProfile::Safe => FaultKind::ALL
                .into_iter()
                .chain([Slow])
                .filter(|k| !k.is_clock())
                .collect(),
            SimProfile::Chaos => FaultKind::ALL
                .into_iter()
                .chain([Slow, Disk])
                .filter(|k| !k.is_clock())
                .collect(),
            SimProfile::Skew => vec![ClockBump, ClockStrobe, PartitionOne, PartitionHalves],
        }
    }

    /// Whether `verdict` must be valid for the seed to pass.
    fn requires(self, verdict: &Verdict) -> bool {
        !(self == SimProfile::Chaos && verdict.property.contains("(P1)"))
    }
}

/// `jepsen-like sim`'s flags.
#[derive(Clone, Debug, Args)]
pub struct SimArgs {
    /// Seeds to run, from `--first-seed`.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Runs this one seed (a replay); overrides `--seeds` and `--first-seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Starts no new seed after this many seconds.
    #[arg(long)]
    pub budget_s: Option<u64>,
    #[arg(long, value_enum, default_value_t = SimProfile::Safe)]
    pub profile: SimProfile,
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Replication factor of the test keyspace.
    #[arg(long, default_value_t = 3)]
    pub rf: usize,
    /// Simulated seconds of workload per seed.
    #[arg(long, default_value_t = 10)]
    pub time: u64,
    /// Workloads, comma-separated (all when unset).
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Nemeses, comma-separated (the profile's when unset).
    #[arg(long, value_delimiter = ',')]
    pub nemeses: Vec<String>,
    /// A worker's pause between operations, `LOW,HIGH` in ms (10 workers).
    #[arg(long, value_delimiter = ',', default_values_t = [100, 300])]
    pub think_ms: Vec<u64>,
    /// How long a message takes between healthy nodes, `LOW,HIGH` in ms
    /// (a range, so messages overtake each other).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 15])]
    pub latency_ms: Vec<u64>,
    /// Runs this targeted scenario instead of the random workload and plan.
    #[arg(long, value_enum)]
    pub scenario: Option<Scenario>,
    /// Runs with this canary (a build with the `canaries` feature): the
    /// command succeeds when some seed catches it.
    #[arg(long)]
    pub canary: Option<String>,
    /// Runs every Nth seed twice and compares the histories (0: never).
    #[arg(long, default_value_t = 20)]
    pub determinism_every: u64,
    /// Seeds run at once, one thread each.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where failing seeds' histories go.
    #[arg(long, default_value = "target/jepsen-like/sim")]
    pub dir: PathBuf,
}

/// What the seeds gave.
#[derive(Debug, Default)]
struct Tally {
    run: u64,
    passed: u64,
    failed: Vec<u64>,
    errors: Vec<(u64, String)>,
    deterministic: u64,
    nondeterministic: Vec<u64>,
    /// Seeds where a property the profile reports but does not require
    /// failed (P1 under chaos).
    reported: Vec<u64>,
}

fn plan_of(args: &SimArgs) -> Result<SeedPlan, String> {
    if args.nodes == 0 || args.nodes > 9 || args.rf == 0 || args.rf > args.nodes {
        return Err("--nodes must be 1 to 9 and --rf 1 to --nodes".into());
    }
    let workloads = if let Some(scenario) = args.scenario {
        scenario.workloads()
    } else if args.workloads.is_empty() {
        Workload::ALL.to_vec()
    } else {
        parse_names(&args.workloads, Workload::from_name, "workload")?
    };
    let mut nemeses = if args.nemeses.is_empty() {
        args.profile.nemeses()
    } else {
        parse_names(&args.nemeses, FaultKind::from_name, "nemesis")?
    };
    if args.profile == SimProfile::Chaos && !nemeses.contains(&FaultKind::Kill) {
        nemeses.push(FaultKind::Kill);
    }
    Ok(SeedPlan {
        nodes: args.nodes,
        rf: args.rf,
        tokens: 8,
        time_s: args.time.max(2),
        workloads,
        nemeses,
        think_ms: match args.think_ms.as_slice() {
            [low, high] if low <= high => (*low, *high),
            _ => return Err("--think-ms takes LOW,HIGH with LOW <= HIGH".into()),
        },
        latency_ms: match args.latency_ms.as_slice() {
            [low, high] if low <= high => (*low, *high),
            _ => return Err("--latency-ms takes LOW,HIGH with LOW <= HIGH".into()),
        },
        scenario: args.scenario,
        crash_all: args.profile == SimProfile::Chaos,
    })
}

/// Runs `jepsen-like sim`: exit 0 when every seed passed (with a canary:
/// when some seed caught it), 1 when not, 2 when the run could not decide.
pub fn main(args: &SimArgs) -> ExitCode {
    let plan = match plan_of(args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("jepsen-like sim: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Err(e)) = args.canary.as_deref().map(basalt::sim::select_canary) {
        eprintln!("jepsen-like sim: {e}");
        return ExitCode::from(2);
    }
    cluster::blocking::set_inline(true);
    let seeds = match args.seed {
        Some(s) => s..s + 1,
        None => args.first_seed..args.first_seed + args.seeds,
    };
    println!(
        "sim: profile {}, {} nodes, rf {}, {} s per seed, seeds {}..{}{}",
        args.profile.name(),
        plan.nodes,
        plan.rf,
        plan.time_s,
        seeds.start,
        seeds.end,
        args.canary
            .as_ref()
            .map_or(String::new(), |c| format!(", canary {c}"))
    );
    let started = std::time::Instant::now();
    let tally = run_seeds(args, &plan, seeds);
    report(args, &tally, started.elapsed())
}

fn run_seeds(args: &SimArgs, plan: &SeedPlan, seeds: std::ops::Range<u64>) -> Tally {
    let next = AtomicU64::new(seeds.start);
    let tally = Mutex::new(Tally::default());
    let started = std::time::Instant::now();
    let budget = args.budget_s.map(std::time::Duration::from_secs);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| {
                cluster::blocking::set_inline(true);
                loop {
                    if budget.is_some_and(|b| started.elapsed() >= b) {
                        break;
                    }
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end {
                        break;
                    }
                    one_seed(args, plan, seed, &tally);
                }
            });
        }
    });
    tally
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn one_seed(args: &SimArgs, plan: &SeedPlan, seed: u64, tally: &Mutex<Tally>) {
    let outcome = seed::run(plan, seed);
    let again = (args.determinism_every > 0 && seed.is_multiple_of(args.determinism_every))
        .then(|| seed::run(plan, seed));
    let mut tally = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tally.run += 1;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            println!("seed {seed}: could not run: {e}");
            tally.errors.push((seed, e));
            return;
        }
    };
    match again {
        Some(Ok(rerun)) if rerun.hash == outcome.hash => tally.deterministic += 1,
        Some(rerun) => {
            let dir = args.dir.join(format!("seed-{seed}-rerun"));
            println!(
                "seed {seed}: NOT DETERMINISTIC: a second run gave another history ({})",
                dir.display()
            );
            if let Ok(rerun) = rerun {
                let _ = write_seed(&dir, &rerun);
                let _ = write_seed(&args.dir.join(format!("seed-{seed}")), &outcome);
            }
            tally.nondeterministic.push(seed);
        }
        None => {}
    }
    let failed: Vec<&Verdict> = outcome
        .verdicts
        .iter()
        .filter(|v| args.profile.requires(v) && v.validity != Validity::Valid)
        .collect();
    if args.seed.is_some() {
        describe_replay(args, seed, &outcome);
    }
    let reported_invalid = outcome
        .verdicts
        .iter()
        .any(|v| !args.profile.requires(v) && v.validity == Validity::Invalid);
    if reported_invalid {
        tally.reported.push(seed);
    }
    if failed.is_empty() {
        tally.passed += 1;
        return;
    }
    tally.failed.push(seed);
    describe_failure(args, seed, &outcome, &failed);
}

fn describe_failure(args: &SimArgs, seed: u64, outcome: &SeedOutcome, failed: &[&Verdict]) {
    for verdict in failed {
        let first = verdict.anomalies.first().map_or("", String::as_str);
        println!(
            "seed {seed}: {:?} {}: {} {first}",
            verdict.validity, verdict.property, verdict.summary
        );
    }
    let dir = args.dir.join(format!("seed-{seed}"));
    match write_seed(&dir, outcome) {
        Ok(()) => println!("seed {seed}: history in {}", dir.display()),
        Err(e) => println!("seed {seed}: cannot write {}: {e}", dir.display()),
    }
    println!("seed {seed}: replay with: {}", replay_command(args, seed));
}

/// The one-line command that runs `seed` again exactly as this run did.
fn replay_command(args: &SimArgs, seed: u64) -> String {
    let feature = if args.canary.is_some() {
        "canaries"
    } else {
        "sim"
    };
    let mut line = format!(
        "cargo run --release -p jepsen-like --features {feature} -- sim --seed {seed} \
         --profile {} --nodes {} --rf {} --time {}",
        args.profile.name(),
        args.nodes,
        args.rf,
        args.time
    );
    let lists = [
        ("--workloads", args.workloads.join(",")),
        ("--nemeses", args.nemeses.join(",")),
        ("--think-ms", join_numbers(&args.think_ms)),
        ("--latency-ms", join_numbers(&args.latency_ms)),
    ];
    for (flag, value) in lists.into_iter().filter(|(_, v)| !v.is_empty()) {
        line.push_str(&format!(" {flag} {value}"));
    }
    if let Some(name) = args.scenario.and_then(|s| s.to_possible_value()) {
        line.push_str(&format!(" --scenario {}", name.get_name()));
    }
    if let Some(canary) = &args.canary {
        line.push_str(&format!(" --canary {canary}"));
    }
    line
}

fn join_numbers(numbers: &[u64]) -> String {
    let each: Vec<String> = numbers.iter().map(u64::to_string).collect();
    each.join(",")
}

/// A replayed seed: every verdict and the plan, and its files.
fn describe_replay(args: &SimArgs, seed: u64, outcome: &SeedOutcome) {
    print!("seed {seed}: plan\n{}", outcome.plan.render());
    for verdict in &outcome.verdicts {
        println!(
            "seed {seed}: {:?} {}: {}",
            verdict.validity, verdict.property, verdict.summary
        );
    }
    let dir = args.dir.join(format!("seed-{seed}"));
    if let Err(e) = write_seed(&dir, outcome) {
        println!("seed {seed}: cannot write {}: {e}", dir.display());
    }
}

fn write_seed(dir: &Path, outcome: &SeedOutcome) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut history = String::new();
    for event in &outcome.history {
        history.push_str(&to_jsonl(event));
        history.push('\n');
    }
    std::fs::write(dir.join("history.jsonl"), history)?;
    let verdicts = serde_json::to_string_pretty(&outcome.verdicts).unwrap_or_default();
    std::fs::write(dir.join("results.json"), verdicts)?;
    std::fs::write(dir.join("nemesis.log"), outcome.plan.render())
}

fn report(args: &SimArgs, tally: &Tally, elapsed: std::time::Duration) -> ExitCode {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "sim: {} seeds in {:.1} s ({:.2} seeds/s): {} passed, {} failed {:?}, {} could not run",
        tally.run,
        secs,
        tally.run as f64 / secs,
        tally.passed,
        tally.failed.len(),
        tally.failed,
        tally.errors.len()
    );
    if args.profile == SimProfile::Chaos {
        println!(
            "sim: reported, not required: P1 failed in {} seeds {:?}",
            tally.reported.len(),
            tally.reported
        );
    }
    println!(
        "sim: determinism: {} seeds re-run with the same history, {} differed {:?}",
        tally.deterministic,
        tally.nondeterministic.len(),
        tally.nondeterministic
    );
    let code = match &args.canary {
        Some(name) => {
            println!(
                "canary {name}: caught in {} of {} seeds",
                tally.failed.len(),
                tally.run
            );
            if tally.failed.is_empty() { 1 } else { 0 }
        }
        None if !tally.nondeterministic.is_empty() || !tally.errors.is_empty() => 2,
        None if !tally.failed.is_empty() => 1,
        None => 0,
    };
    println!(
        "{} passed, {} failed",
        tally.passed,
        tally.run - tally.passed
    );
    ExitCode::from(code)
}
