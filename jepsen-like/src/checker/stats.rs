//! The `stats` verdict: per workload, how many operations were attempted
//! and how they ended (availability = ok / attempted), and how many faults
//! the nemesis started, by kind. Figures only: valid unless the history is
//! malformed.

use std::collections::BTreeMap;

use super::Verdict;
use super::findings::{Findings, percent};
use super::ops::{self, Outcome, Parsed};

/// How one workload's operations ended.
#[derive(Debug, Default)]
struct Tally {
    attempted: usize,
    ok: usize,
    fail: usize,
    /// `Info`, and invokes the history never completed.
    info: usize,
    weak: usize,
    /// (attempted, ok) of the operations invoked while a fault was in force.
    faulted: (usize, usize),
}

/// The `stats` verdict over the whole history.
pub(crate) fn check(parsed: &Parsed<'_>) -> Verdict {
    let mut findings = Findings::new("stats");
    let tallies = tallies(parsed);
    let (mut attempted, mut ok) = (0usize, 0usize);
    for (workload, tally) in &tallies {
        tally_figures(&mut findings, workload, tally);
        attempted += tally.attempted;
        ok += tally.ok;
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in &parsed.faults {
        let kind = fault.split_whitespace().next().unwrap_or("fault");
        *kinds.entry(kind).or_default() += 1;
    }
    findings.figure("faults", parsed.faults.len());
    for (kind, count) in &kinds {
        findings.figure(&format!("faults.{kind}"), *count);
    }
    let availability = percent(ok, attempted);
    findings.finish(&format!(
        "{attempted} ops, {availability}% ok, {} fault(s)",
        parsed.faults.len()
    ))
}

/// How each workload's operations ended.
fn tallies<'s>(parsed: &'s Parsed<'_>) -> BTreeMap<&'s str, Tally> {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for op in &parsed.ops {
        let tally = tallies.entry(op.workload).or_default();
        tally.attempted += 1;
        tally.weak += usize::from(!op.strong);
        if ops::in_windows(&parsed.fault_windows, op.invoke_ns) {
            tally.faulted.0 += 1;
            tally.faulted.1 += usize::from(op.is_ok());
        }
        match op.outcome {
            Outcome::Ok => tally.ok += 1,
            Outcome::Fail => tally.fail += 1,
            Outcome::Info => tally.info += 1,
        }
    }
    tallies
}

fn tally_figures(findings: &mut Findings, workload: &str, tally: &Tally) {
    findings.figure(&format!("{workload}.attempted"), tally.attempted);
    findings.figure(&format!("{workload}.ok"), tally.ok);
    findings.figure(&format!("{workload}.fail"), tally.fail);
    findings.figure(&format!("{workload}.info"), tally.info);
    findings.figure(&format!("{workload}.weak"), tally.weak);
    let availability = percent(tally.ok, tally.attempted);
    findings.figure(&format!("{workload}.availability_percent"), availability);
    // Availability with and without a fault in force (at the invoke), the
    // split Jepsen's plots show by shading the fault windows.
    let (faulted, faulted_ok) = tally.faulted;
    let healthy = percent(
        tally.ok.saturating_sub(faulted_ok),
        tally.attempted.saturating_sub(faulted),
    );
    findings.figure(&format!("{workload}.availability_healthy_percent"), healthy);
    let during = percent(faulted_ok, faulted);
    findings.figure(&format!("{workload}.availability_faulted_percent"), during);
}
