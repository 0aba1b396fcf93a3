use super::*;
use crate::cell::{Cell, LivenessInfo};
use crate::key::{Bound, ColumnId, TableId, Token};
use crate::mutation::arb;
use crate::partition::Unfiltered;
use proptest::prelude::*;

fn key(t: i64, k: &[u8]) -> DecoratedKey {
    DecoratedKey::new(Token(t), k.to_vec())
}

fn row(ck: &[u8], ts: i64, v: &[u8]) -> Row {
    Row::new(ClusteringKey::new(ck.to_vec())).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, v.to_vec()),
    )
}

fn read(
    mt: &Arc<Memtable>,
    k: &DecoratedKey,
    slices: &[ClusteringRange],
    rev: bool,
) -> Vec<Vec<u8>> {
    let s = mt.clone().read_partition(k, slices, rev).unwrap().unwrap();
    s.rows.map(|r| r.unwrap().clustering.0.to_vec()).collect()
}

#[test]
fn apply_reconciles_and_accounts() {
    let mt = Memtable::new(1);
    let k = key(1, b"a");
    let m1 = Mutation::new(TableId(1), k.clone()).with_row(row(b"x", 5, b"old"));
    let m2 = Mutation::new(TableId(1), k.clone()).with_row(row(b"x", 6, b"new"));
    let added = mt.apply(&m1);
    assert!(added > 100, "overheads are counted: {added}");
    assert_eq!(mt.size_bytes(), added);
    mt.apply(&m2);
    assert_eq!(mt.partition_count(), 1);
    assert_eq!(mt.min_timestamp(), Timestamp(5));
    let s = mt
        .clone()
        .read_partition(&k, &[ClusteringRange::ALL], false)
        .unwrap()
        .unwrap();
    let rows: Vec<_> = s.rows.map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].cells[0].cell, Cell::live(6, &b"new"[..]));
    assert!(mt.may_contain(&k) && !mt.may_contain(&key(1, b"b")));
    assert!(
        mt.clone()
            .read_partition(&key(2, b"a"), &[ClusteringRange::ALL], false)
            .unwrap()
            .is_none()
    );
}

#[test]
fn large_partitions_stream_in_chunks_in_both_directions() {
    let mt = Memtable::new(1);
    let k = key(0, b"p");
    for i in 0u16..500 {
        let m = Mutation::new(TableId(1), k.clone()).with_row(row(&i.to_be_bytes(), 1, b"v"));
        mt.apply_owned(m);
    }
    let fwd = read(&mt, &k, &[ClusteringRange::ALL], false);
    assert_eq!(fwd.len(), 500);
    assert!(fwd.windows(2).all(|w| w[0] < w[1]));
    let mut rev = read(&mt, &k, &[ClusteringRange::ALL], true);
    rev.reverse();
    assert_eq!(rev, fwd);
    // Two slices, prefix bounds: [0x00 ..= 0x00*] and (0x01* .. 0x01f4)
    let slices = [
        ClusteringRange::prefix(ClusteringKey::new(vec![0u8])),
        ClusteringRange::new(
            Bound::Exclusive(ClusteringKey::new(vec![1u8])),
            Bound::Exclusive(ClusteringKey::new(vec![1u8, 0xf4])),
        ),
    ];
    let got = read(&mt, &k, &slices, false);
    assert_eq!(got.len(), 256);
    let mut got_rev = read(&mt, &k, &slices, true);
    got_rev.reverse();
    assert_eq!(got_rev, got);
    // A writer between chunks does not break the reader.
    let s = mt
        .clone()
        .read_partition(&k, &[ClusteringRange::ALL], false)
        .unwrap()
        .unwrap();
    let mut it = s.rows;
    let first = it.next().unwrap().unwrap();
    mt.apply_owned(Mutation::new(TableId(1), k.clone()).with_row(row(&[0xff, 0xff], 1, b"v")));
    assert_eq!(it.count() + 1, 501, "{first:?}");
}

#[test]
fn scans_respect_token_bounds() {
    let mt = Memtable::new(1);
    for t in 0..200 {
        let m = Mutation::new(TableId(1), key(t / 2, &[t as u8])).with_row(row(b"", 1, b"v"));
        mt.apply(&m);
    }
    let range = KeyRange {
        start: PartitionBound::Exclusive(PartitionPosition::Token(Token(10))),
        end: PartitionBound::Inclusive(PartitionPosition::Token(Token(20))),
    };
    let items: Vec<_> = mt
        .clone()
        .scan(&range)
        .unwrap()
        .map(|u| u.unwrap())
        .collect();
    let keys: Vec<_> = items
        .iter()
        .filter_map(|u| match u {
            Unfiltered::Partition(h) => Some(h.key.token.0),
            Unfiltered::Row(_) => None,
        })
        .collect();
    assert_eq!(keys.len(), 20);
    assert_eq!((keys[0], keys[19]), (11, 20));
    assert_eq!(items.len(), 40);
    let all = mt.clone().scan(&KeyRange::ALL).unwrap().count();
    assert_eq!(all, 400);
    let none = KeyRange {
        start: PartitionBound::Exclusive(PartitionPosition::Token(Token::MAX)),
        end: PartitionBound::Unbounded,
    };
    assert_eq!(mt.clone().scan(&none).unwrap().count(), 0);
}

#[test]
fn prefix_successor_handles_ff() {
    use super::iter::prefix_successor;
    assert_eq!(
        prefix_successor(b"a\xff\xff"),
        Some(ClusteringKey::new(&b"b"[..]))
    );
    assert_eq!(prefix_successor(b"\xff"), None);
    assert_eq!(prefix_successor(b""), None);
}

#[test]
fn liveness_only_and_static_rows_are_kept() {
    let mt = Memtable::new(1);
    let k = key(0, b"p");
    let mut r = Row::new(ClusteringKey::new(&b"c"[..]));
    r.liveness = Some(LivenessInfo {
        timestamp: Timestamp(3),
        expiry: None,
    });
    let mut m = Mutation::new(TableId(1), k.clone()).with_row(r.clone());
    m.static_row = Some(row(b"", 2, b"s"));
    m.partition_deletion = Some(DeletionTime::new(1, 9));
    mt.apply(&m);
    let s = mt
        .clone()
        .read_partition(&k, &[ClusteringRange::ALL], false)
        .unwrap()
        .unwrap();
    assert_eq!(s.header.deletion, Some(DeletionTime::new(1, 9)));
    assert_eq!(s.header.static_row.unwrap().cells.len(), 1);
    assert_eq!(mt.min_timestamp(), Timestamp(1));
}

proptest! {
    #[test]
    fn slices_reads_match_filtering(ms in proptest::collection::vec(arb::mutation(), 1..8),
        a in arb::bound(), b in arb::bound(), rev in any::<bool>()) {
        let mt = Memtable::new(1);
        for m in &ms { mt.apply(m); }
        let slice = ClusteringRange::new(a, b);
        for m in &ms {
            let all = read(&mt, &m.key, &[ClusteringRange::ALL], false);
            let mut want: Vec<_> = all.into_iter().filter(|k| slice.contains(k)).collect();
            if rev { want.reverse(); }
            prop_assert_eq!(read(&mt, &m.key, std::slice::from_ref(&slice), rev), want);
        }
    }
}

/// `cargo test --release -p storage memtable_apply_speed -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn memtable_apply_speed() {
    let mt = Memtable::new(1);
    let n: u64 = std::env::var("MEMTABLE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let muts: Vec<Mutation> = (0..n)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let k = DecoratedKey::new(Token(h as i64), h.to_le_bytes().repeat(2));
            Mutation::new(TableId(1), k).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
                ColumnId(1),
                None,
                Cell::live(1, vec![7u8; 100]),
            ))
        })
        .collect();
    let owned = std::env::var("MEMTABLE_OWNED").is_ok();
    let t = std::time::Instant::now();
    if owned {
        for m in muts {
            mt.apply_owned(m);
        }
    } else {
        for m in &muts {
            mt.apply(m);
        }
    }
    let el = t.elapsed();
    println!(
        "apply: {:.0} ns/op, {} bytes accounted ({} per entry)",
        el.as_nanos() as f64 / n as f64,
        mt.size_bytes(),
        mt.size_bytes() as u64 / n
    );
}

/// What the accounting should say, recomputed from the contents.
fn recount(mt: &Memtable) -> usize {
    mt.partitions
        .iter()
        .map(|e| {
            let node = SKIPLIST_NODE_SIZE + alloc_size(e.key().heap_len());
            node as i64 + e.value().lock().accounted()
        })
        .sum::<i64>() as usize
}

fn dump(mt: &Arc<Memtable>) -> Vec<Unfiltered> {
    mt.clone()
        .scan(&KeyRange::ALL)
        .unwrap()
        .map(|u| u.unwrap())
        .collect()
}

proptest! {
    /// The encoded forms read exactly like the decoded structure they stand for,
    /// and incremental accounting agrees with a recount.
    #[test]
    fn encoded_partitions_read_like_decoded_ones(
        ms in proptest::collection::vec(arb::mutation(), 1..12), owned in any::<bool>()
    ) {
        let mt = Memtable::new(1);
        let mut model: std::collections::BTreeMap<DecoratedKey, PartitionData> = Default::default();
        for m in &ms {
            if owned { mt.apply_owned(m.clone()); } else { mt.apply(m); }
            model.entry(m.key.clone()).or_default().apply(Cow::Borrowed(m));
        }
        let mut want = Vec::new();
        for (k, data) in &model {
            want.push(Unfiltered::Partition(data.header(k.clone())));
            want.extend(data.rows.iter().cloned().map(Unfiltered::Row));
        }
        prop_assert_eq!(dump(&mt), want);
        prop_assert_eq!(mt.size_bytes(), recount(&mt));
        let min = ms.iter().map(mutation_min_timestamp).min().unwrap_or(i64::MAX);
        prop_assert_eq!(mt.min_timestamp(), Timestamp(min));
    }

    #[test]
    fn mem_keys_order_like_decorated_keys(
        a in (0i64..3, proptest::collection::vec(any::<u8>(), 0..30)),
        b in (0i64..3, proptest::collection::vec(any::<u8>(), 0..30)),
    ) {
        let (da, db) = (key(a.0, &a.1), key(b.0, &b.1));
        let (ma, mb) = (MemKey::of(&da), MemKey::of(&db));
        prop_assert_eq!(ma.cmp(&mb), da.cmp(&db));
        prop_assert_eq!(ma.to_decorated(), da);
    }
}

#[test]
fn single_row_partitions_stay_compact() {
    let mt = Memtable::new(1);
    let n = 1000;
    for i in 0..n {
        mt.apply(&bench_mutation(i));
    }
    let per_entry = mt.size_bytes() / n as usize;
    assert!(per_entry <= 250, "{per_entry} bytes per entry");
    // Overwrites keep them encoded, and unsorted or huge writes still work.
    for i in 0..n {
        mt.apply_owned(bench_mutation(i));
    }
    assert_eq!(mt.size_bytes() / n as usize, per_entry);
    assert_eq!(mt.size_bytes(), recount(&mt));
    let k = key(7, &[b'k'; 40]);
    let mut big = Mutation::new(TableId(1), k.clone());
    for i in 0u16..300 {
        big = big.with_row(row(&i.to_be_bytes(), 1, &[1; 100]));
    }
    big.rows.swap(0, 1);
    mt.apply(&big);
    assert!(matches!(
        *mt.partitions.get(&MemKey::of(&k)).unwrap().value().lock(),
        Slot::Decoded(_)
    ));
    assert_eq!(read(&mt, &k, &[ClusteringRange::ALL], true).len(), 300);
    assert_eq!(mt.size_bytes(), recount(&mt));
}

fn bench_mutation(i: u64) -> Mutation {
    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let k = DecoratedKey::new(Token(h as i64), h.to_le_bytes().repeat(2));
    // A realistic microsecond timestamp: its varint is 8 bytes, not 1.
    let ts = 1_700_000_000_000_000 + i as i64;
    Mutation::new(TableId(1), k).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(ts, vec![7u8; 100]),
    ))
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The benchmark's shape (16-byte keys, one 100-byte cell per partition):
/// resident memory growth and accounted bytes per entry, apply and scan speed.
/// `MEMTABLE_N=500000 cargo test --release -p storage memtable_footprint -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn memtable_footprint() {
    let n: u64 = std::env::var("MEMTABLE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    // Resident growth first, before anything else has grown the heap.
    let mt = Memtable::new(1);
    let before = resident_bytes();
    for i in 0..n {
        mt.apply(&bench_mutation(i));
    }
    let rss = resident_bytes().saturating_sub(before);
    let accounted = mt.size_bytes() as u64;
    let t = std::time::Instant::now();
    let items = mt.clone().scan(&KeyRange::ALL).unwrap().count();
    let scan = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(items as u64, 2 * n);
    let keys: Vec<DecoratedKey> = (0..n).map(|i| bench_mutation(i).key).collect();
    let t = std::time::Instant::now();
    for k in &keys {
        let s = mt
            .clone()
            .read_partition(k, &[ClusteringRange::ALL], false)
            .unwrap();
        assert_eq!(s.unwrap().rows.count(), 1);
    }
    let read = t.elapsed().as_nanos() as f64 / n as f64;
    // Apply speed on a fresh memtable with the mutations built beforehand.
    let muts: Vec<Mutation> = (n..2 * n).map(bench_mutation).collect();
    let fresh = Memtable::new(2);
    let t = std::time::Instant::now();
    for m in &muts {
        fresh.apply(m);
    }
    let apply = t.elapsed().as_nanos() as f64 / n as f64;
    let t = std::time::Instant::now();
    for m in &muts {
        fresh.apply(m);
    }
    let overwrite = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "n={n}: apply {apply:.0} ns/op, overwrite {overwrite:.0} ns/op, accounted {} B/entry, \
         resident {} B/entry, scan {scan:.0} ns/partition, point read {read:.0} ns/op, \
         after overwrite {} B/entry",
        accounted / n,
        rss / n,
        fresh.size_bytes() as u64 / n
    );
}

#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn skiplist_baseline_speed() {
    let n: u64 = std::env::var("MEMTABLE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let keys: Vec<DecoratedKey> = (0..n)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            DecoratedKey::new(Token(h as i64), h.to_le_bytes().repeat(2))
        })
        .collect();
    let map = SkipMap::new();
    let t = std::time::Instant::now();
    for k in &keys {
        map.get_or_insert_with(k.clone(), || 0u64);
    }
    println!(
        "skiplist: {:.0} ns/op",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}

#[test]
fn concurrent_writers_converge_to_the_sequential_result() {
    let muts: Vec<Mutation> = (0..2000u32)
        .map(|i| {
            let k = key(i64::from(i % 7), &[(i % 13) as u8]);
            Mutation::new(TableId(1), k).with_row(row(
                &[(i % 5) as u8],
                i64::from(i % 11),
                &i.to_le_bytes(),
            ))
        })
        .collect();
    let seq = Memtable::new(1);
    for m in &muts {
        seq.apply(m);
    }
    let par = Memtable::new(2);
    std::thread::scope(|s| {
        for part in muts.chunks(500) {
            let par = &par;
            s.spawn(move || part.iter().rev().for_each(|m| _ = par.apply(m)));
        }
    });
    assert_eq!(dump(&par), dump(&seq));
    assert_eq!(par.size_bytes(), recount(&par));
    assert_eq!(par.partition_count(), seq.partition_count());
}
