//! The bridge from the CQL server's connections to the [`Executor`].

use std::sync::Arc;

use cql_lite::server::{Handler, Reply, Session};
use cql_lite::{ErrorKind, ErrorResponse, Request, Response};

use crate::cql::executor::Executor;

/// Answers QUERY, PREPARE, EXECUTE and BATCH with the executor.
#[derive(Debug)]
pub struct CqlHandler {
    executor: Arc<Executor>,
}

impl CqlHandler {
    /// A handler running requests on `executor`.
    pub fn new(executor: Arc<Executor>) -> Self {
        CqlHandler { executor }
    }
}

impl Handler for CqlHandler {
    async fn handle(&self, session: &Arc<Session>, request: Request) -> Reply {
        let keyspace = session.keyspace();
        let keyspace = keyspace.as_deref();
        let outcome = match request {
            Request::Query { query, parameters } => {
                self.executor.query(keyspace, &query, &parameters).await
            }
            Request::Prepare { query } => self.executor.prepare(keyspace, &query),
            Request::Execute { id, parameters } => self.executor.execute(&id, &parameters).await,
            Request::Batch(batch) => self.executor.batch(keyspace, &batch).await,
            other => Err(ErrorResponse::new(
                ErrorKind::ProtocolError,
                format!("unexpected {:?} message", other.opcode()),
            )),
        };
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
