//! One run of the process tier, start to finish: tools and binary, hosts,
//! nodes, schema, workloads under the nemesis, the final phase, the checkers,
//! the run directory and the exit status. Every exit path tears the hosts
//! down: the guard on return or panic, the signal handler on Ctrl-C or
//! SIGTERM, and a watchdog thread at the hard deadline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::checker::{Validity, Verdict, check_all};
use crate::history::Event;
use crate::nemesis::{Nemesis, Plan, heal_all};
use crate::netns::{self, HostsGuard, SetupError};
use crate::nodes::Cluster;
use crate::recorder::Recorder;
use crate::report::{RunMeta, render_html, summary_text};
use crate::settings::Settings;
use crate::workload::{self, Ctx, Workload};
use crate::{clock, final_phase};

/// Past the planned time, a run is cut off after this much.
const OVERRUN: Duration = Duration::from_secs(180);
/// Bounds of the phases around the workload.
const FIRST_NODE_UP: Duration = Duration::from_secs(60);
const RING_FORMS: Duration = Duration::from_secs(90);
const SCHEMA_AGREES: Duration = Duration::from_secs(60);
const FINAL_RING: Duration = Duration::from_secs(30);
const HINTS_DRAIN: Duration = Duration::from_secs(20);
const FINAL_READS: Duration = Duration::from_secs(60);

/// The exit status of a run that could not decide.
const UNDECIDED: u8 = 2;

/// Runs the whole thing; the exit status (0 valid, 1 invalid, 2 unknown).
pub(crate) fn run(settings: Settings) -> u8 {
    match prepare(&settings) {
        Ok((dir, binary, meta)) => run_prepared(&settings, &dir, binary, &meta),
        Err(problem) => {
            eprintln!("jepsen-like: {problem}");
            UNDECIDED
        }
    }
}

/// The workspace root (for `target/`), from cargo, or the current directory.
fn workspace_root() -> PathBuf {
    let located = netns::run_cmd(
        "cargo",
        &["locate-project", "--workspace", "--message-format", "plain"],
    );
    match located {
        Ok(path) => PathBuf::from(path.trim())
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        Err(_) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    }
}

/// `--binary`, or a fresh `cargo build --release -p basalt`.
fn binary(settings: &Settings, root: &Path) -> Result<PathBuf, String> {
    if let Some(path) = &settings.binary {
        return std::fs::canonicalize(path)
            .map_err(|e| format!("--binary {}: {e}", path.display()));
    }
    let mut args = vec!["build", "--release", "-p", "basalt"];
    if settings.canary.is_some() {
        args.extend(["--features", "fault-injection"]);
    }
    println!("building: cargo {}", args.join(" "));
    let status = std::process::Command::new("cargo")
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo {} failed", args.join(" ")));
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release").join("basalt"))
}

/// Tools, binary and run directory; the run's description.
fn prepare(settings: &Settings) -> Result<(PathBuf, PathBuf, RunMeta), String> {
    netns::ensure_tools()?;
    let root = workspace_root();
    let binary = binary(settings, &root)?;
    let now = clock::wall_micros();
    let dir = match &settings.dir {
        Some(dir) => dir.clone(),
        None => root
            .join("target")
            .join("jepsen-like")
            .join(clock::compact_utc(now)),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let meta = RunMeta {
        seed: settings.seed,
        nodes: settings.nodes,
        replication_factor: settings.rf,
        time_s: settings.time_s,
        profile: settings.profile.name().to_owned(),
        workloads: settings
            .workloads
            .iter()
            .map(|w| w.name().to_owned())
            .collect(),
        nemeses: settings
            .nemeses
            .iter()
            .map(|k| k.name().to_owned())
            .collect(),
        started_at: clock::rfc3339(now),
        binary: binary.display().to_string(),
    };
    Ok((dir, binary, meta))
}

/// From the hosts up: everything that must be torn down afterwards.
fn run_prepared(settings: &Settings, dir: &Path, binary: PathBuf, meta: &RunMeta) -> u8 {
    let plan = Plan::generate(
        settings.seed,
        settings.nodes,
        settings.time_s,
        &settings.nemeses,
    );
    println!(
        "jepsen-like run seed={} nodes={} rf={} time={}s profile={} dir={}",
        settings.seed,
        settings.nodes,
        settings.rf,
        settings.time_s,
        settings.profile.name(),
        dir.display()
    );
    println!(
        "nemesis plan ({} faults):\n{}",
        plan.steps.len(),
        plan.render()
    );
    // Held until the process exits, however it exits: the hosts have fixed
    // names, so a second run would tear down the first one's.
    let _lock = match lock_hosts() {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("jepsen-like: {e}");
            return UNDECIDED;
        }
    };
    watchdog(Duration::from_secs(settings.time_s) + OVERRUN);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jepsen-like: tokio: {e}");
            return UNDECIDED;
        }
    };
    // From here a Ctrl-C or SIGTERM is only noted, not fatal, until the
    // select below acts on it: the hosts being set up are torn down too.
    let mut signals = runtime.block_on(async { Signals::new() });
    let _guard = HostsGuard;
    match netns::setup(settings.subnet, settings.nodes) {
        Ok(()) => {}
        Err(SetupError::NoNamespaces(e)) => {
            eprintln!(
                "jepsen-like: cannot create network namespaces ({e}); run as root (CAP_NET_ADMIN)"
            );
            return UNDECIDED;
        }
        Err(SetupError::Failed(e)) => {
            eprintln!("jepsen-like: setting up the hosts failed: {e}");
            return UNDECIDED;
        }
    }
    let code = runtime.block_on(async {
        tokio::select! {
            code = run_cluster(settings, dir, binary, meta, &plan) => code,
            signal = signals.received() => {
                eprintln!("jepsen-like: {signal}: tearing down");
                UNDECIDED
            }
        }
    });
    // Kill the nodes before the runtime (and its child handles) goes away;
    // the guard then removes the namespaces.
    netns::teardown();
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Takes the machine-wide lock on the test hosts. The kernel drops it when
/// the holder dies, so a crashed run's leftovers are ours to remove, while a
/// live run's hosts are never touched.
fn lock_hosts() -> Result<std::fs::File, String> {
    let dir = Path::new("/run/lock");
    let dir = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let path = dir.join("jepsen-like.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another jepsen-like run holds {} (one cluster at a time)",
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
    }
}

/// SIGINT and SIGTERM, caught from creation on.
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Must be called inside the runtime.
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves on SIGINT or SIGTERM (also one received before the call),
    /// naming it. Without handlers the default action (exit) applies and the
    /// next run removes what is left.
    async fn received(&mut self) -> &'static str {
        let (Some(int), Some(term)) = (self.int.as_mut(), self.term.as_mut()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
}

/// At the hard deadline, whatever the run is doing: tear down, exit 2.
fn watchdog(after: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        eprintln!("jepsen-like: the run overran its hard deadline ({after:?}): tearing down");
        netns::teardown();
        std::process::exit(i32::from(UNDECIDED));
    });
}

/// Nodes up, ring formed, schema everywhere.
async fn start_cluster(cluster: &Cluster, settings: &Settings) -> Result<(), String> {
    cluster.start(1, "started").await?;
    if !cluster.wait_cql(1, Instant::now() + FIRST_NODE_UP).await {
        return Err("n1 did not open its CQL port (see n1/node.log)".to_owned());
    }
    for i in 2..=cluster.len() {
        cluster.start(i, "started").await?;
    }
    let deadline = Instant::now() + RING_FORMS;
    for i in 2..=cluster.len() {
        if !cluster.wait_cql(i, deadline).await {
            return Err(format!(
                "n{i} did not open its CQL port (see n{i}/node.log)"
            ));
        }
    }
    let all: Vec<usize> = (1..=cluster.len()).collect();
    cluster
        .wait_ring(&all, deadline)
        .await
        .map_err(|e| format!("the ring did not form: {e}"))?;
    let inactive = cluster.canary_inactive();
    if !inactive.is_empty() {
        return Err(format!(
            "the canary is not active in nodes {inactive:?}: is the binary built with --features fault-injection?"
        ));
    }
    let missing = cluster.check_faketime().await;
    if missing.is_empty() {
        println!("libfaketime is loaded in every node: clock faults act at once");
    } else {
        println!(
            "libfaketime is not loaded in {missing:?}: clock faults restart nodes with clock_offset"
        );
    }
    let nodes = workload::TcpConnector {
        addrs: all.iter().map(|&i| cluster.cql_addr(i)).collect(),
    };
    workload::create_schema(&nodes, settings.rf, Instant::now() + SCHEMA_AGREES).await
}

async fn run_cluster(
    settings: &Settings,
    dir: &Path,
    binary: PathBuf,
    meta: &RunMeta,
    plan: &Plan,
) -> u8 {
    let prepared = Cluster::prepare(
        dir,
        settings.subnet,
        settings.nodes,
        binary,
        settings.canary.clone(),
    );
    let cluster = match prepared {
        Ok(cluster) => Arc::new(cluster),
        Err(e) => {
            eprintln!("jepsen-like: writing the node configurations: {e}");
            return UNDECIDED;
        }
    };
    println!("starting {} nodes", settings.nodes);
    if let Err(e) = start_cluster(&cluster, settings).await {
        eprintln!("jepsen-like: {e}");
        cluster.stop_all().await;
        return UNDECIDED;
    }
    println!("cluster up; running the workload for {} s", settings.time_s);
    let outcome = workload_and_final(&cluster, settings, dir, plan).await;
    cluster.stop_all().await;
    let (events, convergence) = match outcome {
        Ok(done) => done,
        Err(e) => {
            eprintln!("jepsen-like: {e}");
            return UNDECIDED;
        }
    };
    let mut verdicts = check_all(&events);
    verdicts.push(convergence);
    finish(dir, &events, &verdicts, meta)
}

/// The workload under the nemesis, then the final phase; the history and the
/// convergence verdict.
async fn workload_and_final(
    cluster: &Arc<Cluster>,
    settings: &Settings,
    dir: &Path,
    plan: &Plan,
) -> Result<(Vec<Event>, Verdict), String> {
    let (recorder, writer) =
        Recorder::create(&dir.join("history.jsonl")).map_err(|e| format!("history.jsonl: {e}"))?;
    let nemesis = Nemesis::new(
        Arc::clone(cluster),
        recorder.clone(),
        settings.subnet,
        &dir.join("nemesis.log"),
    )
    .map_err(|e| format!("nemesis.log: {e}"))?;
    nemesis.log(&format!(
        "plan (seed {}):\n{}",
        settings.seed,
        plan.render()
    ));
    let ctx = Arc::new(Ctx {
        recorder: recorder.clone(),
        nodes: Arc::new(workload::TcpConnector {
            addrs: (1..=cluster.len()).map(|i| cluster.cql_addr(i)).collect(),
        }),
        stop_at: recorder.start() + Duration::from_secs(settings.time_s),
        think_ms: workload::THINK_MS,
    });
    drop(recorder);
    tokio::join!(
        nemesis.run(plan),
        workload::run_workers(Arc::clone(&ctx), &settings.workloads, settings.seed)
    );
    println!("workload done; final phase");
    heal_all(&nemesis).await;
    let all: Vec<usize> = (1..=cluster.len()).collect();
    match cluster.wait_ring(&all, Instant::now() + FINAL_RING).await {
        Ok(()) => nemesis.log("final: every node sees every other up"),
        Err(e) => nemesis.log(&format!("final: the ring did not heal in time: {e}")),
    }
    let left = final_phase::drain(cluster, Instant::now() + HINTS_DRAIN).await;
    nemesis.log(&format!("final: pending after the drain: {left:?}"));
    workload::final_reads(
        Arc::clone(&ctx),
        &settings.workloads,
        Instant::now() + FINAL_READS,
    )
    .await;
    let tables = tables(&settings.workloads);
    let convergence = final_phase::convergence(cluster, &tables).await;
    drop(ctx);
    drop(nemesis);
    let events = writer.await.map_err(|e| format!("history writer: {e}"))??;
    Ok((events, convergence))
}

/// The tables `workloads` write.
fn tables(workloads: &[Workload]) -> Vec<&'static str> {
    let mut tables = Vec::new();
    if workloads.iter().any(|w| {
        matches!(
            w,
            Workload::Register | Workload::RegisterCoord | Workload::Session
        )
    }) {
        tables.push("register");
    }
    if workloads
        .iter()
        .any(|w| matches!(w, Workload::Set | Workload::Delete | Workload::Batch))
    {
        tables.push("sets");
    }
    tables
}

/// Writes `results.json` and `report.html`, prints the summary; the exit
/// status.
fn finish(dir: &Path, events: &[Event], verdicts: &[Verdict], meta: &RunMeta) -> u8 {
    let code = exit_code(verdicts);
    let results = serde_json::json!({ "meta": meta, "verdicts": verdicts, "exit": code });
    let pretty = serde_json::to_string_pretty(&results).unwrap_or_default();
    if let Err(e) = std::fs::write(dir.join("results.json"), pretty) {
        eprintln!("jepsen-like: results.json: {e}");
    }
    if let Err(e) = std::fs::write(dir.join("report.html"), render_html(events, verdicts, meta)) {
        eprintln!("jepsen-like: report.html: {e}");
    }
    // The summary's last line (`N passed, N failed`) stays the output's last
    // line: CI reads it.
    println!("run directory: {}", dir.display());
    print!("{}", summary_text(events, verdicts, meta));
    code
}

/// 1 if any verdict is invalid, else 2 if any is unknown (or there are
/// none), else 0.
pub(crate) fn exit_code(verdicts: &[Verdict]) -> u8 {
    if verdicts.iter().any(|v| v.validity == Validity::Invalid) {
        1
    } else if verdicts.is_empty() || verdicts.iter().any(|v| v.validity == Validity::Unknown) {
        UNDECIDED
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn verdict(validity: Validity) -> Verdict {
        Verdict {
            property: "p".into(),
            validity,
            summary: String::new(),
            figures: BTreeMap::new(),
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn exit_codes_follow_the_verdicts() {
        use Validity::*;
        assert_eq!(exit_code(&[verdict(Valid), verdict(Valid)]), 0);
        assert_eq!(exit_code(&[verdict(Valid), verdict(Unknown)]), 2);
        assert_eq!(exit_code(&[verdict(Unknown), verdict(Invalid)]), 1);
        assert_eq!(exit_code(&[]), 2);
    }

    #[test]
    fn only_the_tables_in_use_are_compared() {
        assert_eq!(tables(&[Workload::Set]), ["sets"]);
        assert_eq!(
            tables(&[Workload::Session, Workload::Batch]),
            ["register", "sets"]
        );
    }
}
