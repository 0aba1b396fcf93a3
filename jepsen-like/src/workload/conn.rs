//! How a worker reaches a node: over a real CQL connection (the process
//! tier), or straight into a simulated node's request handler (the sim
//! tier). Either way a request either answers, fails with the node's error,
//! or is lost with the connection, and the worker classifies it the same.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cql_lite::client::{Client, ClientError};
use cql_lite::{Batch, Consistency, QueryParameters, QueryResult};

/// A boxed future, as the traits' methods return.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Establishing a connection (TCP, OPTIONS, STARTUP) may take this long;
/// failing to means the request was never sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One open connection to a node.
pub(crate) trait Conn: Send + Sync {
    /// Runs one statement at `cl`.
    fn query<'a>(
        &'a self,
        text: &'a str,
        cl: Consistency,
    ) -> BoxFuture<'a, Result<QueryResult, ClientError>>;

    /// Runs a batch.
    fn batch(&self, batch: Batch) -> BoxFuture<'_, Result<QueryResult, ClientError>>;
}

/// Opens connections to the nodes `1..=count()`.
pub(crate) trait Connector: Send + Sync + fmt::Debug {
    /// How many nodes there are.
    fn count(&self) -> usize;

    /// A new connection to node `node` (from 1), or why none could be made
    /// (nothing was sent then).
    fn connect(&self, node: usize) -> BoxFuture<'_, Result<Arc<dyn Conn>, String>>;
}

/// Real CQL connections to the nodes' addresses.
#[derive(Debug)]
pub(crate) struct TcpConnector {
    /// CQL address of node i at index i - 1.
    pub(crate) addrs: Vec<SocketAddr>,
}

impl Connector for TcpConnector {
    fn count(&self) -> usize {
        self.addrs.len()
    }

    fn connect(&self, node: usize) -> BoxFuture<'_, Result<Arc<dyn Conn>, String>> {
        Box::pin(async move {
            let addr = *self.addrs.get(node.wrapping_sub(1)).ok_or("no such node")?;
            let client = tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(addr))
                .await
                .map_err(|_| format!("connect to n{node}: timed out"))?
                .map_err(|e| format!("connect to n{node}: {e}"))?;
            Ok(Arc::new(client) as Arc<dyn Conn>)
        })
    }
}

impl Conn for Client {
    fn query<'a>(
        &'a self,
        text: &'a str,
        cl: Consistency,
    ) -> BoxFuture<'a, Result<QueryResult, ClientError>> {
        Box::pin(Client::query(self, text, QueryParameters::new(cl)))
    }

    fn batch(&self, batch: Batch) -> BoxFuture<'_, Result<QueryResult, ClientError>> {
        Box::pin(Client::batch(self, batch))
    }
}
