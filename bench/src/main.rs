//! `storage-bench`: Basalt's storage engine against fjall on the workloads of
//! performance.md §1, side by side in one run.
//!
//! The parent process re-invokes this binary once per (repetition, engine, phase) so that each
//! engine gets its own peak RSS and write counters; children print one JSON line per metric on
//! stdout, the parent takes medians and prints a markdown table.

mod data;
mod engine;
mod fjall_engine;
mod report;
mod sysinfo;
mod workloads;

#[cfg(feature = "basalt")]
mod basalt_engine;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::Parser;

use engine::EngineKind;
use report::Results;
use workloads::{Config, Phase};

#[derive(Debug, Parser)]
#[command(about = "Basalt storage engine vs fjall: inserts, point reads, scans, space, RSS")]
struct Args {
    /// Keys loaded per engine and phase.
    #[arg(long, default_value_t = 2_000_000)]
    keys: u64,
    /// Point reads in each of (c) and (d).
    #[arg(long, default_value_t = 1_000_000)]
    reads: u64,
    /// Inserts in the group-commit row (each waits for an fsync, so keep it modest).
    #[arg(long, default_value_t = 200_000)]
    group_keys: u64,
    /// Concurrent writers in the group-commit row.
    #[arg(long, default_value_t = 4)]
    group_threads: u64,
    /// Repetitions; the table shows medians. Engine order alternates between repetitions.
    #[arg(long, default_value_t = 3)]
    reps: u32,
    /// Engines to run (default: every engine this binary was built with).
    #[arg(long, value_enum, value_delimiter = ',')]
    engines: Vec<EngineKind>,
    /// Parent of the data directories (default: the system temp dir). Removed afterwards.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of keys, values and read order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Child mode: the engine to run (set by the parent).
    #[arg(long, value_enum, hide = true)]
    engine: Option<EngineKind>,
    /// Child mode: the phase to run (set by the parent).
    #[arg(long, value_enum, hide = true, requires = "engine")]
    phase: Option<Phase>,
}

impl Args {
    fn config(&self) -> Config {
        Config {
            keys: self.keys,
            reads: self.reads,
            group_keys: self.group_keys.min(self.keys),
            group_threads: self.group_threads,
            seed: self.seed,
        }
    }
}

/// One line of a child's stdout.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    engine: EngineKind,
    metric: String,
    value: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.keys == 0 {
        bail!("--keys must be at least 1");
    }
    match (args.engine, args.phase) {
        (Some(engine), Some(phase)) => child(&args, engine, phase),
        _ => parent(&args),
    }
}

/// Runs one phase in this process; `--dir` is the data directory itself.
fn child(args: &Args, engine: EngineKind, phase: Phase) -> Result<()> {
    let dir = args.dir.as_deref().context("child needs --dir")?;
    let metrics = workloads::run(engine, phase, dir, &args.config())?;
    let mut out = std::io::stdout().lock();
    for (metric, value) in metrics {
        let line = Line {
            engine,
            metric: metric.to_owned(),
            value,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    Ok(())
}

fn default_engines() -> Vec<EngineKind> {
    if cfg!(feature = "basalt") {
        vec![EngineKind::Basalt, EngineKind::Fjall]
    } else {
        vec![EngineKind::Fjall]
    }
}

fn phases(engine: EngineKind) -> &'static [Phase] {
    match engine {
        EngineKind::Basalt => &[Phase::Main, Phase::Synced, Phase::Group],
        EngineKind::Fjall => &[Phase::Main, Phase::Synced],
    }
}

fn parent(args: &Args) -> Result<()> {
    let engines = if args.engines.is_empty() {
        default_engines()
    } else {
        args.engines.clone()
    };
    let root = match &args.dir {
        Some(d) => tempfile::Builder::new()
            .prefix("storage-bench")
            .tempdir_in(d)?,
        None => tempfile::Builder::new().prefix("storage-bench").tempdir()?,
    };
    let mut results = Results::default();
    for rep in 0..args.reps.max(1) {
        let mut order = engines.clone();
        if rep % 2 == 1 {
            order.reverse();
        }
        for &engine in &order {
            for &phase in phases(engine) {
                let dir = root
                    .path()
                    .join(format!("rep{rep}-{}-{phase:?}", engine.name()));
                eprintln!(
                    "storage-bench: rep {}/{} {} {phase:?}",
                    rep + 1,
                    args.reps,
                    engine.name()
                );
                run_child(args, engine, phase, &dir, &mut results)?;
                std::fs::remove_dir_all(&dir).ok();
            }
        }
    }
    print!("{}", report::table(&results, args.reps.max(1), args.keys));
    Ok(())
}

fn run_child(
    args: &Args,
    engine: EngineKind,
    phase: Phase,
    dir: &Path,
    results: &mut Results,
) -> Result<()> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let phase_arg = format!("{phase:?}").to_lowercase();
    let mut child = Command::new(exe)
        .args(["--engine", engine.name(), "--phase", &phase_arg])
        .arg("--dir")
        .arg(dir)
        .args([
            "--keys",
            &args.keys.to_string(),
            "--reads",
            &args.reads.to_string(),
        ])
        .args(["--group-keys", &args.group_keys.to_string()])
        .args(["--group-threads", &args.group_threads.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting child")?;
    let stdout = child.stdout.take().context("child stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("child printed an unexpected line: {line}"))?;
        results.add(parsed.engine, &parsed.metric, parsed.value);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{} {phase:?} child failed: {status}", engine.name());
    }
    Ok(())
}
