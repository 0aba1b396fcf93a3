//! The delete checker, P6 (no resurrection): once a delete of an element
//! is acked, no strong read invoked later and no final read contains it.
//!
//! Elements are never re-added after their delete, so any later sighting
//! is a zombie: a replica that missed the tombstone and was not repaired in
//! time, or a tombstone dropped too early.

use std::collections::HashMap;

use super::Verdict;
use super::findings::Findings;
use super::set::Keys;
use crate::history::{Function, Value};

/// The P6 verdict of `workload`.
pub(crate) fn resurrections(workload: &str, keys: &Keys<'_>) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: no resurrection (P6)"));
    let (mut reads, mut weak_reads, mut acked_deletes) = (0usize, 0usize, 0usize);
    for (&key, ops) in keys {
        // An acked delete binds the reads invoked after it; a delete at a
        // weak level binds only the final reads, which follow repair.
        let mut deleted: HashMap<Value, (u64, bool)> = HashMap::new();
        for op in ops
            .iter()
            .filter(|op| op.function == Function::Delete && op.is_ok())
        {
            acked_deletes += 1;
            for &value in op.values {
                let entry = deleted.entry(value).or_insert((op.complete_ns, op.strong));
                *entry = (entry.0.min(op.complete_ns), entry.1 || op.strong);
            }
        }
        for read in ops.iter().filter(|op| op.is_read() && op.is_ok()) {
            let final_read = read.function == Function::FinalRead;
            if !final_read && !read.strong {
                weak_reads += 1;
                continue;
            }
            reads += 1;
            for value in read.values {
                let Some(&(deleted_ns, strong)) = deleted.get(value) else {
                    continue;
                };
                if deleted_ns < read.invoke_ns && (strong || final_read) {
                    findings.violation(format!(
                        "key {key}: {} at event {} returned {value} after its delete was acked",
                        if final_read { "final read" } else { "read" },
                        read.index
                    ));
                }
            }
        }
    }
    let resurrected = findings.violations();
    findings.figure("acked_deletes", acked_deletes);
    findings.figure("reads_checked", reads);
    findings.figure("weak_reads_ignored", weak_reads);
    findings.figure("resurrected", resurrected);
    findings.finish(&format!(
        "{resurrected} deleted element(s) seen again in {reads} reads"
    ))
}
