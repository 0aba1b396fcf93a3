//! An async CQL client for tests and the `jepsen-like/` harness.
//!
//! One [`Client`] is one connection. Requests are multiplexed over it by stream id: any
//! number of tasks may call it at once, each request gets a free stream, and answers are
//! matched to their callers in whatever order the server sends them. Events (stream -1)
//! queue up for [`Client::next_event`].
//!
//! It is deliberately small: no pooling, no retries, no paging helpers, no timeouts
//! (wrap calls in `tokio::time::timeout`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::debug;

use crate::compression::{CodecOptions, Compression};
use crate::error::Error;
use crate::error_response::ErrorResponse;
use crate::event::Event;
use crate::frame::{DEFAULT_MAX_FRAME_LENGTH, FrameDecoder};
use crate::notation::{StringMap, StringMultimap};
use crate::query::{Batch, QueryParameters};
use crate::request::{EventType, Request, RequestMessage};
use crate::response::{Response, ResponseMessage};
use crate::result::{Prepared, QueryResult};
use crate::server::DEFAULT_CQL_VERSION;

/// Stream ids a client may use: 0 to 32767 (negative ones are the server's).
const STREAMS: usize = 1 << 15;
/// Events kept for [`Client::next_event`]; beyond it the oldest are dropped.
const EVENT_QUEUE: usize = 1024;
/// Requests queued for the writer task.
const WRITE_QUEUE: usize = 256;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connecting or talking to the server failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A frame could not be encoded or decoded.
    #[error("protocol error: {0}")]
    Protocol(#[from] Error),
    /// The server answered with an ERROR message.
    #[error("server error {code:#06x}: {message}", code = .0.kind.code(), message = .0.message)]
    Server(ErrorResponse),
    /// The server answered with a message of the wrong kind.
    #[error("unexpected {} response", .0.opcode())]
    Unexpected(Box<Response>),
    /// The connection closed before the answer arrived.
    #[error("connection closed")]
    Closed,
    /// All 32768 stream ids are waiting for answers.
    #[error("no free stream id: 32768 requests in flight")]
    NoStreamIds,
}

/// How [`Client::connect_with`] sets up the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The body compression asked for in STARTUP.
    pub compression: Compression,
    /// Send OPTIONS and STARTUP before returning. Off, the connection is raw: hostile
    /// tests use it to send requests before STARTUP.
    pub startup: bool,
    /// The `CQL_VERSION` sent in STARTUP.
    pub cql_version: String,
    /// The largest response body accepted.
    pub max_frame_length: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            compression: Compression::None,
            startup: true,
            cql_version: DEFAULT_CQL_VERSION.to_owned(),
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

type Waiter = oneshot::Sender<Result<ResponseMessage, ClientError>>;

/// State shared by the client's callers and its reader task.
#[derive(Debug)]
struct Shared {
    /// Callers waiting for answers, by stream id; `None` once the connection is gone.
    waiters: Mutex<Option<HashMap<i16, Waiter>>>,
    /// Where the search for a free stream id starts.
    next_stream: Mutex<usize>,
    /// Whether LZ4 is in force (after READY to a STARTUP that asked for it).
    compressed: AtomicBool,
    max_frame_length: u32,
    /// Pushed events not yet taken; the oldest go first when it is full, as with the
    /// server's own lagging, so the newest state is never the one lost.
    events: Mutex<VecDeque<Event>>,
    /// Signalled when an event arrives or the connection ends.
    event_ready: Notify,
    /// Set when the reader has stopped.
    closed: AtomicBool,
}

impl Shared {
    fn codec(&self) -> CodecOptions {
        CodecOptions {
            compression: if self.compressed.load(Ordering::Acquire) {
                Compression::Lz4
            } else {
                Compression::None
            },
            max_frame_length: self.max_frame_length,
        }
    }

    /// Registers a waiter on `stream`, or on a free stream when `stream` is `None`.
    fn wait_on(&self, stream: Option<i16>) -> Result<(i16, oneshot::Receiver<Reply>), ClientError> {
        let mut waiters = lock(&self.waiters);
        let waiters = waiters.as_mut().ok_or(ClientError::Closed)?;
        let stream = match stream {
            Some(stream) => stream,
            None => self.free_stream(waiters)?,
        };
        let (tx, rx) = oneshot::channel();
        waiters.insert(stream, tx);
        Ok((stream, rx))
    }

    fn free_stream(&self, waiters: &HashMap<i16, Waiter>) -> Result<i16, ClientError> {
        let mut next = lock(&self.next_stream);
        for offset in 0..STREAMS {
            let candidate = (*next + offset) % STREAMS;
            let Ok(stream) = i16::try_from(candidate) else {
                continue;
            };
            if !waiters.contains_key(&stream) {
                *next = candidate + 1;
                return Ok(stream);
            }
        }
        Err(ClientError::NoStreamIds)
    }

    fn forget(&self, stream: i16) {
        if let Some(waiters) = lock(&self.waiters).as_mut() {
            waiters.remove(&stream);
        }
    }

    /// Hands an answer to its caller; answers nobody waits for are dropped.
    fn deliver(&self, message: ResponseMessage) {
        let waiter = lock(&self.waiters)
            .as_mut()
            .and_then(|w| w.remove(&message.stream));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(Ok(message));
            }
            None => debug!(stream = message.stream, "answer for no waiting request"),
        }
    }

    /// Fails the caller waiting on `stream` with an undecodable answer.
    fn fail(&self, stream: i16, error: Error) {
        let waiter = lock(&self.waiters).as_mut().and_then(|w| w.remove(&stream));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(Err(error.into()));
            }
            None => debug!(stream, %error, "undecodable frame for no waiting request"),
        }
    }

    fn push_event(&self, event: Event) {
        let mut events = lock(&self.events);
        if events.len() == EVENT_QUEUE {
            debug!("event queue full; oldest event dropped");
            events.pop_front();
        }
        events.push_back(event);
        self.event_ready.notify_one();
    }

    async fn next_event(&self) -> Option<Event> {
        loop {
            if let Some(event) = lock(&self.events).pop_front() {
                return Some(event);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            // notify_one keeps a permit when nobody waits, so a push between the checks
            // above and this await is not missed.
            self.event_ready.notified().await;
        }
    }

    /// Fails every waiting caller, and every later one, with [`ClientError::Closed`].
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.event_ready.notify_one();
        let waiters = lock(&self.waiters).take().unwrap_or_default();
        for (_, waiter) in waiters {
            let _ = waiter.send(Err(ClientError::Closed));
        }
    }
}

type Reply = Result<ResponseMessage, ClientError>;

/// A connection to a CQL server.
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
    writes: mpsc::Sender<Bytes>,
    local_addr: SocketAddr,
    tasks: [JoinHandle<()>; 2],
}

impl Client {
    /// Connects and performs OPTIONS and STARTUP without compression.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Self, ClientError> {
        Self::connect_with(addr, ClientOptions::default()).await
    }

    /// Connects with `options`.
    pub async fn connect_with(
        addr: impl ToSocketAddrs,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        let local_addr = socket.local_addr()?;
        let (read, write) = socket.into_split();
        let shared = Arc::new(Shared {
            waiters: Mutex::new(Some(HashMap::new())),
            next_stream: Mutex::new(0),
            compressed: AtomicBool::new(false),
            max_frame_length: options.max_frame_length,
            events: Mutex::new(VecDeque::new()),
            event_ready: Notify::new(),
            closed: AtomicBool::new(false),
        });
        let (writes, write_rx) = mpsc::channel(WRITE_QUEUE);
        let reader = tokio::spawn(read_loop(read, Arc::clone(&shared)));
        let writer = tokio::spawn(write_loop(write_rx, write));
        let client = Self {
            shared,
            writes,
            local_addr,
            tasks: [reader, writer],
        };
        if options.startup {
            client.handshake(&options).await?;
        }
        Ok(client)
    }

    /// OPTIONS then STARTUP, as drivers do; LZ4 is asked for only if offered.
    async fn handshake(&self, options: &ClientOptions) -> Result<(), ClientError> {
        let supported = self.options().await?;
        let mut startup = StringMap::new();
        startup.insert("CQL_VERSION".into(), options.cql_version.clone());
        if let Some(name) = options.compression.startup_name() {
            let offered = supported
                .get("COMPRESSION")
                .is_some_and(|names| names.iter().any(|n| n == name));
            if !offered {
                return Err(ClientError::Protocol(Error::UnknownValue {
                    what: "compression (not offered by the server)",
                    value: name.to_owned(),
                }));
            }
            startup.insert("COMPRESSION".into(), name.to_owned());
        }
        match self.request(Request::Startup(startup)).await?.response {
            Response::Ready => {
                let lz4 = options.compression == Compression::Lz4;
                self.shared.compressed.store(lz4, Ordering::Release);
                Ok(())
            }
            other => Err(unexpected(other)),
        }
    }

    /// The local address of the connection (the server's `Session::peer`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sends `request` on a free stream and waits for its answer, whatever it is.
    pub async fn request(&self, request: Request) -> Result<ResponseMessage, ClientError> {
        self.send(RequestMessage::new(0, request)).await
    }

    /// Sends `message` (its tracing flag and custom payload included) on a free stream,
    /// replacing its stream id, and waits for the answer.
    pub async fn send(&self, mut message: RequestMessage) -> Result<ResponseMessage, ClientError> {
        self.exchange(None, |stream| {
            message.stream = stream;
            message.encode(&self.shared.codec())?.to_bytes()
        })
        .await
    }

    /// Writes `bytes` as they are and waits for an answer on `stream`; for hostile tests
    /// (the bytes need not be a valid frame, or one frame). `stream` must not be in use.
    pub async fn send_raw(
        &self,
        stream: i16,
        bytes: Bytes,
    ) -> Result<ResponseMessage, ClientError> {
        self.exchange(Some(stream), |_| Ok(bytes)).await
    }

    /// Writes `bytes` as they are, expecting no answer.
    pub async fn write_raw(&self, bytes: Bytes) -> Result<(), ClientError> {
        self.writes
            .send(bytes)
            .await
            .map_err(|_| ClientError::Closed)
    }

    async fn exchange(
        &self,
        stream: Option<i16>,
        encode: impl FnOnce(i16) -> Result<Bytes, Error>,
    ) -> Result<ResponseMessage, ClientError> {
        let (stream, answer) = self.shared.wait_on(stream)?;
        let sent = match encode(stream) {
            Ok(bytes) => self
                .writes
                .send(bytes)
                .await
                .map_err(|_| ClientError::Closed),
            Err(error) => Err(error.into()),
        };
        if let Err(error) = sent {
            self.shared.forget(stream);
            return Err(error);
        }
        // If this future is dropped here, the stream stays taken until its answer comes,
        // so a late answer can never be mistaken for a later request's.
        answer.await.unwrap_or(Err(ClientError::Closed))
    }

    /// OPTIONS: the server's SUPPORTED map.
    pub async fn options(&self) -> Result<StringMultimap, ClientError> {
        match self.request(Request::Options).await?.response {
            Response::Supported(supported) => Ok(supported),
            other => Err(unexpected(other)),
        }
    }

    /// Runs a statement.
    pub async fn query(
        &self,
        query: &str,
        parameters: QueryParameters,
    ) -> Result<QueryResult, ClientError> {
        let query = query.to_owned();
        result(self.request(Request::Query { query, parameters }).await?)
    }

    /// Prepares a statement.
    pub async fn prepare(&self, query: &str) -> Result<Prepared, ClientError> {
        let query = query.to_owned();
        match result(self.request(Request::Prepare { query }).await?)? {
            QueryResult::Prepared(prepared) => Ok(prepared),
            other => Err(unexpected(Response::Result(other))),
        }
    }

    /// Runs a prepared statement.
    pub async fn execute(
        &self,
        id: Bytes,
        parameters: QueryParameters,
    ) -> Result<QueryResult, ClientError> {
        result(self.request(Request::Execute { id, parameters }).await?)
    }

    /// Runs a BATCH.
    pub async fn batch(&self, batch: Batch) -> Result<QueryResult, ClientError> {
        result(self.request(Request::Batch(batch)).await?)
    }

    /// Subscribes this connection to `events`.
    pub async fn register(&self, events: &[EventType]) -> Result<(), ClientError> {
        match self
            .request(Request::Register(events.to_vec()))
            .await?
            .response
        {
            Response::Ready => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// The next pushed event; `None` once the connection is closed and none are left.
    /// At most 1024 unread events are kept; older ones are dropped first.
    pub async fn next_event(&self) -> Option<Event> {
        self.shared.next_event().await
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The RESULT of an answer, or the answer as an error.
fn result(message: ResponseMessage) -> Result<QueryResult, ClientError> {
    match message.response {
        Response::Result(result) => Ok(result),
        other => Err(unexpected(other)),
    }
}

/// An ERROR as [`ClientError::Server`], anything else as [`ClientError::Unexpected`].
fn unexpected(response: Response) -> ClientError {
    match response {
        Response::Error(error) => ClientError::Server(error),
        other => ClientError::Unexpected(Box::new(other)),
    }
}

/// Decodes answers and hands them to their callers until the connection ends.
async fn read_loop(mut socket: OwnedReadHalf, shared: Arc<Shared>) {
    let mut decoder = FrameDecoder::with_max_frame_length(shared.max_frame_length);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(frame)) => match ResponseMessage::decode(&frame, &shared.codec()) {
                Ok(message) => route(&shared, message),
                Err(error) => shared.fail(frame.stream, error),
            },
            Ok(None) => {
                buf.reserve(8 * 1024);
                if !matches!(socket.read_buf(&mut buf).await, Ok(n) if n > 0) {
                    break;
                }
            }
            Err(error) if error.is_fatal() => break,
            Err(error) => shared.fail(error.stream().unwrap_or(0), error),
        }
    }
    shared.close();
}

/// Events to the event queue, everything else to the caller waiting on its stream.
fn route(shared: &Shared, message: ResponseMessage) {
    match message.response {
        Response::Event(event) if message.stream == -1 => shared.push_event(event),
        _ => shared.deliver(message),
    }
}

/// Writes queued requests, several per write when they pile up.
async fn write_loop(mut rx: mpsc::Receiver<Bytes>, mut socket: OwnedWriteHalf) {
    let mut batch = BytesMut::new();
    while let Some(first) = rx.recv().await {
        batch.extend_from_slice(&first);
        while let Ok(more) = rx.try_recv() {
            batch.extend_from_slice(&more);
        }
        if socket.write_all(&batch).await.is_err() {
            break;
        }
        batch.clear();
    }
}

/// Locks `mutex`, ignoring poisoning: the guarded maps stay consistent between calls.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
