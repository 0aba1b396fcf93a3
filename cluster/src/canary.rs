//! Deliberate bugs of the coordinator and replica, for proving that the
//! fault-injection checkers catch them (the `fault-injection` feature;
//! `docs/design/canaries.md`). Storage's own canaries are in
//! `storage::canary`.
//!
//! At most one canary is selected per process, once, before any work starts
//! (the node does it from `BASALT_CANARY`); until then, and in every build
//! without the feature, none is active. The product code asks [`active`] at
//! the few places a canary changes.

use std::sync::OnceLock;

/// The bugs the cluster layer can be built to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Canary {
    /// A stored hint counts as a replica's acknowledgement at every level.
    HintsCountTowardCl,
    /// A read at any level asks one replica and answers with its data.
    ReadOneReplicaAtQuorum,
    /// A read answers before its blocking read repair is acknowledged.
    NoReadRepairWait,
    /// A write timeout is reported as Unavailable: a write that may have
    /// applied is reported as certainly not applied.
    TimeoutAsFail,
}

impl Canary {
    /// Every cluster canary.
    pub const ALL: [Canary; 4] = [
        Canary::HintsCountTowardCl,
        Canary::ReadOneReplicaAtQuorum,
        Canary::NoReadRepairWait,
        Canary::TimeoutAsFail,
    ];

    /// Its name in `BASALT_CANARY`.
    pub fn name(self) -> &'static str {
        match self {
            Canary::HintsCountTowardCl => "hints-count-toward-cl",
            Canary::ReadOneReplicaAtQuorum => "read-one-replica-at-quorum",
            Canary::NoReadRepairWait => "no-read-repair-wait",
            Canary::TimeoutAsFail => "timeout-as-fail",
        }
    }

    /// The canary called `name`, if the cluster layer has one.
    pub fn from_name(name: &str) -> Option<Canary> {
        Canary::ALL.into_iter().find(|c| c.name() == name)
    }
}

static SELECTED: OnceLock<Canary> = OnceLock::new();

/// Activates `canary` for the rest of the process. Fails, naming the one in
/// force, if another was selected before; selecting the same one again is
/// harmless (several in-process nodes, several tests of one canary).
pub fn select(canary: Canary) -> Result<(), Canary> {
    let selected = *SELECTED.get_or_init(|| canary);
    if selected == canary {
        Ok(())
    } else {
        Err(selected)
    }
}

/// Whether `canary` is the selected one.
pub fn active(canary: Canary) -> bool {
    SELECTED.get() == Some(&canary)
}
