use super::*;
use crate::cell::{Cell, LivenessInfo, Timestamp};
use crate::key::{Bound, TableId, Token};
use crate::memtable::Memtable;
use crate::mutation::{Mutation, arb};
use crate::partition::{PartitionBound, PartitionPosition, PartitionSource};
use crate::testing::model::{model_read, model_scan};
use crate::testing::{columns, slices};
use proptest::prelude::*;
use std::sync::Arc;

mod corner;

// ---- generators ----

/// Mutations, each with the index of the source it goes to.
fn spread() -> impl Strategy<Value = Vec<(usize, Mutation)>> {
    proptest::collection::vec((0usize..3, arb::mutation()), 1..12)
}

fn memtables(spread: &[(usize, Mutation)], n: usize) -> Vec<Arc<Memtable>> {
    let mts: Vec<_> = (0..n).map(|i| Memtable::new(i as u64)).collect();
    for (i, m) in spread {
        mts[*i % n].apply(m);
    }
    mts
}

fn keys() -> Vec<DecoratedKey> {
    (0i64..4)
        .map(|k| DecoratedKey::new(Token(k / 2), vec![k as u8]))
        .collect()
}

fn read_partition(
    mts: &[Arc<Memtable>],
    cmd: &PartitionRead,
) -> (Option<Row>, Option<DeletionTime>, Vec<Row>) {
    let streams = mts
        .iter()
        .filter_map(|m| {
            m.clone()
                .read_partition(&cmd.key, &cmd.slices, cmd.reversed)
                .unwrap()
        })
        .collect();
    let mut r = PartitionReader::new(cmd, streams, 0).unwrap();
    let rows: Vec<Row> = r.by_ref().map(|x| x.unwrap()).collect();
    (r.static_row().cloned(), r.partition_deletion(), rows)
}

fn scan(sources: Vec<UnfilteredIter>, cmd: &ScanCommand) -> Vec<ScanItem> {
    ScanReader::new(cmd, sources, 0)
        .map(|x| x.unwrap())
        .collect()
}

fn scans(mts: &[Arc<Memtable>], range: &KeyRange) -> Vec<UnfilteredIter> {
    mts.iter().map(|m| m.clone().scan(range).unwrap()).collect()
}

fn key_range() -> impl Strategy<Value = KeyRange> {
    let pos = prop_oneof![
        (0i64..2).prop_map(|t| PartitionPosition::Token(Token(t))),
        (0usize..4).prop_map(|i| PartitionPosition::Key(keys()[i].clone())),
    ];
    let bound = prop_oneof![
        Just(PartitionBound::Unbounded),
        pos.clone().prop_map(PartitionBound::Inclusive),
        pos.prop_map(PartitionBound::Exclusive),
    ];
    (bound.clone(), bound).prop_map(|(start, end)| KeyRange { start, end })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn partition_reads_match_the_model(
        spread in spread(), n in 1usize..4, slices in slices(), cols in columns(),
        reversed in any::<bool>(), limit in proptest::option::of(0usize..4), now in 0i64..120,
    ) {
        let mts = memtables(&spread, n);
        let muts: Vec<Mutation> = spread.iter().map(|(_, m)| m.clone()).collect();
        for key in keys() {
            let cmd = PartitionRead {
                key: key.clone(), slices: slices.clone(), columns: cols.clone(), reversed,
                row_limit: limit, now, include_tombstones: false,
            };
            let (st, pd, rows) = read_partition(&mts, &cmd);
            let model = model_read(&muts, &cmd);
            prop_assert_eq!(rows, model.rows);
            prop_assert_eq!(st, model.static_row);
            prop_assert_eq!(pd, model.deletion);
        }
    }

    #[test]
    fn scans_match_the_model(
        spread in spread(), n in 1usize..4, cols in columns(), now in 0i64..120,
        range in key_range(),
        resume in proptest::option::of((0usize..4, arb::clustering())),
    ) {
        let mts = memtables(&spread, n);
        let muts: Vec<Mutation> = spread.iter().map(|(_, m)| m.clone()).collect();
        let cmd = ScanCommand {
            range: range.clone(),
            resume_after: resume.map(|(k, c)| (keys()[k].clone(), c)),
            columns: cols, now, include_tombstones: false,
        };
        prop_assert_eq!(scan(scans(&mts, &range), &cmd), model_scan(&muts, &cmd));
    }

    #[test]
    fn tombstone_reads_agree_with_live_reads(
        spread in spread(), n in 1usize..4, now in 0i64..120,
    ) {
        // Live-filtering the include_tombstones output gives the live output.
        let mts = memtables(&spread, n);
        for key in keys() {
            let mut cmd = PartitionRead {
                key: key.clone(), slices: vec![ClusteringRange::ALL], columns: ColumnFilter::All,
                reversed: false, row_limit: None, now, include_tombstones: true,
            };
            let (_, _, dead) = read_partition(&mts, &cmd);
            cmd.include_tombstones = false;
            let (_, _, live) = read_partition(&mts, &cmd);
            let filtered: Vec<Row> = dead.into_iter().filter_map(|r| crate::reconcile::live_row(r, now)).collect();
            prop_assert_eq!(filtered, live);
        }
    }

    #[test]
    fn compaction_preserves_reads_and_never_resurrects(
        spread in spread(), n in 1usize..4, outside in proptest::collection::vec(arb::mutation(), 0..4),
        now in 0i64..120, later in 0i64..60, gc_before in 0i64..120,
    ) {
        let mts = memtables(&spread, n);
        let out_mt = Memtable::new(99);
        for m in &outside { out_mt.apply(m); }
        let max_purgeable = out_mt.min_timestamp();
        let compacted: Vec<Unfiltered> = merge_for_compaction(
            scans(&mts, &KeyRange::ALL), now, gc_before, Box::new(move |_| max_purgeable),
        ).map(|u| u.unwrap()).collect();
        check_writer_order(&compacted)?;
        let read_at = now + later;
        let cmd = ScanCommand {
            range: KeyRange::ALL, resume_after: None, columns: ColumnFilter::All,
            now: read_at, include_tombstones: false,
        };
        let mut before = scans(&mts, &KeyRange::ALL);
        before.push(out_mt.clone().scan(&KeyRange::ALL).unwrap());
        let after: Vec<UnfilteredIter> = vec![
            Box::new(compacted.into_iter().map(Ok)),
            out_mt.clone().scan(&KeyRange::ALL).unwrap(),
        ];
        // Purged partition deletions are no longer reported; all else must match.
        let forget = |items: Vec<ScanItem>| -> Vec<ScanItem> {
            items.into_iter().map(|i| match i {
                ScanItem::Partition { key, static_row, .. } => ScanItem::Partition { key, deletion: None, static_row, range_tombstones: Vec::new() },
                r => r,
            }).collect()
        };
        prop_assert_eq!(forget(scan(after, &cmd)), forget(scan(before, &cmd)));
    }
}

fn check_writer_order(items: &[Unfiltered]) -> Result<(), TestCaseError> {
    let mut last_key: Option<&DecoratedKey> = None;
    let mut last_row: Option<&ClusteringKey> = None;
    for u in items {
        match u {
            Unfiltered::Partition(h) => {
                prop_assert!(
                    last_key.is_none_or(|k| *k < h.key),
                    "partitions out of order"
                );
                last_key = Some(&h.key);
                last_row = None;
            }
            Unfiltered::Row(r) => {
                prop_assert!(last_key.is_some(), "a row before any partition");
                prop_assert!(
                    last_row.is_none_or(|c| *c < r.clustering),
                    "rows out of order"
                );
                prop_assert!(!r.is_empty(), "an empty row was written");
                last_row = Some(&r.clustering);
            }
        }
    }
    Ok(())
}

#[test]
fn purge_drops_old_tombstones_only() {
    let key = keys()[0].clone();
    let mt = Memtable::new(1);
    let mut m = Mutation::new(TableId(1), key.clone());
    m.partition_deletion = Some(DeletionTime::new(10, 50));
    m = m.with_row(Row::new(ClusteringKey::new(&b"a"[..])).with_cell(
        ColumnId(1),
        None,
        Cell::live(5, &b"x"[..]),
    ));
    m = m.with_row(Row::new(ClusteringKey::new(&b"b"[..])).with_cell(
        ColumnId(1),
        None,
        Cell::live(11, &b"y"[..]),
    ));
    mt.apply(&m);
    let compact = |gc_before: i64, max: i64| -> Vec<Unfiltered> {
        merge_for_compaction(
            vec![mt.clone().scan(&KeyRange::ALL).unwrap()],
            100,
            gc_before,
            Box::new(move |_| Timestamp(max)),
        )
        .map(|u| u.unwrap())
        .collect()
    };
    let kept = compact(50, i64::MAX);
    let Unfiltered::Partition(h) = &kept[0] else {
        panic!("header first")
    };
    assert_eq!(
        h.deletion,
        Some(DeletionTime::new(10, 50)),
        "not yet past gc grace"
    );
    assert_eq!(kept.len(), 2, "the shadowed row is gone: {kept:?}");
    let purged = compact(51, i64::MAX);
    let Unfiltered::Partition(h) = &purged[0] else {
        panic!("header first")
    };
    assert_eq!(h.deletion, None);
    assert_eq!(purged.len(), 2);
    let blocked = compact(51, 10);
    let Unfiltered::Partition(h) = &blocked[0] else {
        panic!("header first")
    };
    assert!(
        h.deletion.is_some(),
        "older data elsewhere keeps the tombstone"
    );
    let _ = LivenessInfo {
        timestamp: Timestamp(0),
        expiry: None,
    };
}

/// `cargo test --release -p storage scan_speed -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn scan_speed() {
    let mt = Memtable::new(1);
    let n = 300_000u64;
    for i in 0..n {
        let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let k = DecoratedKey::new(Token(h as i64), h.to_le_bytes().repeat(2));
        let row = Row::new(ClusteringKey::EMPTY).with_cell(
            ColumnId(1),
            None,
            Cell::live(1, vec![7u8; 100]),
        );
        mt.apply_owned(Mutation::new(TableId(1), k).with_row(row));
    }
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: 0,
        include_tombstones: false,
    };
    let t = std::time::Instant::now();
    let raw = mt.clone().scan(&KeyRange::ALL).unwrap().count();
    let raw_el = t.elapsed();
    let t = std::time::Instant::now();
    let merged = ScanReader::new(&cmd, vec![mt.clone().scan(&KeyRange::ALL).unwrap()], 0).count();
    let el = t.elapsed();
    println!(
        "memtable scan {raw} items: {:.0} ns/partition; merged scan {merged} items: {:.0} ns/partition",
        raw_el.as_nanos() as f64 / n as f64,
        el.as_nanos() as f64 / n as f64
    );
}
