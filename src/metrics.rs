//! The node's own counters and latency histograms, exported at `/metrics` on the
//! admin port in Prometheus' text format.
//!
//! Every series lives in a fixed array of atomics indexed by its labels (operation,
//! kind, consistency level, outcome), so recording is a few relaxed increments with
//! no lock and no allocation, and memory is bounded whatever the clients send.
//! Figures the storage engine already keeps (memtables, SSTables, compaction
//! backlog) are read from it when `/metrics` is scraped; see `admin::prometheus`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cql_lite::{Consistency, ErrorKind};

/// The CQL message a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// QUERY.
    Query,
    /// EXECUTE.
    Execute,
    /// BATCH.
    Batch,
    /// PREPARE.
    Prepare,
}

/// Whether a request read, wrote, or did neither (DDL, USE, PREPARE, and errors
/// that do not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SELECT.
    Read,
    /// INSERT, UPDATE, DELETE, BATCH.
    Write,
    /// Anything else.
    Other,
}

/// How a request ended, by error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A RESULT.
    Ok,
    /// UNAVAILABLE.
    Unavailable,
    /// READ_TIMEOUT or WRITE_TIMEOUT.
    Timeout,
    /// READ_FAILURE or WRITE_FAILURE.
    Failure,
    /// OVERLOADED.
    Overloaded,
    /// The client's fault: syntax, invalid, unprepared, already exists, ...
    ClientError,
    /// SERVER_ERROR and anything else.
    ServerError,
}

impl Outcome {
    /// The class of an error response.
    pub fn of_error(kind: &ErrorKind) -> Outcome {
        match kind {
            ErrorKind::Unavailable { .. } => Outcome::Unavailable,
            ErrorKind::ReadTimeout { .. } | ErrorKind::WriteTimeout { .. } => Outcome::Timeout,
            ErrorKind::ReadFailure { .. } | ErrorKind::WriteFailure { .. } => Outcome::Failure,
            ErrorKind::Overloaded => Outcome::Overloaded,
            ErrorKind::ServerError | ErrorKind::Unknown { .. } | ErrorKind::TruncateError => {
                Outcome::ServerError
            }
            _ => Outcome::ClientError,
        }
    }

    /// The kind an error response implies, if it says.
    pub fn kind_of_error(kind: &ErrorKind) -> Option<Kind> {
        match kind {
            ErrorKind::ReadTimeout { .. } | ErrorKind::ReadFailure { .. } => Some(Kind::Read),
            ErrorKind::WriteTimeout { .. } | ErrorKind::WriteFailure { .. } => Some(Kind::Write),
            _ => None,
        }
    }
}

const OPS: [(Op, &str); 4] = [
    (Op::Query, "query"),
    (Op::Execute, "execute"),
    (Op::Batch, "batch"),
    (Op::Prepare, "prepare"),
];
const KINDS: [(Kind, &str); 3] = [
    (Kind::Read, "read"),
    (Kind::Write, "write"),
    (Kind::Other, "other"),
];
const OUTCOMES: [(Outcome, &str); 7] = [
    (Outcome::Ok, "ok"),
    (Outcome::Unavailable, "unavailable"),
    (Outcome::Timeout, "timeout"),
    (Outcome::Failure, "failure"),
    (Outcome::Overloaded, "overloaded"),
    (Outcome::ClientError, "client_error"),
    (Outcome::ServerError, "server_error"),
];
/// The eleven levels plus "NONE" (PREPARE has no level).
const LEVELS: usize = 12;
/// Histogram bucket upper bounds, in microseconds (100 µs to 10 s).
const BUCKETS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];
/// One slot per bound, then `+Inf`.
const SLOTS: usize = BUCKETS_MICROS.len() + 1;
const SERIES: usize = OPS.len() * KINDS.len() * LEVELS;

fn position<T: PartialEq + Copy>(table: &[(T, &str)], value: T) -> usize {
    table.iter().position(|(v, _)| *v == value).unwrap_or(0)
}

fn level_index(level: Option<Consistency>) -> usize {
    level.map_or(LEVELS - 1, |l| {
        Consistency::ALL
            .iter()
            .position(|c| *c == l)
            .unwrap_or(LEVELS - 1)
    })
}

/// Names in `Consistency::ALL` order, as drivers and Cassandra spell them.
const LEVEL_NAMES: [&str; LEVELS] = [
    "ANY",
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "SERIAL",
    "LOCAL_SERIAL",
    "LOCAL_ONE",
    "NONE",
];

fn level_name(index: usize) -> &'static str {
    LEVEL_NAMES.get(index).copied().unwrap_or("NONE")
}

/// One fixed series: name, type, help, value.
type Series<'a> = (&'static str, &'static str, &'static str, &'a AtomicU64);

impl ClusterCounters {
    /// The counters as Prometheus series.
    fn series(&self) -> impl Iterator<Item = Series<'_>> {
        self.hint_series().into_iter().chain(self.other_series())
    }

    fn hint_series(&self) -> [Series<'_>; 6] {
        let c = self;
        [
            (
                "basalt_hints_pending",
                "gauge",
                "Hints stored and not yet delivered.",
                &c.hints_pending,
            ),
            (
                "basalt_hints_replayed_total",
                "counter",
                "Hints delivered to their replica.",
                &c.hints_replayed,
            ),
            (
                "basalt_hints_undeliverable_total",
                "counter",
                "Hints skipped at replay because their replica can never apply them.",
                &c.hints_undeliverable,
            ),
            (
                "basalt_hints_expired_total",
                "counter",
                "Stored hints not replayed: older than the hint window or their table's gc grace.",
                &c.hints_expired,
            ),
            (
                "basalt_hints_dropped_total",
                "counter",
                "Hints refused (store or queue full, too old, I/O error) or lost to a failed fsync.",
                &c.hints_dropped,
            ),
            (
                "basalt_hints_overloaded_total",
                "counter",
                "Hints dropped because the hint writer's queue was full.",
                &c.hints_overloaded,
            ),
        ]
    }

    fn other_series(&self) -> [Series<'_>; 6] {
        let c = self;
        [
            (
                "basalt_batchlog_pending",
                "gauge",
                "Logged batches kept for their coordinators.",
                &c.batchlog_pending,
            ),
            (
                "basalt_batchlog_replayed_total",
                "counter",
                "Logged batches replayed because their coordinator did not confirm them.",
                &c.batchlog_replayed,
            ),
            (
                "basalt_batchlog_undeliverable_total",
                "counter",
                "Mutations of replayed batches skipped because their table no longer exists.",
                &c.batchlog_undeliverable,
            ),
            (
                "basalt_batchlog_expired_total",
                "counter",
                "Logged batches dropped unreplayed: older than their tables' gc grace.",
                &c.batchlog_expired,
            ),
            (
                "basalt_read_repairs_total",
                "counter",
                "Read repairs sent to stale replicas.",
                &c.read_repairs,
            ),
            (
                "basalt_dropped_messages_total",
                "counter",
                "Internode messages dropped.",
                &c.dropped_messages,
            ),
        ]
    }
}

/// Counters the cluster layer fills (hints, read repair, dropped messages); named
/// now so that dashboards stay valid when they start moving.
#[derive(Debug, Default)]
pub struct ClusterCounters {
    /// Hints stored and not yet delivered.
    pub hints_pending: AtomicU64,
    /// Hints delivered to their replica.
    pub hints_replayed: AtomicU64,
    /// Hints skipped at replay: their replica can never apply them.
    pub hints_undeliverable: AtomicU64,
    /// Stored hints not replayed: older than the hint window or their
    /// table's gc grace.
    pub hints_expired: AtomicU64,
    /// Hints refused (store or queue full, too old, I/O error) or lost to a
    /// failed fsync.
    pub hints_dropped: AtomicU64,
    /// Of the dropped hints, those refused because the hint writer's queue
    /// was full.
    pub hints_overloaded: AtomicU64,
    /// Logged batches this node keeps for their coordinators.
    pub batchlog_pending: AtomicU64,
    /// Logged batches this node replayed because their coordinator did not
    /// confirm them.
    pub batchlog_replayed: AtomicU64,
    /// Mutations of replayed batches skipped: their table no longer exists.
    pub batchlog_undeliverable: AtomicU64,
    /// Logged batches dropped unreplayed: older than their tables' gc grace.
    pub batchlog_expired: AtomicU64,
    /// Read repairs sent to stale replicas.
    pub read_repairs: AtomicU64,
    /// Internode messages dropped (expired or over a queue's bound).
    pub dropped_messages: AtomicU64,
    /// Replica-protocol requests this node served for another coordinator,
    /// by verb in [`REPLICA_VERBS`] order. Hint replay's MUTATIONs count too.
    /// A token-aware client sends each request to a replica, so at RF 1 these
    /// stay still: a request its replica coordinates is served locally.
    pub replica_requests: [AtomicU64; REPLICA_VERBS.len()],
}

/// The replica protocol's verbs, as `basalt_replica_requests_total` labels them.
pub const REPLICA_VERBS: [&str; 5] = [
    "mutation",
    "read",
    "range_read",
    "batch_store",
    "batch_remove",
];

/// The node's request metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Per (op, kind, level, outcome).
    counts: Vec<AtomicU64>,
    /// Per (op, kind, level): bucket counts, then the sum in microseconds.
    latency: Vec<AtomicU64>,
    /// Filled by the cluster layer.
    pub cluster: ClusterCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// All zero.
    pub fn new() -> Self {
        let zeros = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        Metrics {
            counts: zeros(SERIES * OUTCOMES.len()),
            latency: zeros(SERIES * (SLOTS + 1)),
            cluster: ClusterCounters::default(),
        }
    }

    /// Records one request: its message, kind, level (`None` for PREPARE), outcome
    /// and how long it took.
    pub fn record(
        &self,
        op: Op,
        kind: Kind,
        level: Option<Consistency>,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let series = (position(&OPS, op) * KINDS.len() + position(&KINDS, kind)) * LEVELS
            + level_index(level);
        let count = series * OUTCOMES.len() + position(&OUTCOMES, outcome);
        self.counts[count].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKETS_MICROS
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(SLOTS - 1);
        let base = series * (SLOTS + 1);
        self.latency[base + slot].fetch_add(1, Ordering::Relaxed);
        self.latency[base + SLOTS].fetch_add(micros, Ordering::Relaxed);
    }

    /// Requests recorded so far with this outcome, over every other label.
    pub fn total(&self, outcome: Outcome) -> u64 {
        let o = position(&OUTCOMES, outcome);
        (0..SERIES)
            .map(|s| self.counts[s * OUTCOMES.len() + o].load(Ordering::Relaxed))
            .sum()
    }

    /// Appends the request and cluster metrics in Prometheus' text format. Only
    /// label sets that have seen a request are written; every metric name is.
    pub fn render(&self, out: &mut String) {
        self.render_counts(out);
        self.render_latency(out);
        let c = &self.cluster;
        for (name, ty, help, value) in c.series() {
            header(out, name, ty, help);
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "basalt_replica_requests_total";
        header(
            out,
            name,
            "counter",
            "Replica-protocol requests served for other coordinators, by verb.",
        );
        for (verb, value) in REPLICA_VERBS.iter().zip(&c.replica_requests) {
            let n = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{verb=\"{verb}\"}} {n}");
        }
    }

    fn render_counts(&self, out: &mut String) {
        let name = "basalt_cql_requests_total";
        header(
            out,
            name,
            "counter",
            "CQL requests by message, kind, consistency level and outcome.",
        );
        for series in 0..SERIES {
            for (o, (_, outcome)) in OUTCOMES.iter().enumerate() {
                let n = self.counts[series * OUTCOMES.len() + o].load(Ordering::Relaxed);
                if n > 0 {
                    let labels = series_labels(series);
                    let _ = writeln!(out, "{name}{{{labels},outcome=\"{outcome}\"}} {n}");
                }
            }
        }
    }

    fn render_latency(&self, out: &mut String) {
        let name = "basalt_cql_request_latency_seconds";
        header(
            out,
            name,
            "histogram",
            "CQL request latency by message, kind and consistency level.",
        );
        for series in 0..SERIES {
            let base = series * (SLOTS + 1);
            let load = |i: usize| self.latency[base + i].load(Ordering::Relaxed);
            let count: u64 = (0..SLOTS).map(load).sum();
            if count == 0 {
                continue;
            }
            let labels = series_labels(series);
            let mut cumulative = 0;
            for (slot, bound) in BUCKETS_MICROS.iter().enumerate() {
                cumulative += load(slot);
                let le = *bound as f64 / 1e6;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
            let sum = load(SLOTS) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
        }
    }
}

fn series_labels(series: usize) -> String {
    let level = series % LEVELS;
    let kind = (series / LEVELS) % KINDS.len();
    let op = series / LEVELS / KINDS.len();
    format!(
        "op=\"{}\",kind=\"{}\",consistency=\"{}\"",
        OPS[op].1,
        KINDS[kind].1,
        level_name(level)
    )
}

/// Writes a metric's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, ty: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {ty}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_shows_in_its_series_and_histogram() {
        let m = Metrics::new();
        m.record(
            Op::Execute,
            Kind::Read,
            Some(Consistency::Quorum),
            Outcome::Ok,
            Duration::from_micros(700),
        );
        m.record(
            Op::Prepare,
            Kind::Other,
            None,
            Outcome::ClientError,
            Duration::ZERO,
        );
        let mut out = String::new();
        m.render(&mut out);
        let labels = "op=\"execute\",kind=\"read\",consistency=\"QUORUM\"";
        assert!(
            out.contains(&format!(
                "basalt_cql_requests_total{{{labels},outcome=\"ok\"}} 1"
            )),
            "{out}"
        );
        assert!(out.contains(&format!(
            "basalt_cql_request_latency_seconds_bucket{{{labels},le=\"0.0005\"}} 0"
        )));
        assert!(out.contains(&format!(
            "basalt_cql_request_latency_seconds_bucket{{{labels},le=\"0.001\"}} 1"
        )));
        assert!(out.contains(&format!(
            "basalt_cql_request_latency_seconds_count{{{labels}}} 1"
        )));
        assert!(out.contains("consistency=\"NONE\",outcome=\"client_error\"} 1"));
        assert!(out.contains("basalt_hints_pending 0"));
        assert!(out.contains("basalt_hints_undeliverable_total 0"));
        assert!(out.contains("basalt_batchlog_undeliverable_total 0"));
        assert!(out.contains("basalt_hints_expired_total 0"));
        assert!(out.contains("basalt_hints_overloaded_total 0"));
        assert!(out.contains("basalt_batchlog_expired_total 0"));
        assert_eq!(m.total(Outcome::Ok), 1);
        m.cluster.replica_requests[1].fetch_add(2, Ordering::Relaxed);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("basalt_replica_requests_total{verb=\"mutation\"} 0"));
        assert!(out.contains("basalt_replica_requests_total{verb=\"read\"} 2"));
    }

    #[test]
    fn error_classes() {
        assert_eq!(
            Outcome::of_error(&ErrorKind::Overloaded),
            Outcome::Overloaded
        );
        assert_eq!(Outcome::of_error(&ErrorKind::Invalid), Outcome::ClientError);
        let timeout = ErrorKind::ReadTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            data_present: false,
        };
        assert_eq!(Outcome::of_error(&timeout), Outcome::Timeout);
        assert_eq!(Outcome::kind_of_error(&timeout), Some(Kind::Read));
    }
}
