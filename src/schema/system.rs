//! The rows of the virtual system tables: `system.local`, `system.peers(_v2)`
//! from what the node knows about itself and its peers, and `system_schema.*`
//! from the schema snapshot the query runs against (system keyspaces included,
//! as drivers need `system.local` in their metadata).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use cql_lite::ErrorResponse;
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use storage::TableId;

use super::system_keyspaces::{SYSTEM, SYSTEM_SCHEMA};
use super::version::schema_version;
use super::{ColumnKind, KeyspaceDef, Replication, Schema, TableDef};

/// The rows of virtual tables (`system.local`, `system_schema.*`...), computed
/// from the node's state rather than read from storage.
pub(crate) trait VirtualTables: Send + Sync + std::fmt::Debug {
    /// Every row of `table`, each with one value per column of `table.columns`
    /// (in that order; `None` is null), sorted by primary key.
    fn rows(
        &self,
        schema: &Schema,
        table: &TableDef,
    ) -> Result<Vec<Vec<Option<CqlValue>>>, ErrorResponse>;
}

/// What the node says about itself in `system.local`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    /// `cluster_name`.
    pub cluster_name: String,
    /// The internode address (`listen_address`, `broadcast_address`).
    pub listen_address: IpAddr,
    /// The internode port (`listen_port`, `broadcast_port`).
    pub listen_port: u16,
    /// The CQL address (`rpc_address`).
    pub rpc_address: IpAddr,
    /// The CQL port (`rpc_port`).
    pub native_port: u16,
    /// `data_center`.
    pub data_center: String,
    /// `rack`.
    pub rack: String,
    /// `host_id`.
    pub host_id: [u8; 16],
    /// The node's tokens (shown as decimal strings).
    pub tokens: Vec<i64>,
    /// The partitioner class.
    pub partitioner: String,
    /// `release_version`.
    pub release_version: String,
    /// `cql_version`.
    pub cql_version: String,
    /// `gossip_generation`: the node's start time in seconds.
    pub gossip_generation: i32,
}

/// One row of `system.peers` / `peers_v2`: another node as this one sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// Its internode address (`peer`).
    pub address: IpAddr,
    /// Its internode port (`peer_port`).
    pub port: u16,
    /// Its CQL address (`native_address`, `rpc_address`).
    pub native_address: IpAddr,
    /// Its CQL port.
    pub native_port: u16,
    /// `data_center`.
    pub data_center: String,
    /// `rack`.
    pub rack: String,
    /// `host_id`.
    pub host_id: [u8; 16],
    /// Its tokens.
    pub tokens: Vec<i64>,
    /// `release_version`.
    pub release_version: String,
    /// Its schema version, if known (null otherwise).
    pub schema_version: Option<[u8; 16]>,
}

/// A table's truncation time (µs), if it was truncated.
pub(crate) type TruncationTimes = Arc<dyn Fn(TableId) -> Option<i64> + Send + Sync>;

/// The node's virtual tables.
pub struct SystemTables {
    node: NodeInfo,
    peers: RwLock<Vec<PeerInfo>>,
    truncations: Option<TruncationTimes>,
}

impl std::fmt::Debug for SystemTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTables")
            .field("node", &self.node)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

type Row = Vec<(&'static str, Option<CqlValue>)>;

impl SystemTables {
    /// Tables for `node`, with no peers yet.
    pub fn new(node: NodeInfo) -> Self {
        SystemTables {
            node,
            peers: RwLock::new(Vec::new()),
            truncations: None,
        }
    }

    /// Shows the tables' truncation times in `system.local`'s `truncated_at`.
    #[must_use]
    pub fn with_truncation_times(mut self, times: TruncationTimes) -> Self {
        self.truncations = Some(times);
        self
    }

    /// The node's own description.
    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    /// Replaces the peers (the cluster layer calls it as membership changes).
    pub fn set_peers(&self, peers: Vec<PeerInfo>) {
        *self.peers.write().unwrap_or_else(|p| p.into_inner()) = peers;
    }

    /// The peers as last set.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn local(&self, schema: &Schema) -> Vec<Row> {
        let n = &self.node;
        vec![vec![
            ("key", text("local")),
            ("bootstrapped", text("COMPLETED")),
            ("broadcast_address", Some(CqlValue::Inet(n.listen_address))),
            (
                "broadcast_port",
                Some(CqlValue::Int(i32::from(n.listen_port))),
            ),
            ("cluster_name", text(&n.cluster_name)),
            ("cql_version", text(&n.cql_version)),
            ("data_center", text(&n.data_center)),
            (
                "gossip_generation",
                Some(CqlValue::Int(n.gossip_generation)),
            ),
            ("host_id", Some(CqlValue::Uuid(n.host_id))),
            ("listen_address", Some(CqlValue::Inet(n.listen_address))),
            ("listen_port", Some(CqlValue::Int(i32::from(n.listen_port)))),
            (
                "native_protocol_version",
                text(super::system_keyspaces::NATIVE_PROTOCOL_VERSION),
            ),
            ("partitioner", text(&n.partitioner)),
            ("rack", text(&n.rack)),
            ("release_version", text(&n.release_version)),
            ("rpc_address", Some(CqlValue::Inet(n.rpc_address))),
            ("rpc_port", Some(CqlValue::Int(i32::from(n.native_port)))),
            (
                "schema_version",
                Some(CqlValue::Uuid(schema_version(schema))),
            ),
            ("tokens", tokens(&n.tokens)),
            ("truncated_at", self.truncated_at(schema)),
        ]]
    }

    /// `truncated_at`: per truncated table id, Cassandra's record of the
    /// truncation: a commit-log position (segment id i64, offset i32; both
    /// 0 here, as Basalt's replay needs no position from this table) and the
    /// time in ms (i64), big-endian. Null when no table was truncated.
    fn truncated_at(&self, schema: &Schema) -> Option<CqlValue> {
        let times = self.truncations.as_ref()?;
        let entries: Vec<(CqlValue, CqlValue)> = schema
            .keyspaces
            .values()
            .flat_map(|ks| ks.tables.values())
            .filter_map(|t| {
                let at = times(t.table_id())?;
                let mut record = vec![0; 12];
                record.extend_from_slice(&at.div_euclid(1000).to_be_bytes());
                Some((CqlValue::Uuid(t.id), CqlValue::Blob(record)))
            })
            .collect();
        if entries.is_empty() {
            return None;
        }
        let ty = CqlType::map(CqlType::Uuid, CqlType::Blob, false);
        value::canonical(&ty, CqlValue::Map(entries)).ok()
    }

    fn peer_rows(&self, v2: bool) -> Vec<Row> {
        self.peers()
            .iter()
            .map(|p| {
                let mut row: Row = vec![
                    ("peer", Some(CqlValue::Inet(p.address))),
                    ("data_center", text(&p.data_center)),
                    ("host_id", Some(CqlValue::Uuid(p.host_id))),
                    ("rack", text(&p.rack)),
                    ("release_version", text(&p.release_version)),
                    ("schema_version", p.schema_version.map(CqlValue::Uuid)),
                    ("tokens", tokens(&p.tokens)),
                ];
                if v2 {
                    row.push(("peer_port", Some(CqlValue::Int(i32::from(p.port)))));
                    row.push(("native_address", Some(CqlValue::Inet(p.native_address))));
                    let port = i32::from(p.native_port);
                    row.push(("native_port", Some(CqlValue::Int(port))));
                } else {
                    row.push(("rpc_address", Some(CqlValue::Inet(p.native_address))));
                }
                row
            })
            .collect()
    }
}

fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::Text(s.to_owned()))
}

fn text_map(map: &BTreeMap<String, String>) -> Option<CqlValue> {
    Some(CqlValue::Map(
        map.iter()
            .map(|(k, v)| (CqlValue::Text(k.clone()), CqlValue::Text(v.clone())))
            .collect(),
    ))
}

fn tokens(tokens: &[i64]) -> Option<CqlValue> {
    let mut texts: Vec<String> = tokens.iter().map(i64::to_string).collect();
    texts.sort();
    texts.dedup();
    Some(CqlValue::Set(
        texts.into_iter().map(CqlValue::Text).collect(),
    ))
}

/// A keyspace's `replication` map as Cassandra shows it: `class` with the
/// strategy's full Java name, then its options.
pub(crate) fn replication_map(replication: &Replication) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let class = match replication {
        Replication::Simple { replication_factor } => {
            map.insert(
                "replication_factor".to_owned(),
                replication_factor.to_string(),
            );
            "SimpleStrategy"
        }
        Replication::NetworkTopology { data_centers } => {
            for (dc, rf) in data_centers {
                map.insert(dc.clone(), rf.to_string());
            }
            "NetworkTopologyStrategy"
        }
        Replication::Local => "LocalStrategy",
    };
    map.insert(
        "class".to_owned(),
        format!("org.apache.cassandra.locator.{class}"),
    );
    map
}

fn keyspace_rows(schema: &Schema) -> Vec<Row> {
    schema
        .keyspaces
        .values()
        .map(|k| {
            vec![
                ("keyspace_name", text(&k.name)),
                ("durable_writes", Some(CqlValue::Boolean(k.durable_writes))),
                ("replication", text_map(&replication_map(&k.replication))),
            ]
        })
        .collect()
}

fn all_tables(schema: &Schema) -> impl Iterator<Item = (&KeyspaceDef, &TableDef)> {
    schema
        .keyspaces
        .values()
        .flat_map(|k| k.tables.values().map(move |t| (k, &**t)))
}

fn table_rows(schema: &Schema) -> Vec<Row> {
    all_tables(schema)
        .map(|(k, t)| {
            let p = &t.params;
            let double = |d: f64| Some(CqlValue::Double(d));
            let int = |i: i32| Some(CqlValue::Int(i));
            vec![
                ("keyspace_name", text(&k.name)),
                ("table_name", text(&t.name)),
                ("additional_write_policy", text(&p.additional_write_policy)),
                ("bloom_filter_fp_chance", double(p.bloom_filter_fp_chance)),
                ("caching", text_map(&p.caching)),
                ("cdc", Some(CqlValue::Boolean(p.cdc))),
                ("comment", text(&p.comment)),
                ("compaction", text_map(&p.compaction)),
                ("compression", text_map(&p.compression)),
                ("crc_check_chance", double(p.crc_check_chance)),
                ("dclocal_read_repair_chance", double(0.0)),
                ("default_time_to_live", int(p.default_time_to_live)),
                ("extensions", Some(CqlValue::Map(Vec::new()))),
                (
                    "flags",
                    Some(CqlValue::Set(vec![CqlValue::Text("compound".to_owned())])),
                ),
                ("gc_grace_seconds", int(p.gc_grace_seconds)),
                ("id", Some(CqlValue::Uuid(t.id))),
                ("max_index_interval", int(p.max_index_interval)),
                (
                    "memtable_flush_period_in_ms",
                    int(p.memtable_flush_period_in_ms),
                ),
                ("min_index_interval", int(p.min_index_interval)),
                ("read_repair", text(&p.read_repair)),
                ("read_repair_chance", double(0.0)),
                ("speculative_retry", text(&p.speculative_retry)),
            ]
        })
        .collect()
}

fn column_rows(schema: &Schema) -> Vec<Row> {
    all_tables(schema)
        .flat_map(|(k, t)| {
            t.columns.iter().map(move |c| {
                let keyed = matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering);
                let order = match (c.kind, c.order) {
                    (ColumnKind::Clustering, Order::Asc) => "asc",
                    (ColumnKind::Clustering, Order::Desc) => "desc",
                    _ => "none",
                };
                let position = if keyed {
                    i32::try_from(c.position).unwrap_or(i32::MAX)
                } else {
                    -1
                };
                vec![
                    ("keyspace_name", text(&k.name)),
                    ("table_name", text(&t.name)),
                    ("column_name", text(&c.name)),
                    ("clustering_order", text(order)),
                    (
                        "column_name_bytes",
                        Some(CqlValue::Blob(c.name.as_bytes().to_vec())),
                    ),
                    ("kind", text(c.kind.name())),
                    ("position", Some(CqlValue::Int(position))),
                    ("type", text(&c.ty.to_string())),
                ]
            })
        })
        .collect()
}

fn dropped_column_rows(schema: &Schema) -> Vec<Row> {
    let mut rows = Vec::new();
    for (k, t) in all_tables(schema) {
        // The table is keyed by name: a name dropped twice shows its last drop.
        let mut latest = BTreeMap::new();
        for d in &t.dropped {
            latest.insert(d.name.as_str(), d);
        }
        for d in latest.into_values() {
            rows.push(vec![
                ("keyspace_name", text(&k.name)),
                ("table_name", text(&t.name)),
                ("column_name", text(&d.name)),
                (
                    "dropped_time",
                    Some(CqlValue::Timestamp(d.dropped_at.div_euclid(1000))),
                ),
                ("kind", text("regular")),
                ("type", text(&d.ty.to_string())),
            ]);
        }
    }
    rows
}

/// Orders `row`'s values as `table.columns`, null for columns it lacks.
fn project(table: &TableDef, row: Row) -> Vec<Option<CqlValue>> {
    let mut by_name: BTreeMap<&str, Option<CqlValue>> = row.into_iter().collect();
    table
        .columns
        .iter()
        .map(|c| by_name.remove(c.name.as_str()).flatten())
        .collect()
}

/// Sorts rows by their key columns (partition key, then clustering), each in
/// its CQL order.
fn sort_by_key(table: &TableDef, rows: &mut [Vec<Option<CqlValue>>]) {
    let keys: Vec<(usize, &cql_lite::CqlType)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering))
        .map(|(i, c)| (i, &c.ty))
        .collect();
    rows.sort_by(|a, b| {
        for (i, ty) in &keys {
            let ord = match (&a[*i], &b[*i]) {
                (Some(x), Some(y)) => value::compare(ty, x, y).unwrap_or(std::cmp::Ordering::Equal),
                (x, y) => x.is_some().cmp(&y.is_some()),
            };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

impl VirtualTables for SystemTables {
    fn rows(
        &self,
        schema: &Schema,
        table: &TableDef,
    ) -> Result<Vec<Vec<Option<CqlValue>>>, ErrorResponse> {
        let raw = match (table.keyspace.as_str(), table.name.as_str()) {
            (SYSTEM, "local") => self.local(schema),
            (SYSTEM, "peers") => self.peer_rows(false),
            (SYSTEM, "peers_v2") => self.peer_rows(true),
            (SYSTEM_SCHEMA, "keyspaces") => keyspace_rows(schema),
            (SYSTEM_SCHEMA, "tables") => table_rows(schema),
            (SYSTEM_SCHEMA, "columns") => column_rows(schema),
            (SYSTEM_SCHEMA, "dropped_columns") => dropped_column_rows(schema),
            _ => Vec::new(),
        };
        let mut rows: Vec<Vec<Option<CqlValue>>> =
            raw.into_iter().map(|r| project(table, r)).collect();
        sort_by_key(table, &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
pub(crate) mod tests;
