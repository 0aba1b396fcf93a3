use super::ConsistencyLevel::*;
use super::*;
use crate::testing::{host, ring_of};

const LEVELS: [ConsistencyLevel; 11] = [
    Any,
    One,
    Two,
    Three,
    Quorum,
    All,
    LocalOne,
    LocalQuorum,
    EachQuorum,
    Serial,
    LocalSerial,
];

fn per_dc(rfs: &[(&str, usize)]) -> ReplicationInfo {
    ReplicationInfo::PerDc(rfs.iter().map(|&(dc, rf)| (dc.to_owned(), rf)).collect())
}

fn live(counts: &[(&str, usize)]) -> BTreeMap<String, usize> {
    counts.iter().map(|&(dc, n)| (dc.to_owned(), n)).collect()
}

/// block_for per level, in LEVELS order, worked out from Cassandra's rules.
#[test]
fn block_for_table() {
    #[rustfmt::skip]
    let table: [(ReplicationInfo, &str, [usize; 11]); 6] = [
        //                                     ANY ONE TWO THR QUO ALL L1 LQ EQ SER LSER
        (ReplicationInfo::Simple { rf: 1 }, "dc1", [1, 1, 2, 3, 1, 1, 1, 1, 1, 1, 1]),
        (ReplicationInfo::Simple { rf: 3 }, "dc1", [1, 1, 2, 3, 2, 3, 1, 2, 2, 2, 2]),
        (ReplicationInfo::Simple { rf: 5 }, "dc1", [1, 1, 2, 3, 3, 5, 1, 3, 3, 3, 3]),
        (per_dc(&[("dc1", 3), ("dc2", 2)]), "dc1", [1, 1, 2, 3, 3, 5, 1, 2, 4, 3, 2]),
        (per_dc(&[("dc1", 3), ("dc2", 2)]), "dc2", [1, 1, 2, 3, 3, 5, 1, 2, 4, 3, 2]),
        (per_dc(&[("dc1", 5), ("dc2", 3)]), "dc1", [1, 1, 2, 3, 5, 8, 1, 3, 5, 5, 3]),
    ];
    for (info, dc, expected) in table {
        let got: Vec<usize> = LEVELS.iter().map(|&cl| block_for(cl, &info, dc)).collect();
        assert_eq!(got, expected, "{info:?} from {dc}");
    }
    // A DC without replicas: LOCAL_QUORUM there needs one and can never get it.
    let info = per_dc(&[("dc1", 3), ("dc2", 0)]);
    assert_eq!(block_for(LocalQuorum, &info, "dc2"), 1);
    assert_eq!(block_for(EachQuorum, &info, "dc1"), 2);
}

#[test]
fn quorum_counts_live_replicas_everywhere() {
    let info = per_dc(&[("dc1", 3), ("dc2", 2)]);
    assert_eq!(
        check_available(Quorum, &info, "dc1", &live(&[("dc1", 1), ("dc2", 2)])),
        Ok(())
    );
    assert_eq!(
        check_available(Quorum, &info, "dc1", &live(&[("dc1", 1), ("dc2", 1)])),
        Err(Unavailable {
            cl: Quorum,
            required: 3,
            alive: 2,
            dc: None
        })
    );
    assert!(check_available(All, &info, "dc1", &live(&[("dc1", 3), ("dc2", 1)])).is_err());
    assert!(
        check_available(
            Three,
            &ReplicationInfo::Simple { rf: 2 },
            "dc1",
            &live(&[("dc1", 2)])
        )
        .is_err()
    );
}

#[test]
fn local_levels_count_only_the_local_dc() {
    let info = per_dc(&[("dc1", 3), ("dc2", 3)]);
    let remote_only = live(&[("dc2", 3)]);
    assert_eq!(
        check_available(LocalQuorum, &info, "dc1", &remote_only),
        Err(Unavailable {
            cl: LocalQuorum,
            required: 2,
            alive: 0,
            dc: None
        })
    );
    assert!(check_available(LocalOne, &info, "dc1", &remote_only).is_err());
    assert!(check_available(LocalSerial, &info, "dc1", &remote_only).is_err());
    assert_eq!(check_available(One, &info, "dc1", &remote_only), Ok(()));
    assert_eq!(
        check_available(LocalQuorum, &info, "dc1", &live(&[("dc1", 2)])),
        Ok(())
    );
}

#[test]
fn each_quorum_needs_a_quorum_in_every_dc() {
    let info = per_dc(&[("dc1", 3), ("dc2", 3)]);
    assert_eq!(
        check_available(EachQuorum, &info, "dc1", &live(&[("dc1", 2), ("dc2", 2)])),
        Ok(())
    );
    let err = check_available(EachQuorum, &info, "dc1", &live(&[("dc1", 3), ("dc2", 1)]));
    let err = err.unwrap_err();
    assert_eq!(
        (err.required, err.alive, err.dc.as_deref()),
        (2, 1, Some("dc2"))
    );
    assert_eq!(
        err.to_string(),
        "Cannot achieve consistency level EACH_QUORUM in DC dc2"
    );
}

#[test]
fn any_is_always_available() {
    let info = ReplicationInfo::Simple { rf: 3 };
    assert_eq!(check_available(Any, &info, "dc1", &BTreeMap::new()), Ok(()));
    let err = check_available(One, &info, "dc1", &BTreeMap::new()).unwrap_err();
    assert_eq!(err.to_string(), "Cannot achieve consistency level ONE");
}

#[test]
fn live_replicas_are_counted_per_dc() {
    let ring = ring_of(&[
        (1, "dc1", "r1", &[0]),
        (2, "dc1", "r1", &[10]),
        (3, "dc2", "r1", &[20]),
    ]);
    let counts = live_per_dc(&ring, &[host(1), host(2), host(3), host(9)], |h| {
        h != host(2)
    });
    assert_eq!(counts, live(&[("dc1", 1), ("dc2", 1)]));
}

#[test]
fn names_and_kinds() {
    let names: Vec<_> = LEVELS.iter().map(|cl| cl.to_string()).collect();
    assert_eq!(
        names,
        [
            "ANY",
            "ONE",
            "TWO",
            "THREE",
            "QUORUM",
            "ALL",
            "LOCAL_ONE",
            "LOCAL_QUORUM",
            "EACH_QUORUM",
            "SERIAL",
            "LOCAL_SERIAL"
        ]
    );
    assert!(LocalSerial.is_dc_local() && LocalSerial.is_serial());
    assert!(!EachQuorum.is_dc_local() && !Quorum.is_serial());
}
