//! `BASALT_CANARY=<name>`: the deliberate bug a `fault-injection` build runs
//! with (`docs/design/canaries.md`).
//!
//! The variable is read once per process, at the first node start, and the
//! named canary is selected in the crate that has it. An unknown name is a
//! startup error, so a harness never believes it runs a bug it does not.
//! A build without the feature has no canaries: it warns that the variable
//! is ignored. Unset or empty, nothing changes.

use std::sync::OnceLock;

/// The environment variable naming the canary.
pub(crate) const VARIABLE: &str = "BASALT_CANARY";

/// What reading the variable gave: the canary selected, or why it failed.
static OUTCOME: OnceLock<Result<Option<String>, String>> = OnceLock::new();

/// Selects the canary `BASALT_CANARY` names, the first time it is called;
/// later calls repeat the first answer.
pub(crate) fn select_from_env() -> Result<(), String> {
    let outcome = OUTCOME.get_or_init(|| {
        let name = std::env::var(VARIABLE).unwrap_or_default();
        if name.is_empty() {
            return Ok(None);
        }
        select(&name).map(|()| Some(name))
    });
    outcome.clone().map(drop)
}

/// Selects the canary `name` for this process (before any node starts), as
/// `BASALT_CANARY=name` would: a simulation, which runs its nodes in its own
/// process, selects it so. Later calls, and the variable, repeat the first
/// answer.
pub(crate) fn select_named(name: &str) -> Result<(), String> {
    if !cfg!(feature = "fault-injection") {
        return Err(format!(
            "canary {name}: this build has no canaries (the fault-injection feature is off)"
        ));
    }
    let outcome = OUTCOME.get_or_init(|| select(name).map(|()| Some(name.to_owned())));
    match outcome {
        Ok(Some(selected)) if selected == name => Ok(()),
        Ok(other) => Err(format!(
            "canary {name} cannot be selected: this process already runs with {}",
            other.as_deref().unwrap_or("none")
        )),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(not(feature = "fault-injection"))]
fn select(name: &str) -> Result<(), String> {
    tracing::warn!(
        "{VARIABLE}={name} is ignored: this build has no canaries (the fault-injection feature is off)"
    );
    Ok(())
}

#[cfg(feature = "fault-injection")]
fn select(name: &str) -> Result<(), String> {
    let selected = match resolve(name)? {
        Known::Storage(c) => storage::canary::select(c).map_err(|other| other.name()),
        Known::Cluster(c) => cluster::canary::select(c).map_err(|other| other.name()),
    };
    selected.map_err(|other| format!("{VARIABLE}={name}: the canary {other} is already active"))?;
    tracing::warn!("canary {name} is active: this node runs with a deliberate bug");
    Ok(())
}

/// A canary name and the crate that has it.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Storage(storage::canary::Canary),
    Cluster(cluster::canary::Canary),
}

/// The canary called `name`, or an error listing the known ones.
#[cfg(feature = "fault-injection")]
fn resolve(name: &str) -> Result<Known, String> {
    if let Some(c) = storage::canary::Canary::from_name(name) {
        return Ok(Known::Storage(c));
    }
    if let Some(c) = cluster::canary::Canary::from_name(name) {
        return Ok(Known::Cluster(c));
    }
    let known: Vec<&str> = cluster::canary::Canary::ALL
        .iter()
        .map(|c| c.name())
        .chain(storage::canary::Canary::ALL.iter().map(|c| c.name()))
        .collect();
    Err(format!(
        "{VARIABLE}={name}: no such canary (known: {})",
        known.join(", ")
    ))
}

#[cfg(all(test, not(feature = "fault-injection")))]
mod tests {
    #[test]
    fn without_the_feature_any_name_is_ignored() {
        super::select("timeout-as-fail").expect("ignored");
        super::select("no-such-bug").expect("ignored, not checked");
    }
}

#[cfg(all(test, feature = "fault-injection"))]
mod tests {
    use super::*;

    #[test]
    fn every_documented_name_resolves_to_its_crate() {
        let cluster = [
            "hints-count-toward-cl",
            "read-one-replica-at-quorum",
            "no-read-repair-wait",
            "timeout-as-fail",
        ];
        for name in cluster {
            assert!(matches!(resolve(name), Ok(Known::Cluster(c)) if c.name() == name));
        }
        let storage = [
            "purge-tombstones-at-once",
            "ack-before-fsync",
            "skip-dir-fsync",
        ];
        for name in storage {
            assert!(matches!(resolve(name), Ok(Known::Storage(c)) if c.name() == name));
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list() {
        let err = resolve("timeout-as-success").expect_err("unknown");
        assert!(err.starts_with("BASALT_CANARY=timeout-as-success: no such canary"));
        assert!(err.contains("skip-dir-fsync") && err.contains("hints-count-toward-cl"));
    }
}
