//! The built-in keyspaces: `system` (the node and its peers) and
//! `system_schema` (the schema describing itself), with Cassandra 4's tables,
//! columns and keys, plus the empty `system_auth`, `system_distributed` and
//! `system_traces`. Their tables are virtual: the node computes their rows
//! (`system`), nothing is stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use storage::ColumnId;

use super::{
    ColumnDef, ColumnKind, KeyspaceDef, Replication, Schema, TableDef, TableParams, sort_columns,
};
use crate::uuids::name_uuid;

/// The Cassandra release the node claims to be. Drivers pick their schema
/// parser from it, and cqlsh sends DESCRIBE to the server from 4.0 on and stops
/// warning about a version mismatch at exactly 5.0.0.
pub const RELEASE_VERSION: &str = "5.0.0";
/// The CQL version Cassandra 5.0 reports (cqlsh parses it as integers).
pub const CQL_VERSION: &str = "3.4.7";
/// The native protocol version, as `system.local` shows it.
pub(crate) const NATIVE_PROTOCOL_VERSION: &str = "4";
/// The partitioner, as drivers expect its class name.
#[cfg(test)]
pub(crate) const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

/// `system`.
pub(crate) const SYSTEM: &str = "system";
/// `system_schema`.
pub(crate) const SYSTEM_SCHEMA: &str = "system_schema";

/// Keyspace names reserved for the node; users cannot create, alter or drop them
/// or create tables in them.
const RESERVED: [&str; 7] = [
    SYSTEM,
    SYSTEM_SCHEMA,
    "system_auth",
    "system_distributed",
    "system_traces",
    "system_views",
    "system_virtual_schema",
];

/// Whether `keyspace` is one of the node's own.
pub(crate) fn is_system(keyspace: &str) -> bool {
    RESERVED.contains(&keyspace)
}

fn text() -> CqlType {
    CqlType::Text
}

fn frozen_text_map() -> CqlType {
    CqlType::map(CqlType::Text, CqlType::Text, true)
}

fn frozen_text_list() -> CqlType {
    CqlType::list(CqlType::Text, true)
}

/// A virtual table with these key and value columns.
fn table(
    keyspace: &str,
    name: &str,
    partition_key: &[(&str, CqlType)],
    clustering: &[(&str, CqlType)],
    values: &[(&str, CqlType)],
) -> TableDef {
    let column = |(i, (n, ty)): (usize, &(&str, CqlType)), kind| ColumnDef {
        name: (*n).to_owned(),
        ty: ty.clone(),
        kind,
        position: if kind == ColumnKind::Regular { 0 } else { i },
        order: Order::Asc,
        id: ColumnId(0),
        added_at: 0,
    };
    let mut columns: Vec<ColumnDef> = partition_key
        .iter()
        .enumerate()
        .map(|c| column(c, ColumnKind::PartitionKey))
        .chain(
            clustering
                .iter()
                .enumerate()
                .map(|c| column(c, ColumnKind::Clustering)),
        )
        .chain(
            values
                .iter()
                .enumerate()
                .map(|c| column(c, ColumnKind::Regular)),
        )
        .collect();
    sort_columns(&mut columns);
    for (i, c) in columns.iter_mut().enumerate() {
        c.id = ColumnId(i as u32);
    }
    TableDef {
        keyspace: keyspace.to_owned(),
        name: name.to_owned(),
        // Cassandra names system tables' ids after the keyspace and table.
        id: name_uuid(format!("{keyspace}{name}").as_bytes()),
        next_column_id: columns.len() as u32,
        columns,
        dropped: Vec::new(),
        params: TableParams::default(),
        is_virtual: true,
        generation: 0,
        created_at: 0,
        altered_at: 0,
    }
}

fn keyspace(name: &str, tables: Vec<TableDef>) -> KeyspaceDef {
    KeyspaceDef {
        name: name.to_owned(),
        replication: Replication::Local,
        durable_writes: true,
        tables: tables
            .into_iter()
            .map(|t| (t.name.clone(), Arc::new(t)))
            .collect(),
        generation: 0,
        created_at: 0,
        altered_at: 0,
        dropped_tables: BTreeMap::new(),
    }
}

fn system_tables() -> Vec<TableDef> {
    let tokens = || CqlType::set(CqlType::Text, false);
    let local = table(
        SYSTEM,
        "local",
        &[("key", text())],
        &[],
        &[
            ("bootstrapped", text()),
            ("broadcast_address", CqlType::Inet),
            ("broadcast_port", CqlType::Int),
            ("cluster_name", text()),
            ("cql_version", text()),
            ("data_center", text()),
            ("gossip_generation", CqlType::Int),
            ("host_id", CqlType::Uuid),
            ("listen_address", CqlType::Inet),
            ("listen_port", CqlType::Int),
            ("native_protocol_version", text()),
            ("partitioner", text()),
            ("rack", text()),
            ("release_version", text()),
            ("rpc_address", CqlType::Inet),
            ("rpc_port", CqlType::Int),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens()),
            (
                "truncated_at",
                CqlType::map(CqlType::Uuid, CqlType::Blob, false),
            ),
        ],
    );
    let peers = table(
        SYSTEM,
        "peers",
        &[("peer", CqlType::Inet)],
        &[],
        &[
            ("data_center", text()),
            ("host_id", CqlType::Uuid),
            ("preferred_ip", CqlType::Inet),
            ("rack", text()),
            ("release_version", text()),
            ("rpc_address", CqlType::Inet),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens()),
        ],
    );
    let peers_v2 = table(
        SYSTEM,
        "peers_v2",
        &[("peer", CqlType::Inet)],
        &[("peer_port", CqlType::Int)],
        &[
            ("data_center", text()),
            ("host_id", CqlType::Uuid),
            ("native_address", CqlType::Inet),
            ("native_port", CqlType::Int),
            ("preferred_ip", CqlType::Inet),
            ("preferred_port", CqlType::Int),
            ("rack", text()),
            ("release_version", text()),
            ("schema_version", CqlType::Uuid),
            ("tokens", tokens()),
        ],
    );
    vec![local, peers, peers_v2]
}

/// The option columns `system_schema.tables` and `views` share.
fn table_option_columns() -> Vec<(&'static str, CqlType)> {
    vec![
        ("additional_write_policy", text()),
        ("bloom_filter_fp_chance", CqlType::Double),
        ("caching", frozen_text_map()),
        ("cdc", CqlType::Boolean),
        ("comment", text()),
        ("compaction", frozen_text_map()),
        ("compression", frozen_text_map()),
        ("crc_check_chance", CqlType::Double),
        ("dclocal_read_repair_chance", CqlType::Double),
        ("default_time_to_live", CqlType::Int),
        (
            "extensions",
            CqlType::map(CqlType::Text, CqlType::Blob, true),
        ),
        ("gc_grace_seconds", CqlType::Int),
        ("max_index_interval", CqlType::Int),
        ("memtable_flush_period_in_ms", CqlType::Int),
        ("min_index_interval", CqlType::Int),
        ("read_repair", text()),
        ("read_repair_chance", CqlType::Double),
        ("speculative_retry", text()),
    ]
}

/// A table of `system_schema`, partitioned by keyspace name.
fn schema_table(
    name: &str,
    clustering: &[(&str, CqlType)],
    values: &[(&str, CqlType)],
) -> TableDef {
    table(
        SYSTEM_SCHEMA,
        name,
        &[("keyspace_name", text())],
        clustering,
        values,
    )
}

/// `system_schema`, in the order Cassandra lists it: the data's schema, then
/// the schema of what runs on it (triggers, views, types, functions, indexes).
fn system_schema_tables() -> Vec<TableDef> {
    let mut tables = data_schema_tables();
    tables.extend(code_schema_tables());
    tables
}

/// `system_schema`'s keyspaces, tables and columns.
fn data_schema_tables() -> Vec<TableDef> {
    let t = schema_table;
    let mut tables_values = table_option_columns();
    tables_values.push(("flags", CqlType::set(CqlType::Text, true)));
    tables_values.push(("id", CqlType::Uuid));
    vec![
        t(
            "keyspaces",
            &[],
            &[
                ("durable_writes", CqlType::Boolean),
                ("replication", frozen_text_map()),
            ],
        ),
        t("tables", &[("table_name", text())], &tables_values),
        t(
            "columns",
            &[("table_name", text()), ("column_name", text())],
            &[
                ("clustering_order", text()),
                ("column_name_bytes", CqlType::Blob),
                ("kind", text()),
                ("position", CqlType::Int),
                ("type", text()),
            ],
        ),
        t(
            "dropped_columns",
            &[("table_name", text()), ("column_name", text())],
            &[
                ("dropped_time", CqlType::Timestamp),
                ("kind", text()),
                ("type", text()),
            ],
        ),
    ]
}

/// `system_schema`'s triggers, views, types, functions, aggregates and indexes.
fn code_schema_tables() -> Vec<TableDef> {
    let t = schema_table;
    let mut views_values = table_option_columns();
    views_values.extend([
        ("base_table_id", CqlType::Uuid),
        ("base_table_name", text()),
        ("id", CqlType::Uuid),
        ("include_all_columns", CqlType::Boolean),
        ("where_clause", text()),
    ]);
    vec![
        t(
            "triggers",
            &[("table_name", text()), ("trigger_name", text())],
            &[("options", frozen_text_map())],
        ),
        t("views", &[("view_name", text())], &views_values),
        t(
            "types",
            &[("type_name", text())],
            &[
                ("field_names", frozen_text_list()),
                ("field_types", frozen_text_list()),
            ],
        ),
        t(
            "functions",
            &[
                ("function_name", text()),
                ("argument_types", frozen_text_list()),
            ],
            &[
                ("argument_names", frozen_text_list()),
                ("body", text()),
                ("called_on_null_input", CqlType::Boolean),
                ("language", text()),
                ("return_type", text()),
            ],
        ),
        t(
            "aggregates",
            &[
                ("aggregate_name", text()),
                ("argument_types", frozen_text_list()),
            ],
            &[
                ("final_func", text()),
                ("initcond", text()),
                ("return_type", text()),
                ("state_func", text()),
                ("state_type", text()),
            ],
        ),
        t(
            "indexes",
            &[("table_name", text()), ("index_name", text())],
            &[("kind", text()), ("options", frozen_text_map())],
        ),
    ]
}

/// Every built-in keyspace, by name.
pub(crate) fn keyspaces() -> BTreeMap<String, KeyspaceDef> {
    [
        keyspace(SYSTEM, system_tables()),
        keyspace(SYSTEM_SCHEMA, system_schema_tables()),
        keyspace("system_auth", Vec::new()),
        keyspace("system_distributed", Vec::new()),
        keyspace("system_traces", Vec::new()),
    ]
    .into_iter()
    .map(|k| (k.name.clone(), k))
    .collect()
}

/// `user` (user keyspaces, as persisted or replicated) with the built-in
/// keyspaces added; any user keyspace with a reserved name is replaced.
pub(crate) fn with_system(user: Schema) -> Schema {
    let mut schema = user;
    schema.keyspaces.retain(|name, _| !is_system(name));
    schema.keyspaces.extend(keyspaces());
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_local_has_the_columns_drivers_read() {
        let schema = with_system(Schema::default());
        let local = schema.table(SYSTEM, "local").expect("system.local");
        assert!(local.is_virtual);
        for name in [
            "key",
            "cluster_name",
            "release_version",
            "schema_version",
            "partitioner",
            "tokens",
            "data_center",
            "rack",
            "host_id",
            "rpc_address",
            "cql_version",
        ] {
            assert!(local.column(name).is_some(), "{name}");
        }
        assert_eq!(local.columns[0].name, "key");
        let peers_v2 = schema.table(SYSTEM, "peers_v2").expect("peers_v2");
        let keys: Vec<&str> = peers_v2
            .partition_key()
            .chain(peers_v2.clustering())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(keys, ["peer", "peer_port"]);
    }

    #[test]
    fn system_schema_has_all_nine_driver_tables_plus_dropped_columns() {
        let ks = keyspaces();
        let schema_ks = &ks[SYSTEM_SCHEMA];
        for t in [
            "keyspaces",
            "tables",
            "columns",
            "types",
            "functions",
            "aggregates",
            "triggers",
            "indexes",
            "views",
            "dropped_columns",
        ] {
            let table = schema_ks.tables.get(t).expect(t);
            assert_eq!(table.columns[0].name, "keyspace_name");
            assert_eq!(table.columns[0].kind, ColumnKind::PartitionKey);
            assert!(table.clustering_layout().is_ok(), "{t}");
        }
        assert!(is_system("system_views"));
        assert!(!is_system("ks"));
    }
}
