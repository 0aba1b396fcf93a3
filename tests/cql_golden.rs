//! Golden tests for CQL execution: every `tests/cql/NAME.cql` is run statement by
//! statement against a fresh in-process node (storage on an in-memory file system,
//! a manual clock, a fixed node identity), and the transcript — each statement,
//! then its rows, schema change or error — must equal `tests/cql/NAME.out`.
//!
//! A file is split into statements at lines ending with `;` (a batch ends at the
//! line ending with `APPLY BATCH;`). Lines starting with
//! `--` between statements are copied into the transcript as section markers,
//! except directives:
//! - `-- @advance 10s` moves the wall clock (and storage's clock) forward, so TTL
//!   expiry is tested without sleeping (units `s`, `m`, `h`, `d`).
//!
//! Regenerate after a deliberate change with
//! `UPDATE_EXPECT=1 cargo test -p basalt --test cql_golden`, then review the diff
//! against Cassandra's behaviour.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use basalt::LocalCoordinator;
use basalt::{Executor, ExecutorParts};
use basalt::{Guardrails, Outcome, TimeSource};
use basalt::{NodeInfo, SchemaService, SystemTables};
use cql_lite::{
    Columns, Consistency, CqlType, ErrorResponse, QueryParameters, QueryResult, Rows,
    SchemaChangeTarget, SchemaChangeType,
};
use storage::ManualClock;
use storage::sim::SimFs;
use storage::{Engine, EngineOptions};

/// 2023-11-14T22:13:20Z: a fixed start so timestamps in transcripts are stable.
const START_SECONDS: i64 = 1_700_000_000;

/// Wall time that moves only when a file says so; write timestamps count up from
/// it by one microsecond per write, like a hybrid logical clock whose wall clock
/// stands still.
#[derive(Debug)]
struct ScriptTime {
    wall_micros: AtomicI64,
    last: AtomicI64,
}

impl ScriptTime {
    fn new() -> Self {
        ScriptTime {
            wall_micros: AtomicI64::new(START_SECONDS * 1_000_000),
            last: AtomicI64::new(0),
        }
    }
}

impl TimeSource for ScriptTime {
    fn write_timestamp(&self) -> i64 {
        let wall = self.wall_micros.load(Ordering::SeqCst);
        let next = self.last.load(Ordering::SeqCst).saturating_add(1).max(wall);
        self.last.store(next, Ordering::SeqCst);
        next
    }

    fn observe(&self, timestamp: i64) {
        self.last.fetch_max(timestamp, Ordering::SeqCst);
    }

    fn wall_micros(&self) -> i64 {
        self.wall_micros.load(Ordering::SeqCst)
    }
}

struct Node {
    executor: Executor,
    time: Arc<ScriptTime>,
    storage_clock: Arc<ManualClock>,
    keyspace: Option<String>,
}

impl Node {
    fn start() -> Node {
        let fs = SimFs::new();
        let storage_clock = Arc::new(ManualClock::new(START_SECONDS));
        let options = EngineOptions::new("/data", storage_clock.clone());
        let engine = Arc::new(Engine::open(Arc::new(fs.clone()), options).unwrap());
        let schema = Arc::new(
            SchemaService::open(
                Arc::new(fs),
                Path::new("/data"),
                Arc::clone(&engine),
                vec!["datacenter1".into()],
            )
            .unwrap(),
        );
        let time = Arc::new(ScriptTime::new());
        let executor = Executor::new(ExecutorParts {
            schema,
            coordinator: Arc::new(LocalCoordinator::new(engine)),
            system_tables: Arc::new(SystemTables::new(node_info())),
            time: time.clone(),
            guardrails: Guardrails::default(),
            prepared_capacity: 64,
        });
        Node {
            executor,
            time,
            storage_clock,
            keyspace: None,
        }
    }

    fn advance(&self, seconds: i64) {
        self.time
            .wall_micros
            .fetch_add(seconds * 1_000_000, Ordering::SeqCst);
        self.storage_clock.advance(seconds);
    }

    async fn run(&mut self, text: &str) -> Result<Outcome, ErrorResponse> {
        let params = QueryParameters::new(Consistency::One);
        let outcome = self
            .executor
            .query(self.keyspace.as_deref(), text, &params)
            .await;
        if let Ok(Outcome {
            result: QueryResult::SetKeyspace(ks),
            ..
        }) = &outcome
        {
            self.keyspace = Some(ks.clone());
        }
        outcome
    }
}

fn node_info() -> NodeInfo {
    let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    NodeInfo {
        cluster_name: "Golden Cluster".to_owned(),
        listen_address: address,
        listen_port: 7000,
        rpc_address: address,
        native_port: 9042,
        data_center: "datacenter1".to_owned(),
        rack: "rack1".to_owned(),
        host_id: *b"\x5e\x1d\x0f\x00\x00\x00\x40\x00\x80\x00\x00\x00\x00\x00\x00\x01",
        tokens: vec![-6_000_000_000_000_000_000, 0, 6_000_000_000_000_000_000],
        partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".to_owned(),
        release_version: basalt::RELEASE_VERSION.to_owned(),
        cql_version: basalt::CQL_VERSION.to_owned(),
        gossip_generation: 1_700_000_000,
    }
}

/// One step of a script.
enum Step {
    /// A `--` line: copied into the transcript.
    Comment(String),
    /// `-- @advance N<unit>`.
    Advance(i64),
    /// A statement, its lines as written.
    Statement(String),
}

fn steps(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() {
            if trimmed.is_empty() {
                continue;
            }
            if let Some(directive) = trimmed.strip_prefix("-- @advance") {
                steps.push(Step::Advance(duration_seconds(directive.trim())));
                continue;
            }
            if trimmed.starts_with("--") {
                steps.push(Step::Comment(trimmed.to_owned()));
                continue;
            }
        }
        pending.push_str(line);
        pending.push('\n');
        // A batch holds `;`-terminated statements: it ends at `APPLY BATCH;`.
        let in_batch = pending
            .trim_start()
            .get(..5)
            .is_some_and(|w| w.eq_ignore_ascii_case("BEGIN"));
        let ends_batch = trimmed
            .to_ascii_uppercase()
            .trim_end_matches(';')
            .trim_end()
            .ends_with("APPLY BATCH");
        if trimmed.ends_with(';') && (!in_batch || ends_batch) {
            steps.push(Step::Statement(std::mem::take(&mut pending)));
        }
    }
    assert!(
        pending.trim().is_empty(),
        "statement without a closing `;`: {pending}"
    );
    steps
}

fn duration_seconds(text: &str) -> i64 {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap();
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().unwrap();
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => panic!("unknown @advance unit {other:?}"),
    }
}

/// The error's kind without its fields: `AlreadyExists`, `Invalid`, ...
fn kind_name(e: &ErrorResponse) -> String {
    let debug = format!("{:?}", e.kind);
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn render_outcome(out: &mut String, result: Result<Outcome, ErrorResponse>) {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            let code = e.kind.code();
            writeln!(out, "ERROR {code:#06x} {}: {}", kind_name(&e), e.message).unwrap();
            return;
        }
    };
    for warning in &outcome.warnings {
        writeln!(out, "WARNING: {warning}").unwrap();
    }
    match outcome.result {
        QueryResult::Void => {}
        QueryResult::SetKeyspace(ks) => writeln!(out, "USE {ks}").unwrap(),
        QueryResult::SchemaChange(change) => {
            let kind = match change.change_type {
                SchemaChangeType::Created => "CREATED",
                SchemaChangeType::Updated => "UPDATED",
                SchemaChangeType::Dropped => "DROPPED",
            };
            let target = match change.target {
                SchemaChangeTarget::Keyspace { keyspace } => format!("KEYSPACE {keyspace}"),
                SchemaChangeTarget::Table { keyspace, table } => {
                    format!("TABLE {keyspace} {table}")
                }
                SchemaChangeTarget::Type { keyspace, name } => format!("TYPE {keyspace} {name}"),
                SchemaChangeTarget::Function { keyspace, name, .. } => {
                    format!("FUNCTION {keyspace} {name}")
                }
                SchemaChangeTarget::Aggregate { keyspace, name, .. } => {
                    format!("AGGREGATE {keyspace} {name}")
                }
            };
            writeln!(out, "SCHEMA_CHANGE {kind} {target}").unwrap();
        }
        QueryResult::Rows(rows) => render_rows(out, &rows),
        QueryResult::Prepared(_) => writeln!(out, "PREPARED").unwrap(),
    }
}

/// A cqlsh-like table: a header, a rule, one line per row, and the row count.
fn render_rows(out: &mut String, rows: &Rows) {
    let Columns::Specs(specs) = &rows.metadata.columns else {
        writeln!(out, "(rows without metadata)").unwrap();
        return;
    };
    let header: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let types: Vec<Option<CqlType>> = specs
        .iter()
        .map(|s| CqlType::from_column_type(&s.column_type).ok())
        .collect();
    let cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&types)
                .map(|(cell, ty)| render_cell(cell.as_deref(), ty.as_ref()))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: &[String]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!(" {v:<w$} "))
            .collect();
        padded.join("|").trim_end().to_owned()
    };
    writeln!(out, "{}", line(&header)).unwrap();
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    writeln!(out, "{}", rule.join("+")).unwrap();
    for row in &cells {
        writeln!(out, "{}", line(row)).unwrap();
    }
    writeln!(out, "\n({} rows)", cells.len()).unwrap();
    if rows.metadata.paging_state.is_some() {
        writeln!(out, "(more pages)").unwrap();
    }
}

fn render_cell(cell: Option<&[u8]>, ty: Option<&CqlType>) -> String {
    let Some(bytes) = cell else {
        return "null".to_owned();
    };
    let Some(ty) = ty else {
        return format!("<custom 0x{}>", hex(bytes));
    };
    match cql_lite::value::deserialize(ty, bytes) {
        Ok(value) => cql_lite::format_cqlsh(ty, &value),
        Err(e) => format!("<undecodable {ty}: {e}>"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn transcript(text: &str) -> String {
    let mut node = Node::start();
    let mut out = String::new();
    for step in steps(text) {
        match step {
            Step::Comment(line) => writeln!(out, "{line}\n").unwrap(),
            Step::Advance(seconds) => {
                node.advance(seconds);
                writeln!(out, "-- (clock advanced {seconds}s)\n").unwrap();
            }
            Step::Statement(statement) => {
                for line in statement.lines() {
                    writeln!(out, "> {line}").unwrap();
                }
                let result = node.run(&statement).await;
                render_outcome(&mut out, result);
                out.push('\n');
            }
        }
    }
    out
}

#[tokio::test]
async fn cql_golden() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cql");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let only = std::env::var("GOLDEN_ONLY").ok();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cql"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s == o))
        })
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no golden inputs in {}", dir.display());
    let mut mismatches = Vec::new();
    for path in entries {
        let actual = transcript(&std::fs::read_to_string(&path).unwrap()).await;
        let expected_path = path.with_extension("out");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(e, a)| e != a)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            let shown = actual.lines().nth(line).unwrap_or("<end of transcript>");
            mismatches.push(format!(
                "{}: first difference at line {}: got {shown:?}",
                expected_path.display(),
                line + 1
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ (rerun with UPDATE_EXPECT=1 and review the diff):\n{}",
        mismatches.join("\n")
    );
}
