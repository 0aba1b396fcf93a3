//! Real `basalt server` processes on 127.0.0.1 … 127.0.0.N, started through
//! the launcher library (`basalt::launcher`): a base port free on every
//! node's address, a guard that SIGKILLs whatever nodes still run when a test
//! ends, passed or failed, and a time limit on the test body.

use std::net::{IpAddr, Ipv4Addr};
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

/// A base port whose three ports are free on 127.0.0.1 … 127.0.0.3 right now,
/// below the ephemeral range (see [`super::free_ports`]).
pub(crate) fn free_base_port() -> u16 {
    super::free_ports(&[loopback(1), loopback(2), loopback(3)], 3)
}
