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

/// What the final reads wait for: hints not yet delivered, and logged
/// batches not yet replayed (P8 holds only after the batchlog replay).
const PENDING: [&str; 2] = ["basalt_hints_pending ", "basalt_batchlog_pending "];

/// `metric` (a `/metrics` gauge, name and a space) on every node, summed;
/// `None` when no node reports it.
async fn pending(cluster: &Cluster, metric: &str) -> Option<u64> {
    let mut total = None;
    for i in 1..=cluster.len() {
        let Ok((200, body)) = cluster.admin_get(i, "/metrics").await else {
            continue;
        };
        let value = body
            .lines()
            .find_map(|l| l.strip_prefix(metric))
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

/// Waits until no hints and no batches are pending, or `deadline`; what is
/// left, per gauge.
pub(crate) async fn drain(
    cluster: &Cluster,
    deadline: Instant,
) -> Vec<(&'static str, Option<u64>)> {
    loop {
        let mut left = Vec::new();
        for metric in PENDING {
            left.push((metric.trim_end(), pending(cluster, metric).await));
        }
        let drained = left.iter().all(|(_, p)| p.is_none_or(|p| p == 0));
        if drained || Instant::now() >= deadline {
            return left;
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
        // axum answers an unknown route with an empty 404; the endpoint's
        // own 404 (unknown table) says why.
        if body.trim().is_empty() {
            return Ok(None);
        }
        return Err(format!("n{i} {path}: HTTP 404: {body}"));
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

pub(crate) fn unknown(note: String) -> Verdict {
    Verdict {
        property: CONVERGENCE.to_owned(),
        validity: Validity::Unknown,
        summary: note.clone(),
        figures: BTreeMap::new(),
        anomalies: vec![note],
    }
}

/// What the comparison found: keys compared, keys whose replicas differ,
/// and the first of those described.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Comparison {
    checked: u64,
    divergent: u64,
    anomalies: Vec<String>,
}

/// One node's dump: key → digest.
pub(crate) type Dump = BTreeMap<String, String>;

impl Comparison {
    /// Compares `table`'s `dumps` (node → dump) key by key across the key's
    /// replicas (`replicas_of`, or, when unknown, the nodes holding it). A
    /// replica without the key counts as `absent`, a digest of its own.
    pub(crate) fn add(
        &mut self,
        table: &str,
        dumps: &BTreeMap<usize, Dump>,
        replicas_of: &BTreeMap<String, BTreeSet<usize>>,
    ) {
        let keys: BTreeSet<&String> = dumps.values().flat_map(BTreeMap::keys).collect();
        for key in keys {
            let holders = || {
                dumps
                    .iter()
                    .filter(|(_, d)| d.contains_key(key))
                    .map(|(i, _)| *i)
                    .collect()
            };
            let replicas = replicas_of.get(key).cloned().unwrap_or_else(holders);
            let digests: BTreeMap<usize, &str> = replicas
                .iter()
                .map(|i| {
                    let digest = dumps.get(i).and_then(|d| d.get(key));
                    (*i, digest.map_or("absent", String::as_str))
                })
                .collect();
            self.checked += 1;
            let distinct: BTreeSet<&str> = digests.values().copied().collect();
            if distinct.len() > 1 {
                self.divergent += 1;
                if self.anomalies.len() < MAX_ANOMALIES {
                    let each: Vec<String> =
                        digests.iter().map(|(i, d)| format!("n{i}={d}")).collect();
                    self.anomalies
                        .push(format!("{table} {key}: {}", each.join(" ")));
                }
            }
        }
    }

    pub(crate) fn verdict(self) -> Verdict {
        let validity = if self.divergent == 0 {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        Verdict {
            property: CONVERGENCE.to_owned(),
            validity,
            summary: format!(
                "{} of {} keys differ between replicas",
                self.divergent, self.checked
            ),
            figures: BTreeMap::from([
                ("keys".to_owned(), json!(self.checked)),
                ("divergent".to_owned(), json!(self.divergent)),
            ]),
            anomalies: self.anomalies,
        }
    }
}

/// Every node's dump of `tables`, compared per key across its replicas.
pub(crate) async fn convergence(cluster: &Cluster, tables: &[&str]) -> Verdict {
    let mut comparison = Comparison::default();
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
        let mut replicas_of = BTreeMap::new();
        let keys: BTreeSet<&String> = dumps.values().flat_map(BTreeMap::keys).collect();
        for key in keys {
            if let Some(replicas) = replicas(cluster, table, key).await {
                replicas_of.insert(key.clone(), replicas);
            }
        }
        comparison.add(table, &dumps, &replicas_of);
    }
    comparison.verdict()
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

    fn dump(entries: &[(&str, &str)]) -> Dump {
        entries
            .iter()
            .map(|(k, d)| ((*k).to_owned(), (*d).to_owned()))
            .collect()
    }

    #[test]
    fn replicas_that_differ_or_miss_a_key_are_divergent() {
        let dumps = BTreeMap::from([
            (1, dump(&[("a", "d1"), ("b", "d2"), ("c", "d3")])),
            (2, dump(&[("a", "d1"), ("b", "XX"), ("c", "d3")])),
            (3, dump(&[("a", "d1"), ("b", "d2")])),
        ]);
        let replicas = BTreeMap::from([
            ("a".to_owned(), BTreeSet::from([1, 2, 3])),
            ("b".to_owned(), BTreeSet::from([1, 2, 3])),
            ("c".to_owned(), BTreeSet::from([1, 2, 3])),
        ]);
        let mut found = Comparison::default();
        found.add("register", &dumps, &replicas);
        assert_eq!((found.checked, found.divergent), (3, 2));
        assert_eq!(found.anomalies[0], "register b: n1=d2 n2=XX n3=d2");
        assert_eq!(found.anomalies[1], "register c: n1=d3 n2=d3 n3=absent");
        assert_eq!(found.verdict().validity, Validity::Invalid);
        // Without replica lists only the holders are compared: `c` agrees.
        let mut holders_only = Comparison::default();
        holders_only.add("register", &dumps, &BTreeMap::new());
        assert_eq!(holders_only.divergent, 1);
        let mut same = Comparison::default();
        let equal = BTreeMap::from([(1, dump(&[("a", "d")])), (2, dump(&[("a", "d")]))]);
        same.add("sets", &equal, &BTreeMap::new());
        assert_eq!(same.verdict().validity, Validity::Valid);
    }
}
