//! The page around the charts: the head with its style, the run, the
//! verdict table and the list of faults.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::RunMeta;
use super::model::{Model, Outcome};
use super::nodes::percent;
use super::stats;
use super::summary::{overall, validity_word};
use super::svg::{FAIL, INFO, MAX_WINDOWS, OK, esc};
use crate::checker::Verdict;

/// Anomalies shown per verdict; the checkers bound theirs too, but the
/// page does not rely on it.
const MAX_ANOMALIES: usize = 20;
/// Faults listed in the table.
const MAX_FAULT_ROWS: usize = 1_000;

pub(crate) fn head(out: &mut String, meta: &RunMeta, verdicts: &[Verdict]) {
    let result = validity_word(overall(verdicts));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>jepsen-like run {seed}: {result}</title><style>{STYLE}\
         .ok{{color:{OK}}} .fail{{color:{FAIL}}} .info{{color:{INFO}}}</style></head><body>\
         <h1>jepsen-like run {seed}: <span class=\"{result}\">{result}</span></h1>",
        seed = meta.seed
    );
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1000px}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;\
text-align:left;vertical-align:top}th{background:#f3f3f3}\
.valid{background:#2ca02c;color:#fff;padding:0 4px}.invalid{background:#d62728;color:#fff;\
padding:0 4px}.unknown{background:#888;color:#fff;padding:0 4px}\
svg{display:block;font-size:11px;margin:.3em 0}svg text{fill:#333}\
.axis{stroke:#444;fill:none}.grid{stroke:#eee;fill:none}\
.fault{fill:#666;fill-opacity:.15}.hit{fill:none;stroke:#000;stroke-width:1.5}\
.lane{font-size:10px}.faultkey{color:#bbb}.note{color:#666;font-size:12px}\
.bar{height:10px}code,pre{white-space:pre-wrap;word-break:break-all}";

pub(crate) fn run(out: &mut String, meta: &RunMeta, model: &Model<'_>) {
    let rows = [
        ("seed", meta.seed.to_string()),
        ("nodes", meta.nodes.to_string()),
        ("replication factor", meta.replication_factor.to_string()),
        ("planned time", format!("{} s", meta.time_s)),
        (
            "recorded time",
            format!("{:.1} s", model.end_ns as f64 / 1e9),
        ),
        ("profile", meta.profile.clone()),
        ("workloads", meta.workloads.join(", ")),
        ("nemeses", meta.nemeses.join(", ")),
        ("started", meta.started_at.clone()),
        ("binary", meta.binary.clone()),
    ];
    out.push_str("<h2>Run</h2><table>");
    for (name, value) in rows {
        let _ = write!(out, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
    }
    out.push_str("</table>");
    if model.malformed > 0 {
        let _ = write!(
            out,
            "<p class=\"invalid\">Malformed history: {} events could not be paired.</p>",
            model.malformed
        );
    }
}

pub(crate) fn verdicts(out: &mut String, verdicts: &[Verdict]) {
    out.push_str("<h2 id=\"verdicts\">Verdicts</h2>");
    if verdicts.is_empty() {
        out.push_str("<p class=\"unknown\">No verdicts: nothing was checked.</p>");
        return;
    }
    out.push_str(
        "<table><tr><th>property</th><th>result</th><th>summary</th><th>figures</th>\
         <th>first anomalies</th></tr>",
    );
    for verdict in verdicts {
        let word = validity_word(verdict.validity);
        let _ = write!(
            out,
            "<tr><td>{}</td><td><span class=\"{word}\">{word}</span></td><td>{}</td><td>",
            esc(&verdict.property),
            esc(&verdict.summary)
        );
        for (name, value) in &verdict.figures {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            let _ = write!(out, "{}&nbsp;=&nbsp;{}<br>", esc(name), esc(&value));
        }
        out.push_str("</td><td>");
        anomalies(out, &verdict.anomalies);
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
}

fn anomalies(out: &mut String, anomalies: &[String]) {
    let Some(first) = anomalies.first() else {
        return;
    };
    let _ = write!(out, "<code>{}</code>", esc(first));
    if anomalies.len() > 1 {
        let _ = write!(
            out,
            "<details><summary>{} more</summary>",
            anomalies.len() - 1
        );
        for anomaly in anomalies.iter().skip(1).take(MAX_ANOMALIES - 1) {
            let _ = write!(out, "<code>{}</code><br>", esc(anomaly));
        }
        if anomalies.len() > MAX_ANOMALIES {
            let _ = write!(out, "… and {} not shown", anomalies.len() - MAX_ANOMALIES);
        }
        out.push_str("</details>");
    }
}

pub(crate) fn workloads(out: &mut String, model: &Model<'_>) {
    out.push_str(
        "<table><tr><th>workload</th><th>attempted</th><th>ok</th><th>fail</th><th>info</th>\
         <th>availability</th><th>healthy</th><th>faulted</th><th>p50 ms</th><th>p99 ms</th></tr>",
    );
    for (workload, s) in stats::per_workload(model) {
        let ms = |q| {
            s.quantile_ms(q)
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(workload),
            s.counts.attempted(),
            s.counts.ok,
            s.counts.fail,
            s.counts.info,
            percent(s.counts.availability()),
            percent(s.healthy.availability()),
            percent(s.faulted.availability()),
            ms(0.5),
            ms(0.99)
        );
    }
    out.push_str(
        "</table><p class=\"note\">Final reads are left out. Healthy and faulted: operations \
         that overlapped no fault window, and those that overlapped one. Latency quantiles of \
         ok operations.</p>",
    );
}

pub(crate) fn faults(out: &mut String, model: &Model<'_>) {
    let _ = write!(
        out,
        "<h2 id=\"faults\">Faults</h2><p>{} faults, at most {} at once.</p>",
        model.windows.len(),
        stats::max_concurrent_faults(model)
    );
    if model.windows.is_empty() {
        return;
    }
    out.push_str(
        "<table><tr><th>kind</th><th>description</th><th>start s</th><th>end s</th>\
         <th>lasted s</th></tr>",
    );
    for w in model.windows.iter().take(MAX_FAULT_ROWS) {
        let _ = write!(
            out,
            "<tr class=\"fault-row\"><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}{}</td>\
             <td>{:.1}</td></tr>",
            esc(w.kind),
            esc(w.description),
            w.start_ns as f64 / 1e9,
            w.end_ns as f64 / 1e9,
            if w.open { " (never healed)" } else { "" },
            w.end_ns.saturating_sub(w.start_ns) as f64 / 1e9
        );
    }
    out.push_str("</table>");
    if model.windows.len() > MAX_FAULT_ROWS {
        let _ = write!(
            out,
            "<p class=\"note\">{} more faults not listed; charts shade the first {}.</p>",
            model.windows.len() - MAX_FAULT_ROWS,
            MAX_WINDOWS
        );
    }
}

/// Distinct errors shown; the rest are counted.
const MAX_ERRORS: usize = 20;
/// Characters of an error shown.
const ERROR_CHARS: usize = 300;

/// The most frequent error texts of failed and unknown operations.
pub(crate) fn errors(out: &mut String, model: &Model<'_>) {
    let mut counts: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for op in &model.ops {
        if let Some(error) = op.error {
            let outcome = if op.outcome == Outcome::Fail {
                "fail"
            } else {
                "info"
            };
            *counts.entry((op.workload, outcome, error)).or_insert(0) += 1;
        }
    }
    out.push_str("<h2 id=\"errors\">Errors</h2>");
    if counts.is_empty() {
        out.push_str("<p>None.</p>");
        return;
    }
    let mut sorted: Vec<_> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.push_str("<table><tr><th>workload</th><th>outcome</th><th>count</th><th>error</th></tr>");
    for ((workload, outcome, error), count) in sorted.iter().take(MAX_ERRORS) {
        let shown: String = error.chars().take(ERROR_CHARS).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"{outcome}\">{outcome}</td><td>{count}</td>\
             <td><code>{}</code></td></tr>",
            esc(workload),
            esc(&shown)
        );
    }
    out.push_str("</table>");
    if sorted.len() > MAX_ERRORS {
        let _ = write!(
            out,
            "<p class=\"note\">{} more distinct errors.</p>",
            sorted.len() - MAX_ERRORS
        );
    }
}
