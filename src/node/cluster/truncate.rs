//! TRUNCATE across the cluster: the coordinator truncates locally and asks
//! every other member (live or not) to do the same; the statement fails
//! unless all of them did, as Cassandra requires every node to be up.
//!
//! The coordinator chooses the truncation time and every member records that
//! same time, so replicas agree on what the table no longer holds
//! (`docs/design/truncate.md`).

use std::sync::Arc;
use std::time::Duration;

use cluster::Messaging;
use storage::{TableId, Timestamp};

use super::view::ClusterView;
use super::{Shared, verbs};

/// How long a peer may take to truncate.
const TRUNCATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The first byte of a request that carries the truncation time. A request
/// without one (version 0) is exactly the table id's 16 bytes.
const WITH_TIME: u8 = 1;

/// A TRUNCATE request: the table and, from version 1, the truncation time (µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TruncateRequest {
    table: TableId,
    at: Option<i64>,
}

impl TruncateRequest {
    /// Version 1: `1`, the table id (u128 LE), the time (i64 LE).
    fn encode(table: TableId, at: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(25);
        out.push(WITH_TIME);
        out.extend_from_slice(&table.0.to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
        out
    }

    /// Either version, told apart by length; `None` for anything else.
    fn decode(payload: &[u8]) -> Option<TruncateRequest> {
        let table = |b: &[u8]| Some(TableId(u128::from_le_bytes(b.try_into().ok()?)));
        if let Ok(id) = <&[u8; 16]>::try_from(payload) {
            return Some(TruncateRequest {
                table: TableId(u128::from_le_bytes(*id)),
                at: None,
            });
        }
        let (&version, rest) = payload.split_first()?;
        let (id, at) = rest.split_at_checked(16)?;
        if version != WITH_TIME {
            return None;
        }
        Some(TruncateRequest {
            table: table(id)?,
            at: Some(i64::from_le_bytes(at.try_into().ok()?)),
        })
    }
}

/// Registers TRUNCATE (payload: [`TruncateRequest`]); the reply is empty on
/// success, or the error's text. The node's clock is advanced past the
/// truncation time, so the writes this node stamps afterwards are newer; a
/// request without a time is truncated at a time from that clock.
pub(super) fn register(shared: &Arc<Shared>) {
    let replica = Arc::downgrade(&shared.replica);
    let time = Arc::clone(&shared.time);
    shared
        .messaging
        .register(verbs::TRUNCATE, move |payload, _| {
            let engine = replica.upgrade().map(|r| Arc::clone(r.engine()));
            let time = Arc::clone(&time);
            async move {
                let request = TruncateRequest::decode(&payload)?;
                let engine = engine?;
                let at = match request.at {
                    Some(at) => {
                        time.observe(at);
                        at
                    }
                    None => time.write_timestamp(),
                };
                let result =
                    ::cluster::blocking::run(move || engine.truncate(request.table, Timestamp(at)))
                        .await;
                Some(match result {
                    Ok(Ok(())) => Vec::new(),
                    Ok(Err(e)) => e.to_string().into_bytes(),
                    Err(e) => e.to_string().into_bytes(),
                })
            }
        });
}

/// Truncates `table` at time `at` on every member other than this node; the
/// first failure's explanation.
pub(crate) async fn truncate_peers(
    messaging: &Messaging,
    view: &ClusterView,
    table: TableId,
    at: i64,
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
                TruncateRequest::encode(table, at),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_version_0_still_decodes() {
        let table = TableId(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let at = 1_700_000_000_123_456;
        let bytes = TruncateRequest::encode(table, at);
        assert_eq!(bytes.len(), 25);
        assert_eq!(
            TruncateRequest::decode(&bytes),
            Some(TruncateRequest {
                table,
                at: Some(at)
            })
        );
        assert_eq!(
            TruncateRequest::decode(&table.0.to_le_bytes()),
            Some(TruncateRequest { table, at: None })
        );
    }

    #[test]
    fn other_payloads_are_refused() {
        let good = TruncateRequest::encode(TableId(7), -1);
        for n in 0..good.len() {
            if n != 16 {
                assert_eq!(TruncateRequest::decode(&good[..n]), None, "{n} bytes");
            }
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(TruncateRequest::decode(&long), None);
        let mut other_version = good;
        other_version[0] = 2;
        assert_eq!(TruncateRequest::decode(&other_version), None);
    }
}
