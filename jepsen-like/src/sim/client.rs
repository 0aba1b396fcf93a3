//! The simulated clients' way to the nodes: a request goes into the node's
//! request queue, a task on the node's runtime answers it through the same
//! handler as the CQL port, and the answer comes back through a oneshot.
//!
//! A node that is down (crashed, or not started yet) refuses connections; a
//! crash drops the node's runtime and with it every request in progress, so
//! the client sees the connection close (`Info`), as a real client does
//! when a node dies mid-request. A paused node's queue fills and waits.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cql_lite::client::ClientError;
use cql_lite::server::{Reply, Session};
use cql_lite::{Batch, Consistency, QueryParameters, QueryResult, Request, Response};
use tokio::sync::{mpsc, oneshot};

use crate::workload::{BoxFuture, Conn, Connector};

/// Requests queued for one node: more wait in the client, as a full
/// socket buffer would make them.
pub(crate) const QUEUE: usize = 256;

/// One request for a node, and where its answer goes.
pub(crate) struct Job {
    pub(crate) session: Arc<Session>,
    pub(crate) request: Request,
    pub(crate) reply: oneshot::Sender<Reply>,
}

/// The request queue of each node (index i - 1), `None` while it is down.
pub(crate) type Slots = Arc<Mutex<Vec<Option<mpsc::Sender<Job>>>>>;

/// Opens [`SimConn`]s to the nodes whose queue is up.
#[derive(Debug)]
pub(crate) struct SimConnector {
    slots: Slots,
    next_session: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl SimConnector {
    pub(crate) fn new(slots: Slots) -> Self {
        SimConnector {
            slots,
            next_session: AtomicU64::new(1),
        }
    }
}

impl Connector for SimConnector {
    fn count(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn connect(&self, node: usize) -> BoxFuture<'_, Result<Arc<dyn Conn>, String>> {
        let slot = {
            let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.get(node.wrapping_sub(1)).cloned()
        };
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let queue = slot
                .ok_or_else(|| format!("no node n{node}"))?
                .ok_or_else(|| format!("connect to n{node}: connection refused"))?;
            // The client's address only names the session in the node's logs.
            let peer = SocketAddr::new(IpAddr::from([10, 0, 1, 1]), 40_000);
            let session = Arc::new(Session::new(id, peer));
            Ok(Arc::new(SimConn { queue, session }) as Arc<dyn Conn>)
        })
    }
}

/// A connection to one node.
struct SimConn {
    queue: mpsc::Sender<Job>,
    session: Arc<Session>,
}

impl SimConn {
    async fn call(&self, request: Request) -> Result<QueryResult, ClientError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            session: Arc::clone(&self.session),
            request,
            reply,
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| ClientError::Closed)?;
        let reply = answer.await.map_err(|_| ClientError::Closed)?;
        match reply.response {
            Response::Result(result) => Ok(result),
            Response::Error(error) => Err(ClientError::Server(error)),
            other => Err(ClientError::Unexpected(Box::new(other))),
        }
    }
}

impl Conn for SimConn {
    fn query<'a>(
        &'a self,
        text: &'a str,
        cl: Consistency,
    ) -> BoxFuture<'a, Result<QueryResult, ClientError>> {
        Box::pin(self.call(Request::Query {
            query: text.to_owned(),
            parameters: QueryParameters::new(cl),
        }))
    }

    fn batch(&self, batch: Batch) -> BoxFuture<'_, Result<QueryResult, ClientError>> {
        Box::pin(self.call(Request::Batch(batch)))
    }
}
