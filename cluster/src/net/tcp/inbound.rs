//! The listener: accepts peers' connections and turns their frames into
//! [`Envelope`]s for [`Transport::recv`](crate::net::Transport::recv).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::super::frame::{self, Frame, FrameDecoder, FrameError, FrameKind};
use super::{Shared, bump};
use crate::net::{Endpoint, Envelope, MessageKind};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// Why an inbound connection ended badly.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("expected a handshake first, got a {0:?} frame")]
    NoHandshake(FrameKind),
    #[error("unexpected {0:?} frame after the handshake")]
    Unexpected(FrameKind),
    #[error("handshake timed out")]
    HandshakeTimeout,
}

/// Frames read off one socket through a buffer that only ever holds the
/// unread rest of the stream: at most one header, one payload (capped by the
/// decoder) and one read chunk.
struct FrameReader {
    stream: TcpStream,
    decoder: FrameDecoder,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    chunk: Box<[u8]>,
}

impl FrameReader {
    fn new(stream: TcpStream, decoder: FrameDecoder) -> Self {
        FrameReader {
            stream,
            decoder,
            buf: Vec::new(),
            start: 0,
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }

    /// The next frame; `None` on a clean end of stream. Cancel-safe: the
    /// only await is a socket read, and bytes are buffered only after it.
    async fn next(&mut self) -> Result<Option<Frame>, ReadError> {
        loop {
            let unread = self.buf.get(self.start..).unwrap_or_default();
            if let Some((frame, used)) = self.decoder.decode(unread)? {
                self.start += used;
                return Ok(Some(frame));
            }
            self.buf.drain(..self.start);
            self.start = 0;
            let n = self.stream.read(&mut self.chunk).await?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            self.buf
                .extend_from_slice(self.chunk.get(..n).unwrap_or_default());
        }
    }
}

/// Accepts connections until shutdown, one reader task each; on shutdown,
/// closes the listener and every inbound connection before returning.
pub(super) async fn run_acceptor(
    shared: Arc<Shared>,
    listener: TcpListener,
    tx: mpsc::Sender<Envelope>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut readers = JoinSet::new();
    while !*shutdown.borrow() {
        tokio::select! {
            _ = shutdown.changed() => {}
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    if readers.len() >= shared.config.max_inbound_connections {
                        tracing::warn!(%addr, "too many internode connections; refusing");
                        bump(&shared.counters.connections_rejected, 1);
                        continue;
                    }
                    readers.spawn(serve(shared.clone(), stream, addr, tx.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: pause rather than spin.
                    tracing::warn!(%error, "internode accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    readers.shutdown().await;
}

/// Serves one inbound connection until it closes or misbehaves.
async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    addr: SocketAddr,
    tx: mpsc::Sender<Envelope>,
) {
    let _ = stream.set_nodelay(true);
    let decoder = FrameDecoder::new(shared.config.max_payload);
    let mut reader = FrameReader::new(stream, decoder);
    match read_loop(&shared, &mut reader, &tx).await {
        Ok(()) => tracing::debug!(%addr, "internode connection closed"),
        Err(error) => {
            tracing::warn!(%addr, %error, "closing internode connection");
            if !matches!(error, ReadError::Io(_)) {
                bump(&shared.counters.corrupt_connections, 1);
            }
        }
    }
}

async fn read_loop(
    shared: &Shared,
    reader: &mut FrameReader,
    tx: &mpsc::Sender<Envelope>,
) -> Result<(), ReadError> {
    let Some(from) = handshake(shared, reader).await? else {
        return Ok(());
    };
    while let Some(frame) = reader.next().await? {
        // The flags must agree with what verb and id say the message is,
        // so a peer with another convention is caught, not misrouted.
        let kind = frame.kind;
        let message = frame.into_message();
        if kind != FrameKind::from(MessageKind::of(&message)) {
            return Err(ReadError::Unexpected(kind));
        }
        let envelope = Envelope {
            from,
            to: shared.local,
            message,
        };
        // Waits while the inbox is full: this connection stops reading and
        // TCP flow control slows the sender down.
        if tx.send(envelope).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads the handshake: the sender's listen address, or `None` if the peer
/// closed first.
async fn handshake(
    shared: &Shared,
    reader: &mut FrameReader,
) -> Result<Option<Endpoint>, ReadError> {
    let first = tokio::time::timeout(shared.config.handshake_timeout, reader.next())
        .await
        .map_err(|_| ReadError::HandshakeTimeout)??;
    match first {
        None => Ok(None),
        Some(f) if f.kind == FrameKind::Handshake => Ok(Some(frame::decode_endpoint(&f.payload)?)),
        Some(f) => Err(ReadError::NoHandshake(f.kind)),
    }
}
