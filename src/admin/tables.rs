//! The handlers that act on tables: flush, compact, tablestats, drain, and
//! the white-box dump of one table's local partitions.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use storage::TableId;

use super::{AdminState, Failure, api, blocking};
use crate::schema::Schema;

type S = State<Arc<AdminState>>;

/// `?keyspace=ks&tables=a,b`: no keyspace means every keyspace; no tables means
/// every table of the keyspace.
#[derive(Debug, Deserialize)]
pub(super) struct TablesQuery {
    keyspace: Option<String>,
    tables: Option<String>,
}

/// A stored table picked by a query.
struct Picked {
    keyspace: String,
    table: String,
    id: TableId,
}

/// The stored (not virtual) tables a query names, with Cassandra's messages for
/// unknown names.
fn pick(
    schema: &Schema,
    stored: &HashSet<TableId>,
    q: &TablesQuery,
) -> Result<Vec<Picked>, Failure> {
    let names: Vec<&str> = q
        .tables
        .as_deref()
        .map(|t| t.split(',').filter(|t| !t.is_empty()).collect())
        .unwrap_or_default();
    let keyspaces: Vec<_> =
        match &q.keyspace {
            Some(name) => vec![schema.keyspace(name).ok_or_else(|| {
                Failure::bad_request(format!("Keyspace [{name}] does not exist."))
            })?],
            None => schema.keyspaces.values().collect(),
        };
    let mut picked = Vec::new();
    for ks in keyspaces {
        for name in &names {
            if !ks.tables.contains_key(*name) {
                return Err(Failure::bad_request(format!(
                    "Unknown keyspace/cf pair ({}.{name})",
                    ks.name
                )));
            }
        }
        for table in ks.tables.values() {
            let wanted = names.is_empty() || names.contains(&table.name.as_str());
            if wanted && !table.is_virtual && stored.contains(&table.table_id()) {
                picked.push(Picked {
                    keyspace: ks.name.clone(),
                    table: table.name.clone(),
                    id: table.table_id(),
                });
            }
        }
    }
    Ok(picked)
}

/// Runs `action` on every picked table, on the blocking pool.
async fn each_table(
    s: Arc<AdminState>,
    q: TablesQuery,
    action: fn(&storage::Engine, TableId) -> storage::Result<()>,
) -> Result<Json<api::Done>, Failure> {
    blocking(move || {
        let stored: HashSet<TableId> = s.engine.tables().into_iter().collect();
        let picked = pick(&s.schema.current(), &stored, &q)?;
        for p in &picked {
            action(&s.engine, p.id).map_err(Failure::internal)?;
        }
        let tables = picked
            .iter()
            .map(|p| format!("{}.{}", p.keyspace, p.table))
            .collect();
        Ok(Json(api::Done { tables }))
    })
    .await
}

pub(super) async fn flush(
    State(s): S,
    Query(q): Query<TablesQuery>,
) -> Result<Json<api::Done>, Failure> {
    each_table(s, q, |engine, id| engine.flush(id)).await
}

/// A major compaction, as `nodetool compact` runs.
pub(super) async fn compact(
    State(s): S,
    Query(q): Query<TablesQuery>,
) -> Result<Json<api::Done>, Failure> {
    each_table(s, q, |engine, id| engine.compact(id, true)).await
}

pub(super) async fn drain(State(s): S) -> Result<Json<api::Done>, Failure> {
    s.control.drain().await.map_err(Failure::internal)?;
    Ok(Json(api::Done { tables: Vec::new() }))
}

pub(super) async fn table_stats(
    State(s): S,
    Query(q): Query<TablesQuery>,
) -> Result<Json<api::TableStats>, Failure> {
    blocking(move || {
        let stored: HashSet<TableId> = s.engine.tables().into_iter().collect();
        let schema = s.schema.current();
        let mut keyspaces: BTreeMap<String, Vec<api::TableStat>> = BTreeMap::new();
        for p in pick(&schema, &stored, &q)? {
            let stats = s.engine.table_stats(p.id).map_err(Failure::internal)?;
            let leveled = schema.table(&p.keyspace, &p.table).is_some_and(|t| {
                t.params
                    .compaction
                    .get("class")
                    .is_some_and(|c| c.contains("Leveled"))
            });
            keyspaces
                .entry(p.keyspace)
                .or_default()
                .push(table_stat(p.table, &stats, leveled));
        }
        let keyspaces = keyspaces
            .into_iter()
            .map(|(name, tables)| api::KeyspaceStats { name, tables })
            .collect();
        Ok(Json(api::TableStats { keyspaces }))
    })
    .await
}

/// The API's view of one table's engine statistics.
pub(super) fn table_stat(name: String, s: &storage::TableStats, leveled: bool) -> api::TableStat {
    let mean = |l: &storage::LatencySummary| (l.count > 0).then_some(l.mean_micros);
    let levels = leveled.then(|| {
        let top = s.levels.iter().map(|l| l.level).max().unwrap_or(0);
        let mut counts = vec![0; top as usize + 1];
        for l in &s.levels {
            counts[l.level as usize] = l.sstable_count;
        }
        counts
    });
    api::TableStat {
        name,
        sstable_count: s.sstable_count,
        sstables_per_level: levels,
        space_used: s.sstable_bytes,
        off_heap_bytes: s.memtable_bytes + s.bloom_memory_bytes,
        estimated_partitions: s.estimated_partitions,
        memtable_partitions: s.memtable_partitions,
        memtable_bytes: s.memtable_bytes,
        memtable_switch_count: s.flushes,
        read_count: s.reads,
        read_latency_micros: mean(&s.read_latency),
        write_count: s.write_latency.count,
        write_latency_micros: mean(&s.write_latency),
        pending_flushes: s.flushing_memtables,
        bloom_filter_bytes: s.bloom_memory_bytes,
        max_partition_bytes: s.max_partition_bytes,
        sstable_tombstones: s.sstable_tombstones,
        pending_compactions: s.pending_compactions,
        pending_compaction_bytes: s.pending_compaction_bytes,
    }
}

/// `?keyspace=K&table=T` of `/v1/dump`.
#[derive(Debug, Deserialize)]
pub(super) struct DumpQuery {
    keyspace: String,
    table: String,
}

/// The most partitions `/v1/dump` lists: its answer is built in memory, so a
/// larger table is refused rather than exhausting the node.
pub(super) const MAX_DUMP_PARTITIONS: usize = 1_000_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every partition of one table in this node's storage, with its digest.
pub(super) async fn dump(
    State(s): S,
    Query(q): Query<DumpQuery>,
) -> Result<Json<api::Dump>, Failure> {
    blocking(move || {
        let schema = s.schema.current();
        if schema.keyspace(&q.keyspace).is_none() {
            return Err(Failure::not_found(format!(
                "Keyspace [{}] does not exist.",
                q.keyspace
            )));
        }
        let unknown = || {
            Failure::not_found(format!(
                "Unknown keyspace/cf pair ({}.{})",
                q.keyspace, q.table
            ))
        };
        let table = schema.table(&q.keyspace, &q.table).ok_or_else(unknown)?;
        let id = table.table_id();
        // Virtual tables have no storage to list.
        if table.is_virtual || !s.engine.tables().contains(&id) {
            return Err(unknown());
        }
        let partitions =
            cluster::dump(&s.engine, id, MAX_DUMP_PARTITIONS).map_err(|e| match e {
                cluster::DumpError::TooMany(_) => Failure::too_large(format!(
                    "{}.{}: {e}; /v1/dump lists at most {MAX_DUMP_PARTITIONS}",
                    q.keyspace, q.table
                )),
                cluster::DumpError::Storage(e) => Failure::internal(e),
            })?;
        let partitions = partitions
            .into_iter()
            .map(|p| api::DumpPartition {
                key: hex(&p.key),
                token: p.token.0,
                digest: hex(&p.digest),
                cells: p.cells,
            })
            .collect();
        Ok(Json(api::Dump { partitions }))
    })
    .await
}
