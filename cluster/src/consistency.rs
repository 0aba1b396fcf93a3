//! Consistency levels: how many replicas must answer, and whether enough are
//! alive to try.
//!
//! The coordinator sends every write to all replicas and waits for
//! [`block_for`] acknowledgements; a read waits for that many answers. Before
//! contacting anyone it calls [`check_available`] and fails fast with
//! [`Unavailable`] when too few replicas are alive. The arithmetic is
//! Cassandra's. This is cluster's own enum: the CQL layer maps the protocol's
//! consistency codes onto it.

use std::collections::BTreeMap;
use std::fmt;

use crate::replication::ReplicationInfo;
use crate::ring::{HostId, Ring};

/// A consistency level, as Cassandra defines them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsistencyLevel {
    /// Writes only: one acknowledgement, and a stored hint counts as one.
    Any,
    /// One replica.
    One,
    /// Two replicas.
    Two,
    /// Three replicas.
    Three,
    /// A majority of all replicas, over every data center: `sum(rf) / 2 + 1`.
    Quorum,
    /// Every replica.
    All,
    /// One replica in the coordinator's data center.
    LocalOne,
    /// A majority of the replicas in the coordinator's data center.
    LocalQuorum,
    /// A majority of the replicas in each data center.
    EachQuorum,
    /// Paxos over a majority of all replicas (lightweight transactions).
    Serial,
    /// Paxos over a majority of the local data center's replicas.
    LocalSerial,
}

impl ConsistencyLevel {
    /// The level's name as Cassandra prints it (`LOCAL_QUORUM`).
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyLevel::Any => "ANY",
            ConsistencyLevel::One => "ONE",
            ConsistencyLevel::Two => "TWO",
            ConsistencyLevel::Three => "THREE",
            ConsistencyLevel::Quorum => "QUORUM",
            ConsistencyLevel::All => "ALL",
            ConsistencyLevel::LocalOne => "LOCAL_ONE",
            ConsistencyLevel::LocalQuorum => "LOCAL_QUORUM",
            ConsistencyLevel::EachQuorum => "EACH_QUORUM",
            ConsistencyLevel::Serial => "SERIAL",
            ConsistencyLevel::LocalSerial => "LOCAL_SERIAL",
        }
    }

    /// Whether only the coordinator's data center counts.
    pub fn is_dc_local(self) -> bool {
        matches!(
            self,
            ConsistencyLevel::LocalOne
                | ConsistencyLevel::LocalQuorum
                | ConsistencyLevel::LocalSerial
        )
    }

    /// Whether the level is a Paxos (serial) level.
    pub fn is_serial(self) -> bool {
        matches!(
            self,
            ConsistencyLevel::Serial | ConsistencyLevel::LocalSerial
        )
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A majority of `rf` replicas: `rf / 2 + 1`.
pub(crate) fn quorum_for(rf: usize) -> usize {
    rf / 2 + 1
}

/// How many replicas must answer for `cl`, with the coordinator in `local_dc`.
///
/// As in Cassandra: QUORUM and SERIAL are a majority of the summed factors,
/// LOCAL_QUORUM and LOCAL_SERIAL a majority of the local DC's factor (a DC
/// without replicas still needs one, so it is unavailable there), EACH_QUORUM
/// the sum of every replicating DC's majority, ALL the summed factor. Under
/// SimpleStrategy, which knows no DCs, the local and per-DC levels use the
/// whole factor. The count may exceed the replicas that exist; then
/// [`check_available`] fails.
pub(crate) fn block_for(
    cl: ConsistencyLevel,
    replication: &ReplicationInfo,
    local_dc: &str,
) -> usize {
    let total = replication.total();
    match cl {
        ConsistencyLevel::Any | ConsistencyLevel::One | ConsistencyLevel::LocalOne => 1,
        ConsistencyLevel::Two => 2,
        ConsistencyLevel::Three => 3,
        ConsistencyLevel::Quorum | ConsistencyLevel::Serial => quorum_for(total),
        ConsistencyLevel::All => total,
        ConsistencyLevel::LocalQuorum | ConsistencyLevel::LocalSerial => {
            quorum_for(replication.dc_rf(local_dc))
        }
        ConsistencyLevel::EachQuorum => match replication {
            ReplicationInfo::Simple { .. } => quorum_for(total),
            ReplicationInfo::PerDc(_) => each_quorum(replication).values().sum(),
        },
    }
}

/// EACH_QUORUM's requirement in every data center that holds replicas.
pub(crate) fn each_quorum(replication: &ReplicationInfo) -> BTreeMap<String, usize> {
    match replication {
        ReplicationInfo::Simple { .. } => BTreeMap::new(),
        // A DC with factor 0 holds nothing, so it cannot be asked for a quorum.
        ReplicationInfo::PerDc(per_dc) => per_dc
            .iter()
            .filter(|&(_, &rf)| rf > 0)
            .map(|(dc, &rf)| (dc.clone(), quorum_for(rf)))
            .collect(),
    }
}

/// Too few replicas are alive to meet a consistency level; raised before any
/// replica is contacted (the protocol's Unavailable error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Cannot achieve consistency level {cl}{}", dc.as_ref().map(|d| format!(" in DC {d}")).unwrap_or_default())]
pub struct Unavailable {
    /// The level asked for.
    pub cl: ConsistencyLevel,
    /// The replicas that must answer (in `dc`, when set).
    pub required: usize,
    /// The replicas alive (in `dc`, when set).
    pub alive: usize,
    /// For EACH_QUORUM, the data center that fell short.
    pub dc: Option<String>,
}

/// Whether enough replicas are alive to attempt `cl`, given the live
/// replicas of the token per data center (see [`live_per_dc`]).
///
/// ANY always passes (the coordinator can store a hint). LOCAL_* levels count
/// only the local DC's live replicas; EACH_QUORUM checks every DC's quorum and
/// reports the first that falls short; the rest count live replicas
/// everywhere.
pub(crate) fn check_available(
    cl: ConsistencyLevel,
    replication: &ReplicationInfo,
    local_dc: &str,
    live_per_dc: &BTreeMap<String, usize>,
) -> Result<(), Unavailable> {
    let unavailable = |required, alive, dc: Option<&str>| Unavailable {
        cl,
        required,
        alive,
        dc: dc.map(str::to_owned),
    };
    let required = block_for(cl, replication, local_dc);
    let live_in = |dc: &str| live_per_dc.get(dc).copied().unwrap_or(0);
    match cl {
        ConsistencyLevel::Any => Ok(()),
        _ if cl.is_dc_local() => {
            let alive = live_in(local_dc);
            if alive < required {
                return Err(unavailable(required, alive, None));
            }
            Ok(())
        }
        ConsistencyLevel::EachQuorum if matches!(replication, ReplicationInfo::PerDc(_)) => {
            for (dc, required) in each_quorum(replication) {
                let alive = live_in(&dc);
                if alive < required {
                    return Err(unavailable(required, alive, Some(&dc)));
                }
            }
            Ok(())
        }
        _ => {
            let alive = live_per_dc.values().sum();
            if alive < required {
                return Err(unavailable(required, alive, None));
            }
            Ok(())
        }
    }
}

/// Counts the live replicas per data center, for [`check_available`].
/// Replicas the ring does not know are not counted.
pub(crate) fn live_per_dc(
    ring: &Ring,
    replicas: &[HostId],
    is_alive: impl Fn(HostId) -> bool,
) -> BTreeMap<String, usize> {
    let mut live = BTreeMap::new();
    for &host in replicas {
        if let Some(ep) = ring.endpoint(host).filter(|_| is_alive(host)) {
            *live.entry(ep.datacenter.clone()).or_insert(0) += 1;
        }
    }
    live
}

#[cfg(test)]
mod tests;
