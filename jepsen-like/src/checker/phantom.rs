//! P7, for every workload: each value a read returns was written (the
//! write invoked, on that key, before the read completed), never by a write
//! that definitely failed, and with the timestamp its write carried.
//!
//! Values are unique per key, so a read value names exactly one write; a
//! value with no write is a phantom, and one whose write `Fail`ed means an
//! error was misclassified (a timeout reported as a definite failure).

use std::collections::HashMap;

use super::Verdict;
use super::findings::Findings;
use super::ops::{self, Op, Outcome};
use crate::history::Value;

/// What the history says about the writes of one value.
#[derive(Debug, Clone, Copy)]
struct Written {
    /// The earliest invoke of a write of this value.
    invoke_ns: u64,
    /// Some write of it did not definitely fail.
    may_have_happened: bool,
    /// The timestamp it carried or was first read back with.
    ts: Option<i64>,
}

/// Counts for the figures.
#[derive(Debug, Default)]
struct Counts {
    values_read: usize,
    phantoms: usize,
    failed_observed: usize,
    ts_mismatches: usize,
}

/// The P7 verdict of `workload`.
pub(crate) fn check(parsed: &ops::Parsed<'_>, workload: &str) -> Verdict {
    let mut findings = Findings::new(format!(
        "{workload}: no phantoms or failed writes read (P7)"
    ));
    let mut counts = Counts::default();
    for (key, ops) in ops::by_key(parsed.of(workload)) {
        let mut written = writes(&ops);
        for read in ops.iter().filter(|op| op.is_read() && op.is_ok()) {
            check_read(key, read, &mut written, &mut counts, &mut findings);
        }
    }
    findings.figure("values_read", counts.values_read);
    findings.figure("phantoms", counts.phantoms);
    findings.figure("failed_writes_observed", counts.failed_observed);
    findings.figure("timestamp_mismatches", counts.ts_mismatches);
    findings.finish(&format!("{} values read", counts.values_read))
}

/// The writes of one key, by value.
fn writes(ops: &[&Op<'_>]) -> HashMap<Value, Written> {
    let mut written: HashMap<Value, Written> = HashMap::new();
    for op in ops.iter().filter(|op| op.is_write()) {
        for (i, &value) in op.values.iter().enumerate() {
            let entry = written.entry(value).or_insert(Written {
                invoke_ns: op.invoke_ns,
                may_have_happened: false,
                ts: None,
            });
            entry.invoke_ns = entry.invoke_ns.min(op.invoke_ns);
            entry.may_have_happened |= op.outcome != Outcome::Fail;
            entry.ts = entry.ts.or(op.timestamps.get(i).copied());
        }
    }
    written
}

fn check_read(
    key: &str,
    read: &Op<'_>,
    written: &mut HashMap<Value, Written>,
    counts: &mut Counts,
    findings: &mut Findings,
) {
    let at = format!("key {key}: read at event {}", read.index);
    for (i, value) in read.values.iter().enumerate() {
        counts.values_read += 1;
        let Some(write) = written.get_mut(value) else {
            counts.phantoms += 1;
            findings.violation(format!("{at} returned {value}, which was never written"));
            continue;
        };
        if write.invoke_ns > read.complete_ns {
            counts.phantoms += 1;
            findings.violation(format!(
                "{at} returned {value} before its write was invoked"
            ));
        }
        if !write.may_have_happened {
            counts.failed_observed += 1;
            findings.violation(format!("{at} returned {value}, whose write failed"));
        }
        let Some(&ts) = read.timestamps.get(i) else {
            continue;
        };
        // A write has one timestamp: the client's, or the first read back
        // (coordinator timestamps), which every later read must repeat.
        match write.ts {
            None => write.ts = Some(ts),
            Some(expected) if expected != ts => {
                counts.ts_mismatches += 1;
                findings.violation(format!(
                    "{at} returned {value} with ts {ts}, but it was written with ts {expected}"
                ));
            }
            Some(_) => {}
        }
    }
}
