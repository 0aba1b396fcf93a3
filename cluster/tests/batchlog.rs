//! The batchlog end to end over an in-process cluster of four nodes (RF 3,
//! so each key has a node that is not its replica): a logged batch is kept on
//! two nodes other than its coordinator and forgotten once applied; when the
//! coordinator "dies" after logging it, a batchlog node replays it to every
//! replica; Unavailable when no other node can keep it; a batch replayed
//! after a TRUNCATE brings back none of what it wrote before it.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cluster::BoxFuture;
use cluster::ConsistencyLevel as Cl;
use cluster::GcGrace;
use cluster::Replica;
use cluster::SimpleStrategy;
use cluster::murmur3_token;
use cluster::sim::{LoopbackPeers, MemoryHints, StaticTopology};
use cluster::{
    BatchId, BatchReplay, BatchlogReplayConfig, BatchlogReplayer, BatchlogStore,
    BatchlogStoreConfig,
};
use cluster::{ClusterCoordinator, CoordinatorConfig, CoordinatorError, WriteType};
use cluster::{HostId, Ring, RingEndpoint as Endpoint};
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Engine, Mutation, Row, TableId,
    Token,
};
use storage::{ColumnFilter, PartitionRead, Timestamp};

const TABLE: TableId = TableId(1);
const NODES: usize = 4;
const RF3: SimpleStrategy = SimpleStrategy { rf: 3 };

fn host(i: usize) -> HostId {
    HostId([i as u8 + 1; 16])
}

fn engine() -> Arc<Engine> {
    support::engine(TABLE)
}

struct Cluster {
    _dir: tempfile::TempDir,
    replicas: Vec<Arc<Replica>>,
    stores: Vec<Arc<BatchlogStore>>,
    peers: Arc<LoopbackPeers>,
    topology: Arc<StaticTopology>,
    /// The batchlog stores' clock, in ms.
    now: Arc<AtomicU64>,
    /// `TABLE`'s gc grace, in s, as the replayers see it.
    grace: Arc<AtomicU64>,
}

fn cluster() -> Cluster {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = Arc::new(AtomicU64::new(1_000_000));
    let (mut ring, peers) = (Ring::new(), Arc::new(LoopbackPeers::new()));
    let (mut replicas, mut stores) = (Vec::new(), Vec::new());
    for i in 0..NODES {
        let ep = Endpoint {
            host_id: host(i),
            address: ([127, 0, 0, i as u8 + 1], 7000).into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
        };
        let step = u64::MAX / (4 * NODES as u64);
        let tokens =
            (0..4).map(|v| Token(i64::MIN.wrapping_add(((v * NODES + i) as u64 * step) as i64)));
        ring.add(ep, tokens).expect("distinct tokens");
        let clock = Arc::clone(&now);
        let store = BatchlogStore::open(
            Arc::new(storage::StdFs),
            BatchlogStoreConfig::new(dir.path().join(format!("node{i}"))),
            Arc::new(move || clock.load(Ordering::SeqCst)),
        )
        .expect("store opens");
        let store = Arc::new(store);
        let replica = Replica::with_batchlog(engine(), Arc::clone(&store));
        peers.add(host(i), Arc::clone(&replica));
        replicas.push(replica);
        stores.push(store);
    }
    Cluster {
        _dir: dir,
        replicas,
        stores,
        peers,
        topology: Arc::new(StaticTopology::new(ring)),
        now,
        grace: Arc::new(AtomicU64::new(864_000)),
    }
}

impl Cluster {
    fn coordinator(&self, i: usize) -> Arc<ClusterCoordinator> {
        let mut config = CoordinatorConfig::new(host(i), "dc1");
        config.write_timeout = Duration::from_millis(500);
        Arc::new(ClusterCoordinator::new(
            config,
            self.peers.clone(),
            self.topology.clone(),
            Arc::new(MemoryHints::new(1000)),
            Some(Arc::clone(&self.replicas[i])),
        ))
    }

    fn set_down(&self, i: usize, down: bool) {
        self.topology
            .set_down(host(i), down.then_some(Duration::from_secs(1)));
        self.peers.set_down(host(i), down);
    }

    fn held(&self) -> Vec<u64> {
        self.stores.iter().map(|s| s.counters().pending).collect()
    }

    fn local_value(&self, i: usize, k: &str) -> Option<Vec<u8>> {
        let row = self.local_row(i, k)?;
        row.cells[0].cell.value_at(0).map(|v| v.to_vec())
    }

    /// The columns of `k`'s row on node `i`.
    fn local_columns(&self, i: usize, k: &str) -> Vec<ColumnId> {
        self.local_row(i, k)
            .map(|r| r.cells.iter().map(|c| c.column).collect())
            .unwrap_or_default()
    }

    fn local_row(&self, i: usize, k: &str) -> Option<Row> {
        let read = PartitionRead {
            key: key(k),
            slices: vec![ClusteringRange::ALL],
            columns: ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now: 1_000,
            include_tombstones: false,
        };
        let mut reader = self.replicas[i].engine().read(TABLE, &read).ok()?;
        reader.next()?.ok()
    }
}

fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(murmur3_token(k.as_bytes()), k.as_bytes().to_vec())
}

fn put(k: &str, v: &str) -> Mutation {
    Mutation::new(TABLE, key(k)).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(10, v.as_bytes().to_vec()),
    ))
}

fn batch() -> Vec<Mutation> {
    (0..8).map(|n| put(&format!("k{n}"), "v")).collect()
}

/// Replays through a node's coordinator at ONE, as the node does, skipping
/// the mutations of tables other than `TABLE` as the node skips dropped
/// tables; can be told to fail.
#[derive(Debug)]
struct ThroughCoordinator {
    coordinator: Arc<ClusterCoordinator>,
    fail: AtomicBool,
}

impl BatchReplay for ThroughCoordinator {
    fn replay(&self, mutations: Vec<Mutation>) -> BoxFuture<'_, Result<usize, String>> {
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err("replicas unreachable".into());
            }
            let all = mutations.len();
            let live: Vec<Mutation> = mutations.into_iter().filter(|m| m.table == TABLE).collect();
            let skipped = all - live.len();
            self.coordinator
                .write(live, Cl::One, WriteType::UnloggedBatch, &RF3)
                .await
                .map_err(|e| e.to_string())?;
            Ok(skipped)
        })
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 2 s");
}

#[tokio::test]
async fn a_batch_is_kept_on_two_other_nodes_until_applied() {
    let c = cluster();
    let coordinator = c.coordinator(0);
    let logged = coordinator
        .log_batch(BatchId([1; 16]), &batch(), Cl::Quorum)
        .await
        .expect("logged");
    assert_eq!(logged.hosts.len(), 2);
    assert!(!logged.hosts.contains(&host(0)), "{logged:?}");
    let held = c.held();
    assert_eq!(held.iter().sum::<u64>(), 2, "{held:?}");
    assert_eq!(held[0], 0);
    coordinator
        .write(batch(), Cl::Quorum, WriteType::Batch, &RF3)
        .await
        .expect("applied");
    coordinator.forget_batch(logged);
    eventually("the batch is forgotten", || {
        c.held().iter().sum::<u64>() == 0
    })
    .await;
}

#[tokio::test]
async fn a_batch_whose_coordinator_died_is_replayed_to_every_replica() {
    let c = cluster();
    let (keeper, target, replayer) = c.orphan_batch(BatchId([2; 16]), &batch(), true).await;
    // Too young: a live coordinator may still be applying it.
    assert_eq!(replayer.replay_due().await.replayed, 0);
    c.now.fetch_add(1_000, Ordering::SeqCst);
    // A failed replay keeps the batch for the next pass.
    assert_eq!(replayer.replay_due().await.failed, 1);
    assert_eq!(c.stores[keeper].counters().pending, 1);
    target.fail.store(false, Ordering::SeqCst);
    assert_eq!(replayer.replay_due().await.replayed, 1);
    assert_eq!(c.stores[keeper].counters().pending, 0);
    // Every live replica of every key has its write.
    for n in 0..8 {
        let k = format!("k{n}");
        let replicas: Vec<usize> = (1..NODES)
            .filter(|&i| {
                let ring = c.topology_ring();
                cluster::ReplicationStrategy::replicas(&RF3, &ring, key(&k).token)
                    .contains(&host(i))
            })
            .collect();
        assert!(replicas.len() >= 2, "{k}: {replicas:?}");
        for i in replicas {
            let c = &c;
            let k2 = k.clone();
            eventually(&format!("{k} on node {i}"), move || {
                c.local_value(i, &k2) == Some(b"v".to_vec())
            })
            .await;
        }
    }
}

#[tokio::test]
async fn no_live_node_to_keep_the_batch_is_unavailable_unless_any() {
    let c = cluster();
    let coordinator = c.coordinator(0);
    for i in 1..NODES {
        c.set_down(i, true);
    }
    let err = coordinator
        .log_batch(BatchId([3; 16]), &batch(), Cl::One)
        .await
        .expect_err("nowhere to log");
    let CoordinatorError::Unavailable(u) = err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!((u.required, u.alive), (1, 0));
    // ANY settles for the coordinator's own batchlog.
    let logged = coordinator
        .log_batch(BatchId([4; 16]), &batch(), Cl::Any)
        .await
        .expect("logged locally");
    assert_eq!(logged.hosts, [host(0)]);
    assert_eq!(c.held(), [1, 0, 0, 0]);
    // One node back: the batch goes there alone.
    c.set_down(2, false);
    let logged = coordinator
        .log_batch(BatchId([5; 16]), &batch(), Cl::One)
        .await
        .expect("logged on node 2");
    assert_eq!(logged.hosts, [host(2)]);
}

#[tokio::test]
async fn a_silent_batchlog_node_times_the_batchlog_write_out() {
    let c = cluster();
    for i in 1..NODES {
        c.peers.set_silent(host(i), true);
    }
    let err = c
        .coordinator(0)
        .log_batch(BatchId([6; 16]), &batch(), Cl::Quorum)
        .await
        .expect_err("no acknowledgement");
    assert!(
        matches!(
            err,
            CoordinatorError::WriteTimeout {
                received: 0,
                block_for: 2,
                write_type: WriteType::BatchLog,
                ..
            }
        ),
        "{err:?}"
    );
}

impl Cluster {
    fn hosts_index(&self, h: HostId) -> usize {
        (0..NODES).find(|&i| host(i) == h).expect("a known host")
    }

    /// Node 0 logs `mutations` as batch `id` and dies before applying any of
    /// it; returns the first node keeping the batch, the replay target through
    /// that node's coordinator (failing while `fail` is set) and its replayer.
    async fn orphan_batch(
        &self,
        id: BatchId,
        mutations: &[Mutation],
        fail: bool,
    ) -> (usize, Arc<ThroughCoordinator>, BatchlogReplayer) {
        let logged = self
            .coordinator(0)
            .log_batch(id, mutations, Cl::Quorum)
            .await
            .expect("logged");
        self.set_down(0, true);
        let keeper = self.hosts_index(logged.hosts[0]);
        let target = Arc::new(ThroughCoordinator {
            coordinator: self.coordinator(keeper),
            fail: AtomicBool::new(fail),
        });
        let grace = Arc::clone(&self.grace);
        let config = BatchlogReplayConfig {
            interval: Duration::from_secs(10),
            min_age: Duration::from_secs(1),
            gc_grace: GcGrace::new(move |t| {
                (t == TABLE).then(|| Duration::from_secs(grace.load(Ordering::SeqCst)))
            }),
        };
        let store = Arc::clone(&self.stores[keeper]);
        let replayer = BatchlogReplayer::new(store, Arc::clone(&target) as _, config);
        (keeper, target, replayer)
    }

    fn topology_ring(&self) -> Arc<Ring> {
        cluster::Topology::ring(self.topology.as_ref())
    }
}

#[tokio::test]
async fn a_batch_with_a_dropped_table_is_replayed_forgotten_and_counted() {
    let c = cluster();
    let mut mutations = batch();
    let gone = Mutation::new(TableId(99), key("gone")).with_row(
        Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(1), None, Cell::live(10, vec![1])),
    );
    mutations.insert(0, gone);
    let (keeper, _, replayer) = c.orphan_batch(BatchId([3; 16]), &mutations, false).await;
    let store = Arc::clone(&c.stores[keeper]);
    c.now.fetch_add(1_000, Ordering::SeqCst);
    let pass = replayer.replay_due().await;
    assert_eq!((pass.replayed, pass.failed, pass.undeliverable), (1, 0, 1));
    let counters = store.counters();
    assert_eq!((counters.pending, counters.undeliverable), (0, 1));
    // Nothing is left to replay on the next pass.
    assert_eq!(replayer.replay_due().await, Default::default());
}

/// No node but the dead coordinator has any of `batch()`'s writes.
fn nowhere(c: &Cluster) -> bool {
    (1..NODES).all(|i| (0..8).all(|n| c.local_value(i, &format!("k{n}")).is_none()))
}

#[tokio::test]
async fn a_batch_older_than_its_tables_gc_grace_is_dropped_not_replayed() {
    let c = cluster();
    c.grace.store(5, Ordering::SeqCst);
    let (keeper, _, replayer) = c.orphan_batch(BatchId([7; 16]), &batch(), false).await;
    c.now.fetch_add(5_000, Ordering::SeqCst);
    let pass = replayer.replay_due().await;
    assert_eq!((pass.replayed, pass.expired), (0, 1));
    let counters = c.stores[keeper].counters();
    assert_eq!((counters.pending, counters.expired), (0, 1));
    assert!(nowhere(&c));
    assert_eq!(replayer.replay_due().await, Default::default());
}

#[tokio::test]
async fn a_batch_younger_than_its_tables_gc_grace_is_replayed() {
    let c = cluster();
    c.grace.store(5, Ordering::SeqCst);
    let (keeper, _, replayer) = c.orphan_batch(BatchId([8; 16]), &batch(), false).await;
    c.now.fetch_add(4_999, Ordering::SeqCst);
    let pass = replayer.replay_due().await;
    assert_eq!((pass.replayed, pass.expired), (1, 0));
    assert_eq!(c.stores[keeper].counters().expired, 0);
    assert!(!nowhere(&c));
}

#[tokio::test]
async fn a_batch_of_a_table_with_zero_gc_grace_is_never_replayed() {
    let c = cluster();
    c.grace.store(0, Ordering::SeqCst);
    let (_, _, replayer) = c.orphan_batch(BatchId([9; 16]), &batch(), false).await;
    c.now.fetch_add(1_000, Ordering::SeqCst);
    assert_eq!(replayer.replay_due().await.expired, 1);
    assert!(nowhere(&c));
}

#[tokio::test]
async fn a_batch_replayed_after_a_truncation_brings_back_only_what_is_newer() {
    let c = cluster();
    // Each write of the batch holds a cell stamped 10 (column 1) and one
    // stamped 30 (column 2); the TRUNCATE comes at 20.
    let mutations: Vec<Mutation> = (0..8)
        .map(|n| {
            let row = Row::new(ClusteringKey::EMPTY)
                .with_cell(ColumnId(1), None, Cell::live(10, b"old".to_vec()))
                .with_cell(ColumnId(2), None, Cell::live(30, b"new".to_vec()));
            Mutation::new(TABLE, key(&format!("k{n}"))).with_row(row)
        })
        .collect();
    let (_, _, replayer) = c.orphan_batch(BatchId([7; 16]), &mutations, false).await;
    for replica in &c.replicas {
        replica
            .engine()
            .truncate(TABLE, Timestamp(20))
            .expect("truncate");
    }
    c.now.fetch_add(1_000, Ordering::SeqCst);
    assert_eq!(replayer.replay_due().await.replayed, 1);
    let ring = c.topology_ring();
    for n in 0..8 {
        let k = format!("k{n}");
        let token = key(&k).token;
        for i in (1..NODES).filter(|&i| {
            cluster::ReplicationStrategy::replicas(&RF3, &ring, token).contains(&host(i))
        }) {
            let (c, k2) = (&c, k.clone());
            // Once the newer cell is there, the whole write was applied.
            eventually(&format!("{k} on node {i}"), move || {
                !c.local_columns(i, &k2).is_empty()
            })
            .await;
            assert_eq!(c.local_columns(i, &k), vec![ColumnId(2)], "{k} on node {i}");
        }
    }
}
