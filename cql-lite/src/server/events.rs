//! Publishing events to the connections that REGISTERed for them.

use tokio::sync::broadcast;

use crate::event::Event;

/// A handle the node uses to push [`Event`]s to every connection registered for the
/// event's type; cheap to clone.
///
/// Events go through a broadcast channel: publishing never waits, and a connection that
/// falls more than [`ServerConfig::event_buffer`](super::ServerConfig::event_buffer)
/// events behind loses the oldest ones instead of holding up the others.
#[derive(Debug, Clone)]
pub struct EventSender {
    tx: broadcast::Sender<Event>,
}

impl EventSender {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    /// Publishes `event`; returns how many connections are listening for events at all
    /// (each filters by the types it registered).
    pub fn send(&self, event: Event) -> usize {
        self.tx.send(event).unwrap_or(0)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
