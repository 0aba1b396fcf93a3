//! `info`, `describecluster`, `gossipinfo`, `tablestats`, `getendpoints` and
//! `version` as Cassandra 4's nodetool prints them.

use std::fmt::Write as _;

use super::format::file_size;
use crate::admin::api;

/// `nodetool info [-T]`.
pub(crate) fn info(info: &api::Info, all_tokens: bool) -> String {
    let mb = |bytes: u64| format!("{:.2}", bytes as f64 / (1024.0 * 1024.0));
    let cache = |save: u32| {
        format!(
            "entries 0, size 0 bytes, capacity 0 bytes, 0 hits, 0 requests, NaN recent hit rate, {save} save period in seconds"
        )
    };
    let mut lines: Vec<(&str, String)> = vec![
        ("ID", info.host_id.clone()),
        ("Gossip active", info.gossip_active.to_string()),
        ("Native Transport active", info.native_transport_active.to_string()),
        ("Load", file_size(info.load_bytes)),
        ("Generation No", info.generation.to_string()),
        ("Uptime (seconds)", info.uptime_seconds.to_string()),
        (
            "Heap Memory (MB)",
            format!("{} / {}", mb(info.rss_bytes), mb(info.memory_total_bytes)),
        ),
        ("Off Heap Memory (MB)", mb(info.off_heap_bytes)),
        ("Data Center", info.datacenter.clone()),
        ("Rack", info.rack.clone()),
        ("Exceptions", info.exceptions.to_string()),
        ("Key Cache", cache(14400)),
        ("Row Cache", cache(0)),
        ("Counter Cache", cache(7200)),
        (
            "Chunk Cache",
            "entries 0, size 0 bytes, capacity 0 bytes, 0 misses, 0 requests, NaN recent hit rate, NaN microseconds miss latency".to_owned(),
        ),
        ("Percent Repaired", "0.0%".to_owned()),
    ];
    if all_tokens {
        lines.extend(info.tokens.iter().map(|t| ("Token", t.to_string())));
    } else if info.tokens.len() == 1 {
        lines.push(("Token", info.tokens[0].to_string()));
    } else {
        let n = info.tokens.len();
        lines.push((
            "Token",
            format!("(invoke with -T/--tokens to see all {n} tokens)"),
        ));
    }
    lines
        .into_iter()
        .map(|(label, value)| format!("{label:<23}: {value}\n"))
        .collect()
}

/// `nodetool describecluster`.
pub(crate) fn describe_cluster(d: &api::DescribeCluster) -> String {
    let mut out = String::from("Cluster Information:\n");
    let _ = writeln!(out, "\tName: {}", d.name);
    let _ = writeln!(out, "\tSnitch: {}", d.snitch);
    out.push_str("\tDynamicEndPointSnitch: enabled\n");
    let _ = writeln!(out, "\tPartitioner: {}", d.partitioner);
    out.push_str("\tSchema versions:\n");
    for (version, hosts) in &d.schema_versions {
        let _ = writeln!(out, "\t\t{version}: [{}]\n", hosts.join(", "));
    }
    out.push_str("\nStats for all nodes:\n");
    let _ = writeln!(out, "\tLive: {}", d.live);
    let _ = writeln!(out, "\tJoining: {}", d.joining);
    let _ = writeln!(out, "\tMoving: {}", d.moving);
    let _ = writeln!(out, "\tLeaving: {}", d.leaving);
    let _ = writeln!(out, "\tUnreachable: {}", d.unreachable);
    out.push_str("\nData Centers: \n");
    for (dc, nodes, down) in &d.datacenters {
        let _ = writeln!(out, "\t{dc} #Nodes: {nodes} #Down: {down}");
    }
    out.push_str("\nDatabase versions:\n");
    for (version, hosts) in &d.versions {
        let _ = writeln!(out, "\t{version}: [{}]", hosts.join(", "));
    }
    out.push_str("\nKeyspaces:\n");
    for (name, replication) in &d.keyspaces {
        let _ = writeln!(out, "\t{name} -> Replication class: {replication}");
    }
    out
}

/// `nodetool gossipinfo`.
pub(crate) fn gossip_info(g: &api::GossipInfo) -> String {
    let mut out = String::new();
    for e in &g.endpoints {
        let _ = writeln!(out, "/{}", e.address);
        let _ = writeln!(out, "  generation:{}", e.generation);
        let _ = writeln!(out, "  heartbeat:{}", e.heartbeat);
        for (name, version, value) in &e.states {
            let _ = writeln!(out, "  {name}:{version}:{value}");
        }
    }
    out
}

/// `nodetool getendpoints`: one address a line.
pub(crate) fn endpoints(e: &api::Endpoints) -> String {
    e.endpoints.iter().map(|a| format!("{a}\n")).collect()
}

/// `nodetool version`.
pub(crate) fn version(v: &api::Version) -> String {
    format!("ReleaseVersion: {}\n", v.release_version)
}

fn millis(micros: Option<f64>) -> String {
    micros.map_or_else(|| "NaN".to_owned(), |m| format!("{:.3}", m / 1000.0))
}

/// `nodetool tablestats`.
pub(crate) fn table_stats(stats: &api::TableStats) -> String {
    let total: usize = stats.keyspaces.iter().map(|k| k.tables.len()).sum();
    let mut out = format!("Total number of tables: {total}\n----------------\n");
    for ks in &stats.keyspaces {
        let reads: u64 = ks.tables.iter().map(|t| t.read_count).sum();
        let writes: u64 = ks.tables.iter().map(|t| t.write_count).sum();
        let weighted = |count: fn(&api::TableStat) -> u64,
                        mean: fn(&api::TableStat) -> Option<f64>| {
            let n: u64 = ks
                .tables
                .iter()
                .filter(|t| mean(t).is_some())
                .map(count)
                .sum();
            let sum: f64 = ks
                .tables
                .iter()
                .filter_map(|t| Some(mean(t)? * count(t) as f64))
                .sum();
            (n > 0).then(|| sum / n as f64)
        };
        let _ = writeln!(out, "Keyspace : {}", ks.name);
        let _ = writeln!(out, "\tRead Count: {reads}");
        let read_latency = weighted(|t| t.read_count, |t| t.read_latency_micros);
        let _ = writeln!(out, "\tRead Latency: {} ms", millis(read_latency));
        let _ = writeln!(out, "\tWrite Count: {writes}");
        let write_latency = weighted(|t| t.write_count, |t| t.write_latency_micros);
        let _ = writeln!(out, "\tWrite Latency: {} ms", millis(write_latency));
        let pending: usize = ks.tables.iter().map(|t| t.pending_flushes).sum();
        let _ = writeln!(out, "\tPending Flushes: {pending}");
        for t in &ks.tables {
            table_lines(&mut out, t);
        }
        out.push_str("----------------\n");
    }
    out
}

fn table_lines(out: &mut String, t: &api::TableStat) {
    let mut lines: Vec<(&str, String)> = vec![
        ("Table", t.name.clone()),
        ("SSTable count", t.sstable_count.to_string()),
    ];
    if let Some(levels) = &t.sstables_per_level {
        let levels: Vec<String> = levels.iter().map(ToString::to_string).collect();
        lines.push(("SSTables in each level", format!("[{}]", levels.join(", "))));
    }
    lines.extend([
        ("Space used (live)", t.space_used.to_string()),
        ("Space used (total)", t.space_used.to_string()),
        ("Space used by snapshots (total)", "0".to_owned()),
        ("Off heap memory used (total)", t.off_heap_bytes.to_string()),
        (
            "Number of partitions (estimate)",
            t.estimated_partitions.to_string(),
        ),
        ("Memtable cell count", t.memtable_partitions.to_string()),
        ("Memtable data size", t.memtable_bytes.to_string()),
        ("Memtable switch count", t.memtable_switch_count.to_string()),
        ("Local read count", t.read_count.to_string()),
        (
            "Local read latency",
            format!("{} ms", millis(t.read_latency_micros)),
        ),
        ("Local write count", t.write_count.to_string()),
        (
            "Local write latency",
            format!("{} ms", millis(t.write_latency_micros)),
        ),
        ("Pending flushes", t.pending_flushes.to_string()),
        ("Percent repaired", "0.0".to_owned()),
        ("Bloom filter space used", t.bloom_filter_bytes.to_string()),
        (
            "Compacted partition maximum bytes",
            t.max_partition_bytes.to_string(),
        ),
        ("Tombstones in SSTables", t.sstable_tombstones.to_string()),
        ("Pending compactions", t.pending_compactions.to_string()),
        ("Dropped Mutations", "0".to_owned()),
    ]);
    for (label, value) in lines {
        let _ = writeln!(out, "\t\t{label}: {value}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests;
