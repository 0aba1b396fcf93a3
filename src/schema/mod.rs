//! The schema catalog: keyspaces, tables and their columns, as the node knows them.
//!
//! [`Schema`] is a plain value: DDL produces a new `Schema` from the old one (see
//! `ddl`), so the same change applies identically on every node once the cluster
//! replicates it. The catalog is durable (`persist`), has a deterministic version
//! (`version`), and describes itself through the `system_schema` tables (`system`).
//!
//! Invariants:
//! - a table's [`ColumnDef::id`]s are unique and never reused, even after a column
//!   is dropped, because storage keys cells by column id;
//! - a table's [`TableDef::id`] is fixed at creation and is its storage [`TableId`];
//! - `columns` lists partition key columns (by position), then clustering columns
//!   (by position), then static and regular columns by name, as Cassandra orders
//!   `SELECT *`; `dropped` is ordered by column id;
//! - every object carries the timestamps a deterministic merge needs (`created_at`,
//!   `altered_at`, `added_at`, `dropped_at`), and dropped keyspaces and tables
//!   leave tombstones, so schemas changed on different nodes converge (`merge`).
//!   DDL timestamps act as a Lamport clock: `ddl::apply` never stamps a change
//!   at or before a timestamp the schema already holds.

pub(crate) mod changes;
pub(crate) mod codec;
pub(crate) mod ddl;
pub(crate) mod describe;
pub(crate) mod merge;
pub(crate) mod persist;
pub(crate) mod service;
pub(crate) mod system;
pub(crate) mod system_keyspaces;
pub(crate) mod version;

#[cfg(test)]
pub(crate) use codec::decode_user_schema;
pub(crate) use describe::describe;
pub use persist::PersistError;
pub use service::{OpenError, SchemaService};
pub(crate) use system::VirtualTables;
pub use system::{NodeInfo, PeerInfo, SystemTables};
pub use system_keyspaces::{CQL_VERSION, RELEASE_VERSION};

use std::collections::BTreeMap;
use std::sync::Arc;

use cql_lite::ErrorResponse;
use cql_lite::byte_comparable::{ClusteringLayout, Order};
use cql_lite::types::CqlType;
use cql_lite::value::ValueError;
use storage::{ColumnId, TableId};

/// Every keyspace the node knows, by name, and the keyspaces it saw dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Keyspaces by name, user and system alike.
    pub keyspaces: BTreeMap<String, KeyspaceDef>,
    /// Keyspace tombstones by name: the latest incarnation dropped. A schema
    /// merged from another node must not bring back that incarnation or an
    /// earlier one (see `merge`). Never purged: each is small, there is one per
    /// name ever dropped, and the generation it holds keeps a re-created
    /// keyspace's table ids from repeating a dropped incarnation's.
    pub dropped_keyspaces: BTreeMap<String, KeyspaceTombstone>,
}

/// The latest DROP of a keyspace name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyspaceTombstone {
    /// The generation of the latest incarnation dropped: this one and every
    /// earlier one are dead; the next CREATE makes `generation + 1`.
    pub generation: u32,
    /// When (µs) it was dropped (the latest DROP seen).
    pub dropped_at: i64,
}

/// One keyspace.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyspaceDef {
    /// Its name.
    pub name: String,
    /// Where its data is placed.
    pub replication: Replication,
    /// `durable_writes`: whether writes go through the commit log.
    pub durable_writes: bool,
    /// Tables by name.
    pub tables: BTreeMap<String, Arc<TableDef>>,
    /// Which incarnation of the name this is: 0 for the first, and a CREATE
    /// after a DROP makes one more than the dropped generation. Two nodes that
    /// create the keyspace without seeing each other make the same generation,
    /// and a merge unites them (see `merge`).
    pub generation: u32,
    /// When (µs) this incarnation of the keyspace was created (the latest of
    /// the concurrent CREATEs it unites).
    pub created_at: i64,
    /// When (µs) `replication` and `durable_writes` were last set.
    pub altered_at: i64,
    /// Tombstones of the tables dropped from this keyspace, by name and id.
    pub dropped_tables: BTreeMap<(String, [u8; 16]), TableTombstone>,
}

/// A dropped table, remembered so a merge cannot bring it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableTombstone {
    /// The name it had.
    pub name: String,
    /// Its id: the tombstone kills only this id.
    pub id: [u8; 16],
    /// The dropped table's generation: a CREATE of the name after it makes a
    /// greater one, so a new id. With `id`, it takes part in the race for the
    /// name in the table's place, so a table that lost that race stays lost
    /// after the winner is dropped.
    pub generation: u32,
    /// When (µs) the table it killed was created, as the DROPs saw it.
    pub created_at: i64,
    /// When (µs) it was dropped.
    pub dropped_at: i64,
}

impl KeyspaceTombstone {
    /// What two tombstones of one name know together: the later of each.
    pub(crate) fn join(self, other: KeyspaceTombstone) -> KeyspaceTombstone {
        KeyspaceTombstone {
            generation: self.generation.max(other.generation),
            dropped_at: self.dropped_at.max(other.dropped_at),
        }
    }
}

/// A keyspace's replication strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// `SimpleStrategy` with its `replication_factor`.
    Simple {
        /// Copies of each partition.
        replication_factor: u32,
    },
    /// `NetworkTopologyStrategy`: copies per data center.
    NetworkTopology {
        /// Data center name to copies there.
        data_centers: BTreeMap<String, u32>,
    },
    /// `LocalStrategy`: node-local system keyspaces.
    Local,
}

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The keyspace it belongs to.
    pub keyspace: String,
    /// Its name.
    pub name: String,
    /// Its id (a uuid), also the storage table id: derived from the keyspace,
    /// its generation, the name, `generation` and the columns (`ddl`), so two
    /// nodes that run one CREATE concurrently make the same table.
    pub id: [u8; 16],
    /// Which incarnation of the name this is: one more than the greatest
    /// generation among the name's tombstones, 0 for the first.
    pub generation: u32,
    /// Columns in `SELECT *` order (see the module invariants).
    pub columns: Vec<ColumnDef>,
    /// The next column id to hand out; ids are never reused.
    pub next_column_id: u32,
    /// Columns dropped, with the timestamp (µs) of the drop: cells written at or
    /// before it are ignored by reads.
    pub dropped: Vec<DroppedColumn>,
    /// Table options.
    pub params: TableParams,
    /// Whether it is a virtual table whose rows the node computes (system tables).
    pub is_virtual: bool,
    /// When (µs) it was created (the latest of concurrent CREATEs of this id).
    /// A race between different tables of one name is decided by generation
    /// and id instead (see `merge`): views of one table differ in this.
    pub created_at: i64,
    /// When (µs) `params` were last set.
    pub altered_at: i64,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Its name (case kept as declared).
    pub name: String,
    /// Its CQL type.
    pub ty: CqlType,
    /// What role it plays.
    pub kind: ColumnKind,
    /// Position among the partition key or clustering columns; 0 otherwise.
    pub position: usize,
    /// Clustering order; `Asc` for columns that are not clustering columns.
    pub order: Order,
    /// The storage column id.
    pub id: ColumnId,
    /// When (µs) this definition was set: the column's ADD (or its table's
    /// CREATE), or the RENAME that last named it.
    pub added_at: i64,
}

/// The role of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// A partition key component.
    PartitionKey,
    /// A clustering column.
    Clustering,
    /// A static column: one value per partition.
    Static,
    /// A regular column.
    Regular,
}

impl ColumnKind {
    /// The name `system_schema.columns.kind` uses.
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::PartitionKey => "partition_key",
            ColumnKind::Clustering => "clustering",
            ColumnKind::Static => "static",
            ColumnKind::Regular => "regular",
        }
    }
}

/// A dropped column, remembered so old cells stay hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedColumn {
    /// The name it had.
    pub name: String,
    /// Its type.
    pub ty: CqlType,
    /// Its storage id (never reused).
    pub id: ColumnId,
    /// When it was dropped (µs); `POISONED` for an id two nodes handed to
    /// different columns concurrently (see `merge`).
    pub dropped_at: i64,
}

/// The `dropped_at` of a column id that concurrent DDL on two nodes gave to two
/// different columns: neither may be read, so both are dropped for good.
pub(crate) const POISONED: i64 = i64::MAX;

/// Table options, as `WITH` sets them and `system_schema.tables` shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct TableParams {
    /// `bloom_filter_fp_chance`.
    pub bloom_filter_fp_chance: f64,
    /// `comment`.
    pub comment: String,
    /// `compaction` map (`class` plus strategy options).
    pub compaction: BTreeMap<String, String>,
    /// `compression` map.
    pub compression: BTreeMap<String, String>,
    /// `default_time_to_live` in seconds.
    pub default_time_to_live: i32,
    /// `gc_grace_seconds`.
    pub gc_grace_seconds: i32,
    /// `caching` map (shown, not acted on).
    pub caching: BTreeMap<String, String>,
    /// `speculative_retry` (shown, not acted on).
    pub speculative_retry: String,
    /// `crc_check_chance` (shown, not acted on).
    pub crc_check_chance: f64,
    /// `memtable_flush_period_in_ms`: a memtable is flushed once it has held data this long (0: never).
    pub memtable_flush_period_in_ms: i32,
    /// `additional_write_policy` (shown, not acted on).
    pub additional_write_policy: String,
    /// `cdc`: always false, change data capture is not supported.
    pub cdc: bool,
    /// `min_index_interval` (shown, not acted on).
    pub min_index_interval: i32,
    /// `max_index_interval` (shown, not acted on).
    pub max_index_interval: i32,
    /// `read_repair`: `BLOCKING` or `NONE` (shown, not acted on yet).
    pub read_repair: String,
}

impl Default for TableParams {
    fn default() -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        TableParams {
            bloom_filter_fp_chance: 0.01,
            comment: String::new(),
            compaction: map(&[
                (
                    "class",
                    "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                ),
                ("max_threshold", "32"),
                ("min_threshold", "4"),
            ]),
            compression: map(&[
                ("chunk_length_in_kb", "4"),
                ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
            ]),
            default_time_to_live: 0,
            gc_grace_seconds: 864_000,
            caching: map(&[("keys", "ALL"), ("rows_per_partition", "NONE")]),
            speculative_retry: "99p".to_owned(),
            crc_check_chance: 1.0,
            memtable_flush_period_in_ms: 0,
            additional_write_policy: "99p".to_owned(),
            cdc: false,
            min_index_interval: 128,
            max_index_interval: 2048,
            read_repair: "BLOCKING".to_owned(),
        }
    }
}

/// Puts columns in the model's order: partition key and clustering columns by
/// position, then static and regular columns by name.
pub(crate) fn sort_columns(columns: &mut [ColumnDef]) {
    let rank = |c: &ColumnDef| match c.kind {
        ColumnKind::PartitionKey => 0,
        ColumnKind::Clustering => 1,
        ColumnKind::Static | ColumnKind::Regular => 2,
    };
    columns.sort_by(|a, b| (rank(a), a.position, &a.name).cmp(&(rank(b), b.position, &b.name)));
}

/// The keyspace a statement means: the one it names, else the session's.
pub(crate) fn resolve_keyspace<'a>(
    named: Option<&'a str>,
    session: Option<&'a str>,
) -> Result<&'a str, ErrorResponse> {
    named.or(session).ok_or_else(cql_lite::errors::no_keyspace)
}

impl Schema {
    /// The keyspace called `name`.
    pub fn keyspace(&self, name: &str) -> Option<&KeyspaceDef> {
        self.keyspaces.get(name)
    }

    /// The table `keyspace.name`.
    pub fn table(&self, keyspace: &str, name: &str) -> Option<&Arc<TableDef>> {
        self.keyspaces.get(keyspace)?.tables.get(name)
    }
}

impl TableDef {
    /// The storage id.
    pub fn table_id(&self) -> TableId {
        TableId(u128::from_be_bytes(self.id))
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The partition key columns, in key order.
    pub fn partition_key(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| c.kind == ColumnKind::PartitionKey)
    }

    /// The clustering columns, in clustering order.
    pub fn clustering(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| c.kind == ColumnKind::Clustering)
    }

    /// Static and regular columns.
    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Static | ColumnKind::Regular))
    }

    /// Whether the table has static columns.
    pub fn has_static(&self) -> bool {
        self.columns.iter().any(|c| c.kind == ColumnKind::Static)
    }

    /// The byte-comparable layout of the clustering key. It fails only if a
    /// clustering column has a type that cannot be a key, which DDL refuses.
    pub fn clustering_layout(&self) -> Result<ClusteringLayout, ValueError> {
        let columns = self.clustering().map(|c| (c.ty.clone(), c.order)).collect();
        ClusteringLayout::new(columns)
    }
}
