//! SELECT end to end: rows written as storage mutations (built with the row codec,
//! not the write path), read back through plans, the local coordinator and an
//! in-memory engine.

use std::sync::Arc;

use bytes::Bytes;
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use cql_lite::{Columns, Consistency, ErrorKind, ErrorResponse, QueryResult, Value};
use storage::ManualClock;
use storage::TableOptions;
use storage::sim::SimFs;
use storage::{
    Cell, ColumnId, DeletionTime, Engine, EngineOptions, LivenessInfo, Mutation, Row, Timestamp,
};

use super::*;
use crate::coordinator::LocalCoordinator;
use crate::cql::{ExecContext, Guardrails, Paging, VirtualTables};
use crate::rowcodec::{self, ListPosition};

/// Seconds since the epoch the tests run at.
pub(super) const NOW: i64 = 1_700_000_000;

/// Decoded result rows.
pub(super) type Table = Vec<Vec<Option<CqlValue>>>;

/// A virtual table provider with fixed rows for `ks.vt`.
#[derive(Debug, Default)]
pub(super) struct FakeVirtual {
    pub(super) rows: Vec<Vec<Option<CqlValue>>>,
}

impl VirtualTables for FakeVirtual {
    fn rows(
        &self,
        _: &Schema,
        table: &TableDef,
    ) -> Result<Vec<Vec<Option<CqlValue>>>, ErrorResponse> {
        if table.name == "vt" {
            Ok(self.rows.clone())
        } else {
            Ok(Vec::new())
        }
    }
}

/// An engine, a coordinator and a schema.
pub(super) struct Env {
    pub(super) engine: Arc<Engine>,
    pub(super) coordinator: LocalCoordinator,
    pub(super) schema: Schema,
    pub(super) guardrails: Guardrails,
    pub(super) virtual_tables: FakeVirtual,
}

impl Env {
    pub(super) fn new(tables: &[Arc<TableDef>]) -> Env {
        let clock = Arc::new(ManualClock::new(NOW));
        let engine =
            Engine::open(Arc::new(SimFs::new()), EngineOptions::new("/data", clock)).unwrap();
        for t in tables {
            engine
                .create_table(t.table_id(), TableOptions::default())
                .unwrap();
        }
        let engine = Arc::new(engine);
        Env {
            coordinator: LocalCoordinator::new(Arc::clone(&engine)),
            engine,
            schema: schema(tables),
            guardrails: Guardrails::default(),
            virtual_tables: FakeVirtual::default(),
        }
    }

    pub(super) fn apply(&self, m: &Mutation) {
        self.engine.apply(m).unwrap();
    }

    fn ctx(&self) -> ExecContext<'_> {
        ExecContext {
            schema: &self.schema,
            coordinator: &self.coordinator,
            virtual_tables: &self.virtual_tables,
            consistency: Consistency::One,
            timestamp: NOW * 1_000_000,
            client_timestamp: false,
            now_micros: NOW * 1_000_000,
            guardrails: &self.guardrails,
        }
    }

    /// One page: decoded rows, the paging state, the warnings.
    pub(super) async fn page(
        &self,
        cql: &str,
        values: &[Value],
        page_size: Option<i32>,
        state: Option<Bytes>,
    ) -> Result<(Table, Option<Bytes>, Vec<String>), ErrorResponse> {
        let (plan, _) = prepare(&self.schema, cql)?;
        let paging = Paging {
            page_size,
            state,
            skip_metadata: false,
        };
        let outcome = plan.execute(&self.ctx(), values, &paging).await?;
        let QueryResult::Rows(rows) = outcome.result else {
            panic!("not rows")
        };
        let Columns::Specs(specs) = rows.metadata.columns else {
            panic!("no metadata")
        };
        let types: Vec<CqlType> = specs
            .iter()
            .map(|s| CqlType::from_column_type(&s.column_type).unwrap())
            .collect();
        let decoded = rows
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&types)
                    .map(|(cell, ty)| cell.as_ref().map(|b| value::deserialize(ty, b).unwrap()))
                    .collect()
            })
            .collect();
        Ok((decoded, rows.metadata.paging_state, outcome.warnings))
    }

    /// Every row, without paging.
    pub(super) async fn all(&self, cql: &str) -> Table {
        let (rows, state, _) = self.page(cql, &[], None, None).await.unwrap();
        assert!(
            state.is_none(),
            "{cql}: unpaged query returned a paging state"
        );
        rows
    }

    /// Every row, fetched `page_size` at a time; checks pages are never too long.
    pub(super) async fn paged(&self, cql: &str, page_size: i32) -> Table {
        let mut out = Vec::new();
        let mut state = None;
        for _ in 0..10_000 {
            let (rows, next, _) = self.page(cql, &[], Some(page_size), state).await.unwrap();
            assert!(rows.len() <= page_size as usize, "{cql}: page too long");
            out.extend(rows);
            match next {
                Some(s) => state = Some(s),
                None => return out,
            }
        }
        panic!("{cql}: paging does not end")
    }
}

/// A live cell (or element cells for non-frozen collections) for `name` in `row`.
pub(super) fn with_value(t: &TableDef, mut row: Row, name: &str, v: &CqlValue, ts: i64) -> Row {
    let column = t.column(name).unwrap();
    let id = column.id;
    match (&column.ty, v) {
        (
            CqlType::Map {
                key,
                value: vt,
                frozen: false,
            },
            CqlValue::Map(entries),
        ) => {
            for (k, e) in entries {
                let path = rowcodec::element_path(key, k).unwrap();
                row = row.with_cell(
                    id,
                    Some(path),
                    Cell::live(ts, rowcodec::encode_value(vt, e).unwrap()),
                );
            }
            row
        }
        (
            CqlType::List {
                element,
                frozen: false,
            },
            CqlValue::List(items),
        ) => {
            for (i, e) in items.iter().enumerate() {
                let path = rowcodec::list_path(ListPosition::Append, ts, i as u64);
                row = row.with_cell(
                    id,
                    Some(path),
                    Cell::live(ts, rowcodec::encode_value(element, e).unwrap()),
                );
            }
            row
        }
        (ty, v) => row.with_cell(
            id,
            None,
            Cell::live(ts, rowcodec::encode_value(ty, v).unwrap()),
        ),
    }
}

/// An INSERT-like mutation: row liveness and cells.
pub(super) fn insert(
    t: &TableDef,
    key: &[CqlValue],
    clustering: &[CqlValue],
    cells: &[(&str, CqlValue)],
    ts: i64,
) -> Mutation {
    let layout = t.clustering_layout().unwrap();
    let mut row = Row::new(rowcodec::clustering_key(&layout, clustering).unwrap());
    row.liveness = Some(LivenessInfo {
        timestamp: Timestamp(ts),
        expiry: None,
    });
    for (name, v) in cells {
        row = with_value(t, row, name, v, ts);
    }
    Mutation::new(t.table_id(), rowcodec::partition_key(t, key).unwrap()).with_row(row)
}

/// A mutation that only sets static columns.
pub(super) fn statics(
    t: &TableDef,
    key: &[CqlValue],
    cells: &[(&str, CqlValue)],
    ts: i64,
) -> Mutation {
    let mut row = Row::new(storage::ClusteringKey::EMPTY);
    for (name, v) in cells {
        row = with_value(t, row, name, v, ts);
    }
    let mut m = Mutation::new(t.table_id(), rowcodec::partition_key(t, key).unwrap());
    m.static_row = Some(row);
    m
}

fn int(i: i32) -> CqlValue {
    CqlValue::Int(i)
}

fn some(i: i32) -> Option<CqlValue> {
    Some(CqlValue::Int(i))
}

fn ints(rows: &Table) -> Vec<Vec<Option<i32>>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Some(CqlValue::Int(i)) => Some(*i),
                    None => None,
                    other => panic!("not an int: {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// `wide()` with partitions 0..3, rows c1 in 0..3 × c2 in 0..2, v = 10*c1 + c2, s = 100 + k.
fn filled() -> (Env, Arc<TableDef>) {
    let t = wide();
    let env = Env::new(&[Arc::clone(&t)]);
    for k in 0..3 {
        env.apply(&statics(&t, &[int(k)], &[("s", int(100 + k))], 1));
        for c1 in 0..3 {
            for c2 in 0..2 {
                env.apply(&insert(
                    &t,
                    &[int(k)],
                    &[int(c1), int(c2)],
                    &[("v", int(10 * c1 + c2))],
                    10,
                ));
            }
        }
    }
    (env, t)
}

#[tokio::test]
async fn a_partition_reads_in_clustering_order_with_statics() {
    let (env, _) = filled();
    let rows = env.all("SELECT k, c1, c2, s, v FROM t WHERE k = 1").await;
    let expected: Vec<Vec<Option<i32>>> = [(0, 1), (0, 0), (1, 1), (1, 0), (2, 1), (2, 0)]
        .iter()
        .map(|&(c1, c2)| vec![Some(1), Some(c1), Some(c2), Some(101), Some(10 * c1 + c2)])
        .collect();
    assert_eq!(ints(&rows), expected);
    let rows = env
        .all("SELECT c1, c2 FROM t WHERE k = 1 ORDER BY c1 DESC")
        .await;
    assert_eq!(ints(&rows)[0], [Some(2), Some(0)]);
    assert_eq!(ints(&rows)[5], [Some(0), Some(1)]);
    let rows = env
        .all("SELECT v FROM t WHERE k = 1 AND c1 = 1 AND c2 > 0")
        .await;
    assert_eq!(ints(&rows), [[Some(11)]]);
    let rows = env
        .all("SELECT v FROM t WHERE k = 1 AND (c1, c2) > (1, 0) AND (c1, c2) <= (2, 1)")
        .await;
    // Value order for the tuple, clustering order (c2 DESC) for the rows.
    assert_eq!(ints(&rows), [[Some(11)], [Some(21)], [Some(20)]]);
}

#[tokio::test]
async fn in_lists_dedupe_and_sort_partitions_by_key() {
    let (env, _) = filled();
    let rows = env
        .all("SELECT k FROM t WHERE k IN (2, 0, 2) AND c1 = 0 AND c2 = 0")
        .await;
    assert_eq!(ints(&rows), [[Some(0)], [Some(2)]]);
    let rows = env
        .page(
            "SELECT k FROM t WHERE k IN ? AND c1 = 0 AND c2 = 0",
            &[list_value(&[1, 9])],
            None,
            None,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(ints(&rows), [[Some(1)]]);
}

fn list_value(items: &[i32]) -> Value {
    let ty = CqlType::list(CqlType::Int, false);
    let v = CqlValue::List(items.iter().map(|&i| int(i)).collect());
    Value::Set(rowcodec::encode_value(&ty, &v).unwrap())
}

#[tokio::test]
async fn scans_go_in_token_order_and_token_ranges_select_by_token() {
    let t = table("u", &[pk("k", CqlType::Int), regular("v", CqlType::Int)]);
    let env = Env::new(&[Arc::clone(&t)]);
    for k in 0..30 {
        env.apply(&insert(&t, &[int(k)], &[], &[("v", int(k))], 1));
    }
    let rows = env.all("SELECT token(k), k FROM u").await;
    let tokens: Vec<i64> = rows
        .iter()
        .map(|r| match r[0] {
            Some(CqlValue::Bigint(t)) => t,
            _ => panic!(),
        })
        .collect();
    assert_eq!(tokens.len(), 30);
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "token order");
    for r in &rows {
        let Some(CqlValue::Int(k)) = r[1] else {
            panic!()
        };
        let expected = rowcodec::partition_key(&t, &[int(k)]).unwrap().token.0;
        assert_eq!(r[0], Some(CqlValue::Bigint(expected)));
    }
    let (lo, hi) = (tokens[5], tokens[20]);
    let rows = env
        .all(&format!(
            "SELECT k FROM u WHERE token(k) > {lo} AND token(k) <= {hi}"
        ))
        .await;
    assert_eq!(rows.len(), 15);
    let rows = env
        .all(&format!(
            "SELECT k FROM u WHERE token(k) >= {lo} AND token(k) < {hi}"
        ))
        .await;
    assert_eq!(rows.len(), 15);
    let rows = env
        .all(&format!(
            "SELECT k FROM u WHERE token(k) > {hi} AND token(k) <= {lo}"
        ))
        .await;
    assert!(rows.is_empty(), "an inverted range is empty");
    let min = i64::MIN;
    let rows = env
        .all(&format!(
            "SELECT k FROM u WHERE token(k) > {lo} AND token(k) <= {min}"
        ))
        .await;
    assert_eq!(
        rows.len(),
        24,
        "the minimum token as an end is the end of the ring"
    );
    let rows = env
        .all(&format!("SELECT k FROM u WHERE token(k) = {lo}"))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        env.paged("SELECT k FROM u", 7).await,
        env.all("SELECT k FROM u").await
    );
}

#[tokio::test]
async fn a_partition_with_only_static_content_gives_one_row() {
    let (env, t) = filled();
    env.apply(&statics(&t, &[int(7)], &[("s", int(7))], 1));
    let rows = env.all("SELECT k, c1, s, v FROM t WHERE k = 7").await;
    assert_eq!(ints(&rows), [[Some(7), None, Some(7), None]]);
    assert!(
        env.all("SELECT k FROM t WHERE k = 7 AND c1 = 0")
            .await
            .is_empty()
    );
    assert_eq!(env.all("SELECT k FROM t").await.len(), 19);
    let rows = env.all("SELECT DISTINCT k, s FROM t").await;
    assert_eq!(rows.len(), 4);
    assert_eq!(
        env.all("SELECT k FROM t WHERE v = 1 ALLOW FILTERING")
            .await
            .len(),
        3
    );
    assert_eq!(
        env.all("SELECT k FROM t WHERE s = 7 ALLOW FILTERING")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn aggregates_return_one_row_even_without_input() {
    let (env, _) = filled();
    let rows = env
        .all("SELECT count(*), count(v), min(v), max(v), sum(v), avg(v), k FROM t WHERE k = 1")
        .await;
    assert_eq!(
        rows,
        [vec![
            Some(CqlValue::Bigint(6)),
            Some(CqlValue::Bigint(6)),
            some(0),
            some(21),
            some(63),
            some(10),
            some(1),
        ]]
    );
    let rows = env
        .all("SELECT count(*), min(v), sum(v), avg(v), k FROM t WHERE k = 9")
        .await;
    assert_eq!(
        rows,
        [vec![
            Some(CqlValue::Bigint(0)),
            None,
            some(0),
            some(0),
            None
        ]]
    );
    let rows = env
        .all("SELECT count(*) FROM t WHERE v > 10 ALLOW FILTERING")
        .await;
    assert_eq!(rows, [vec![Some(CqlValue::Bigint(9))]]);
    let (rows, state, _) = env
        .page("SELECT count(*) FROM t", &[], Some(2), None)
        .await
        .unwrap();
    assert_eq!(rows, [vec![Some(CqlValue::Bigint(18))]]);
    assert!(state.is_none(), "aggregates are not paged");
}

#[tokio::test]
async fn writetime_and_ttl_come_from_cells() {
    let t = wide();
    let env = Env::new(&[Arc::clone(&t)]);
    let layout = t.clustering_layout().unwrap();
    let v = t.column("v").unwrap().id;
    let s = t.column("s").unwrap().id;
    let four = rowcodec::encode_value(&CqlType::Int, &int(4)).unwrap();
    let row = |c2: i32, cell: Cell| {
        Row::new(rowcodec::clustering_key(&layout, &[int(0), int(c2)]).unwrap())
            .with_cell(v, None, cell)
    };
    let mut m = Mutation::new(
        t.table_id(),
        rowcodec::partition_key(&t, &[int(1)]).unwrap(),
    )
    .with_row(row(0, Cell::live(1234, four.clone())))
    .with_row(row(1, Cell::expiring(99, four.clone(), 100, NOW - 30)))
    .with_row(row(2, Cell::expiring(99, four.clone(), 10, NOW - 30)));
    m.static_row =
        Some(Row::new(storage::ClusteringKey::EMPTY).with_cell(s, None, Cell::live(7, four)));
    env.apply(&m);
    let rows = env
        .all("SELECT c2, v, writetime(v), ttl(v), writetime(s), ttl(s) FROM t WHERE k = 1")
        .await;
    // c2 is DESC: 1 before 0; the row whose only cell expired is gone.
    assert_eq!(
        rows,
        [
            vec![
                some(1),
                some(4),
                Some(CqlValue::Bigint(99)),
                some(70),
                Some(CqlValue::Bigint(7)),
                None
            ],
            vec![
                some(0),
                some(4),
                Some(CqlValue::Bigint(1234)),
                None,
                Some(CqlValue::Bigint(7)),
                None
            ],
        ]
    );
}

#[tokio::test]
async fn filters_limits_and_collections() {
    let (env, t) = filled();
    let mut entries = vec![
        (CqlValue::Text("a".into()), int(1)),
        (CqlValue::Text("b".into()), int(2)),
    ];
    env.apply(&insert(
        &t,
        &[int(5)],
        &[int(0), int(0)],
        &[
            ("m", CqlValue::Map(entries.clone())),
            ("l", CqlValue::List(vec![int(3), int(1)])),
        ],
        20,
    ));
    let rows = env.all("SELECT m, l FROM t WHERE k = 5").await;
    entries.sort_by(|a, b| value::compare(&CqlType::Text, &a.0, &b.0).unwrap());
    assert_eq!(
        rows,
        [vec![
            Some(CqlValue::Map(entries)),
            Some(CqlValue::List(vec![int(3), int(1)]))
        ]]
    );
    assert_eq!(
        env.all("SELECT k FROM t WHERE m CONTAINS 2 ALLOW FILTERING")
            .await
            .len(),
        1
    );
    assert_eq!(
        env.all("SELECT k FROM t WHERE m CONTAINS KEY 'c' ALLOW FILTERING")
            .await
            .len(),
        0
    );
    assert_eq!(
        env.all("SELECT k FROM t WHERE l CONTAINS 1 ALLOW FILTERING")
            .await
            .len(),
        1
    );
    let rows = env
        .all("SELECT v FROM t WHERE k = 1 AND v >= 11 AND v < 21 ALLOW FILTERING")
        .await;
    assert_eq!(ints(&rows), [[Some(11)], [Some(20)]]);
    assert_eq!(env.all("SELECT k FROM t LIMIT 4").await.len(), 4);
    let rows = env
        .all("SELECT k, c1, c2 FROM t PER PARTITION LIMIT 2")
        .await;
    assert_eq!(rows.len(), 7);
    let rows = env
        .all("SELECT k FROM t WHERE k IN (0, 1) PER PARTITION LIMIT 1 LIMIT 5")
        .await;
    assert_eq!(ints(&rows), [[Some(0)], [Some(1)]]);
    let limit = Value::Set(Bytes::from_static(&[0, 0, 0, 3]));
    let rows = env
        .page("SELECT k FROM t LIMIT ?", &[limit], None, None)
        .await
        .unwrap()
        .0;
    assert_eq!(rows.len(), 3);
    let zero = Value::Set(Bytes::from_static(&[0, 0, 0, 0]));
    let err = env
        .page("SELECT k FROM t LIMIT ?", &[zero], None, None)
        .await
        .unwrap_err();
    assert_eq!(err.message, "LIMIT must be strictly positive");
}

#[tokio::test]
async fn cells_of_dropped_columns_never_show() {
    let t = wide();
    let env = Env::new(&[Arc::clone(&t)]);
    let layout = t.clustering_layout().unwrap();
    let gone = ColumnId(99);
    let four = rowcodec::encode_value(&CqlType::Int, &int(4)).unwrap();
    let m = Mutation::new(
        t.table_id(),
        rowcodec::partition_key(&t, &[int(1)]).unwrap(),
    )
    .with_row(
        Row::new(rowcodec::clustering_key(&layout, &[int(0), int(0)]).unwrap()).with_cell(
            gone,
            None,
            Cell::live(1, four.clone()),
        ),
    )
    .with_row(
        Row::new(rowcodec::clustering_key(&layout, &[int(0), int(1)]).unwrap())
            .with_cell(t.column("v").unwrap().id, None, Cell::live(1, four.clone()))
            .with_cell(gone, None, Cell::live(1, four)),
    );
    env.apply(&m);
    let rows = env.all("SELECT * FROM t").await;
    assert_eq!(rows.len(), 1, "the row with only a dropped cell is gone");
    assert_eq!(rows[0].len(), 7);
}

#[tokio::test]
async fn paging_resumes_inside_wide_partitions_and_across_them() {
    let (env, _) = filled();
    for cql in [
        "SELECT * FROM t",
        "SELECT * FROM t WHERE k = 1",
        "SELECT * FROM t WHERE k = 1 ORDER BY c1 DESC",
        "SELECT * FROM t WHERE k IN (0, 2, 1)",
        "SELECT k, c1 FROM t LIMIT 7",
        "SELECT k, c1 FROM t PER PARTITION LIMIT 4",
        "SELECT k, v FROM t WHERE v > 3 ALLOW FILTERING",
        "SELECT DISTINCT k FROM t",
    ] {
        let all = env.all(cql).await;
        for size in 1..8 {
            assert_eq!(env.paged(cql, size).await, all, "{cql} in pages of {size}");
        }
    }
    let (rows, state, _) = env
        .page("SELECT k FROM t WHERE k = 1", &[], Some(6), None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    assert!(state.is_none(), "an exactly full last page says no more");
}

#[tokio::test]
async fn malformed_paging_states_are_invalid() {
    let (env, _) = filled();
    let (_, state, _) = env
        .page("SELECT * FROM t", &[], Some(2), None)
        .await
        .unwrap();
    let state = state.unwrap();
    for cut in 0..state.len() {
        let err = env
            .page("SELECT * FROM t", &[], Some(2), Some(state.slice(..cut)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
    }
    let mut junk = state.to_vec();
    junk.push(0);
    assert!(
        env.page("SELECT * FROM t", &[], Some(2), Some(Bytes::from(junk)))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn tombstones_warn_past_the_threshold() {
    let (mut env, t) = filled();
    env.guardrails.tombstone_warn = 3;
    let layout = t.clustering_layout().unwrap();
    let mut m = Mutation::new(
        t.table_id(),
        rowcodec::partition_key(&t, &[int(2)]).unwrap(),
    );
    for c2 in 0..5 {
        let mut row = Row::new(rowcodec::clustering_key(&layout, &[int(9), int(c2)]).unwrap());
        row.deletion = Some(DeletionTime::new(50, NOW));
        m = m.with_row(row);
    }
    env.apply(&m);
    let (_, _, warnings) = env
        .page("SELECT * FROM t WHERE k = 2", &[], None, None)
        .await
        .unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("Read 6 live rows and 5 tombstone cells for query"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].ends_with("(see tombstone_warn_threshold)"));
}

#[tokio::test]
async fn skip_metadata_sends_only_the_column_count() {
    let (env, _) = filled();
    let (plan, _) = prepare(&env.schema, "SELECT k, v FROM t WHERE k = 0").unwrap();
    let paging = Paging {
        page_size: None,
        state: None,
        skip_metadata: true,
    };
    let outcome = plan.execute(&env.ctx(), &[], &paging).await.unwrap();
    let QueryResult::Rows(rows) = outcome.result else {
        panic!()
    };
    assert_eq!(rows.metadata.columns, Columns::NoMetadata { count: 2 });
    assert_eq!(rows.rows.len(), 6);
}

fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::Text(s.into()))
}

#[tokio::test]
async fn virtual_tables_are_restricted_filtered_and_paged_in_memory() {
    let mut vt = table(
        "vt",
        &[
            pk("keyspace_name", CqlType::Text),
            ck("table_name", CqlType::Text, Order::Asc),
            regular("id", CqlType::Int),
        ],
    );
    Arc::make_mut(&mut vt).is_virtual = true;
    let mut env = Env::new(&[]);
    env.schema = schema(&[Arc::clone(&vt)]);
    env.virtual_tables.rows = vec![
        vec![text("ks"), text("a"), some(1)],
        vec![text("ks"), text("t"), some(2)],
        vec![text("other"), text("t"), some(3)],
        vec![text("system"), text("local"), some(4)],
    ];
    let rows = env
        .all("SELECT * FROM vt WHERE keyspace_name = 'ks' AND table_name = 't'")
        .await;
    assert_eq!(rows, [vec![text("ks"), text("t"), some(2)]]);
    let rows = env
        .all("SELECT id FROM vt WHERE keyspace_name = 'ks' ORDER BY table_name DESC")
        .await;
    assert_eq!(rows, [vec![some(2)], vec![some(1)]]);
    let rows = env
        .all("SELECT id FROM vt WHERE id > 2 ALLOW FILTERING")
        .await;
    assert_eq!(rows, [vec![some(3)], vec![some(4)]]);
    assert_eq!(
        env.all("SELECT count(*) FROM vt").await,
        [vec![Some(CqlValue::Bigint(4))]]
    );
    let all = env.all("SELECT * FROM vt").await;
    assert_eq!(all.len(), 4);
    for size in 1..5 {
        assert_eq!(env.paged("SELECT * FROM vt", size).await, all);
        assert_eq!(
            env.paged("SELECT * FROM vt PER PARTITION LIMIT 1 LIMIT 2", size)
                .await
                .len(),
            2
        );
    }
    let message = rejection(&env.schema, "SELECT * FROM vt WHERE id = 1");
    assert_eq!(message, crate::cql::restrictions::REQUIRES_ALLOW_FILTERING);
}

/// An empty `IN` selects nothing, whether the list is literal or bound, on one
/// clustering column or a tuple of them, and on the partition key; it is not the
/// absence of a restriction.
#[tokio::test]
async fn empty_in_lists_select_no_rows() {
    let (env, _) = filled();
    for cql in [
        "SELECT v FROM t WHERE k = 0 AND c1 IN ()",
        "SELECT s FROM t WHERE k = 0 AND c1 IN ()",
        "SELECT v FROM t WHERE k = 0 AND c1 = 1 AND c2 IN ()",
        "SELECT v FROM t WHERE k = 0 AND c1 IN () AND c2 > 0",
        "SELECT v FROM t WHERE k = 0 AND (c1, c2) IN ()",
        "SELECT v FROM t WHERE k IN () AND c1 = 1",
        "SELECT v FROM t WHERE k IN (0, 1) AND c1 IN ()",
        "SELECT v FROM t WHERE c1 IN () ALLOW FILTERING",
    ] {
        assert_eq!(env.all(cql).await, Table::new(), "{cql}");
    }
    let empty = [list_value(&[])];
    for cql in [
        "SELECT v FROM t WHERE k = 0 AND c1 IN ?",
        "SELECT v FROM t WHERE k = 0 AND c1 = 1 AND c2 IN ?",
        "SELECT v FROM t WHERE k IN ?",
    ] {
        let rows = env.page(cql, &empty, None, None).await.unwrap().0;
        assert_eq!(rows, Table::new(), "{cql}");
    }
    // The same statements with one value do read rows, so the plans are sound.
    let one = list_value(&[1]);
    let rows = env
        .page(
            "SELECT v FROM t WHERE k = 0 AND c1 IN ?",
            &[one],
            None,
            None,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(ints(&rows), [[Some(11)], [Some(10)]]);
}
