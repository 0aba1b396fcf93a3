//! The server and client over real sockets on 127.0.0.1, each test bounded in time.

mod net;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use cql_lite::client::{Client, ClientError, ClientOptions};
use cql_lite::server::ServerConfig;
use cql_lite::*;
use net::*;
use tokio::time::timeout;

fn params() -> QueryParameters {
    QueryParameters::new(Consistency::One)
}

/// A 9-byte header plus body, written by hand.
fn frame_bytes(version: u8, flags: u8, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut wire = BytesMut::new();
    wire.put_u8(version);
    wire.put_u8(flags);
    wire.put_i16(stream);
    wire.put_u8(opcode);
    wire.put_u32(body.len() as u32);
    wire.put_slice(body);
    wire.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_lists_what_drivers_read() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let client = Client::connect(server.local_addr()).await.unwrap();
        let supported = client.options().await.unwrap();
        assert_eq!(supported["CQL_VERSION"], ["3.4.5"]);
        assert_eq!(supported["COMPRESSION"], ["lz4"]);
        assert_eq!(supported["PROTOCOL_VERSIONS"], ["3/v3", "4/v4"]);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_versions_get_the_downgrade_error_then_close() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        for (version, stream) in [(0x42u8, 0i16), (0x41, 0), (0x05, 3), (0x03, 7)] {
            let mut raw = Raw::connect(server.local_addr()).await;
            raw.write(&frame_bytes(version, 0, stream, 0x05, &[])).await;
            let frame = raw.frame().await.unwrap();
            let wire = frame.to_bytes().unwrap();
            assert_eq!(wire[0], 0x84, "version {version:#x}");
            assert_eq!((frame.stream, frame.opcode), (stream, Opcode::Error));
            let message = ResponseMessage::decode(&frame, &CodecOptions::default()).unwrap();
            let error = error_of(&message);
            assert_eq!(error.kind, ErrorKind::ProtocolError);
            assert!(
                error
                    .message
                    .to_lowercase()
                    .contains("unsupported protocol version"),
                "{}",
                error.message
            );
            assert!(error.message.contains(&format!("({version})")));
            assert!(raw.closed().await, "closed after the error");
        }
        // Still serving.
        Client::connect(server.local_addr()).await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_and_register_answer_ready() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::started(server.local_addr()).await;
        let types = vec![
            EventType::TopologyChange,
            EventType::StatusChange,
            EventType::SchemaChange,
        ];
        raw.send(2, Request::Register(types)).await;
        let ready = raw.recv().await;
        assert_eq!((ready.stream, ready.response), (2, Response::Ready));
        raw.send(3, Request::AuthResponse(None)).await;
        assert_eq!(raw.recv().await.response, Response::AuthSuccess(None));
        raw.send(
            4,
            Request::Startup([("CQL_VERSION".into(), "3.4.5".into())].into()),
        )
        .await;
        assert_eq!(error_of(&raw.recv().await).kind, ErrorKind::ProtocolError);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_startups_are_protocol_errors() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::connect(server.local_addr()).await;
        let snappy = [
            ("CQL_VERSION".to_owned(), "3.4.5".to_owned()),
            ("COMPRESSION".to_owned(), "snappy".to_owned()),
        ];
        raw.send(1, Request::Startup(snappy.into())).await;
        let answer = raw.recv().await;
        assert_eq!(answer.stream, 1);
        assert!(error_of(&answer).message.contains("snappy"));
        raw.send(2, Request::Startup(Default::default())).await;
        assert!(error_of(&raw.recv().await).message.contains("CQL_VERSION"));
        // The connection is still usable for a good STARTUP.
        raw.send(
            3,
            Request::Startup([("CQL_VERSION".into(), "3.0.0".into())].into()),
        )
        .await;
        assert_eq!(raw.recv().await.response, Response::Ready);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_before_startup_are_refused() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::connect(server.local_addr()).await;
        raw.send(5, query("SELECT 1")).await;
        let answer = raw.recv().await;
        assert_eq!(answer.stream, 5);
        let error = error_of(&answer);
        assert_eq!(error.kind, ErrorKind::ProtocolError);
        assert!(error.message.contains("STARTUP"), "{}", error.message);
        raw.send(6, Request::Register(vec![EventType::SchemaChange]))
            .await;
        assert_eq!(error_of(&raw.recv().await).kind, ErrorKind::ProtocolError);
        raw.send(7, Request::Options).await;
        assert!(matches!(raw.recv().await.response, Response::Supported(_)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_queries_come_back_out_of_order_on_their_streams() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::started(server.local_addr()).await;
        let mut wire = BytesMut::new();
        for stream in 0..200i16 {
            // Earlier requests sleep longer, so later ones overtake them.
            let text = format!("sleep {} q{stream}", (200 - stream) * 2);
            RequestMessage::new(stream, query(&text))
                .encode_to(&raw.options, &mut wire)
                .unwrap();
        }
        raw.write(&wire).await;
        let mut order = Vec::new();
        for _ in 0..200 {
            let answer = raw.recv().await;
            let Response::Result(result) = &answer.response else {
                panic!("{answer:?}");
            };
            assert!(echoed(result).ends_with(&format!(" q{}", answer.stream)));
            order.push(answer.stream);
        }
        let distinct: HashSet<i16> = order.iter().copied().collect();
        assert_eq!(distinct.len(), 200);
        let position = |s: i16| order.iter().position(|x| *x == s).unwrap();
        assert!(position(199) < position(0), "answers came back in order");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_multiplexes_concurrent_requests() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let client = Arc::new(Client::connect(server.local_addr()).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let client = Arc::clone(&client);
            tasks.push(tokio::spawn(async move {
                let text = format!("sleep {} c{i}", (200 - i) % 17);
                let result = client.query(&text, params()).await.unwrap();
                assert_eq!(echoed(&result), text);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_body_is_answered_and_the_connection_survives() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::started(server.local_addr()).await;
        // A QUERY whose [long string] claims 50 bytes but has 2.
        raw.write(&frame_bytes(0x04, 0, 7, 0x07, &[0, 0, 0, 50, b'a', b'b']))
            .await;
        let answer = raw.recv().await;
        assert_eq!(answer.stream, 7);
        assert_eq!(error_of(&answer).kind, ErrorKind::ProtocolError);
        // An unknown opcode, and a request with the response bit set.
        raw.write(&frame_bytes(0x04, 0, 8, 0x04, &[])).await;
        assert_eq!(error_of(&raw.recv().await).kind, ErrorKind::ProtocolError);
        raw.write(&frame_bytes(0x84, 0, 9, 0x05, &[])).await;
        let answer = raw.recv().await;
        assert_eq!((answer.stream, error_of(&answer).kind.code()), (9, 0x0A));
        raw.send(10, query("still here")).await;
        let answer = raw.recv().await;
        let Response::Result(result) = &answer.response else {
            panic!("{answer:?}");
        };
        assert_eq!((answer.stream, echoed(result).as_str()), (10, "still here"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_is_refused_and_closes() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            max_frame_length: 1024,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let mut raw = Raw::started(server.local_addr()).await;
        raw.send(3, query(&"x".repeat(2000))).await;
        let answer = raw.recv().await;
        assert_eq!(answer.stream, 3);
        let error = error_of(&answer);
        assert_eq!(error.kind, ErrorKind::ProtocolError);
        assert!(error.message.contains("1024"), "{}", error.message);
        assert!(raw.closed().await);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_is_negotiated_and_used() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let mut raw = Raw::connect(server.local_addr()).await;
        let startup = [
            ("CQL_VERSION".to_owned(), "3.4.5".to_owned()),
            ("COMPRESSION".to_owned(), "lz4".to_owned()),
        ];
        raw.send(1, Request::Startup(startup.into())).await;
        let ready = raw.frame().await.unwrap();
        assert_eq!((ready.opcode, ready.flags.bits()), (Opcode::Ready, 0));
        raw.options.compression = Compression::Lz4;
        let text = "compress me ".repeat(100);
        raw.send(2, query(&text)).await;
        let frame = raw.frame().await.unwrap();
        assert!(frame.flags.contains(Flags::COMPRESSION));
        assert!(frame.body.len() < text.len());
        let answer = ResponseMessage::decode(&frame, &raw.options).unwrap();
        let Response::Result(result) = &answer.response else {
            panic!("{answer:?}");
        };
        assert_eq!(echoed(result), text);

        let options = ClientOptions {
            compression: Compression::Lz4,
            ..ClientOptions::default()
        };
        let client = Client::connect_with(server.local_addr(), options)
            .await
            .unwrap();
        let result = client.query(&text, params()).await.unwrap();
        assert_eq!(echoed(&result), text);
    })
    .await
    .unwrap();
}

fn schema_event() -> Event {
    Event::SchemaChange(SchemaChange {
        change_type: SchemaChangeType::Created,
        target: SchemaChangeTarget::Keyspace {
            keyspace: "ks".into(),
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_registered_connections_only() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let registered = Client::connect(server.local_addr()).await.unwrap();
        registered
            .register(&[EventType::SchemaChange])
            .await
            .unwrap();
        let other_type = Client::connect(server.local_addr()).await.unwrap();
        other_type
            .register(&[EventType::StatusChange])
            .await
            .unwrap();
        let unregistered = Client::connect(server.local_addr()).await.unwrap();

        assert_eq!(server.events().send(schema_event()), 2);
        assert_eq!(registered.next_event().await, Some(schema_event()));
        let quiet = Duration::from_millis(200);
        assert!(timeout(quiet, other_type.next_event()).await.is_err());
        assert!(timeout(quiet, unregistered.next_event()).await.is_err());
        // Events are pushed on stream -1 alongside ordinary answers.
        let result = registered.query("after", params()).await.unwrap();
        assert_eq!(echoed(&result), "after");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handler_is_a_server_error() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let client = Client::connect(server.local_addr()).await.unwrap();
        match client.query("panic", params()).await {
            Err(ClientError::Server(error)) => assert_eq!(error.kind, ErrorKind::ServerError),
            other => panic!("{other:?}"),
        }
        let result = client.query("fine", params()).await.unwrap();
        assert_eq!(echoed(&result), "fine");
        let fresh = Client::connect(server.local_addr()).await.unwrap();
        assert_eq!(echoed(&fresh.query("new", params()).await.unwrap()), "new");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_applies_back_pressure_without_deadlock() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            max_in_flight_per_connection: 2,
            ..ServerConfig::default()
        };
        let (server, handler) = start(config).await;
        let mut raw = Raw::started(server.local_addr()).await;
        let mut wire = BytesMut::new();
        for stream in 0..50i16 {
            RequestMessage::new(stream, query(&format!("sleep 20 b{stream}")))
                .encode_to(&raw.options, &mut wire)
                .unwrap();
        }
        raw.write(&wire).await;
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let answer = raw.recv().await;
            assert!(matches!(answer.response, Response::Result(_)));
            seen.insert(answer.stream);
        }
        assert_eq!(seen.len(), 50);
        assert_eq!(handler.max_running.load(Ordering::SeqCst), 2);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_sets_the_session_keyspace_and_warnings_are_sent() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let client = Client::connect(server.local_addr()).await.unwrap();
        let result = client.query("USE shop", params()).await.unwrap();
        assert_eq!(result, QueryResult::SetKeyspace("shop".into()));
        assert_eq!(
            echoed(&client.query("keyspace", params()).await.unwrap()),
            "shop"
        );
        let answer = client.request(query("warn")).await.unwrap();
        assert_eq!(answer.warnings, ["careful"]);
        let prepared = client.prepare("SELECT").await.unwrap();
        assert_eq!(&prepared.id[..], b"SELECT");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_closed() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            max_connections: 1,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let first = Client::connect(server.local_addr()).await.unwrap();
        let mut second = Raw::connect(server.local_addr()).await;
        assert!(second.closed().await);
        drop(first);
        // The slot frees up once the first connection is gone.
        loop {
            if let Ok(client) = Client::connect(server.local_addr()).await {
                client.options().await.unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_then_closes() {
    timeout(LIMIT, async {
        let (server, handler) = start(ServerConfig::default()).await;
        let addr = server.local_addr();
        let client = Arc::new(Client::connect(addr).await.unwrap());
        let slow = {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.query("sleep 300 slow", params()).await })
        };
        while handler.running.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.shutdown().await;
        let result = slow.await.unwrap().unwrap();
        assert_eq!(echoed(&result), "sleep 300 slow");
        assert!(matches!(
            client.query("late", params()).await,
            Err(ClientError::Closed)
        ));
        assert!(Client::connect(addr).await.is_err());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_is_bounded() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            shutdown_grace: Duration::from_millis(100),
            ..ServerConfig::default()
        };
        let (server, handler) = start(config).await;
        let client = Arc::new(Client::connect(server.local_addr()).await.unwrap());
        let stuck = {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.query("sleep 60000 stuck", params()).await })
        };
        while handler.running.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.shutdown().await;
        assert!(matches!(stuck.await.unwrap(), Err(ClientError::Closed)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_reads_does_not_hold_up_events() {
    timeout(LIMIT, async {
        let config = ServerConfig {
            event_buffer: 8,
            ..ServerConfig::default()
        };
        let (server, _) = start(config).await;
        let mut stalled = Raw::started(server.local_addr()).await;
        stalled
            .send(2, Request::Register(vec![EventType::SchemaChange]))
            .await;
        assert_eq!(stalled.recv().await.response, Response::Ready);
        let listener = Client::connect(server.local_addr()).await.unwrap();
        listener.register(&[EventType::SchemaChange]).await.unwrap();

        let keyspace = |name: String| {
            Event::SchemaChange(SchemaChange {
                change_type: SchemaChangeType::Created,
                target: SchemaChangeTarget::Keyspace { keyspace: name },
            })
        };
        // Far more than the stalled connection's socket buffers and event buffer hold.
        for i in 0..20_000 {
            server.events().send(keyspace(format!("k{i:05}")));
        }
        server.events().send(keyspace("last".into()));
        // Lagging loses the oldest events, never the newest.
        while let Some(event) = listener.next_event().await {
            if event == keyspace("last".into()) {
                break;
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_small_answers_interleave_intact() {
    timeout(LIMIT, async {
        let (server, _) = start(ServerConfig::default()).await;
        let client = Arc::new(Client::connect(server.local_addr()).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..20usize {
            let client = Arc::clone(&client);
            tasks.push(tokio::spawn(async move {
                // Every third answer is bigger than the writer's coalescing batch.
                let size = if i % 3 == 0 { 200_000 } else { 100 };
                let text = format!("{i:02}{}", "y".repeat(size));
                let result = client.query(&text, params()).await.unwrap();
                assert_eq!(echoed(&result), text);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .unwrap();
}
