//! The replica's white-box listing: equal data gives equal digests however it
//! is stored, and any difference a convergence check must see (a timestamp,
//! a TTL, a tombstone) changes the digest of that partition only.

mod support;

use std::sync::Arc;

use cluster::{DumpError, PartitionSummary, ReadReply, ReadRequest, Replica, dump, murmur3_token};
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnFilter, ColumnId, DecoratedKey, DeletionTime,
    Engine, Mutation, PartitionRead, Row, TableId,
};

const TABLE: TableId = TableId(7);

fn key(k: &str) -> DecoratedKey {
    DecoratedKey::new(murmur3_token(k.as_bytes()), k.as_bytes().to_vec())
}

fn put(k: &str, v: &str, ts: i64) -> Mutation {
    Mutation::new(TABLE, key(k)).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, v.as_bytes().to_vec()),
    ))
}

fn apply(engine: &Engine, mutations: &[Mutation]) {
    for m in mutations {
        engine.apply(m).expect("write applies");
    }
}

fn listing(engine: &Engine) -> Vec<PartitionSummary> {
    dump(engine, TABLE, 1_000).expect("the table lists")
}

fn digest_of(listing: &[PartitionSummary], k: &str) -> [u8; 16] {
    listing
        .iter()
        .find(|p| p.key == k.as_bytes())
        .map(|p| p.digest)
        .expect("the partition is listed")
}

fn base() -> Vec<Mutation> {
    (0..20)
        .map(|i| put(&format!("k{i}"), "v", 100 + i))
        .collect()
}

#[test]
fn equal_data_lists_equally_from_memtables_or_sstables() {
    let (a, b) = (support::engine(TABLE), support::engine(TABLE));
    let data = base();
    apply(&a, &data);
    // The other replica got the writes in reverse, half of them flushed, and
    // one key overwritten by an older version that must lose.
    let (older, newer) = data.split_at(10);
    apply(&b, newer);
    b.flush(TABLE).expect("flush");
    apply(&b, &[put("k3", "stale", 1)]);
    apply(&b, older);
    let (la, lb) = (listing(&a), listing(&b));
    assert_eq!(la.len(), 20);
    assert_eq!(la, lb);
    assert!(
        la.windows(2).all(|w| w[0].token <= w[1].token),
        "token order"
    );
    assert!(la.iter().all(|p| p.cells == 1));
}

#[tokio::test]
async fn the_digest_is_the_one_a_digest_read_answers() {
    let engine = support::engine(TABLE);
    apply(&engine, &base());
    let replica = Replica::new(Arc::clone(&engine));
    let request = ReadRequest {
        table: TABLE,
        read: PartitionRead {
            key: key("k5"),
            slices: vec![ClusteringRange::ALL],
            columns: ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now: 1_000,
            include_tombstones: true,
        },
        digest: true,
        max_tombstones: 1_000,
    };
    let answer = replica.read(request).await.expect("the replica reads");
    let ReadReply::Digest(expected) = answer.reply else {
        panic!("asked for a digest, got {:?}", answer.reply);
    };
    assert_eq!(digest_of(&listing(&engine), "k5"), expected);
    replica.shutdown();
}

/// Lists the base data with `change` applied on one side only and returns
/// both listings.
fn with_change(change: Mutation) -> (Vec<PartitionSummary>, Vec<PartitionSummary>) {
    let (a, b) = (support::engine(TABLE), support::engine(TABLE));
    apply(&a, &base());
    apply(&b, &base());
    apply(&b, &[change]);
    (listing(&a), listing(&b))
}

/// Only `k`'s digest differs between the two listings.
fn only_differs_at(a: &[PartitionSummary], b: &[PartitionSummary], k: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.key, y.key);
        let differs = x.digest != y.digest;
        assert_eq!(
            differs,
            x.key == k.as_bytes(),
            "{:?}",
            String::from_utf8_lossy(&x.key)
        );
    }
}

#[test]
fn a_newer_timestamp_with_the_same_value_changes_the_digest() {
    let (a, b) = with_change(put("k4", "v", 104 + 1));
    only_differs_at(&a, &b, "k4");
}

#[test]
fn a_ttl_changes_the_digest() {
    let ttl = Mutation::new(TABLE, key("k6")).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::expiring(106, b"v".to_vec(), 3_600, 1_000),
    ));
    let (a, b) = with_change(ttl);
    // Same timestamp and value: only the TTL tells them apart.
    only_differs_at(&a, &b, "k6");
}

#[test]
fn tombstones_change_the_digest_and_are_listed() {
    let mut deleted = Mutation::new(TABLE, key("k2"));
    deleted.partition_deletion = Some(DeletionTime::new(500, 1_000));
    let (a, b) = with_change(deleted.clone());
    only_differs_at(&a, &b, "k2");
    // A cell tombstone, and the same deletion at another local time.
    let cell = Mutation::new(TABLE, key("k8")).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::tombstone(500, 1_000),
    ));
    let (a, b) = with_change(cell);
    only_differs_at(&a, &b, "k8");

    // A partition that holds nothing but a deletion is listed too, and its
    // deletion time counts.
    let (x, y) = (support::engine(TABLE), support::engine(TABLE));
    let mut gone = Mutation::new(TABLE, key("gone"));
    gone.partition_deletion = Some(DeletionTime::new(500, 1_000));
    apply(&x, &[gone.clone()]);
    gone.partition_deletion = Some(DeletionTime::new(500, 1_001));
    apply(&y, &[gone]);
    let (lx, ly) = (listing(&x), listing(&y));
    assert_eq!(lx.len(), 1);
    assert_eq!(lx[0].cells, 0);
    assert_ne!(lx[0].digest, ly[0].digest);
}

#[test]
fn more_partitions_than_allowed_is_refused() {
    let engine = support::engine(TABLE);
    apply(&engine, &base());
    assert_eq!(
        dump(&engine, TABLE, 20).expect("exactly the limit").len(),
        20
    );
    assert!(matches!(
        dump(&engine, TABLE, 19),
        Err(DumpError::TooMany(19))
    ));
    assert!(matches!(
        dump(&engine, TableId(99), 10),
        Err(DumpError::Storage(_))
    ));
}
