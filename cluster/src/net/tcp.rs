//! [`TcpTransport`]: the [`Transport`] seam over TCP, on the storage port
//! (Cassandra's 7000).
//!
//! Outbound, each peer gets one connection per [`Lane`]: gossip on the
//! urgent lane, everything else on the data lane, so a backlog of bulk data
//! never delays the heartbeats that keep a node alive in its peers' failure
//! detectors. Each connection has a bounded queue (messages and bytes;
//! [`TransportError::QueueFull`] beyond it, the caller's back-pressure) and
//! one writer task that coalesces what is queued into one write, reconnects
//! with exponential backoff and keeps the queue meanwhile.
//!
//! Inbound, every accepted connection must open with a handshake frame
//! naming the sender's listen address: that, not the ephemeral source port,
//! is the `from` of what it delivers, so replies go back to the sender's
//! listener. Connections are one-directional (a node only writes on the
//! connections it opened), as in Cassandra. Every frame is checksummed
//! ([`super::frame`]); a bad one closes its connection, never the listener.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::frame::{self, DEFAULT_MAX_PAYLOAD, Frame};
use super::lane::default_lane;
use super::{BoxFuture, Endpoint, Envelope, Lane, Message, Transport, TransportError, Verb};

mod inbound;
mod outbound;

use outbound::Outbound;

/// Limits and timings of a [`TcpTransport`].
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// The address announced in handshakes (Cassandra's
    /// `broadcast_address`); the bound address when `None`. Set it when
    /// binding a wildcard address such as `0.0.0.0`.
    pub advertise: Option<Endpoint>,
    /// Largest payload sent or accepted; a larger inbound frame closes its
    /// connection, a larger outbound message is dropped (and counted).
    pub max_payload: u32,
    /// Messages an outbound connection may hold before `send` fails.
    pub queue_messages: usize,
    /// Encoded bytes an outbound connection may hold before `send` fails
    /// (one message is always accepted into an empty queue).
    pub queue_bytes: usize,
    /// Most bytes coalesced into one socket write (at least one frame).
    pub max_batch_bytes: usize,
    /// Received messages waiting for [`Transport::recv`]; when it is full,
    /// readers stop reading and TCP pushes back on the senders.
    pub inbound_capacity: usize,
    /// Inbound connections served at once; more are closed on accept.
    pub max_inbound_connections: usize,
    /// First pause after a failed connect; doubled after each failure.
    pub backoff_initial: Duration,
    /// Longest pause between connect attempts.
    pub backoff_max: Duration,
    /// Bound on connecting and sending the handshake.
    pub connect_timeout: Duration,
    /// How long an accepted connection may take to send its handshake.
    pub handshake_timeout: Duration,
    /// How long [`TcpTransport::shutdown`] lets writers flush their queues.
    pub shutdown_grace: Duration,
    /// Which lane a verb travels on.
    pub lane_of: fn(Verb) -> Lane,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            advertise: None,
            max_payload: DEFAULT_MAX_PAYLOAD,
            queue_messages: 1024,
            queue_bytes: 64 * 1024 * 1024,
            max_batch_bytes: 1024 * 1024,
            inbound_capacity: 1024,
            max_inbound_connections: 1024,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(1),
            lane_of: default_lane,
        }
    }
}

/// What a [`TcpTransport`] has done, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Outbound connections established (first connects and reconnects).
    pub connections_opened: u64,
    /// Outbound connect attempts that failed.
    pub connect_failures: u64,
    /// Queued messages lost because the write carrying them failed.
    pub messages_lost: u64,
    /// Outbound messages dropped for exceeding `max_payload`.
    pub oversized_dropped: u64,
    /// Inbound connections closed for a bad frame or handshake.
    pub corrupt_connections: u64,
    /// Inbound connections refused over `max_inbound_connections`.
    pub connections_rejected: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections_opened: AtomicU64,
    connect_failures: AtomicU64,
    messages_lost: AtomicU64,
    oversized_dropped: AtomicU64,
    corrupt_connections: AtomicU64,
    connections_rejected: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// An outbound connection's queue and the task writing it.
#[derive(Debug)]
struct OutboundEntry {
    queue: Arc<Outbound>,
    writer: JoinHandle<()>,
}

/// State shared by the transport handle and its tasks.
#[derive(Debug)]
struct Shared {
    local: Endpoint,
    config: TcpConfig,
    runtime: Handle,
    /// Flipped to true once; every task watches it.
    shutdown: watch::Sender<bool>,
    outbound: Mutex<HashMap<(Endpoint, Lane), OutboundEntry>>,
    counters: Counters,
}

impl Shared {
    fn outbound(&self) -> MutexGuard<'_, HashMap<(Endpoint, Lane), OutboundEntry>> {
        // The map is only inserted into and drained; a panic elsewhere while
        // holding the lock leaves it consistent.
        self.outbound.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// A TCP [`Transport`]; see the module docs.
#[derive(Debug)]
pub struct TcpTransport {
    shared: Arc<Shared>,
    inbound: tokio::sync::Mutex<mpsc::Receiver<Envelope>>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl TcpTransport {
    /// Binds `listen` and starts accepting peers. Port 0 picks a free port;
    /// [`Transport::local`] reports the one bound (or `config.advertise`).
    /// Must be called inside a tokio runtime, which runs the transport's tasks.
    pub async fn bind(listen: SocketAddr, config: TcpConfig) -> io::Result<TcpTransport> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let listener = TcpListener::bind(listen).await?;
        let local = match config.advertise {
            Some(advertise) => advertise,
            None => listener.local_addr()?,
        };
        let (tx, rx) = mpsc::channel(config.inbound_capacity.max(1));
        let shared = Arc::new(Shared {
            local,
            config,
            runtime: runtime.clone(),
            shutdown: watch::Sender::new(false),
            outbound: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        });
        let acceptor = runtime.spawn(inbound::run_acceptor(shared.clone(), listener, tx));
        Ok(TcpTransport {
            shared,
            inbound: tokio::sync::Mutex::new(rx),
            acceptor: Mutex::new(Some(acceptor)),
        })
    }

    /// Stops accepting, closes inbound connections, lets writers flush what
    /// is queued for up to `shutdown_grace`, then closes everything. Later
    /// sends fail with [`TransportError::Closed`]; `recv` drains what was
    /// received and then returns `None`. The port is free once this returns.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let mut tasks: Vec<JoinHandle<()>> = self.take_tasks();
        let grace = self.shared.config.shutdown_grace;
        let all = async {
            for task in tasks.iter_mut() {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            for task in &tasks {
                task.abort();
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    }

    fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> = self
            .shared
            .outbound()
            .drain()
            .map(|(_, entry)| entry.writer)
            .collect();
        let acceptor = self
            .acceptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        tasks.extend(acceptor);
        tasks
    }

    /// Messages queued towards `to` on `lane` and not yet written.
    pub fn queued(&self, to: Endpoint, lane: Lane) -> usize {
        self.shared
            .outbound()
            .get(&(to, lane))
            .map_or(0, |entry| entry.queue.len())
    }

    /// A snapshot of the transport's counters.
    pub fn stats(&self) -> TcpStats {
        let c = &self.shared.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TcpStats {
            connections_opened: get(&c.connections_opened),
            connect_failures: get(&c.connect_failures),
            messages_lost: get(&c.messages_lost),
            oversized_dropped: get(&c.oversized_dropped),
            corrupt_connections: get(&c.corrupt_connections),
            connections_rejected: get(&c.connections_rejected),
        }
    }

    /// Queues `message` on its lane's connection to `to`, creating the
    /// connection's queue and writer on first use.
    fn enqueue(&self, to: Endpoint, message: Message) -> Result<(), TransportError> {
        let shared = &self.shared;
        let lane = (shared.config.lane_of)(message.verb);
        let (verb, id) = (message.verb, message.id);
        let mut bytes = Vec::new();
        if let Err(error) = frame::encode_frame(
            &mut bytes,
            &Frame::from_message(message),
            shared.config.max_payload,
        ) {
            // The peer would refuse the frame and drop the connection, so
            // it is never sent; the caller's request times out.
            tracing::warn!(%to, ?verb, id, %error, "dropping oversized internode message");
            bump(&shared.counters.oversized_dropped, 1);
            return Ok(());
        }
        let mut map = shared.outbound();
        // Checked under the map lock: shutdown sets the flag before draining
        // the map, so no writer is created after the drain.
        if shared.is_shut_down() {
            return Err(TransportError::Closed);
        }
        let entry = map.entry((to, lane)).or_insert_with(|| {
            let queue = Arc::new(Outbound::new(
                shared.config.queue_messages,
                shared.config.queue_bytes,
            ));
            let task = outbound::run_writer(shared.clone(), queue.clone(), to, lane);
            OutboundEntry {
                queue,
                writer: shared.runtime.spawn(task),
            }
        });
        if entry.queue.push(bytes) {
            Ok(())
        } else {
            Err(TransportError::QueueFull(to))
        }
    }
}

impl Drop for TcpTransport {
    /// Without an awaited [`TcpTransport::shutdown`], tasks are stopped
    /// abruptly: queued messages are lost and the port is freed once the
    /// runtime has run the cancellations.
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        for task in self.take_tasks() {
            task.abort();
        }
    }
}

impl Transport for TcpTransport {
    fn local(&self) -> Endpoint {
        self.shared.local
    }

    fn send(&self, to: Endpoint, message: Message) -> BoxFuture<'_, Result<(), TransportError>> {
        let result = self.enqueue(to, message);
        Box::pin(async move { result })
    }

    fn recv(&self) -> BoxFuture<'_, Option<Envelope>> {
        Box::pin(async move { self.inbound.lock().await.recv().await })
    }
}
