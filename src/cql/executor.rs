//! The request dispatcher: QUERY, PREPARE, EXECUTE and BATCH in, RESULT or ERROR out.
//!
//! Every statement takes the same path: parse, prepare against the current schema
//! into a [`Plan`], then run the plan with the request's values. PREPARE keeps the
//! plan in a bounded cache; EXECUTE finds it again by id and re-prepares it from
//! its text if the schema changed since, so a plan never runs against a stale table.

use std::sync::Arc;

use cql_lite::ast::{self, BatchKind};
use cql_lite::{
    Batch, BatchQuery, BatchType, ColumnSpec, Columns, ErrorKind, ErrorResponse, Prepared,
    QueryParameters, QueryResult, RowsMetadata, Value, Values,
};

use crate::coordinator::Coordinator;
use crate::cql::bind::Markers;
use crate::cql::error::{invalid, syntax};
use crate::cql::prepared::{PreparedCache, statement_id};
use crate::cql::select::SelectPlan;
use crate::cql::write::{self, BatchPlan, WritePlan};
use crate::cql::{ExecContext, Guardrails, Outcome, Paging, TimeSource, resolve_keyspace};
use crate::schema::{Schema, SchemaService, SystemTables, TableDef};

/// A statement prepared against a schema.
#[derive(Debug)]
pub(crate) enum Plan {
    /// SELECT.
    Select(SelectPlan),
    /// INSERT, UPDATE or DELETE.
    Write(WritePlan),
    /// `BEGIN BATCH ... APPLY BATCH`.
    Batch(BatchPlan, BatchKind),
    /// `USE ks` (the keyspace exists).
    Use(String),
    /// `TRUNCATE t`.
    Truncate(Arc<TableDef>),
    /// CREATE, ALTER or DROP of a keyspace or table.
    Schema(ast::Statement),
    /// DESCRIBE.
    Describe(ast::Describe),
}

/// A plan with what it was prepared from.
#[derive(Debug)]
pub(crate) struct Statement {
    /// The query text.
    pub text: String,
    /// The session keyspace it was prepared with.
    pub keyspace: Option<String>,
    /// The plan.
    pub plan: Plan,
    /// Its bind markers.
    pub markers: Markers,
    /// The schema version the plan was checked against.
    pub schema_version: [u8; 16],
}

/// Executes CQL requests for every connection of the node.
#[derive(Debug)]
pub struct Executor {
    schema: Arc<SchemaService>,
    coordinator: Arc<dyn Coordinator>,
    system_tables: Arc<SystemTables>,
    time: Arc<dyn TimeSource>,
    guardrails: Guardrails,
    prepared: PreparedCache<Statement>,
}

/// What an [`Executor`] is built from.
#[derive(Debug)]
pub struct ExecutorParts {
    /// The catalog.
    pub schema: Arc<SchemaService>,
    /// Reads and writes.
    pub coordinator: Arc<dyn Coordinator>,
    /// System tables.
    pub system_tables: Arc<SystemTables>,
    /// Timestamps.
    pub time: Arc<dyn TimeSource>,
    /// Limits.
    pub guardrails: Guardrails,
    /// Prepared statements kept.
    pub prepared_capacity: usize,
}

impl Executor {
    /// An executor over its parts.
    pub fn new(parts: ExecutorParts) -> Self {
        Executor {
            schema: parts.schema,
            coordinator: parts.coordinator,
            system_tables: parts.system_tables,
            time: parts.time,
            guardrails: parts.guardrails,
            prepared: PreparedCache::new(parts.prepared_capacity),
        }
    }

    /// The catalog.
    pub fn schema(&self) -> &Arc<SchemaService> {
        &self.schema
    }

    /// QUERY: prepare and run once.
    pub async fn query(
        &self,
        keyspace: Option<&str>,
        text: &str,
        params: &QueryParameters,
    ) -> Result<Outcome, ErrorResponse> {
        let statement = self.prepare_statement(keyspace, text)?;
        let values = positional(&statement.markers, &params.values)?;
        self.run(&statement, keyspace, &values, params).await
    }

    /// PREPARE: prepare, cache, and describe markers and result columns.
    pub fn prepare(&self, keyspace: Option<&str>, text: &str) -> Result<Outcome, ErrorResponse> {
        let statement = self.prepare_statement(keyspace, text)?;
        let id = statement_id(keyspace, text);
        let prepared = describe_prepared(&statement, id);
        self.prepared.insert(id, Arc::new(statement));
        Ok(Outcome::new(QueryResult::Prepared(prepared)))
    }

    /// EXECUTE: run a cached statement, re-preparing it if the schema moved on.
    pub async fn execute(
        &self,
        id: &[u8],
        params: &QueryParameters,
    ) -> Result<Outcome, ErrorResponse> {
        let statement = self.lookup(id)?;
        let values = positional(&statement.markers, &params.values)?;
        self.run(&statement, statement.keyspace.as_deref(), &values, params)
            .await
    }

    /// BATCH: INSERT, UPDATE and DELETE statements, text or prepared, applied together.
    pub async fn batch(
        &self,
        keyspace: Option<&str>,
        batch: &Batch,
    ) -> Result<Outcome, ErrorResponse> {
        let mut statements = Vec::with_capacity(batch.statements.len());
        for s in &batch.statements {
            let statement = match &s.query {
                BatchQuery::Text(text) => Arc::new(self.prepare_statement(keyspace, text)?),
                BatchQuery::Prepared(id) => self.lookup(id)?,
            };
            if !matches!(statement.plan, Plan::Write(_)) {
                return Err(invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                ));
            }
            statements.push((statement, s.values.as_slice()));
        }
        let parts: Vec<(&WritePlan, &[Value])> = statements
            .iter()
            .filter_map(|(st, values)| match &st.plan {
                Plan::Write(plan) => Some((plan, *values)),
                _ => None,
            })
            .collect();
        let kind = match batch.batch_type {
            BatchType::Logged => BatchKind::Logged,
            BatchType::Unlogged => BatchKind::Unlogged,
            BatchType::Counter => BatchKind::Counter,
        };
        let schema = self.schema.current();
        let ctx = self.context(&schema, batch.consistency, batch.default_timestamp);
        write::execute_batch(&ctx, kind, &parts).await
    }

    fn lookup(&self, id: &[u8]) -> Result<Arc<Statement>, ErrorResponse> {
        let Some(statement) = self.prepared.get(id) else {
            return Err(ErrorResponse::new(
                ErrorKind::Unprepared {
                    id: bytes::Bytes::copy_from_slice(id),
                },
                format!(
                    "Prepared query with ID {} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)",
                    hex(id)
                ),
            ));
        };
        if statement.schema_version == self.schema.version() {
            return Ok(statement);
        }
        let fresh =
            Arc::new(self.prepare_statement(statement.keyspace.as_deref(), &statement.text)?);
        if let Ok(id) = id.try_into() {
            self.prepared.insert(id, Arc::clone(&fresh));
        }
        Ok(fresh)
    }

    fn prepare_statement(
        &self,
        keyspace: Option<&str>,
        text: &str,
    ) -> Result<Statement, ErrorResponse> {
        let ast = cql_lite::parse(text).map_err(|e| syntax(e.to_string()))?;
        let schema = self.schema.current();
        let schema_version = self.schema.version();
        let mut markers = Markers::default();
        let plan = plan(&schema, keyspace, ast, &mut markers)?;
        Ok(Statement {
            text: text.to_owned(),
            keyspace: keyspace.map(str::to_owned),
            plan,
            markers,
            schema_version,
        })
    }

    fn context<'a>(
        &'a self,
        schema: &'a Schema,
        consistency: cql_lite::Consistency,
        client_timestamp: Option<i64>,
    ) -> ExecContext<'a> {
        let now_micros = self.time.wall_micros();
        let timestamp = match client_timestamp {
            Some(ts) => {
                // A lead the guardrail refuses must not drag this node's clock,
                // and so every timestamp it gives later, ahead with it.
                if !self.guardrails.refuses_lead(ts.saturating_sub(now_micros)) {
                    self.time.observe(ts);
                }
                ts
            }
            None => self.time.write_timestamp(),
        };
        ExecContext {
            schema,
            coordinator: self.coordinator.as_ref(),
            virtual_tables: self.system_tables.as_ref(),
            consistency,
            timestamp,
            client_timestamp: client_timestamp.is_some(),
            now_micros,
            guardrails: &self.guardrails,
        }
    }

    async fn run(
        &self,
        statement: &Statement,
        keyspace: Option<&str>,
        values: &[Value],
        params: &QueryParameters,
    ) -> Result<Outcome, ErrorResponse> {
        let schema = self.schema.current();
        let ctx = self.context(&schema, params.consistency, params.default_timestamp);
        match &statement.plan {
            Plan::Select(plan) => {
                let paging = Paging {
                    page_size: params.page_size,
                    state: params.paging_state.clone(),
                    skip_metadata: params.skip_metadata,
                };
                plan.execute(&ctx, values, &paging).await
            }
            Plan::Write(plan) => write::execute(plan, &ctx, values).await,
            Plan::Batch(plan, kind) => {
                let parts: Vec<(&WritePlan, &[Value])> =
                    plan.parts().iter().map(|p| (p, values)).collect();
                write::execute_batch(&ctx, *kind, &parts).await
            }
            Plan::Use(name) => Ok(Outcome::new(QueryResult::SetKeyspace(name.clone()))),
            Plan::Truncate(table) => {
                // The node's clock, never a client's timestamp: it is past every
                // timestamp this node gave or saw, client ones included.
                let at = self.time.write_timestamp();
                self.coordinator.truncate(table.table_id(), at).await?;
                Ok(Outcome::new(QueryResult::Void))
            }
            Plan::Schema(ddl) => {
                // The change is timestamped like a write: guard its lead too.
                let warning = if ctx.client_timestamp {
                    self.guardrails
                        .check_timestamp_lead(ctx.timestamp, ctx.now_micros)?
                } else {
                    None
                };
                let change = self.schema.execute(ddl, keyspace, ctx.timestamp).await?;
                Ok(Outcome {
                    result: change.map_or(QueryResult::Void, QueryResult::SchemaChange),
                    warnings: warning.into_iter().collect(),
                })
            }
            Plan::Describe(describe) => {
                let rows =
                    crate::schema::describe(&schema, describe, keyspace, &self.system_tables)?;
                Ok(Outcome::new(QueryResult::Rows(rows)))
            }
        }
    }
}

/// Prepares a parsed statement.
fn plan(
    schema: &Schema,
    keyspace: Option<&str>,
    ast: ast::Statement,
    markers: &mut Markers,
) -> Result<Plan, ErrorResponse> {
    Ok(match ast {
        ast::Statement::Select(select) => {
            Plan::Select(SelectPlan::prepare(schema, keyspace, &select, markers)?)
        }
        stmt @ (ast::Statement::Insert(_)
        | ast::Statement::Update(_)
        | ast::Statement::Delete(_)) => {
            Plan::Write(WritePlan::prepare(schema, keyspace, &stmt, markers)?)
        }
        ast::Statement::Batch(batch) => Plan::Batch(
            BatchPlan::prepare(schema, keyspace, &batch, markers)?,
            batch.kind,
        ),
        ast::Statement::Use(name) => {
            if schema.keyspace(&name).is_none() {
                return Err(invalid(format!("Keyspace '{name}' does not exist")));
            }
            Plan::Use(name)
        }
        ast::Statement::Truncate(name) => {
            let ks = resolve_keyspace(name.keyspace.as_deref(), keyspace)?;
            let table = schema
                .table(ks, &name.name)
                .ok_or_else(|| crate::cql::error::unconfigured_table(&name.name))?;
            if table.is_virtual {
                return Err(invalid(format!(
                    "Cannot truncate system table {ks}.{}",
                    name.name
                )));
            }
            Plan::Truncate(Arc::clone(table))
        }
        ast::Statement::Describe(d) => Plan::Describe(d),
        ddl => Plan::Schema(ddl),
    })
}

/// The Prepared result of a statement.
fn describe_prepared(statement: &Statement, id: [u8; 16]) -> Prepared {
    let (pk_indexes, result_specs): (Vec<u16>, Vec<ColumnSpec>) = match &statement.plan {
        Plan::Select(p) => (p.pk_indexes(), p.result_specs()),
        Plan::Write(p) => (p.pk_indexes(), Vec::new()),
        _ => (Vec::new(), Vec::new()),
    };
    let columns = if result_specs.is_empty() {
        Columns::NoMetadata { count: 0 }
    } else {
        Columns::Specs(result_specs)
    };
    Prepared {
        id: bytes::Bytes::copy_from_slice(&id),
        pk_indexes,
        bind_markers: statement
            .markers
            .specs()
            .iter()
            .map(|m| m.column_spec())
            .collect(),
        result_metadata: RowsMetadata {
            paging_state: None,
            columns,
        },
    }
}

/// The request's values in marker order; named values are matched by marker name.
fn positional(markers: &Markers, values: &Values) -> Result<Vec<Value>, ErrorResponse> {
    let specs = markers.specs();
    let values = match values {
        Values::Positional(v) => v.clone(),
        Values::Named(named) => specs
            .iter()
            .map(|spec| {
                named
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&spec.name))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        invalid(format!("No value found for named marker {}", spec.name))
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    if values.len() != specs.len() {
        return Err(invalid(format!(
            "There were {} markers(?) in CQL but {} bound variables",
            specs.len(),
            values.len()
        )));
    }
    Ok(values)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
