//! After the faults: wait until every node sees every other Up, let hints
//! drain, and (white-box) compare the replicas' data: the convergence
//! verdict, decided here from the nodes' `/v1/dump` since the history cannot
//! show it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::checker::{Validity, Verdict};
use crate::nodes::Cluster;

const POLL: Duration = Duration::from_millis(500);
/// Anomalies listed per verdict.
const MAX_ANOMALIES: usize = 20;
pub(crate) const CONVERGENCE: &str = "convergence: replicas agree after the final phase (P5)";

/// The pending hints on every node (`basalt_hints_pending` on `/metrics`),
/// summed; `None` when no node reports the counter.
async fn pending_hints(cluster: &Cluster) -> Option<u64> {
    let mut total = None;
    for i in 1..=cluster.len() {
        let Ok((200, body)) = cluster.admin_get(i, "/metrics").await else {
            continue;
        };
        let value = body
            .lines()
            .find_map(|l| l.strip_prefix("basalt_hints_pending "))
            .and_then(|v| v.trim().parse::<f64>().ok());
        if let Some(v) = value {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a count"
            )]
            let v = v.max(0.0) as u64;
            total = Some(total.unwrap_or(0) + v);
        }
    }
    total
}

/// Waits until no hints are pending, or `deadline`; the count left.
pub(crate) async fn drain_hints(cluster: &Cluster, deadline: Instant) -> Option<u64> {
    loop {
        let pending = pending_hints(cluster).await;
        if pending.is_none_or(|p| p == 0) || Instant::now() >= deadline {
            return pending;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A query-string value: letters, digits and `-_.:~` as they are, the rest
/// percent-encoded.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.:~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Text from the hex of a partition key's bytes (our keys are `text`).
fn unhex(hex: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}

/// One node's dump of a table: key text → digest. `Ok(None)` when the node
/// has no dump endpoint (404).
async fn dump(
    cluster: &Cluster,
    i: usize,
    table: &str,
) -> Result<Option<BTreeMap<String, String>>, String> {
    let path = format!("/v1/dump?keyspace=jepsen&table={table}");
    let (code, body) = cluster.admin_get(i, &path).await?;
    if code == 404 {
        return Ok(None);
    }
    if code != 200 {
        return Err(format!("n{i} {path}: HTTP {code}: {body}"));
    }
    let doc: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("n{i} {path}: {e}"))?;
    let mut out = BTreeMap::new();
    for p in doc["partitions"].as_array().cloned().unwrap_or_default() {
        let key = p["key"].as_str().and_then(unhex);
        let digest = p["digest"].as_str();
        if let (Some(key), Some(digest)) = (key, digest) {
            out.insert(key, digest.to_owned());
        }
    }
    Ok(Some(out))
}

/// The nodes replicating `key`, from node 1's `/v1/endpoints`.
async fn replicas(cluster: &Cluster, table: &str, key: &str) -> Option<BTreeSet<usize>> {
    let path = format!(
        "/v1/endpoints?keyspace=jepsen&table={table}&key={}",
        url_encode(key)
    );
    let (code, body) = cluster.admin_get(1, &path).await.ok()?;
    if code != 200 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
    let addresses = doc["endpoints"].as_array()?;
    let by_address: BTreeMap<String, usize> = (1..=cluster.len())
        .map(|i| (cluster.cql_addr(i).ip().to_string(), i))
        .collect();
    addresses
        .iter()
        .map(|a| a.as_str().and_then(|a| by_address.get(a).copied()))
        .collect()
}

fn unknown(note: String) -> Verdict {
    Verdict {
        property: CONVERGENCE.to_owned(),
        validity: Validity::Unknown,
        summary: note.clone(),
        figures: BTreeMap::new(),
        anomalies: vec![note],
    }
}

/// Every node's dump of `tables`, compared per key across its replicas.
pub(crate) async fn convergence(cluster: &Cluster, tables: &[&str]) -> Verdict {
    let (mut checked, mut divergent, mut anomalies) = (0u64, 0u64, Vec::new());
    for &table in tables {
        let mut dumps = BTreeMap::new();
        for i in 1..=cluster.len() {
            match dump(cluster, i, table).await {
                Ok(Some(d)) => {
                    dumps.insert(i, d);
                }
                Ok(None) => {
                    return unknown(format!(
                        "n{i} has no /v1/dump (404): replica contents cannot be compared"
                    ));
                }
                Err(e) => return unknown(format!("cannot dump: {e}")),
            }
        }
        let keys: BTreeSet<&String> = dumps.values().flat_map(BTreeMap::keys).collect();
        for key in keys {
            let holders: BTreeSet<usize> = dumps
                .iter()
                .filter(|(_, d)| d.contains_key(key))
                .map(|(i, _)| *i)
                .collect();
            let replicas = replicas(cluster, table, key).await.unwrap_or(holders);
            let digests: BTreeMap<usize, &str> = replicas
                .iter()
                .map(|i| {
                    (
                        *i,
                        dumps
                            .get(i)
                            .and_then(|d| d.get(key))
                            .map_or("absent", String::as_str),
                    )
                })
                .collect();
            checked += 1;
            let distinct: BTreeSet<&str> = digests.values().copied().collect();
            if distinct.len() > 1 {
                divergent += 1;
                if anomalies.len() < MAX_ANOMALIES {
                    let each: Vec<String> =
                        digests.iter().map(|(i, d)| format!("n{i}={d}")).collect();
                    anomalies.push(format!("{table} {key}: {}", each.join(" ")));
                }
            }
        }
    }
    let validity = if divergent == 0 {
        Validity::Valid
    } else {
        Validity::Invalid
    };
    Verdict {
        property: CONVERGENCE.to_owned(),
        validity,
        summary: format!("{divergent} of {checked} keys differ between replicas"),
        figures: BTreeMap::from([
            ("keys".to_owned(), json!(checked)),
            ("divergent".to_owned(), json!(divergent)),
        ]),
        anomalies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_and_urls() {
        assert_eq!(unhex("723a31").as_deref(), Some("r:1"));
        assert_eq!(unhex("7"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(url_encode("b:1:a"), "b:1:a");
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
