//! SSTable tests: round trips against a model, slices, corruption, crash hygiene.

use super::format::{FOOTER_LEN, Footer};
use super::*;
use crate::cache::BlockCache;
use crate::cell::{Cell, DeletionTime, RangeTombstone, Row};
use crate::error::Error;
use crate::io::StdFs;
use crate::key::{Bound, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Token};
use crate::mutation::arb;
use crate::partition::{
    KeyRange, PartitionBound, PartitionHeader, PartitionPosition, PartitionSource, Unfiltered,
};
use proptest::prelude::*;
use std::sync::Arc;

/// One partition of the model: header and ascending rows.
type Part = (PartitionHeader, Vec<Row>);

fn fs() -> Arc<dyn crate::io::FileSystem> {
    Arc::new(StdFs)
}

fn opts(block: usize, compression: Compression) -> SsTableOptions {
    SsTableOptions {
        block_size_bytes: block,
        compression,
        bloom_fp_chance: 0.01,
    }
}

fn write(
    dir: &std::path::Path,
    generation: u64,
    o: &SsTableOptions,
    parts: &[Part],
) -> SsTableInfo {
    let mut w = SsTableWriter::new(fs(), dir, generation, o, parts.len()).unwrap();
    for (h, rows) in parts {
        w.add(Unfiltered::Partition(h.clone())).unwrap();
        for r in rows {
            w.add(Unfiltered::Row(r.clone())).unwrap();
        }
    }
    w.finish().unwrap()
}

fn open(dir: &std::path::Path, generation: u64) -> Result<Arc<SsTable>, Error> {
    SsTable::open(fs(), dir, generation, BlockCache::new(1 << 20))
}

fn flatten(parts: &[Part]) -> Vec<Unfiltered> {
    parts
        .iter()
        .flat_map(|(h, rows)| {
            std::iter::once(Unfiltered::Partition(h.clone()))
                .chain(rows.iter().cloned().map(Unfiltered::Row))
        })
        .collect()
}

fn scan_all(t: &Arc<SsTable>, range: &KeyRange) -> Result<Vec<Unfiltered>, Error> {
    t.clone().scan(range)?.collect()
}

fn key(token: i64, k: &[u8]) -> DecoratedKey {
    DecoratedKey::new(Token(token), k.to_vec())
}

fn ck(b: &[u8]) -> ClusteringKey {
    ClusteringKey::new(b.to_vec())
}

/// Wider clusterings than `arb::clustering` so that partitions span many tiny blocks.
fn clustering() -> impl Strategy<Value = ClusteringKey> {
    proptest::collection::vec(0u8..6, 0..4).prop_map(ClusteringKey::new)
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        Just(Bound::Unbounded),
        clustering().prop_map(Bound::Inclusive),
        clustering().prop_map(Bound::Exclusive),
    ]
}

fn partition(k: DecoratedKey) -> impl Strategy<Value = Part> {
    (
        proptest::option::of(arb::deletion()),
        proptest::collection::vec(arb::range_tombstone(), 0..2),
        proptest::option::of(arb::row()),
        proptest::collection::btree_map(clustering(), arb::row(), 0..30),
    )
        .prop_map(move |(deletion, range_tombstones, st, rows)| {
            let header = PartitionHeader {
                key: k.clone(),
                deletion,
                range_tombstones,
                static_row: st.map(|mut r| {
                    r.clustering = ClusteringKey::EMPTY;
                    Box::new(r)
                }),
            };
            let rows = rows
                .into_iter()
                .map(|(c, mut r)| {
                    r.clustering = c;
                    r
                })
                .collect();
            (header, rows)
        })
}

fn parts() -> impl Strategy<Value = Vec<Part>> {
    proptest::collection::btree_set((-3i64..3, proptest::collection::vec(0u8..4, 0..3)), 1..12)
        .prop_flat_map(|keys| {
            keys.into_iter()
                .map(|(t, k)| partition(key(t, &k)))
                .collect::<Vec<_>>()
        })
}

/// Two sorted, disjoint slices split at `x <= y`, or one slice.
fn slices() -> impl Strategy<Value = Vec<ClusteringRange>> {
    prop_oneof![
        (bound(), bound()).prop_map(|(s, e)| vec![ClusteringRange::new(s, e)]),
        (bound(), clustering(), clustering(), bound()).prop_map(|(s, x, y, e)| {
            let (x, y) = if x <= y { (x, y) } else { (y, x) };
            vec![
                ClusteringRange::new(s, Bound::Exclusive(x)),
                ClusteringRange::new(Bound::Inclusive(y), e),
            ]
        }),
        clustering().prop_map(|p| vec![ClusteringRange::prefix(p)]),
    ]
}

fn position() -> impl Strategy<Value = PartitionBound> {
    let pos = prop_oneof![
        (-4i64..4).prop_map(|t| PartitionPosition::Token(Token(t))),
        (-4i64..4, proptest::collection::vec(0u8..4, 0..3))
            .prop_map(|(t, k)| PartitionPosition::Key(key(t, &k))),
    ];
    prop_oneof![
        Just(PartitionBound::Unbounded),
        pos.clone().prop_map(PartitionBound::Inclusive),
        pos.prop_map(PartitionBound::Exclusive),
    ]
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![Just(Compression::None), Just(Compression::Lz4)]
}

fn model_rows(rows: &[Row], slices: &[ClusteringRange], reversed: bool) -> Vec<Row> {
    let mut v: Vec<Row> = rows
        .iter()
        .filter(|r| slices.iter().any(|s| s.contains(r.clustering.as_bytes())))
        .cloned()
        .collect();
    if reversed {
        v.reverse();
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scans_return_what_was_written(
        parts in parts(), block in 16usize..400, comp in compression(),
        start in position(), end in position(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let info = write(dir.path(), 1, &opts(block, comp), &parts);
        prop_assert_eq!(info.stats.partition_count, parts.len() as u64);
        let t = open(dir.path(), 1).unwrap();
        prop_assert_eq!(scan_all(&t, &KeyRange::ALL).unwrap(), flatten(&parts));
        let range = KeyRange { start, end };
        let expected: Vec<Part> = parts.iter().filter(|p| range.contains(&p.0.key)).cloned().collect();
        prop_assert_eq!(scan_all(&t, &range).unwrap(), flatten(&expected));
    }

    #[test]
    fn point_reads_match_a_model_filter(
        parts in parts(), block in 16usize..400, comp in compression(),
        reads in proptest::collection::vec((any::<prop::sample::Index>(), slices(), any::<bool>()), 1..12),
        absent in proptest::collection::vec((-4i64..4, proptest::collection::vec(0u8..5, 0..4)), 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 3, &opts(block, comp), &parts);
        let t = open(dir.path(), 3).unwrap();
        for (h, _) in &parts {
            prop_assert!(t.may_contain(&h.key));
        }
        for (i, slices, reversed) in reads {
            let (h, rows) = &parts[i.index(parts.len())];
            let got = t.clone().read_partition(&h.key, &slices, reversed).unwrap().unwrap();
            prop_assert_eq!(&got.header, h);
            let got: Vec<Row> = got.rows.collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(got, model_rows(rows, &slices, reversed), "slices {:?} reversed {}", slices, reversed);
        }
        for (tk, k) in absent {
            let k = key(tk, &k);
            if parts.iter().all(|p| p.0.key != k) {
                prop_assert!(t.clone().read_partition(&k, &[ClusteringRange::ALL], false).unwrap().is_none());
            }
        }
    }
}

/// A table with wide partitions over many blocks, for the hand-written tests.
fn sample() -> Vec<Part> {
    (0..20)
        .map(|p| {
            let mut h = PartitionHeader::new(key(p / 3, format!("k{p:02}").as_bytes()));
            if p == 4 {
                h.deletion = Some(DeletionTime::new(5, 100));
                h.range_tombstones.push(RangeTombstone {
                    range: ClusteringRange::new(Bound::Inclusive(ck(b"a")), Bound::Unbounded),
                    deletion: DeletionTime::new(6, 101),
                });
            }
            let n = if p % 5 == 0 { 200 } else { 3 };
            let rows = (0..n)
                .map(|r: u32| {
                    Row::new(ck(&r.to_be_bytes())).with_cell(
                        ColumnId(1),
                        None,
                        Cell::live(10 + i64::from(r), vec![p as u8; 20]),
                    )
                })
                .collect();
            (h, rows)
        })
        .collect()
}

#[test]
fn wide_partition_slices_read_few_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let parts = sample();
    write(dir.path(), 1, &opts(256, Compression::Lz4), &parts);
    let cache = BlockCache::new(1 << 20);
    let t = SsTable::open(fs(), dir.path(), 1, cache.clone()).unwrap();
    assert!(t.block_count() > 50, "{} blocks", t.block_count());
    let (h, rows) = &parts[10];
    let slice = ClusteringRange::new(
        Bound::Inclusive(ck(&150u32.to_be_bytes())),
        Bound::Exclusive(ck(&153u32.to_be_bytes())),
    );
    for reversed in [false, true] {
        let got = t
            .clone()
            .read_partition(&h.key, std::slice::from_ref(&slice), reversed)
            .unwrap()
            .unwrap();
        let got: Vec<Row> = got.rows.collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            model_rows(rows, std::slice::from_ref(&slice), reversed)
        );
    }
    // The header block plus at most two or three blocks around the slice.
    assert!(
        cache.size_bytes() < 6 * (256 + 200 + 64),
        "{}",
        cache.size_bytes()
    );
}

#[test]
fn stats_describe_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let parts = sample();
    let info = write(dir.path(), 9, &SsTableOptions::default(), &parts);
    let s = &info.stats;
    assert_eq!(s.partition_count, 20);
    assert_eq!(s.row_count, 4 * 200 + 16 * 3);
    assert_eq!(s.cell_count, s.row_count);
    assert_eq!(s.min_key, parts[0].0.key);
    assert_eq!(s.max_key, parts[19].0.key);
    assert_eq!(s.min_timestamp.0, 5);
    assert_eq!(s.max_timestamp.0, 209);
    assert_eq!(s.max_local_deletion_time, i64::MAX);
    assert_eq!(s.tombstone_count, 2);
    assert_eq!(s.droppable_tombstones(101), 1);
    assert_eq!(s.droppable_tombstones(1000), 2);
    assert_eq!(s.min_clustering, Some(ck(&0u32.to_be_bytes())));
    assert_eq!(s.max_clustering, Some(ck(&199u32.to_be_bytes())));
    assert_eq!(s.format_version, FORMAT_VERSION);
    let t = open(dir.path(), 9).unwrap();
    assert_eq!(t.stats(), s);
    assert_eq!(t.size_bytes(), info.size_bytes);
    assert_eq!(t.files(), info.paths);
}

#[test]
fn histogram_stays_small_and_counts_everything() {
    let mut h = TombstoneHistogram::default();
    for i in 0..10_000 {
        h.add(i % 977);
    }
    assert!(h.bins().len() <= 100);
    assert_eq!(h.droppable(i64::MAX), 10_000);
    assert_eq!(h.droppable(i64::MIN), 0);
}

fn corruption_of(bytes: &mut [u8], at: usize) -> (std::path::PathBuf, tempfile::TempDir) {
    bytes[at] ^= 0x40;
    let dir = tempfile::tempdir().unwrap();
    let path = data_path(dir.path(), 1);
    std::fs::write(&path, &*bytes).unwrap();
    (path, dir)
}

fn component_of(e: &Error) -> &'static str {
    match e {
        Error::Corrupt { component, .. } => component,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn flipped_bytes_name_their_component() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &opts(256, Compression::Lz4), &sample());
    let bytes = std::fs::read(data_path(dir.path(), 1)).unwrap();
    let len = bytes.len();
    let mut tail = [0u8; FOOTER_LEN];
    tail.copy_from_slice(&bytes[len - FOOTER_LEN..]);
    let f = Footer::decode(&tail, len as u64).unwrap();
    let cases = [
        (f.index.offset + f.index.len / 2, "index"),
        (f.bloom.offset + f.bloom.len / 2, "bloom filter"),
        (f.stats.offset + f.stats.len / 2, "statistics"),
        (len as u64 - 30, "footer"),
    ];
    for (at, component) in cases {
        let (_, d) = corruption_of(&mut bytes.clone(), at as usize);
        let err = open(d.path(), 1).unwrap_err();
        assert_eq!(component_of(&err), component, "{err}");
        assert!(err.to_string().contains("sst-"), "{err}");
    }
    // A data block: open succeeds, reading the block fails, the scan too.
    let (_, d) = corruption_of(&mut bytes.clone(), 10);
    let t = open(d.path(), 1).unwrap();
    let err = t
        .clone()
        .read_partition(&sample()[0].0.key, &[ClusteringRange::ALL], false);
    assert_eq!(component_of(&err.unwrap_err()), "data block");
    let err = scan_all(&t, &KeyRange::ALL).unwrap_err();
    assert_eq!(component_of(&err), "data block");
}

#[test]
fn truncated_files_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &opts(256, Compression::None), &sample());
    let bytes = std::fs::read(data_path(dir.path(), 1)).unwrap();
    for cut in [0, 1, 40, bytes.len() / 2, bytes.len() - 81, bytes.len() - 1] {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(data_path(d.path(), 1), &bytes[..cut]).unwrap();
        let err = open(d.path(), 1).unwrap_err();
        assert_eq!(component_of(&err), "footer", "cut at {cut}: {err}");
    }
}

/// Every single-byte flip of a small table is detected or harmless: never wrong data.
#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<Part> = sample()
        .into_iter()
        .take(4)
        .map(|(h, r)| (h, r.into_iter().take(3).collect()))
        .collect();
    write(dir.path(), 1, &opts(64, Compression::Lz4), &parts);
    let bytes = std::fs::read(data_path(dir.path(), 1)).unwrap();
    let expected = flatten(&parts);
    for at in 0..bytes.len() {
        let (_, d) = corruption_of(&mut bytes.clone(), at);
        let Ok(t) = open(d.path(), 1) else { continue };
        if let Ok(items) = scan_all(&t, &KeyRange::ALL) {
            assert_eq!(items, expected, "flip at {at} gave wrong data");
        }
    }
}

#[test]
fn out_of_order_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let o = SsTableOptions::default();
    let mut w = SsTableWriter::new(fs(), dir.path(), 1, &o, 4).unwrap();
    assert!(
        w.add(Unfiltered::Row(Row::new(ck(b"a")))).is_err(),
        "row before partition"
    );
    w.add(Unfiltered::Partition(PartitionHeader::new(key(5, b"b"))))
        .unwrap();
    w.add(Unfiltered::Row(Row::new(ck(b"b")))).unwrap();
    assert!(w.add(Unfiltered::Row(Row::new(ck(b"a")))).is_err());
    assert!(
        w.add(Unfiltered::Row(Row::new(ck(b"b")))).is_err(),
        "duplicate row"
    );
    assert!(
        w.add(Unfiltered::Partition(PartitionHeader::new(key(5, b"a"))))
            .is_err()
    );
    assert!(
        w.add(Unfiltered::Partition(PartitionHeader::new(key(5, b"b"))))
            .is_err()
    );
    assert!(
        w.add(Unfiltered::Partition(PartitionHeader::new(key(4, b"z"))))
            .is_err()
    );
    w.add(Unfiltered::Partition(PartitionHeader::new(key(6, b"a"))))
        .unwrap();
}

#[test]
fn abort_and_drop_leave_no_files_and_empty_tables_fail() {
    let dir = tempfile::tempdir().unwrap();
    let o = SsTableOptions::default();
    let mut w = SsTableWriter::new(fs(), dir.path(), 1, &o, 4).unwrap();
    w.add(Unfiltered::Partition(PartitionHeader::new(key(5, b"b"))))
        .unwrap();
    w.abort();
    let w = SsTableWriter::new(fs(), dir.path(), 2, &o, 4).unwrap();
    drop(w);
    let w = SsTableWriter::new(fs(), dir.path(), 3, &o, 4).unwrap();
    assert!(w.finish().is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn generations_are_listed_removed_and_temporaries_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let parts = sample();
    write(dir.path(), 12, &SsTableOptions::default(), &parts);
    write(dir.path(), 3, &SsTableOptions::default(), &parts);
    // A crashed writer's leftover and an unrelated file.
    std::fs::write(format::temp_path(dir.path(), 13), b"partial").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    assert_eq!(
        SsTable::list_generations(&StdFs, dir.path()).unwrap(),
        vec![3, 12]
    );
    assert_eq!(
        SsTable::remove_temporary_files(&StdFs, dir.path()).unwrap(),
        1
    );
    SsTable::remove_files(&StdFs, dir.path(), 12).unwrap();
    assert_eq!(
        SsTable::list_generations(&StdFs, dir.path()).unwrap(),
        vec![3]
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn invalid_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SsTableOptions {
        bloom_fp_chance: 1.5,
        ..SsTableOptions::default()
    };
    assert!(SsTableWriter::new(fs(), dir.path(), 1, &o, 4).is_err());
    o = SsTableOptions {
        block_size_bytes: 0,
        ..SsTableOptions::default()
    };
    assert!(SsTableWriter::new(fs(), dir.path(), 1, &o, 4).is_err());
}

/// A rough micro-benchmark (release mode):
/// `cargo test --release -p storage sstable::tests::micro_benchmark -- --ignored --nocapture`.
#[expect(
    clippy::too_many_lines,
    reason = "a benchmark that reports its steps in order"
)]
#[test]
#[ignore = "benchmark; run by hand in release mode"]
fn micro_benchmark() {
    use std::time::Instant;
    let n: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let k = |i: u64| {
        key(
            (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 1) as i64,
            &i.to_be_bytes().repeat(2),
        )
    };
    let mut keys: Vec<DecoratedKey> = (0..n).map(k).collect();
    keys.sort();
    let t0 = Instant::now();
    let mut w =
        SsTableWriter::new(fs(), dir.path(), 1, &SsTableOptions::default(), n as usize).unwrap();
    for key in &keys {
        w.add(Unfiltered::Partition(PartitionHeader::new(key.clone())))
            .unwrap();
        let row = Row::new(ClusteringKey::EMPTY).with_cell(
            ColumnId(1),
            None,
            Cell::live(1, vec![7u8; 100]),
        );
        w.add(Unfiltered::Row(row)).unwrap();
    }
    let info = w.finish().unwrap();
    let write = t0.elapsed();
    let t = SsTable::open(fs(), dir.path(), 1, BlockCache::new(1 << 30)).unwrap();
    println!(
        "write {n} partitions: {:?} ({:.0}/s), {} bytes, {} blocks, index {} B, bloom {} B",
        write,
        n as f64 / write.as_secs_f64(),
        info.size_bytes,
        t.block_count(),
        t.index_memory_bytes(),
        t.bloom_memory_bytes()
    );
    for round in 0..2 {
        let t0 = Instant::now();
        let mut rows = 0;
        for i in 0..n {
            let key = k(i);
            let p = t
                .clone()
                .read_partition(&key, &[ClusteringRange::ALL], false)
                .unwrap()
                .unwrap();
            rows += p.rows.count();
        }
        let el = t0.elapsed();
        assert_eq!(rows as u64, n);
        println!(
            "point reads (round {round}): {:.2} µs each, {:.0}/s",
            el.as_secs_f64() * 1e6 / n as f64,
            n as f64 / el.as_secs_f64()
        );
    }
    let t0 = Instant::now();
    let mut hits = 0;
    for i in n..2 * n {
        hits += usize::from(t.may_contain(&k(i)));
    }
    let el = t0.elapsed();
    println!(
        "absent may_contain: {:.0} ns each, {hits} false positives of {n}",
        el.as_secs_f64() * 1e9 / n as f64
    );
    let t0 = Instant::now();
    let mut items = 0;
    for item in t.clone().scan(&KeyRange::ALL).unwrap() {
        item.unwrap();
        items += 1;
    }
    let el = t0.elapsed();
    println!(
        "scan: {items} items in {el:?}, {:.0} partitions/s",
        n as f64 / el.as_secs_f64()
    );
}
