//! Replication strategies: which hosts hold the replicas of a token.
//!
//! Both strategies walk the ring clockwise from the token (see
//! [`Ring::ring_from`]) and return the replicas in the order the walk picks
//! them, so the first is the token's primary owner. [`effective_ownership`]
//! and [`ranges_of`] summarize a strategy over the whole ring.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::ring::{HostId, Ring, Token, TokenRange};

/// A replication strategy: the replica placement of a keyspace.
pub trait ReplicationStrategy: fmt::Debug + Send + Sync {
    /// The replicas of `token`, distinct, in placement order (primary first).
    fn replicas(&self, ring: &Ring, token: Token) -> Vec<HostId>;

    /// The replication factors, for consistency-level arithmetic.
    fn replication_info(&self) -> ReplicationInfo;
}

/// The replication factors of a keyspace, as consistency levels need them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationInfo {
    /// One factor for the whole cluster, blind to data centers (SimpleStrategy).
    Simple {
        /// The replication factor.
        rf: usize,
    },
    /// A factor per data center (NetworkTopologyStrategy).
    PerDc(BTreeMap<String, usize>),
}

impl ReplicationInfo {
    /// The total replication factor: the sum over data centers.
    pub fn total(&self) -> usize {
        match self {
            ReplicationInfo::Simple { rf } => *rf,
            ReplicationInfo::PerDc(per_dc) => per_dc.values().sum(),
        }
    }

    /// The factor in data center `dc`. SimpleStrategy knows no data centers,
    /// so, as in Cassandra, its whole factor counts as every DC's.
    pub fn dc_rf(&self, dc: &str) -> usize {
        match self {
            ReplicationInfo::Simple { rf } => *rf,
            ReplicationInfo::PerDc(per_dc) => per_dc.get(dc).copied().unwrap_or(0),
        }
    }
}

/// Cassandra's `SimpleStrategy`: the first `rf` distinct hosts clockwise from
/// the token, ignoring data centers and racks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimpleStrategy {
    /// The replication factor.
    pub rf: usize,
}

impl ReplicationStrategy for SimpleStrategy {
    fn replicas(&self, ring: &Ring, token: Token) -> Vec<HostId> {
        let want = self.rf.min(ring.host_count());
        let mut replicas = Vec::with_capacity(want);
        for (_, host) in ring.ring_from(token) {
            if replicas.len() == want {
                break;
            }
            if !replicas.contains(&host) {
                replicas.push(host);
            }
        }
        replicas
    }

    fn replication_info(&self) -> ReplicationInfo {
        ReplicationInfo::Simple { rf: self.rf }
    }
}

/// Cassandra's `NetworkTopologyStrategy`: a factor per data center, replicas
/// spread over distinct racks within each.
///
/// Per data center, walking the ring clockwise: a host on a rack not yet used
/// is taken; a host on a used rack is taken only while the DC may still repeat
/// a rack (`rf - racks in the DC` repeats, when the DC has fewer racks than
/// its factor). This is Cassandra 4's formulation; it picks the same hosts as
/// the older one (take new racks first, then fill from the skipped hosts of
/// seen racks in walk order), differing only in order. A DC with fewer hosts
/// than its factor gets all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkTopologyStrategy {
    /// The replication factor of each data center; absent DCs get none.
    pub dc_rf: BTreeMap<String, usize>,
}

/// One data center's progress during a replica walk.
#[derive(Debug)]
struct DcFill<'a> {
    /// Replicas still to find.
    left: usize,
    /// Rack repeats still allowed.
    repeats: usize,
    racks_seen: BTreeSet<&'a str>,
}

impl ReplicationStrategy for NetworkTopologyStrategy {
    fn replicas(&self, ring: &Ring, token: Token) -> Vec<HostId> {
        let mut fills = self.dc_fills(ring);
        let mut unfilled = fills.values().filter(|f| f.left > 0).count();
        let mut replicas = Vec::new();
        for (_, host) in ring.ring_from(token) {
            if unfilled == 0 {
                break;
            }
            let Some(ep) = ring.endpoint(host) else {
                continue;
            };
            let Some(fill) = fills.get_mut(ep.datacenter.as_str()) else {
                continue;
            };
            if fill.left == 0 || replicas.contains(&host) {
                continue;
            }
            if !fill.racks_seen.insert(ep.rack.as_str()) {
                if fill.repeats == 0 {
                    // The remaining replicas must each come from a new rack.
                    continue;
                }
                fill.repeats -= 1;
            }
            replicas.push(host);
            fill.left -= 1;
            if fill.left == 0 {
                unfilled -= 1;
            }
        }
        replicas
    }

    fn replication_info(&self) -> ReplicationInfo {
        ReplicationInfo::PerDc(self.dc_rf.clone())
    }
}

impl NetworkTopologyStrategy {
    /// The starting state of each DC with a nonzero factor that the ring knows.
    fn dc_fills<'a>(&self, ring: &'a Ring) -> BTreeMap<&'a str, DcFill<'a>> {
        let mut hosts: BTreeMap<&str, (usize, BTreeSet<&str>)> = BTreeMap::new();
        for ep in ring.endpoints() {
            let entry = hosts.entry(ep.datacenter.as_str()).or_default();
            entry.0 += 1;
            entry.1.insert(ep.rack.as_str());
        }
        hosts
            .into_iter()
            .filter_map(|(dc, (host_count, racks))| {
                let rf = self.dc_rf.get(dc).copied().unwrap_or(0);
                let fill = DcFill {
                    left: rf.min(host_count),
                    repeats: rf.saturating_sub(racks.len()),
                    racks_seen: BTreeSet::new(),
                };
                (rf > 0).then_some((dc, fill))
            })
            .collect()
    }
}

/// Each host's effective ownership: the fraction of the token space whose
/// replicas include it. Over all hosts it sums to the number of replicas per
/// token (the total factor, when there are enough hosts). Every host on the
/// ring appears, owning 0.0 if it replicates nothing.
pub fn effective_ownership(
    ring: &Ring,
    strategy: &dyn ReplicationStrategy,
) -> BTreeMap<HostId, f64> {
    let mut owns: BTreeMap<HostId, f64> = ring.endpoints().map(|e| (e.host_id, 0.0)).collect();
    for (range, _) in ring.ranges() {
        let share = range.fraction();
        for host in strategy.replicas(ring, range.right) {
            *owns.entry(host).or_default() += share;
        }
    }
    owns
}

/// The ranges `host` replicates under `strategy`, in token order: its primary
/// ranges and those it holds as a further replica.
pub fn ranges_of(ring: &Ring, strategy: &dyn ReplicationStrategy, host: HostId) -> Vec<TokenRange> {
    ring.ranges()
        .filter(|(range, _)| strategy.replicas(ring, range.right).contains(&host))
        .map(|(range, _)| range)
        .collect()
}

#[cfg(test)]
mod tests;
