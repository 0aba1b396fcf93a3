//! The accept loop, the connection limit and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, debug, debug_span, warn};

use super::connection::{Connection, Shared};
use super::events::EventSender;
use super::session::Session;
use super::{Handler, ServerConfig};

/// Pause after a failed accept (typically out of file descriptors) so the loop does
/// not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A running CQL server.
///
/// [`Server::bind`] starts accepting at once, on the current tokio runtime.
/// [`Server::shutdown`] stops gracefully; dropping the server without it also stops
/// accepting and closes the connections without waiting for them.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    events: EventSender,
    draining: watch::Sender<bool>,
    connections: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and spawns the accept loop.
    pub async fn bind<H: Handler>(
        addr: impl ToSocketAddrs,
        config: ServerConfig,
        handler: Arc<H>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let events = EventSender::new(config.event_buffer);
        let (draining, drain_rx) = watch::channel(false);
        let connections = Arc::new(AtomicUsize::new(0));
        let acceptor = Acceptor {
            listener,
            limit: Arc::new(Semaphore::new(config.max_connections)),
            per_ip: Arc::default(),
            shared: Arc::new(Shared {
                config,
                handler,
                events: events.clone(),
            }),
            draining: drain_rx,
            connections: Arc::clone(&connections),
            next_id: 0,
        };
        let span = debug_span!("cql_server", %local_addr);
        let accept = tokio::spawn(acceptor.run().instrument(span));
        debug!(%local_addr, "CQL server listening");
        Ok(Self {
            local_addr,
            events,
            draining,
            connections,
            accept: Some(accept),
        })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The handle for publishing events to registered connections.
    pub fn events(&self) -> EventSender {
        self.events.clone()
    }

    /// How many connections are open now.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets every connection finish the requests it already read
    /// (waiting at most [`ServerConfig::shutdown_grace`]), then closes them all.
    pub async fn shutdown(mut self) {
        self.draining.send_replace(true);
        if let Some(accept) = self.accept.take() {
            // The accept task only ends by itself; a JoinError means it panicked, and
            // there is nothing left to stop then.
            let _ = accept.await;
        }
        debug!(local_addr = %self.local_addr, "CQL server stopped");
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// The accept loop's state.
struct Acceptor<H> {
    listener: TcpListener,
    limit: Arc<Semaphore>,
    per_ip: Arc<PerIp>,
    shared: Arc<Shared<H>>,
    draining: watch::Receiver<bool>,
    connections: Arc<AtomicUsize>,
    next_id: u64,
}

impl<H: Handler> Acceptor<H> {
    async fn run(mut self) {
        let mut tasks = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                // Reap finished connections so the set does not grow with history.
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
                _ = self.draining.wait_for(|draining| *draining) => break,
            };
            match accepted {
                Ok((socket, peer)) => self.admit(&mut tasks, socket, peer),
                Err(error) => {
                    warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        drop(self.listener);
        drain(tasks, self.shared.config.shutdown_grace).await;
    }

    fn admit(&mut self, tasks: &mut JoinSet<()>, socket: TcpStream, peer: SocketAddr) {
        let Ok(permit) = Arc::clone(&self.limit).try_acquire_owned() else {
            warn!(%peer, max = self.shared.config.max_connections, "too many connections; closing");
            return;
        };
        let max_per_ip = self.shared.config.max_connections_per_ip;
        let Some(ip_slot) = PerIp::acquire(&self.per_ip, peer.ip(), max_per_ip) else {
            warn!(%peer, max = max_per_ip, "too many connections from this address; closing");
            return;
        };
        // Without it, small responses wait for the peer's delayed ACK (Nagle).
        if let Err(error) = socket.set_nodelay(true) {
            debug!(%peer, %error, "could not set TCP_NODELAY");
        }
        self.next_id += 1;
        let session = Arc::new(Session::new(self.next_id, peer));
        let span = debug_span!("cql_connection", id = self.next_id, %peer);
        let connection = Connection::new(Arc::clone(&self.shared), session, self.draining.clone());
        let open = Open::new(Arc::clone(&self.connections), permit, ip_slot);
        tasks.spawn(
            async move {
                debug!("connection open");
                connection.serve(socket).await;
                debug!("connection closed");
                drop(open);
            }
            .instrument(span),
        );
    }
}

/// Counts a connection as open, and holds its slot under the limit, until dropped; a
/// guard so that connections aborted at the end of the grace period are counted out too.
struct Open {
    count: Arc<AtomicUsize>,
    _slot: OwnedSemaphorePermit,
    _ip_slot: IpSlot,
}

impl Open {
    fn new(count: Arc<AtomicUsize>, slot: OwnedSemaphorePermit, ip_slot: IpSlot) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self {
            count,
            _slot: slot,
            _ip_slot: ip_slot,
        }
    }
}

/// Open connections per source address. Only addresses with an open connection have an
/// entry, so the map is bounded by the global limit, not by how many hosts ever connected.
#[derive(Debug, Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

impl PerIp {
    /// A slot for one more connection from `ip`, or `None` when it already has `max`.
    fn acquire(this: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut open = this.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= max {
            // An address at zero never stays in the map: `max` is zero only then.
            if *count == 0 {
                open.remove(&ip);
            }
            return None;
        }
        *count += 1;
        Some(IpSlot {
            per_ip: Arc::clone(this),
            ip,
        })
    }
}

/// One connection's place in its address's count, given back on drop.
struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.per_ip.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits up to `grace` for the connections to finish their in-flight requests, then
/// closes the rest.
async fn drain(mut tasks: JoinSet<()>, grace: Duration) {
    let all_done = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all_done).await.is_err() {
        warn!(
            remaining = tasks.len(),
            "shutdown grace period over; closing connections"
        );
        tasks.shutdown().await;
    }
}
