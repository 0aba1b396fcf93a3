//! The bridge from the CQL server's connections to the [`Executor`].

use std::sync::Arc;
use std::time::Instant;

use cql_lite::server::{Handler, Reply, Session};
use cql_lite::{Consistency, ErrorKind, ErrorResponse, QueryResult, Request, Response};

use crate::cql::executor::Executor;
use crate::metrics::{Kind, Metrics, Op, Outcome};

/// Answers QUERY, PREPARE, EXECUTE and BATCH with the executor, and records
/// each request's latency and outcome in the node's [`Metrics`].
#[derive(Debug)]
pub(crate) struct CqlHandler {
    executor: Arc<Executor>,
    metrics: Arc<Metrics>,
}

impl CqlHandler {
    /// A handler running requests on `executor`, recording into `metrics`.
    pub(crate) fn new(executor: Arc<Executor>, metrics: Arc<Metrics>) -> Self {
        CqlHandler { executor, metrics }
    }
}

impl Handler for CqlHandler {
    async fn handle(&self, session: &Arc<Session>, request: Request) -> Reply {
        let started = Instant::now();
        let keyspace = session.keyspace();
        let keyspace = keyspace.as_deref();
        let (op, level, outcome) = match request {
            Request::Query { query, parameters } => (
                Op::Query,
                Some(parameters.consistency),
                self.executor.query(keyspace, &query, &parameters).await,
            ),
            Request::Prepare { query } => {
                (Op::Prepare, None, self.executor.prepare(keyspace, &query))
            }
            Request::Execute { id, parameters } => (
                Op::Execute,
                Some(parameters.consistency),
                self.executor.execute(&id, &parameters).await,
            ),
            Request::Batch(batch) => (
                Op::Batch,
                Some(batch.consistency),
                self.executor.batch(keyspace, &batch).await,
            ),
            other => {
                return Reply::error(
                    ErrorKind::ProtocolError,
                    format!("unexpected {:?} message", other.opcode()),
                );
            }
        };
        self.record(op, level, &outcome, started);
        match outcome {
            Ok(outcome) => Reply {
                response: Response::Result(outcome.result),
                warnings: outcome.warnings,
            },
            Err(error) => Reply {
                response: Response::Error(error),
                warnings: Vec::new(),
            },
        }
    }
}

impl CqlHandler {
    fn record(
        &self,
        op: Op,
        level: Option<Consistency>,
        outcome: &Result<crate::cql::Outcome, ErrorResponse>,
        started: Instant,
    ) {
        let (kind, class) = match outcome {
            Ok(o) => (result_kind(op, &o.result), Outcome::Ok),
            Err(e) => (
                Outcome::kind_of_error(&e.kind).unwrap_or(match op {
                    Op::Batch => Kind::Write,
                    _ => Kind::Other,
                }),
                Outcome::of_error(&e.kind),
            ),
        };
        self.metrics
            .record(op, kind, level, class, started.elapsed());
    }
}

/// Rows come from reads and Void from writes (TRUNCATE too, as Cassandra counts
/// it); DDL, USE and PREPARE are neither.
fn result_kind(op: Op, result: &QueryResult) -> Kind {
    match (op, result) {
        (Op::Batch, _) => Kind::Write,
        (_, QueryResult::Rows(_)) => Kind::Read,
        (_, QueryResult::Void) => Kind::Write,
        _ => Kind::Other,
    }
}
