//! Golden layouts of the reports.

use super::*;

fn sample_info() -> api::Info {
    api::Info {
        host_id: "11111111-1111-1111-1111-111111111111".into(),
        gossip_active: true,
        native_transport_active: true,
        load_bytes: 70_144,
        generation: 1_700_000_000,
        uptime_seconds: 42,
        rss_bytes: 100 << 20,
        memory_total_bytes: 2048 << 20,
        off_heap_bytes: 1 << 19,
        datacenter: "dc1".into(),
        rack: "r1".into(),
        exceptions: 0,
        tokens: vec![-3, 9],
    }
}

#[test]
fn info_aligns_labels_at_23_columns() {
    let text = info(&sample_info(), false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "ID                     : 11111111-1111-1111-1111-111111111111"
    );
    assert_eq!(lines[1], "Gossip active          : true");
    assert_eq!(lines[2], "Native Transport active: true");
    assert_eq!(lines[3], "Load                   : 68.5 KiB");
    assert_eq!(lines[4], "Generation No          : 1700000000");
    assert_eq!(lines[5], "Uptime (seconds)       : 42");
    assert_eq!(lines[6], "Heap Memory (MB)       : 100.00 / 2048.00");
    assert_eq!(lines[7], "Off Heap Memory (MB)   : 0.50");
    assert_eq!(
        lines[11],
        "Key Cache              : entries 0, size 0 bytes, capacity 0 bytes, 0 hits, 0 requests, NaN recent hit rate, 14400 save period in seconds"
    );
    assert_eq!(
        lines.last(),
        Some(&"Token                  : (invoke with -T/--tokens to see all 2 tokens)")
    );
    let all = info(&sample_info(), true);
    assert!(all.ends_with("Token                  : -3\nToken                  : 9\n"));
}

#[test]
fn describecluster_layout() {
    let d = api::DescribeCluster {
        name: "prod".into(),
        snitch: "org.apache.cassandra.locator.SimpleSnitch".into(),
        partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
        schema_versions: vec![(
            "2f1c9a4e-7d3b-3c51-9f0e-6a8b2d4c1e7f".into(),
            vec!["10.0.1.11".into(), "10.0.1.12".into()],
        )],
        live: 2,
        joining: 0,
        moving: 0,
        leaving: 0,
        unreachable: 0,
        datacenters: vec![("dc1".into(), 2, 0)],
        versions: vec![(
            "5.0.0".into(),
            vec!["10.0.1.11:7000".into(), "10.0.1.12:7000".into()],
        )],
        keyspaces: vec![("app".into(), "NetworkTopologyStrategy {dc1=3}".into())],
    };
    let expected = "\
Cluster Information:
\tName: prod
\tSnitch: org.apache.cassandra.locator.SimpleSnitch
\tDynamicEndPointSnitch: enabled
\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner
\tSchema versions:
\t\t2f1c9a4e-7d3b-3c51-9f0e-6a8b2d4c1e7f: [10.0.1.11, 10.0.1.12]


Stats for all nodes:
\tLive: 2
\tJoining: 0
\tMoving: 0
\tLeaving: 0
\tUnreachable: 0

Data Centers: 
\tdc1 #Nodes: 2 #Down: 0

Database versions:
\t5.0.0: [10.0.1.11:7000, 10.0.1.12:7000]

Keyspaces:
\tapp -> Replication class: NetworkTopologyStrategy {dc1=3}
";
    assert_eq!(describe_cluster(&d), expected);
}

#[test]
fn gossipinfo_endpoints_and_versions() {
    let g = api::GossipInfo {
        endpoints: vec![api::GossipEndpoint {
            address: "10.0.1.11".into(),
            generation: 5,
            heartbeat: 6,
            states: vec![
                ("STATUS".into(), 2, "NORMAL,-3".into()),
                ("TOKENS".into(), 1, "<hidden>".into()),
            ],
        }],
    };
    assert_eq!(
        gossip_info(&g),
        "/10.0.1.11\n  generation:5\n  heartbeat:6\n  STATUS:2:NORMAL,-3\n  TOKENS:1:<hidden>\n"
    );
}

#[test]
fn version_and_endpoints() {
    let v = api::Version {
        release_version: "5.0.0".into(),
        basalt_version: "0.1.0".into(),
    };
    assert_eq!(version(&v), "ReleaseVersion: 5.0.0\n");
    let e = api::Endpoints {
        token: 1,
        endpoints: vec!["10.0.1.11".into(), "10.0.1.12".into()],
    };
    assert_eq!(endpoints(&e), "10.0.1.11\n10.0.1.12\n");
}

#[test]
fn tablestats_layout() {
    let stats = api::TableStats {
        keyspaces: vec![api::KeyspaceStats {
            name: "ks".into(),
            tables: vec![api::TableStat {
                name: "t".into(),
                sstable_count: 2,
                sstables_per_level: Some(vec![1, 1]),
                space_used: 5051,
                read_count: 4,
                read_latency_micros: Some(250.0),
                write_count: 10,
                write_latency_micros: None,
                ..api::TableStat::default()
            }],
        }],
    };
    let text = table_stats(&stats);
    let head = "\
Total number of tables: 1
----------------
Keyspace : ks
\tRead Count: 4
\tRead Latency: 0.250 ms
\tWrite Count: 10
\tWrite Latency: NaN ms
\tPending Flushes: 0
\t\tTable: t
\t\tSSTable count: 2
\t\tSSTables in each level: [1, 1]
\t\tSpace used (live): 5051
";
    assert!(text.starts_with(head), "{text}");
    assert!(text.contains("\t\tLocal read latency: 0.250 ms\n"));
    assert!(text.ends_with("\t\tDropped Mutations: 0\n\n----------------\n"));
}
