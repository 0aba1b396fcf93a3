//! The coordinator's [`Peers`] seam over internode messaging: a host id is
//! resolved to its address in the current ring snapshot, then asked over TCP.

use std::sync::Arc;
use std::time::Duration;

use cluster::HostId;
use cluster::{BoxFuture, Verb};
use cluster::{Messaging, MessagingError};
use cluster::{PeerError, Peers};

use super::view::ViewCell;

/// Reaches replicas through [`Messaging`].
#[derive(Debug)]
pub struct MessagingPeers {
    pub(super) messaging: Arc<Messaging>,
    pub(super) view: Arc<ViewCell>,
}

impl Peers for MessagingPeers {
    fn send_request(
        &self,
        host: HostId,
        verb: Verb,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<u8>, PeerError>> {
        let messaging = Arc::clone(&self.messaging);
        let address = self.view.get().ring.endpoint(host).map(|e| e.address);
        Box::pin(async move {
            let Some(to) = address else {
                return Err(PeerError::Unreachable(format!("{host} is not in the ring")));
            };
            messaging
                .request(to, verb, payload, timeout)
                .await
                .map_err(|e| match e {
                    MessagingError::Timeout => PeerError::Timeout,
                    other => PeerError::Unreachable(other.to_string()),
                })
        })
    }
}
