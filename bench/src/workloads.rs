//! The workloads of performance.md §1, run inside one child process per engine and phase.
//!
//! Each phase returns named metrics; the parent takes medians over repetitions. Nothing is
//! printed while a phase runs, so the process's own write counters see only the engine.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use hdrhistogram::Histogram;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::data::{DataSet, VALUE_LEN, raw_bytes};
use crate::engine::{self, EngineKind, KvEngine, WalMode};
use crate::sysinfo::{IoCounters, dir_bytes, peak_rss_bytes};

/// Which part of the benchmark a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Phase {
    /// (a) load, flush + settle, write amplification, (c), (d), (e), major compaction, disk, RSS.
    Main,
    /// (b) load with an fdatasync every 1,000 writes.
    Synced,
    /// (b) Basalt only: group commit with concurrent writers.
    Group,
}

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) keys: u64,
    pub(crate) reads: u64,
    pub(crate) group_keys: u64,
    pub(crate) group_threads: u64,
    pub(crate) seed: u64,
}

/// Writes per fdatasync in workload (b).
const SYNC_EVERY: u64 = 1_000;
/// Absent-key reads are ~300 ns: time only every 8th so the clock does not dominate.
const ABSENT_SAMPLE_EVERY: u64 = 8;

/// Named results of one phase.
pub(crate) type Metrics = Vec<(&'static str, f64)>;

pub(crate) fn run(kind: EngineKind, phase: Phase, dir: &Path, cfg: &Config) -> Result<Metrics> {
    match phase {
        Phase::Main => run_main(kind, dir, cfg),
        Phase::Synced => run_synced(kind, dir, cfg),
        Phase::Group => run_group(kind, dir, cfg),
    }
}

fn new_hist() -> Histogram<u64> {
    // 1 ns .. 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("static histogram bounds are valid")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
}

/// Throughput and latency percentiles of one timed loop.
#[derive(Debug, Clone, Copy)]
struct OpStats {
    ops_s: f64,
    p50_us: f64,
    p99_us: f64,
}

impl OpStats {
    fn new(ops: u64, elapsed: Duration, h: &Histogram<u64>) -> Self {
        Self {
            ops_s: ops as f64 / elapsed.as_secs_f64(),
            p50_us: h.value_at_quantile(0.50) as f64 / 1e3,
            p99_us: h.value_at_quantile(0.99) as f64 / 1e3,
        }
    }

    fn push(&self, m: &mut Metrics, names: [&'static str; 3]) {
        m.extend([
            (names[0], self.ops_s),
            (names[1], self.p50_us),
            (names[2], self.p99_us),
        ]);
    }
}

/// Inserts keys `ids` in order; with `sync_every`, forces the WAL to disk after every n-th write
/// (that write's latency includes the fsync).
fn load(
    e: &dyn KvEngine,
    data: &DataSet,
    ids: impl Iterator<Item = u64>,
    sync_every: Option<u64>,
    h: &mut Histogram<u64>,
) -> Result<u64> {
    let mut value = [0u8; VALUE_LEN];
    let mut n = 0;
    for i in ids {
        let key = data.present_key(i);
        data.value(i, &mut value);
        let t = Instant::now();
        e.insert(&key, &value)?;
        n += 1;
        if sync_every.is_some_and(|every| n % every == 0) {
            e.sync_wal()?;
        }
        record(h, t.elapsed());
    }
    Ok(n)
}

fn timed_load(e: &dyn KvEngine, cfg: &Config, sync_every: Option<u64>) -> Result<OpStats> {
    let data = DataSet::new(cfg.seed);
    let mut h = new_hist();
    let start = Instant::now();
    let n = load(e, &data, 0..cfg.keys, sync_every, &mut h)?;
    Ok(OpStats::new(n, start.elapsed(), &h))
}

/// (c) or (d): `cfg.reads` point reads of random present keys, or of absent keys.
fn point_reads(e: &dyn KvEngine, cfg: &Config, present: bool) -> Result<OpStats> {
    let data = DataSet::new(cfg.seed);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed ^ u64::from(present));
    let sample_every = if present { 1 } else { ABSENT_SAMPLE_EVERY };
    let (mut h, mut wrong) = (new_hist(), 0u64);
    let start = Instant::now();
    for n in 0..cfg.reads {
        let i = rng.random_range(0..cfg.keys);
        let key = if present {
            data.present_key(i)
        } else {
            data.absent_key(i)
        };
        let expect = present.then_some(VALUE_LEN);
        if n % sample_every == 0 {
            let t = Instant::now();
            wrong += u64::from(e.get(&key)? != expect);
            record(&mut h, t.elapsed());
        } else {
            wrong += u64::from(e.get(&key)? != expect);
        }
    }
    let stats = OpStats::new(cfg.reads, start.elapsed(), &h);
    ensure!(
        wrong == 0,
        "{wrong} of {} point reads (present={present}) were wrong",
        cfg.reads
    );
    Ok(stats)
}

fn ratio(bytes: u64, keys: u64) -> f64 {
    bytes as f64 / raw_bytes(keys) as f64
}

/// (a), then the read workloads on the settled tree, then major compaction, close and sizes.
fn run_main(kind: EngineKind, dir: &Path, cfg: &Config) -> Result<Metrics> {
    let mut m = Metrics::new();
    let io0 = IoCounters::read()?;
    let e = engine::open(kind, dir, WalMode::Buffered)?;
    timed_load(e.as_ref(), cfg, None)?.push(&mut m, ["a_ops", "a_p50_us", "a_p99_us"]);
    let t = Instant::now();
    e.flush()?;
    e.settle()?;
    m.push(("flush_settle_s", t.elapsed().as_secs_f64()));
    let io1 = IoCounters::read()?;
    m.push(("wa_wchar", ratio(io1.wchar - io0.wchar, cfg.keys)));
    m.push((
        "wa_device",
        ratio(
            io1.device_bytes().saturating_sub(io0.device_bytes()),
            cfg.keys,
        ),
    ));

    point_reads(e.as_ref(), cfg, true)?.push(&mut m, ["c_ops", "c_p50_us", "c_p99_us"]);
    point_reads(e.as_ref(), cfg, false)?.push(&mut m, ["d_ops", "d_p50_us", "d_p99_us"]);
    let t = Instant::now();
    let entries = e.scan()?;
    m.push(("e_entries_s", entries as f64 / t.elapsed().as_secs_f64()));
    ensure!(
        entries == cfg.keys,
        "scan saw {entries} entries, expected {}",
        cfg.keys
    );

    e.major_compact()?;
    let io2 = IoCounters::read()?;
    m.push(("wa_wchar_major", ratio(io2.wchar - io0.wchar, cfg.keys)));
    e.close()?;
    m.push(("disk_bytes", dir_bytes(dir)? as f64));
    m.push(("peak_rss_bytes", peak_rss_bytes()? as f64));
    Ok(m)
}

/// (b): a fresh load with an fdatasync every 1,000 writes.
fn run_synced(kind: EngineKind, dir: &Path, cfg: &Config) -> Result<Metrics> {
    let mut m = Metrics::new();
    let e = engine::open(kind, dir, WalMode::Buffered)?;
    timed_load(e.as_ref(), cfg, Some(SYNC_EVERY))?.push(&mut m, ["b_ops", "b_p50_us", "b_p99_us"]);
    e.close()?;
    Ok(m)
}

/// (b) with group commit: `group_threads` writers share `group_keys` inserts, each insert
/// acknowledged only after the fsync that covers it.
fn run_group(kind: EngineKind, dir: &Path, cfg: &Config) -> Result<Metrics> {
    let e = engine::open(kind, dir, WalMode::Group)?;
    let data = DataSet::new(cfg.seed);
    let (threads, keys) = (cfg.group_threads.max(1), cfg.group_keys);
    let start = Instant::now();
    let hists = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let e = e.as_ref();
                s.spawn(move || -> Result<Histogram<u64>> {
                    let mut h = new_hist();
                    load(e, &data, (t..keys).step_by(threads as usize), None, &mut h)?;
                    Ok(h)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("writer thread panicked"))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let elapsed = start.elapsed();
    let mut h = new_hist();
    for part in &hists {
        h.add(part)?;
    }
    let mut m = Metrics::new();
    OpStats::new(keys, elapsed, &h).push(&mut m, ["g_ops", "g_p50_us", "g_p99_us"]);
    e.close()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Config {
        Config {
            keys: 3_000,
            reads: 2_000,
            group_keys: 400,
            group_threads: 4,
            seed: 3,
        }
    }

    fn get(m: &Metrics, name: &str) -> f64 {
        m.iter()
            .find(|(n, _)| *n == name)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    #[test]
    fn fjall_main_phase_reports_everything() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let m = run(EngineKind::Fjall, Phase::Main, dir.path(), &small())?;
        for name in [
            "a_ops",
            "c_ops",
            "d_ops",
            "e_entries_s",
            "disk_bytes",
            "peak_rss_bytes",
        ] {
            assert!(get(&m, name) > 0.0, "{name} = {}", get(&m, name));
        }
        assert!(get(&m, "a_p99_us") >= get(&m, "a_p50_us"));
        // The journal alone carries every raw byte once.
        assert!(get(&m, "wa_wchar") >= 1.0, "wa {}", get(&m, "wa_wchar"));
        assert!(get(&m, "wa_wchar_major") >= get(&m, "wa_wchar"));
        Ok(())
    }

    #[test]
    fn fjall_synced_phase_and_no_group_mode() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let m = run(EngineKind::Fjall, Phase::Synced, dir.path(), &small())?;
        assert!(get(&m, "b_ops") > 0.0);
        let dir = tempfile::tempdir()?;
        assert!(run(EngineKind::Fjall, Phase::Group, dir.path(), &small()).is_err());
        Ok(())
    }

    #[test]
    fn wrong_reads_are_detected() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let e = engine::open(EngineKind::Fjall, dir.path(), WalMode::Buffered)?;
        let cfg = small();
        // Nothing loaded: every "present" read misses, which must be an error, not a figure.
        assert!(point_reads(e.as_ref(), &cfg, true).is_err());
        assert!(point_reads(e.as_ref(), &cfg, false).is_ok());
        e.close()
    }
}
