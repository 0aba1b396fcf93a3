//! The TCP transport and messaging on 127.0.0.1, and messaging over the sim
//! network. Every test is bounded by `tokio::time::timeout`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::frame::{self, DEFAULT_MAX_PAYLOAD, Frame, FrameKind};
use cluster::sim::{SimConfig, SimNetwork};
use cluster::{Lane, Message, Transport, TransportError, Verb};
use cluster::{Messaging, MessagingError};
use cluster::{TcpConfig, TcpTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ECHO: Verb = Verb(100);
const SILENT: Verb = Verb(101);
const PANICS: Verb = Verb(102);
const BULK: Verb = Verb(103);
const BOUND: Duration = Duration::from_secs(20);
const LONG: Duration = Duration::from_secs(5);

/// Runs a test body, failing it if it takes longer than [`BOUND`].
async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(BOUND, body)
        .await
        .expect("test timed out");
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// Short backoffs and grace so restarts are quick in tests.
fn config() -> TcpConfig {
    TcpConfig {
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        shutdown_grace: Duration::from_millis(500),
        ..TcpConfig::default()
    }
}

async fn transport_at(addr: SocketAddr, config: TcpConfig) -> Arc<TcpTransport> {
    Arc::new(TcpTransport::bind(addr, config).await.expect("bind"))
}

/// A node whose messaging answers ECHO with `payload ++ " from " ++ sender`,
/// never answers SILENT, and panics on PANICS.
fn serve(transport: Arc<TcpTransport>) -> Messaging {
    let messaging = Messaging::new(transport);
    register_echo(&messaging);
    messaging
}

fn register_echo(messaging: &Messaging) {
    messaging.register(ECHO, |mut payload, from| async move {
        payload.extend_from_slice(format!(" from {from}").as_bytes());
        Some(payload)
    });
    messaging.register(SILENT, |_, _| std::future::pending());
    messaging.register(PANICS, |_, _| async { panic!("handler bug") });
}

async fn pair() -> (Arc<TcpTransport>, Messaging, Arc<TcpTransport>, Messaging) {
    let a = transport_at(any_port(), config()).await;
    let b = transport_at(any_port(), config()).await;
    (a.clone(), serve(a), b.clone(), serve(b))
}

/// A port nothing listens on.
fn dead_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("bound")
}

#[tokio::test]
async fn request_and_response_round_trip() {
    bounded(async {
        let (a, ma, b, mb) = pair().await;
        let reply = ma.request(b.local(), ECHO, b"ping".to_vec(), LONG).await;
        assert_eq!(
            reply.unwrap(),
            format!("ping from {}", a.local()).into_bytes()
        );
        let reply = mb.request(a.local(), ECHO, b"pong".to_vec(), LONG).await;
        assert_eq!(
            reply.unwrap(),
            format!("pong from {}", b.local()).into_bytes()
        );

        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        mb.register(Verb(200), move |payload, from| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((payload, from)).await;
                None
            }
        });
        ma.one_way(b.local(), Verb(200), b"note".to_vec())
            .await
            .unwrap();
        assert_eq!(rx.recv().await.unwrap(), (b"note".to_vec(), a.local()));
        assert_eq!(ma.stats().requests, 1);
        assert_eq!(ma.pending_requests(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_to_two_peers() {
    bounded(async {
        let a = transport_at(any_port(), config()).await;
        let ma = Arc::new(serve(a.clone()));
        let peers = [
            serve(transport_at(any_port(), config()).await),
            serve(transport_at(any_port(), config()).await),
        ];
        let targets: Vec<SocketAddr> = peers.iter().map(Messaging::local).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..500u32 {
            let (ma, to) = (ma.clone(), targets[i as usize % 2]);
            tasks.spawn(async move {
                let body = i.to_be_bytes().to_vec();
                let reply = ma.request(to, ECHO, body.clone(), LONG).await.unwrap();
                assert!(reply.starts_with(&body), "reply to {i} is {reply:?}");
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(ma.stats().requests, 500);
        assert_eq!(ma.stats().timeouts, 0);
        assert_eq!(ma.pending_requests(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_request_the_peer_never_answers_times_out() {
    bounded(async {
        let (_a, ma, b, _mb) = pair().await;
        let started = Instant::now();
        let reply = ma
            .request(b.local(), SILENT, vec![], Duration::from_millis(200))
            .await;
        assert_eq!(reply, Err(MessagingError::Timeout));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(ma.stats().timeouts, 1);
        assert_eq!(ma.pending_requests(), 0, "timed-out entries are removed");
    })
    .await;
}

#[tokio::test]
async fn a_failing_handler_is_a_remote_error_and_unknown_verbs_are_dropped() {
    bounded(async {
        let (_a, ma, b, mb) = pair().await;
        let reply = ma.request(b.local(), PANICS, vec![], LONG).await;
        assert!(
            matches!(reply, Err(MessagingError::Remote(ref e)) if e.contains("panic")),
            "{reply:?}"
        );
        let reply = ma
            .request(b.local(), Verb(999), vec![], Duration::from_millis(100))
            .await;
        assert_eq!(reply, Err(MessagingError::Timeout));
        assert_eq!(mb.stats().dropped_unknown_verb, 1);
        let reserved = ma.request(b.local(), Verb::RESPONSE, vec![], LONG).await;
        assert_eq!(reserved, Err(MessagingError::ReservedVerb(Verb::RESPONSE)));
    })
    .await;
}

#[tokio::test]
async fn messages_queued_while_a_peer_restarts_are_delivered_after_it_returns() {
    bounded(async {
        let (_a, ma, b, mb) = pair().await;
        let b_addr = b.local();
        ma.request(b_addr, ECHO, b"before".to_vec(), LONG)
            .await
            .unwrap();

        b.shutdown().await;
        drop((mb, b));
        let ma = Arc::new(ma);
        // Sent while b is down: queued, and retried with backoff.
        let pending = tokio::spawn({
            let ma = ma.clone();
            async move {
                ma.request(b_addr, ECHO, b"during".to_vec(), Duration::from_secs(10))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!pending.is_finished());

        let b2 = transport_at(b_addr, config()).await;
        let _mb2 = serve(b2);
        let reply = pending.await.unwrap().unwrap();
        assert!(reply.starts_with(b"during"));
        ma.request(b_addr, ECHO, b"after".to_vec(), LONG)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_full_queue_refuses_instead_of_blocking() {
    bounded(async {
        let a = transport_at(
            any_port(),
            TcpConfig {
                queue_messages: 4,
                queue_bytes: 1000,
                ..config()
            },
        )
        .await;
        let nobody = dead_port();
        let message = |len: usize| Message {
            verb: ECHO,
            id: 0,
            payload: vec![7; len],
        };
        for _ in 0..4 {
            a.send(nobody, message(10)).await.unwrap();
        }
        assert_eq!(
            a.send(nobody, message(10)).await,
            Err(TransportError::QueueFull(nobody))
        );
        assert_eq!(a.queued(nobody, Lane::Data), 4);
        // The byte bound: one big message fits an empty queue, a second not.
        let other = dead_port();
        a.send(other, message(900)).await.unwrap();
        assert_eq!(
            a.send(other, message(900)).await,
            Err(TransportError::QueueFull(other))
        );
        // Gossip has its own lane and queue.
        let gossip = Message {
            verb: Verb::GOSSIP_DIGEST_SYN,
            ..message(10)
        };
        a.send(nobody, gossip).await.unwrap();
        assert_eq!(a.queued(nobody, Lane::Urgent), 1);
        // Failed connects keep the queue as it was.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(a.stats().connect_failures > 0);
        assert_eq!(a.queued(nobody, Lane::Data), 4);
        a.shutdown().await;
        assert_eq!(
            a.send(nobody, message(1)).await,
            Err(TransportError::Closed)
        );
        assert_eq!(a.recv().await, None, "recv ends once shut down and drained");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_overtakes_a_flood_of_data() {
    bounded(async {
        const FLOOD: usize = 400;
        let a = transport_at(any_port(), config()).await;
        let b = transport_at(
            any_port(),
            TcpConfig {
                inbound_capacity: 4,
                ..config()
            },
        )
        .await;
        let to = b.local();
        for i in 0..FLOOD {
            let bulk = Message {
                verb: BULK,
                id: 0,
                payload: vec![i as u8; 64 * 1024],
            };
            a.send(to, bulk).await.unwrap();
        }
        let syn = Message {
            verb: Verb::GOSSIP_DIGEST_SYN,
            id: 0,
            payload: b"heartbeat".to_vec(),
        };
        let sent = Instant::now();
        a.send(to, syn.clone()).await.unwrap();

        // A slow consumer: data backs up in a's queue behind TCP flow control.
        let mut data_before = 0;
        loop {
            let envelope = b.recv().await.unwrap();
            if envelope.message.verb == BULK {
                data_before += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            assert_eq!(envelope.message, syn);
            assert_eq!(envelope.from, a.local());
            break;
        }
        let still_queued = a.queued(to, Lane::Data);
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "gossip took {:?}",
            sent.elapsed()
        );
        assert!(
            data_before < FLOOD / 4,
            "gossip waited for {data_before} data messages"
        );
        assert!(still_queued > 0, "the data lane had drained already");
    })
    .await;
}

/// Reads until the server closes the connection; true if it did.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(LONG, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn corrupt_bytes_close_only_their_connection() {
    bounded(async {
        let (a, ma, b, _mb) = pair().await;
        let b_addr = b.local();

        let mut garbage = TcpStream::connect(b_addr).await.unwrap();
        garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert!(closed_by_server(&mut garbage).await);

        // A proper handshake, then a frame whose payload was damaged.
        let mut bad = TcpStream::connect(b_addr).await.unwrap();
        let mut wire = Vec::new();
        frame::encode_frame(&mut wire, &Frame::handshake(a.local()), DEFAULT_MAX_PAYLOAD).unwrap();
        let request = Frame {
            kind: FrameKind::Request,
            verb: ECHO,
            id: 1,
            payload: b"hello".to_vec(),
        };
        frame::encode_frame(&mut wire, &request, DEFAULT_MAX_PAYLOAD).unwrap();
        let last = wire.len() - 1;
        wire[last] ^= 0x01;
        bad.write_all(&wire).await.unwrap();
        assert!(closed_by_server(&mut bad).await);

        // An oversized length announced in the header.
        let mut huge = TcpStream::connect(b_addr).await.unwrap();
        let mut wire = Vec::new();
        frame::encode_frame(&mut wire, &Frame::handshake(a.local()), DEFAULT_MAX_PAYLOAD).unwrap();
        let start = wire.len();
        frame::encode_frame(&mut wire, &request, DEFAULT_MAX_PAYLOAD).unwrap();
        wire[start + 16..start + 20].copy_from_slice(&u32::MAX.to_be_bytes());
        huge.write_all(&wire).await.unwrap();
        assert!(closed_by_server(&mut huge).await);

        assert_eq!(b.stats().corrupt_connections, 3);
        let reply = ma.request(b_addr, ECHO, b"still up".to_vec(), LONG).await;
        assert!(reply.unwrap().starts_with(b"still up"));
    })
    .await;
}

#[tokio::test]
async fn messaging_runs_over_the_sim_network() {
    bounded(async {
        let net = SimNetwork::new(7, SimConfig::default());
        let addrs: Vec<SocketAddr> = (1..=3)
            .map(|n| SocketAddr::from(([10, 0, 0, n], 7000)))
            .collect();
        let nodes: Vec<Messaging> = addrs
            .iter()
            .map(|&addr| {
                let messaging = Messaging::new(Arc::new(net.register(addr)));
                register_echo(&messaging);
                messaging
            })
            .collect();
        // The sim delivers only when its virtual clock moves.
        let pump = tokio::spawn({
            let net = net.clone();
            async move {
                loop {
                    net.advance_to(net.now_ms() + 1);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        for (i, from) in nodes.iter().enumerate() {
            let to = addrs[(i + 1) % 3];
            let reply = from.request(to, ECHO, b"hi".to_vec(), LONG).await.unwrap();
            assert_eq!(reply, format!("hi from {}", addrs[i]).into_bytes());
        }
        net.partition(addrs[0], addrs[1]);
        let cut = nodes[0]
            .request(addrs[1], ECHO, vec![], Duration::from_millis(50))
            .await;
        assert_eq!(cut, Err(MessagingError::Timeout));
        assert!(net.stats().delivered >= 6);
        pump.abort();
    })
    .await;
}
