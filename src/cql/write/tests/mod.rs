//! Tests of the write path: a hand-built schema over an in-memory engine, with
//! statements parsed, prepared, executed and read back through the coordinator.

mod batch;
mod engine;
mod model;
mod mutations;
mod prepare;
mod values;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use cql_lite::{Consistency, ErrorResponse, Value, WriteType, ast};
use storage::ManualClock;
use storage::sim::SimFs;
use storage::{ClusteringRange, ColumnId, Engine, EngineOptions, Mutation, TableId};
use storage::{ColumnFilter, PartitionRead, ScanCommand};

use super::{BatchPlan, WritePlan, execute, execute_batch};
use crate::coordinator::{
    BoxFuture, Coordinator, LocalCoordinator, PartitionData, ReadLimits, ReadOutcome,
};
use crate::cql::bind::Markers;
use crate::cql::error::server;
use crate::cql::{ExecContext, Guardrails, Outcome, VirtualTables};
use crate::rowcodec;
use crate::schema::{
    ColumnDef, ColumnKind, KeyspaceDef, Replication, Schema, TableDef, TableParams,
};

/// Seconds since the epoch the tests run at.
const NOW: i64 = 1_700_000_000;
/// The default write timestamp (µs).
const TS: i64 = NOW * 1_000_000;

/// No virtual tables: the write path never reads them.
#[derive(Debug)]
struct NoVirtualTables;

impl VirtualTables for NoVirtualTables {
    fn rows(
        &self,
        _schema: &Schema,
        _table: &TableDef,
    ) -> Result<Vec<Vec<Option<CqlValue>>>, ErrorResponse> {
        Err(server("no virtual tables in write tests"))
    }
}

/// Builds a table: `(name, type)` partition key columns, `(name, type, order)`
/// clustering columns, then static and regular columns.
struct TableSpec<'a> {
    name: &'a str,
    pk: &'a [(&'a str, CqlType)],
    ck: &'a [(&'a str, CqlType, Order)],
    statics: &'a [(&'a str, CqlType)],
    regular: &'a [(&'a str, CqlType)],
}

fn table(spec: &TableSpec<'_>) -> TableDef {
    let mut columns = Vec::new();
    let mut push = |name: &str, ty: &CqlType, kind, position, order| {
        let id = ColumnId(columns.len() as u32);
        columns.push(ColumnDef {
            name: name.into(),
            ty: ty.clone(),
            kind,
            position,
            order,
            id,
            added_at: 0,
        });
    };
    for (i, (n, ty)) in spec.pk.iter().enumerate() {
        push(n, ty, ColumnKind::PartitionKey, i, Order::Asc);
    }
    for (i, (n, ty, o)) in spec.ck.iter().enumerate() {
        push(n, ty, ColumnKind::Clustering, i, *o);
    }
    for (n, ty) in spec.statics {
        push(n, ty, ColumnKind::Static, 0, Order::Asc);
    }
    for (n, ty) in spec.regular {
        push(n, ty, ColumnKind::Regular, 0, Order::Asc);
    }
    let mut id = [0u8; 16];
    id[..spec.name.len().min(16)].copy_from_slice(&spec.name.as_bytes()[..spec.name.len().min(16)]);
    TableDef {
        keyspace: "ks".into(),
        name: spec.name.into(),
        id,
        next_column_id: columns.len() as u32,
        columns,
        dropped: Vec::new(),
        params: TableParams::default(),
        is_virtual: false,
        generation: 0,
        created_at: 0,
        altered_at: 0,
    }
}

fn list(t: CqlType) -> CqlType {
    CqlType::list(t, false)
}
fn set(t: CqlType) -> CqlType {
    CqlType::set(t, false)
}
fn map(k: CqlType, v: CqlType) -> CqlType {
    CqlType::map(k, v, false)
}

/// The tables most tests use.
fn standard_tables() -> Vec<TableDef> {
    use CqlType::{Int, Text};
    vec![
        // CREATE TABLE kv (k int PRIMARY KEY, v int, t text, l list<int>, s set<text>,
        //   m map<text, int>, fl frozen<list<int>>)
        table(&TableSpec {
            name: "kv",
            pk: &[("k", Int)],
            ck: &[],
            statics: &[],
            regular: &[
                ("fl", CqlType::list(Int, true)),
                ("l", list(Int)),
                ("m", map(Text, Int)),
                ("s", set(Text)),
                ("t", Text),
                ("v", Int),
            ],
        }),
        // CREATE TABLE wide (k int, c int, st int static, sl list<int> static, v int,
        //   PRIMARY KEY (k, c))
        table(&TableSpec {
            name: "wide",
            pk: &[("k", Int)],
            ck: &[("c", Int, Order::Asc)],
            statics: &[("sl", list(Int)), ("st", Int)],
            regular: &[("v", Int)],
        }),
        // CREATE TABLE two (a int, b text, c1 int, c2 int, v int,
        //   PRIMARY KEY ((a, b), c1, c2)) WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC)
        table(&TableSpec {
            name: "two",
            pk: &[("a", Int), ("b", Text)],
            ck: &[("c1", Int, Order::Asc), ("c2", Int, Order::Desc)],
            statics: &[],
            regular: &[("v", Int)],
        }),
        // CREATE TABLE texts (k text PRIMARY KEY, v int) WITH default_time_to_live = 50
        TableDef {
            params: TableParams {
                default_time_to_live: 50,
                ..TableParams::default()
            },
            ..table(&TableSpec {
                name: "texts",
                pk: &[("k", Text)],
                ck: &[],
                statics: &[],
                regular: &[("v", Int)],
            })
        },
    ]
}

/// The local coordinator, recording what each write call carried.
#[derive(Debug)]
struct Recording {
    inner: LocalCoordinator,
    writes: Mutex<Vec<(Vec<Mutation>, WriteType)>>,
}

impl Coordinator for Recording {
    fn write(
        &self,
        mutations: Vec<Mutation>,
        consistency: Consistency,
        write_type: WriteType,
    ) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        self.writes
            .lock()
            .unwrap()
            .push((mutations.clone(), write_type.clone()));
        self.inner.write(mutations, consistency, write_type)
    }

    fn read(
        &self,
        table: TableId,
        read: PartitionRead,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        self.inner.read(table, read, limits, consistency)
    }

    fn scan(
        &self,
        table: TableId,
        scan: ScanCommand,
        limits: ReadLimits,
        consistency: Consistency,
    ) -> BoxFuture<'_, Result<ReadOutcome, ErrorResponse>> {
        self.inner.scan(table, scan, limits, consistency)
    }

    fn truncate(&self, table: TableId, at: i64) -> BoxFuture<'_, Result<(), ErrorResponse>> {
        self.inner.truncate(table, at)
    }
}

/// An in-memory node: schema, engine and coordinator. Each statement run
/// through [`Harness::run`] gets a timestamp 10 µs after the previous one, as a
/// node's clock would give.
struct Harness {
    schema: Schema,
    coordinator: Recording,
    guardrails: Guardrails,
    timestamp: std::cell::Cell<i64>,
    now_micros: i64,
}

impl Harness {
    fn new() -> Self {
        Harness::with_tables(standard_tables())
    }

    fn with_tables(tables: Vec<TableDef>) -> Self {
        let options = EngineOptions::new("/data", Arc::new(ManualClock::new(NOW)));
        let engine = Arc::new(Engine::open(Arc::new(SimFs::new()), options).unwrap());
        let mut ks = KeyspaceDef {
            name: "ks".into(),
            replication: Replication::Simple {
                replication_factor: 1,
            },
            durable_writes: true,
            tables: Default::default(),
            generation: 0,
            created_at: 0,
            altered_at: 0,
            dropped_tables: Default::default(),
        };
        for t in tables {
            engine
                .create_table(t.table_id(), Default::default())
                .unwrap();
            ks.tables.insert(t.name.clone(), Arc::new(t));
        }
        let mut schema = Schema::default();
        schema.keyspaces.insert("ks".into(), ks);
        Harness {
            schema,
            coordinator: Recording {
                inner: LocalCoordinator::new(engine),
                writes: Mutex::new(Vec::new()),
            },
            guardrails: Guardrails::default(),
            timestamp: std::cell::Cell::new(TS),
            now_micros: TS,
        }
    }

    fn ctx(&self) -> ExecContext<'_> {
        ExecContext {
            schema: &self.schema,
            coordinator: &self.coordinator,
            virtual_tables: &NoVirtualTables,
            consistency: Consistency::One,
            timestamp: self.timestamp.get(),
            client_timestamp: false,
            now_micros: self.now_micros,
            guardrails: &self.guardrails,
        }
    }

    fn table(&self, name: &str) -> &Arc<TableDef> {
        self.schema.table("ks", name).unwrap()
    }

    fn prepare(&self, cql: &str) -> Result<(WritePlan, Markers), ErrorResponse> {
        let stmt = cql_lite::parse(cql).unwrap();
        let mut markers = Markers::default();
        let plan = WritePlan::prepare(&self.schema, Some("ks"), &stmt, &mut markers)?;
        Ok((plan, markers))
    }

    async fn mutations(&self, cql: &str, values: &[Value]) -> Result<Vec<Mutation>, ErrorResponse> {
        let (plan, _) = self.prepare(cql)?;
        plan.mutations(&self.ctx(), values).await
    }

    /// Runs a statement or a batch.
    async fn run(&self, cql: &str, values: &[Value]) -> Result<Outcome, ErrorResponse> {
        let result = self.run_once(cql, values).await;
        self.timestamp.set(self.timestamp.get() + 10);
        result
    }

    /// The write calls made so far.
    fn writes(&self) -> Vec<(Vec<Mutation>, WriteType)> {
        self.coordinator.writes.lock().unwrap().clone()
    }

    async fn run_once(&self, cql: &str, values: &[Value]) -> Result<Outcome, ErrorResponse> {
        match cql_lite::parse(cql).unwrap() {
            ast::Statement::Batch(batch) => {
                let mut markers = Markers::default();
                let plan = BatchPlan::prepare(&self.schema, Some("ks"), &batch, &mut markers)?;
                let parts: Vec<(&WritePlan, &[Value])> =
                    plan.parts().iter().map(|p| (p, values)).collect();
                execute_batch(&self.ctx(), plan.kind(), &parts).await
            }
            stmt => {
                let mut markers = Markers::default();
                let plan = WritePlan::prepare(&self.schema, Some("ks"), &stmt, &mut markers)?;
                execute(&plan, &self.ctx(), values).await
            }
        }
    }

    async fn ok(&self, cql: &str) {
        self.run(cql, &[]).await.unwrap();
    }

    async fn err(&self, cql: &str, values: &[Value]) -> String {
        self.run(cql, values).await.unwrap_err().message
    }

    /// The partition of `table` with key `pk`, as the coordinator reads it at `now`.
    async fn read_at(
        &self,
        table: &str,
        pk: &[CqlValue],
        now: i64,
        tombstones: bool,
    ) -> Option<PartitionData> {
        let t = self.table(table);
        let read = PartitionRead {
            key: rowcodec::partition_key(t, pk).unwrap(),
            slices: vec![ClusteringRange::ALL],
            columns: ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now,
            include_tombstones: tombstones,
        };
        let limits = ReadLimits {
            max_rows: usize::MAX,
            max_tombstones: usize::MAX,
        };
        let outcome = self
            .coordinator
            .read(t.table_id(), read, limits, Consistency::One)
            .await
            .unwrap();
        outcome.partitions.into_iter().next()
    }

    async fn read(&self, table: &str, pk: &[CqlValue]) -> Option<PartitionData> {
        self.read_at(table, pk, NOW, false).await
    }

    /// The live value of `column` in the first row (or the static row) of `k`'s partition.
    async fn value(&self, table: &str, k: i32, column: &str) -> Option<CqlValue> {
        let t = Arc::clone(self.table(table));
        let col = t.column(column).unwrap();
        let p = self.read(table, &[CqlValue::Int(k)]).await?;
        let row = if col.kind == ColumnKind::Static {
            p.static_row?
        } else {
            p.rows.into_iter().next()?
        };
        decode(&row, col, NOW)
    }
}

/// The live value of `column` in `row`.
fn decode(row: &storage::Row, column: &ColumnDef, now: i64) -> Option<CqlValue> {
    let cells: Vec<&storage::ColumnCell> =
        row.cells.iter().filter(|c| c.column == column.id).collect();
    if column.ty.is_collection() && !column.ty.is_frozen() {
        return rowcodec::decode_collection(&column.ty, &cells, now).unwrap();
    }
    let bytes = cells.first()?.cell.value_at(now)?;
    Some(value::deserialize(&column.ty, bytes).unwrap())
}

/// A bound value.
fn val(ty: &CqlType, v: &CqlValue) -> Value {
    let mut out = Vec::new();
    value::serialize(ty, v, &mut out).unwrap();
    Value::Set(Bytes::from(out))
}

fn int(i: i32) -> CqlValue {
    CqlValue::Int(i)
}

fn text(s: &str) -> CqlValue {
    CqlValue::Text(s.into())
}

fn ints(v: &[i32]) -> CqlValue {
    CqlValue::List(v.iter().map(|i| CqlValue::Int(*i)).collect())
}
