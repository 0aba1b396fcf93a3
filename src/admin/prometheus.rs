//! `GET /metrics`: the request metrics plus per-table storage figures, in
//! Prometheus' text exposition format (version 0.0.4), written by hand: the
//! format is a few lines of text and the values already live in atomics.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::{AdminState, Failure, blocking};
use crate::metrics::header as help;

/// Per-table gauges and counters: name, type, help, and the figure.
type Figure = (
    &'static str,
    &'static str,
    &'static str,
    fn(&storage::TableStats) -> u64,
);

const TABLE_FIGURES: [Figure; 12] = [
    (
        "basalt_table_memtable_bytes",
        "gauge",
        "Bytes in the table's memtables.",
        |s| s.memtable_bytes,
    ),
    (
        "basalt_table_memtable_partitions",
        "gauge",
        "Partitions in the table's memtables.",
        |s| s.memtable_partitions,
    ),
    (
        "basalt_table_pending_flushes",
        "gauge",
        "Memtables waiting for or in flush.",
        |s| s.flushing_memtables as u64,
    ),
    ("basalt_table_sstables", "gauge", "Live SSTables.", |s| {
        s.sstable_count as u64
    }),
    (
        "basalt_table_sstable_bytes",
        "gauge",
        "Bytes of live SSTables on disk.",
        |s| s.sstable_bytes,
    ),
    (
        "basalt_table_bloom_filter_bytes",
        "gauge",
        "Memory of the SSTables' bloom filters.",
        |s| s.bloom_memory_bytes,
    ),
    (
        "basalt_table_estimated_partitions",
        "gauge",
        "Partitions in SSTables and memtables (estimate).",
        |s| s.estimated_partitions,
    ),
    (
        "basalt_table_pending_compactions",
        "gauge",
        "Compactions pending or running (the backlog).",
        |s| s.pending_compactions as u64,
    ),
    (
        "basalt_table_pending_compaction_bytes",
        "gauge",
        "Bytes the next compaction would read.",
        |s| s.pending_compaction_bytes,
    ),
    (
        "basalt_table_reads_total",
        "counter",
        "Point reads served.",
        |s| s.reads,
    ),
    (
        "basalt_table_flushes_total",
        "counter",
        "Memtable flushes.",
        |s| s.flushes,
    ),
    (
        "basalt_table_compactions_total",
        "counter",
        "Compactions completed.",
        |s| s.compactions,
    ),
];

pub(super) async fn metrics(
    State(s): State<Arc<AdminState>>,
) -> Result<impl IntoResponse, Failure> {
    let body = blocking(move || Ok(render(&s))).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}

fn render(s: &AdminState) -> String {
    let mut out = String::new();
    s.metrics.render(&mut out);
    help(
        &mut out,
        "basalt_memtable_bytes",
        "gauge",
        "Bytes all memtables hold.",
    );
    let _ = writeln!(out, "basalt_memtable_bytes {}", s.engine.memtable_bytes());
    let schema = s.schema.current();
    let stored: std::collections::HashSet<_> = s.engine.tables().into_iter().collect();
    let tables: Vec<(String, storage::TableStats)> = schema
        .keyspaces
        .values()
        .flat_map(|k| k.tables.values())
        .filter(|t| !t.is_virtual && stored.contains(&t.table_id()))
        .filter_map(|t| {
            let stats = s.engine.table_stats(t.table_id()).ok()?;
            let labels = format!(
                "keyspace=\"{}\",table=\"{}\"",
                escape(&t.keyspace),
                escape(&t.name)
            );
            Some((labels, stats))
        })
        .collect();
    for (name, ty, text, figure) in TABLE_FIGURES {
        help(&mut out, name, ty, text);
        for (labels, stats) in &tables {
            let _ = writeln!(out, "{name}{{{labels}}} {}", figure(stats));
        }
    }
    render_clock_skew(s, &mut out);
    let name = "basalt_table_sstables_per_level";
    help(&mut out, name, "gauge", "Live SSTables in each level.");
    for (labels, stats) in &tables {
        for level in &stats.levels {
            let _ = writeln!(
                out,
                "{name}{{{labels},level=\"{}\"}} {}",
                level.level, level.sstable_count
            );
        }
    }
    out
}

/// Each peer's clock skew measured over gossip (this clock minus the peer's).
fn render_clock_skew(s: &AdminState, out: &mut String) {
    let name = "basalt_clock_skew_seconds";
    help(
        out,
        name,
        "gauge",
        "This node's wall clock minus the peer's, measured over gossip.",
    );
    for (peer, seconds) in s.view.clock_skew() {
        let _ = writeln!(out, "{name}{{peer=\"{}\"}} {seconds}", escape(&peer));
    }
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
