//! Damaged files through the whole engine: a flipped byte in any SSTable
//! component makes open, a read or a scan fail with `Error::Corrupt` naming the
//! file and the component — never wrong data, never a panic. A damaged manifest
//! fails open; a torn commit-log tail replays its valid prefix.

use super::*;
use std::path::Path;

const TABLE: TableId = TableId(7);
const FOOTER_LEN: u64 = 80;

fn table_dir() -> PathBuf {
    data_dir().join("tables").join(TABLE.to_string())
}

/// The model tests' settings, with room for the whole table in one memtable.
fn open(fs: &SimFs, clock: &Arc<ManualClock>) -> Result<Engine> {
    let mut options = engine_options(clock.clone());
    options.memtable_budget_bytes = 1 << 20;
    Engine::open(Arc::new(fs.clone()), options)
}

/// Size-tiered with 1 KiB blocks, flushed only when asked.
fn plain_options() -> TableOptions {
    TableOptions {
        memtable_flush_threshold_bytes: None,
        ..table_options(0, 10_000_000)
    }
}

/// Sixteen partitions of eight rows with 100-byte values, in one SSTable of
/// about a dozen 1 KiB blocks; returns the mutations written.
fn write_flushed_table(fs: &SimFs, clock: &Arc<ManualClock>, lz4: bool) -> Vec<Mutation> {
    let engine = open(fs, clock).expect("open");
    let mut options = plain_options();
    options.compression.compression = if lz4 {
        Compression::Lz4
    } else {
        Compression::None
    };
    engine.create_table(TABLE, options).expect("create");
    let mut muts = Vec::new();
    for k in 0..16u8 {
        let mut m = Mutation::new(TABLE, DecoratedKey::new(Token(i64::from(k)), vec![k]));
        for c in 0..8u8 {
            // Values differ per row and do not compress to nothing.
            let value: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(31) ^ k ^ c).collect();
            m = m.with_row(Row::new(ClusteringKey::new(vec![c])).with_cell(
                ColumnId(1),
                None,
                Cell::live(i64::from(c) + 1, value),
            ));
        }
        engine.apply(&m).expect("apply");
        muts.push(m);
    }
    engine.flush(TABLE).expect("flush");
    engine.close().expect("close");
    muts
}

fn sstable_path(fs: &SimFs) -> PathBuf {
    let files: Vec<PathBuf> = fs
        .read_dir(&table_dir())
        .expect("listing the table")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// `(offset, length)` of the index, bloom filter and statistics, from the footer.
fn components(bytes: &[u8]) -> [(u64, u64); 3] {
    let footer = &bytes[bytes.len() - FOOTER_LEN as usize..];
    let u64_at = |i: usize| u64::from_le_bytes(footer[i..i + 8].try_into().expect("8 bytes"));
    [
        (u64_at(8), u64_at(16)),
        (u64_at(24), u64_at(32)),
        (u64_at(40), u64_at(48)),
    ]
}

/// The offsets worth flipping in each component of the file.
fn targets(bytes: &[u8]) -> Vec<(&'static str, u64)> {
    let [(index, index_len), (bloom, bloom_len), (stats, stats_len)] = components(bytes);
    let len = bytes.len() as u64;
    let footer = len - FOOTER_LEN;
    let mut t = vec![
        ("data block", 0),
        ("data block", 1),
        ("data block", index / 2),
        ("data block", index - 1),
        ("index", index),
        ("index", index + index_len / 2),
        ("index", index + index_len - 1),
        ("bloom filter", bloom),
        ("bloom filter", bloom + 10),
        ("bloom filter", bloom + bloom_len / 2),
        ("bloom filter", bloom + bloom_len - 1),
        ("statistics", stats),
        ("statistics", stats + stats_len / 2),
        ("statistics", stats + stats_len - 1),
    ];
    for i in [0, 4, 8, 20, 40, 56, 60, 64, 68, 72, 79] {
        t.push(("footer", footer + i));
    }
    t
}

/// What one engine operation may give back on a damaged file: the right
/// answer or the right error.
fn expect_corrupt(e: &Error, file: &Path, component: &str) {
    match e {
        Error::Corrupt {
            file: f,
            component: c,
            ..
        } => {
            assert_eq!(f, file, "{e}");
            assert_eq!(*c, component, "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&file.display().to_string()) && msg.contains(component),
                "{msg}"
            );
        }
        other => panic!("expected corruption of the {component} of {file:?}, got {other}"),
    }
}

fn read_all(engine: &Engine, cmd: &PartitionRead) -> Result<Vec<Row>> {
    engine.read(TABLE, cmd)?.collect()
}

fn scan_all(engine: &Engine, cmd: &ScanCommand) -> Result<Vec<ScanItem>> {
    engine.scan(TABLE, cmd)?.collect()
}

/// Reads every partition (forwards and backwards) and scans the table. Returns
/// how many operations failed; each failure must be the expected corruption,
/// and each success must equal the model.
fn read_everything(engine: &Engine, muts: &[Mutation], file: &Path, component: &str) -> usize {
    let mut failures = 0;
    for reversed in [false, true] {
        for m in muts {
            let cmd = PartitionRead {
                key: m.key.clone(),
                slices: vec![ClusteringRange::ALL],
                columns: ColumnFilter::All,
                reversed,
                row_limit: None,
                now: START,
                include_tombstones: false,
            };
            match read_all(engine, &cmd) {
                Ok(rows) => assert_eq!(rows, model_read(muts, &cmd).rows, "{component}"),
                Err(e) => {
                    expect_corrupt(&e, file, component);
                    failures += 1;
                }
            }
        }
    }
    let cmd = full_scan();
    match scan_all(engine, &cmd) {
        Ok(items) => assert_eq!(items, model_scan(muts, &cmd), "{component}"),
        Err(e) => {
            expect_corrupt(&e, file, component);
            failures += 1;
        }
    }
    failures
}

#[test]
fn a_flipped_byte_in_any_sstable_component_is_reported_never_read_as_data() {
    for lz4 in [false, true] {
        let probe = SimFs::new();
        let clock = Arc::new(ManualClock::new(START));
        write_flushed_table(&probe, &clock, lz4);
        let bytes = probe.read_all(&sstable_path(&probe)).expect("read");
        for (component, offset) in targets(&bytes) {
            for mask in [0x01, 0xff] {
                let fs = SimFs::new();
                let muts = write_flushed_table(&fs, &clock, lz4);
                let file = sstable_path(&fs);
                fs.corrupt(&file, offset, mask).expect("flip");
                let case = format!("{component} at {offset} ^ {mask:#x}, lz4 {lz4}");
                match open(&fs, &clock) {
                    Err(e) => expect_corrupt(&e, &file, component),
                    Ok(engine) => {
                        let failures = read_everything(&engine, &muts, &file, component);
                        assert!(failures > 0, "{case}: the damage went unnoticed");
                        engine.close().expect("close");
                    }
                }
            }
        }
    }
}

#[test]
fn a_damaged_manifest_fails_open_naming_it() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    write_flushed_table(&fs, &clock, true);
    let path = table_dir().join(crate::manifest::MANIFEST_FILE);
    let len = fs.read_all(&path).expect("read").len() as u64;
    for offset in [0, len / 2, len - 1] {
        fs.corrupt(&path, offset, 0x10).expect("flip");
        let err = open(&fs, &clock).expect_err("a damaged manifest must fail open");
        let msg = err.to_string();
        assert!(
            matches!(err, Error::Corrupt { ref file, .. } if *file == path),
            "{msg}"
        );
        assert!(msg.contains("MANIFEST"), "{msg}");
        fs.corrupt(&path, offset, 0x10).expect("flip back");
    }
    // Undamaged again, it opens with everything in it.
    let engine = open(&fs, &clock).expect("open");
    assert_eq!(engine.table_stats(TABLE).expect("stats").sstable_count, 1);
    engine.close().expect("close");
}

/// `(start of the last record, its payload length)` of a segment, if it has any.
fn last_record(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut at = 32;
    let mut last = None;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if len == 0 {
            break;
        }
        last = Some((at, len));
        at += 12 + len;
    }
    last
}

fn rows_of(engine: &Engine, key: &DecoratedKey) -> Vec<ClusteringKey> {
    let cmd = PartitionRead {
        key: key.clone(),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: START,
        include_tombstones: false,
    };
    read_all(engine, &cmd)
        .expect("read")
        .into_iter()
        .map(|r| r.clustering)
        .collect()
}

#[test]
fn a_torn_commit_log_tail_replays_the_valid_prefix() {
    let fs = SimFs::new();
    let clock = Arc::new(ManualClock::new(START));
    let engine = open(&fs, &clock).expect("open");
    engine.create_table(TABLE, plain_options()).expect("create");
    let key = DecoratedKey::new(Token(0), &b"p"[..]);
    let n = 120u8;
    for i in 0..n {
        // Incompressible values, so the log's record compression leaves them
        // large and they fill several segments.
        let mut x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let value: Vec<u8> = (0..60)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let row = Row::new(ClusteringKey::new(vec![i])).with_cell(
            ColumnId(1),
            None,
            Cell::live(1, value),
        );
        engine
            .apply(&Mutation::new(TABLE, key.clone()).with_row(row))
            .expect("apply");
    }
    // Close without a flush: everything is in the commit log only.
    engine.close().expect("close");
    let log_dir = data_dir().join("commitlog");
    let mut segments = fs.read_dir(&log_dir).expect("list");
    segments.sort();
    let (segment, start, len) = segments
        .iter()
        .rev()
        .find_map(|s| {
            let bytes = fs.read_all(s).expect("read");
            last_record(&bytes).map(|(start, len)| (s.clone(), start, len))
        })
        .expect("a segment with records");
    assert!(segments.len() > 1, "the test wants several segments");
    // Cut the last record in the middle of its payload.
    fs.truncate(&segment, (start + 8 + len / 2) as u64)
        .expect("truncate");

    let engine = open(&fs, &clock).expect("reopen after a torn tail");
    let want: Vec<ClusteringKey> = (0..n - 1).map(|i| ClusteringKey::new(vec![i])).collect();
    assert_eq!(rows_of(&engine, &key), want);
    // The log goes on after the torn record, and what follows survives.
    let row = Row::new(ClusteringKey::new(vec![200])).with_cell(
        ColumnId(1),
        None,
        Cell::live(1, &b"after"[..]),
    );
    engine
        .apply(&Mutation::new(TABLE, key.clone()).with_row(row))
        .expect("apply");
    engine.close().expect("close");
    let engine = open(&fs, &clock).expect("reopen");
    let mut want = want;
    want.push(ClusteringKey::new(vec![200]));
    assert_eq!(rows_of(&engine, &key), want);
    engine.close().expect("close");
}
