//! Throughput and latency over time, with every fault window shaded.

use std::fmt::Write as _;

use super::model::{Model, Op, Outcome};
use super::stats::{self, quantile};
use super::svg::{self, FAIL, Frame, INFO, MAX_POINTS, OK, Scale, esc};

/// At most this many time buckets per chart: a long run gets wider ones.
const MAX_BUCKETS: u64 = 1_200;

/// The run cut into equal buckets of whole seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeline {
    pub(crate) bucket_ns: u64,
    pub(crate) buckets: usize,
    pub(crate) seconds: f64,
}

impl Timeline {
    pub(crate) fn new(model: &Model<'_>) -> Self {
        let seconds = model.seconds();
        let bucket_s = seconds.div_ceil(MAX_BUCKETS).max(1);
        Timeline {
            bucket_ns: bucket_s * 1_000_000_000,
            buckets: usize::try_from(seconds.div_ceil(bucket_s))
                .unwrap_or(1)
                .max(1),
            seconds: seconds as f64,
        }
    }

    pub(crate) fn index(&self, ns: u64) -> usize {
        usize::try_from(ns / self.bucket_ns)
            .unwrap_or(usize::MAX)
            .min(self.buckets - 1)
    }

    pub(crate) fn bucket_s(&self) -> f64 {
        self.bucket_ns as f64 / 1e9
    }

    /// The middle of bucket `i`, in seconds.
    pub(crate) fn middle_s(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.bucket_s()
    }
}

/// Ok, fail and info completions per second, one line each.
pub(crate) fn throughput(out: &mut String, model: &Model<'_>, title: &str, workload: Option<&str>) {
    let timeline = Timeline::new(model);
    let mut per_bucket = vec![[0u64; 3]; timeline.buckets];
    let chosen = model
        .ops
        .iter()
        .filter(|op| workload.is_none_or(|w| op.workload == w) && stats::in_run(op));
    for op in chosen {
        let (Some(done), Some(slot)) = (op.complete_ns, outcome_slot(op.outcome)) else {
            continue;
        };
        if let Some(bucket) = per_bucket.get_mut(timeline.index(done)) {
            bucket[slot] += 1;
        }
    }
    let rate = |count: u64| count as f64 / timeline.bucket_s();
    let max = per_bucket.iter().flatten().copied().max().unwrap_or(0);
    let lanes = stats::max_concurrent_faults(model);
    let frame = Frame::new(160.0, timeline.seconds, Scale::linear(rate(max)), lanes);
    let _ = write!(out, "<h3>{}</h3>", esc(title));
    frame.open(out, title, "ops/s", &model.windows);
    for (slot, colour) in [OK, FAIL, INFO].into_iter().enumerate() {
        let points: Vec<(f64, f64)> = per_bucket
            .iter()
            .enumerate()
            .map(|(i, counts)| {
                let count = counts.get(slot).copied().unwrap_or(0);
                (frame.x(timeline.middle_s(i)), frame.y(rate(count)))
            })
            .collect();
        svg::line(out, colour, false, &points);
    }
    svg::close(out);
}

fn outcome_slot(outcome: Outcome) -> Option<usize> {
    match outcome {
        Outcome::Ok => Some(0),
        Outcome::Fail => Some(1),
        Outcome::Info => Some(2),
        Outcome::Pending => None,
    }
}

/// Each completed operation's latency as a dot coloured by outcome (log
/// scale, ms), with the p50 and p99 of `Ok` operations per bucket.
pub(crate) fn latency(out: &mut String, model: &Model<'_>) {
    let completed: Vec<(&Op<'_>, f64, f64)> = model
        .ops
        .iter()
        .filter_map(|op| {
            let ms = op.latency_ns()? as f64 / 1e6;
            Some((op, op.complete_ns? as f64 / 1e9, ms.max(1e-3)))
        })
        .collect();
    let total = completed.len();
    let shown = svg::thin(completed, MAX_POINTS);
    let (low, high) = shown
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.2), hi.max(p.2)));
    let timeline = Timeline::new(model);
    let scale = Scale::log(if shown.is_empty() { 1.0 } else { low }, high.max(1.0));
    let frame = Frame::new(
        220.0,
        timeline.seconds,
        scale,
        stats::max_concurrent_faults(model),
    );
    frame.open(out, "latency", "latency (ms, log)", &model.windows);
    for (outcome, colour) in [
        (Outcome::Ok, OK),
        (Outcome::Fail, FAIL),
        (Outcome::Info, INFO),
    ] {
        let points: Vec<(f64, f64)> = shown
            .iter()
            .filter(|(op, _, _)| op.outcome == outcome)
            .map(|&(_, t, ms)| (frame.x(t), frame.y(ms)))
            .collect();
        svg::dots(out, colour, &points);
    }
    let (p50, p99) = ok_quantiles(model, &timeline);
    let to_points = |series: &[(usize, f64)]| -> Vec<(f64, f64)> {
        series
            .iter()
            .map(|&(i, ms)| (frame.x(timeline.middle_s(i)), frame.y(ms.max(1e-3))))
            .collect()
    };
    svg::line(out, "#222", false, &to_points(&p50));
    svg::line(out, "#222", true, &to_points(&p99));
    svg::close(out);
    let _ = write!(
        out,
        "<p class=\"note\">{} of {total} completed operations drawn; solid line p50, dashed \
         line p99 of ok operations per {} s.</p>",
        shown.len(),
        timeline.bucket_s()
    );
}

/// Values (ms) at some of the buckets.
type Series = Vec<(usize, f64)>;

/// p50 and p99 (ms) of the `Ok` latencies completed in each bucket that
/// has any.
fn ok_quantiles(model: &Model<'_>, timeline: &Timeline) -> (Series, Series) {
    let mut per_bucket: Vec<Vec<u64>> = vec![Vec::new(); timeline.buckets];
    for op in model.ops.iter().filter(|op| op.is_ok()) {
        if let (Some(done), Some(latency)) = (op.complete_ns, op.latency_ns())
            && let Some(bucket) = per_bucket.get_mut(timeline.index(done))
        {
            bucket.push(latency);
        }
    }
    let (mut p50, mut p99) = (Vec::new(), Vec::new());
    for (i, bucket) in per_bucket.iter_mut().enumerate() {
        bucket.sort_unstable();
        if let (Some(a), Some(b)) = (quantile(bucket, 0.5), quantile(bucket, 0.99)) {
            p50.push((i, a as f64 / 1e6));
            p99.push((i, b as f64 / 1e6));
        }
    }
    (p50, p99)
}

/// The colour key of the outcome charts.
pub(crate) fn legend(out: &mut String) {
    let _ = write!(
        out,
        "<p class=\"legend\"><span style=\"color:{OK}\">&#9632; ok</span> \
         <span style=\"color:{FAIL}\">&#9632; fail</span> \
         <span style=\"color:{INFO}\">&#9632; info (unknown)</span> \
         <span class=\"faultkey\">&#9632; fault window</span></p>"
    );
}
