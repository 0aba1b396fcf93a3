//! The schema catalog service: the node's current schema, changed one DDL
//! statement at a time, kept durable and in step with the storage engine.
//!
//! DDL is serialised by an async mutex. Each statement computes the next
//! schema with the pure `ddl::apply`, then (off the async threads) creates the
//! storage tables it adds, saves the catalog, applies option changes and drops
//! the tables it removes, and only then publishes the new snapshot and
//! announces the change to subscribers. Readers take a cheap `Arc` snapshot.
//!
//! Crash safety: a table's storage exists before any saved catalog names it,
//! and is dropped only after the catalog stops naming it. Reopening creates any
//! storage table the catalog names but the engine lacks and re-applies options,
//! so an ALTER interrupted after the save completes at the next start; a table
//! orphaned by a crash between its drop and its storage removal is only
//! reported (its id is never reused, so its data cannot resurface).
//!
//! Schemas from other nodes arrive through [`SchemaService::merge_remote`],
//! which merges them (`merge`) under the same lock as DDL, so a statement and
//! a merge never interleave. Every commit also purges table tombstones older
//! than the tombstone horizon (10 days unless set; a name's newest tombstone
//! stays), bounding the catalog; see `merge`
//! for what a node offline longer than that risks. The horizon is measured
//! back from the latest timestamp the schema holds, not from the wall clock:
//! the purge is then a function of the schema alone, identical on nodes with
//! equal schemas, and it only ever purges later than a wall-clock horizon would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cql_lite::ast::Statement;
use cql_lite::{ErrorResponse, SchemaChange};
use storage::FileSystem;
use storage::TableOptions;
use storage::{Engine, TableId};
use tokio::sync::broadcast;

use super::changes::changes;
use super::codec;
use super::ddl::{self, DdlContext, DerivedIds, storage_options};
use super::merge::{merge, purge};
use super::persist::{self, PersistError};
use super::system_keyspaces::with_system;
use super::version::schema_version;
use super::{Schema, TableDef};
use cql_lite::errors::server;

/// How many schema events a slow subscriber may fall behind before it misses some.
const EVENT_BACKLOG: usize = 256;
/// How long tombstones of dropped keyspaces and tables are kept by default:
/// Cassandra's default `gc_grace_seconds`, the same bet on outage length.
pub(crate) const DEFAULT_TOMBSTONE_HORIZON: Duration = Duration::from_secs(864_000);

/// Why the catalog could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The catalog file could not be read or is corrupt.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// A table's storage could not be created or configured.
    #[error("table {keyspace}.{table}: {message}")]
    Storage {
        /// The table's keyspace.
        keyspace: String,
        /// The table.
        table: String,
        /// What failed.
        message: String,
    },
}

/// The schema with its version, swapped together.
#[derive(Debug, Clone)]
struct Snapshot {
    schema: Arc<Schema>,
    version: [u8; 16],
}

/// The node's schema catalog.
#[derive(Debug)]
pub struct SchemaService {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    engine: Arc<Engine>,
    data_centers: Vec<String>,
    tombstone_horizon_micros: i64,
    snapshot: RwLock<Snapshot>,
    ddl: tokio::sync::Mutex<()>,
    events: broadcast::Sender<SchemaChange>,
}

/// What the storage engine must do to follow a schema change.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StorageDiff {
    /// Tables to create, with their options.
    pub create: Vec<(TableId, TableOptions)>,
    /// Tables whose options changed.
    pub alter: Vec<(TableId, TableOptions)>,
    /// Tables to drop.
    pub drop: Vec<TableId>,
}

fn stored_tables(schema: &Schema) -> BTreeMap<TableId, &TableDef> {
    schema
        .keyspaces
        .values()
        .flat_map(|k| k.tables.values())
        .filter(|t| !t.is_virtual)
        .map(|t| (t.table_id(), &**t))
        .collect()
}

/// The storage work that takes `old` to `new` (stored tables only).
pub(crate) fn storage_diff(old: &Schema, new: &Schema) -> Result<StorageDiff, ErrorResponse> {
    let (before, after) = (stored_tables(old), stored_tables(new));
    let mut diff = StorageDiff::default();
    for (id, table) in &after {
        match before.get(id) {
            None => diff.create.push((*id, storage_options(&table.params)?)),
            Some(old) if old.params != table.params => {
                diff.alter.push((*id, storage_options(&table.params)?));
            }
            Some(_) => {}
        }
    }
    diff.drop = before
        .keys()
        .filter(|id| !after.contains_key(id))
        .copied()
        .collect();
    Ok(diff)
}

impl SchemaService {
    /// Loads the catalog under `data_dir/schema` (an empty one on first start)
    /// and makes sure every table it names exists in `engine` with its options.
    /// `data_centers` are the data centers NetworkTopologyStrategy's
    /// `replication_factor` shorthand expands to.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        data_dir: &Path,
        engine: Arc<Engine>,
        data_centers: Vec<String>,
    ) -> Result<Self, OpenError> {
        let dir = data_dir.join("schema");
        let user = persist::load(fs.as_ref(), &dir)?.unwrap_or_default();
        let schema = with_system(user);
        reconcile(&engine, &schema)?;
        let version = schema_version(&schema);
        Ok(SchemaService {
            fs,
            dir,
            engine,
            data_centers,
            tombstone_horizon_micros: micros(DEFAULT_TOMBSTONE_HORIZON),
            snapshot: RwLock::new(Snapshot {
                schema: Arc::new(schema),
                version,
            }),
            ddl: tokio::sync::Mutex::new(()),
            events: broadcast::channel(EVENT_BACKLOG).0,
        })
    }

    /// Keeps tombstones of dropped keyspaces and tables for `horizon` instead
    /// of [`DEFAULT_TOMBSTONE_HORIZON`]. A node that misses a DROP for longer
    /// (down or partitioned) can bring the dropped object back when it returns.
    pub fn with_tombstone_horizon(mut self, horizon: Duration) -> Self {
        self.tombstone_horizon_micros = micros(horizon);
        self
    }

    /// The current schema (system keyspaces included).
    pub fn current(&self) -> Arc<Schema> {
        self.read().schema
    }

    /// The current schema version (what `system.local.schema_version` shows).
    pub fn version(&self) -> [u8; 16] {
        self.read().version
    }

    fn read(&self) -> Snapshot {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Schema changes as they are committed, for EVENT SCHEMA_CHANGE pushes.
    pub fn subscribe(&self) -> broadcast::Receiver<SchemaChange> {
        self.events.subscribe()
    }

    /// Runs one DDL statement: returns the change to put in the RESULT, or
    /// `None` when it changed nothing.
    pub async fn execute(
        &self,
        stmt: &Statement,
        session_keyspace: Option<&str>,
        timestamp_micros: i64,
    ) -> Result<Option<SchemaChange>, ErrorResponse> {
        let _serialised = self.ddl.lock().await;
        let old = self.current();
        let ctx = DdlContext {
            session_keyspace,
            timestamp_micros,
            data_centers: &self.data_centers,
        };
        let Some(mut change) = ddl::apply(&old, stmt, &ctx, &mut DerivedIds)? else {
            return Ok(None);
        };
        self.purge(&mut change.schema);
        self.commit(&old, change.schema).await?;
        // No subscriber is not an error: events are best effort.
        let _ = self.events.send(change.event.clone());
        Ok(Some(change.event))
    }

    /// Replaces the user keyspaces with `user` (a schema received from another
    /// node); system keyspaces are kept. No event is sent: the caller knows
    /// what changed.
    pub async fn replace(&self, user: Schema) -> Result<(), ErrorResponse> {
        let _serialised = self.ddl.lock().await;
        let old = self.current();
        self.commit(&old, with_system(user)).await
    }

    /// Merges a schema another node holds (its user keyspaces, as
    /// [`decode_user_schema`](super::codec::decode_user_schema) returns them)
    /// into this node's: storage tables are created and dropped to match, the
    /// result is saved and published, and a SCHEMA_CHANGE event goes out for
    /// each keyspace and table that changed. Returns whether anything did.
    pub async fn merge_remote(&self, remote_user_schema: Schema) -> Result<bool, ErrorResponse> {
        let _serialised = self.ddl.lock().await;
        let old = self.current();
        let mut merged = merge(&old, &remote_user_schema);
        self.purge(&mut merged);
        let merged = with_system(merged);
        if merged == *old {
            return Ok(false);
        }
        let events = changes(&old, &merged);
        self.commit(&old, merged).await?;
        for event in events {
            // No subscriber is not an error: events are best effort.
            let _ = self.events.send(event);
        }
        Ok(true)
    }

    /// The user keyspaces, encoded to ship to another node.
    pub fn encode_user_schema(&self) -> Vec<u8> {
        codec::encode(&self.current())
    }

    /// A schema another node shipped ([`SchemaService::encode_user_schema`]'s
    /// bytes), checked as network input, ready for [`SchemaService::merge_remote`].
    pub fn decode_user_schema(bytes: &[u8]) -> Result<Schema, ErrorResponse> {
        codec::decode_user_schema(bytes)
            .map_err(|e| cql_lite::errors::server(format!("undecodable remote schema: {e}")))
    }

    /// Drops tombstones older than the horizon, measured back from the
    /// schema's latest timestamp.
    fn purge(&self, schema: &mut Schema) {
        let latest = ddl::latest_timestamp(schema);
        purge(schema, latest.saturating_sub(self.tombstone_horizon_micros));
    }

    /// Makes `new` durable and current, with storage following it.
    async fn commit(&self, old: &Schema, new: Schema) -> Result<(), ErrorResponse> {
        let diff = storage_diff(old, &new)?;
        let new = Arc::new(new);
        let (fs, dir, engine, saved) = (
            self.fs.clone(),
            self.dir.clone(),
            self.engine.clone(),
            new.clone(),
        );
        let started = std::time::Instant::now();
        ::cluster::blocking::run(move || apply_durably(fs.as_ref(), &dir, &engine, &saved, diff))
            .await
            .map_err(|e| server(format!("schema change task failed: {e}")))??;
        let took = started.elapsed();
        if took > SLOW_COMMIT {
            // Each change fsyncs a few files and directories; this says why
            // drivers waiting for schema agreement may time out.
            tracing::warn!(?took, "making a schema change durable was slow");
        }
        let version = schema_version(&new);
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Snapshot {
            schema: new,
            version,
        };
        Ok(())
    }
}

/// A schema change slower than this to make durable is logged.
const SLOW_COMMIT: Duration = Duration::from_secs(1);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Creates new tables, saves the catalog, then alters and drops. A failed save
/// undoes the creations, so a failed statement leaves no trace.
fn apply_durably(
    fs: &dyn FileSystem,
    dir: &Path,
    engine: &Engine,
    schema: &Schema,
    diff: StorageDiff,
) -> Result<(), ErrorResponse> {
    let mut created = Vec::new();
    for (id, options) in diff.create {
        if let Err(e) = engine.create_table(id, options) {
            undo(engine, &created);
            return Err(server(format!("creating the table's storage failed: {e}")));
        }
        created.push(id);
    }
    if let Err(e) = persist::save(fs, dir, schema) {
        undo(engine, &created);
        return Err(server(format!("saving the schema failed: {e}")));
    }
    for (id, options) in diff.alter {
        if let Err(e) = engine.alter_table(id, options) {
            // The catalog has the new options; the next start applies them.
            tracing::error!(table = ?id, error = %e, "altering a table's storage failed");
        }
    }
    for id in diff.drop {
        if let Err(e) = engine.drop_table(id) {
            tracing::error!(table = ?id, error = %e, "dropping a table's storage failed");
        }
    }
    Ok(())
}

fn undo(engine: &Engine, created: &[TableId]) {
    for id in created {
        if let Err(e) = engine.drop_table(*id) {
            tracing::error!(table = ?id, error = %e, "undoing a table creation failed");
        }
    }
}

/// Brings the engine in line with a loaded catalog.
fn reconcile(engine: &Engine, schema: &Schema) -> Result<(), OpenError> {
    let existing: std::collections::BTreeSet<TableId> = engine.tables().into_iter().collect();
    let tables = stored_tables(schema);
    for (id, table) in &tables {
        let fail = |message: String| OpenError::Storage {
            keyspace: table.keyspace.clone(),
            table: table.name.clone(),
            message,
        };
        let options = storage_options(&table.params).map_err(|e| fail(e.message))?;
        if !existing.contains(id) {
            engine
                .create_table(*id, options)
                .map_err(|e| fail(e.to_string()))?;
        } else if engine.table_options(*id).map_err(|e| fail(e.to_string()))? != options {
            engine
                .alter_table(*id, options)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    for id in existing.iter().filter(|id| !tables.contains_key(id)) {
        tracing::warn!(table = ?id, "storage holds a table the schema does not name");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
