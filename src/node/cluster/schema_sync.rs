//! Schema across nodes: a peer whose gossiped SCHEMA differs from ours is
//! asked for its user schema (SCHEMA_PULL), which is merged into ours; after
//! a local change ours is pushed to every live peer (SCHEMA_PUSH) and a
//! gossip round spreads the new version at once, so the drivers' schema
//! agreement wait ends within a round or two instead of many.
//!
//! Pulls are rate-limited to one in flight per peer; a failed pull is
//! retried at the next round while the versions still differ. A merge that
//! changes our schema emits SCHEMA_CHANGE like local DDL, so it is pushed on
//! too; the merge is idempotent, so the pushes stop once nodes agree.

use std::sync::{Arc, Weak};
use std::time::Duration;

use cluster::Endpoint;

use super::view::ClusterView;
use super::{Shared, gossip, verbs};
use crate::schema::SchemaService;
use crate::uuids::format_uuid;

/// How long a peer may take to send its schema.
const PULL_TIMEOUT: Duration = Duration::from_secs(5);

/// Registers SCHEMA_PULL and SCHEMA_PUSH.
pub(super) fn register(shared: &Arc<Shared>) {
    let schema = Arc::downgrade(&shared.schema);
    shared.messaging.register(verbs::SCHEMA_PULL, move |_, _| {
        let bytes = schema.upgrade().map(|s| encode_user_schema(&s));
        async move { bytes }
    });
    let weak = Arc::downgrade(shared);
    shared
        .messaging
        .register(verbs::SCHEMA_PUSH, move |payload, from| {
            let weak = weak.clone();
            async move {
                if let Some(shared) = weak.upgrade() {
                    merge(&shared, &payload, from).await;
                }
                None
            }
        });
}

/// Pulls from every live peer whose schema version differs from ours.
pub(super) fn pull_if_behind(shared: &Arc<Shared>, view: &ClusterView) {
    let ours = format_uuid(&shared.schema.version());
    for m in view.live_members() {
        if m.endpoint == view.local || m.schema_version.as_deref().is_none_or(|v| v == ours) {
            continue;
        }
        let fresh = shared
            .pulls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(m.endpoint);
        if fresh {
            tokio::spawn(pull(Arc::downgrade(shared), m.endpoint));
        }
    }
}

async fn pull(shared: Weak<Shared>, peer: Endpoint) {
    let Some(this) = shared.upgrade() else {
        return;
    };
    let messaging = Arc::clone(&this.messaging);
    drop(this);
    let answer = messaging
        .request(peer, verbs::SCHEMA_PULL, Vec::new(), PULL_TIMEOUT)
        .await;
    let Some(this) = shared.upgrade() else {
        return;
    };
    match answer {
        Ok(bytes) => merge(&this, &bytes, peer).await,
        Err(error) => tracing::debug!(%peer, %error, "schema pull failed"),
    }
    this.pulls
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&peer);
}

/// Merges a peer's user schema; when ours changed, spreads the new version.
async fn merge(shared: &Arc<Shared>, bytes: &[u8], from: Endpoint) {
    match merge_remote(&shared.schema, bytes).await {
        Ok(true) => {
            tracing::info!(%from, "merged a peer's schema");
            gossip::round_with_all(shared).await;
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(%from, %error, "could not merge a peer's schema"),
    }
}

/// Follows local DDL: each change is pushed to every live peer, and a
/// gossip round with all of them spreads the new version.
pub(super) async fn watch_local_schema(shared: Weak<Shared>) {
    let Some(mut changes) = shared.upgrade().map(|s| s.schema.subscribe()) else {
        return;
    };
    loop {
        match changes.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        push_to_live_peers(&shared).await;
        gossip::round_with_all(&shared).await;
    }
}

async fn push_to_live_peers(shared: &Arc<Shared>) {
    let view = shared.view.get();
    let payload = encode_user_schema(&shared.schema);
    for m in view.live_members().filter(|m| m.endpoint != view.local) {
        let sent = shared
            .messaging
            .one_way(m.endpoint, verbs::SCHEMA_PUSH, payload.clone())
            .await;
        if let Err(error) = sent {
            tracing::debug!(peer = %m.endpoint, %error, "schema push not sent");
        }
    }
}

/// This node's user keyspaces, encoded for a peer.
fn encode_user_schema(schema: &SchemaService) -> Vec<u8> {
    schema.encode_user_schema()
}

/// Merges a peer's encoded user schema into ours (the catalog's merge:
/// deterministic, so every node converges on the same result). Whether
/// our schema changed.
async fn merge_remote(schema: &SchemaService, bytes: &[u8]) -> Result<bool, String> {
    let remote = SchemaService::decode_user_schema(bytes).map_err(|e| e.message)?;
    schema.merge_remote(remote).await.map_err(|e| e.message)
}
