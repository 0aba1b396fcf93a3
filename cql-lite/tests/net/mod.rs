//! Shared pieces of the network tests: a scriptable handler and a raw connection that
//! speaks frames without the client's conveniences.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cql_lite::server::{Handler, Reply, Server, ServerConfig, Session};
use cql_lite::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bounds every network test.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Answers a QUERY by its text:
/// - `sleep <ms> <tag>`: waits, then echoes;
/// - `panic`: panics;
/// - `USE <ks>`: Set_keyspace;
/// - `keyspace`: one row with the session's keyspace;
/// - `warn`: echoes with a warning;
/// - anything else: one row, one text cell holding the query text.
///
/// It counts requests running at once, to check the in-flight limit.
#[derive(Debug, Default)]
pub struct Script {
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

impl Handler for Script {
    async fn handle(&self, session: &Arc<Session>, request: Request) -> Reply {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let reply = self.answer(session, request).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        reply
    }
}

impl Script {
    async fn answer(&self, session: &Arc<Session>, request: Request) -> Reply {
        let query = match request {
            Request::Query { query, .. } => query,
            Request::Prepare { query } => return Reply::new(prepared(&query)),
            other => return Reply::new(rows(&format!("{:?}", other.opcode()))),
        };
        let words: Vec<&str> = query.split(' ').collect();
        match words.as_slice() {
            ["sleep", ms, ..] => {
                let ms = ms.parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Reply::new(rows(&query))
            }
            ["panic"] => panic!("the script says so"),
            ["USE", keyspace] => Reply::new(Response::Result(QueryResult::SetKeyspace(
                (*keyspace).into(),
            ))),
            ["keyspace"] => Reply::new(rows(&session.keyspace().unwrap_or_default())),
            ["warn"] => Reply {
                response: rows(&query),
                warnings: vec!["careful".into()],
            },
            _ => Reply::new(rows(&query)),
        }
    }
}

/// A Rows result with one text cell.
pub fn rows(text: &str) -> Response {
    let spec = ColumnSpec {
        keyspace: "ks".into(),
        table: "t".into(),
        name: "echo".into(),
        column_type: ColumnType::Varchar,
    };
    Response::Result(QueryResult::Rows(Rows {
        metadata: RowsMetadata::with_specs(vec![spec]),
        rows: vec![vec![Some(Bytes::copy_from_slice(text.as_bytes()))]],
    }))
}

fn prepared(query: &str) -> Response {
    Response::Result(QueryResult::Prepared(Prepared {
        id: Bytes::copy_from_slice(query.as_bytes()),
        pk_indexes: vec![],
        bind_markers: vec![],
        result_metadata: RowsMetadata {
            paging_state: None,
            columns: Columns::NoMetadata { count: 0 },
        },
    }))
}

/// The text of a one-cell Rows result.
pub fn echoed(result: &QueryResult) -> String {
    match result {
        QueryResult::Rows(rows) => {
            let cell = rows.rows[0][0].clone().expect("a non-null cell");
            String::from_utf8(cell.to_vec()).expect("UTF-8 text")
        }
        other => panic!("not rows: {other:?}"),
    }
}

pub async fn start(config: ServerConfig) -> (Server, Arc<Script>) {
    let handler = Arc::new(Script::default());
    let server = Server::bind("127.0.0.1:0", config, Arc::clone(&handler))
        .await
        .expect("bind 127.0.0.1:0");
    (server, handler)
}

pub fn query(text: &str) -> Request {
    Request::Query {
        query: text.into(),
        parameters: QueryParameters::new(Consistency::One),
    }
}

/// A connection that sends and receives frames exactly as told.
pub struct Raw {
    pub socket: TcpStream,
    decoder: FrameDecoder,
    buf: BytesMut,
    pub options: CodecOptions,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::over(TcpStream::connect(addr).await.expect("connect"))
    }

    /// Speaks over a socket connected elsewhere (from a chosen source address, say).
    pub fn over(socket: TcpStream) -> Self {
        Self {
            socket,
            decoder: FrameDecoder::new(),
            buf: BytesMut::new(),
            options: CodecOptions::default(),
        }
    }

    /// Connects and completes STARTUP.
    pub async fn started(addr: SocketAddr) -> Self {
        let mut raw = Self::connect(addr).await;
        let startup = [("CQL_VERSION".to_owned(), "3.4.5".to_owned())].into();
        raw.send(1, Request::Startup(startup)).await;
        assert_eq!(raw.recv().await.response, Response::Ready);
        raw
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).await.expect("write");
    }

    pub async fn send(&mut self, stream: i16, request: Request) {
        let mut wire = BytesMut::new();
        RequestMessage::new(stream, request)
            .encode_to(&self.options, &mut wire)
            .expect("encodable request");
        self.write(&wire).await;
    }

    /// The next frame, or `None` at end of stream.
    pub async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("a v4 frame") {
                return Some(frame);
            }
            if self.socket.read_buf(&mut self.buf).await.unwrap_or(0) == 0 {
                return None;
            }
        }
    }

    pub async fn recv(&mut self) -> ResponseMessage {
        let frame = self.frame().await.expect("a frame, not end of stream");
        ResponseMessage::decode(&frame, &self.options).expect("a response")
    }

    /// Whether the server closed the connection (reads until end of stream).
    pub async fn closed(&mut self) -> bool {
        self.frame().await.is_none()
    }
}

/// The ERROR of a response, panicking on anything else.
pub fn error_of(message: &ResponseMessage) -> &ErrorResponse {
    match &message.response {
        Response::Error(error) => error,
        other => panic!("expected an ERROR, got {other:?}"),
    }
}
