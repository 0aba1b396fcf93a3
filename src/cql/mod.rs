//! CQL execution: statements bound to the schema, run through the [`Coordinator`].
//!
//! A statement is parsed by `cql-lite`, then *prepared* against a schema snapshot
//! into a plan ([`select::SelectPlan`], [`write::WritePlan`]) that knows its table,
//! its bind markers and what it returns. Executing a plan binds one request's values
//! and runs it with an [`ExecContext`]. The same path serves QUERY (prepare, then
//! execute once) and EXECUTE (a cached plan).
//!
//! This module never touches storage directly: reads and writes go through the
//! coordinator seam, so the cluster can replace the single-node one.

pub(crate) mod bind;
pub(crate) mod error;
pub(crate) mod executor;
pub(crate) mod prepared;
mod restrictions;
pub(crate) mod select;
pub(crate) mod write;

pub(crate) use crate::schema::{VirtualTables, resolve_keyspace};

use bytes::Bytes;
use cql_lite::{Consistency, QueryResult};

use crate::coordinator::Coordinator;
use crate::hlc::{Hlc, WallClock};
use crate::schema::Schema;

/// Limits that warn (flag 0x08 warnings) or fail a query, Cassandra's guardrails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guardrails {
    /// `batch_size_warn_threshold` in bytes (default 5 KiB).
    pub batch_size_warn_bytes: usize,
    /// `batch_size_fail_threshold` in bytes (default 50 KiB).
    pub batch_size_fail_bytes: usize,
    /// `tombstone_warn_threshold` (default 1,000).
    pub tombstone_warn: usize,
    /// `tombstone_failure_threshold` (default 100,000).
    pub tombstone_failure: usize,
    /// `client_timestamp_lead_warn_threshold` in µs; 0 disables (default 10 s).
    pub timestamp_lead_warn_micros: i64,
    /// `client_timestamp_lead_fail_threshold` in µs; 0 disables (default 5 min).
    pub timestamp_lead_fail_micros: i64,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            batch_size_warn_bytes: 5 << 10,
            batch_size_fail_bytes: 50 << 10,
            tombstone_warn: 1_000,
            tombstone_failure: 100_000,
            timestamp_lead_warn_micros: 10_000_000,
            timestamp_lead_fail_micros: 300_000_000,
        }
    }
}

impl Guardrails {
    /// The guardrail on a client timestamp ahead of this node's wall clock: a
    /// cell written in the future shadows every later write to it until real
    /// time catches up, so a lead beyond the warn threshold gets a warning and
    /// one beyond the fail threshold is refused. Timestamps in the past pass.
    pub(crate) fn check_timestamp_lead(
        &self,
        timestamp: i64,
        now_micros: i64,
    ) -> Result<Option<String>, cql_lite::ErrorResponse> {
        let lead = timestamp.saturating_sub(now_micros);
        let message = |threshold: i64, key: &str| {
            format!(
                "Client timestamp {timestamp} is {} ahead of the coordinator's clock, \
                 more than {key} ({}); check the client's clock and timestamp unit",
                seconds(lead),
                seconds(threshold)
            )
        };
        if self.refuses_lead(lead) {
            let key = "client_timestamp_lead_fail_threshold";
            return Err(error::invalid(message(
                self.timestamp_lead_fail_micros,
                key,
            )));
        }
        let warn = self.timestamp_lead_warn_micros;
        Ok(
            (warn > 0 && lead > warn)
                .then(|| message(warn, "client_timestamp_lead_warn_threshold")),
        )
    }

    /// Whether a client timestamp `lead` µs ahead of the wall clock is refused.
    pub(crate) fn refuses_lead(&self, lead: i64) -> bool {
        self.timestamp_lead_fail_micros > 0 && lead > self.timestamp_lead_fail_micros
    }
}

/// µs as seconds with millisecond precision (`3600.000s`).
fn seconds(micros: i64) -> String {
    format!(
        "{}.{:03}s",
        micros / 1_000_000,
        (micros % 1_000_000) / 1_000
    )
}

/// Where write timestamps and the wall clock come from.
pub trait TimeSource: Send + Sync + std::fmt::Debug {
    /// A fresh write timestamp in µs, later than any given or observed before.
    fn write_timestamp(&self) -> i64;
    /// Advances the clock past a timestamp a client (or peer) used.
    fn observe(&self, timestamp: i64);
    /// Wall-clock µs since the epoch.
    fn wall_micros(&self) -> i64;
}

/// The node's hybrid logical clock is where its writes get their timestamps.
impl<C: WallClock + 'static> TimeSource for Hlc<C> {
    fn write_timestamp(&self) -> i64 {
        self.now()
    }

    fn observe(&self, timestamp: i64) {
        if let Err(e) = Hlc::observe(self, timestamp) {
            tracing::debug!(%e, "ignoring a client timestamp far in the future");
        }
    }

    fn wall_micros(&self) -> i64 {
        Hlc::wall_micros(self)
    }
}

/// Everything a plan needs to run one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecContext<'a> {
    /// The schema snapshot the plan was checked against.
    pub schema: &'a Schema,
    /// Where reads and writes go.
    pub coordinator: &'a dyn Coordinator,
    /// Rows of virtual tables.
    pub virtual_tables: &'a dyn VirtualTables,
    /// The client's consistency level.
    pub consistency: Consistency,
    /// The write timestamp in µs: the client's (flag 0x20) or the node's clock's.
    /// `USING TIMESTAMP` overrides it.
    pub timestamp: i64,
    /// Whether `timestamp` is the client's, so the lead guardrail applies to it.
    pub client_timestamp: bool,
    /// Wall-clock time in µs, for TTLs, expiry and `now()`.
    pub now_micros: i64,
    /// Limits.
    pub guardrails: &'a Guardrails,
}

impl ExecContext<'_> {
    /// Wall-clock seconds since the epoch (what storage's TTL arithmetic uses).
    pub(crate) fn now_seconds(&self) -> i64 {
        self.now_micros.div_euclid(1_000_000)
    }

    /// The time functions like `now()` see.
    pub(crate) fn bind_time(&self) -> bind::BindTime {
        bind::BindTime {
            now_micros: self.now_micros,
        }
    }
}

/// A request's paging parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Paging {
    /// Rows per page (`None` or ≤ 0: everything in one page).
    pub page_size: Option<i32>,
    /// The state the previous page returned.
    pub state: Option<Bytes>,
    /// Leave column specs out of the Rows metadata (flag 0x02).
    pub skip_metadata: bool,
}

/// A statement's result with the warnings to send along (flag 0x08).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The RESULT body.
    pub result: QueryResult,
    /// Warnings for the client.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// A result without warnings.
    pub fn new(result: QueryResult) -> Self {
        Outcome {
            result,
            warnings: Vec::new(),
        }
    }
}
