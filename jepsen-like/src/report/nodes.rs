//! Availability per coordinator node: ok / attempted overall (a table) and
//! per time bucket (one strip per node), with the fault windows that name
//! the node (or name no node at all) outlined on its strip.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::Timeline;
use super::model::Model;
use super::stats::{self, Counts};
use super::svg::{self, Frame, Scale, esc};

const ROW: f64 = 20.0;

/// Per node, in natural order (`n2` before `n10`): overall counts and
/// counts per bucket. Operations that name no node are left out.
struct PerNode<'a> {
    nodes: BTreeMap<(usize, &'a str), (Counts, Vec<Counts>)>,
}

impl<'a> PerNode<'a> {
    fn build(model: &Model<'a>, timeline: &Timeline) -> Self {
        let mut nodes = BTreeMap::new();
        for op in model.ops.iter().filter(|op| stats::in_run(op)) {
            let Some(node) = op.node else { continue };
            let (overall, buckets) = nodes
                .entry((node.len(), node))
                .or_insert_with(|| (Counts::default(), vec![Counts::default(); timeline.buckets]));
            overall.add(op.outcome);
            if let Some(bucket) = buckets.get_mut(timeline.index(op.invoke_ns)) {
                bucket.add(op.outcome);
            }
        }
        PerNode { nodes }
    }
}

pub(crate) fn section(out: &mut String, model: &Model<'_>) {
    let timeline = Timeline::new(model);
    let per_node = PerNode::build(model, &timeline);
    if per_node.nodes.is_empty() {
        out.push_str("<p class=\"note\">No operation names its coordinator node.</p>");
        return;
    }
    table(out, &per_node);
    strips(out, model, &timeline, &per_node);
    out.push_str(
        "<p class=\"note\">Each strip: availability of the operations invoked in that bucket \
         (green 100 %, red 0 %, grey none). Outlined: the faults whose description names the \
         node, and those that name none.</p>",
    );
}

fn table(out: &mut String, per_node: &PerNode<'_>) {
    out.push_str(
        "<table><tr><th>node</th><th>attempted</th><th>ok</th><th>fail</th><th>info</th>\
         <th>availability</th></tr>",
    );
    for (&(_, node), (counts, _)) in &per_node.nodes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(node),
            counts.attempted(),
            counts.ok,
            counts.fail,
            counts.info,
            percent(counts.availability())
        );
    }
    out.push_str("</table>");
}

fn strips(out: &mut String, model: &Model<'_>, timeline: &Timeline, per_node: &PerNode<'_>) {
    let rows = per_node.nodes.len();
    let frame = Frame::new(
        ROW * rows as f64,
        timeline.seconds,
        Scale::linear(1.0),
        stats::max_concurrent_faults(model),
    );
    frame.open_strips(out, "availability per node");
    let row_top = |row: usize| frame.top() + ROW * row as f64;
    for (row, (&(_, node), (_, buckets))) in per_node.nodes.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{:.1}\">{}</text>",
            row_top(row) + ROW * 0.7,
            esc(node)
        );
        strip(out, &frame, timeline, row_top(row), buckets);
    }
    // Shaded over the opaque cells, and under the outlines so that
    // hovering an outline names the node's own fault.
    frame.shade(out, &model.windows);
    let names: Vec<&str> = per_node.nodes.keys().map(|&(_, node)| node).collect();
    for (row, node) in names.iter().enumerate() {
        let drawn = model.windows.iter().take(svg::MAX_WINDOWS);
        // A fault that names no node (loss between all nodes) concerns all.
        let concerned = drawn.filter(|w| w.concerns(node) || !names.iter().any(|n| w.concerns(n)));
        for window in concerned {
            let x0 = frame.x(window.start_ns as f64 / 1e9);
            let width = (frame.x(window.end_ns as f64 / 1e9) - x0).max(1.0);
            let _ = write!(
                out,
                "<rect class=\"hit\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{width:.1}\" \
                 height=\"{:.1}\"><title>{}</title></rect>",
                row_top(row) + 1.0,
                ROW - 2.0,
                esc(window.description)
            );
        }
    }
    svg::close(out);
}

/// One row of cells; neighbouring buckets of the same shade are merged
/// into one rectangle to keep the page small.
fn strip(out: &mut String, frame: &Frame, timeline: &Timeline, y: f64, buckets: &[Counts]) {
    let shades: Vec<Option<u64>> = buckets
        .iter()
        .map(|c| c.availability().map(|a| (a / 5.0).round() as u64))
        .collect();
    let mut start = 0;
    while start < shades.len() {
        let shade = shades.get(start).copied().flatten();
        let run = shades
            .iter()
            .skip(start)
            .take_while(|s| **s == shade)
            .count()
            .max(1);
        let x0 = frame.x(start as f64 * timeline.bucket_s());
        let x1 = frame.x((start + run) as f64 * timeline.bucket_s());
        let fill = shade.map_or_else(
            || "#e4e4e4".to_owned(),
            |s| format!("hsl({},65%,45%)", s * 6),
        );
        let _ = write!(
            out,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>",
            y + 2.0,
            (x1 - x0).max(0.5),
            ROW - 4.0
        );
        start += run;
    }
}

pub(crate) fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} %"))
}
