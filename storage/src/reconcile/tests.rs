use super::*;
use crate::key::{ClusteringKey, ColumnId};
use crate::mutation::arb;
use proptest::prelude::*;

fn cc(col: u32, cell: Cell) -> ColumnCell {
    ColumnCell {
        column: ColumnId(col),
        path: None,
        cell,
    }
}

#[test]
fn higher_timestamp_wins_even_over_a_tombstone() {
    let live = Cell::live(11, &b"a"[..]);
    let dead = Cell::tombstone(10, 5);
    assert_eq!(reconcile_cell(live.clone(), dead.clone()), live);
    assert_eq!(reconcile_cell(dead, live.clone()), live);
}

#[test]
fn equal_timestamps_tombstone_then_expiring_then_greater_value() {
    let live_z = Cell::live(10, &b"z"[..]);
    let live_a = Cell::live(10, &b"a"[..]);
    let exp = Cell::expiring(10, &b"a"[..], 5, 100);
    let tomb = Cell::tombstone(10, 1);
    assert_eq!(reconcile_cell(live_a.clone(), live_z.clone()), live_z);
    // An expiring cell beats a live one whatever the values: the choice must not
    // flip once it expires.
    assert_eq!(reconcile_cell(live_z.clone(), exp.clone()), exp);
    assert_eq!(reconcile_cell(exp.clone(), tomb.clone()), tomb);
    assert_eq!(reconcile_cell(tomb.clone(), live_z), tomb);
}

#[test]
fn equal_expiring_cells_prefer_later_expiration_then_value() {
    let early = Cell::expiring(10, &b"z"[..], 5, 100);
    let late = Cell::expiring(10, &b"a"[..], 5, 200);
    assert_eq!(reconcile_cell(early.clone(), late.clone()), late);
    let t1 = Cell::tombstone(10, 1);
    let t2 = Cell::tombstone(10, 2);
    assert_eq!(reconcile_cell(t2.clone(), t1), t2);
}

#[test]
fn deletions_and_liveness_tie_breaks() {
    let a = DeletionTime::new(5, 1);
    let b = DeletionTime::new(5, 9);
    assert_eq!(merge_deletion(a, b), b);
    assert_eq!(
        merge_deletion(DeletionTime::new(6, 0), b)
            .marked_for_delete_at
            .0,
        6
    );
    let plain = LivenessInfo {
        timestamp: Timestamp(5),
        expiry: None,
    };
    let ttl = LivenessInfo {
        timestamp: Timestamp(5),
        expiry: Some((10, 50)),
    };
    assert_eq!(merge_liveness(Some(plain), Some(ttl)), Some(ttl));
}

#[test]
fn shadowing_by_row_range_and_column_deletions() {
    let row = Row {
        clustering: ClusteringKey::new(&b"k"[..]),
        liveness: Some(LivenessInfo {
            timestamp: Timestamp(5),
            expiry: None,
        }),
        deletion: Some(DeletionTime::new(4, 0)),
        column_deletions: vec![(ColumnId(2), DeletionTime::new(7, 0))],
        cells: vec![
            cc(1, Cell::live(3, &b"old"[..])),
            cc(1, Cell::live(6, &b"new"[..])),
            cc(2, Cell::live(7, &b"gone"[..])),
            cc(2, Cell::live(8, &b"kept"[..])),
        ],
    };
    // Not a valid row (duplicate addresses) but shadowing is per cell anyway.
    let s = shadow_row(row.clone(), None);
    let vals: Vec<_> = s.cells.iter().map(|c| c.cell.timestamp.0).collect();
    assert_eq!(vals, vec![6, 8]);
    assert!(s.liveness.is_some());
    let s = shadow_row(row, Some(DeletionTime::new(6, 0)));
    assert_eq!(
        s.deletion, None,
        "a weaker row deletion is implied by the covering one"
    );
    assert_eq!(s.liveness, None);
    assert_eq!(s.cells.len(), 1);
}

#[test]
fn insert_with_only_liveness_is_a_live_row_until_its_ttl() {
    let mut row = Row::new(ClusteringKey::new(&b"k"[..]));
    row.liveness = Some(LivenessInfo {
        timestamp: Timestamp(5),
        expiry: Some((10, 110)),
    });
    assert!(live_row(row.clone(), 109).is_some());
    assert!(live_row(row, 110).is_none());
}

#[test]
fn purge_turns_expired_cells_into_tombstones_and_respects_max_purgeable() {
    let row = Row::new(ClusteringKey::EMPTY)
        .with_cell(ColumnId(1), None, Cell::expiring(5, &b"v"[..], 10, 100))
        .with_cell(ColumnId(2), None, Cell::tombstone(5, 50));
    let p = Purger {
        now: 200,
        gc_before: 100,
        max_purgeable: Timestamp(6),
    };
    let out = p.purge_row(row.clone());
    assert_eq!(out.cells.len(), 1);
    assert_eq!(out.cells[0].cell, Cell::tombstone(5, 110));
    let blocked = Purger {
        max_purgeable: Timestamp(5),
        ..p
    };
    assert_eq!(blocked.purge_row(row).cells.len(), 2);
}

fn normalize(mut r: Row) -> Row {
    r.clustering = ClusteringKey::EMPTY;
    r
}

proptest! {
    #[test]
    fn cell_reconcile_is_a_semilattice(a in arb::cell(), b in arb::cell(), c in arb::cell()) {
        prop_assert_eq!(reconcile_cell(a.clone(), b.clone()), reconcile_cell(b.clone(), a.clone()));
        prop_assert_eq!(
            reconcile_cell(reconcile_cell(a.clone(), b.clone()), c.clone()),
            reconcile_cell(a.clone(), reconcile_cell(b.clone(), c.clone()))
        );
        prop_assert_eq!(reconcile_cell(a.clone(), a.clone()), a.clone());
        // Higher timestamp always wins; at equal timestamps a cell dead at any
        // `now` never loses to one that is plainly live.
        let w = reconcile_cell(a.clone(), b.clone());
        prop_assert_eq!(w.timestamp, a.timestamp.max(b.timestamp));
        if a.timestamp == b.timestamp && matches!(b.kind, CellKind::Live(_)) && !matches!(a.kind, CellKind::Live(_)) {
            prop_assert_eq!(w, a);
        }
    }

    #[test]
    fn row_merge_is_a_semilattice(a in arb::row(), b in arb::row(), c in arb::row()) {
        let (a, b, c) = (normalize(a), normalize(b), normalize(c));
        prop_assert_eq!(merge_rows(a.clone(), b.clone()), merge_rows(b.clone(), a.clone()));
        prop_assert_eq!(
            merge_rows(merge_rows(a.clone(), b.clone()), c.clone()),
            merge_rows(a.clone(), merge_rows(b.clone(), c.clone()))
        );
        prop_assert_eq!(merge_rows(a.clone(), a.clone()), a);
    }

    #[test]
    fn row_merge_equals_per_address_maximum(a in arb::row(), b in arb::row()) {
        let (a, b) = (normalize(a), normalize(b));
        let m = merge_rows(a.clone(), b.clone());
        // Model: every address's winner is the compare_cells maximum of its versions.
        let mut model = std::collections::BTreeMap::new();
        for c in a.cells.iter().chain(&b.cells) {
            let k = (c.column, c.path.clone());
            let e = model.entry(k).or_insert_with(|| c.cell.clone());
            if compare_cells(&c.cell, e) == Ordering::Greater {
                *e = c.cell.clone();
            }
        }
        let got: Vec<_> = m.cells.iter().map(|c| ((c.column, c.path.clone()), c.cell.clone())).collect();
        prop_assert_eq!(got, model.into_iter().collect::<Vec<_>>());
        prop_assert!(m.cells.windows(2).all(|w| (w[0].column, &w[0].path) < (w[1].column, &w[1].path)));
    }

    #[test]
    fn shadowing_commutes_with_merging(a in arb::row(), b in arb::row(), d in proptest::option::of(arb::deletion())) {
        let (a, b) = (normalize(a), normalize(b));
        let direct = shadow_row(merge_rows(a.clone(), b.clone()), d);
        let pre = shadow_row(merge_rows(shadow_row(a, d), shadow_row(b, d)), d);
        prop_assert_eq!(direct, pre);
    }
}
