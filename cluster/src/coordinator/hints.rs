//! Where the coordinator leaves writes for replicas that are down or did not
//! answer: the [`HintSink`] seam.
//!
//! The node uses the durable, replayed [`crate::hints::HintStore`];
//! `MemoryHints` keeps hints in memory (bounded) for tests, behind the `sim`
//! feature.

use std::fmt;
#[cfg(any(test, feature = "sim"))]
use std::sync::Mutex;

use storage::Mutation;

use crate::net::BoxFuture;
use crate::ring::HostId;

/// Stores hints: mutations to replay to a replica when it is back.
///
/// Both methods are called on the write path, on the async runtime: they
/// must never wait for a disk.
pub trait HintSink: Send + Sync + fmt::Debug {
    /// Stores a hint for `host` when it can, without waiting for it to be
    /// durable; false when it was refused (full, overloaded, too old).
    fn store(&self, host: HostId, mutation: &Mutation) -> bool;

    /// Stores a hint for `host`; the future resolves once the hint is
    /// durable (true) or could not be stored (false). A write at ANY that
    /// only hints hold is acknowledged on that answer, so true must mean the
    /// hint survives a crash of this node.
    fn store_durably(&self, host: HostId, mutation: &Mutation) -> BoxFuture<'static, bool>;
}

/// Hints kept in memory, at most `capacity` of them.
#[cfg(any(test, feature = "sim"))]
#[derive(Debug)]
pub struct MemoryHints {
    capacity: usize,
    hints: Mutex<Vec<(HostId, Mutation)>>,
}

#[cfg(any(test, feature = "sim"))]
impl MemoryHints {
    /// An empty store that refuses hints beyond `capacity`.
    pub fn new(capacity: usize) -> Self {
        MemoryHints {
            capacity,
            hints: Mutex::new(Vec::new()),
        }
    }

    /// The hints stored so far, oldest first.
    pub fn hints(&self) -> Vec<(HostId, Mutation)> {
        self.hints.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the hints for `host`, oldest first (what a replay would send).
    pub fn take_for(&self, host: HostId) -> Vec<Mutation> {
        let mut hints = self.hints.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, rest): (Vec<_>, Vec<_>) = hints.drain(..).partition(|(h, _)| *h == host);
        *hints = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    }
}

#[cfg(any(test, feature = "sim"))]
impl HintSink for MemoryHints {
    fn store(&self, host: HostId, mutation: &Mutation) -> bool {
        let mut hints = self.hints.lock().unwrap_or_else(|p| p.into_inner());
        if hints.len() >= self.capacity {
            return false;
        }
        hints.push((host, mutation.clone()));
        true
    }

    /// Memory is as durable as these hints get: stored is durable.
    fn store_durably(&self, host: HostId, mutation: &Mutation) -> BoxFuture<'static, bool> {
        let stored = self.store(host, mutation);
        Box::pin(std::future::ready(stored))
    }
}
