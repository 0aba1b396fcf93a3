//! Merging two nodes' schemas into one, the same on every node.
//!
//! DDL runs on whichever node a client talks to; nodes then exchange schemas
//! and [`merge`] them. `merge` is commutative, associative and idempotent over
//! schemas DDL produced, so nodes that have seen the same changes hold equal
//! schemas (and equal `schema_version`s) whatever order they merged them in.
//! It is a join: every rule below keeps the greater of two facts in a total
//! order, or unions facts, and nothing a merge discards can matter again.
//!
//! All times are DDL timestamps (µs), which `ddl::apply` keeps causal: a change
//! is always stamped after every time the schema it applied to holds, so only
//! changes that did not see each other (concurrent DDL) need a rule:
//!
//! - **Keyspaces, by name and generation.** Each incarnation of a name has a
//!   generation: 0, then one more than the generation its CREATE saw dropped.
//!   A keyspace tombstone (the latest generation dropped, and when) kills that
//!   generation and every earlier one; a re-create, one generation later,
//!   beats it. Of two live incarnations the greater generation wins whole (the
//!   other is dead anyway: the tombstone that allowed the greater one came
//!   with it). Incarnations of one generation are concurrent CREATEs of the
//!   same keyspace (or one CREATE seen twice) and are united: options from the
//!   later `altered_at` (ties broken by the options' canonical bytes), the
//!   later `created_at`, tables merged name by name, table tombstones unioned.
//!   So two nodes running `CREATE KEYSPACE IF NOT EXISTS` and then creating
//!   tables in it lose nothing. A DROP concurrent with a CREATE of the same
//!   generation (on a node that had not seen the keyspace) kills it.
//! - **Tables, by name inside a keyspace.** Table ids are derived from the
//!   keyspace and its generation, the name, the table's generation and its
//!   columns (`ddl`), so concurrent CREATEs of one definition make one id:
//!   views of one id are one table, merged as below. A table tombstone records
//!   the id, generation and `created_at` of the table a DROP removed, and
//!   kills that id. Live tables and tombstones race on `(generation, id)`,
//!   the same for every view of a table: the greatest wins everywhere, so of
//!   two tables created concurrently under one name with different columns
//!   (different ids) one survives and the other's data is orphaned; if the
//!   greatest is a tombstone, the name has no table (a table that lost the
//!   race stays lost after the winner is dropped). A re-create after a DROP has a greater
//!   generation, so it wins, with a new id: a node that still holds the old
//!   table loses it to the tombstone, and nothing of the old id reaches the new
//!   table. Columns of tables with different ids never mix.
//! - **Columns, by id inside a table.** Dropped columns are unioned (the
//!   later `dropped_at` kept) and a dropped id stays dropped. Definitions of
//!   one id are merged by the later `added_at` (a RENAME of a key column sets
//!   it), ties broken by their canonical bytes. Two nodes that ran `ADD`
//!   concurrently may have handed the same id to *different* columns (another
//!   name or type); cells of one cannot be read as the other, so such an id
//!   is dropped for good ([`POISONED`]) and the column must be added again.
//!   `next_column_id` is the maximum, so no id is ever reused.
//! - **Table options** come from the later `altered_at`, ties broken by bytes.
//!
//! Table tombstones are kept until [`purge`] removes those older than a
//! horizon, except the greatest generation of each name, which keeps the next
//! CREATE's generation (and id) new; keyspace tombstones are never purged.
//! The risk: a node that missed a table DROP for longer than the horizon
//! (down, or partitioned) still holds the dropped table, and merging its
//! schema brings it back on every node. Keep the horizon well above any outage.
//!
//! One case is resolved but not guaranteed order-independent: a key column
//! RENAMEd to a name that another node concurrently ADDed as a value column;
//! the value column is dropped. System keyspaces are never merged: the result
//! holds user keyspaces only.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cql_lite::types::CqlType;
use storage::ColumnId;

use super::codec::{encode_column, encode_keyspace_params, encode_params, type_bytes};
use super::system_keyspaces::is_system;
use super::{
    ColumnDef, ColumnKind, DroppedColumn, KeyspaceDef, KeyspaceTombstone, POISONED, Schema,
    TableDef, TableTombstone, sort_columns,
};

/// Table tombstones of one keyspace, by table name and id.
type Tombstones = BTreeMap<(String, [u8; 16]), TableTombstone>;

/// The schema that holds what `a` and `b` both know (user keyspaces only).
pub(crate) fn merge(a: &Schema, b: &Schema) -> Schema {
    let mut out = Schema::default();
    let names: BTreeSet<&String> = a
        .keyspaces
        .keys()
        .chain(b.keyspaces.keys())
        .chain(a.dropped_keyspaces.keys())
        .chain(b.dropped_keyspaces.keys())
        .filter(|name| !is_system(name))
        .collect();
    for name in names {
        let dropped = a
            .dropped_keyspaces
            .get(name)
            .into_iter()
            .chain(b.dropped_keyspaces.get(name))
            .copied()
            .reduce(KeyspaceTombstone::join);
        if let Some(t) = dropped {
            out.dropped_keyspaces.insert(name.clone(), t);
        }
        let alive = |k: &&KeyspaceDef| dropped.is_none_or(|t| k.generation > t.generation);
        let (x, y) = (
            a.keyspaces.get(name).filter(alive),
            b.keyspaces.get(name).filter(alive),
        );
        let keyspace = match (x, y) {
            (Some(x), Some(y)) => match x.generation.cmp(&y.generation) {
                Ordering::Greater => merge_keyspace(name, x, x),
                Ordering::Less => merge_keyspace(name, y, y),
                Ordering::Equal => merge_keyspace(name, x, y),
            },
            (Some(k), None) | (None, Some(k)) => merge_keyspace(name, k, k),
            (None, None) => continue,
        };
        out.keyspaces.insert(name.clone(), keyspace);
    }
    out
}

/// Removes the table tombstones dropped before `before_micros`, but never a
/// name's greatest generation; whether any was. Keyspace tombstones stay. See
/// the module doc for the risk this takes.
pub(crate) fn purge(schema: &mut Schema, before_micros: i64) -> bool {
    let mut purged = false;
    for keyspace in schema.keyspaces.values_mut() {
        let mut newest: BTreeMap<String, (u32, [u8; 16])> = BTreeMap::new();
        for t in keyspace.dropped_tables.values() {
            let slot = newest.entry(t.name.clone()).or_insert((t.generation, t.id));
            *slot = (*slot).max((t.generation, t.id));
        }
        let before = keyspace.dropped_tables.len();
        keyspace.dropped_tables.retain(|_, t| {
            t.dropped_at >= before_micros || newest.get(&t.name) == Some(&(t.generation, t.id))
        });
        purged |= keyspace.dropped_tables.len() != before;
    }
    purged
}

/// Two views of one keyspace incarnation (the same generation), merged.
fn merge_keyspace(name: &str, x: &KeyspaceDef, y: &KeyspaceDef) -> KeyspaceDef {
    let options = |k: &KeyspaceDef| {
        let mut bytes = Vec::new();
        encode_keyspace_params(k, &mut bytes);
        (k.altered_at, bytes)
    };
    let latest = if options(x) >= options(y) { x } else { y };
    let mut tombstones: Tombstones = x.dropped_tables.clone();
    for (key, t) in &y.dropped_tables {
        tombstones
            .entry(key.clone())
            .and_modify(|old| {
                old.generation = old.generation.max(t.generation);
                old.created_at = old.created_at.max(t.created_at);
                old.dropped_at = old.dropped_at.max(t.dropped_at);
            })
            .or_insert_with(|| t.clone());
    }
    let table_names: BTreeSet<&String> = x
        .tables
        .keys()
        .chain(y.tables.keys())
        .chain(tombstones.keys().map(|(n, _)| n))
        .collect();
    let mut tables = BTreeMap::new();
    for table in table_names {
        let winner = merge_table_name(
            name,
            table,
            x.tables.get(table),
            y.tables.get(table),
            &tombstones,
        );
        if let Some(t) = winner {
            tables.insert(table.clone(), t);
        }
    }
    KeyspaceDef {
        name: name.to_owned(),
        replication: latest.replication.clone(),
        durable_writes: latest.durable_writes,
        tables,
        generation: x.generation,
        created_at: x.created_at.max(y.created_at),
        altered_at: latest.altered_at,
        dropped_tables: tombstones,
    }
}

/// The table that holds the name `table` after the create race, if any.
fn merge_table_name(
    keyspace: &str,
    table: &str,
    x: Option<&Arc<TableDef>>,
    y: Option<&Arc<TableDef>>,
    tombstones: &Tombstones,
) -> Option<Arc<TableDef>> {
    // The race key is the same for every view of a table: views of one id
    // differ in `created_at` (one CREATE run on several nodes), and a key
    // that differed would let a view that lost a race come back in a later
    // merge, without what the earlier merge discarded.
    let key = |t: &TableDef| (t.generation, t.id);
    let candidates: Vec<TableDef> = match (x, y) {
        (Some(x), Some(y)) if x.id == y.id => vec![merge_table(keyspace, table, x, y)],
        _ => x
            .into_iter()
            .chain(y)
            .map(|t| merge_table(keyspace, table, t, t))
            .collect(),
    };
    let of_name = tombstones
        .iter()
        .filter(|((name, _), _)| name == table)
        .map(|(_, t)| t);
    // Ids are never reused (derived ids carry the generation; random ones
    // are random), so a tombstone of an id kills every view of it, whenever
    // each view says it was created.
    let killed = |t: &TableDef| of_name.clone().any(|d| d.id == t.id);
    let best_dead = of_name.clone().map(|d| (d.generation, d.id)).max();
    let best = candidates
        .into_iter()
        .filter(|t| !killed(t))
        .max_by_key(|t| key(t))?;
    if best_dead.is_some_and(|dead| dead > key(&best)) {
        return None;
    }
    Some(Arc::new(best))
}

/// Two views of one table (the same id: one CREATE, made on one or more
/// nodes), merged.
fn merge_table(keyspace: &str, name: &str, x: &TableDef, y: &TableDef) -> TableDef {
    let params = |t: &TableDef| {
        let mut bytes = Vec::new();
        encode_params(&t.params, &mut bytes);
        (t.altered_at, bytes)
    };
    let latest = if params(x) >= params(y) { x } else { y };
    let (columns, dropped) = merge_columns(x, y);
    let highest = columns
        .iter()
        .map(|c| c.id.0)
        .chain(dropped.iter().map(|d| d.id.0))
        .max()
        .map_or(0, |id| id.saturating_add(1));
    TableDef {
        keyspace: keyspace.to_owned(),
        name: name.to_owned(),
        id: x.id,
        generation: x.generation.max(y.generation),
        columns,
        next_column_id: x.next_column_id.max(y.next_column_id).max(highest),
        dropped,
        params: latest.params.clone(),
        is_virtual: false,
        created_at: x.created_at.max(y.created_at),
        altered_at: latest.altered_at,
    }
}

/// What may share a column id: definitions of one column. Key columns may be
/// renamed, so their class ignores the name; value columns' includes it.
fn class(kind: Option<ColumnKind>, name: &str, ty: &[u8]) -> (u8, String, Vec<u8>) {
    match kind {
        Some(ColumnKind::PartitionKey) => (0, String::new(), ty.to_vec()),
        Some(ColumnKind::Clustering) => (1, String::new(), ty.to_vec()),
        _ => (2, name.to_owned(), ty.to_vec()),
    }
}

fn column_bytes(c: &ColumnDef) -> Vec<u8> {
    let mut out = Vec::new();
    encode_column(c, &mut out);
    out
}

/// The live and dropped columns of two views of one table.
fn merge_columns(x: &TableDef, y: &TableDef) -> (Vec<ColumnDef>, Vec<DroppedColumn>) {
    let mut live: BTreeMap<u32, Vec<&ColumnDef>> = BTreeMap::new();
    let mut gone: BTreeMap<u32, Vec<&DroppedColumn>> = BTreeMap::new();
    for c in x.columns.iter().chain(&y.columns) {
        live.entry(c.id.0).or_default().push(c);
    }
    for d in x.dropped.iter().chain(&y.dropped) {
        gone.entry(d.id.0).or_default().push(d);
    }
    let ids: BTreeSet<u32> = live.keys().chain(gone.keys()).copied().collect();
    let (mut columns, mut dropped) = (Vec::new(), Vec::new());
    for id in ids {
        let defs = live.remove(&id).unwrap_or_default();
        let drops = gone.remove(&id).unwrap_or_default();
        match merge_column(id, &defs, &drops) {
            Ok(c) => columns.push(c),
            Err(d) => dropped.push(d),
        }
    }
    resolve_name_clashes(&mut columns, &mut dropped);
    sort_columns(&mut columns);
    dropped.sort_by_key(|d| d.id);
    (columns, dropped)
}

/// One column id's facts merged: the live definition, or the drop.
fn merge_column(
    id: u32,
    defs: &[&ColumnDef],
    drops: &[&DroppedColumn],
) -> Result<ColumnDef, DroppedColumn> {
    let classes: BTreeSet<_> = defs
        .iter()
        .map(|c| class(Some(c.kind), &c.name, &type_bytes(&c.ty)))
        .chain(
            drops
                .iter()
                .map(|d| class(None, &d.name, &type_bytes(&d.ty))),
        )
        .collect();
    let poisoned = classes.len() > 1 || drops.iter().any(|d| d.dropped_at == POISONED);
    let best = defs
        .iter()
        .max_by(|a, b| (a.added_at, column_bytes(a)).cmp(&(b.added_at, column_bytes(b))));
    match (best, poisoned || !drops.is_empty()) {
        (Some(c), false) => Ok((*c).clone()),
        _ => {
            // The name and type shown for the drop: the greatest, whichever side.
            let (name, _, ty) = defs
                .iter()
                .map(|c| (c.name.clone(), type_bytes(&c.ty), c.ty.clone()))
                .chain(
                    drops
                        .iter()
                        .map(|d| (d.name.clone(), type_bytes(&d.ty), d.ty.clone())),
                )
                .max_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)))
                .unwrap_or((String::new(), Vec::new(), CqlType::Int));
            let latest = drops.iter().map(|d| d.dropped_at).max();
            Err(DroppedColumn {
                name,
                ty,
                id: ColumnId(id),
                dropped_at: if poisoned {
                    POISONED
                } else {
                    latest.unwrap_or(POISONED)
                },
            })
        }
    }
}

/// Live columns must have distinct names. Only a key column RENAMEd to a name
/// another node used concurrently can clash. A value column that clashes is
/// dropped; a key column cannot be, so it keeps its id as a name suffix.
fn resolve_name_clashes(columns: &mut Vec<ColumnDef>, dropped: &mut Vec<DroppedColumn>) {
    let is_key =
        |c: &ColumnDef| matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering);
    // Per name, the column that keeps it: a key column, else the greatest id.
    let mut keeper: BTreeMap<String, (bool, u32)> = BTreeMap::new();
    for c in columns.iter() {
        let rank = (is_key(c), c.id.0);
        let slot = keeper.entry(c.name.clone()).or_insert(rank);
        *slot = (*slot).max(rank);
    }
    let mut kept = Vec::with_capacity(columns.len());
    for mut c in columns.drain(..) {
        if keeper.get(&c.name).is_some_and(|(_, id)| *id == c.id.0) {
            kept.push(c);
        } else if is_key(&c) {
            c.name = format!("{}_{}", c.name, c.id.0);
            kept.push(c);
        } else {
            dropped.push(DroppedColumn {
                name: c.name,
                ty: c.ty,
                id: c.id,
                dropped_at: POISONED,
            });
        }
    }
    *columns = kept;
}

#[cfg(test)]
mod tests;
