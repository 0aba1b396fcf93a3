use super::*;
use crate::cell::{Cell, DeletionTime, LivenessInfo, RangeTombstone};
use crate::key::{ClusteringKey, ColumnId, TableId, Token};
use crate::partition::PartitionHeader;

const AT: Timestamp = Timestamp(100);

fn key(k: u8) -> DecoratedKey {
    DecoratedKey::new(Token(i64::from(k)), vec![k])
}

fn row(c: u8, ts: i64) -> Row {
    Row::new(ClusteringKey::new(vec![c])).with_cell(ColumnId(1), None, Cell::live(ts, vec![c]))
}

#[test]
fn a_newer_mutation_is_taken_as_it_is() {
    let m = Mutation::new(TableId(1), key(1)).with_row(row(1, 101));
    assert!(matches!(admit(&m, Some(AT)), Some(Cow::Borrowed(_))));
    let old = Mutation::new(TableId(1), key(1)).with_row(row(1, 5));
    assert!(matches!(admit(&old, None), Some(Cow::Borrowed(_))));
}

#[test]
fn nothing_at_or_before_the_time_is_taken() {
    let mut m = Mutation::new(TableId(1), key(1))
        .with_row(row(1, 100))
        .with_row(row(2, 99));
    m.partition_deletion = Some(DeletionTime::new(100, 0));
    m.range_tombstones.push(RangeTombstone {
        range: ClusteringRange::ALL,
        deletion: DeletionTime::new(1, 0),
    });
    m.static_row = Some(row(0, -3));
    assert_eq!(admit(&m, Some(AT)), None);
}

#[test]
fn each_part_of_a_row_is_judged_by_its_own_timestamp() {
    let mut r = row(1, 150).with_cell(ColumnId(2), None, Cell::live(50, vec![2]));
    r.liveness = Some(LivenessInfo {
        timestamp: Timestamp(90),
        expiry: None,
    });
    r.deletion = Some(DeletionTime::new(101, 0));
    r.column_deletions = vec![(ColumnId(3), DeletionTime::new(100, 0))];
    let mut m = Mutation::new(TableId(1), key(1)).with_row(r);
    m.partition_deletion = Some(DeletionTime::new(120, 0));
    let kept = admit(&m, Some(AT)).expect("newer parts");
    let row = kept.rows.first().expect("the row");
    assert_eq!(row.liveness, None);
    assert_eq!(row.deletion, Some(DeletionTime::new(101, 0)));
    assert!(row.column_deletions.is_empty());
    assert_eq!(row.cells.len(), 1);
    assert_eq!(row.cells.first().map(|c| c.column), Some(ColumnId(1)));
    assert_eq!(kept.partition_deletion, Some(DeletionTime::new(120, 0)));
}

fn source(items: Vec<Unfiltered>) -> UnfilteredIter {
    Box::new(items.into_iter().map(Ok))
}

#[test]
fn a_scan_drops_partitions_with_nothing_left() {
    let header = |k: u8| Unfiltered::Partition(PartitionHeader::new(key(k)));
    let mut deleted = PartitionHeader::new(key(3));
    deleted.deletion = Some(DeletionTime::new(50, 0));
    let items = vec![
        header(1),
        Unfiltered::Row(row(1, 10)),
        header(2),
        Unfiltered::Row(row(1, 10)),
        Unfiltered::Row(row(2, 200)),
        Unfiltered::Partition(deleted),
        header(4),
    ];
    let out: Vec<Unfiltered> = filter_scan(source(items), AT)
        .map(|i| i.expect("no error"))
        .collect();
    assert_eq!(out, vec![header(2), Unfiltered::Row(row(2, 200))]);
}

#[test]
fn a_partition_read_with_nothing_left_is_no_source() {
    let stream = |rows: Vec<Row>| PartitionStream {
        header: PartitionHeader::new(key(1)),
        rows: Box::new(rows.into_iter().map(Ok)),
    };
    let gone = filter_stream(stream(vec![row(1, 1), row(2, 100)]), AT).expect("no error");
    assert!(gone.is_none());
    let left = filter_stream(stream(vec![row(1, 1), row(2, 101)]), AT)
        .expect("no error")
        .expect("a row left");
    let rows: Vec<Row> = left.rows.map(|r| r.expect("no error")).collect();
    assert_eq!(rows, vec![row(2, 101)]);
}
