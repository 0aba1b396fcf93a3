//! One client connection: a reader that decodes frames and dispatches requests, request
//! tasks that run the handler concurrently, and a writer that serialises their answers.
//!
//! ```text
//! socket ─▶ reader ─┬─ OPTIONS/STARTUP/REGISTER/errors answered inline ─┐
//!                   └─ spawn(handler) per request (≤ max in flight) ───┼─▶ queue ─▶ writer ─▶ socket
//! events (broadcast) ─▶ reader, filtered by REGISTERed types ─────────┘
//! ```
//!
//! Every answer is encoded where it is produced and queued as bytes, so the writer only
//! copies and flushes. The queue is bounded, and a request holds its in-flight permit
//! until its answer is queued: a client that does not read its answers stops the
//! writer, then the request tasks, then the reader, and finally its own sends.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, error, warn};

use super::events::EventSender;
use super::session::Session;
use super::startup::{negotiate, supported};
use super::unwind::CatchUnwind;
use super::{Handler, Reply, ServerConfig};
use crate::compression::CodecOptions;
use crate::error::Error;
use crate::error_response::{ErrorKind, ErrorResponse};
use crate::event::Event;
use crate::frame::{Frame, FrameDecoder, protocol_error_frame, unsupported_version_frame};
use crate::notation::StringMap;
use crate::request::{EventType, Request, RequestMessage};
use crate::response::{Response, ResponseMessage};
use crate::result::QueryResult;

/// Queue slots beyond the in-flight limit, for answers the reader produces itself.
const INLINE_SLACK: usize = 16;
/// The writer gathers queued frames up to about this many bytes into one write.
const COALESCE_BYTES: usize = 64 * 1024;
/// Free buffer space the reader asks the socket to fill at least.
const READ_CHUNK: usize = 16 * 1024;
/// How long a closing connection keeps reading (and discarding) so that unread input
/// does not turn the close into a reset that destroys the last answer in flight.
const LINGER: Duration = Duration::from_millis(500);

/// What every connection of a server shares.
#[derive(Debug)]
pub(super) struct Shared<H> {
    pub(super) config: ServerConfig,
    pub(super) handler: Arc<H>,
    pub(super) events: EventSender,
}

/// Whether the reader goes on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// Why the idle reader woke up.
enum Wake {
    Read(std::io::Result<usize>),
    Event(Result<Event, broadcast::error::RecvError>),
    Drain,
    Deadline,
}

/// When a quiet connection is closed: the handshake deadline until STARTUP is answered,
/// and the idle timeout after the last read.
struct Deadlines {
    handshake: Option<Instant>,
    idle: Option<Duration>,
    last_read: Instant,
}

impl Deadlines {
    fn new(config: &ServerConfig) -> Self {
        let now = Instant::now();
        let enabled = |timeout: Duration| (!timeout.is_zero()).then_some(timeout);
        Self {
            // A deadline too far to represent is no deadline.
            handshake: enabled(config.handshake_timeout)
                .and_then(|timeout| now.checked_add(timeout)),
            idle: enabled(config.idle_timeout),
            last_read: now,
        }
    }

    /// The earliest deadline still in force, if any.
    fn next(&self, started: bool) -> Option<Instant> {
        let handshake = self.handshake.filter(|_| !started);
        let idle = self
            .idle
            .and_then(|timeout| self.last_read.checked_add(timeout));
        match (handshake, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A connection before it is served.
pub(super) struct Connection<H> {
    shared: Arc<Shared<H>>,
    session: Arc<Session>,
    draining: watch::Receiver<bool>,
}

impl<H: Handler> Connection<H> {
    pub(super) fn new(
        shared: Arc<Shared<H>>,
        session: Arc<Session>,
        draining: watch::Receiver<bool>,
    ) -> Self {
        Self {
            shared,
            session,
            draining,
        }
    }

    /// Serves the connection until the client leaves, a fatal protocol error, or the
    /// server drains; answers to requests already read are written before closing.
    pub(super) async fn serve(self, mut socket: TcpStream) {
        let queue = self.shared.config.max_in_flight_per_connection.max(1) + INLINE_SLACK;
        let (tx, rx) = mpsc::channel(queue);
        {
            let (read, write) = socket.split();
            let reader = Reader::new(self, tx).run(read);
            let writer = write_loop(rx, write);
            tokio::pin!(writer);
            tokio::select! {
                () = reader => {
                    if let Err(error) = writer.await {
                        debug!(%error, "write failed");
                    }
                }
                // The writer only ends first when the socket broke; stop reading too.
                Err(error) = &mut writer => debug!(%error, "write failed"),
            }
        }
        linger(&mut socket).await;
    }
}

/// Writes queued frames, coalescing whatever is queued into one write, until every
/// sender is gone; then closes the write side.
async fn write_loop(
    mut rx: mpsc::Receiver<Bytes>,
    mut socket: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut batch = BytesMut::new();
    while let Some(first) = rx.recv().await {
        if first.len() >= COALESCE_BYTES {
            // Big enough to be worth a write of its own; copying it would only cost.
            socket.write_all(&first).await?;
            continue;
        }
        batch.extend_from_slice(&first);
        let mut yielded = false;
        while batch.len() < COALESCE_BYTES {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                // Once, let the requests that are about to finish queue their
                // answers: one write then carries many (a syscall per response
                // was a tenth of the server's time under pipelined load).
                Err(_) if !yielded => {
                    yielded = true;
                    tokio::task::yield_now().await;
                }
                Err(_) => break,
            }
        }
        socket.write_all(&batch).await?;
        batch.clear();
    }
    socket.flush().await?;
    socket.shutdown().await
}

/// Reads and discards for a short while, so that closing with unread input does not
/// reset the connection before the peer has read our last frames.
async fn linger(socket: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    let drain = async { while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// The reading half of a connection and the protocol state machine.
struct Reader<H> {
    shared: Arc<Shared<H>>,
    session: Arc<Session>,
    draining: watch::Receiver<bool>,
    out: mpsc::Sender<Bytes>,
    in_flight: Arc<Semaphore>,
    decoder: FrameDecoder,
    options: CodecOptions,
    events: Option<broadcast::Receiver<Event>>,
}

impl<H: Handler> Reader<H> {
    fn new(connection: Connection<H>, out: mpsc::Sender<Bytes>) -> Self {
        let config = &connection.shared.config;
        let decoder = FrameDecoder::with_max_frame_length(config.max_frame_length);
        let options = CodecOptions {
            max_frame_length: config.max_frame_length,
            ..CodecOptions::default()
        };
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight_per_connection.max(1)));
        Self {
            shared: connection.shared,
            session: connection.session,
            draining: connection.draining,
            out,
            in_flight,
            decoder,
            options,
            events: None,
        }
    }

    async fn run(mut self, mut socket: impl AsyncRead + Unpin) {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let mut deadlines = Deadlines::new(&self.shared.config);
        while self.process(&mut buf).await == Flow::Continue {
            if buf.capacity() - buf.len() < READ_CHUNK / 2 {
                buf.reserve(READ_CHUNK);
            }
            let deadline = deadlines.next(self.session.is_started());
            let woke = tokio::select! {
                read = socket.read_buf(&mut buf) => Wake::Read(read),
                event = next_event(&mut self.events) => Wake::Event(event),
                _ = self.draining.wait_for(|draining| *draining) => Wake::Drain,
                () = sleep_until(deadline) => Wake::Deadline,
            };
            let flow = match woke {
                Wake::Read(Ok(0)) | Wake::Drain => Flow::Close,
                Wake::Read(Ok(_)) => {
                    deadlines.last_read = Instant::now();
                    Flow::Continue
                }
                Wake::Deadline => self.deadline_passed(&mut deadlines),
                Wake::Read(Err(error)) => {
                    debug!(%error, "read failed");
                    Flow::Close
                }
                Wake::Event(event) => self.forward(event).await,
            };
            if flow == Flow::Close {
                break;
            }
        }
    }

    /// Closes the connection if it has not finished its handshake in time, or has been
    /// idle too long; a connection with requests in flight is busy, not idle, and gets a
    /// fresh idle period instead.
    fn deadline_passed(&self, deadlines: &mut Deadlines) -> Flow {
        let now = Instant::now();
        let started = self.session.is_started();
        if !started && deadlines.handshake.is_some_and(|at| at <= now) {
            debug!(peer = %self.session.peer(), "no STARTUP in time; closing");
            return Flow::Close;
        }
        let Some(idle) = deadlines.idle else {
            return Flow::Continue;
        };
        if deadlines
            .last_read
            .checked_add(idle)
            .is_none_or(|at| at > now)
        {
            return Flow::Continue;
        }
        let max = self.shared.config.max_in_flight_per_connection.max(1);
        if self.in_flight.available_permits() < max {
            deadlines.last_read = now;
            return Flow::Continue;
        }
        debug!(peer = %self.session.peer(), ?idle, "idle connection; closing");
        Flow::Close
    }

    /// Handles every whole frame in `buf`.
    async fn process(&mut self, buf: &mut BytesMut) -> Flow {
        loop {
            let flow = match self.decoder.decode(buf) {
                Ok(None) => return Flow::Continue,
                Ok(Some(frame)) => self.frame(&frame).await,
                Err(error) => self.decode_error(error).await,
            };
            if flow == Flow::Close {
                return flow;
            }
        }
    }

    /// Answers a frame the decoder refused. Only an unknown opcode leaves the stream in
    /// a state worth continuing: the version error means the rest cannot be framed, and
    /// after an oversized frame Cassandra closes too.
    async fn decode_error(&mut self, error: Error) -> Flow {
        let stream = error.stream().unwrap_or(0);
        match error {
            Error::UnknownOpcode { .. } => self.protocol_error(stream, &error.to_string()).await,
            Error::UnsupportedVersion { version, stream } => {
                // Expected during every driver's version negotiation: not a warning.
                debug!(version, stream, "unsupported protocol version");
                self.send_frame(&unsupported_version_frame(version, stream))
                    .await;
                Flow::Close
            }
            _ => {
                self.protocol_error(stream, &error.to_string()).await;
                Flow::Close
            }
        }
    }

    async fn frame(&mut self, frame: &Frame) -> Flow {
        match RequestMessage::decode(frame, &self.options) {
            Ok(message) => self.dispatch(message).await,
            Err(error) => self.protocol_error(frame.stream, &error.to_string()).await,
        }
    }

    /// The connection state machine: what the connection answers itself, and what goes
    /// to the handler once STARTUP is done.
    async fn dispatch(&mut self, message: RequestMessage) -> Flow {
        let stream = message.stream;
        match message.request {
            Request::Options => {
                let supported = supported(&self.shared.config);
                self.reply(stream, Response::Supported(supported)).await
            }
            Request::Startup(options) => self.startup(stream, options).await,
            request if !self.session.is_started() => {
                let text = format!(
                    "Unexpected message {}, expecting STARTUP or OPTIONS",
                    request.opcode()
                );
                self.protocol_error(stream, &text).await
            }
            Request::Register(types) => self.register(stream, &types).await,
            // No authenticator is configured, so there is no exchange to continue;
            // AUTH_SUCCESS ends whatever the client believes is going on.
            Request::AuthResponse(_) => self.reply(stream, Response::AuthSuccess(None)).await,
            request => self.spawn(stream, request).await,
        }
    }

    async fn startup(&mut self, stream: i16, options: StringMap) -> Flow {
        if self.session.is_started() {
            let text = "Unexpected message STARTUP, the connection is already initialized";
            return self.protocol_error(stream, text).await;
        }
        let compression = match negotiate(&options) {
            Ok(compression) => compression,
            Err(text) => return self.protocol_error(stream, &text).await,
        };
        self.session.start(options, compression);
        // READY itself goes out uncompressed; everything after it is compressed.
        let flow = self.reply(stream, Response::Ready).await;
        self.options.compression = compression;
        flow
    }

    async fn register(&mut self, stream: i16, types: &[EventType]) -> Flow {
        self.session.register(types);
        if self.events.is_none() {
            self.events = Some(self.shared.events.subscribe());
        }
        self.reply(stream, Response::Ready).await
    }

    /// Runs the handler in its own task once an in-flight permit is free. Waiting for
    /// the permit is what stops the reader from reading more.
    async fn spawn(&mut self, stream: i16, request: Request) -> Flow {
        let permit = tokio::select! {
            permit = Arc::clone(&self.in_flight).acquire_owned() => permit,
            _ = self.draining.wait_for(|draining| *draining) => return Flow::Close,
        };
        let Ok(permit) = permit else {
            return Flow::Close;
        };
        let task = RequestTask {
            handler: Arc::clone(&self.shared.handler),
            session: Arc::clone(&self.session),
            out: self.out.clone(),
            options: self.options,
            _permit: permit,
        };
        tokio::spawn(task.run(stream, request));
        Flow::Continue
    }

    /// Sends `event` if this connection registered for its type.
    async fn forward(&mut self, event: Result<Event, broadcast::error::RecvError>) -> Flow {
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                warn!(peer = %self.session.peer(), missed, "slow connection lost events");
                return Flow::Continue;
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.events = None;
                return Flow::Continue;
            }
        };
        if !self.session.is_registered(event.event_type()) {
            return Flow::Continue;
        }
        match encode(&ResponseMessage::event(event), &self.options) {
            Some(bytes) => self.send(bytes).await,
            None => Flow::Continue,
        }
    }

    async fn reply(&mut self, stream: i16, response: Response) -> Flow {
        match encode(&ResponseMessage::new(stream, response), &self.options) {
            Some(bytes) => self.send(bytes).await,
            None => Flow::Continue,
        }
    }

    async fn protocol_error(&mut self, stream: i16, message: &str) -> Flow {
        warn!(peer = %self.session.peer(), stream, message, "protocol error");
        self.send_frame(&protocol_error_frame(stream, message))
            .await
    }

    async fn send_frame(&mut self, frame: &Frame) -> Flow {
        match frame.to_bytes() {
            Ok(bytes) => self.send(bytes).await,
            Err(error) => {
                error!(%error, "cannot encode error frame");
                Flow::Close
            }
        }
    }

    async fn send(&mut self, bytes: Bytes) -> Flow {
        match self.out.send(bytes).await {
            Ok(()) => Flow::Continue,
            // The writer is gone: the socket broke.
            Err(_) => Flow::Close,
        }
    }
}

/// The next event, or never if the connection has not registered.
async fn next_event(
    events: &mut Option<broadcast::Receiver<Event>>,
) -> Result<Event, broadcast::error::RecvError> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// One request on its way through the handler.
struct RequestTask<H> {
    handler: Arc<H>,
    session: Arc<Session>,
    out: mpsc::Sender<Bytes>,
    options: CodecOptions,
    /// Released when the answer is queued (or the task is dropped).
    _permit: OwnedSemaphorePermit,
}

impl<H: Handler> RequestTask<H> {
    async fn run(self, stream: i16, request: Request) {
        let handled = CatchUnwind::new(self.handler.handle(&self.session, request));
        let reply = match handled.await {
            Ok(reply) => reply,
            Err(_panic) => {
                error!(stream, "request handler panicked");
                Reply::error(
                    ErrorKind::ServerError,
                    "Internal error while handling the request",
                )
            }
        };
        if let Response::Result(QueryResult::SetKeyspace(keyspace)) = &reply.response {
            self.session.set_keyspace(Some(keyspace.clone()));
        }
        let message = ResponseMessage {
            warnings: reply.warnings,
            ..ResponseMessage::new(stream, reply.response)
        };
        if let Some(bytes) = encode(&message, &self.options) {
            // A failed send means the connection is gone; nobody is left to tell.
            let _ = self.out.send(bytes).await;
        }
    }
}

/// The wire bytes of `message`; if it cannot be encoded (a handler bug, such as a row
/// of the wrong width), a Server error on its stream instead.
fn encode(message: &ResponseMessage, options: &CodecOptions) -> Option<Bytes> {
    let bytes = |m: &ResponseMessage| m.encode(options).and_then(|frame| frame.to_bytes());
    match bytes(message) {
        Ok(wire) => Some(wire),
        Err(error) => {
            error!(stream = message.stream, %error, "cannot encode response");
            let text = format!("Cannot encode the response: {error}");
            let fallback = ResponseMessage::new(
                message.stream,
                Response::Error(ErrorResponse::new(ErrorKind::ServerError, text)),
            );
            bytes(&fallback).ok()
        }
    }
}
