//! The set checkers: no lost acked adds (P1, shared by `set`, `delete` and
//! `batch`), no stale set reads (P2), and Jepsen's set-full figures.
//!
//! A set read returns every element at once, so a stale read is one that
//! misses an element whose add was acked before the read began.

use std::collections::{BTreeMap, HashSet};

use super::Verdict;
use super::findings::Findings;
use super::ops::{self, Op};
use crate::history::{Function, Value};

/// Keys and their operations, as [`ops::by_key`] groups them.
pub(crate) type Keys<'s> = BTreeMap<&'s str, Vec<&'s Op<'s>>>;

/// P1: every acked add of `keys` is in its key's final read, except the
/// (key, element) pairs in `exempt` (deleted ones, say).
pub(crate) fn lost_adds(
    workload: &str,
    keys: &Keys<'_>,
    exempt: &HashSet<(&str, Value)>,
) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: no lost acked writes (P1)"));
    let (mut acked_total, mut lost) = (0usize, 0usize);
    for (&key, ops) in keys {
        let acked: Vec<Value> = ops
            .iter()
            .filter(|op| op.is_write() && op.is_ok())
            .flat_map(|op| op.values.iter().copied())
            .filter(|&v| !exempt.contains(&(key, v)))
            .collect();
        if acked.is_empty() {
            continue;
        }
        acked_total += acked.len();
        let Some(last) = ops::final_read(ops) else {
            findings.undecided(format!("key {key}: acked adds but no final read"));
            continue;
        };
        let present: HashSet<Value> = last.values.iter().copied().collect();
        for value in acked.into_iter().filter(|v| !present.contains(v)) {
            lost += 1;
            findings.violation(format!(
                "key {key}: acked {value} missing from the final read"
            ));
        }
    }
    findings.figure("acked", acked_total);
    findings.figure("lost", lost);
    findings.finish(&format!("{lost} of {acked_total} acked lost"))
}

/// P2 for sets: a strong read contains every element whose strong add was
/// acked before the read was invoked.
pub(crate) fn stale_reads(workload: &str, keys: &Keys<'_>) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: no stale reads (P2)"));
    let (mut reads, mut stale, mut missing_total) = (0usize, 0usize, 0usize);
    for (&key, ops) in keys {
        let acked: BTreeMap<Value, u64> = ops
            .iter()
            .filter(|op| op.is_write() && op.is_ok() && op.strong)
            .flat_map(|op| op.values.iter().map(|&v| (v, op.complete_ns)))
            .collect();
        let mut times: Vec<u64> = acked.values().copied().collect();
        times.sort_unstable();
        for read in ops
            .iter()
            .filter(|op| op.is_read() && op.is_ok() && op.strong)
        {
            reads += 1;
            let seen: HashSet<Value> = read.values.iter().copied().collect();
            let expected = times.partition_point(|&t| t < read.invoke_ns);
            let present = seen
                .iter()
                .filter(|v| acked.get(v).is_some_and(|&t| t < read.invoke_ns))
                .count();
            let missing = expected.saturating_sub(present);
            if missing == 0 {
                continue;
            }
            stale += 1;
            missing_total += missing;
            // Naming the missing elements costs a scan of the key's adds:
            // only for the reads that will be listed.
            let names: Vec<Value> = if findings.violations() < super::findings::MAX_ANOMALIES {
                acked
                    .iter()
                    .filter(|&(v, &t)| t < read.invoke_ns && !seen.contains(v))
                    .map(|(&v, _)| v)
                    .take(10)
                    .collect()
            } else {
                Vec::new()
            };
            findings.violation(format!(
                "key {key}: read at event {} misses {missing} acked element(s) {names:?}",
                read.index
            ));
        }
    }
    findings.figure("reads_checked", reads);
    findings.figure("stale_reads", stale);
    findings.figure("missing_elements", missing_total);
    findings.finish(&format!("{stale} stale of {reads} strong reads"))
}

/// What became of one element, in Jepsen's set-full terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// No read began after the element was known to exist.
    NeverRead,
    /// Every read from some point on contains it.
    Stable { stale: bool, latency_ns: u64 },
    /// A read after its last appearance misses it.
    Lost,
}

/// The element's fate given the reads sorted by invoke time: `first`, the
/// first read that began after the element was known, and `present`, the
/// ascending positions of the reads containing it.
fn fate(reads: &[&Op<'_>], first: usize, present: &[usize], add_invoke_ns: u64) -> Fate {
    let present: Vec<usize> = present.iter().copied().filter(|&p| p >= first).collect();
    if first >= reads.len() {
        return Fate::NeverRead;
    }
    // The last read (from `first`) that misses the element: walk back from
    // the end over the reads that contain it.
    let mut candidate = reads.len() - 1;
    let mut last_absent = Some(candidate);
    for &p in present.iter().rev() {
        if p != candidate {
            break;
        }
        last_absent = candidate.checked_sub(1).filter(|&c| c >= first);
        match last_absent {
            Some(c) => candidate = c,
            None => break,
        }
    }
    match (present.last(), last_absent) {
        (None, _) => Fate::Lost,
        (Some(&seen), Some(missed)) if missed > seen => Fate::Lost,
        (Some(&seen), missed) => Fate::Stable {
            stale: present.len() < seen + 1 - first,
            latency_ns: missed
                .and_then(|m| reads.get(m))
                .map_or(0, |r| r.invoke_ns.saturating_sub(add_invoke_ns)),
        },
    }
}

/// The fates of one key's elements (those with an add).
fn key_fates(ops: &[&Op<'_>]) -> Vec<(Value, Fate)> {
    let mut reads: Vec<&Op<'_>> = ops
        .iter()
        .copied()
        .filter(|op| op.is_read() && op.is_ok())
        .collect();
    reads.sort_by_key(|op| (op.invoke_ns, op.index));
    let mut present: BTreeMap<Value, Vec<usize>> = BTreeMap::new();
    for (position, read) in reads.iter().enumerate() {
        for &value in read.values {
            present.entry(value).or_default().push(position);
        }
    }
    let adds = ops.iter().filter(|op| op.is_write());
    adds.flat_map(|add| add.values.iter().map(move |&v| (add, v)))
        .map(|(add, value)| {
            let positions = present.get(&value).map_or(&[][..], Vec::as_slice);
            // The element is known from its ack (then the reads invoked
            // after it count) or from the first read that saw it (that read
            // and the later ones count), whichever comes first.
            let after_ack = if add.is_ok() {
                reads.partition_point(|r| r.invoke_ns <= add.complete_ns)
            } else {
                reads.len()
            };
            let first = positions.first().map_or(after_ack, |&p| p.min(after_ack));
            (value, fate(&reads, first, positions, add.invoke_ns))
        })
        .collect()
}

/// Jepsen's set-full figures: stable, lost, never-read, stale elements and
/// the stable-latency quantiles. Figures only; losses of acked adds fail P1.
pub(crate) fn set_full(workload: &str, keys: &Keys<'_>) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: set-full"));
    let (mut stable, mut lost, mut never_read, mut stale) = (0usize, 0usize, 0usize, 0usize);
    let mut attempted = 0usize;
    let mut latencies_ms: Vec<u64> = Vec::new();
    let mut lost_examples: Vec<String> = Vec::new();
    for (&key, ops) in keys {
        for (value, fate) in key_fates(ops) {
            attempted += 1;
            match fate {
                Fate::NeverRead => never_read += 1,
                Fate::Lost => {
                    lost += 1;
                    if lost_examples.len() < 10 {
                        lost_examples.push(format!("{key}:{value}"));
                    }
                }
                Fate::Stable {
                    stale: was_stale,
                    latency_ns,
                } => {
                    stable += 1;
                    stale += usize::from(was_stale);
                    latencies_ms.push(latency_ns / 1_000_000);
                }
            }
        }
    }
    latencies_ms.sort_unstable();
    for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)] {
        let value = super::findings::quantile(&latencies_ms, q);
        findings.figure(&format!("stable_latency_ms_{name}"), value);
    }
    findings.figure("attempted", attempted);
    findings.figure("stable", stable);
    findings.figure("lost", lost);
    findings.figure("never_read", never_read);
    findings.figure("stale", stale);
    findings.figure("lost_examples", lost_examples);
    findings.finish(&format!(
        "stable {stable}, lost {lost}, stale {stale}, never read {never_read}"
    ))
}

/// The (key, element) pairs of `keys` a delete may have removed (its delete
/// is acked, unknown or pending, not definitely failed).
pub(crate) fn maybe_deleted<'s>(keys: &Keys<'s>) -> HashSet<(&'s str, Value)> {
    keys.iter()
        .flat_map(|(&key, ops)| {
            ops.iter()
                .filter(|op| op.function == Function::Delete)
                .filter(|op| op.outcome != ops::Outcome::Fail)
                .flat_map(move |op| op.values.iter().map(move |&v| (key, v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::ops::Outcome;

    fn read(invoke_ns: u64) -> Op<'static> {
        Op {
            process: 0,
            workload: "set",
            function: Function::Read,
            key: "k",
            index: invoke_ns,
            invoke_ns,
            complete_ns: invoke_ns + 1,
            outcome: Outcome::Ok,
            values: &[],
            timestamps: &[],
            strong: true,
        }
    }

    #[test]
    fn fates_follow_jepsen_set_full() {
        let owned: Vec<Op<'static>> = (0..5).map(|i| read(100 + i * 100)).collect();
        let reads: Vec<&Op<'_>> = owned.iter().collect();
        assert_eq!(fate(&reads, 5, &[], 0), Fate::NeverRead);
        assert_eq!(fate(&reads, 0, &[], 0), Fate::Lost);
        assert_eq!(fate(&reads, 0, &[1, 2], 0), Fate::Lost);
        assert_eq!(
            fate(&reads, 0, &[0, 1, 2, 3, 4], 0),
            Fate::Stable {
                stale: false,
                latency_ns: 0
            }
        );
        // Missed by reads 0 and 2, then always present: stable, stale, and
        // stable from the read after 300 ns.
        assert_eq!(
            fate(&reads, 0, &[1, 3, 4], 50),
            Fate::Stable {
                stale: true,
                latency_ns: 250
            }
        );
        // Reads before `first` do not count.
        assert_eq!(
            fate(&reads, 3, &[0, 3, 4], 0),
            Fate::Stable {
                stale: false,
                latency_ns: 0
            }
        );
    }
}
