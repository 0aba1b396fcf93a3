//! `status` and `ring` as Cassandra 4's nodetool lays them out, and the number
//! formats every command shares.

use std::fmt::Write as _;

use crate::admin::api;

/// Bytes as Cassandra's `FileUtils.stringifyFileSize` writes them: `0 bytes`,
/// `68.5 KiB`, `1.21 GiB` (two decimals at most, trailing zeros dropped).
pub(crate) fn file_size(bytes: u64) -> String {
    const UNITS: [(f64, &str); 4] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "TiB"),
        (1024.0 * 1024.0 * 1024.0, "GiB"),
        (1024.0 * 1024.0, "MiB"),
        (1024.0, "KiB"),
    ];
    let value = bytes as f64;
    for (scale, unit) in UNITS {
        if value >= scale {
            return format!("{} {unit}", two_decimals(value / scale));
        }
    }
    format!("{} bytes", two_decimals(value))
}

/// Java's `DecimalFormat("#.##")`.
fn two_decimals(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Columns padded to their widest cell and joined by two spaces, as Cassandra's
/// `TableBuilder` prints them (the last column padded too).
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{:<w$}", row.get(i).map_or("", String::as_str)))
            .collect();
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    out
}

/// `nodetool status`.
pub(crate) fn status(status: &api::Status) -> String {
    let mut rows = vec![header_row()];
    for dc in &status.datacenters {
        rows.extend(dc.nodes.iter().map(node_row));
    }
    // One table for every data center, so columns line up across them.
    let rendered = table(&rows);
    let mut lines = rendered.lines();
    let header = lines.next().unwrap_or_default();
    let mut out = String::new();
    for dc in &status.datacenters {
        let title = format!("Datacenter: {}", dc.name);
        let _ = writeln!(out, "{title}\n{}", "=".repeat(title.len()));
        out.push_str("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n");
        let _ = writeln!(out, "{header}");
        for line in lines.by_ref().take(dc.nodes.len()) {
            let _ = writeln!(out, "{line}");
        }
    }
    out.push('\n');
    if let Some(note) = &status.ownership_note {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

fn header_row() -> Vec<String> {
    [
        "--",
        "Address",
        "Load",
        "Tokens",
        "Owns (effective)",
        "Host ID",
        "Rack",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn node_row(n: &api::NodeStatus) -> Vec<String> {
    vec![
        format!("{}{}", n.status, n.state),
        n.address.clone(),
        n.load_bytes.map_or_else(|| "?".to_owned(), file_size),
        n.tokens.to_string(),
        n.owns
            .map_or_else(|| "?".to_owned(), |o| format!("{:.1}%", o * 100.0)),
        n.host_id.clone(),
        n.rack.clone(),
    ]
}

/// `nodetool ring`.
pub(crate) fn ring(ring: &api::Ring) -> String {
    let width = ring
        .datacenters
        .iter()
        .flat_map(|dc| &dc.tokens)
        .map(|t| t.address.len())
        .max()
        .unwrap_or(0)
        .max("Address".len());
    let line = |cells: [&str; 7]| {
        let [address, rack, status, state, load, owns, token] = cells;
        format!(
            "{address:<width$}  {rack:<12}{status:<7}{state:<8}{load:<16}{owns:<20}{token:<44}\n"
        )
    };
    let mut out = String::new();
    let vnodes = ring.datacenters.iter().any(|dc| {
        let mut addresses: Vec<&str> = dc.tokens.iter().map(|t| t.address.as_str()).collect();
        addresses.sort_unstable();
        addresses.windows(2).any(|w| w[0] == w[1])
    });
    if vnodes {
        out.push_str("  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n");
        out.push_str(
            "  To view status related info of a node use \"nodetool status\" instead.\n\n",
        );
    }
    out.push('\n');
    for dc in &ring.datacenters {
        let _ = writeln!(out, "Datacenter: {}\n==========", dc.name);
        out.push_str(&line([
            "Address", "Rack", "Status", "State", "Load", "Owns", "Token",
        ]));
        match dc.tokens.last() {
            Some(last) if dc.tokens.len() > 1 => {
                out.push_str(&line(["", "", "", "", "", "", &last.token.to_string()]));
            }
            _ => out.push('\n'),
        }
        for t in &dc.tokens {
            let load = t.load_bytes.map_or_else(|| "?".to_owned(), file_size);
            let owns = format!("{:.2}%", t.owns * 100.0);
            let token = t.token.to_string();
            out.push_str(&line([
                &t.address, &t.rack, &t.status, &t.state, &load, &owns, &token,
            ]));
        }
        out.push('\n');
    }
    if let Some(note) = &ring.ownership_note {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

#[cfg(test)]
mod tests;
