//! Cassandra's gossip data model and its merge rules.
//!
//! Each node owns one [`EndpointState`] per endpoint it knows: a
//! [`HeartBeatState`] (generation = start time in seconds, bumped on every
//! restart; version = the node's counter) and a map of [`ApplicationState`]s,
//! each a [`VersionedValue`]. All versions an owner hands out come from one
//! node-wide counter ([`VersionGenerator`]), so "newer" is a single integer
//! comparison within a generation.

use std::collections::BTreeMap;

use storage::Token;

/// A node's liveness counter pair: `(generation, version)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeartBeatState {
    /// The owner's start time in seconds; a higher one means a restart.
    pub generation: i32,
    /// The owner's version counter at its last heartbeat.
    pub version: i32,
}

/// An application state's value with the owner's version at the change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionedValue {
    /// The value, in Cassandra's string forms (e.g. `NORMAL,<token>`).
    pub value: String,
    /// The owner's version counter when the value was set.
    pub version: i32,
}

/// The kinds of gossiped state, in Cassandra's `ApplicationState` order.
///
/// The order is wire-significant (Cassandra sends the ordinal, see
/// [`ApplicationState::ordinal`]), so variants must never be reordered; new
/// ones go at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // The names are Cassandra's and self-describing.
pub enum ApplicationState {
    Status,
    Load,
    Schema,
    Dc,
    Rack,
    ReleaseVersion,
    RemovalCoordinator,
    InternalIp,
    RpcAddress,
    X11Padding,
    Severity,
    NetVersion,
    HostId,
    Tokens,
    RpcReady,
    InternalAddressAndPort,
    NativeAddressAndPort,
    StatusWithPort,
    SstableVersions,
    DiskUsage,
}

impl ApplicationState {
    /// Every state, in ordinal order.
    pub const ALL: [ApplicationState; 20] = {
        use ApplicationState::*;
        [
            Status,
            Load,
            Schema,
            Dc,
            Rack,
            ReleaseVersion,
            RemovalCoordinator,
            InternalIp,
            RpcAddress,
            X11Padding,
            Severity,
            NetVersion,
            HostId,
            Tokens,
            RpcReady,
            InternalAddressAndPort,
            NativeAddressAndPort,
            StatusWithPort,
            SstableVersions,
            DiskUsage,
        ]
    };

    /// Cassandra's ordinal, as sent on the wire.
    pub fn ordinal(self) -> u32 {
        self as u32
    }

    /// The state with this ordinal; `None` for ordinals from newer versions,
    /// which a receiver skips rather than rejects.
    pub fn from_ordinal(ordinal: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(ordinal).ok()?).copied()
    }
}

/// The membership status carried in [`ApplicationState::Status`], with
/// Cassandra's status strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `BOOT`: joining, streaming its ranges.
    Boot,
    /// `NORMAL`: owns its tokens and serves.
    Normal,
    /// `LEAVING`: decommissioning, streaming its ranges away.
    Leaving,
    /// `LEFT`: gone from the ring for good.
    Left,
    /// `shutdown`: stopped cleanly and will come back with a new generation.
    Shutdown,
}

impl Status {
    /// Cassandra's string for this status (`VersionedValue.STATUS_*`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Boot => "BOOT",
            Status::Normal => "NORMAL",
            Status::Leaving => "LEAVING",
            Status::Left => "LEFT",
            Status::Shutdown => "shutdown",
        }
    }

    /// Reads a STATUS value: the status is the text before the first comma
    /// (Cassandra appends tokens or an expiry time after it).
    pub fn parse(value: &str) -> Option<Status> {
        let head = value.split(',').next().unwrap_or(value);
        [
            Status::Boot,
            Status::Normal,
            Status::Leaving,
            Status::Left,
            Status::Shutdown,
        ]
        .into_iter()
        .find(|s| s.as_str() == head)
    }

    /// Whether a node in this status must not be considered alive, whatever
    /// its heartbeat says.
    pub fn is_dead(self) -> bool {
        matches!(self, Status::Left | Status::Shutdown)
    }
}

/// Renders tokens for [`ApplicationState::Tokens`]: decimal, comma-separated.
///
/// Cassandra gossips a binary token set here; Basalt's values are strings, and
/// decimal keeps `nodetool gossipinfo`-style output readable.
pub fn encode_tokens(tokens: &[Token]) -> String {
    let parts: Vec<String> = tokens.iter().map(|t| t.0.to_string()).collect();
    parts.join(",")
}

/// Parses [`encode_tokens`] output; `None` if any part is not an `i64`.
pub(crate) fn parse_tokens(value: &str) -> Option<Vec<Token>> {
    if value.is_empty() {
        return Some(Vec::new());
    }
    value
        .split(',')
        .map(|p| p.parse().ok().map(Token))
        .collect()
}

/// Everything known about one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointState {
    /// Its heartbeat.
    pub heartbeat: HeartBeatState,
    /// Its application states.
    pub states: BTreeMap<ApplicationState, VersionedValue>,
}

/// What [`EndpointState::merge`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The remote state was older or equal: nothing changed.
    Unchanged,
    /// The remote state had a higher generation (a restart) and replaced ours.
    Replaced,
    /// Same generation: newer versions were taken.
    Updated {
        /// Whether the heartbeat version advanced.
        heartbeat: bool,
        /// The application states whose value was replaced.
        changed: Vec<ApplicationState>,
    },
}

impl EndpointState {
    /// A state with this heartbeat and no application states.
    pub fn new(heartbeat: HeartBeatState) -> Self {
        EndpointState {
            heartbeat,
            states: BTreeMap::new(),
        }
    }

    /// The highest version in this state: the heartbeat's or any value's.
    pub fn max_version(&self) -> i32 {
        self.states
            .values()
            .map(|v| v.version)
            .fold(self.heartbeat.version, i32::max)
    }

    /// The value of `state`, if known.
    pub fn get(&self, state: ApplicationState) -> Option<&str> {
        self.states.get(&state).map(|v| v.value.as_str())
    }

    /// The parsed STATUS, if any.
    pub fn status(&self) -> Option<Status> {
        self.get(ApplicationState::Status).and_then(Status::parse)
    }

    /// Whether the STATUS says the node is gone or shut down.
    pub fn is_dead_state(&self) -> bool {
        self.status().is_some_and(Status::is_dead)
    }

    /// This state restricted to what is newer than `version`: the heartbeat
    /// (always carried, as Cassandra does, so the receiver can compare
    /// generations) plus the values with a higher version. `None` when
    /// nothing is newer.
    pub fn delta_above(&self, version: i32) -> Option<EndpointState> {
        let states: BTreeMap<_, _> = self
            .states
            .iter()
            .filter(|(_, v)| v.version > version)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        if states.is_empty() && self.heartbeat.version <= version {
            return None;
        }
        Some(EndpointState {
            heartbeat: self.heartbeat,
            states,
        })
    }

    /// Merges a remote view of the same endpoint into this one:
    /// a higher generation replaces ours entirely (the node restarted and its
    /// old values are meaningless); the same generation takes the heartbeat
    /// and each value whose version is higher; a lower generation is stale
    /// and ignored.
    pub fn merge(&mut self, remote: &EndpointState) -> MergeOutcome {
        let (ours, theirs) = (self.heartbeat.generation, remote.heartbeat.generation);
        if theirs > ours {
            *self = remote.clone();
            return MergeOutcome::Replaced;
        }
        if theirs < ours {
            return MergeOutcome::Unchanged;
        }
        let heartbeat = remote.heartbeat.version > self.heartbeat.version;
        if heartbeat {
            self.heartbeat.version = remote.heartbeat.version;
        }
        let mut changed = Vec::new();
        for (key, value) in &remote.states {
            let newer = self
                .states
                .get(key)
                .is_none_or(|v| value.version > v.version);
            if newer {
                self.states.insert(*key, value.clone());
                changed.push(*key);
            }
        }
        if heartbeat || !changed.is_empty() {
            MergeOutcome::Updated { heartbeat, changed }
        } else {
            MergeOutcome::Unchanged
        }
    }
}

/// The node-wide version counter: every local change (heartbeat or value)
/// takes the next number, so peers can ask for "everything above N".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionGenerator {
    last: i32,
}

impl VersionGenerator {
    /// A counter whose first version will be 1 (0 is the initial heartbeat).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The next version. It saturates rather than wraps: at one bump a
    /// second `i32` lasts 68 years, and a wrapped version would look older
    /// than every value ever sent.
    pub(crate) fn next_version(&mut self) -> i32 {
        self.last = self.last.saturating_add(1);
        self.last
    }

    /// The last version handed out.
    #[cfg(test)]
    pub(crate) fn current(&self) -> i32 {
        self.last
    }
}

#[cfg(test)]
mod tests;
