//! One outbound connection: its bounded queue and the task that writes it.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;

use super::super::frame::{self, Frame};
use super::{Lane, Shared, bump};
use crate::net::Endpoint;

/// Encoded frames waiting for the writer, bounded in count and bytes.
#[derive(Debug)]
pub(super) struct Outbound {
    queue: Mutex<Queue>,
    /// Signalled on every push; a permit is stored if the writer is busy,
    /// so a wake-up is never lost between its emptiness check and its wait.
    ready: Notify,
    max_messages: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl Outbound {
    pub(super) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Outbound {
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            max_messages: max_messages.max(1),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every critical section leaves the queue consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an encoded frame; false (and nothing queued) when full.
    pub(super) fn push(&self, frame: Vec<u8>) -> bool {
        let mut queue = self.lock();
        let over_bytes = !queue.frames.is_empty() && queue.bytes + frame.len() > self.max_bytes;
        if queue.frames.len() >= self.max_messages || over_bytes {
            return false;
        }
        queue.bytes += frame.len();
        queue.frames.push_back(frame);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// Messages waiting.
    pub(super) fn len(&self) -> usize {
        self.lock().frames.len()
    }

    fn is_empty(&self) -> bool {
        self.lock().frames.is_empty()
    }

    /// Moves queued frames, oldest first, into `out` until it holds at least
    /// one frame and adding the next would pass `max_bytes`. Returns how many.
    fn take_batch(&self, max_bytes: usize, out: &mut Vec<u8>) -> u64 {
        let mut queue = self.lock();
        let mut taken = 0;
        while let Some(next) = queue.frames.front() {
            if taken > 0 && out.len() + next.len() > max_bytes {
                break;
            }
            let Some(frame) = queue.frames.pop_front() else {
                break;
            };
            queue.bytes -= frame.len();
            out.extend_from_slice(&frame);
            taken += 1;
        }
        taken
    }
}

/// An established connection: the write half carries frames, the read half
/// only notices the peer closing (peers never write on it).
#[derive(Debug)]
struct Connection {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
}

/// Completes when the peer closes `conn` (or writes, which it never should);
/// never completes without a connection.
async fn peer_closed(conn: &mut Option<Connection>) {
    match conn {
        Some(c) => {
            let mut byte = [0u8; 1];
            let _ = c.read.read(&mut byte).await;
        }
        None => std::future::pending().await,
    }
}

/// Whether the peer has closed `conn` (or written to it), without waiting.
fn has_closed(conn: &Connection) -> bool {
    let mut byte = [0u8; 1];
    !matches!(conn.read.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

async fn connect(shared: &Shared, peer: Endpoint) -> io::Result<Connection> {
    let attempt = async {
        let stream = TcpStream::connect(peer).await?;
        // Gossip and small requests must not wait for Nagle's timer.
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut hello = Vec::new();
        let handshake = Frame::handshake(shared.local);
        frame::encode_frame(&mut hello, &handshake, shared.config.max_payload)
            .map_err(io::Error::other)?;
        write.write_all(&hello).await?;
        Ok(Connection { read, write })
    };
    tokio::time::timeout(shared.config.connect_timeout, attempt)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
}

/// The writer of the connection to `peer` on `lane`: waits for queued
/// frames, connects lazily (with backoff), writes coalesced batches, and
/// reconnects after any failure while the queue keeps what it holds.
pub(super) async fn run_writer(
    shared: Arc<Shared>,
    out: Arc<Outbound>,
    peer: Endpoint,
    lane: Lane,
) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut conn: Option<Connection> = None;
    let mut backoff = shared.config.backoff_initial;
    let mut batch = Vec::new();
    loop {
        if *shutdown.borrow() {
            flush(&shared, &out, conn, &mut batch).await;
            return;
        }
        if out.is_empty() {
            tokio::select! {
                _ = out.ready.notified() => {}
                _ = shutdown.changed() => {}
                _ = peer_closed(&mut conn) => {
                    tracing::debug!(%peer, ?lane, "internode peer closed the connection");
                    conn = None;
                }
            }
            continue;
        }
        let Some(c) = conn.as_mut() else {
            match connect(&shared, peer).await {
                Ok(c) => {
                    tracing::debug!(%peer, ?lane, "internode connection established");
                    bump(&shared.counters.connections_opened, 1);
                    conn = Some(c);
                    backoff = shared.config.backoff_initial;
                }
                Err(error) => {
                    tracing::debug!(%peer, ?lane, %error, ?backoff, "internode connect failed");
                    bump(&shared.counters.connect_failures, 1);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(shared.config.backoff_max);
                }
            }
            continue;
        };
        if has_closed(c) {
            // Found before writing, not after: a write into a connection
            // the peer already closed "succeeds" and the batch is lost.
            tracing::debug!(%peer, ?lane, "internode peer closed the connection");
            conn = None;
            continue;
        }
        // Let the tasks about to send to this peer queue their messages
        // first: one write then carries many. Without it nearly every
        // message was its own send syscall (four per QUORUM write on a
        // loaded three-node cluster, a fifth of its CPU).
        tokio::task::yield_now().await;
        let taken = out.take_batch(shared.config.max_batch_bytes, &mut batch);
        if let Err(error) = c.write.write_all(&batch).await {
            tracing::debug!(%peer, ?lane, %error, lost = taken, "internode write failed");
            bump(&shared.counters.messages_lost, taken);
            conn = None;
        }
        batch.clear();
    }
}

/// On shutdown: writes what is still queued if connected (the caller bounds
/// the time), then closes the connection.
async fn flush(shared: &Shared, out: &Outbound, conn: Option<Connection>, batch: &mut Vec<u8>) {
    let Some(mut c) = conn else {
        return;
    };
    while !out.is_empty() {
        batch.clear();
        let taken = out.take_batch(shared.config.max_batch_bytes, batch);
        if c.write.write_all(batch).await.is_err() {
            bump(&shared.counters.messages_lost, taken);
            return;
        }
    }
    let _ = c.write.shutdown().await;
}
