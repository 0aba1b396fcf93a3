//! The run's settings: the command line resolved against its profile and
//! checked, before anything is started.

use std::path::PathBuf;

use crate::cli::{Profile, RunArgs};
use crate::nemesis::FaultKind;
use crate::netns::Subnet;
use crate::workload::Workload;

/// The most nodes: addresses .1 … .9 keep names and addresses in step, and
/// two cores do not run more.
const MAX_NODES: usize = 9;
/// The shortest run: the 5 s warm-up and the 20 s without faults at the end
/// leave room for at least one fault window.
const MIN_TIME_S: u64 = 30;

/// Everything a run needs to know.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) nodes: usize,
    pub(crate) rf: usize,
    pub(crate) time_s: u64,
    pub(crate) workloads: Vec<Workload>,
    pub(crate) nemeses: Vec<FaultKind>,
    pub(crate) seed: u64,
    pub(crate) profile: Profile,
    pub(crate) binary: Option<PathBuf>,
    pub(crate) canary: Option<String>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) subnet: Subnet,
}

/// A profile's defaults: nodes, seconds, nemeses.
fn profile_defaults(profile: Profile) -> (usize, u64, Vec<FaultKind>) {
    use FaultKind::*;
    match profile {
        Profile::Ci => (
            3,
            60,
            vec![PartitionOne, PartitionHalves, Bridge, OneWay, Kill, Pause],
        ),
        Profile::Default => (
            5,
            180,
            FaultKind::ALL
                .into_iter()
                .filter(|k| !k.is_clock())
                .collect(),
        ),
        Profile::Skew => (5, 180, vec![ClockBump, ClockStrobe]),
        Profile::Full => (5, 180, FaultKind::ALL.to_vec()),
    }
}

impl Settings {
    /// `args` on top of its profile's defaults, validated.
    pub(crate) fn resolve(args: &RunArgs) -> Result<Settings, String> {
        let (nodes, time_s, nemeses) = profile_defaults(args.profile);
        let nodes = args.nodes.unwrap_or(nodes);
        let time_s = args.time.unwrap_or(time_s);
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(format!("--nodes must be 1 to {MAX_NODES}, not {nodes}"));
        }
        if args.rf == 0 || args.rf > nodes {
            return Err(format!(
                "--rf must be 1 to --nodes ({nodes}), not {}",
                args.rf
            ));
        }
        if time_s < MIN_TIME_S {
            return Err(format!("--time must be at least {MIN_TIME_S} s"));
        }
        let workloads = if args.workloads.is_empty() {
            Workload::ALL.to_vec()
        } else {
            parse_names(&args.workloads, Workload::from_name, "workload")?
        };
        let nemeses = if args.nemeses.is_empty() {
            nemeses
        } else {
            parse_names(&args.nemeses, FaultKind::from_name, "nemesis")?
        };
        if let Some(kind) = nemeses.iter().find(|k| FaultKind::SIM_ONLY.contains(k)) {
            return Err(format!(
                "`{}` is a simulation-tier nemesis (jepsen-like sim): these hosts have no netem",
                kind.name()
            ));
        }
        Ok(Settings {
            nodes,
            rf: args.rf,
            time_s,
            workloads,
            nemeses,
            seed: args.seed.unwrap_or_else(random_seed),
            profile: args.profile,
            binary: args.binary.clone(),
            canary: args.canary.clone(),
            dir: args.dir.clone(),
            subnet: Subnet::parse(&args.subnet)?,
        })
    }
}

/// Names to values, in order, without repeats; an unknown name is an error
/// that lists the known ones.
pub(crate) fn parse_names<T: PartialEq + Copy>(
    names: &[String],
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let value = parse(name).ok_or_else(|| format!("unknown {what} `{name}`"))?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(format!("no {what} given"));
    }
    Ok(out)
}

/// A seed for a run that was not given one; printed, so the run can be
/// repeated.
fn random_seed() -> u64 {
    // The low bits of the wall clock vary run to run; that is all a seed needs.
    crate::clock::wall_micros().unsigned_abs() % 1_000_000_007
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn resolve(line: &[&str]) -> Result<Settings, String> {
        let mut argv = vec!["jepsen-like", "run"];
        argv.extend_from_slice(line);
        match Cli::try_parse_from(argv).expect("flags parse").command {
            Command::Run(args) => Settings::resolve(&args),
            #[cfg(feature = "sim")]
            Command::Sim(_) => unreachable!("the line starts with `run`"),
        }
    }

    #[test]
    fn simulation_only_nemeses_are_refused() {
        let refused = resolve(&["--nemeses", "kill,slow"]).expect_err("slow is sim-only");
        assert!(refused.contains("simulation-tier"), "{refused}");
    }

    #[test]
    fn profiles_give_their_defaults_and_flags_win() {
        let ci = resolve(&["--profile", "ci", "--seed", "7"]).expect("valid");
        assert_eq!((ci.nodes, ci.time_s, ci.seed), (3, 60, 7));
        assert!(ci.nemeses.contains(&FaultKind::Kill));
        assert!(!ci.nemeses.iter().any(|k| k.is_clock()));
        assert_eq!(ci.workloads.len(), Workload::ALL.len());
        let default = resolve(&["--nodes", "4", "--time", "40"]).expect("valid");
        assert_eq!((default.nodes, default.time_s), (4, 40));
        assert!(!default.nemeses.iter().any(|k| k.is_clock()));
        let skew = resolve(&["--profile", "skew"]).expect("valid");
        assert!(skew.nemeses.iter().all(|k| k.is_clock()));
        let full = resolve(&["--profile", "full"]).expect("valid");
        assert_eq!(full.nemeses.len(), FaultKind::ALL.len());
    }

    #[test]
    fn lists_are_parsed_and_checked() {
        let s = resolve(&["--workloads", "set,register,set", "--nemeses", "kill"]).expect("ok");
        assert_eq!(s.workloads, [Workload::Set, Workload::Register]);
        assert_eq!(s.nemeses, [FaultKind::Kill]);
        assert!(resolve(&["--workloads", "bank"]).is_err());
        assert!(resolve(&["--nemeses", "meteor"]).is_err());
    }

    #[test]
    fn sizes_and_the_subnet_are_validated() {
        assert!(resolve(&["--nodes", "2", "--rf", "3"]).is_err());
        assert!(resolve(&["--nodes", "12"]).is_err());
        assert!(resolve(&["--time", "10"]).is_err());
        assert!(resolve(&["--subnet", "192.168.0"]).is_err());
        assert!(resolve(&["--subnet", "10.1.2"]).is_ok());
    }
}
