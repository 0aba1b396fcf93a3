//! The command line: `jepsen-like run [--nodes 5] [--rf 3] [--time 180]
//! [--workloads a,b] [--nemeses a,b] [--seed N] [--profile ci|default|skew|full]
//! [--binary PATH] [--canary NAME] [--dir PATH]`.
//!
//! Exit status as Jepsen's and Maelstrom's: 0 when every verdict is valid, 1
//! when any is invalid, 2 when the run could not decide (unknown verdicts, a
//! setup failure, an interrupted or overrunning run).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Fault-injection verification of Basalt with real processes.
#[derive(Debug, Parser)]
#[command(name = "jepsen-like", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a cluster in network namespaces under a nemesis, check the history
    /// and write a run directory.
    Run(RunArgs),
    /// Run the deterministic simulation tier: the node's code as a whole
    /// cluster in one process over simulated disk, network and time, many
    /// seeds (a build with the `sim` feature).
    #[cfg(feature = "sim")]
    Sim(crate::sim::SimArgs),
}

/// A bundle of defaults: cluster size, length and the nemeses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// 3 nodes, 60 s, partitions, kill and pause: the CI run.
    Ci,
    /// 5 nodes, 180 s, every nemesis but the clock ones.
    Default,
    /// 5 nodes, 180 s, clock bumps and strobes only.
    Skew,
    /// 5 nodes, 180 s, every nemesis.
    Full,
}

impl Profile {
    /// The name as written on the command line and in `results.json`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Ci => "ci",
            Profile::Default => "default",
            Profile::Skew => "skew",
            Profile::Full => "full",
        }
    }
}

/// `jepsen-like run`'s flags; unset ones come from the profile.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// Nodes in the cluster (the profile's when unset).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Replication factor of the test keyspace.
    #[arg(long, default_value_t = 3)]
    pub rf: usize,
    /// Seconds of workload (the profile's when unset); the final phase follows.
    #[arg(long)]
    pub time: Option<u64>,
    /// Workloads, comma-separated: register, register-coord, set, delete,
    /// session, batch (all when unset).
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Nemeses, comma-separated: partition-one, partition-halves, bridge,
    /// majorities-ring, one-way, loss, kill, pause, clock-bump, clock-strobe,
    /// flush, compact (the profile's when unset).
    #[arg(long, value_delimiter = ',')]
    pub nemeses: Vec<String>,
    /// Seed of the nemesis plan and the workloads' choices (random when unset).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = Profile::Default)]
    pub profile: Profile,
    /// The `basalt` binary; without it `cargo build --release -p basalt` runs.
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// A bug to switch on in the nodes (`BASALT_CANARY`); needs a build with
    /// the `fault-injection` feature.
    #[arg(long)]
    pub canary: Option<String>,
    /// The run directory (default `target/jepsen-like/<UTC timestamp>`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The hosts' /24: `10.x.y` (nodes get .1 …, the bridge .254).
    #[arg(long, default_value = "10.99.0")]
    pub subnet: String,
}

/// Parses the command line and runs it; the process's exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg_attr(
        not(feature = "sim"),
        expect(
            clippy::infallible_destructuring_match,
            reason = "`sim` is a second command in builds with the sim feature"
        )
    )]
    let args = match cli.command {
        Command::Run(args) => args,
        #[cfg(feature = "sim")]
        Command::Sim(args) => return crate::sim::main(&args),
    };
    let settings = match crate::settings::Settings::resolve(&args) {
        Ok(settings) => settings,
        Err(problem) => {
            eprintln!("jepsen-like: {problem}");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(crate::run::run(settings))
}
