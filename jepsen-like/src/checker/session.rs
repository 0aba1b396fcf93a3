//! The session checker, P3 (read your writes): in the `session` workload a
//! process writes its own value to a key and reads the key back, maybe
//! through another coordinator; at QUORUM/QUORUM the read returns a value
//! whose timestamp is at least that of the process's last acked write.
//!
//! Writes carry the client's timestamp, so the promise is in timestamp
//! order. Pairs at a weak level are counted apart, as a figure.

use std::collections::BTreeMap;

use super::Verdict;
use super::findings::{Findings, percent};
use super::ops::{Op, Parsed};
use crate::history::Function;

/// Counts of checked reads.
#[derive(Debug, Default)]
struct Counts {
    strong: usize,
    weak: usize,
    weak_violations: usize,
}

/// The P3 verdict of `workload`.
pub(crate) fn read_your_writes(parsed: &Parsed<'_>, workload: &str) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: read your writes (P3)"));
    let mut counts = Counts::default();
    let mut sessions: BTreeMap<(u64, &str), Vec<&Op<'_>>> = BTreeMap::new();
    for op in parsed.of(workload) {
        sessions.entry((op.process, op.key)).or_default().push(op);
    }
    for ((process, key), ops) in &sessions {
        check_session(*process, key, ops, &mut counts, &mut findings);
    }
    findings.figure("reads_checked", counts.strong);
    findings.figure("weak_reads", counts.weak);
    findings.figure("weak_violations", counts.weak_violations);
    findings.figure(
        "weak_violation_percent",
        percent(counts.weak_violations, counts.weak),
    );
    let violations = findings.violations();
    findings.finish(&format!(
        "{violations} violation(s) in {} strong reads",
        counts.strong
    ))
}

/// One process on one key: its operations are sequential, in invoke order.
fn check_session(
    process: u64,
    key: &str,
    ops: &[&Op<'_>],
    counts: &mut Counts,
    findings: &mut Findings,
) {
    // The newest acked write so far: (timestamp, strong, event).
    let mut last: Option<(i64, bool, u64)> = None;
    for op in ops.iter().filter(|op| op.is_ok()) {
        if op.function == Function::Write {
            if let Some(&ts) = op.timestamps.first() {
                let newest = last.is_none_or(|(seen, _, _)| ts >= seen);
                if newest {
                    last = Some((ts, op.strong, op.index));
                }
            }
            continue;
        }
        if op.function != Function::Read {
            continue;
        }
        let Some((written, write_strong, write_index)) = last else {
            continue;
        };
        // No value is older than any write; a value without its
        // timestamp cannot be placed, so the read decides nothing.
        let read_ts = match (op.values.first(), op.timestamps.first()) {
            (None, _) => i64::MIN,
            (Some(_), Some(&ts)) => ts,
            (Some(_), None) => continue,
        };
        let strong = write_strong && op.strong;
        if strong {
            counts.strong += 1;
        } else {
            counts.weak += 1;
        }
        if read_ts >= written {
            continue;
        }
        if strong {
            findings.violation(format!(
                "process {process}, key {key}: read at event {} returned ts {read_ts} after \
                 its own write at event {write_index} (ts {written})",
                op.index
            ));
        } else {
            counts.weak_violations += 1;
        }
    }
}
