//! TRUNCATE across the cluster: the coordinator truncates locally and asks
//! every other member (live or not) to do the same; the statement fails
//! unless all of them did, as Cassandra requires every node to be up.

use std::sync::Arc;
use std::time::Duration;

use cluster::Messaging;
use storage::TableId;

use super::view::ClusterView;
use super::{Shared, verbs};

/// How long a peer may take to truncate.
const TRUNCATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Registers TRUNCATE: the payload is the table id's 16 bytes; the reply is
/// empty on success, or the error's text.
pub(super) fn register(shared: &Arc<Shared>) {
    let replica = Arc::downgrade(&shared.replica);
    shared
        .messaging
        .register(verbs::TRUNCATE, move |payload, _| {
            let engine = replica.upgrade().map(|r| Arc::clone(r.engine()));
            async move {
                let id: [u8; 16] = payload.as_slice().try_into().ok()?;
                let engine = engine?;
                let result = tokio::task::spawn_blocking(move || {
                    engine.truncate(TableId(u128::from_le_bytes(id)))
                })
                .await;
                Some(match result {
                    Ok(Ok(())) => Vec::new(),
                    Ok(Err(e)) => e.to_string().into_bytes(),
                    Err(e) => e.to_string().into_bytes(),
                })
            }
        });
}

/// Truncates `table` on every member other than this node; the first
/// failure's explanation.
pub(crate) async fn truncate_peers(
    messaging: &Messaging,
    view: &ClusterView,
    table: TableId,
) -> Result<(), String> {
    for m in view
        .members
        .iter()
        .filter(|m| m.endpoint != view.local && m.status != cluster::Status::Left)
    {
        if !view.is_alive(m.host_id) {
            return Err(format!("Cannot perform truncate: {} is down", m.endpoint));
        }
        let answer = messaging
            .request(
                m.endpoint,
                verbs::TRUNCATE,
                table.0.to_le_bytes().to_vec(),
                TRUNCATE_TIMEOUT,
            )
            .await
            .map_err(|e| format!("truncate on {}: {e}", m.endpoint))?;
        if !answer.is_empty() {
            let reason = String::from_utf8_lossy(&answer);
            return Err(format!("truncate on {}: {reason}", m.endpoint));
        }
    }
    Ok(())
}
