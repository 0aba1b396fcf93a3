//! Real `basalt server` processes on 127.0.0.1 … 127.0.0.N, started through
//! the launcher library (`basalt::launcher`): a base port free on every
//! node's address, a guard that SIGKILLs whatever nodes still run when a test
//! ends, passed or failed, and a time limit on the test body.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use basalt::Cluster;

/// The `basalt` executable the nodes run.
pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_basalt");

/// SIGKILLs every node still running in the cluster directory when dropped, so
/// that a failed or timed-out test leaves no processes behind.
pub(crate) struct Reaper(pub(crate) PathBuf);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(mut cluster) = Cluster::open(&self.0, PathBuf::from(BINARY)) {
            cluster.kill_all();
        }
    }
}

/// Runs `body` with a fresh cluster directory on its own thread, failing the
/// test if it takes longer than `limit`; the nodes are reaped either way.
pub(crate) fn bounded(limit: Duration, body: impl FnOnce(&Path) + Send + 'static) {
    let temp = tempfile::tempdir().expect("temporary directory");
    let dir = temp.path().join("cluster");
    let _reaper = Reaper(dir.clone());
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        body(&dir);
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("test body"),
        // The body panicked: report its panic rather than a bare disconnect.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(()) => panic!("the test body ended without finishing"),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {limit:?}")
        }
    }
}

/// 127.0.0.`k`, node `k`'s address.
pub(crate) fn loopback(k: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, k))
}

/// A base port whose three ports are free on 127.0.0.1 … 127.0.0.3 right now.
/// Another process could take one before the nodes bind it; on a test machine
/// that race is rare enough to accept.
pub(crate) fn free_base_port() -> u16 {
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let base = listener.local_addr().expect("local address").port();
        drop(listener);
        let Some(last) = base.checked_add(2) else {
            continue;
        };
        let free = (1..=3).all(|k| {
            (base..=last).all(|port| TcpListener::bind(SocketAddr::new(loopback(k), port)).is_ok())
        });
        if free {
            return base;
        }
    }
    panic!("no three consecutive free ports found");
}
