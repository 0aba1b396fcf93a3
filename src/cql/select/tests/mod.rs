//! Tests of SELECT: restriction analysis, slices, and end-to-end reads through an
//! in-memory engine and the local coordinator.

mod e2e;
mod paging_props;
mod restrictions;
mod slices;

use std::collections::BTreeMap;
use std::sync::Arc;

use cql_lite::ast;
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::{ErrorKind, ErrorResponse};
use storage::ColumnId;

use super::SelectPlan;
use crate::cql::bind::Markers;
use crate::schema::{
    ColumnDef, ColumnKind, KeyspaceDef, Replication, Schema, TableDef, TableParams,
};

/// A column for [`table`]: name, type, kind, clustering order.
pub(super) type Col<'a> = (&'a str, CqlType, ColumnKind, Order);

pub(super) fn pk(name: &str, ty: CqlType) -> Col<'_> {
    (name, ty, ColumnKind::PartitionKey, Order::Asc)
}

pub(super) fn ck(name: &str, ty: CqlType, order: Order) -> Col<'_> {
    (name, ty, ColumnKind::Clustering, order)
}

pub(super) fn regular(name: &str, ty: CqlType) -> Col<'_> {
    (name, ty, ColumnKind::Regular, Order::Asc)
}

pub(super) fn stat(name: &str, ty: CqlType) -> Col<'_> {
    (name, ty, ColumnKind::Static, Order::Asc)
}

/// A table `ks.<name>` with columns in schema order (pk, ck, then others by name).
pub(super) fn table(name: &str, cols: &[Col<'_>]) -> Arc<TableDef> {
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut positions: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (n, ty, kind, order)) in cols.iter().enumerate() {
        let slot = match kind {
            ColumnKind::PartitionKey => "pk",
            ColumnKind::Clustering => "ck",
            _ => "other",
        };
        let position = positions.entry(slot).or_default();
        columns.push(ColumnDef {
            name: (*n).to_owned(),
            ty: ty.clone(),
            kind: *kind,
            position: if slot == "other" { 0 } else { *position },
            order: *order,
            id: ColumnId(i as u32),
            added_at: 0,
        });
        *position += 1;
    }
    let rank = |c: &ColumnDef| match c.kind {
        ColumnKind::PartitionKey => (0, c.position, String::new()),
        ColumnKind::Clustering => (1, c.position, String::new()),
        _ => (2, 0, c.name.clone()),
    };
    columns.sort_by_key(rank);
    let mut id = [0u8; 16];
    for (i, b) in name.bytes().enumerate().take(16) {
        id[i] = b;
    }
    Arc::new(TableDef {
        keyspace: "ks".into(),
        name: name.into(),
        id,
        next_column_id: cols.len() as u32,
        columns,
        dropped: Vec::new(),
        params: TableParams::default(),
        is_virtual: false,
        generation: 0,
        created_at: 0,
        altered_at: 0,
    })
}

/// A schema with keyspace `ks` holding `tables`.
pub(super) fn schema(tables: &[Arc<TableDef>]) -> Schema {
    let mut s = Schema::default();
    s.keyspaces.insert(
        "ks".into(),
        KeyspaceDef {
            name: "ks".into(),
            replication: Replication::Simple {
                replication_factor: 1,
            },
            durable_writes: true,
            tables: tables
                .iter()
                .map(|t| (t.name.clone(), Arc::clone(t)))
                .collect(),
            generation: 0,
            created_at: 0,
            altered_at: 0,
            dropped_tables: Default::default(),
        },
    );
    s
}

/// The standard test table: `k int, c1 int ASC, c2 int DESC, s int static, v int, m map<text,int>, l list<int>`.
pub(super) fn wide() -> Arc<TableDef> {
    table(
        "t",
        &[
            pk("k", CqlType::Int),
            ck("c1", CqlType::Int, Order::Asc),
            ck("c2", CqlType::Int, Order::Desc),
            stat("s", CqlType::Int),
            regular("v", CqlType::Int),
            regular("m", CqlType::map(CqlType::Text, CqlType::Int, false)),
            regular("l", CqlType::list(CqlType::Int, false)),
        ],
    )
}

pub(super) fn parse_select(cql: &str) -> ast::Select {
    match cql_lite::parse(cql) {
        Ok(ast::Statement::Select(s)) => s,
        other => panic!("not a select: {other:?}"),
    }
}

/// Prepares `cql` against `schema` with session keyspace `ks`.
pub(super) fn prepare(schema: &Schema, cql: &str) -> Result<(SelectPlan, Markers), ErrorResponse> {
    let mut markers = Markers::default();
    let plan = SelectPlan::prepare(schema, Some("ks"), &parse_select(cql), &mut markers)?;
    Ok((plan, markers))
}

/// The Invalid message preparing `cql` gives.
pub(super) fn rejection(schema: &Schema, cql: &str) -> String {
    match prepare(schema, cql) {
        Ok(_) => panic!("{cql} was accepted"),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Invalid, "{cql}: {e:?}");
            e.message
        }
    }
}
