//! Preparing INSERT, UPDATE and DELETE against the schema: the checks Cassandra
//! makes before a write can run, with its wording.

use std::collections::HashSet;
use std::sync::Arc;

use cql_lite::{ErrorResponse, ast};

use super::attrs::Attributes;
use super::keys::{KeyBuilder, Keys};
use super::ops::Op;
use super::{Kind, WritePlan};
use crate::cql::bind::Markers;
use crate::cql::error::{invalid, unconfigured_table, unknown_keyspace};
use crate::cql::resolve_keyspace;
use crate::schema::{ColumnKind, Schema, TableDef};

/// Keyspaces whose tables the node owns: clients read them, never write them.
const READ_ONLY_KEYSPACES: [&str; 4] = [
    "system",
    "system_schema",
    "system_virtual_schema",
    "system_views",
];

fn conditional() -> ErrorResponse {
    invalid("Conditional updates are not supported")
}

impl WritePlan {
    /// Prepares an INSERT, UPDATE or DELETE against `schema`, registering its
    /// markers in text order.
    pub(crate) fn prepare(
        schema: &Schema,
        session_keyspace: Option<&str>,
        stmt: &ast::Statement,
        markers: &mut Markers,
    ) -> Result<WritePlan, ErrorResponse> {
        match stmt {
            ast::Statement::Insert(s) => insert(schema, session_keyspace, s, markers),
            ast::Statement::Update(s) => update(schema, session_keyspace, s, markers),
            ast::Statement::Delete(s) => delete(schema, session_keyspace, s, markers),
            _ => Err(invalid("Only INSERT, UPDATE and DELETE statements write")),
        }
    }

    /// Prepares one statement of a batch.
    pub(super) fn prepare_in_batch(
        schema: &Schema,
        session_keyspace: Option<&str>,
        stmt: &ast::BatchStatement,
        markers: &mut Markers,
    ) -> Result<WritePlan, ErrorResponse> {
        match stmt {
            ast::BatchStatement::Insert(s) => insert(schema, session_keyspace, s, markers),
            ast::BatchStatement::Update(s) => update(schema, session_keyspace, s, markers),
            ast::BatchStatement::Delete(s) => delete(schema, session_keyspace, s, markers),
        }
    }

    /// Takes a batch's `USING TIMESTAMP`.
    pub(super) fn inherit_timestamp(&mut self, batch: &Attributes) -> Result<(), ErrorResponse> {
        self.attrs.inherit_timestamp(batch)
    }
}

/// The writable table `name` means.
fn writable_table(
    schema: &Schema,
    session_keyspace: Option<&str>,
    name: &ast::QualifiedName,
) -> Result<Arc<TableDef>, ErrorResponse> {
    let keyspace = resolve_keyspace(name.keyspace.as_deref(), session_keyspace)?;
    let ks = schema
        .keyspace(keyspace)
        .ok_or_else(|| unknown_keyspace(keyspace))?;
    let table = ks
        .tables
        .get(&name.name)
        .ok_or_else(|| unconfigured_table(&name.name))?;
    if table.is_virtual || READ_ONLY_KEYSPACES.contains(&keyspace) {
        return Err(invalid(format!(
            "Table {keyspace}.{} is a system table and cannot be modified",
            name.name
        )));
    }
    Ok(Arc::clone(table))
}

fn plan(
    table: Arc<TableDef>,
    kind: Kind,
    keys: Keys,
    ops: Vec<Op>,
    attrs: Attributes,
) -> Result<WritePlan, ErrorResponse> {
    let layout = table.clustering_layout().map_err(|e| {
        invalid(format!(
            "table {} has an invalid clustering key: {e}",
            table.name
        ))
    })?;
    Ok(WritePlan {
        keyspace: table.keyspace.clone(),
        table,
        kind,
        keys,
        ops,
        attrs,
        layout,
    })
}

fn missing_clustering(table: &TableDef, keys: &Keys) -> ErrorResponse {
    let missing: Vec<&str> = table
        .clustering()
        .skip(keys.clustering_prefix_len())
        .map(|c| c.name.as_str())
        .collect();
    invalid(format!(
        "Some clustering keys are missing: {}",
        missing.join(", ")
    ))
}

fn only_static(ops: &[Op]) -> bool {
    !ops.is_empty() && ops.iter().all(Op::is_static)
}

fn static_only_with_clustering(kind: Kind) -> ErrorResponse {
    invalid(format!(
        "Invalid restrictions on clustering columns since the {} statement modifies only static columns",
        kind.name()
    ))
}

fn insert(
    schema: &Schema,
    session_keyspace: Option<&str>,
    stmt: &ast::Insert,
    markers: &mut Markers,
) -> Result<WritePlan, ErrorResponse> {
    let table = writable_table(schema, session_keyspace, &stmt.table)?;
    if stmt.if_not_exists {
        return Err(conditional());
    }
    let ast::InsertValues::Columns { columns, values } = &stmt.values else {
        return Err(invalid("INSERT JSON is not supported"));
    };
    if columns.len() != values.len() {
        return Err(invalid("Unmatched column names/values"));
    }
    let mut seen = HashSet::new();
    if !columns.iter().all(|c| seen.insert(c)) {
        return Err(invalid("The column names contains duplicates"));
    }
    let mut keys = KeyBuilder::new(&table, Kind::Insert);
    let mut ops = Vec::new();
    for (name, term) in columns.iter().zip(values) {
        let column = table
            .column(name)
            .ok_or_else(|| invalid(format!("Undefined column name {name}")))?;
        match column.kind {
            ColumnKind::PartitionKey | ColumnKind::Clustering => keys.eq(column, term, markers)?,
            ColumnKind::Static | ColumnKind::Regular => {
                ops.push(Op::insert(&table, column, term, markers)?);
            }
        }
    }
    let attrs = Attributes::prepare(&stmt.using, &table.keyspace, &table.name, markers)?;
    let keys = keys.finish()?;
    let static_row_only = only_static(&ops) && !keys.restricts_clustering();
    if !keys.is_full_row() && !static_row_only {
        return Err(missing_clustering(&table, &keys));
    }
    plan(table, Kind::Insert, keys, ops, attrs)
}

fn update(
    schema: &Schema,
    session_keyspace: Option<&str>,
    stmt: &ast::Update,
    markers: &mut Markers,
) -> Result<WritePlan, ErrorResponse> {
    let table = writable_table(schema, session_keyspace, &stmt.table)?;
    if stmt.condition.is_some() {
        return Err(conditional());
    }
    let attrs = Attributes::prepare(&stmt.using, &table.keyspace, &table.name, markers)?;
    let ops = stmt
        .assignments
        .iter()
        .map(|a| Op::assignment(&table, a, markers))
        .collect::<Result<Vec<_>, _>>()?;
    check_compatible(&ops)?;
    let keys = where_clause(&table, Kind::Update, &stmt.where_clause, markers)?;
    if only_static(&ops) {
        if keys.restricts_clustering() {
            return Err(static_only_with_clustering(Kind::Update));
        }
    } else if !keys.is_full_row() {
        return Err(missing_clustering(&table, &keys));
    }
    plan(table, Kind::Update, keys, ops, attrs)
}

fn delete(
    schema: &Schema,
    session_keyspace: Option<&str>,
    stmt: &ast::Delete,
    markers: &mut Markers,
) -> Result<WritePlan, ErrorResponse> {
    let table = writable_table(schema, session_keyspace, &stmt.table)?;
    if stmt.condition.is_some() {
        return Err(conditional());
    }
    let ops = stmt
        .targets
        .iter()
        .map(|t| Op::deletion(&table, t, markers))
        .collect::<Result<Vec<_>, _>>()?;
    check_compatible(&ops)?;
    let attrs = Attributes::prepare(&stmt.using, &table.keyspace, &table.name, markers)?;
    if attrs.has_ttl() {
        return Err(invalid(
            "TTL attribute is not allowed for DELETE statements",
        ));
    }
    let keys = where_clause(&table, Kind::Delete, &stmt.where_clause, markers)?;
    if only_static(&ops) {
        if keys.restricts_clustering() {
            return Err(static_only_with_clustering(Kind::Delete));
        }
    } else if !ops.is_empty() && !keys.is_full_row() {
        return Err(invalid(
            "Range deletions are not supported for specific columns",
        ));
    }
    plan(table, Kind::Delete, keys, ops, attrs)
}

fn where_clause(
    table: &TableDef,
    kind: Kind,
    relations: &[ast::Relation],
    markers: &mut Markers,
) -> Result<Keys, ErrorResponse> {
    let mut keys = KeyBuilder::new(table, kind);
    for relation in relations {
        keys.relation(relation, markers)?;
    }
    keys.finish()
}

/// A column replaced whole cannot also be changed element-wise (or twice) by
/// the same statement: which would win is not well defined.
fn check_compatible(ops: &[Op]) -> Result<(), ErrorResponse> {
    for (i, op) in ops.iter().enumerate() {
        let clash = ops[..i].iter().any(|o| {
            o.column().id == op.column().id && (o.is_whole_column() || op.is_whole_column())
        });
        if clash {
            return Err(invalid(format!(
                "Multiple incompatible setting of column {}",
                op.column().name
            )));
        }
    }
    Ok(())
}
