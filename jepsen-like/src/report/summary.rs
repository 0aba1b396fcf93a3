//! The terminal summary printed at the end of a run: the run, a table per
//! workload, faults by kind, one line per verdict, the overall result and,
//! last, `N passed, N failed` for CI's closing-line parser.

use std::fmt::Write as _;

use super::RunMeta;
use super::model::Model;
use super::stats::{self, WorkloadStats};
use crate::checker::{Validity, Verdict};

pub(crate) fn render(model: &Model<'_>, verdicts: &[Verdict], meta: &RunMeta) -> String {
    let mut out = String::new();
    header(&mut out, meta);
    table(&mut out, model);
    nemesis(&mut out, model);
    for verdict in verdicts {
        let _ = writeln!(
            out,
            "{:<8} {:<44} {}",
            validity_word(verdict.validity),
            plain(&verdict.property),
            plain(&verdict.summary)
        );
    }
    let _ = writeln!(out, "RESULT {}", validity_word(overall(verdicts)));
    let failed = verdicts
        .iter()
        .filter(|v| v.validity != Validity::Valid)
        .count();
    let _ = writeln!(out, "{} passed, {failed} failed", verdicts.len() - failed);
    out
}

/// Invalid if any verdict is; else unknown if any is, or if there is none
/// (nothing was shown to hold); else valid.
pub(crate) fn overall(verdicts: &[Verdict]) -> Validity {
    if verdicts.iter().any(|v| v.validity == Validity::Invalid) {
        Validity::Invalid
    } else if verdicts.is_empty() || verdicts.iter().any(|v| v.validity == Validity::Unknown) {
        Validity::Unknown
    } else {
        Validity::Valid
    }
}

pub(crate) fn validity_word(validity: Validity) -> &'static str {
    match validity {
        Validity::Valid => "valid",
        Validity::Invalid => "invalid",
        Validity::Unknown => "unknown",
    }
}

fn header(out: &mut String, meta: &RunMeta) {
    let _ = writeln!(
        out,
        "jepsen-like run seed={} nodes={} rf={} time={}s profile={}  workloads={}  nemesis={}",
        meta.seed,
        meta.nodes,
        meta.replication_factor,
        meta.time_s,
        plain(&meta.profile),
        plain(&meta.workloads.join(",")),
        plain(&meta.nemeses.join(",")),
    );
    if !meta.started_at.is_empty() || !meta.binary.is_empty() {
        let _ = writeln!(
            out,
            "started {}  binary {}",
            plain(&meta.started_at),
            plain(&meta.binary)
        );
    }
}

fn table(out: &mut String, model: &Model<'_>) {
    let _ = writeln!(
        out,
        "{:<16}{:>10}{:>8}{:>7}{:>7}{:>8}{:>8}{:>8}   (healthy | faulted windows avail%)",
        "ops", "attempted", "ok", "fail", "info", "avail%", "p50ms", "p99ms"
    );
    for (workload, stats) in stats::per_workload(model) {
        table_row(out, workload, &stats);
    }
    let finals = stats::final_reads(model);
    if finals.attempted() > 0 {
        let _ = writeln!(
            out,
            "final reads: {} ok, {} fail, {} info of {}",
            finals.ok,
            finals.fail,
            finals.info,
            finals.attempted()
        );
    }
    if model.malformed > 0 {
        let _ = writeln!(
            out,
            "malformed history: {} unpaired events",
            model.malformed
        );
    }
}

fn table_row(out: &mut String, workload: &str, stats: &WorkloadStats) {
    let c = stats.counts;
    let _ = writeln!(
        out,
        "{:<16}{:>10}{:>8}{:>7}{:>7}{:>8}{:>8}{:>8}   ({} | {})",
        plain(workload),
        c.attempted(),
        c.ok,
        c.fail,
        c.info,
        figure(c.availability()),
        figure(stats.quantile_ms(0.5)),
        figure(stats.quantile_ms(0.99)),
        figure(stats.healthy.availability()),
        figure(stats.faulted.availability()),
    );
}

fn nemesis(out: &mut String, model: &Model<'_>) {
    let kinds = stats::faults_by_kind(model);
    let list: Vec<String> = kinds
        .iter()
        .map(|(kind, n)| format!("{} x{n}", plain(kind)))
        .collect();
    let _ = writeln!(
        out,
        "nemesis: {} faults ({}), max concurrent {}",
        model.windows.len(),
        list.join(", "),
        stats::max_concurrent_faults(model)
    );
}

/// One decimal, or `-` when there is nothing to measure.
fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// Text from the history or the checkers, made safe for a terminal: a
/// control character (an escape sequence, a newline) becomes `?`.
pub(crate) fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(plain("a\u{1b}[2Jb\nc"), "a?[2Jb?c");
    }

    #[test]
    fn figures_have_one_decimal_or_a_dash() {
        assert_eq!(figure(Some(93.6666)), "93.7");
        assert_eq!(figure(None), "-");
    }
}
