//! Counting: per-workload outcome counts, availability (overall, in
//! healthy and in faulted time), latency quantiles, faults by kind. Shared
//! by the terminal summary and the page.

use std::collections::BTreeMap;

use super::model::{Model, Op, Outcome};
use crate::history::Function;

/// Outcome counts of a set of operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) ok: u64,
    pub(crate) fail: u64,
    /// `Info` and never-completed operations: both are unknown outcomes.
    pub(crate) info: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Info | Outcome::Pending => self.info += 1,
        }
    }

    pub(crate) fn attempted(&self) -> u64 {
        self.ok + self.fail + self.info
    }

    /// ok / attempted, in percent; none when nothing was attempted.
    pub(crate) fn availability(&self) -> Option<f64> {
        let attempted = self.attempted();
        (attempted > 0).then(|| 100.0 * self.ok as f64 / attempted as f64)
    }
}

/// One workload's line of the summary table.
#[derive(Clone, Debug, Default)]
pub(crate) struct WorkloadStats {
    pub(crate) counts: Counts,
    /// Operations that overlapped no fault window.
    pub(crate) healthy: Counts,
    /// Operations that overlapped a fault window.
    pub(crate) faulted: Counts,
    /// Latencies of `Ok` operations, ns, sorted.
    pub(crate) ok_latencies_ns: Vec<u64>,
}

impl WorkloadStats {
    pub(crate) fn quantile_ms(&self, q: f64) -> Option<f64> {
        quantile(&self.ok_latencies_ns, q).map(|ns| ns as f64 / 1e6)
    }
}

/// Whether an operation belongs to the run proper: final reads happen
/// after every fault is healed and are reported on their own.
pub(crate) fn in_run(op: &Op<'_>) -> bool {
    op.function != Function::FinalRead
}

/// Per workload, in name order; final reads excluded.
pub(crate) fn per_workload<'a>(model: &Model<'a>) -> BTreeMap<&'a str, WorkloadStats> {
    let mut stats: BTreeMap<&str, WorkloadStats> = BTreeMap::new();
    for op in model.ops.iter().filter(|op| in_run(op)) {
        let entry = stats.entry(op.workload).or_default();
        entry.counts.add(op.outcome);
        let until = op.complete_ns.unwrap_or(model.end_ns);
        if model.faulted(op.invoke_ns, until) {
            entry.faulted.add(op.outcome);
        } else {
            entry.healthy.add(op.outcome);
        }
        if op.is_ok()
            && let Some(latency) = op.latency_ns()
        {
            entry.ok_latencies_ns.push(latency);
        }
    }
    for entry in stats.values_mut() {
        entry.ok_latencies_ns.sort_unstable();
    }
    stats
}

/// Outcome counts of the final reads.
pub(crate) fn final_reads(model: &Model<'_>) -> Counts {
    let mut counts = Counts::default();
    for op in model.ops.iter().filter(|op| !in_run(op)) {
        counts.add(op.outcome);
    }
    counts
}

/// Faults started, by kind, in name order.
pub(crate) fn faults_by_kind<'a>(model: &Model<'a>) -> BTreeMap<&'a str, usize> {
    let mut kinds = BTreeMap::new();
    for window in &model.windows {
        *kinds.entry(window.kind).or_insert(0) += 1;
    }
    kinds
}

/// The most faults active at once (the lanes the windows needed).
pub(crate) fn max_concurrent_faults(model: &Model<'_>) -> usize {
    model.windows.iter().map(|w| w.lane + 1).max().unwrap_or(0)
}

/// Nearest-rank quantile of sorted values.
pub(crate) fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), Some(50));
        assert_eq!(quantile(&values, 0.99), Some(99));
        assert_eq!(quantile(&values, 1.0), Some(100));
        assert_eq!(quantile(&values, 0.0), Some(1));
        assert_eq!(quantile::<u64>(&[], 0.5), None);
        assert_eq!(quantile(&[7u64], 0.99), Some(7));
    }

    #[test]
    fn availability_counts_unknown_as_unavailable() {
        let mut counts = Counts::default();
        counts.add(Outcome::Ok);
        counts.add(Outcome::Fail);
        counts.add(Outcome::Info);
        counts.add(Outcome::Pending);
        assert_eq!(counts.attempted(), 4);
        assert_eq!(counts.availability(), Some(25.0));
        assert_eq!(Counts::default().availability(), None);
    }
}
