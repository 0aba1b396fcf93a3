//! Cassandra corner cases, one by one.

use super::*;

fn ck(b: &[u8]) -> ClusteringKey {
    ClusteringKey::new(b.to_vec())
}

fn key() -> DecoratedKey {
    DecoratedKey::new(Token(0), &b"p"[..])
}

fn mutation() -> Mutation {
    Mutation::new(TableId(1), key())
}

fn cmd(now: i64) -> PartitionRead {
    PartitionRead {
        key: key(),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now,
        include_tombstones: false,
    }
}

/// Applies each mutation to its own memtable (one source each) and reads.
fn read(muts: &[Mutation], cmd: &PartitionRead) -> (Option<Row>, Vec<Row>) {
    let mts: Vec<_> = muts
        .iter()
        .map(|m| {
            let mt = Memtable::new(0);
            mt.apply(m);
            mt
        })
        .collect();
    let (st, _, rows) = read_partition(&mts, cmd);
    (st, rows)
}

fn keys_of(rows: &[Row]) -> Vec<&[u8]> {
    rows.iter().map(|r| r.clustering.as_bytes()).collect()
}

#[test]
fn insert_without_columns_makes_the_row_exist_until_its_ttl() {
    let mut r = Row::new(ck(b"a"));
    r.liveness = Some(LivenessInfo {
        timestamp: Timestamp(1),
        expiry: Some((10, 110)),
    });
    let muts = [mutation().with_row(r)];
    let (_, rows) = read(&muts, &cmd(109));
    assert_eq!(keys_of(&rows), vec![b"a"]);
    assert!(rows[0].cells.is_empty() && rows[0].liveness.is_some());
    assert!(
        read(&muts, &cmd(110)).1.is_empty(),
        "expired liveness, no cells"
    );
}

#[test]
fn a_row_live_only_through_an_unselected_column_is_returned_without_cells() {
    let r = Row::new(ck(b"a")).with_cell(ColumnId(2), None, Cell::live(1, &b"v"[..]));
    let mut c = cmd(0);
    c.columns = ColumnFilter::Only(vec![ColumnId(1)]);
    let (_, rows) = read(&[mutation().with_row(r)], &c);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].cells.is_empty());
}

#[test]
fn collection_overwrite_deletes_older_elements_only() {
    let old = Row::new(ck(b"a"))
        .with_cell(
            ColumnId(1),
            Some(b"x".to_vec().into()),
            Cell::live(1, &b"1"[..]),
        )
        .with_cell(
            ColumnId(1),
            Some(b"y".to_vec().into()),
            Cell::live(1, &b"2"[..]),
        );
    // `SET c = {z: 3}` at ts 2: a column deletion at 1 plus the new element at 2.
    let mut new = Row::new(ck(b"a")).with_cell(
        ColumnId(1),
        Some(b"z".to_vec().into()),
        Cell::live(2, &b"3"[..]),
    );
    new.column_deletions = vec![(ColumnId(1), DeletionTime::new(1, 0))];
    let (_, rows) = read(
        &[mutation().with_row(old), mutation().with_row(new)],
        &cmd(0),
    );
    let paths: Vec<_> = rows[0]
        .cells
        .iter()
        .map(|c| c.path.clone().unwrap())
        .collect();
    assert_eq!(paths, vec![bytes::Bytes::from_static(b"z")]);
}

#[test]
fn range_tombstones_honour_exclusive_and_prefix_bounds_across_sources() {
    let mut rows = mutation();
    for k in [&b"a"[..], b"b", b"b\x01", b"b\x02", b"c", b"c\x01", b"d"] {
        rows =
            rows.with_row(Row::new(ck(k)).with_cell(ColumnId(1), None, Cell::live(1, &b"v"[..])));
    }
    // Deletes everything after all of "b*" up to and including all of "c*".
    let mut del = mutation();
    del.range_tombstones.push(RangeTombstone {
        range: ClusteringRange::new(Bound::Exclusive(ck(b"b")), Bound::Inclusive(ck(b"c"))),
        deletion: DeletionTime::new(2, 0),
    });
    let (_, got) = read(&[rows.clone(), del.clone()], &cmd(0));
    assert_eq!(
        keys_of(&got),
        vec![&b"a"[..], b"b", b"b\x01", b"b\x02", b"d"]
    );
    let mut rev = cmd(0);
    rev.reversed = true;
    rev.row_limit = Some(2);
    let (_, got) = read(&[del, rows], &rev);
    assert_eq!(keys_of(&got), vec![&b"d"[..], b"b\x02"]);
}

#[test]
fn partition_deletion_covers_the_static_row_and_newer_writes_survive() {
    let mut m = mutation().with_row(Row::new(ck(b"a")).with_cell(
        ColumnId(1),
        None,
        Cell::live(5, &b"v"[..]),
    ));
    m.static_row =
        Some(Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(9), None, Cell::live(5, &b"s"[..])));
    let mut del = mutation();
    del.partition_deletion = Some(DeletionTime::new(5, 0));
    let (st, rows) = read(&[m.clone(), del.clone()], &cmd(0));
    assert!(st.is_none() && rows.is_empty());
    let newer = mutation().with_row(Row::new(ck(b"b")).with_cell(
        ColumnId(1),
        None,
        Cell::live(6, &b"w"[..]),
    ));
    let (_, rows) = read(&[m, del, newer], &cmd(0));
    assert_eq!(keys_of(&rows), vec![b"b"]);
}

#[test]
fn a_static_only_partition_is_scanned_but_not_after_resuming_inside_it() {
    let mut m = mutation();
    m.static_row =
        Some(Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(9), None, Cell::live(5, &b"s"[..])));
    let mt = Memtable::new(0);
    mt.apply(&m);
    let mut c = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: 0,
        include_tombstones: false,
    };
    assert_eq!(
        scan(scans(std::slice::from_ref(&mt), &KeyRange::ALL), &c).len(),
        1
    );
    c.resume_after = Some((key(), ck(b"")));
    assert!(scan(scans(&[mt], &KeyRange::ALL), &c).is_empty());
}

#[test]
fn equal_timestamp_tombstone_wins_and_tombstones_are_counted() {
    let live = mutation().with_row(Row::new(ck(b"a")).with_cell(
        ColumnId(1),
        None,
        Cell::live(5, &b"v"[..]),
    ));
    let dead =
        mutation().with_row(Row::new(ck(b"a")).with_cell(ColumnId(1), None, Cell::tombstone(5, 0)));
    let mts: Vec<_> = [live, dead]
        .iter()
        .map(|m| {
            let mt = Memtable::new(0);
            mt.apply(m);
            mt
        })
        .collect();
    let c = cmd(0);
    let streams = mts
        .iter()
        .filter_map(|m| m.clone().read_partition(&c.key, &c.slices, false).unwrap())
        .collect();
    let mut r = PartitionReader::new(&c, streams, 2).unwrap();
    assert!(r.next().is_none());
    assert_eq!(
        r.stats(),
        ReadStats {
            sstables_touched: 2,
            tombstones_scanned: 1
        }
    );
}

#[test]
fn compaction_keeps_expired_cells_that_tie_with_data_outside_it() {
    let row = |exp_now: i64| {
        mutation().with_row(Row::new(ck(b"a")).with_cell(
            ColumnId(1),
            None,
            Cell::expiring(5, &b"v"[..], 10, exp_now),
        ))
    };
    let inside = Memtable::new(0);
    inside.apply(&row(0)); // expires at 10
    let outside = Memtable::new(1);
    outside.apply(&row(90)); // expires at 100, same timestamp: it wins
    let max = outside.min_timestamp();
    let compacted: Vec<_> = merge_for_compaction(
        scans(&[inside], &KeyRange::ALL),
        20,
        0,
        Box::new(move |_| max),
    )
    .map(|u| u.unwrap())
    .collect();
    let c = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: 20,
        include_tombstones: false,
    };
    let sources: Vec<UnfilteredIter> = vec![
        Box::new(compacted.into_iter().map(Ok)),
        outside.clone().scan(&KeyRange::ALL).unwrap(),
    ];
    assert_eq!(
        scan(sources, &c).len(),
        2,
        "the outside cell is still visible"
    );
}

fn stream(rows: Vec<crate::Result<Row>>) -> PartitionStream {
    PartitionStream {
        header: crate::partition::PartitionHeader::new(key()),
        rows: Box::new(rows.into_iter()),
    }
}

fn live(k: &[u8]) -> Row {
    Row::new(ck(k)).with_cell(ColumnId(1), None, Cell::live(1, &b"v"[..]))
}

#[test]
fn rows_a_source_returns_outside_the_slices_are_dropped() {
    let mut c = cmd(0);
    c.slices = vec![ClusteringRange::prefix(ck(b"b"))];
    let r = PartitionReader::new(
        &c,
        vec![stream(vec![Ok(live(b"a")), Ok(live(b"b")), Ok(live(b"c"))])],
        1,
    )
    .unwrap();
    let got: Vec<_> = r.map(|x| x.unwrap()).collect();
    assert_eq!(keys_of(&got), vec![b"b"]);
}

#[test]
fn a_source_error_is_returned_once_and_ends_the_read() {
    let err = || crate::Error::Malformed {
        what: "test",
        reason: "boom".into(),
    };
    let mut r = PartitionReader::new(
        &cmd(0),
        vec![stream(vec![Ok(live(b"a")), Err(err()), Ok(live(b"c"))])],
        1,
    )
    .unwrap();
    assert!(r.next().unwrap().is_ok());
    assert!(r.next().unwrap().is_err());
    assert!(r.next().is_none());
    let items: Vec<crate::Result<Unfiltered>> = vec![
        Ok(Unfiltered::Partition(
            crate::partition::PartitionHeader::new(key()),
        )),
        Ok(Unfiltered::Row(live(b"a"))),
        Err(err()),
    ];
    let c = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: 0,
        include_tombstones: false,
    };
    let out: Vec<_> = ScanReader::new(&c, vec![Box::new(items.into_iter())], 0).collect();
    assert_eq!(out.len(), 3);
    assert!(out[2].is_err());
}
