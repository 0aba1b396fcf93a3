//! The test keyspace and tables, created through node 1 and waited for on
//! every node (schema changes spread by gossip).

use std::time::Duration;

use cql_lite::Consistency;
use tokio::time::Instant;

use super::{Connector, cql};

const RETRY: Duration = Duration::from_millis(500);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

async fn run(nodes: &dyn Connector, node: usize, statement: &str) -> Result<(), String> {
    let attempt = async {
        let conn = nodes.connect(node).await?;
        conn.query(statement, Consistency::One)
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("n{node}: {statement}: {e}")),
        Err(_) => Err(format!("n{node}: {statement}: timed out")),
    }
}

/// Runs `statement` until it succeeds or `deadline` passes.
async fn until_ok(
    nodes: &dyn Connector,
    node: usize,
    statement: &str,
    deadline: Instant,
) -> Result<(), String> {
    loop {
        match run(nodes, node, statement).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    }
}

/// Creates keyspace `jepsen` (SimpleStrategy, `rf`) and its tables, then waits
/// until every node can read both tables.
pub(crate) async fn create_schema(
    nodes: &dyn Connector,
    rf: usize,
    deadline: Instant,
) -> Result<(), String> {
    if nodes.count() == 0 {
        return Err("no nodes".into());
    }
    let keyspace = cql::CREATE_KEYSPACE.replace("RF", &rf.to_string());
    for statement in [keyspace.as_str(), cql::CREATE_REGISTER, cql::CREATE_SETS] {
        until_ok(nodes, 1, statement, deadline).await?;
    }
    for node in 1..=nodes.count() {
        until_ok(nodes, node, &cql::register_read("probe"), deadline).await?;
        until_ok(nodes, node, &cql::set_read("probe"), deadline).await?;
    }
    Ok(())
}
