//! Hinted handoff end to end on the in-process loopback cluster: a replica
//! down during writes at ONE gets them from the coordinator's durable hint
//! store once it is back, also after the coordinator restarted (the store
//! reopened from disk), and a failed replay keeps the hints for later;
//! a hint older than a TRUNCATE brings nothing back.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cluster::ConsistencyLevel as Cl;
use cluster::GcGrace;
use cluster::Replica;
use cluster::SimpleStrategy;
use cluster::murmur3_token;
use cluster::sim::{LoopbackPeers, StaticTopology};
use cluster::{ClusterCoordinator, CoordinatorConfig, WriteType};
use cluster::{HintReplayConfig as ReplayConfig, HintReplayer, HintStore, HintStoreConfig};
use cluster::{HostId, Ring, RingEndpoint as Endpoint};
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Engine, Mutation, Row, TableId,
    Token,
};
use storage::{ColumnFilter, PartitionRead, Timestamp};

const TABLE: TableId = TableId(1);
const NOW_MS: u64 = 1_700_000_000_000;
/// Every test finishes well within this.
const BOUND: Duration = Duration::from_secs(30);

fn host(i: usize) -> HostId {
    HostId([i as u8 + 1; 16])
}

fn engine() -> Arc<Engine> {
    support::engine(TABLE)
}

struct Cluster {
    replicas: Vec<Arc<Replica>>,
    peers: Arc<LoopbackPeers>,
    topology: Arc<StaticTopology>,
    dir: tempfile::TempDir,
}

fn cluster() -> Cluster {
    let mut ring = Ring::new();
    let peers = Arc::new(LoopbackPeers::new());
    let mut replicas = Vec::new();
    for i in 0..3 {
        let ep = Endpoint {
            host_id: host(i),
            address: ([127, 0, 0, i as u8 + 1], 7000).into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
        };
        let token = Token(i64::MIN / 2 + i as i64 * (i64::MAX / 3));
        ring.add(ep, [token]).expect("distinct tokens");
        let replica = Replica::new(engine());
        peers.add(host(i), Arc::clone(&replica));
        replicas.push(replica);
    }
    Cluster {
        replicas,
        peers,
        topology: Arc::new(StaticTopology::new(ring)),
        dir: tempfile::tempdir().expect("test step"),
    }
}

impl Cluster {
    /// The hint store of node 0, opened (again) from its directory.
    fn store(&self) -> Arc<HintStore> {
        let config = HintStoreConfig::new(self.dir.path().join("hints"));
        Arc::new(
            HintStore::open(Arc::new(storage::StdFs), config, Arc::new(|| NOW_MS))
                .expect("test step"),
        )
    }

    /// The hint store of node 0 on the wall clock `now` (ms), with `TABLE`'s
    /// gc grace `grace` (s): both may move during the test.
    fn store_at(&self, now: &Arc<AtomicU64>, grace: &Arc<AtomicU64>) -> Arc<HintStore> {
        let mut config = HintStoreConfig::new(self.dir.path().join("hints"));
        let grace = Arc::clone(grace);
        config.gc_grace = GcGrace::new(move |t| {
            (t == TABLE).then(|| Duration::from_secs(grace.load(Ordering::SeqCst)))
        });
        let now = Arc::clone(now);
        let clock = Arc::new(move || now.load(Ordering::SeqCst));
        let store = HintStore::open(Arc::new(storage::StdFs), config, clock);
        Arc::new(store.expect("store opens"))
    }

    fn coordinator(&self, hints: Arc<HintStore>) -> ClusterCoordinator {
        let mut config = CoordinatorConfig::new(host(0), "dc1");
        config.write_timeout = Duration::from_millis(500);
        ClusterCoordinator::new(
            config,
            self.peers.clone(),
            self.topology.clone(),
            hints,
            Some(Arc::clone(&self.replicas[0])),
        )
    }

    fn replayer(&self, store: Arc<HintStore>) -> HintReplayer {
        let mut config = ReplayConfig::new(host(0));
        config.poll_interval = Duration::from_millis(10);
        HintReplayer::new(store, self.peers.clone(), self.topology.clone(), config)
    }

    fn set_down(&self, i: usize, down: bool) {
        self.topology
            .set_down(host(i), down.then_some(Duration::from_secs(1)));
        self.peers.set_down(host(i), down);
    }

    fn local_value(&self, i: usize, k: &str) -> Option<Vec<u8>> {
        let engine = self.replicas[i].engine();
        let mut reader = engine.read(TABLE, &point_read(k)).expect("local read");
        let row = reader.next()?.expect("row reads");
        row.cells[0].cell.value_at(0).map(|v| v.to_vec())
    }

    /// Writes `n` keys at ONE through node 0.
    async fn write_keys(&self, coord: &ClusterCoordinator, n: usize) {
        for k in 0..n {
            let m = put(&format!("k{k}"), &format!("v{k}"));
            coord
                .write(
                    vec![m],
                    Cl::One,
                    WriteType::Simple,
                    &SimpleStrategy { rf: 3 },
                )
                .await
                .expect("test step");
        }
    }

    fn has_all(&self, i: usize, n: usize) -> bool {
        (0..n).all(|k| self.local_value(i, &format!("k{k}")) == Some(format!("v{k}").into_bytes()))
    }
}

fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(murmur3_token(k.as_bytes()), k.as_bytes().to_vec())
}

fn put(k: &str, v: &str) -> Mutation {
    put_at(k, v, 10)
}

fn put_at(k: &str, v: &str, ts: i64) -> Mutation {
    Mutation::new(TABLE, key(k)).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, v.as_bytes().to_vec()),
    ))
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

/// Waits (off the runtime) until every queued hint is written and fsynced.
async fn flush(store: &Arc<HintStore>) {
    let store = Arc::clone(store);
    cluster::blocking::run(move || store.flush())
        .await
        .expect("flush task")
        .expect("flushed");
}

fn hint_files(c: &Cluster) -> usize {
    std::fs::read_dir(c.dir.path().join("hints"))
        .expect("test step")
        .count()
}

#[tokio::test]
async fn a_replica_back_up_receives_its_hints() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let store = c.store();
        c.set_down(2, true);
        c.write_keys(&c.coordinator(store.clone()), 20).await;
        // The hints were queued; the store's writer thread writes them.
        flush(&store).await;
        assert_eq!(store.counters().stored, 20);
        assert!(!c.has_all(2, 20));
        // While it is down, replay leaves it alone.
        c.replayer(store.clone()).tick().await;
        assert_eq!(store.counters().replayed, 0);
        c.set_down(2, false);
        let task = tokio::spawn(c.replayer(store.clone()).run());
        while !(c.has_all(2, 20) && hint_files(&c) == 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        let counters = store.counters();
        assert_eq!((counters.replayed, counters.dropped), (20, 0));
        assert_eq!(counters.pending_bytes, 0);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn hints_survive_a_coordinator_restart() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        c.set_down(1, true);
        {
            let store = c.store();
            c.write_keys(&c.coordinator(store.clone()), 10).await;
            flush(&store).await;
        }
        assert!(hint_files(&c) > 0);
        c.set_down(1, false);
        let store = c.store();
        assert_eq!(store.hosts(), vec![host(1)]);
        assert_eq!(c.replayer(store.clone()).replay_host(host(1)).await, Ok(10));
        assert!(c.has_all(1, 10));
        assert_eq!(hint_files(&c), 0);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_hint_older_than_a_truncation_does_not_bring_its_data_back() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let store = c.store();
        c.set_down(2, true);
        // Stamped 10: node 2 gets them as hints only.
        c.write_keys(&c.coordinator(store.clone()), 5).await;
        c.set_down(2, false);
        // TRUNCATE at 20 reaches every node before the hints do.
        for replica in &c.replicas {
            replica
                .engine()
                .truncate(TABLE, Timestamp(20))
                .expect("truncate");
        }
        // A write stamped after the truncation, hinted too.
        assert!(store.append(host(2), NOW_MS, &put_at("late", "v", 30)));
        let replayer = c.replayer(store.clone());
        assert_eq!(replayer.replay_host(host(2)).await, Ok(6));
        for i in 0..3 {
            for k in 0..5 {
                assert_eq!(c.local_value(i, &format!("k{k}")), None, "node {i} k{k}");
            }
        }
        assert_eq!(c.local_value(2, "late"), Some(b"v".to_vec()));
        assert_eq!(hint_files(&c), 0, "delivered, as far as the hints go");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_failed_replay_keeps_the_hints_for_later() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let store = c.store();
        c.set_down(2, true);
        c.write_keys(&c.coordinator(store.clone()), 5).await;
        // Gossip says it is up but it cannot be reached yet.
        c.topology.set_down(host(2), None);
        let replayer = c.replayer(store.clone());
        assert!(replayer.replay_host(host(2)).await.is_err());
        assert!(hint_files(&c) > 0);
        c.peers.set_down(host(2), false);
        // A write after the failed attempt lands in a new file, after the old.
        c.set_down(2, true);
        c.write_keys(&c.coordinator(store.clone()), 6).await;
        c.set_down(2, false);
        assert_eq!(replayer.replay_host(host(2)).await, Ok(11));
        assert!(c.has_all(2, 6));
        assert_eq!(hint_files(&c), 0);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_hint_for_an_unknown_table_is_skipped_and_the_rest_still_replay() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let store = c.store();
        // The replicas know only TABLE: this hint can never be applied (its
        // table was dropped, say). It is first in the file.
        let dropped = Mutation::new(TableId(99), key("gone")).with_row(
            Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(1), None, Cell::live(10, vec![1])),
        );
        assert!(store.append(host(2), NOW_MS, &dropped));
        for k in 0..3 {
            let m = put(&format!("k{k}"), &format!("v{k}"));
            assert!(store.append(host(2), NOW_MS, &m));
        }
        let replayer = c.replayer(store.clone());
        assert_eq!(replayer.replay_host(host(2)).await, Ok(3));
        assert!(c.has_all(2, 3));
        assert_eq!(hint_files(&c), 0);
        let counters = store.counters();
        assert_eq!((counters.replayed, counters.undeliverable), (3, 1));
        assert_eq!(counters.pending_bytes, 0);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn hints_older_than_their_tables_gc_grace_are_not_replayed() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let now = Arc::new(AtomicU64::new(NOW_MS));
        let grace = Arc::new(AtomicU64::new(100));
        let store = c.store_at(&now, &grace);
        assert!(store.append(host(2), NOW_MS, &put("k0", "old")));
        now.fetch_add(50_000, Ordering::SeqCst);
        assert!(store.append(host(2), NOW_MS + 50_000, &put("k1", "young")));
        // k0's hint is 100 s old, exactly its table's gc grace; k1's is 50 s.
        now.fetch_add(50_000, Ordering::SeqCst);
        let replayer = c.replayer(store.clone());
        assert_eq!(replayer.replay_host(host(2)).await, Ok(1));
        assert_eq!(c.local_value(2, "k0"), None);
        assert_eq!(c.local_value(2, "k1"), Some(b"young".to_vec()));
        let counters = store.counters();
        assert_eq!((counters.replayed, counters.expired), (1, 1));
        assert_eq!(hint_files(&c), 0);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_table_with_zero_gc_grace_gets_no_hints_replayed() {
    tokio::time::timeout(BOUND, async {
        let c = cluster();
        let now = Arc::new(AtomicU64::new(NOW_MS));
        let grace = Arc::new(AtomicU64::new(3600));
        let store = c.store_at(&now, &grace);
        // Stored while the grace was an hour; then ALTER TABLE ... WITH
        // gc_grace_seconds = 0: the hint is not replayed, and no new one is
        // stored (Cassandra: hints are off for such tables).
        assert!(store.append(host(2), NOW_MS, &put("k0", "v0")));
        grace.store(0, Ordering::SeqCst);
        assert!(!store.append(host(2), NOW_MS, &put("k1", "v1")));
        assert_eq!(store.counters().dropped, 1);
        let replayer = c.replayer(store.clone());
        assert_eq!(replayer.replay_host(host(2)).await, Ok(0));
        assert_eq!(c.local_value(2, "k0"), None);
        assert_eq!(store.counters().expired, 1);
        assert_eq!(hint_files(&c), 0);
    })
    .await
    .expect("bounded");
}
