//! `report.html`: one self-contained page (inline SVG, no scripts) with the
//! verdicts, throughput and latency over time with every fault window
//! shaded, availability per node and staleness.

use serde::{Deserialize, Serialize};

use crate::checker::Verdict;
use crate::history::Event;

mod charts;
mod model;
mod nodes;
mod page;
mod stale;
mod stats;
mod summary;
mod svg;

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

/// The whole page: the run and the verdicts, then throughput, latency,
/// availability per node and staleness over time, each with the fault
/// windows shaded, then the list of faults. Every string from the history
/// or the verdicts is escaped; each plot draws at most 20,000 points.
pub fn render_html(history: &[Event], verdicts: &[Verdict], meta: &RunMeta) -> String {
    let model = model::Model::build(history);
    let mut out = String::new();
    page::head(&mut out, meta, verdicts);
    out.push_str("<section id=\"run\">");
    page::run(&mut out, meta, &model);
    page::verdicts(&mut out, verdicts);
    out.push_str("<h2>Operations</h2>");
    page::workloads(&mut out, &model);
    out.push_str("</section><section id=\"throughput\"><h2>Throughput</h2>");
    charts::legend(&mut out);
    charts::throughput(&mut out, &model, "all workloads", None);
    let workloads = stats::per_workload(&model);
    if workloads.len() > 1 {
        for workload in workloads.keys() {
            charts::throughput(&mut out, &model, workload, Some(workload));
        }
    }
    out.push_str("</section><section id=\"latency\"><h2>Latency</h2>");
    charts::legend(&mut out);
    charts::latency(&mut out, &model);
    out.push_str("</section><section id=\"availability\"><h2>Availability per node</h2>");
    nodes::section(&mut out, &model);
    out.push_str("</section><section id=\"staleness\"><h2>Staleness of register reads</h2>");
    stale::section(&mut out, &model);
    out.push_str("</section><section id=\"faults-list\">");
    page::faults(&mut out, &model);
    page::errors(&mut out, &model);
    out.push_str("</section></body></html>\n");
    out
}

/// The terminal summary: the run, one table row per workload (attempted,
/// ok, fail, info, availability overall and in healthy and faulted time,
/// latency quantiles), faults by kind, one line per verdict, `RESULT
/// valid|invalid|unknown`, and as its last line `N passed, N failed` (one
/// per property; unknown counts as failed). Text from the history is
/// stripped of control characters.
pub fn summary_text(history: &[Event], verdicts: &[Verdict], meta: &RunMeta) -> String {
    summary::render(&model::Model::build(history), verdicts, meta)
}
