//! The checkers: each reads the whole history and decides one promise
//! (`docs/verification.md`): valid, invalid, or unknown when the history
//! cannot tell (no final read, say). Figures (stale reads, lost writes,
//! latencies) go beside the verdict for the report.

mod batch;
mod delete;
mod findings;
mod ops;
mod phantom;
mod register;
mod session;
mod set;
mod stats;
mod sweep;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::history::Event;

/// Whether a property held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    /// The history shows the property held.
    Valid,
    /// The history shows a violation.
    Invalid,
    /// The history cannot decide (missing final reads, too little data).
    Unknown,
}

/// One property's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The property, e.g. `register: no stale reads (P2)`.
    pub property: String,
    pub validity: Validity,
    /// One line for the summary table.
    pub summary: String,
    /// Named figures (counts, quantiles) for `results.json` and the report.
    pub figures: BTreeMap<String, serde_json::Value>,
    /// The first anomalies found, each described on one line (bounded).
    pub anomalies: Vec<String>,
}

/// Every checker over `history`, one verdict per property.
///
/// `stats` comes first, then each workload's verdicts in name order; a
/// workload absent from the history has none. Verdicts of a workload whose
/// events are malformed are unknown, and so is `stats` if any event is.
/// Never panics, whatever the history.
///
/// The properties, `<workload>: ` then (figures-only ones marked *):
/// - `register`, `register-coord`: `no lost acked writes (P1)`, `no stale
///   reads (P2)`, `monotonic reads (P4)`, `no phantoms or failed writes
///   read (P7)`; `register-coord` also `real-time lost updates`*;
/// - `set`: P1, P2, `set-full`*, P7;
/// - `delete`: P1 (the adds not deleted), `no resurrection (P6)`, P7;
/// - `session`: `read your writes (P3)`, P7;
/// - `batch`: P1, `all or nothing (P8)`, P7;
/// - `stats`* (no workload prefix): per workload `<workload>.attempted`,
///   `.ok`, `.fail`, `.info`, `.weak`, `.availability_percent`,
///   `.availability_healthy_percent`, `.availability_faulted_percent`;
///   `faults` and `faults.<kind>` (the first word of the description).
pub fn check_all(history: &[Event]) -> Vec<Verdict> {
    let parsed = ops::parse(history);
    let mut overview = stats::check(&parsed);
    let everything: Vec<String> = parsed.malformed.values().flatten().cloned().collect();
    findings::mark_malformed(&mut overview, &everything);
    let mut verdicts = vec![overview];
    for workload in parsed.workloads() {
        let mut found = workload_verdicts(&parsed, workload);
        if let Some(why) = parsed.malformed.get(workload) {
            for verdict in &mut found {
                findings::mark_malformed(verdict, why);
            }
        }
        verdicts.extend(found);
    }
    verdicts
}

/// The verdicts of one workload; none for a workload this module does not
/// know (its operations still count in `stats`).
fn workload_verdicts(parsed: &ops::Parsed<'_>, workload: &str) -> Vec<Verdict> {
    let keys = ops::by_key(parsed.of(workload));
    let mut verdicts = match workload {
        "register" | "register-coord" => register::check(parsed, workload),
        "set" => vec![
            set::lost_adds(workload, &keys, &HashSet::new()),
            set::stale_reads(workload, &keys),
            set::set_full(workload, &keys),
        ],
        "delete" => vec![
            set::lost_adds(workload, &keys, &set::maybe_deleted(&keys)),
            delete::resurrections(workload, &keys),
        ],
        "session" => vec![session::read_your_writes(parsed, workload)],
        "batch" => vec![
            set::lost_adds(workload, &keys, &HashSet::new()),
            batch::all_or_nothing(workload, &keys),
        ],
        _ => return Vec::new(),
    };
    verdicts.push(phantom::check(parsed, workload));
    verdicts
}
