use super::*;
use ApplicationState::*;
use proptest::prelude::*;

fn es(generation: i32, version: i32, states: &[(ApplicationState, &str, i32)]) -> EndpointState {
    EndpointState {
        heartbeat: HeartBeatState {
            generation,
            version,
        },
        states: states
            .iter()
            .map(|(k, v, ver)| {
                let value = VersionedValue {
                    value: v.to_string(),
                    version: *ver,
                };
                (*k, value)
            })
            .collect(),
    }
}

#[test]
fn max_version_covers_heartbeat_and_values() {
    assert_eq!(es(1, 3, &[]).max_version(), 3);
    assert_eq!(
        es(1, 3, &[(Status, "NORMAL", 7), (Dc, "dc1", 2)]).max_version(),
        7
    );
}

#[test]
fn higher_generation_replaces_everything() {
    let mut ours = es(1, 50, &[(Status, "NORMAL", 40), (Rack, "r1", 41)]);
    let theirs = es(2, 3, &[(Status, "BOOT", 2)]);
    assert_eq!(ours.merge(&theirs), MergeOutcome::Replaced);
    // The old RACK is gone even though its version (41) was higher: versions
    // of a previous generation mean nothing.
    assert_eq!(ours, theirs);
}

#[test]
fn lower_generation_is_ignored() {
    let mut ours = es(5, 1, &[(Status, "NORMAL", 1)]);
    let before = ours.clone();
    let theirs = es(4, 99, &[(Status, "LEFT", 98)]);
    assert_eq!(ours.merge(&theirs), MergeOutcome::Unchanged);
    assert_eq!(ours, before);
}

#[test]
fn same_generation_takes_newer_versions_only() {
    let mut ours = es(1, 10, &[(Status, "BOOT", 5), (Dc, "dc1", 8)]);
    let theirs = es(
        1,
        12,
        &[(Status, "NORMAL", 11), (Dc, "stale", 3), (HostId, "h", 2)],
    );
    let outcome = ours.merge(&theirs);
    assert_eq!(
        outcome,
        MergeOutcome::Updated {
            heartbeat: true,
            changed: vec![Status, HostId],
        }
    );
    assert_eq!(
        ours,
        es(
            1,
            12,
            &[(Status, "NORMAL", 11), (Dc, "dc1", 8), (HostId, "h", 2)]
        )
    );
}

#[test]
fn same_generation_older_heartbeat_keeps_ours() {
    let mut ours = es(1, 10, &[]);
    let outcome = ours.merge(&es(1, 9, &[(Load, "1.0", 9)]));
    assert_eq!(
        outcome,
        MergeOutcome::Updated {
            heartbeat: false,
            changed: vec![Load],
        }
    );
    assert_eq!(ours.heartbeat.version, 10);
    assert_eq!(ours.merge(&es(1, 10, &[])), MergeOutcome::Unchanged);
}

#[test]
fn delta_carries_heartbeat_and_newer_values() {
    let full = es(3, 20, &[(Status, "NORMAL", 4), (Load, "9", 15)]);
    assert_eq!(full.delta_above(10), Some(es(3, 20, &[(Load, "9", 15)])));
    assert_eq!(full.delta_above(20), None);
    assert_eq!(full.delta_above(0), Some(full.clone()));
}

#[test]
fn status_strings_are_cassandras() {
    assert_eq!(
        super::Status::parse("NORMAL,-42"),
        Some(super::Status::Normal)
    );
    assert_eq!(
        super::Status::parse("LEFT,1,2,1700000000000"),
        Some(super::Status::Left)
    );
    assert_eq!(
        super::Status::parse("shutdown,true"),
        Some(super::Status::Shutdown)
    );
    assert_eq!(super::Status::parse("BOOT"), Some(super::Status::Boot));
    assert_eq!(
        super::Status::parse("LEAVING,5"),
        Some(super::Status::Leaving)
    );
    assert_eq!(super::Status::parse("hibernate,true"), None);
    assert!(
        super::Status::Left.is_dead()
            && super::Status::Shutdown.is_dead()
            && !super::Status::Normal.is_dead()
    );
}

#[test]
fn ordinals_are_wire_stable() {
    assert_eq!(Status.ordinal(), 0);
    assert_eq!(HostId.ordinal(), 12);
    assert_eq!(Tokens.ordinal(), 13);
    assert_eq!(NativeAddressAndPort.ordinal(), 16);
    for s in ApplicationState::ALL {
        assert_eq!(ApplicationState::from_ordinal(s.ordinal()), Some(s));
    }
    assert_eq!(ApplicationState::from_ordinal(200), None);
}

#[test]
fn tokens_round_trip() {
    let tokens = vec![Token(-3), Token(i64::MAX), Token(0)];
    assert_eq!(parse_tokens(&encode_tokens(&tokens)), Some(tokens));
    assert_eq!(parse_tokens(""), Some(vec![]));
    assert_eq!(parse_tokens("1,x"), None);
}

#[test]
fn versions_are_node_wide_and_increasing() {
    let mut v = VersionGenerator::new();
    assert_eq!((v.next_version(), v.next_version(), v.current()), (1, 2, 2));
}

/// A view of one endpoint as some peer might hold it. Values are a function
/// of (generation, key, version), as they are in a real cluster where only
/// the owner assigns versions: two views never disagree on what a given
/// version says.
fn view() -> impl Strategy<Value = EndpointState> {
    let entry = (0..ApplicationState::ALL.len(), 1..30i32);
    (1..4i32, 0..30i32, prop::collection::vec(entry, 0..6)).prop_map(|(g, hb, entries)| {
        let mut s = EndpointState::new(HeartBeatState {
            generation: g,
            version: hb,
        });
        for (k, ver) in entries {
            let key = ApplicationState::ALL[k];
            let value = VersionedValue {
                value: format!("{g}/{k}/{ver}"),
                version: ver,
            };
            let keep = s.states.get(&key).is_some_and(|v| v.version >= ver);
            if !keep {
                s.states.insert(key, value);
            }
        }
        s
    })
}

fn merged(a: &EndpointState, b: &EndpointState) -> EndpointState {
    let mut out = a.clone();
    out.merge(b);
    out
}

proptest! {
    #[test]
    fn merge_is_commutative(a in view(), b in view()) {
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn merge_is_idempotent(a in view(), b in view()) {
        prop_assert_eq!(merged(&a, &a), a.clone());
        let once = merged(&a, &b);
        prop_assert_eq!(merged(&once, &b), once);
    }

    #[test]
    fn merge_is_associative(a in view(), b in view(), c in view()) {
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }
}
