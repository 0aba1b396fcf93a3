//! The test keyspace and tables, created through node 1 and waited for on
//! every node (schema changes spread by gossip).

use std::net::SocketAddr;
use std::time::Duration;

use cql_lite::client::Client;
use cql_lite::{Consistency, QueryParameters};
use tokio::time::Instant;

use super::cql;

const RETRY: Duration = Duration::from_millis(500);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

async fn run(addr: SocketAddr, statement: &str) -> Result<(), String> {
    let attempt = async {
        let client = Client::connect(addr).await.map_err(|e| e.to_string())?;
        client
            .query(statement, QueryParameters::new(Consistency::One))
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{addr}: {statement}: {e}")),
        Err(_) => Err(format!("{addr}: {statement}: timed out")),
    }
}

/// Runs `statement` until it succeeds or `deadline` passes.
async fn until_ok(addr: SocketAddr, statement: &str, deadline: Instant) -> Result<(), String> {
    loop {
        match run(addr, statement).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    }
}

/// Creates keyspace `jepsen` (SimpleStrategy, `rf`) and its tables, then waits
/// until every node can read both tables.
pub(crate) async fn create_schema(
    nodes: &[SocketAddr],
    rf: usize,
    deadline: Instant,
) -> Result<(), String> {
    let first = *nodes.first().ok_or("no nodes")?;
    let keyspace = cql::CREATE_KEYSPACE.replace("RF", &rf.to_string());
    for statement in [keyspace.as_str(), cql::CREATE_REGISTER, cql::CREATE_SETS] {
        until_ok(first, statement, deadline).await?;
    }
    for &addr in nodes {
        until_ok(addr, &cql::register_read("probe"), deadline).await?;
        until_ok(addr, &cql::set_read("probe"), deadline).await?;
    }
    Ok(())
}
