//! Hostile input over the network: random bytes and mutated valid frames, fed to a live
//! server before and after STARTUP. The server must never panic, must only ever send
//! well-formed v4 responses, and must keep accepting and serving new connections.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cql_lite::client::Client;
use cql_lite::server::{Handler, Reply, Server, ServerConfig, Session};
use cql_lite::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::time::timeout;

/// Panics anywhere in the process, counted by a hook installed once.
static PANICS: AtomicUsize = AtomicUsize::new(0);
/// Answers received from hostile connections, to show the cases reach the server.
static ANSWERS: AtomicUsize = AtomicUsize::new(0);

const MAX_FRAME: u32 = 64 * 1024;
const CASE_LIMIT: Duration = Duration::from_secs(5);

/// Answers every request with a Void result; nothing in it may panic.
struct Void;

impl Handler for Void {
    async fn handle(&self, _session: &Arc<Session>, _request: Request) -> Reply {
        Reply::new(Response::Result(QueryResult::Void))
    }
}

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

/// How a hostile connection starts before the garbage.
#[derive(Debug, Clone, Copy)]
enum Prelude {
    Nothing,
    Startup,
    StartupLz4,
}

fn prelude() -> impl Strategy<Value = Prelude> {
    prop_oneof![
        Just(Prelude::Nothing),
        Just(Prelude::Startup),
        Just(Prelude::StartupLz4)
    ]
}

impl Prelude {
    fn options(self) -> CodecOptions {
        CodecOptions {
            compression: match self {
                Prelude::StartupLz4 => Compression::Lz4,
                _ => Compression::None,
            },
            max_frame_length: MAX_FRAME,
        }
    }

    fn bytes(self) -> Vec<u8> {
        let mut startup = StringMap::new();
        startup.insert("CQL_VERSION".into(), "3.4.5".into());
        match self {
            Prelude::Nothing => return Vec::new(),
            Prelude::StartupLz4 => {
                startup.insert("COMPRESSION".into(), "lz4".into());
            }
            Prelude::Startup => {}
        }
        let mut wire = BytesMut::new();
        RequestMessage::new(0, Request::Startup(startup))
            .encode_to(&CodecOptions::default(), &mut wire)
            .expect("encodable STARTUP");
        wire.to_vec()
    }
}

/// Sends `prelude` then `garbage`, closes the sending side, and reads every answer to
/// the end; each must be a well-formed v4 response.
async fn feed(addr: SocketAddr, prelude: Prelude, garbage: &[u8]) -> Result<(), String> {
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut wire = prelude.bytes();
    wire.extend_from_slice(garbage);
    // The server may close early (version errors, oversized frames): not a failure.
    if socket.write_all(&wire).await.is_ok() {
        let _ = socket.shutdown().await;
    }
    let mut answers = BytesMut::new();
    while matches!(socket.read_buf(&mut answers).await, Ok(n) if n > 0) {}
    let mut decoder = FrameDecoder::new();
    let lenient = CodecOptions {
        compression: Compression::Lz4,
        max_frame_length: MAX_FRAME,
    };
    while let Some(frame) = decoder.decode(&mut answers).map_err(|e| e.to_string())? {
        ResponseMessage::decode(&frame, &lenient).map_err(|e| format!("{frame:?}: {e}"))?;
        ANSWERS.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// A fresh, well-behaved connection still gets served.
async fn probe(addr: SocketAddr) -> Result<(), String> {
    let client = Client::connect(addr).await.map_err(|e| e.to_string())?;
    let parameters = QueryParameters::new(Consistency::One);
    match client.query("SELECT 1", parameters).await {
        Ok(QueryResult::Void) => Ok(()),
        other => Err(format!("probe answered {other:?}")),
    }
}

fn run_case(
    rt: &Runtime,
    addr: SocketAddr,
    prelude: Prelude,
    garbage: &[u8],
) -> Result<(), TestCaseError> {
    rt.block_on(async {
        let fed = timeout(CASE_LIMIT, feed(addr, prelude, garbage)).await;
        let fed = fed
            .map_err(|_| "feeding timed out".to_owned())
            .and_then(|r| r);
        let probed = timeout(CASE_LIMIT, probe(addr)).await;
        let probed = probed
            .map_err(|_| "probe timed out".to_owned())
            .and_then(|r| r);
        fed.and(probed)
    })
    .map_err(TestCaseError::fail)?;
    prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    Ok(())
}

/// Valid requests, encoded for `prelude`'s compression, then overwritten in places
/// (headers included) and cut short.
fn mutated(
    prelude: Prelude,
    messages: &[RequestMessage],
    edits: &[(prop::sample::Index, u8)],
    cut: prop::sample::Index,
) -> Vec<u8> {
    let mut wire = BytesMut::new();
    for message in messages {
        // Encoding a generated message can fail (e.g. too long); skip those.
        let _ = message.encode_to(&prelude.options(), &mut wire);
    }
    let mut wire = wire.to_vec();
    if !wire.is_empty() {
        for (at, byte) in edits {
            let i = at.index(wire.len());
            wire[i] = *byte;
        }
        wire.truncate(cut.index(wire.len() + 1));
    }
    wire
}

#[test]
fn hostile_connections_never_break_the_server() {
    count_panics();
    let rt = Runtime::new().unwrap();
    let config = ServerConfig {
        max_frame_length: MAX_FRAME,
        max_in_flight_per_connection: 8,
        ..ServerConfig::default()
    };
    let server: Server = rt
        .block_on(Server::bind("127.0.0.1:0", config, Arc::new(Void)))
        .unwrap();
    let addr = server.local_addr();
    let config = Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    };

    let random = (prelude(), vec(any::<u8>(), 0..512));
    TestRunner::new(config.clone())
        .run(&random, |(prelude, garbage)| {
            run_case(&rt, addr, prelude, &garbage)
        })
        .unwrap();

    let edits = vec((any::<prop::sample::Index>(), any::<u8>()), 0..6);
    let frames = (
        prelude(),
        vec(support::request_message(), 1..5),
        edits,
        any::<prop::sample::Index>(),
    );
    TestRunner::new(config)
        .run(&frames, |(prelude, messages, edits, cut)| {
            let garbage = mutated(prelude, &messages, &edits, cut);
            run_case(&rt, addr, prelude, &garbage)
        })
        .unwrap();
    let answers = ANSWERS.load(Ordering::Relaxed);
    assert!(answers > 100, "only {answers} answers to hostile input");
    rt.block_on(server.shutdown());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The server's decoding path on its own, with and without LZ4 negotiated.
    #[test]
    fn decoding_random_bytes_never_panics(
        bytes in vec(any::<u8>(), 0..600),
        lz4 in any::<bool>(),
    ) {
        let options = CodecOptions {
            compression: if lz4 { Compression::Lz4 } else { Compression::None },
            max_frame_length: MAX_FRAME,
        };
        let mut decoder = FrameDecoder::with_max_frame_length(MAX_FRAME);
        let mut buf = BytesMut::from(Bytes::from(bytes));
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let _ = RequestMessage::decode(&frame, &options);
                }
                Ok(None) => break,
                Err(error) if error.is_fatal() => break,
                Err(_) => {}
            }
        }
    }
}
