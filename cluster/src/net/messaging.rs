//! [`Messaging`]: request/response, one-way messages and verb handlers on
//! top of any [`Transport`] — TCP in a node, [`sim`](super::sim) in tests.
//!
//! A request gets a fresh id and waits (with a timeout) for a reply carrying
//! that id: [`Verb::RESPONSE`] with the handler's bytes, or
//! [`Verb::FAILURE`] with a remote error. One dispatch task reads the
//! transport: replies complete their waiting request, everything else runs
//! the verb's handler in its own task. Like Cassandra, messages for verbs
//! with no handler, replies nobody waits for any more, and requests beyond
//! the handler limit are dropped and counted rather than queued, so memory
//! stays bounded and a slow handler never blocks the replies other requests
//! wait for.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

use super::{BoxFuture, Endpoint, Envelope, Message, MessageKind, Transport, TransportError, Verb};

/// A verb handler: gets the payload and the sender, returns the reply's
/// payload (`None`: no reply; the requester times out). Boxed so handlers
/// of any type share one map.
pub(crate) type Handler =
    Arc<dyn Fn(Vec<u8>, Endpoint) -> BoxFuture<'static, Option<Vec<u8>>> + Send + Sync>;

/// Handlers that may run at once by default; requests beyond are dropped.
pub(crate) const DEFAULT_MAX_CONCURRENT_HANDLERS: usize = 4096;

/// Why a request or a send failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessagingError {
    /// No reply within the timeout (lost, slow, or never sent).
    #[error("request timed out")]
    Timeout,
    /// The transport refused the message.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The peer's handler failed; its error text.
    #[error("remote error: {0}")]
    Remote(String),
    /// The verb is one of the reserved reply verbs.
    #[error("{0:?} is reserved for replies")]
    ReservedVerb(Verb),
}

/// What messaging has done, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessagingStats {
    /// Requests handed to the transport.
    pub requests: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Replies that matched no waiting request (late, after a timeout, or
    /// from another peer than the one asked).
    pub dropped_unmatched_replies: u64,
    /// Messages for a verb with no handler.
    pub dropped_unknown_verb: u64,
    /// Messages dropped because the handler limit was reached.
    pub dropped_overloaded: u64,
    /// Replies the transport refused to send.
    pub dropped_replies: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    timeouts: AtomicU64,
    dropped_unmatched_replies: AtomicU64,
    dropped_unknown_verb: AtomicU64,
    dropped_overloaded: AtomicU64,
    dropped_replies: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A request waiting for its reply.
struct Pending {
    peer: Endpoint,
    reply: oneshot::Sender<Result<Vec<u8>, MessagingError>>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    handlers: RwLock<HashMap<Verb, Handler>>,
    pending: Mutex<HashMap<u64, Pending>>,
    handler_permits: Arc<Semaphore>,
    next_id: AtomicU64,
    counters: Counters,
}

/// Request/response messaging over a [`Transport`]; see the module docs.
pub struct Messaging {
    inner: Arc<Inner>,
    dispatcher: JoinHandle<()>,
}

impl fmt::Debug for Messaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messaging")
            .field("local", &self.inner.transport.local())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Removes a request's entry however its wait ends (reply, timeout, or the
/// caller dropping the future), so the map holds only live requests.
struct PendingGuard<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.inner.pending().remove(&self.id);
    }
}

impl Messaging {
    /// Starts messaging over `transport` with the default handler limit.
    /// The dispatch task takes over `transport.recv()`.
    ///
    /// Panics outside a tokio runtime, like `tokio::spawn`.
    pub fn new(transport: Arc<dyn Transport>) -> Messaging {
        Messaging::with_handler_limit(transport, DEFAULT_MAX_CONCURRENT_HANDLERS)
    }

    /// Starts messaging that runs at most `max_concurrent_handlers` handlers
    /// at once.
    pub fn with_handler_limit(
        transport: Arc<dyn Transport>,
        max_concurrent_handlers: usize,
    ) -> Messaging {
        let inner = Arc::new(Inner {
            transport,
            handlers: RwLock::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            handler_permits: Arc::new(Semaphore::new(max_concurrent_handlers.max(1))),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
        });
        let dispatcher = tokio::spawn(dispatch(inner.clone()));
        Messaging { inner, dispatcher }
    }

    /// This node's address.
    pub fn local(&self) -> Endpoint {
        self.inner.transport.local()
    }

    /// The transport underneath.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.inner.transport
    }

    /// Sets the handler of `verb`, replacing any previous one. Handlers of
    /// the reply verbs are never called.
    pub fn register<F, Fut>(&self, verb: Verb, handler: F)
    where
        F: Fn(Vec<u8>, Endpoint) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Vec<u8>>> + Send + 'static,
    {
        let boxed: Handler = Arc::new(move |payload, from| Box::pin(handler(payload, from)));
        self.register_boxed(verb, boxed);
    }

    /// [`Messaging::register`] for an already boxed handler.
    pub fn register_boxed(&self, verb: Verb, handler: Handler) {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(verb, handler);
    }

    /// Sends a request and waits up to `timeout` for its reply's payload.
    pub async fn request(
        &self,
        to: Endpoint,
        verb: Verb,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, MessagingError> {
        if verb.is_reply() {
            return Err(MessagingError::ReservedVerb(verb));
        }
        let inner = &*self.inner;
        let id = inner.next_id();
        let (tx, rx) = oneshot::channel();
        inner.pending().insert(
            id,
            Pending {
                peer: to,
                reply: tx,
            },
        );
        let _guard = PendingGuard { inner, id };
        inner
            .transport
            .send(to, Message { verb, id, payload })
            .await?;
        bump(&inner.counters.requests);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            // The dispatcher ended: the transport is closed.
            Ok(Err(_)) => Err(TransportError::Closed.into()),
            Err(_) => {
                bump(&inner.counters.timeouts);
                Err(MessagingError::Timeout)
            }
        }
    }

    /// Sends a message that wants no reply.
    pub async fn one_way(
        &self,
        to: Endpoint,
        verb: Verb,
        payload: Vec<u8>,
    ) -> Result<(), MessagingError> {
        if verb.is_reply() {
            return Err(MessagingError::ReservedVerb(verb));
        }
        let message = Message {
            verb,
            id: super::kind::ONE_WAY_ID,
            payload,
        };
        Ok(self.inner.transport.send(to, message).await?)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MessagingStats {
        let c = &self.inner.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MessagingStats {
            requests: get(&c.requests),
            timeouts: get(&c.timeouts),
            dropped_unmatched_replies: get(&c.dropped_unmatched_replies),
            dropped_unknown_verb: get(&c.dropped_unknown_verb),
            dropped_overloaded: get(&c.dropped_overloaded),
            dropped_replies: get(&c.dropped_replies),
        }
    }

    /// Requests waiting for a reply (bounded by the callers' timeouts).
    pub fn pending_requests(&self) -> usize {
        self.inner.pending().len()
    }
}

impl Drop for Messaging {
    fn drop(&mut self) {
        self.dispatcher.abort();
    }
}

/// Reads the transport until it closes, routing every message.
async fn dispatch(inner: Arc<Inner>) {
    while let Some(envelope) = inner.transport.recv().await {
        match MessageKind::of(&envelope.message) {
            MessageKind::Response => inner.complete(envelope),
            MessageKind::Request | MessageKind::OneWay => inner.handle(envelope),
        }
    }
    // Dropping the senders wakes every waiting request with `Closed`.
    inner.pending().clear();
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        // Single inserts and removes: consistent even after a panic.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh request id; never [`ONE_WAY_ID`](super::kind::ONE_WAY_ID).
    fn next_id(&self) -> u64 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != super::kind::ONE_WAY_ID {
                return id;
            }
        }
    }

    /// Hands a reply to the request waiting for it, if it is still waiting
    /// and the reply comes from the peer that was asked.
    fn complete(&self, envelope: Envelope) {
        let Message { verb, id, payload } = envelope.message;
        let waiting = {
            let mut pending = self.pending();
            match pending.get(&id) {
                Some(p) if p.peer == envelope.from => pending.remove(&id),
                _ => None,
            }
        };
        let Some(waiting) = waiting else {
            tracing::debug!(from = %envelope.from, id, "dropping a reply nobody waits for");
            bump(&self.counters.dropped_unmatched_replies);
            return;
        };
        let result = if verb == Verb::RESPONSE {
            Ok(payload)
        } else {
            Err(MessagingError::Remote(
                String::from_utf8_lossy(&payload).into_owned(),
            ))
        };
        // The requester may have given up just now; nothing to do then.
        let _ = waiting.reply.send(result);
    }

    /// Runs the handler of a request or one-way message in its own task.
    fn handle(self: &Arc<Self>, envelope: Envelope) {
        let Envelope { from, message, .. } = envelope;
        let (verb, id) = (message.verb, message.id);
        let handler = self
            .handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&verb)
            .cloned();
        let Some(handler) = handler else {
            tracing::debug!(%from, ?verb, id, "dropping a message for a verb with no handler");
            bump(&self.counters.dropped_unknown_verb);
            return;
        };
        let Ok(permit) = self.handler_permits.clone().try_acquire_owned() else {
            tracing::debug!(%from, ?verb, id, "dropping a message: too many handlers running");
            bump(&self.counters.dropped_overloaded);
            return;
        };
        let work = handler(message.payload, from);
        if id == super::kind::ONE_WAY_ID {
            tokio::spawn(async move {
                let _permit = permit;
                let _ = work.await;
            });
            return;
        }
        // The handler runs in a task of its own so that a panic in it
        // becomes a FAILURE reply instead of a silent timeout.
        let task = tokio::spawn(work);
        let inner = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let reply = match task.await {
                Ok(Some(body)) => Message {
                    verb: Verb::RESPONSE,
                    id,
                    payload: body,
                },
                Ok(None) => return,
                Err(error) => Message {
                    verb: Verb::FAILURE,
                    id,
                    payload: format!("handler for {verb:?} failed: {error}").into_bytes(),
                },
            };
            if let Err(error) = inner.transport.send(from, reply).await {
                tracing::debug!(%from, ?verb, id, %error, "could not send a reply");
                bump(&inner.counters.dropped_replies);
            }
        });
    }
}
