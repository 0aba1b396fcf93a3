//! The simulated clients' way to the nodes: a request goes into the node's
//! request queue, a task on the node's runtime answers it through the same
//! handler as the CQL port, and the answer comes back through a oneshot.
//!
//! A node that is down (crashed, or not started yet) refuses connections; a
//! crash drops the node's runtime and with it every request in progress, so
//! the client sees the connection close (`Info`), as a real client does
//! when a node dies mid-request. A paused node's queue fills and waits.

use std::collections::BTreeMap;
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

/// One request for a node; its answer goes to the sender under `id` in the
/// node's [`Pending`].
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) session: Arc<Session>,
    pub(crate) request: Request,
}

/// Where the answers of a node's requests go, by request id. The world
/// drops them in id order when the node crashes, before it drops the node's
/// runtime: the clients then learn of the lost connection in the same order
/// on every run, whatever order the runtime drops its tasks in.
pub(crate) type Pending = Arc<Mutex<BTreeMap<u64, oneshot::Sender<Reply>>>>;

/// A running node's request queue and pending answers.
#[derive(Clone, Debug)]
pub(crate) struct NodeQueue {
    pub(crate) jobs: mpsc::Sender<Job>,
    pub(crate) pending: Pending,
}

impl NodeQueue {
    /// Answers request `id`, unless the node crashed meanwhile.
    pub(crate) fn answer(pending: &Pending, id: u64, reply: Reply) {
        let sender = pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(sender) = sender {
            let _ = sender.send(reply);
        }
    }

    /// Drops every pending answer, in id order.
    pub(crate) fn fail_pending(&self) {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        for (_, sender) in pending {
            drop(sender);
        }
    }
}

/// The request queue of each node (index i - 1), `None` while it is down.
pub(crate) type Slots = Arc<Mutex<Vec<Option<NodeQueue>>>>;

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
    queue: NodeQueue,
    session: Arc<Session>,
}

/// Request ids, unique within a process (the order of ids among one node's
/// requests is all that matters, and one client host sends them all).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl SimConn {
    async fn call(&self, request: Request) -> Result<QueryResult, ClientError> {
        let (reply, answer) = oneshot::channel();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.queue
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, reply);
        let job = Job {
            id,
            session: Arc::clone(&self.session),
            request,
        };
        self.queue
            .jobs
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
