//! Medians over repetitions and the markdown table with the basalt / fjall ratio and goals.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::EngineKind;

/// Every figure collected, per engine and metric, one value per repetition.
#[derive(Debug, Default)]
pub(crate) struct Results {
    values: BTreeMap<(String, String), Vec<f64>>,
}

impl Results {
    pub(crate) fn add(&mut self, engine: EngineKind, metric: &str, value: f64) {
        self.values
            .entry((engine.name().to_owned(), metric.to_owned()))
            .or_default()
            .push(value);
    }

    pub(crate) fn median(&self, engine: &str, metric: &str) -> Option<f64> {
        median(self.values.get(&(engine.to_owned(), metric.to_owned()))?)
    }
}

pub(crate) fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// How a row's figures are shown.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Operations or entries per second.
    Rate(&'static str),
    /// p50 / p99 in µs, from two metrics.
    Latency(&'static str, &'static str),
    MiB(&'static str),
    Factor(&'static str),
    Seconds(&'static str),
}

/// What a row has to reach.
#[derive(Debug, Clone, Copy)]
enum Goal {
    None,
    /// basalt / fjall at least this.
    RatioAtLeast(f64),
    /// Basalt's own figure at most this (in the metric's unit).
    BasaltAtMost(f64),
}

const ROWS: &[(&str, Kind, Goal)] = &[
    (
        "(a) insert, WAL written, no fsync (ops/s)",
        Kind::Rate("a_ops"),
        Goal::RatioAtLeast(1.2),
    ),
    (
        "(a) insert p50 / p99",
        Kind::Latency("a_p50_us", "a_p99_us"),
        Goal::None,
    ),
    (
        "(b) insert, fdatasync every 1,000 writes (ops/s)",
        Kind::Rate("b_ops"),
        Goal::RatioAtLeast(1.2),
    ),
    (
        "(b) insert p50 / p99",
        Kind::Latency("b_p50_us", "b_p99_us"),
        Goal::None,
    ),
    (
        "(b) group commit, 4 writers, each acked after fsync (ops/s)",
        Kind::Rate("g_ops"),
        Goal::None,
    ),
    (
        "(b) group commit p50 / p99",
        Kind::Latency("g_p50_us", "g_p99_us"),
        Goal::None,
    ),
    (
        "flush + compaction settle after (a) (s)",
        Kind::Seconds("flush_settle_s"),
        Goal::None,
    ),
    (
        "(c) random point read, present keys (ops/s)",
        Kind::Rate("c_ops"),
        Goal::RatioAtLeast(1.0),
    ),
    (
        "(c) point read p50 / p99",
        Kind::Latency("c_p50_us", "c_p99_us"),
        Goal::None,
    ),
    (
        "(d) point read, absent keys (ops/s)",
        Kind::Rate("d_ops"),
        Goal::RatioAtLeast(1.0),
    ),
    (
        "(d) absent read p50 / p99 (1 in 8 timed)",
        Kind::Latency("d_p50_us", "d_p99_us"),
        Goal::None,
    ),
    (
        "(e) full ordered scan (entries/s)",
        Kind::Rate("e_entries_s"),
        Goal::RatioAtLeast(0.8),
    ),
    (
        "on disk after full compaction + close",
        Kind::MiB("disk_bytes"),
        Goal::None,
    ),
    (
        "write amplification: wchar, load + flush + compaction",
        Kind::Factor("wa_wchar"),
        Goal::BasaltAtMost(2.5),
    ),
    (
        "write amplification: device write_bytes, same window",
        Kind::Factor("wa_device"),
        Goal::None,
    ),
    (
        "write amplification: wchar, also major compaction",
        Kind::Factor("wa_wchar_major"),
        Goal::None,
    ),
    (
        "peak RSS, engine alone",
        Kind::MiB("peak_rss_bytes"),
        Goal::BasaltAtMost(200.0 * MIB),
    ),
];

const MIB: f64 = 1024.0 * 1024.0;

fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn fmt_value(kind: Kind, r: &Results, engine: &str) -> Option<String> {
    let m = |name| r.median(engine, name);
    Some(match kind {
        Kind::Rate(n) => fmt_rate(m(n)?),
        Kind::Latency(p50, p99) => format!("{:.2} / {:.2} µs", m(p50)?, m(p99)?),
        Kind::MiB(n) => format!("{:.0} MiB", m(n)? / MIB),
        Kind::Factor(n) => format!("{:.2}", m(n)?),
        Kind::Seconds(n) => format!("{:.1} s", m(n)?),
    })
}

fn primary(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Rate(n) | Kind::MiB(n) | Kind::Factor(n) | Kind::Seconds(n) => Some(n),
        Kind::Latency(..) => None,
    }
}

fn goal_cell(goal: Goal, ratio: Option<f64>, basalt: Option<f64>) -> String {
    let verdict = |ok: bool| if ok { "met" } else { "missed" };
    match goal {
        Goal::None => String::new(),
        Goal::RatioAtLeast(g) => match ratio {
            Some(x) => format!("≥ {g:.1}×: {}", verdict(x >= g)),
            None => format!("≥ {g:.1}×: —"),
        },
        Goal::BasaltAtMost(g) => {
            let shown = if g > MIB {
                format!("{:.0} MiB", g / MIB)
            } else {
                format!("{g}")
            };
            match basalt {
                Some(x) => format!("≤ {shown}: {}", verdict(x <= g)),
                None => format!("≤ {shown}: —"),
            }
        }
    }
}

/// The markdown table; engines not run show "—".
pub(crate) fn table(r: &Results, reps: u32, keys: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{keys} keys, medians of {reps} run(s), engine order alternated\n"
    );
    let _ = writeln!(out, "| workload | basalt | fjall | basalt / fjall | goal |");
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    for &(label, kind, goal) in ROWS {
        let b = fmt_value(kind, r, "basalt");
        let f = fmt_value(kind, r, "fjall");
        if b.is_none() && f.is_none() {
            continue;
        }
        let pb = primary(kind).and_then(|n| r.median("basalt", n));
        let pf = primary(kind).and_then(|n| r.median("fjall", n));
        let ratio = pb.zip(pf).filter(|(_, f)| *f > 0.0).map(|(b, f)| b / f);
        let ratio_s = ratio.map_or(String::new(), |x| format!("{x:.2}"));
        let dash = || "—".to_owned();
        let (b, f) = (b.unwrap_or_else(dash), f.unwrap_or_else(dash));
        let g = goal_cell(goal, ratio, pb);
        let _ = writeln!(out, "| {label} | {b} | {f} | {ratio_s} | {g} |");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn rates_are_readable() {
        assert_eq!(fmt_rate(375_000.0), "375k");
        assert_eq!(fmt_rate(3_480_000.0), "3.48M");
        assert_eq!(fmt_rate(512.0), "512");
    }

    #[test]
    fn table_has_ratios_and_verdicts() {
        let mut r = Results::default();
        for v in [500e3, 450e3, 460e3] {
            r.add(EngineKind::Basalt, "a_ops", v);
        }
        for v in [375e3, 380e3, 370e3] {
            r.add(EngineKind::Fjall, "a_ops", v);
        }
        r.add(EngineKind::Basalt, "c_ops", 200e3);
        r.add(EngineKind::Fjall, "c_ops", 273e3);
        r.add(EngineKind::Basalt, "peak_rss_bytes", 150.0 * MIB);
        r.add(EngineKind::Fjall, "wa_wchar", 3.5);
        let t = table(&r, 3, 1000);
        assert!(
            t.contains(
                "| (a) insert, WAL written, no fsync (ops/s) | 460k | 375k | 1.23 | ≥ 1.2×: met |"
            ),
            "{t}"
        );
        assert!(t.contains("| 200k | 273k | 0.73 | ≥ 1.0×: missed |"), "{t}");
        assert!(
            t.contains("| peak RSS, engine alone | 150 MiB | — |  | ≤ 200 MiB: met |"),
            "{t}"
        );
        assert!(t.contains("| — | 3.50 |  | ≤ 2.5: — |"), "{t}");
        assert!(
            !t.contains("(e) full ordered scan"),
            "rows without data are left out: {t}"
        );
    }
}
