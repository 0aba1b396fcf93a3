//! The `stats` verdict: per workload, how many operations were attempted
//! and how they ended (availability = ok / attempted), and how many faults
//! the nemesis started, by kind. Figures only: valid unless the history is
//! malformed.

use std::collections::BTreeMap;

use super::Verdict;
use super::findings::{Findings, percent};
use super::ops::{Outcome, Parsed};

/// How one workload's operations ended.
#[derive(Debug, Default)]
struct Tally {
    attempted: usize,
    ok: usize,
    fail: usize,
    /// `Info`, and invokes the history never completed.
    info: usize,
    weak: usize,
}

/// The `stats` verdict over the whole history.
pub(crate) fn check(parsed: &Parsed<'_>) -> Verdict {
    let mut findings = Findings::new("stats");
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for op in &parsed.ops {
        let tally = tallies.entry(op.workload).or_default();
        tally.attempted += 1;
        tally.weak += usize::from(!op.strong);
        match op.outcome {
            Outcome::Ok => tally.ok += 1,
            Outcome::Fail => tally.fail += 1,
            Outcome::Info => tally.info += 1,
        }
    }
    let mut total = Tally::default();
    for (workload, tally) in &tallies {
        findings.figure(&format!("{workload}.attempted"), tally.attempted);
        findings.figure(&format!("{workload}.ok"), tally.ok);
        findings.figure(&format!("{workload}.fail"), tally.fail);
        findings.figure(&format!("{workload}.info"), tally.info);
        findings.figure(&format!("{workload}.weak"), tally.weak);
        let availability = percent(tally.ok, tally.attempted);
        findings.figure(&format!("{workload}.availability_percent"), availability);
        total.attempted += tally.attempted;
        total.ok += tally.ok;
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
    let availability = percent(total.ok, total.attempted);
    findings.finish(&format!(
        "{} ops, {availability}% ok, {} fault(s)",
        total.attempted,
        parsed.faults.len()
    ))
}
