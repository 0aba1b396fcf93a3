//! Pure schema transitions: a DDL statement turns one [`Schema`] into the next.
//!
//! Nothing here does I/O. [`apply`] checks a statement against a schema snapshot
//! and returns the new schema with the change to announce, or `None` when an
//! `IF [NOT] EXISTS` makes it a no-op. The service persists and publishes the
//! result; the cluster can ship the resulting schema to other nodes as is,
//! because table ids and column ids are chosen here, once.
//!
//! A table's id is derived, not drawn: a name-based uuid of the keyspace and
//! its generation, the table name and its generation, and the columns. Two
//! nodes that run the same CREATE without seeing each other (two clients
//! running one `CREATE TABLE IF NOT EXISTS` script) make the same id, so a
//! merge unites them and neither node's writes are orphaned. A re-create after
//! a DROP has a greater generation, so a new id: the dropped table's SSTables,
//! hints, commit-log records and in-flight mutations never land in it.
//!
//! Error codes and wording follow Cassandra 4: unknown keyspaces and tables are
//! 0x2200 ("Keyspace 'ks' doesn't exist", "Table 'ks.t' doesn't exist"), bad
//! option values 0x2300, unknown option names 0x2000, and the system keyspaces
//! are 0x2100 ("system keyspace is not user-modifiable.").

mod keyspace;
mod params;
mod table;
#[cfg(test)]
pub(crate) mod tests;

use cql_lite::ast::Statement;
use cql_lite::{ErrorKind, ErrorResponse, SchemaChange, SchemaChangeTarget, SchemaChangeType};

use super::Schema;
use super::system_keyspaces;

pub(crate) use params::storage_options;

/// Where fresh table ids come from: derived from what identifies the table
/// in production, counted in some tests.
pub(crate) trait IdSource {
    /// A new table id (a uuid) for the table `seed` identifies.
    fn table_id(&mut self, seed: &[u8]) -> [u8; 16];
}

/// Name-based (version 3) uuids of the seed: every node derives the same id
/// for the same CREATE of the same incarnation.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DerivedIds;

impl IdSource for DerivedIds {
    fn table_id(&mut self, seed: &[u8]) -> [u8; 16] {
        crate::uuids::name_uuid(seed)
    }
}

/// What a statement runs with besides the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DdlContext<'a> {
    /// The session's keyspace (`USE`), for unqualified table names.
    pub session_keyspace: Option<&'a str>,
    /// The statement's timestamp in µs; a dropped column remembers it.
    pub timestamp_micros: i64,
    /// The data centers the cluster knows: `NetworkTopologyStrategy`'s
    /// `replication_factor` shorthand expands to each of them.
    pub data_centers: &'a [String],
}

/// A schema change that happened: the new schema and what to tell clients.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// The schema after the statement.
    pub schema: Schema,
    /// The RESULT Schema_change / EVENT SCHEMA_CHANGE body.
    pub event: SchemaChange,
}

/// Applies a DDL statement to `schema`. `Ok(None)` means the schema did not
/// change (an `IF [NOT] EXISTS` no-op); any statement that is not DDL is refused.
pub(crate) fn apply(
    schema: &Schema,
    stmt: &Statement,
    ctx: &DdlContext<'_>,
    ids: &mut dyn IdSource,
) -> Result<Option<Change>, ErrorResponse> {
    // A change is stamped after everything the schema already holds, whatever
    // the node's clock says: a DROP then beats the CREATE it saw, and an ALTER
    // the ALTER it saw, even if that came from a node whose clock runs ahead.
    let ctx = &DdlContext {
        timestamp_micros: ctx
            .timestamp_micros
            .max(latest_timestamp(schema).saturating_add(1)),
        ..*ctx
    };
    let change = match stmt {
        Statement::CreateKeyspace(s) => keyspace::create(schema, s, ctx)?,
        Statement::AlterKeyspace(s) => keyspace::alter(schema, s, ctx)?,
        Statement::DropKeyspace(s) => keyspace::drop(schema, s, ctx)?,
        Statement::CreateTable(s) => table::create(schema, s, ctx, ids)?,
        Statement::AlterTable(s) => table::alter(schema, s, ctx)?,
        Statement::DropTable(s) => table::drop(schema, s, ctx)?,
        _ => {
            return Err(cql_lite::errors::server(
                "not a schema statement (CREATE, ALTER or DROP of a keyspace or table)",
            ));
        }
    };
    // Like Cassandra, a statement that leaves the schema as it was (ALTER to
    // the same options, ADD IF NOT EXISTS of existing columns) announces nothing.
    Ok(change.filter(|c| c.schema != *schema))
}

/// The latest timestamp the user keyspaces hold (created, altered, added,
/// dropped, tombstones); `i64::MIN` for none. Poisoned column ids do not count:
/// their `dropped_at` is a marker, not a time.
pub(crate) fn latest_timestamp(schema: &Schema) -> i64 {
    let mut latest = schema
        .dropped_keyspaces
        .values()
        .map(|t| t.dropped_at)
        .max()
        .unwrap_or(i64::MIN);
    let user = schema
        .keyspaces
        .values()
        .filter(|k| !system_keyspaces::is_system(&k.name));
    for keyspace in user {
        latest = latest.max(keyspace.created_at).max(keyspace.altered_at);
        for t in keyspace.dropped_tables.values() {
            latest = latest.max(t.created_at).max(t.dropped_at);
        }
        for table in keyspace.tables.values() {
            latest = latest.max(table.created_at).max(table.altered_at);
            let added = table.columns.iter().map(|c| c.added_at);
            let dropped = table.dropped.iter().map(|d| d.dropped_at);
            let all = added.chain(dropped.filter(|at| *at != super::POISONED));
            latest = latest.max(all.max().unwrap_or(i64::MIN));
        }
    }
    latest
}

/// A keyspace change event.
fn keyspace_event(change_type: SchemaChangeType, keyspace: &str) -> SchemaChange {
    SchemaChange {
        change_type,
        target: SchemaChangeTarget::Keyspace {
            keyspace: keyspace.to_owned(),
        },
    }
}

/// A table change event.
fn table_event(change_type: SchemaChangeType, keyspace: &str, table: &str) -> SchemaChange {
    SchemaChange {
        change_type,
        target: SchemaChangeTarget::Table {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
        },
    }
}

/// 0x2200 for a keyspace a DDL statement names that does not exist.
fn keyspace_missing(keyspace: &str) -> ErrorResponse {
    cql_lite::errors::invalid(format!("Keyspace '{keyspace}' doesn't exist"))
}

/// 0x2200 for a table a DDL statement names that does not exist.
fn table_missing(keyspace: &str, table: &str) -> ErrorResponse {
    cql_lite::errors::invalid(format!("Table '{keyspace}.{table}' doesn't exist"))
}

/// Refuses changes to the keyspaces the node owns (0x2100, as Cassandra does).
fn ensure_user_keyspace(keyspace: &str) -> Result<(), ErrorResponse> {
    if system_keyspaces::is_system(keyspace) {
        return Err(ErrorResponse::new(
            ErrorKind::Unauthorized,
            format!("{keyspace} keyspace is not user-modifiable."),
        ));
    }
    Ok(())
}

/// Cassandra's rule for keyspace and table names: 1 to 48 word characters.
fn check_name(what: &str, name: &str) -> Result<(), ErrorResponse> {
    let valid = !name.is_empty()
        && name.len() <= 48
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(cql_lite::errors::invalid(format!(
            "{what} name must not be empty, more than 48 characters long, or contain \
             non-alphanumeric-underscore characters (got '{name}')"
        )))
    }
}
