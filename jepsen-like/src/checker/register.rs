//! The register checkers (`register`, client timestamps, and
//! `register-coord`, coordinator timestamps): no lost acked writes (P1), no
//! stale reads (P2), monotonic reads across clients (P4), and the
//! real-time lost updates figure.
//!
//! Last-write-wins orders a register's writes by timestamp, so every check
//! compares timestamps: a write's is the one the client chose, or (with
//! coordinator timestamps) the `writetime` a read returned beside its value.

use std::collections::HashMap;

use super::Verdict;
use super::findings::Findings;
use super::ops::{self, Op};
use super::sweep::PrefixMax;
use crate::history::{Function, Value};

/// One key of a register workload.
#[derive(Debug)]
struct Key<'s> {
    name: &'s str,
    ops: Vec<&'s Op<'s>>,
    /// The timestamp of each value, as written or as read back.
    ts: HashMap<Value, i64>,
    /// Writes carry the client's timestamp (not `register-coord`).
    client_ts: bool,
}

impl Key<'_> {
    /// A write's timestamp, if known.
    fn write_ts(&self, op: &Op<'_>) -> Option<i64> {
        let client = if self.client_ts {
            op.timestamps.first().copied()
        } else {
            None
        };
        client.or_else(|| self.ts.get(op.values.first()?).copied())
    }

    /// A read's timestamp: `i64::MIN` when it found no value (older than
    /// any write), `None` when the value's timestamp is unknown.
    fn read_ts(&self, op: &Op<'_>) -> Option<i64> {
        let Some(value) = op.values.first() else {
            return Some(i64::MIN);
        };
        op.timestamps
            .first()
            .or_else(|| self.ts.get(value))
            .copied()
    }

    /// (completion, timestamp) of the acked writes, optionally only strong.
    fn acked_writes(&self, strong_only: bool) -> Vec<(u64, i64)> {
        self.ops
            .iter()
            .filter(|op| op.function == Function::Write && op.is_ok())
            .filter(|op| op.strong || !strong_only)
            .filter_map(|op| Some((op.complete_ns, self.write_ts(op)?)))
            .collect()
    }

    /// The strong `Ok` reads (run and final) with a known timestamp.
    fn strong_reads(&self) -> impl Iterator<Item = (&Op<'_>, i64)> {
        self.ops
            .iter()
            .filter(|op| op.is_read() && op.is_ok() && op.strong)
            .filter_map(|op| Some((*op, self.read_ts(op)?)))
    }
}

/// The keys of `workload`, with what is known of their values' timestamps.
fn keys<'s>(ops: impl Iterator<Item = &'s Op<'s>>, client_ts: bool) -> Vec<Key<'s>> {
    ops::by_key(ops)
        .into_iter()
        .map(|(name, ops)| {
            let mut ts = HashMap::new();
            for op in &ops {
                let written = client_ts && op.function == Function::Write;
                let carries = written || (op.is_read() && op.is_ok());
                if let (true, Some(&v), Some(&t)) =
                    (carries, op.values.first(), op.timestamps.first())
                {
                    ts.entry(v).or_insert(t);
                }
            }
            Key {
                name,
                ops,
                ts,
                client_ts,
            }
        })
        .collect()
}

/// Every register verdict of `workload`.
pub(crate) fn check(parsed: &ops::Parsed<'_>, workload: &str) -> Vec<Verdict> {
    let coordinator = workload == "register-coord";
    let keys = keys(parsed.of(workload), !coordinator);
    let mut verdicts = vec![
        lost_writes(workload, &keys),
        stale_reads(workload, &keys),
        inversions(workload, &keys),
    ];
    if coordinator {
        verdicts.push(real_time_lost_updates(workload, &keys));
    }
    verdicts
}

/// P1: the final read's timestamp is at least that of every acked write,
/// and a different value at the same timestamp was really written with it.
fn lost_writes(workload: &str, keys: &[Key<'_>]) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: no lost acked writes (P1)"));
    let (mut checked, mut unknown_ts) = (0usize, 0usize);
    for key in keys {
        let acked: Vec<&Op<'_>> = key
            .ops
            .iter()
            .copied()
            .filter(|op| op.function == Function::Write && op.is_ok())
            .collect();
        unknown_ts += acked.iter().filter(|w| key.write_ts(w).is_none()).count();
        let Some(newest) = acked.iter().filter_map(|w| key.write_ts(w)).max() else {
            continue;
        };
        checked += 1;
        let Some(last) = ops::final_read(&key.ops) else {
            findings.undecided(format!("key {}: acked writes but no final read", key.name));
            continue;
        };
        let final_ts = key.read_ts(last).unwrap_or(i64::MIN);
        let same_ts_written = last.values.first().is_some_and(|v| {
            key.ops.iter().any(|w| {
                w.function == Function::Write
                    && w.values.first() == Some(v)
                    && key.write_ts(w) == Some(final_ts)
            })
        });
        if final_ts < newest || (final_ts == newest && !same_ts_written) {
            findings.violation(format!(
                "key {}: final read {:?} at ts {final_ts} loses an acked write at ts {newest}",
                key.name, last.values
            ));
        }
    }
    findings.figure("keys_checked", checked);
    findings.figure("acked_writes_never_read_back", unknown_ts);
    findings.finish(&format!("{checked} key(s) with acked writes"))
}

/// Totals of the stale-read sweep over every key.
#[derive(Debug, Default)]
struct Staleness {
    reads: usize,
    stale: usize,
    worst_us: i64,
    worst_ms: u64,
}

/// P2: a strong read invoked after a strong write was acked returns that
/// write's value or one with a higher timestamp.
fn stale_reads(workload: &str, keys: &[Key<'_>]) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: no stale reads (P2)"));
    let mut totals = Staleness::default();
    for key in keys {
        let sweep = PrefixMax::new(key.acked_writes(true));
        for (read, ts) in key.strong_reads() {
            totals.reads += 1;
            let Some(newest) = sweep.max_before(read.invoke_ns) else {
                continue;
            };
            if ts >= newest {
                continue;
            }
            totals.stale += 1;
            let behind_ms = sweep
                .first_above_before(read.invoke_ns, ts)
                .map_or(0, |acked| read.invoke_ns.saturating_sub(acked) / 1_000_000);
            totals.worst_ms = totals.worst_ms.max(behind_ms);
            if ts != i64::MIN {
                totals.worst_us = totals.worst_us.max(newest.saturating_sub(ts));
            }
            findings.violation(format!(
                "key {}: read at event {} returned {:?} (ts {ts}) after a write at ts {newest} \
                 was acked ({behind_ms} ms before)",
                key.name, read.index, read.values
            ));
        }
    }
    findings.figure("reads_checked", totals.reads);
    findings.figure("stale_reads", totals.stale);
    findings.figure("worst_staleness_us", totals.worst_us);
    findings.figure("worst_staleness_ms", totals.worst_ms);
    findings.figure("weak_ops_ignored", weak_ops(keys));
    findings.finish(&format!(
        "{} stale of {} strong reads",
        totals.stale, totals.reads
    ))
}

/// Operations at ONE (or another weak level), which P2 and P4 ignore.
fn weak_ops(keys: &[Key<'_>]) -> usize {
    keys.iter()
        .flat_map(|key| &key.ops)
        .filter(|op| !op.strong)
        .count()
}

/// P4: a strong read invoked after another strong read completed never
/// returns an older timestamp (blocking read repair).
fn inversions(workload: &str, keys: &[Key<'_>]) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: monotonic reads (P4)"));
    let mut reads = 0usize;
    for key in keys {
        let completed: Vec<(u64, i64)> = key
            .strong_reads()
            .map(|(read, ts)| (read.complete_ns, ts))
            .collect();
        let sweep = PrefixMax::new(completed);
        for (read, ts) in key.strong_reads() {
            reads += 1;
            match sweep.max_before(read.invoke_ns) {
                Some(seen) if ts < seen => findings.violation(format!(
                    "key {}: read at event {} returned ts {ts} after another read had \
                     returned ts {seen}",
                    key.name, read.index
                )),
                _ => {}
            }
        }
    }
    let inverted = findings.violations();
    findings.figure("inversions", inverted);
    findings.figure("reads_checked", reads);
    findings.finish(&format!("{inverted} inversion(s) in {reads} strong reads"))
}

/// A figure, not a promise: acked writes invoked after another acked write
/// completed, yet with a lower timestamp, so they silently lost (clock skew
/// between coordinators).
fn real_time_lost_updates(workload: &str, keys: &[Key<'_>]) -> Verdict {
    let mut findings = Findings::new(format!("{workload}: real-time lost updates"));
    let (mut lost, mut writes) = (0usize, 0usize);
    let mut examples = Vec::new();
    for key in keys {
        let sweep = PrefixMax::new(key.acked_writes(false));
        for write in key.ops.iter().filter(|op| op.function == Function::Write) {
            let Some(ts) = key.write_ts(write).filter(|_| write.is_ok()) else {
                continue;
            };
            writes += 1;
            if sweep
                .max_before(write.invoke_ns)
                .is_some_and(|prior| ts < prior)
            {
                lost += 1;
                if examples.len() < 5 {
                    examples.push(format!("{}@{}", key.name, write.index));
                }
            }
        }
    }
    findings.figure("real_time_lost_updates", lost);
    findings.figure("acked_writes_with_known_ts", writes);
    findings.figure("examples", examples);
    findings.finish(&format!(
        "{lost} of {writes} acked writes lost in real time"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::ops::Outcome;

    fn op(function: Function, span: (u64, u64), value: Option<Value>, ts: &[i64]) -> Op<'static> {
        let values: &'static [Value] = match value {
            Some(v) => Vec::leak(vec![v]),
            None => &[],
        };
        Op {
            process: 0,
            workload: "register",
            function,
            key: "k",
            index: span.0,
            invoke_ns: span.0,
            complete_ns: span.1,
            outcome: Outcome::Ok,
            values,
            timestamps: Vec::leak(ts.to_vec()),
            strong: true,
        }
    }

    #[test]
    fn coordinator_timestamps_are_learnt_from_reads() {
        let ops = [
            op(Function::Write, (0, 10), Some(1), &[]),
            op(Function::Read, (20, 30), Some(1), &[500]),
        ];
        let keys = keys(ops.iter(), false);
        let key = keys.first().expect("one key");
        assert_eq!(key.write_ts(ops.first().expect("write")), Some(500));
        assert_eq!(
            key.read_ts(&op(Function::Read, (0, 1), None, &[])),
            Some(i64::MIN)
        );
    }

    #[test]
    fn an_empty_read_after_an_acked_write_is_stale() {
        let ops = [
            op(Function::Write, (0, 10), Some(1), &[100]),
            op(Function::Read, (20, 30), None, &[]),
        ];
        let verdict = stale_reads("register", &keys(ops.iter(), true));
        assert_eq!(verdict.figures.get("stale_reads"), Some(&1.into()));
    }
}
