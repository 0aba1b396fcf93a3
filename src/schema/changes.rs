//! What changed between two schemas, as the SCHEMA_CHANGE events drivers
//! refresh their metadata on.
//!
//! A local DDL statement knows its one event; a schema merged from another node
//! may change many things at once, so the service announces the difference.
//! Events come in an order a driver can follow: keyspaces created before their
//! tables, tables dropped before their keyspace. A table whose id changed (a
//! create race lost, or a DROP and re-create) is announced dropped, then created.

use cql_lite::{SchemaChange, SchemaChangeTarget, SchemaChangeType};

use super::system_keyspaces::is_system;
use super::{KeyspaceDef, Schema};

/// The events that take a driver from `old` to `new` (user keyspaces only).
pub(crate) fn changes(old: &Schema, new: &Schema) -> Vec<SchemaChange> {
    let mut events = Vec::new();
    let user = |s: &Schema| {
        s.keyspaces
            .values()
            .filter(|k| !is_system(&k.name))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (before, after) = (user(old), user(new));
    let empty = |k: &KeyspaceDef| KeyspaceDef {
        tables: Default::default(),
        ..k.clone()
    };
    for k in &before {
        if new.keyspace(&k.name).is_none() {
            table_changes(k, &empty(k), &mut events);
            events.push(keyspace(SchemaChangeType::Dropped, &k.name));
        }
    }
    for k in &after {
        match old.keyspace(&k.name) {
            None => {
                events.push(keyspace(SchemaChangeType::Created, &k.name));
                table_changes(&empty(k), k, &mut events);
            }
            Some(o) => {
                if (&o.replication, o.durable_writes) != (&k.replication, k.durable_writes) {
                    events.push(keyspace(SchemaChangeType::Updated, &k.name));
                }
                table_changes(o, k, &mut events);
            }
        }
    }
    events
}

/// The table events between two versions of one keyspace.
fn table_changes(old: &KeyspaceDef, new: &KeyspaceDef, events: &mut Vec<SchemaChange>) {
    for (name, t) in &old.tables {
        match new.tables.get(name) {
            Some(n) if n.id == t.id => {
                if n != t {
                    events.push(table(SchemaChangeType::Updated, &old.name, name));
                }
            }
            Some(_) => {
                events.push(table(SchemaChangeType::Dropped, &old.name, name));
                events.push(table(SchemaChangeType::Created, &old.name, name));
            }
            None => events.push(table(SchemaChangeType::Dropped, &old.name, name)),
        }
    }
    for name in new.tables.keys() {
        if !old.tables.contains_key(name) {
            events.push(table(SchemaChangeType::Created, &new.name, name));
        }
    }
}

fn keyspace(change_type: SchemaChangeType, keyspace: &str) -> SchemaChange {
    SchemaChange {
        change_type,
        target: SchemaChangeTarget::Keyspace {
            keyspace: keyspace.to_owned(),
        },
    }
}

fn table(change_type: SchemaChangeType, keyspace: &str, table: &str) -> SchemaChange {
    SchemaChange {
        change_type,
        target: SchemaChangeTarget::Table {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
        },
    }
}
