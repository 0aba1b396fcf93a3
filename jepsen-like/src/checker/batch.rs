//! The batch checker, P8 (a logged batch is all or nothing, eventually):
//! after heal and batchlog replay, the final reads of both partitions
//! contain every acked batch's element, and an unknown batch's element is
//! in both or in neither.

use std::collections::{BTreeMap, HashSet};

use super::Verdict;
use super::findings::Findings;
use super::ops::{self, Op, Outcome};
use super::set::Keys;
use crate::history::{Function, Value};

/// The P8 verdict of `workload`.
pub(crate) fn all_or_nothing(workload: &str, keys: &Keys<'_>) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: all or nothing (P8)"));
    let finals: BTreeMap<&str, HashSet<Value>> = keys
        .iter()
        .filter_map(|(&key, ops)| {
            Some((key, ops::final_read(ops)?.values.iter().copied().collect()))
        })
        .collect();
    let mut batches: Vec<&Op<'_>> = keys
        .values()
        .flatten()
        .copied()
        .filter(|op| op.function == Function::Batch && op.outcome != Outcome::Fail)
        .collect();
    // A batch is listed under each of its keys: check it once.
    batches.sort_by_key(|op| op.index);
    batches.dedup_by_key(|op| op.index);
    let (mut partial, mut checked) = (0usize, 0usize);
    for batch in &batches {
        let Some(value) = batch.values.first() else {
            continue;
        };
        let seen: Option<Vec<bool>> = batch
            .keys()
            .map(|key| finals.get(key).map(|set| set.contains(value)))
            .collect();
        let Some(seen) = seen else {
            findings.undecided(format!(
                "batch at event {} ({}): a key has no final read",
                batch.index, batch.key
            ));
            continue;
        };
        checked += 1;
        let everywhere = seen.iter().all(|&s| s);
        let nowhere = seen.iter().all(|&s| !s);
        let acked = batch.outcome == Outcome::Ok;
        // Acked: everywhere. Unknown: everywhere or nowhere.
        let whole = everywhere || (nowhere && !acked);
        if !whole {
            partial += usize::from(!nowhere);
            findings.violation(format!(
                "{} batch at event {} ({}) of {value}: in the final reads {seen:?}",
                if acked { "acked" } else { "unknown" },
                batch.index,
                batch.key
            ));
        }
    }
    findings.figure("batches_checked", checked);
    findings.figure("partially_applied", partial);
    findings.finish(&format!("{checked} acked or unknown batches checked"))
}
