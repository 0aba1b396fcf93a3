//! Server-side `DESCRIBE`, which cqlsh 6 sends instead of describing locally.
//!
//! Results follow Cassandra 4's `DescribeStatement`: columns in keyspace
//! `system`, table `describe`; listings are `keyspace_name, type, name`;
//! element descriptions add `create_statement`, formatted as Cassandra
//! formats it (options in its order, doubles as Java prints them).

use std::collections::BTreeMap;

use bytes::Bytes;
use cql_lite::ast::{Describe, QualifiedName};
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use cql_lite::{ColumnSpec, Columns, ErrorResponse, Rows, RowsMetadata};

use cql_lite::lexer::quote_identifier;

use super::system::{SystemTables, replication_map};
use super::system_keyspaces::is_system;
use super::{ColumnKind, KeyspaceDef, Replication, Schema, TableDef};
use cql_lite::errors::{invalid, server};

/// The snitch `DESCRIBE CLUSTER` names (Cassandra wraps its snitch in this).
const SNITCH: &str = "org.apache.cassandra.locator.DynamicEndpointSnitch";

/// Runs a DESCRIBE against `schema`. `node` supplies `DESCRIBE CLUSTER`'s
/// cluster name, partitioner and ring.
pub(crate) fn describe(
    schema: &Schema,
    stmt: &Describe,
    session_keyspace: Option<&str>,
    node: &SystemTables,
) -> Result<Rows, ErrorResponse> {
    let listing = |rows| build(&text_columns(&LISTING), rows);
    let elements = |rows| build(&text_columns(&ELEMENT), rows);
    match stmt {
        Describe::Cluster => cluster(schema, session_keyspace, node),
        Describe::Schema { full } => {
            let keyspaces = schema
                .keyspaces
                .values()
                .filter(|k| *full || !is_system(&k.name));
            elements(
                keyspaces
                    .flat_map(|k| keyspace_elements(k, false))
                    .collect(),
            )
        }
        Describe::Keyspaces => listing(
            schema
                .keyspaces
                .values()
                .map(|k| listing_row(&k.name, "keyspace", &k.name))
                .collect(),
        ),
        Describe::Keyspace { name, only, .. } => {
            let name = name
                .as_deref()
                .or(session_keyspace)
                .ok_or_else(cql_lite::errors::no_keyspace)?;
            elements(keyspace_elements(find_keyspace(schema, name)?, *only))
        }
        Describe::Tables => {
            let scope: Vec<&KeyspaceDef> = match session_keyspace {
                Some(ks) => schema.keyspace(ks).into_iter().collect(),
                None => schema.keyspaces.values().collect(),
            };
            let rows = scope
                .iter()
                .flat_map(|k| k.tables.keys().map(|t| listing_row(&k.name, "table", t)))
                .collect();
            listing(rows)
        }
        Describe::Table { name, .. } => {
            let table = find_table(schema, name, session_keyspace)?;
            elements(vec![table_element(table)])
        }
        Describe::Types | Describe::Functions | Describe::Aggregates => listing(Vec::new()),
        Describe::Name { name, .. } => {
            let keyspace = name
                .keyspace
                .is_none()
                .then(|| schema.keyspace(&name.name))
                .flatten();
            if let Some(k) = keyspace {
                return elements(keyspace_elements(k, false));
            }
            let table = find_table(schema, name, session_keyspace)?;
            elements(vec![table_element(table)])
        }
    }
}

const LISTING: [&str; 3] = ["keyspace_name", "type", "name"];
const ELEMENT: [&str; 4] = ["keyspace_name", "type", "name", "create_statement"];

type Row = Vec<Option<CqlValue>>;

fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::Text(s.to_owned()))
}

fn listing_row(keyspace: &str, kind: &str, name: &str) -> Row {
    vec![text(keyspace), text(kind), text(name)]
}

fn text_columns<'a>(names: &[&'a str]) -> Vec<(&'a str, CqlType)> {
    names.iter().map(|n| (*n, CqlType::Text)).collect()
}

fn build(columns: &[(&str, CqlType)], rows: Vec<Row>) -> Result<Rows, ErrorResponse> {
    let types: Vec<&CqlType> = columns.iter().map(|(_, ty)| ty).collect();
    let specs = columns
        .iter()
        .zip(&types)
        .map(|((name, _), ty)| ColumnSpec {
            keyspace: "system".to_owned(),
            table: "describe".to_owned(),
            name: (*name).to_owned(),
            column_type: ty.to_column_type(),
        })
        .collect();
    let mut encoded = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(row.len());
        for (v, ty) in row.iter().zip(&types) {
            cells.push(match v {
                None => None,
                Some(v) => {
                    let mut out = Vec::new();
                    value::serialize(ty, v, &mut out).map_err(|e| server(e.to_string()))?;
                    Some(Bytes::from(out))
                }
            });
        }
        encoded.push(cells);
    }
    Ok(Rows {
        metadata: RowsMetadata {
            paging_state: None,
            columns: Columns::Specs(specs),
        },
        rows: encoded,
    })
}

fn find_keyspace<'a>(schema: &'a Schema, name: &str) -> Result<&'a KeyspaceDef, ErrorResponse> {
    schema
        .keyspace(name)
        .ok_or_else(|| invalid(format!("'{name}' not found in keyspaces")))
}

fn find_table<'a>(
    schema: &'a Schema,
    name: &QualifiedName,
    session_keyspace: Option<&str>,
) -> Result<&'a TableDef, ErrorResponse> {
    let ks = super::resolve_keyspace(name.keyspace.as_deref(), session_keyspace)?;
    let keyspace = find_keyspace(schema, ks)?;
    keyspace
        .tables
        .get(&name.name)
        .map(|t| &**t)
        .ok_or_else(|| invalid(format!("'{}' not found in keyspace '{ks}'", name.name)))
}

fn keyspace_elements(keyspace: &KeyspaceDef, only: bool) -> Vec<Row> {
    let mut rows = vec![vec![
        text(&keyspace.name),
        text("keyspace"),
        text(&keyspace.name),
        text(&keyspace_cql(keyspace)),
    ]];
    if !only {
        rows.extend(keyspace.tables.values().map(|t| table_element(t)));
    }
    rows
}

fn table_element(table: &TableDef) -> Row {
    vec![
        text(&table.keyspace),
        text("table"),
        text(&table.name),
        text(&table_cql(table)),
    ]
}

fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A double as Java's `Double.toString` prints it (`0.01`, `1.0`, `1.0E-5`).
pub(crate) fn java_double(d: f64) -> String {
    let magnitude = d.abs();
    if d == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let s = format!("{d}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{d:E}");
        match s.split_once('E') {
            Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0E{exp}"),
            _ => s,
        }
    }
}

/// `{'a': 'b', ...}`, with `first` (when present) before the rest.
fn cql_map(map: &BTreeMap<String, String>, first: Option<&str>) -> String {
    let head = first.and_then(|k| map.get_key_value(k));
    let rest = map.iter().filter(|(k, _)| Some(k.as_str()) != first);
    let entries: Vec<String> = head
        .into_iter()
        .chain(rest)
        .map(|(k, v)| format!("{}: {}", quote_string(k), quote_string(v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// `CREATE KEYSPACE` as Cassandra 4 prints it (two spaces before `AND`).
pub(crate) fn keyspace_cql(keyspace: &KeyspaceDef) -> String {
    format!(
        "CREATE KEYSPACE {} WITH replication = {}  AND durable_writes = {};",
        quote_identifier(&keyspace.name),
        cql_map(&replication_map(&keyspace.replication), Some("class")),
        keyspace.durable_writes
    )
}

/// `CREATE TABLE` as Cassandra 4 prints it.
pub(crate) fn table_cql(table: &TableDef) -> String {
    let mut out = format!(
        "CREATE TABLE {}.{} (\n",
        quote_identifier(&table.keyspace),
        quote_identifier(&table.name)
    );
    let pk: Vec<String> = table
        .partition_key()
        .map(|c| quote_identifier(&c.name))
        .collect();
    let ck: Vec<String> = table
        .clustering()
        .map(|c| quote_identifier(&c.name))
        .collect();
    let single_key = pk.len() == 1 && ck.is_empty();
    // Cassandra lists static columns before regular ones, each by name.
    let columns = table
        .partition_key()
        .chain(table.clustering())
        .chain(
            table
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Static),
        )
        .chain(
            table
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Regular),
        );
    let mut lines: Vec<String> = columns
        .map(|c| {
            let suffix = match c.kind {
                ColumnKind::Static => " static",
                ColumnKind::PartitionKey if single_key => " PRIMARY KEY",
                _ => "",
            };
            format!("    {} {}{suffix}", quote_identifier(&c.name), c.ty)
        })
        .collect();
    if !single_key {
        let partition = if pk.len() == 1 {
            pk[0].clone()
        } else {
            format!("({})", pk.join(", "))
        };
        let key: Vec<String> = std::iter::once(partition).chain(ck).collect();
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    out.push_str(&lines.join(",\n"));
    out.push_str("\n) WITH ");
    let mut options = Vec::new();
    if table.clustering().next().is_some() {
        let orders: Vec<String> = table
            .clustering()
            .map(|c| {
                let dir = if c.order == Order::Desc {
                    "DESC"
                } else {
                    "ASC"
                };
                format!("{} {dir}", quote_identifier(&c.name))
            })
            .collect();
        options.push(format!("CLUSTERING ORDER BY ({})", orders.join(", ")));
    }
    options.extend(table_options(table));
    out.push_str(&options.join("\n    AND "));
    out.push(';');
    out
}

fn table_options(table: &TableDef) -> Vec<String> {
    let p = &table.params;
    vec![
        format!(
            "additional_write_policy = {}",
            quote_string(&p.additional_write_policy)
        ),
        format!(
            "bloom_filter_fp_chance = {}",
            java_double(p.bloom_filter_fp_chance)
        ),
        format!("caching = {}", cql_map(&p.caching, None)),
        format!("cdc = {}", p.cdc),
        format!("comment = {}", quote_string(&p.comment)),
        format!("compaction = {}", cql_map(&p.compaction, Some("class"))),
        format!("compression = {}", cql_map(&p.compression, None)),
        format!("crc_check_chance = {}", java_double(p.crc_check_chance)),
        format!("default_time_to_live = {}", p.default_time_to_live),
        "extensions = {}".to_owned(),
        format!("gc_grace_seconds = {}", p.gc_grace_seconds),
        format!("max_index_interval = {}", p.max_index_interval),
        format!(
            "memtable_flush_period_in_ms = {}",
            p.memtable_flush_period_in_ms
        ),
        format!("min_index_interval = {}", p.min_index_interval),
        format!("read_repair = {}", quote_string(&p.read_repair)),
        format!("speculative_retry = {}", quote_string(&p.speculative_retry)),
    ]
}

/// `DESCRIBE CLUSTER`; `range_ownership` only when a user keyspace is in use.
fn cluster(
    schema: &Schema,
    session_keyspace: Option<&str>,
    node: &SystemTables,
) -> Result<Rows, ErrorResponse> {
    const COLUMNS: [&str; 3] = ["cluster", "partitioner", "snitch"];
    let info = node.node();
    let mut row = vec![
        text(&info.cluster_name),
        text(&info.partitioner),
        text(SNITCH),
    ];
    let user_keyspace = session_keyspace
        .filter(|ks| !is_system(ks))
        .and_then(|ks| schema.keyspace(ks));
    let Some(keyspace) = user_keyspace else {
        return build(&text_columns(&COLUMNS), vec![row]);
    };
    let mut columns = text_columns(&COLUMNS);
    columns.push(("range_ownership", ownership_type()));
    row.push(Some(range_ownership(keyspace, node)?));
    build(&columns, vec![row])
}

fn ownership_type() -> CqlType {
    CqlType::map(CqlType::Text, CqlType::list(CqlType::Text, false), false)
}

/// Each token's range with its replicas, walking the ring as SimpleStrategy
/// does (distinct nodes clockwise from the owner) with the keyspace's total
/// replication factor.
fn range_ownership(keyspace: &KeyspaceDef, node: &SystemTables) -> Result<CqlValue, ErrorResponse> {
    let info = node.node();
    let mut ring: Vec<(i64, String)> = info
        .tokens
        .iter()
        .map(|t| (*t, format!("{}:{}", info.listen_address, info.listen_port)))
        .collect();
    for p in node.peers() {
        ring.extend(
            p.tokens
                .iter()
                .map(|t| (*t, format!("{}:{}", p.address, p.port))),
        );
    }
    ring.sort();
    let rf = match &keyspace.replication {
        Replication::Simple { replication_factor } => *replication_factor as usize,
        Replication::NetworkTopology { data_centers } => {
            data_centers.values().map(|rf| *rf as usize).sum()
        }
        Replication::Local => 1,
    };
    let mut entries = Vec::with_capacity(ring.len());
    for (i, (token, _)) in ring.iter().enumerate() {
        let mut replicas: Vec<&String> = Vec::new();
        for step in 0..ring.len() {
            let endpoint = &ring[(i + step) % ring.len()].1;
            if replicas.len() >= rf {
                break;
            }
            if !replicas.contains(&endpoint) {
                replicas.push(endpoint);
            }
        }
        entries.push((
            CqlValue::Text(token.to_string()),
            CqlValue::List(
                replicas
                    .into_iter()
                    .map(|e| CqlValue::Text(e.clone()))
                    .collect(),
            ),
        ));
    }
    value::normalize(&ownership_type(), &CqlValue::Map(entries)).map_err(|e| server(e.to_string()))
}

#[cfg(test)]
mod tests;
