//! `report.html`: one self-contained page (inline SVG, no scripts) with the
//! verdicts, throughput and latency over time with every fault window
//! shaded, availability per node and staleness.

use serde::{Deserialize, Serialize};

use crate::checker::Verdict;
use crate::history::Event;

/// What the run was, for the report's header and `results.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub seed: u64,
    pub nodes: usize,
    pub replication_factor: usize,
    /// The run's planned length, seconds.
    pub time_s: u64,
    pub profile: String,
    pub workloads: Vec<String>,
    pub nemeses: Vec<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The `basalt` binary the nodes ran.
    pub binary: String,
}

/// The whole page.
pub fn render_html(history: &[Event], verdicts: &[Verdict], meta: &RunMeta) -> String {
    let _ = (history, verdicts, meta);
    String::new()
}

/// The terminal summary: one table row per workload (attempted, ok, fail,
/// info, availability, latency quantiles), one line per verdict, and as its
/// last line `N passed, N failed` (one per property; unknown counts as
/// failed).
pub fn summary_text(history: &[Event], verdicts: &[Verdict], meta: &RunMeta) -> String {
    let _ = (history, meta);
    let failed = verdicts
        .iter()
        .filter(|v| v.validity != crate::checker::Validity::Valid)
        .count();
    format!("{} passed, {failed} failed\n", verdicts.len() - failed)
}
