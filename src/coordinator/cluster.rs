//! The distributed coordinator behind basalt's [`Coordinator`] seam: the
//! cluster crate's [`ClusterCoordinator`] with CQL's consistency codes mapped
//! onto its levels, each table's keyspace replication onto a placement
//! strategy, and its errors onto the protocol's error codes.
//!
//! The seam's methods name a table, not a keyspace, so the strategy is found
//! through the schema snapshot by table id; the table → strategy map is
//! rebuilt only when the schema snapshot changes. `LocalStrategy` keyspaces
//! (system tables) stay on this node.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use cluster::ConsistencyLevel;
use cluster::TimestampObserver;
use cluster::{self as cc, ClusterCoordinator, CoordinatorError};
use cluster::{BatchId, BatchReplay};
use cluster::{HostId, Ring};
use cluster::{NetworkTopologyStrategy, ReplicationInfo, ReplicationStrategy, SimpleStrategy};
use cql_lite::{Consistency, ErrorKind, ErrorResponse, WriteType};
use storage::{Mutation, TableId, Token};
use storage::{PartitionRead, ScanCommand};

use super::{BoxFuture, Coordinator, ReadLimits, ReadOutcome};
use crate::schema::{Replication, Schema, SchemaService};

/// Truncates a table on every other node at the given truncation time; the
/// failure's explanation.
pub(crate) type PeerTruncate =
    Arc<dyn Fn(TableId, i64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// `LocalStrategy`: the data lives on this node only.
#[derive(Debug)]
struct LocalOnly(HostId);

impl ReplicationStrategy for LocalOnly {
    fn replicas(&self, _ring: &Ring, _token: Token) -> Vec<HostId> {
        vec![self.0]
    }

    fn replication_info(&self) -> ReplicationInfo {
        ReplicationInfo::Simple { rf: 1 }
    }
}

type Strategies = HashMap<TableId, Arc<dyn ReplicationStrategy>>;

/// Mutations that share a placement strategy.
type Group = (Arc<dyn ReplicationStrategy>, Vec<Mutation>);

/// The strategies of one schema snapshot.
#[derive(Debug)]
struct StrategyCache {
    schema: Arc<Schema>,
    by_table: Strategies,
}

/// [`Coordinator`] over the cluster's coordinator.
pub(crate) struct DistributedCoordinator {
    inner: ClusterCoordinator,
    schema: Arc<SchemaService>,
    local_host: HostId,
    cache: RwLock<Option<StrategyCache>>,
    truncate_peers: PeerTruncate,
    local_engine: Arc<storage::Engine>,
    observer: Option<TimestampObserver>,
}

impl std::fmt::Debug for DistributedCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedCoordinator")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl DistributedCoordinator {
    /// A coordinator routing by `schema`'s keyspaces through `inner`;
    /// TRUNCATE runs on `local_engine` and through `truncate_peers`.
    pub(crate) fn new(
        inner: ClusterCoordinator,
        schema: Arc<SchemaService>,
        local_engine: Arc<storage::Engine>,
        truncate_peers: PeerTruncate,
    ) -> Self {
        DistributedCoordinator {
            local_host: inner.config().local_host,
            inner,
            schema,
            cache: RwLock::new(None),
            truncate_peers,
            local_engine,
            observer: None,
        }
    }

    /// Stale replicas read repair has written to since the node started.
    pub(crate) fn read_repairs(&self) -> u64 {
        self.inner.read_repairs()
    }

    /// Tells `observer` the newest timestamp of every read's result (the
    /// node's hybrid logical clock advances past what it sees from peers).
    pub(crate) fn with_timestamp_observer(mut self, observer: TimestampObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    fn observe(&self, outcome: &ReadOutcome) {
        let Some(observer) = &self.observer else {
            return;
        };
        let newest = outcome
            .partitions
            .iter()
            .flat_map(|p| {
                let deletion = p.deletion.map(|d| d.marked_for_delete_at);
                let rows = p.static_row.iter().chain(&p.rows);
                deletion
                    .into_iter()
                    .chain(rows.filter_map(storage::Row::max_timestamp))
            })
            .max();
        if let Some(ts) = newest {
            observer(ts.0);
        }
    }

    /// The placement strategy of `table`'s keyspace.
    fn strategy(&self, table: TableId) -> Result<Arc<dyn ReplicationStrategy>, ErrorResponse> {
        let schema = self.schema.current();
        {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.as_ref().filter(|c| Arc::ptr_eq(&c.schema, &schema)) {
                return lookup(&c.by_table, table);
            }
        }
        let by_table = strategies(&schema, self.local_host);
        let found = lookup(&by_table, table);
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) =
            Some(StrategyCache { schema, by_table });
        found
    }

    /// Writes each group at `cl` with its keyspace's placement.
    async fn write_groups(
        &self,
        groups: Vec<Group>,
        cl: ConsistencyLevel,
        kind: cc::WriteType,
    ) -> Result<(), ErrorResponse> {
        for (strategy, group) in groups {
            self.inner
                .write(group, cl, kind, strategy.as_ref())
                .await
                .map_err(error_response)?;
        }
        Ok(())
    }

    /// A logged batch across partitions: checked for live replicas, kept on
    /// the batchlog nodes, then applied, then forgotten. A failure after the
    /// batchlog write leaves the batch there, so the batchlog nodes apply it
    /// later.
    async fn write_logged(
        &self,
        groups: Vec<Group>,
        cl: ConsistencyLevel,
    ) -> Result<(), ErrorResponse> {
        for (strategy, group) in &groups {
            self.inner
                .check_writable(group, cl, strategy.as_ref())
                .map_err(error_response)?;
        }
        // The batchlog wants every mutation in one slice: flatten the groups
        // (moving, not copying, the mutations) and split them back after.
        let sizes: Vec<_> = groups
            .iter()
            .map(|(s, m)| (Arc::clone(s), m.len()))
            .collect();
        let all: Vec<Mutation> = groups.into_iter().flat_map(|(_, m)| m).collect();
        let id = BatchId(crate::uuids::random_uuid());
        let logged = self
            .inner
            .log_batch(id, &all, cl)
            .await
            .map_err(error_response)?;
        let mut all = all.into_iter();
        let groups = sizes
            .into_iter()
            .map(|(strategy, n)| (strategy, all.by_ref().take(n).collect()))
            .collect();
        self.write_groups(groups, cl, cc::WriteType::Batch).await?;
        self.inner.forget_batch(logged);
        Ok(())
    }

    /// Mutations grouped by placement strategy (one group per keyspace).
    fn group(&self, mutations: Vec<Mutation>) -> Result<Vec<Group>, ErrorResponse> {
        let mut groups: Vec<Group> = Vec::new();
        for m in mutations {
            let strategy = self.strategy(m.table)?;
            match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &strategy)) {
                Some((_, group)) => group.push(m),
                None => groups.push((strategy, vec![m])),
            }
        }
        Ok(groups)
    }
}

/// Whether a batch's mutations touch more than one partition: the batches
/// the batchlog protects (a single partition's mutations are atomic anyway).
fn spans_partitions(groups: &[Group]) -> bool {
    match groups {
        [(_, mutations)] => mutations.windows(2).any(|w| w[0].key != w[1].key),
        _ => true,
    }
}

fn lookup(
    by_table: &Strategies,
    table: TableId,
) -> Result<Arc<dyn ReplicationStrategy>, ErrorResponse> {
    by_table
        .get(&table)
        .cloned()
        .ok_or_else(|| ErrorResponse::new(ErrorKind::Invalid, format!("unknown table {table:?}")))
}

/// Every stored table's strategy; tables of one keyspace share one.
fn strategies(schema: &Schema, local: HostId) -> Strategies {
    let mut by_table = Strategies::new();
    for keyspace in schema.keyspaces.values() {
        let strategy = strategy_of(&keyspace.replication, local);
        for table in keyspace.tables.values() {
            by_table.insert(table.table_id(), Arc::clone(&strategy));
        }
    }
    by_table
}

/// A keyspace's replication as a placement strategy.
pub(crate) fn strategy_of(
    replication: &Replication,
    local: HostId,
) -> Arc<dyn ReplicationStrategy> {
    let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    match replication {
        Replication::Simple { replication_factor } => Arc::new(SimpleStrategy {
            rf: size(*replication_factor),
        }),
        Replication::NetworkTopology { data_centers } => {
            let dc_rf: BTreeMap<String, usize> = data_centers
                .iter()
                .map(|(dc, rf)| (dc.clone(), size(*rf)))
                .collect();
            Arc::new(NetworkTopologyStrategy { dc_rf })
        }
        Replication::Local => Arc::new(LocalOnly(local)),
    }
}

/// The cluster's level for a protocol consistency code.
pub(crate) fn level(consistency: Consistency) -> ConsistencyLevel {
    match consistency {
        Consistency::Any => ConsistencyLevel::Any,
        Consistency::One => ConsistencyLevel::One,
        Consistency::Two => ConsistencyLevel::Two,
        Consistency::Three => ConsistencyLevel::Three,
        Consistency::Quorum => ConsistencyLevel::Quorum,
        Consistency::All => ConsistencyLevel::All,
        Consistency::LocalQuorum => ConsistencyLevel::LocalQuorum,
        Consistency::EachQuorum => ConsistencyLevel::EachQuorum,
        Consistency::Serial => ConsistencyLevel::Serial,
        Consistency::LocalSerial => ConsistencyLevel::LocalSerial,
        Consistency::LocalOne => ConsistencyLevel::LocalOne,
    }
}

/// The protocol's consistency code for a cluster level.
pub(crate) fn consistency(level: ConsistencyLevel) -> Consistency {
    match level {
        ConsistencyLevel::Any => Consistency::Any,
        ConsistencyLevel::One => Consistency::One,
        ConsistencyLevel::Two => Consistency::Two,
        ConsistencyLevel::Three => Consistency::Three,
        ConsistencyLevel::Quorum => Consistency::Quorum,
        ConsistencyLevel::All => Consistency::All,
        ConsistencyLevel::LocalQuorum => Consistency::LocalQuorum,
        ConsistencyLevel::EachQuorum => Consistency::EachQuorum,
        ConsistencyLevel::Serial => Consistency::Serial,
        ConsistencyLevel::LocalSerial => Consistency::LocalSerial,
        ConsistencyLevel::LocalOne => Consistency::LocalOne,
    }
}

fn write_type(w: WriteType) -> cc::WriteType {
    match w {
        WriteType::Simple => cc::WriteType::Simple,
        WriteType::Batch => cc::WriteType::Batch,
        WriteType::UnloggedBatch => cc::WriteType::UnloggedBatch,
        WriteType::Counter => cc::WriteType::Counter,
        WriteType::BatchLog => cc::WriteType::BatchLog,
        WriteType::Cas => cc::WriteType::Cas,
        WriteType::View => cc::WriteType::View,
        WriteType::Cdc => cc::WriteType::Cdc,
        // A write type a later protocol adds: the closest, a plain write.
        WriteType::Other(_) => cc::WriteType::Simple,
    }
}

fn protocol_write_type(w: cc::WriteType) -> WriteType {
    match w {
        cc::WriteType::Simple => WriteType::Simple,
        cc::WriteType::Batch => WriteType::Batch,
        cc::WriteType::UnloggedBatch => WriteType::UnloggedBatch,
        cc::WriteType::Counter => WriteType::Counter,
        cc::WriteType::BatchLog => WriteType::BatchLog,
        cc::WriteType::Cas => WriteType::Cas,
        cc::WriteType::View => WriteType::View,
        cc::WriteType::Cdc => WriteType::Cdc,
    }
}

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A coordinator failure as the client sees it.
pub(crate) fn error_response(error: CoordinatorError) -> ErrorResponse {
    let message = error.to_string();
    let kind = match error {
        CoordinatorError::Unavailable(u) => ErrorKind::Unavailable {
            consistency: consistency(u.cl),
            required: int(u.required),
            alive: int(u.alive),
        },
        CoordinatorError::WriteTimeout {
            cl,
            received,
            block_for,
            write_type,
        } => ErrorKind::WriteTimeout {
            consistency: consistency(cl),
            received: int(received),
            block_for: int(block_for),
            write_type: protocol_write_type(write_type),
        },
        CoordinatorError::ReadTimeout {
            cl,
            received,
            block_for,
            data_present,
        } => ErrorKind::ReadTimeout {
            consistency: consistency(cl),
            received: int(received),
            block_for: int(block_for),
            data_present,
        },
        CoordinatorError::WriteFailure {
            cl,
            received,
            block_for,
            failures,
            write_type,
            ..
        } => ErrorKind::WriteFailure {
            consistency: consistency(cl),
            received: int(received),
            block_for: int(block_for),
            num_failures: int(failures),
            write_type: protocol_write_type(write_type),
        },
        CoordinatorError::ReadFailure {
            cl,
            received,
            block_for,
            failures,
            data_present,
            ..
        } => ErrorKind::ReadFailure {
            consistency: consistency(cl),
            received: int(received),
            block_for: int(block_for),
            num_failures: int(failures),
            data_present,
        },
        CoordinatorError::Overloaded(_) => ErrorKind::Overloaded,
        CoordinatorError::Invalid(_) => ErrorKind::Invalid,
        CoordinatorError::Storage(_) => ErrorKind::ServerError,
    };
    ErrorResponse::new(kind, message)
}

/// Replays the batches this node keeps for a coordinator that died: each
/// mutation to all its live replicas at ONE (the others get hints), as an
/// unlogged batch. Mutations of tables dropped since are skipped.
impl BatchReplay for DistributedCoordinator {
    fn replay(&self, mutations: Vec<Mutation>) -> BoxFuture<'_, Result<usize, String>> {
        Box::pin(async move {
            let all = mutations.len();
            let live: Vec<Mutation> = mutations
                .into_iter()
                .filter(|m| self.strategy(m.table).is_ok())
                .collect();
            let skipped = all - live.len();
            let groups = self.group(live).map_err(|e| e.message)?;
            self.write_groups(groups, ConsistencyLevel::One, cc::WriteType::UnloggedBatch)
                .await
                .map_err(|e| e.message)?;
            Ok(skipped)
        })
    }
}

impl Coordinator for DistributedCoordinator {
    fn write(
        &self,
        mutations: Vec<Mutation>,
        consistency: Consistency,
        kind: WriteType,
    ) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        Box::pin(async move {
            let (cl, kind) = (level(consistency), write_type(kind));
            let groups = self.group(mutations)?;
            if kind == cc::WriteType::Batch && spans_partitions(&groups) {
                return self.write_logged(groups, cl).await;
            }
            self.write_groups(groups, cl, kind).await
        })
    }

    fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        Box::pin(async move {
            let strategy = self.strategy(table)?;
            let cl = level(consistency);
            let outcome = self
                .inner
                .read(table, read, limits, cl, strategy.as_ref())
                .await
                .map_err(error_response)?;
            self.observe(&outcome);
            Ok(outcome)
        })
    }

    fn scan(
        &self,
        table: TableId,
        scan: ScanCommand,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        Box::pin(async move {
            let strategy = self.strategy(table)?;
            let cl = level(consistency);
            let outcome = self
                .inner
                .scan(table, scan, limits, cl, strategy.as_ref())
                .await
                .map_err(error_response)?;
            self.observe(&outcome);
            Ok(outcome)
        })
    }

    fn truncate(&self, table: TableId, at: i64) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        let engine = Arc::clone(&self.local_engine);
        let peers = (self.truncate_peers)(table, at);
        Box::pin(async move {
            let failed = |m: String| ErrorResponse::new(ErrorKind::TruncateError, m);
            peers.await.map_err(failed)?;
            ::cluster::blocking::run(move || engine.truncate(table, storage::Timestamp(at)))
                .await
                .map_err(|e| failed(e.to_string()))?
                .map_err(|e| super::storage_error(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::sim::{LoopbackPeers, MemoryHints, StaticTopology};
    use cluster::{CoordinatorConfig, Replica, RingEndpoint};
    use storage::sim::SimFs;
    use storage::{Cell, ClusteringKey, ClusteringRange, ColumnFilter, ColumnId, DecoratedKey};
    use storage::{Engine, EngineOptions, ManualClock, Row};

    async fn ddl(schema: &SchemaService, cql: &str) {
        let stmt = cql_lite::parse(cql).expect("parses");
        schema
            .execute(&stmt, Some("ks"), 1_000)
            .await
            .expect("applies");
    }

    /// A one-node cluster's coordinator, its engine and schema.
    fn one_node(fs: &SimFs) -> (DistributedCoordinator, Arc<Engine>, Arc<SchemaService>) {
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let options = EngineOptions::new("/data", clock);
        let engine = Arc::new(Engine::open(Arc::new(fs.clone()), options).expect("opens"));
        let schema = SchemaService::open(
            Arc::new(fs.clone()),
            std::path::Path::new("/data"),
            Arc::clone(&engine),
            vec!["dc1".into()],
        );
        let schema = Arc::new(schema.expect("opens"));
        let host = HostId([1; 16]);
        let mut ring = Ring::new();
        let endpoint = RingEndpoint {
            host_id: host,
            address: ([127, 0, 0, 1], 7000).into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
        };
        ring.add(endpoint, [Token(0)]).expect("one token");
        let (peers, replica) = (LoopbackPeers::new(), Replica::new(Arc::clone(&engine)));
        peers.add(host, Arc::clone(&replica));
        let inner = ClusterCoordinator::new(
            CoordinatorConfig::new(host, "dc1"),
            Arc::new(peers),
            Arc::new(StaticTopology::new(ring)),
            Arc::new(MemoryHints::new(10)),
            Some(replica),
        );
        let truncate: PeerTruncate = Arc::new(|_, _| Box::pin(async { Ok(()) }));
        let coordinator =
            DistributedCoordinator::new(inner, Arc::clone(&schema), Arc::clone(&engine), truncate);
        (coordinator, engine, schema)
    }

    fn put(table: TableId, k: &[u8]) -> Mutation {
        let key = DecoratedKey::new(cluster::murmur3_token(k), k.to_vec());
        let row =
            Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(1), None, Cell::live(10, vec![7]));
        Mutation::new(table, key).with_row(row)
    }

    /// A logged batch can outlive a table it writes to: its replay must
    /// still apply the rest and succeed, so the batch is forgotten instead
    /// of being replayed forever.
    #[tokio::test]
    async fn batch_replay_skips_the_mutations_of_dropped_tables() {
        let fs = SimFs::new();
        let (coordinator, engine, schema) = one_node(&fs);
        ddl(&schema, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
        ddl(&schema, "CREATE TABLE t (k blob PRIMARY KEY, v int)").await;
        ddl(&schema, "CREATE TABLE gone (k blob PRIMARY KEY, v int)").await;
        let table_id = |name| schema.current().table("ks", name).map(|t| t.table_id());
        let (kept, gone) = (table_id("t").expect("t"), table_id("gone").expect("gone"));
        ddl(&schema, "DROP TABLE gone").await;
        let batch = vec![put(gone, b"a"), put(kept, b"b")];
        assert_eq!(coordinator.replay(batch).await, Ok(1));
        let read = PartitionRead {
            key: put(kept, b"b").key,
            slices: vec![ClusteringRange::ALL],
            columns: ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now: 1_000,
            include_tombstones: false,
        };
        let rows = engine.read(kept, &read).expect("reads").count();
        assert_eq!(rows, 1);
    }

    #[test]
    fn levels_map_both_ways() {
        for c in Consistency::ALL {
            assert_eq!(consistency(level(c)), c);
        }
    }

    #[test]
    fn unavailable_keeps_its_fields() {
        let e = error_response(CoordinatorError::Unavailable(cluster::Unavailable {
            cl: ConsistencyLevel::All,
            required: 3,
            alive: 2,
            dc: None,
        }));
        assert_eq!(
            e.kind,
            ErrorKind::Unavailable {
                consistency: Consistency::All,
                required: 3,
                alive: 2
            }
        );
    }
}
