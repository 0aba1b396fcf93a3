//! What the canary tests share: three replicas of RF 3 in one data center,
//! each over its own simulated disk, reached through `LoopbackPeers`, with
//! node 0 coordinating. Each canary's test is its own binary, since a
//! process runs with one canary; each uses part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cluster::ConsistencyLevel;
use cluster::sim::{LoopbackPeers, MemoryHints, StaticTopology};
use cluster::{
    ClusterCoordinator, CoordinatorConfig, CoordinatorError, HostId, ReadLimits, Replica, Ring,
    RingEndpoint, SimpleStrategy, WriteType, murmur3_token,
};
use storage::sim::SimFs;
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnFilter, ColumnId, DecoratedKey, Engine,
    EngineOptions, ManualClock, Mutation, PartitionRead, Row, SyncMode, TableId, TableOptions,
    Token,
};

pub(crate) const TABLE: TableId = TableId(1);
/// The replicas' and the reads' clock, in seconds.
pub(crate) const NOW: i64 = 1_000;

pub(crate) fn host(i: usize) -> HostId {
    HostId([i as u8 + 1; 16])
}

/// The cluster.
pub(crate) struct Cluster {
    pub(crate) replicas: Vec<Arc<Replica>>,
    /// Each replica's disk, for injecting faults.
    pub(crate) disks: Vec<SimFs>,
    pub(crate) peers: Arc<LoopbackPeers>,
    pub(crate) topology: Arc<StaticTopology>,
    pub(crate) hints: Arc<MemoryHints>,
    pub(crate) coordinator: ClusterCoordinator,
}

fn engine(fs: &SimFs) -> Arc<Engine> {
    let mut options = EngineOptions::new("/basalt", Arc::new(ManualClock::new(NOW)));
    options.commitlog.sync = SyncMode::Batch;
    options.commitlog.segment_size_bytes = 256 << 10;
    options.memtable_budget_bytes = 4 << 20;
    options.block_cache_bytes = 1 << 20;
    let engine = Engine::open(Arc::new(fs.clone()), options).expect("engine opens");
    engine
        .create_table(TABLE, TableOptions::default())
        .expect("table created");
    Arc::new(engine)
}

/// Three nodes, four interleaved vnodes each; timeouts short so that the
/// paths that wait them out stay quick.
pub(crate) fn cluster() -> Cluster {
    let mut ring = Ring::new();
    let peers = Arc::new(LoopbackPeers::new());
    let (mut replicas, mut disks) = (Vec::new(), Vec::new());
    for i in 0..3usize {
        let endpoint = RingEndpoint {
            host_id: host(i),
            address: ([127, 0, 0, i as u8 + 1], 7000).into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
        };
        let step = u64::MAX / 12;
        let tokens =
            (0..4u64).map(|v| Token(i64::MIN.wrapping_add(((v * 3 + i as u64) * step) as i64)));
        ring.add(endpoint, tokens).expect("distinct tokens");
        let fs = SimFs::new();
        let replica = Replica::new(engine(&fs));
        peers.add(host(i), Arc::clone(&replica));
        replicas.push(replica);
        disks.push(fs);
    }
    let topology = Arc::new(StaticTopology::new(ring));
    let hints = Arc::new(MemoryHints::new(1000));
    let mut config = CoordinatorConfig::new(host(0), "dc1");
    config.write_timeout = Duration::from_millis(500);
    config.read_timeout = Duration::from_millis(1000);
    let coordinator = ClusterCoordinator::new(
        config,
        peers.clone(),
        topology.clone(),
        hints.clone(),
        Some(Arc::clone(&replicas[0])),
    );
    Cluster {
        replicas,
        disks,
        peers,
        topology,
        hints,
        coordinator,
    }
}

pub(crate) fn rf3() -> SimpleStrategy {
    SimpleStrategy { rf: 3 }
}

pub(crate) fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(murmur3_token(k.as_bytes()), k.as_bytes().to_vec())
}

pub(crate) fn put(k: &str, v: &str, ts: i64) -> Mutation {
    Mutation::new(TABLE, key(k)).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, v.as_bytes().to_vec()),
    ))
}

pub(crate) fn point_read(k: &str) -> PartitionRead {
    PartitionRead {
        key: key(k),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: NOW,
        include_tombstones: false,
    }
}

impl Cluster {
    /// Writes through the coordinator.
    pub(crate) async fn write(
        &self,
        m: Mutation,
        cl: ConsistencyLevel,
    ) -> Result<(), CoordinatorError> {
        self.coordinator
            .write(vec![m], cl, WriteType::Simple, &rf3())
            .await
    }

    /// Reads `k` through the coordinator: the value of its one cell.
    pub(crate) async fn read(
        &self,
        k: &str,
        cl: ConsistencyLevel,
    ) -> Result<Option<Vec<u8>>, CoordinatorError> {
        let limits = ReadLimits {
            max_rows: 100,
            max_tombstones: 1_000,
        };
        let outcome = self
            .coordinator
            .read(TABLE, point_read(k), limits, cl, &rf3())
            .await?;
        let value = outcome
            .partitions
            .first()
            .and_then(|p| p.rows.first())
            .and_then(|r| r.cells.first())
            .and_then(|c| c.cell.value_at(NOW))
            .map(|v| v.to_vec());
        Ok(value)
    }

    /// Applies `m` on node `i` alone, as if the others had missed it.
    pub(crate) async fn apply_on(&self, i: usize, m: Mutation) {
        self.replicas[i]
            .apply(m)
            .await
            .expect("the replica applies");
    }

    /// What node `i` holds for `k`, read from its engine.
    pub(crate) fn local_value(&self, i: usize, k: &str) -> Option<Vec<u8>> {
        let mut rows = self.replicas[i]
            .engine()
            .read(TABLE, &point_read(k))
            .expect("local read");
        let row = rows.next()?.expect("row reads");
        row.cells.first()?.cell.value_at(NOW).map(|v| v.to_vec())
    }

    /// Takes node `i` down: the topology knows, and requests fail.
    pub(crate) fn set_down(&self, i: usize) {
        self.topology
            .set_down(host(i), Some(Duration::from_secs(1)));
        self.peers.set_down(host(i), true);
    }
}
