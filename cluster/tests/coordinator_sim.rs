//! An in-process cluster: each node a `Replica` over its own storage engine
//! on a simulated file system, reached through `LoopbackPeers` (which can
//! take hosts down, silence them or delay them). The coordinator's
//! consistency semantics are checked end to end: acknowledgements per level,
//! Unavailable before any contact, timeouts with their counts, hints, read
//! repair, DC-aware levels and token-ordered scans.
//!
//! Timeouts are shortened so the suite stays fast; real time is used because
//! replicas apply writes on their own threads, which a paused tokio clock
//! would not wait for.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cluster::Replica;
use cluster::murmur3_token;
use cluster::sim::{LoopbackPeers, MemoryHints, StaticTopology};
use cluster::{
    ClusterCoordinator, CoordinatorConfig, CoordinatorError, ReadLimits, ReadOutcome, WriteType,
};
use cluster::{ConsistencyLevel as Cl, Unavailable};
use cluster::{HostId, Ring, RingEndpoint as Endpoint};
use cluster::{NetworkTopologyStrategy, ReplicationStrategy, SimpleStrategy};
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, DeletionTime, Engine, KeyRange,
    Mutation, RangeTombstone, Row, TableId, Token,
};
use storage::{ColumnFilter, PartitionRead, ScanCommand};

const TABLE: TableId = TableId(1);
const LIMITS: ReadLimits = ReadLimits {
    max_rows: 10_000,
    max_tombstones: 100_000,
};

fn host(i: usize) -> HostId {
    HostId([i as u8 + 1; 16])
}

struct Cluster {
    replicas: Vec<Arc<Replica>>,
    dcs: Vec<String>,
    peers: Arc<LoopbackPeers>,
    topology: Arc<StaticTopology>,
    hints: Arc<MemoryHints>,
}

fn engine() -> Arc<Engine> {
    support::engine(TABLE)
}

/// One node per entry of `dcs`, four interleaved vnodes each.
fn cluster(dcs: &[&str]) -> Cluster {
    let n = dcs.len();
    let mut ring = Ring::new();
    let peers = Arc::new(LoopbackPeers::new());
    let mut replicas = Vec::new();
    for (i, dc) in dcs.iter().enumerate() {
        let ep = Endpoint {
            host_id: host(i),
            address: ([127, 0, 0, i as u8 + 1], 7000).into(),
            datacenter: (*dc).into(),
            rack: "rack1".into(),
        };
        let step = u64::MAX / (4 * n as u64);
        let tokens =
            (0..4).map(|v| Token(i64::MIN.wrapping_add(((v * n + i) as u64 * step) as i64)));
        ring.add(ep, tokens).expect("distinct tokens");
        let replica = Replica::new(engine());
        peers.add(host(i), Arc::clone(&replica));
        replicas.push(replica);
    }
    Cluster {
        replicas,
        dcs: dcs.iter().map(|d| d.to_string()).collect(),
        peers,
        topology: Arc::new(StaticTopology::new(ring)),
        hints: Arc::new(MemoryHints::new(1000)),
    }
}

impl Cluster {
    /// The coordinator on node `i`, using its replica directly.
    fn coordinator(&self, i: usize) -> ClusterCoordinator {
        let mut config = CoordinatorConfig::new(host(i), self.dcs[i].clone());
        config.write_timeout = Duration::from_millis(500);
        config.read_timeout = Duration::from_millis(1000);
        config.range_timeout = Duration::from_secs(2);
        ClusterCoordinator::new(
            config,
            self.peers.clone(),
            self.topology.clone(),
            self.hints.clone(),
            Some(Arc::clone(&self.replicas[i])),
        )
    }

    fn set_down(&self, i: usize, down: bool) {
        self.topology
            .set_down(host(i), down.then_some(Duration::from_secs(1)));
        self.peers.set_down(host(i), down);
    }

    fn sent_total(&self) -> usize {
        (0..self.replicas.len())
            .map(|i| self.peers.sent(host(i)))
            .sum()
    }

    /// What node `i` holds for `k`, read directly from its engine.
    fn local_value(&self, i: usize, k: &str) -> Option<Vec<u8>> {
        let engine = self.replicas[i].engine();
        let mut reader = engine.read(TABLE, &point_read(k)).expect("local read");
        let row = reader.next()?.expect("row reads");
        row.cells[0].cell.value_at(0).map(|v| v.to_vec())
    }
}

fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(murmur3_token(k.as_bytes()), k.as_bytes().to_vec())
}

fn put(k: &str, v: &str, ts: i64) -> Mutation {
    Mutation::new(TABLE, key(k)).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, v.as_bytes().to_vec()),
    ))
}

fn delete(k: &str, ts: i64) -> Mutation {
    let mut m = Mutation::new(TABLE, key(k));
    m.partition_deletion = Some(DeletionTime::new(ts, 1_000));
    m
}

fn point_read(k: &str) -> PartitionRead {
    PartitionRead {
        key: key(k),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: 1_000,
        include_tombstones: false,
    }
}

fn value(outcome: &ReadOutcome) -> Option<Vec<u8>> {
    let p = outcome.partitions.first()?;
    let cell = &p.rows.first()?.cells.first()?.cell;
    cell.value_at(1_000).map(|v| v.to_vec())
}

fn rf3() -> SimpleStrategy {
    SimpleStrategy { rf: 3 }
}

async fn write(
    c: &ClusterCoordinator,
    m: Mutation,
    cl: Cl,
    s: &dyn ReplicationStrategy,
) -> Result<(), CoordinatorError> {
    c.write(vec![m], cl, WriteType::Simple, s).await
}

async fn read(
    c: &ClusterCoordinator,
    k: &str,
    cl: Cl,
    s: &dyn ReplicationStrategy,
) -> Result<Option<Vec<u8>>, CoordinatorError> {
    Ok(value(&c.read(TABLE, point_read(k), LIMITS, cl, s).await?))
}

#[tokio::test]
async fn quorum_write_then_quorum_read() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    write(&coord, put("k", "v1", 10), Cl::Quorum, &rf3())
        .await
        .unwrap();
    assert_eq!(
        read(&coord, "k", Cl::Quorum, &rf3()).await.unwrap(),
        Some(b"v1".to_vec())
    );
    // Every replica got the write, not only the two that acknowledged it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..3 {
        assert_eq!(c.local_value(i, "k"), Some(b"v1".to_vec()), "node {i}");
    }
    // A read at ONE from another coordinator sees it too.
    assert_eq!(
        read(&c.coordinator(2), "k", Cl::One, &rf3()).await.unwrap(),
        Some(b"v1".to_vec())
    );
}

#[tokio::test]
async fn one_replica_down_quorum_works_and_all_is_unavailable_before_any_contact() {
    let c = cluster(&["dc1"; 3]);
    c.set_down(2, true);
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::Quorum, &rf3())
        .await
        .unwrap();
    assert_eq!(
        read(&coord, "k", Cl::Quorum, &rf3()).await.unwrap(),
        Some(b"v".to_vec())
    );

    let sent = c.sent_total();
    let expected = CoordinatorError::Unavailable(Unavailable {
        cl: Cl::All,
        required: 3,
        alive: 2,
        dc: None,
    });
    assert_eq!(
        write(&coord, put("k", "w", 11), Cl::All, &rf3()).await,
        Err(expected.clone())
    );
    assert_eq!(read(&coord, "k", Cl::All, &rf3()).await, Err(expected));
    assert_eq!(c.sent_total(), sent, "nobody was contacted");
    assert_eq!(
        c.local_value(0, "k"),
        Some(b"v".to_vec()),
        "the ALL write was not applied"
    );
}

#[tokio::test]
async fn a_quorum_read_repairs_a_replica_that_missed_a_write() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    write(&coord, put("k", "old", 10), Cl::All, &rf3())
        .await
        .unwrap();
    c.set_down(1, true);
    write(&coord, put("k", "new", 20), Cl::Quorum, &rf3())
        .await
        .unwrap();
    c.set_down(1, false);
    assert_eq!(c.local_value(1, "k"), Some(b"old".to_vec()));
    // Node 1 coordinates: it reads its own (stale) data and a digest from a
    // peer, sees the mismatch, reconciles and repairs itself before answering.
    let stale_coord = c.coordinator(1);
    assert_eq!(
        read(&stale_coord, "k", Cl::Quorum, &rf3()).await.unwrap(),
        Some(b"new".to_vec())
    );
    assert_eq!(c.local_value(1, "k"), Some(b"new".to_vec()));
}

#[tokio::test]
async fn a_deletion_on_a_quorum_wins_over_stale_data_and_is_repaired() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::All, &rf3())
        .await
        .unwrap();
    c.set_down(1, true);
    write(&coord, delete("k", 20), Cl::Quorum, &rf3())
        .await
        .unwrap();
    c.set_down(1, false);
    assert_eq!(c.local_value(1, "k"), Some(b"v".to_vec()));
    let reader = c.coordinator(1);
    assert_eq!(read(&reader, "k", Cl::All, &rf3()).await.unwrap(), None);
    assert_eq!(c.local_value(1, "k"), None, "the tombstone was repaired");
    assert_eq!(reader.read_repairs(), 1);
}

#[tokio::test]
async fn replicas_that_accept_but_never_ack_time_the_write_out() {
    let c = cluster(&["dc1"; 3]);
    c.peers.set_silent(host(1), true);
    c.peers.set_silent(host(2), true);
    let coord = c.coordinator(0);
    let err = write(&coord, put("k", "v", 10), Cl::Quorum, &rf3())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CoordinatorError::WriteTimeout {
            cl: Cl::Quorum,
            received: 1,
            block_for: 2,
            write_type: WriteType::Simple,
        }
    );
    // The silent replicas applied it all the same, and were hinted.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.local_value(2, "k"), Some(b"v".to_vec()));
    let hinted: Vec<HostId> = c.hints.hints().iter().map(|(h, _)| *h).collect();
    assert_eq!(hinted.len(), 2, "{hinted:?}");
    // ONE is met by the coordinator's own replica.
    write(&coord, put("k", "w", 11), Cl::One, &rf3())
        .await
        .unwrap();
}

#[tokio::test]
async fn any_with_every_replica_down_stores_hints() {
    let c = cluster(&["dc1"; 3]);
    for i in 0..3 {
        c.set_down(i, true);
    }
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::Any, &rf3())
        .await
        .unwrap();
    let hints = c.hints.hints();
    assert_eq!(hints.len(), 3);
    assert!(hints.iter().all(|(_, m)| *m == put("k", "v", 10)));
    assert_eq!(c.sent_total(), 0);
    let err = write(&coord, put("k", "v", 10), Cl::One, &rf3())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CoordinatorError::Unavailable(Unavailable {
            required: 1,
            alive: 0,
            ..
        })
    ));
    // Replaying the hints brings a replica up to date.
    c.set_down(1, false);
    for m in c.hints.take_for(host(1)) {
        c.replicas[1].apply(m).await.unwrap();
    }
    assert_eq!(c.local_value(1, "k"), Some(b"v".to_vec()));
}

#[tokio::test]
async fn hints_stop_after_the_hint_window() {
    let c = cluster(&["dc1"; 3]);
    c.topology
        .set_down(host(2), Some(Duration::from_secs(4 * 3600)));
    write(&c.coordinator(0), put("k", "v", 10), Cl::Quorum, &rf3())
        .await
        .unwrap();
    assert!(c.hints.hints().is_empty());
}

fn two_dcs() -> (Cluster, NetworkTopologyStrategy) {
    let c = cluster(&["dc1", "dc1", "dc1", "dc2", "dc2", "dc2"]);
    let s = NetworkTopologyStrategy {
        dc_rf: BTreeMap::from([("dc1".into(), 3), ("dc2".into(), 3)]),
    };
    (c, s)
}

#[tokio::test]
async fn local_quorum_needs_only_the_local_dc() {
    let (c, nts) = two_dcs();
    c.set_down(3, true);
    c.set_down(4, true);
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::LocalQuorum, &nts)
        .await
        .unwrap();
    let dc2_sent = (3..6).map(|i| c.peers.sent(host(i))).sum::<usize>();
    assert_eq!(
        read(&coord, "k", Cl::LocalQuorum, &nts).await.unwrap(),
        Some(b"v".to_vec())
    );
    let dc2_after = (3..6).map(|i| c.peers.sent(host(i))).sum::<usize>();
    assert_eq!(dc2_sent, dc2_after, "a LOCAL_QUORUM read stays in dc1");

    let err = write(&coord, put("k", "w", 11), Cl::EachQuorum, &nts)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CoordinatorError::Unavailable(Unavailable {
            cl: Cl::EachQuorum,
            required: 2,
            alive: 1,
            dc: Some("dc2".into()),
        })
    );
}

#[tokio::test]
async fn each_quorum_waits_for_a_quorum_in_every_dc() {
    let (c, nts) = two_dcs();
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::EachQuorum, &nts)
        .await
        .unwrap();
    assert_eq!(
        read(&coord, "k", Cl::EachQuorum, &nts).await.unwrap(),
        Some(b"v".to_vec())
    );
    // dc2 silent: LOCAL_QUORUM is still met, EACH_QUORUM times out with the
    // local quorum counted.
    for i in 3..6 {
        c.peers.set_silent(host(i), true);
    }
    write(&coord, put("k", "w", 11), Cl::LocalQuorum, &nts)
        .await
        .unwrap();
    let err = write(&coord, put("k", "x", 12), Cl::EachQuorum, &nts)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CoordinatorError::WriteTimeout {
            cl: Cl::EachQuorum,
            received: 2,
            block_for: 4,
            write_type: WriteType::Simple,
        }
    );
    // A dc2 coordinator's LOCAL_QUORUM read sees what dc1 wrote at EACH_QUORUM
    // earlier (and, with dc2 answering again, the later writes).
    for i in 3..6 {
        c.peers.set_silent(host(i), false);
    }
    let remote = c.coordinator(4);
    assert_eq!(
        read(&remote, "k", Cl::LocalQuorum, &nts).await.unwrap(),
        Some(b"x".to_vec())
    );
}

fn scan_all(
    limit: usize,
    resume: Option<(DecoratedKey, ClusteringKey)>,
) -> (ScanCommand, ReadLimits) {
    let scan = ScanCommand {
        range: KeyRange::ALL,
        resume_after: resume,
        columns: ColumnFilter::All,
        now: 1_000,
        include_tombstones: false,
    };
    (
        scan,
        ReadLimits {
            max_rows: limit,
            max_tombstones: 100_000,
        },
    )
}

#[tokio::test]
async fn a_quorum_scan_returns_every_partition_in_token_order() {
    let c = cluster(&["dc1"; 4]);
    let coord = c.coordinator(0);
    let keys: Vec<String> = (0..100).map(|i| format!("key{i}")).collect();
    // A quarter of the writes miss node 3, so scans must reconcile.
    for (i, k) in keys.iter().enumerate() {
        c.set_down(3, i % 4 == 0);
        write(&coord, put(k, "v", 10), Cl::Quorum, &rf3())
            .await
            .unwrap();
    }
    c.set_down(3, false);
    let (scan, limits) = scan_all(10_000, None);
    let out = c
        .coordinator(3)
        .scan(TABLE, scan, limits, Cl::Quorum, &rf3())
        .await
        .unwrap();
    assert!(!out.stopped_at_limit);
    let got: Vec<DecoratedKey> = out.partitions.iter().map(|p| p.key.clone()).collect();
    let mut expected: Vec<DecoratedKey> = keys.iter().map(|k| key(k)).collect();
    expected.sort();
    assert_eq!(got, expected);
    assert!(out.partitions.iter().all(|p| p.rows.len() == 1));
}

#[tokio::test]
async fn scans_page_through_the_ring() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(1);
    for i in 0..100 {
        write(&coord, put(&format!("key{i}"), "v", 10), Cl::Quorum, &rf3())
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut resume = None;
    for _ in 0..20 {
        let (scan, limits) = scan_all(30, resume.clone());
        let out = coord
            .scan(TABLE, scan, limits, Cl::Quorum, &rf3())
            .await
            .unwrap();
        let rows: usize = out.partitions.iter().map(|p| p.rows.len()).sum();
        assert!(rows <= 30);
        for p in &out.partitions {
            seen.push(p.key.clone());
            resume = Some((p.key.clone(), p.rows.last().unwrap().clustering.clone()));
        }
        if !out.stopped_at_limit {
            break;
        }
    }
    let mut expected: Vec<DecoratedKey> = (0..100).map(|i| key(&format!("key{i}"))).collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_replica_error_is_a_failure_not_a_timeout() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    let mut bad = put("k", "v", 10);
    bad.table = TableId(99);
    let err = write(&coord, bad, Cl::Quorum, &rf3()).await.unwrap_err();
    assert!(
        matches!(err, CoordinatorError::WriteFailure { block_for: 2, .. }),
        "{err:?}"
    );
    let ok = coord
        .read(TABLE, point_read("nothing"), LIMITS, Cl::Quorum, &rf3())
        .await
        .unwrap();
    assert!(ok.partitions.is_empty());
    let err = coord
        .read(TableId(99), point_read("k"), LIMITS, Cl::Quorum, &rf3())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoordinatorError::ReadFailure { .. }),
        "{err:?}"
    );
    let err = coord
        .read(TABLE, point_read("k"), LIMITS, Cl::Any, &rf3())
        .await
        .unwrap_err();
    assert!(matches!(err, CoordinatorError::Invalid(_)));
}

#[tokio::test]
async fn a_slow_replica_times_the_read_out_with_counts() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    write(&coord, put("k", "v", 10), Cl::All, &rf3())
        .await
        .unwrap();
    c.peers.set_delay(host(1), Duration::from_secs(5));
    c.peers.set_delay(host(2), Duration::from_secs(5));
    let err = read(&coord, "k", Cl::Quorum, &rf3()).await.unwrap_err();
    assert_eq!(
        err,
        CoordinatorError::ReadTimeout {
            cl: Cl::Quorum,
            received: 1,
            block_for: 2,
            data_present: true,
        }
    );
}

#[tokio::test]
async fn a_range_deletion_one_replica_missed_hides_its_rows_from_scans() {
    let c = cluster(&["dc1"; 3]);
    let coord = c.coordinator(0);
    let row = Mutation::new(TABLE, key("k")).with_row(
        Row::new(ClusteringKey::new(b"c1".to_vec())).with_cell(
            ColumnId(1),
            None,
            Cell::live(10, b"v".to_vec()),
        ),
    );
    write(&coord, row, Cl::All, &rf3()).await.unwrap();
    // Node 1 misses the deletion of every row of the partition.
    c.set_down(1, true);
    let mut deletion = Mutation::new(TABLE, key("k"));
    deletion.range_tombstones.push(RangeTombstone {
        range: ClusteringRange::ALL,
        deletion: DeletionTime::new(20, 1_000),
    });
    write(&coord, deletion, Cl::Quorum, &rf3()).await.unwrap();
    c.set_down(1, false);
    let (scan, limits) = scan_all(10_000, None);
    let scanner = c.coordinator(1);
    let out = scanner
        .scan(TABLE, scan, limits, Cl::All, &rf3())
        .await
        .unwrap();
    let rows: usize = out.partitions.iter().map(|p| p.rows.len()).sum();
    assert_eq!(rows, 0, "the deleted row came back: {out:?}");
    assert_eq!(scanner.read_repairs(), 1, "the stale replica was repaired");
}
