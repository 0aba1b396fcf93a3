//! The checkers: each reads the whole history and decides one promise
//! (`docs/verification.md`): valid, invalid, or unknown when the history
//! cannot tell (no final read, say). Figures (stale reads, lost writes,
//! latencies) go beside the verdict for the report.

use std::collections::BTreeMap;

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
pub fn check_all(history: &[Event]) -> Vec<Verdict> {
    let _ = history;
    Vec::new()
}
