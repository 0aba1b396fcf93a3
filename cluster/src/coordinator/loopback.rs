//! An in-memory cluster for tests: [`LoopbackPeers`] delivers requests to
//! in-process [`Replica`]s through the wire encoding, with hosts that can be
//! down, silent (they apply requests but never answer) or slow; and
//! [`StaticTopology`] is a ring with a settable set of down hosts.
//!
//! Time is tokio's, so tests with a paused clock run timeouts instantly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::{PeerError, Peers, Topology};
use crate::net::{BoxFuture, Verb};
use crate::replica::Replica;
use crate::ring::{HostId, Ring};

#[derive(Debug, Default)]
struct Faults {
    down: BTreeSet<HostId>,
    silent: BTreeSet<HostId>,
    delay: BTreeMap<HostId, Duration>,
    sent: BTreeMap<HostId, usize>,
}

/// Peers reached in memory, with injectable faults.
#[derive(Debug, Default)]
pub struct LoopbackPeers {
    replicas: RwLock<BTreeMap<HostId, Arc<Replica>>>,
    faults: Mutex<Faults>,
}

impl LoopbackPeers {
    /// No peers yet.
    pub fn new() -> Self {
        LoopbackPeers::default()
    }

    /// Makes `replica` reachable as `host`.
    pub fn add(&self, host: HostId, replica: Arc<Replica>) {
        self.replicas
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host, replica);
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests to `host` fail at once as unreachable (or stop failing).
    pub fn set_down(&self, host: HostId, down: bool) {
        let mut f = self.faults();
        if down {
            f.down.insert(host);
        } else {
            f.down.remove(&host);
        }
    }

    /// `host` serves requests but its answers are lost (or no longer are).
    pub fn set_silent(&self, host: HostId, silent: bool) {
        let mut f = self.faults();
        if silent {
            f.silent.insert(host);
        } else {
            f.silent.remove(&host);
        }
    }

    /// Requests to `host` are delivered after `delay`.
    pub fn set_delay(&self, host: HostId, delay: Duration) {
        self.faults().delay.insert(host, delay);
    }

    /// Requests sent to `host` so far (including failed ones).
    pub fn sent(&self, host: HostId) -> usize {
        self.faults().sent.get(&host).copied().unwrap_or(0)
    }
}

impl Peers for LoopbackPeers {
    fn send_request(
        &self,
        host: HostId,
        verb: Verb,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, PeerError>> {
        let (down, silent, delay) = {
            let mut f = self.faults();
            *f.sent.entry(host).or_insert(0) += 1;
            let delay = f.delay.get(&host).copied().unwrap_or_default();
            (f.down.contains(&host), f.silent.contains(&host), delay)
        };
        let replica = self
            .replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host)
            .cloned();
        Box::pin(async move {
            let replica = match replica {
                Some(r) if !down => r,
                _ => return Err(PeerError::Unreachable(format!("{host} is down"))),
            };
            let work = async {
                tokio::time::sleep(delay).await;
                let answer = replica
                    .handle(verb, payload)
                    .ok_or_else(|| PeerError::Unreachable(format!("unknown verb {verb:?}")))?
                    .await;
                if silent {
                    std::future::pending::<()>().await;
                }
                Ok(answer)
            };
            tokio::time::timeout(timeout, work)
                .await
                .unwrap_or(Err(PeerError::Timeout))
        })
    }
}

/// A fixed ring with hosts marked down by hand.
#[derive(Debug)]
pub struct StaticTopology {
    ring: Arc<Ring>,
    down: Mutex<BTreeMap<HostId, Duration>>,
}

impl StaticTopology {
    /// Everyone on `ring` up.
    pub fn new(ring: Ring) -> Self {
        StaticTopology {
            ring: Arc::new(ring),
            down: Mutex::new(BTreeMap::new()),
        }
    }

    /// Marks `host` down (for `down_for` so far) or up.
    pub fn set_down(&self, host: HostId, down_for: Option<Duration>) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match down_for {
            Some(d) => down.insert(host, d),
            None => down.remove(&host),
        };
    }
}

impl Topology for StaticTopology {
    fn ring(&self) -> Arc<Ring> {
        Arc::clone(&self.ring)
    }

    fn is_alive(&self, host: HostId) -> bool {
        !self
            .down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&host)
    }

    fn down_for(&self, host: HostId) -> Option<Duration> {
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host)
            .copied()
    }
}
