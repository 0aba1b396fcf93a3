use super::*;
use storage::{Cell, ClusteringRange, ColumnId, DeletionTime, TableId, Token};

fn ck(b: &[u8]) -> ClusteringKey {
    ClusteringKey::new(b.to_vec())
}

fn part() -> Mutation {
    Mutation::new(TableId(1), DecoratedKey::new(Token(1), b"k".to_vec()))
}

fn row(c: &[u8], ts: i64, v: &[u8]) -> Row {
    Row::new(ck(c)).with_cell(ColumnId(1), None, Cell::live(ts, v.to_vec()))
}

fn rt(start: &[u8], end: &[u8], ts: i64) -> RangeTombstone {
    RangeTombstone {
        range: ClusteringRange::new(Bound::Inclusive(ck(start)), Bound::Inclusive(ck(end))),
        deletion: DeletionTime::new(ts, 10),
    }
}

#[test]
fn newer_cells_win_and_rows_union() {
    let a = part()
        .with_row(row(b"a", 1, b"old"))
        .with_row(row(b"b", 1, b"b"));
    let b = part()
        .with_row(row(b"a", 2, b"new"))
        .with_row(row(b"c", 1, b"c"));
    let m = merge_all([a, b]).unwrap();
    let values: Vec<_> = m
        .rows
        .iter()
        .map(|r| r.cells[0].cell.value_at(0).unwrap().to_vec())
        .collect();
    assert_eq!(values, [b"new".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn deletions_from_one_replica_shadow_data_from_another() {
    let mut deleted = part();
    deleted.partition_deletion = Some(DeletionTime::new(5, 10));
    let stale = part()
        .with_row(row(b"a", 3, b"x"))
        .with_row(row(b"b", 7, b"y"));
    let m = merge_all([stale, deleted]).unwrap();
    assert_eq!(m.rows.len(), 1);
    assert_eq!(m.rows[0].clustering, ck(b"b"));

    let mut ranged = part();
    ranged.range_tombstones.push(rt(b"a", b"a", 4));
    let m = merge_all([part().with_row(row(b"a", 3, b"x")), ranged]).unwrap();
    assert!(m.rows.is_empty());
    assert_eq!(m.range_tombstones.len(), 1);
}

#[test]
fn digests_ignore_range_tombstone_order() {
    let mut a = part();
    a.range_tombstones = vec![rt(b"a", b"b", 1), rt(b"c", b"d", 2)];
    let mut b = part();
    b.range_tombstones = vec![rt(b"c", b"d", 2), rt(b"a", b"b", 1)];
    normalize(&mut a);
    normalize(&mut b);
    assert_eq!(digest(&a), digest(&b));
    let mut c = part();
    c.range_tombstones = vec![rt(b"a", b"b", 1)];
    normalize(&mut c);
    assert_ne!(digest(&a), digest(&c));
}

#[test]
fn live_view_orders_limits_and_drops_dead_rows() {
    let mut m = part()
        .with_row(row(b"a", 1, b"1"))
        .with_row(Row::new(ck(b"b")).with_cell(ColumnId(1), None, Cell::tombstone(2, 0)))
        .with_row(row(b"c", 1, b"3"))
        .with_row(row(b"d", 1, b"4"));
    normalize(&mut m);
    let (data, cut) = live_view(m.clone(), 0, true, 2);
    let data = data.unwrap();
    assert!(cut);
    let keys: Vec<_> = data.rows.iter().map(|r| r.clustering.clone()).collect();
    assert_eq!(keys, [ck(b"d"), ck(b"c")]);
    let (data, cut) = live_view(m, 0, false, 10);
    assert!(!cut);
    assert_eq!(data.unwrap().rows.len(), 3);
}

#[test]
fn scan_cuts_keep_what_every_replica_covered() {
    let other = Mutation::new(TableId(1), DecoratedKey::new(Token(9), b"z".to_vec()));
    let mut parts = vec![
        part()
            .with_row(row(b"a", 1, b"1"))
            .with_row(row(b"b", 1, b"2")),
        other,
    ];
    let cut = ScanPosition {
        key: part().key,
        within: Within::Row(ck(b"a")),
    };
    cut_scan_after(&mut parts, &cut);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].rows.len(), 1);
    assert_eq!(last_position(&parts, true), Some(cut.clone()));
    assert!(
        cut < ScanPosition {
            key: part().key,
            within: Within::End
        }
    );
}
