//! Staleness of register reads: for each `Ok` read, how far behind the
//! newest `Ok` write of its key that completed before the read was invoked
//! it was, in real time (ms since a newer write than the one read had
//! completed) and in timestamp (µs). A scatter over time and a histogram.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::model::{Model, Op};
use super::stats;
use super::svg::{self, FAIL, Frame, MAX_POINTS, OK, Scale, esc};
use crate::history::Function;

/// The workloads whose keys are registers with timestamped values.
const REGISTERS: [&str; 3] = ["register", "register-coord", "session"];

/// One `Ok` read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Staleness<'a> {
    pub(crate) workload: &'a str,
    pub(crate) key: Option<&'a str>,
    pub(crate) invoke_ns: u64,
    /// 0 for a fresh read; else the time from the completion of the first
    /// write newer than the value read to the read's invocation.
    pub(crate) behind_ms: f64,
    /// The newest completed write's timestamp minus the one read; none
    /// when the read found no value.
    pub(crate) behind_us: Option<i64>,
    /// Read at QUORUM or ALL, where staleness is a violation (P2); at ONE
    /// it is expected.
    pub(crate) strong: bool,
}

/// Every `Ok` read of a register workload whose timestamp is known.
pub(crate) fn measure<'a>(model: &Model<'a>) -> Vec<Staleness<'a>> {
    let mut keys: HashMap<(&str, Option<&str>), Vec<&Op<'_>>> = HashMap::new();
    for op in &model.ops {
        if REGISTERS.contains(&op.workload) {
            keys.entry((op.workload, op.key)).or_default().push(op);
        }
    }
    let mut all: Vec<Staleness<'a>> = keys.values().flat_map(|ops| key_staleness(ops)).collect();
    all.sort_by_key(|s| s.invoke_ns);
    all
}

/// The sweep for one key: writes in completion order keep a running list
/// of record timestamps, reads in invocation order look up the first
/// record newer than what they read. O(n log n).
fn key_staleness<'a>(ops: &[&Op<'a>]) -> Vec<Staleness<'a>> {
    let timestamp_of = learn_timestamps(ops);
    let mut writes: Vec<(u64, i64)> = ops
        .iter()
        .filter(|op| op.is_ok() && op.function == Function::Write)
        .filter_map(|op| {
            let ts = op.timestamps.first().copied();
            let ts = ts.or_else(|| timestamp_of.get(op.values.first()?).copied())?;
            Some((op.complete_ns?, ts))
        })
        .collect();
    writes.sort_unstable();
    let mut reads: Vec<&&Op<'a>> = ops
        .iter()
        .filter(|op| op.is_ok() && op.function == Function::Read)
        .collect();
    reads.sort_by_key(|op| op.invoke_ns);
    // Records: the writes that raised the running maximum, so both their
    // completion times and their timestamps increase.
    let mut records: Vec<(u64, i64)> = Vec::new();
    let mut next = writes.iter().peekable();
    let mut out = Vec::with_capacity(reads.len());
    for read in reads {
        while let Some(&&(done, ts)) = next.peek() {
            if done >= read.invoke_ns {
                break;
            }
            if records.last().is_none_or(|&(_, max)| ts > max) {
                records.push((done, ts));
            }
            next.next();
        }
        let read_ts = match read.values.first() {
            None => None,
            Some(value) => match read.timestamps.first().or(timestamp_of.get(value)) {
                Some(&ts) => Some(ts),
                // A value whose timestamp nobody saw cannot be placed.
                None => continue,
            },
        };
        out.push(behind(read, read_ts, &records));
    }
    out
}

fn behind<'a>(read: &Op<'a>, read_ts: Option<i64>, records: &[(u64, i64)]) -> Staleness<'a> {
    let first_newer = read_ts.map_or(0, |ts| records.partition_point(|&(_, r)| r <= ts));
    let newest = records.last().map(|&(_, ts)| ts);
    let (behind_ms, behind_us) = match records.get(first_newer) {
        Some(&(done, _)) => (
            read.invoke_ns.saturating_sub(done) as f64 / 1e6,
            read_ts.zip(newest).map(|(r, n)| n.saturating_sub(r)),
        ),
        None => (0.0, Some(0)),
    };
    Staleness {
        workload: read.workload,
        key: read.key,
        invoke_ns: read.invoke_ns,
        behind_ms,
        behind_us,
        strong: read
            .consistency
            .is_none_or(|cl| cl.eq_ignore_ascii_case("QUORUM") || cl.eq_ignore_ascii_case("ALL")),
    }
}

/// Each value's timestamp: chosen by its writer (client timestamps) or
/// learnt from the reads that returned it (`writetime`).
fn learn_timestamps(ops: &[&Op<'_>]) -> HashMap<i64, i64> {
    let mut known = HashMap::new();
    for op in ops {
        if op.function == Function::Write || op.is_ok() {
            for (value, ts) in op.values.iter().zip(op.timestamps) {
                known.entry(*value).or_insert(*ts);
            }
        }
    }
    known
}

pub(crate) fn section(out: &mut String, model: &Model<'_>) {
    let reads = measure(model);
    if reads.is_empty() {
        out.push_str("<p class=\"note\">No register reads in this history.</p>");
        return;
    }
    let stale: Vec<&Staleness<'_>> = reads.iter().filter(|s| s.behind_ms > 0.0).collect();
    let worst_ms = stale.iter().map(|s| s.behind_ms).fold(0.0, f64::max);
    let worst_us = stale.iter().filter_map(|s| s.behind_us).max().unwrap_or(0);
    let strong = stale.iter().filter(|s| s.strong).count();
    let _ = write!(
        out,
        "<p>{} of {} ok reads stale ({strong} of them at QUORUM/ALL); worst {worst_ms:.1} ms \
         of real time, {worst_us} µs of timestamp.</p>",
        stale.len(),
        reads.len()
    );
    scatter(out, model, &reads);
    histogram(out, &stale);
    worst(out, stale);
}

/// The stalest reads, with their keys.
fn worst(out: &mut String, mut stale: Vec<&Staleness<'_>>) {
    const SHOWN: usize = 10;
    if stale.is_empty() {
        return;
    }
    stale.sort_by(|a, b| b.behind_ms.total_cmp(&a.behind_ms));
    out.push_str(
        "<table><tr><th>workload</th><th>key</th><th>invoked s</th><th>behind ms</th>\
         <th>behind µs of timestamp</th><th>QUORUM/ALL</th></tr>",
    );
    for s in stale.iter().take(SHOWN) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
            esc(s.workload),
            esc(s.key.unwrap_or("")),
            s.invoke_ns as f64 / 1e9,
            s.behind_ms,
            s.behind_us
                .map_or_else(|| "no value read".to_owned(), |us| us.to_string()),
            if s.strong { "yes" } else { "no" }
        );
    }
    out.push_str("</table>");
}

fn scatter(out: &mut String, model: &Model<'_>, reads: &[Staleness<'_>]) {
    let shown = svg::thin(reads.to_vec(), MAX_POINTS);
    let max = shown.iter().map(|s| s.behind_ms).fold(0.0, f64::max);
    let frame = Frame::new(
        160.0,
        model.seconds() as f64,
        Scale::linear(max),
        stats::max_concurrent_faults(model),
    );
    frame.open(out, "staleness", "behind (ms)", &model.windows);
    for (strong, colour) in [(false, "#888"), (true, OK)] {
        let points: Vec<(f64, f64)> = shown
            .iter()
            .filter(|s| s.strong == strong)
            .map(|s| (frame.x(s.invoke_ns as f64 / 1e9), frame.y(s.behind_ms)))
            .collect();
        svg::dots(out, colour, &points);
    }
    svg::close(out);
    let _ = write!(
        out,
        "<p class=\"note\">{} of {} reads drawn, at their invocation; blue QUORUM/ALL, grey \
         weaker levels.</p>",
        shown.len(),
        reads.len()
    );
}

/// Stale reads by how far behind, in decades of milliseconds.
fn histogram(out: &mut String, stale: &[&Staleness<'_>]) {
    const BINS: [(&str, f64); 6] = [
        ("≤ 1 ms", 1.0),
        ("≤ 10 ms", 10.0),
        ("≤ 100 ms", 100.0),
        ("≤ 1 s", 1e3),
        ("≤ 10 s", 1e4),
        ("> 10 s", f64::INFINITY),
    ];
    let mut counts = [0usize; BINS.len()];
    for s in stale {
        let bin = BINS
            .iter()
            .position(|&(_, up)| s.behind_ms <= up)
            .unwrap_or(0);
        if let Some(count) = counts.get_mut(bin) {
            *count += 1;
        }
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1);
    out.push_str("<table class=\"hist\"><tr><th>stale by</th><th>reads</th><th></th></tr>");
    for ((label, _), count) in BINS.iter().zip(counts) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{count}</td><td><div class=\"bar\" style=\"width:{:.0}px;\
             background:{FAIL}\"></div></td></tr>",
            esc(label),
            400.0 * count as f64 / most as f64
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, NEMESIS, OpType};

    fn event(time_ns: u64, process: u64, kind: OpType, function: Function) -> Event {
        Event {
            index: 0,
            time_ns,
            process,
            kind,
            function,
            workload: "register".to_owned(),
            key: Some("k".to_owned()),
            values: Vec::new(),
            timestamps: Vec::new(),
            consistency: None,
            node: None,
            error: None,
        }
    }

    fn with(mut e: Event, value: i64, ts: i64) -> Event {
        e.values = vec![value];
        e.timestamps = vec![ts];
        e
    }

    #[test]
    fn a_read_behind_a_completed_write_is_stale_by_the_time_since() {
        let ms = 1_000_000;
        let history = vec![
            with(event(0, 1, OpType::Invoke, Function::Write), 10, 100),
            event(ms, 1, OpType::Ok, Function::Write),
            with(event(2 * ms, 1, OpType::Invoke, Function::Write), 11, 200),
            event(3 * ms, 1, OpType::Ok, Function::Write),
            // Reads the first value after the second write completed.
            event(10 * ms, 2, OpType::Invoke, Function::Read),
            with(event(11 * ms, 2, OpType::Ok, Function::Read), 10, 100),
            // Reads the second: fresh.
            event(12 * ms, 3, OpType::Invoke, Function::Read),
            with(event(13 * ms, 3, OpType::Ok, Function::Read), 11, 200),
            // Reads nothing, though both writes completed.
            event(14 * ms, 4, OpType::Invoke, Function::Read),
            event(15 * ms, 4, OpType::Ok, Function::Read),
            Event {
                process: NEMESIS,
                ..event(16 * ms, NEMESIS, OpType::Info, Function::Start)
            },
        ];
        let model = Model::build(&history);
        let reads = measure(&model);
        assert_eq!(reads.len(), 3);
        let by_time: Vec<(f64, Option<i64>)> =
            reads.iter().map(|s| (s.behind_ms, s.behind_us)).collect();
        assert_eq!(
            by_time,
            vec![(7.0, Some(100)), (0.0, Some(0)), (13.0, None)]
        );
    }

    #[test]
    fn a_write_completing_after_the_read_started_does_not_count() {
        let history = vec![
            with(event(0, 1, OpType::Invoke, Function::Write), 10, 100),
            event(5, 2, OpType::Invoke, Function::Read),
            event(6, 1, OpType::Ok, Function::Write),
            event(7, 2, OpType::Ok, Function::Read),
        ];
        let reads = measure(&Model::build(&history));
        assert_eq!(reads.len(), 1);
        assert_eq!(reads.first().map(|s| s.behind_ms), Some(0.0));
    }
}
