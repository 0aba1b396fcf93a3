//! Per-connection state that the connection and its in-flight requests share.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use crate::compression::Compression;
use crate::notation::StringMap;
use crate::request::EventType;

/// One client connection as the handler sees it.
///
/// Requests of a connection run concurrently, so the mutable parts sit behind locks;
/// none is held across an `.await`.
#[derive(Debug)]
pub struct Session {
    id: u64,
    peer: SocketAddr,
    keyspace: Mutex<Option<String>>,
    startup: OnceLock<StringMap>,
    compression: OnceLock<Compression>,
    registered: Mutex<HashSet<EventType>>,
}

impl Session {
    /// A fresh session; the server numbers connections from 1. Public so handlers can be
    /// tested without a socket.
    pub fn new(id: u64, peer: SocketAddr) -> Self {
        Self {
            id,
            peer,
            keyspace: Mutex::new(None),
            startup: OnceLock::new(),
            compression: OnceLock::new(),
            registered: Mutex::new(HashSet::new()),
        }
    }

    /// The connection's number, unique within a server (for logs).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The keyspace of the last successful `USE`, the default for unqualified names.
    pub fn keyspace(&self) -> Option<String> {
        lock(&self.keyspace).clone()
    }

    /// Sets (or clears) the default keyspace.
    pub fn set_keyspace(&self, keyspace: Option<String>) {
        *lock(&self.keyspace) = keyspace;
    }

    /// The STARTUP options (`CQL_VERSION`, `DRIVER_NAME`, ...), once STARTUP was answered.
    pub fn startup_options(&self) -> Option<&StringMap> {
        self.startup.get()
    }

    /// The negotiated body compression; `None` before STARTUP.
    pub fn compression(&self) -> Option<Compression> {
        self.compression.get().copied()
    }

    /// Whether the connection has been answered READY to a STARTUP.
    pub fn is_started(&self) -> bool {
        self.startup.get().is_some()
    }

    /// Whether the connection REGISTERed for events of `event_type`.
    pub fn is_registered(&self, event_type: EventType) -> bool {
        lock(&self.registered).contains(&event_type)
    }

    /// Records a successful STARTUP. The reader checks [`Self::is_started`] first, so
    /// a second call cannot happen; if it did, the first values would stay.
    pub(crate) fn start(&self, options: StringMap, compression: Compression) {
        let _ = self.compression.set(compression);
        let _ = self.startup.set(options);
    }

    /// Adds event types to the subscription (REGISTER accumulates, as in Cassandra).
    pub(crate) fn register(&self, types: &[EventType]) {
        lock(&self.registered).extend(types.iter().copied());
    }
}

/// Locks `mutex`, ignoring poisoning: the guarded values are plain data that a panicking
/// holder cannot leave half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
