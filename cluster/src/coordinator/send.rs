//! Typed requests to one replica: over [`Peers`] with the wire encoding, or
//! straight to this node's own [`Replica`] without encoding anything.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use storage::Mutation;

use super::wire::{
    RangeReadRequest, RangeReadResponse, ReadRequest, ReadResponse, ReplicaError, WireError,
    decode_mutation_response, decode_range_response, decode_read_response,
};
use super::{PeerError, Peers, verbs};
use crate::batchlog::{BatchId, BatchRemoveRequest};
use crate::net::{BoxFuture, Verb};
use crate::replica::Replica;
use crate::ring::HostId;

/// Why a replica gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// No answer in time.
    Timeout,
    /// The peer could not be reached.
    Unreachable(String),
    /// The replica answered with an error.
    Replica(ReplicaError),
    /// The answer did not decode.
    Malformed(WireError),
}

impl SendError {
    pub(crate) fn message(&self) -> String {
        match self {
            SendError::Timeout => "timed out".into(),
            SendError::Unreachable(m) => m.clone(),
            SendError::Replica(e) => e.to_string(),
            SendError::Malformed(e) => e.to_string(),
        }
    }
}

impl From<PeerError> for SendError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Timeout => SendError::Timeout,
            PeerError::Unreachable(m) => SendError::Unreachable(m),
        }
    }
}

/// Reaches replicas; cheap to clone into per-request tasks.
#[derive(Clone, Debug)]
pub(crate) struct Sender {
    pub(crate) peers: Arc<dyn Peers>,
    pub(crate) local_host: HostId,
    pub(crate) local: Option<Arc<Replica>>,
}

/// Bounds a local call by the same timeout a remote one has.
async fn local_call<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, ReplicaError>>,
) -> Result<T, SendError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(SendError::Replica),
        Err(_) => Err(SendError::Timeout),
    }
}

/// Decodes a response payload into the replica's answer.
type Decoder<T> = fn(&[u8]) -> Result<Result<T, ReplicaError>, WireError>;

/// Sends an encoded request and decodes the answer.
async fn remote_call<T>(
    peers: Arc<dyn Peers>,
    host: HostId,
    verb: Verb,
    payload: Vec<u8>,
    timeout: Duration,
    decode: Decoder<T>,
) -> Result<T, SendError> {
    let answer = peers.send_request(host, verb, payload, timeout).await?;
    decode(&answer)
        .map_err(SendError::Malformed)?
        .map_err(SendError::Replica)
}

impl Sender {
    pub(crate) fn local_for(&self, host: HostId) -> Option<Arc<Replica>> {
        self.local.clone().filter(|_| host == self.local_host)
    }

    /// Applies a mutation on `host`; `encoded` is its MUTATION payload.
    pub(crate) fn mutation(
        &self,
        host: HostId,
        mutation: &Mutation,
        encoded: &[u8],
        timeout: Duration,
    ) -> BoxFuture<'static, Result<(), SendError>> {
        if let Some(replica) = self.local_for(host) {
            let mutation = mutation.clone();
            return Box::pin(async move { local_call(timeout, replica.apply(mutation)).await });
        }
        let (peers, payload) = (Arc::clone(&self.peers), encoded.to_vec());
        Box::pin(remote_call(
            peers,
            host,
            verbs::MUTATION,
            payload,
            timeout,
            decode_mutation_response,
        ))
    }

    /// Asks `host` to keep a logged batch; `payload` is the encoded
    /// BATCH_STORE request.
    pub(crate) fn store_batch(
        &self,
        host: HostId,
        id: BatchId,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<(), SendError>> {
        if let Some(replica) = self.local_for(host) {
            return Box::pin(
                async move { local_call(timeout, replica.store_batch(id, payload)).await },
            );
        }
        let peers = Arc::clone(&self.peers);
        Box::pin(remote_call(
            peers,
            host,
            verbs::BATCH_STORE,
            payload,
            timeout,
            decode_mutation_response,
        ))
    }

    /// Tells `host` to forget a logged batch.
    pub(crate) fn remove_batch(
        &self,
        host: HostId,
        id: BatchId,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<(), SendError>> {
        if let Some(replica) = self.local_for(host) {
            return Box::pin(async move { local_call(timeout, replica.remove_batch(id)).await });
        }
        let (peers, payload) = (Arc::clone(&self.peers), BatchRemoveRequest { id }.encode());
        Box::pin(remote_call(
            peers,
            host,
            verbs::BATCH_REMOVE,
            payload,
            timeout,
            decode_mutation_response,
        ))
    }

    /// Reads a partition on `host`.
    pub(crate) fn read(
        &self,
        host: HostId,
        request: &ReadRequest,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<ReadResponse, SendError>> {
        if let Some(replica) = self.local_for(host) {
            let request = request.clone();
            return Box::pin(async move { local_call(timeout, replica.read(request)).await });
        }
        let (peers, payload) = (Arc::clone(&self.peers), request.encode());
        Box::pin(remote_call(
            peers,
            host,
            verbs::READ,
            payload,
            timeout,
            decode_read_response,
        ))
    }

    /// Scans a key range on `host`.
    pub(crate) fn range(
        &self,
        host: HostId,
        request: &RangeReadRequest,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<RangeReadResponse, SendError>> {
        if let Some(replica) = self.local_for(host) {
            let request = request.clone();
            return Box::pin(async move { local_call(timeout, replica.range_read(request)).await });
        }
        let (peers, payload) = (Arc::clone(&self.peers), request.encode());
        Box::pin(remote_call(
            peers,
            host,
            verbs::RANGE_READ,
            payload,
            timeout,
            decode_range_response,
        ))
    }
}

/// Remaining time until `deadline`, zero once it has passed.
pub(crate) fn remaining(deadline: tokio::time::Instant) -> Duration {
    deadline.saturating_duration_since(tokio::time::Instant::now())
}
