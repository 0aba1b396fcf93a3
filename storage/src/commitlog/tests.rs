use super::*;
use crate::cell::{Cell, Row};
use crate::io::sim::SimFs;
use crate::key::{ClusteringKey, ColumnId, DecoratedKey, Token};
use std::path::Path;

const SEG: u64 = 4096;

fn dir() -> PathBuf {
    PathBuf::from("/data/commitlog")
}

/// Raw payloads, so that record sizes (and so segment rollover) are what the
/// tests compute; compressed records have tests of their own.
fn opts(sync: SyncMode) -> CommitLogOptions {
    CommitLogOptions {
        segment_size_bytes: SEG,
        sync,
        compression: false,
        ..CommitLogOptions::new(dir())
    }
}

fn mutation(table: u128, i: u64, value_len: usize) -> Mutation {
    let row = Row::new(ClusteringKey::new(i.to_be_bytes().to_vec())).with_cell(
        ColumnId(1),
        None,
        Cell::live(i as i64, vec![(i % 251) as u8; value_len]),
    );
    Mutation::new(
        TableId(table),
        DecoratedKey::new(Token(i as i64), i.to_le_bytes().to_vec()),
    )
    .with_row(row)
}

fn open(fs: &SimFs, o: CommitLogOptions) -> CommitLog {
    CommitLog::open(Arc::new(fs.clone()), o).unwrap()
}

fn replay_all(log: &CommitLog) -> Result<(Vec<(ReplayPosition, Mutation)>, ReplayStats)> {
    let mut out = Vec::new();
    let stats = log.replay(&mut |p, m| {
        out.push((p, m));
        Ok(())
    })?;
    Ok((out, stats))
}

fn append(log: &CommitLog, m: &Mutation) -> ReplayPosition {
    log.append(m.table, &m.to_bytes()).unwrap()
}

fn segment_files(fs: &SimFs) -> Vec<PathBuf> {
    fs.read_dir(&dir()).unwrap()
}

#[test]
fn round_trip_across_segments_and_reopen() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let mut expected = Vec::new();
    for i in 0..400 {
        let m = mutation(u128::from(i % 3 + 1), i, 20);
        expected.push((append(&log, &m), m));
    }
    assert!(expected.windows(2).all(|w| w[0].0 < w[1].0));
    let stats = log.stats();
    assert!(stats.segments > 5, "{stats:?}");
    assert_eq!(stats.appends, 400);
    log.shutdown().unwrap();
    drop(log);

    let log = open(&fs, opts(SyncMode::Batch));
    let (got, rs) = replay_all(&log).unwrap();
    assert_eq!(got, expected);
    assert_eq!(rs.records, 400);
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    assert_eq!(rs.bytes_skipped, 0);
    assert!(log.current_position() > expected[399].0);
    assert!(log.replay(&mut |_, _| Ok(())).is_err(), "replay runs once");
}

/// Appends from one thread, acknowledging every other record; returns the
/// appended records and how many of them were acknowledged in a row.
fn crash_run(sync: SyncMode) {
    crash_run_with(opts(sync));
}

fn crash_run_with(o: CommitLogOptions) {
    let fs = SimFs::new();
    let log = open(&fs, o.clone());
    let mut appended = Vec::new();
    let mut acked = 0;
    for i in 0..150 {
        let m = mutation(1, i, 30);
        let pos = append(&log, &m);
        appended.push((pos, m));
        if i % 2 == 0 && i < 120 {
            log.wait_durable(pos).unwrap();
            acked = appended.len();
        }
    }
    fs.crash();
    drop(log);
    let log = open(&fs, o);
    let (got, _) = replay_all(&log).unwrap();
    assert!(got.len() >= acked, "{} < {acked}", got.len());
    assert_eq!(got[..], appended[..got.len()], "a prefix, nothing invented");
}

#[test]
fn compressed_records_replay_and_survive_a_crash() {
    // Values of repeated bytes compress, so these records are stored as LZ4.
    let o = CommitLogOptions {
        compression: true,
        ..opts(SyncMode::Batch)
    };
    crash_run_with(o.clone());
    let fs = SimFs::new();
    let log = open(&fs, o.clone());
    let m = mutation(1, 1, 400);
    append(&log, &m);
    log.sync().unwrap();
    assert!(log.stats().bytes_appended < 300, "{:?}", log.stats());
    drop(log);
    let (got, _) = replay_all(&open(&fs, o)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, m);
}

#[test]
fn crash_keeps_acknowledged_records_in_batch_mode() {
    crash_run(SyncMode::Batch);
}

#[test]
fn crash_keeps_acknowledged_records_in_group_mode() {
    crash_run(SyncMode::Group { window_us: 50 });
    crash_run(SyncMode::default());
}

fn only_segment(fs: &SimFs, log: CommitLog) -> PathBuf {
    log.shutdown().unwrap();
    drop(log);
    let files: Vec<_> = segment_files(fs)
        .into_iter()
        .filter(|p| fs.read_all(p).unwrap()[40] != 0)
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn torn_tail_replays_the_valid_prefix_with_a_warning() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let ms: Vec<_> = (0..5).map(|i| mutation(1, i, 40)).collect();
    let pos: Vec<_> = ms.iter().map(|m| append(&log, m)).collect();
    let path = only_segment(&fs, log);
    fs.truncate(&path, pos[4].offset + 40).unwrap();

    let log = open(&fs, opts(SyncMode::Batch));
    let (got, stats) = replay_all(&log).unwrap();
    assert_eq!(got.len(), 4);
    assert!((1..=40).contains(&stats.bytes_skipped), "{stats:?}");
    assert_eq!(stats.warnings.len(), 1);
    let w = &stats.warnings[0];
    assert!(
        w.contains("bytes skipped") && w.contains(&format!("offset {}", pos[4].offset)),
        "{w}"
    );
}

#[test]
fn corruption_followed_by_valid_records_fails_unless_skipped() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let ms: Vec<_> = (0..6).map(|i| mutation(1, i, 40)).collect();
    let pos: Vec<_> = ms.iter().map(|m| append(&log, m)).collect();
    let path = only_segment(&fs, log);
    fs.corrupt(&path, pos[2].offset + 15, 0x40).unwrap();

    let log = open(&fs, opts(SyncMode::Batch));
    let err = replay_all(&log).unwrap_err();
    match &err {
        Error::Corrupt { file, offset, .. } => {
            assert_eq!(file, &path);
            assert_eq!(*offset, pos[2].offset);
        }
        e => panic!("{e}"),
    }
    drop(log);

    let log = open(
        &fs,
        CommitLogOptions {
            skip_corrupt_records: true,
            ..opts(SyncMode::Batch)
        },
    );
    let (got, stats) = replay_all(&log).unwrap();
    let want: Vec<_> = [0, 1, 3, 4, 5]
        .iter()
        .map(|&i| (pos[i], ms[i].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(stats.bytes_skipped, pos[3].offset - pos[2].offset);
    assert_eq!(stats.warnings.len(), 1);
}

#[test]
fn undecodable_payload_counts_as_corruption() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let good = mutation(1, 1, 10);
    append(&log, &good);
    log.append(TableId(1), b"not a mutation").unwrap();
    append(&log, &good);
    let path = only_segment(&fs, log);
    let log = open(&fs, opts(SyncMode::Batch));
    assert!(matches!(replay_all(&log), Err(Error::Corrupt { .. })));
    let log2 = {
        drop(log);
        open(
            &fs,
            CommitLogOptions {
                skip_corrupt_records: true,
                ..opts(SyncMode::Batch)
            },
        )
    };
    assert_eq!(replay_all(&log2).unwrap().0.len(), 2);
    assert!(fs.exists(&path));
}

#[test]
fn zeroed_bytes_before_valid_records_are_corruption() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let pos: Vec<_> = (0..3).map(|i| append(&log, &mutation(1, i, 30))).collect();
    let path = only_segment(&fs, log);
    let mut bytes = fs.read_all(&path).unwrap();
    let (a, b) = (pos[1].offset as usize, pos[2].offset as usize);
    bytes[a..b].fill(0);
    fs.write_all(&path, &bytes).unwrap();
    let log = open(&fs, opts(SyncMode::Batch));
    let err = replay_all(&log).unwrap_err().to_string();
    assert!(err.contains(&format!("at byte {a}")), "{err}");
}

#[test]
fn bad_segment_header_is_corruption() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    append(&log, &mutation(1, 1, 10));
    let path = only_segment(&fs, log);
    fs.corrupt(&path, 3, 1).unwrap();
    let log = open(&fs, opts(SyncMode::Batch));
    assert!(matches!(
        replay_all(&log),
        Err(Error::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn segments_are_recycled_or_deleted_once_every_table_flushed() {
    let fs = SimFs::new();
    let o = CommitLogOptions {
        max_recycled_segments: 2,
        ..opts(SyncMode::Batch)
    };
    let log = open(&fs, o.clone());
    let mut last = ReplayPosition::ZERO;
    for i in 0..200 {
        last = append(&log, &mutation(1 + u128::from(i % 2), i, 40));
    }
    log.sync().unwrap();
    let before = log.stats().segments;
    assert!(before >= 4, "{before}");
    let files_before = segment_files(&fs).len();

    // Only table 1 flushed: table 2 still needs every segment.
    log.discard_completed(TableId(1), last).unwrap();
    assert_eq!(log.stats().segments, before);
    assert_eq!(segment_files(&fs).len(), files_before);

    // Table 2 flushed up to a point inside the log: segments before it go.
    let mid = ReplayPosition {
        segment_id: last.segment_id - 1,
        offset: 0,
    };
    log.discard_completed(TableId(2), mid).unwrap();
    let stats = log.stats();
    assert_eq!(stats.segments, 2, "{stats:?}");
    assert!(stats.recycled_segments <= 3, "{stats:?}");

    log.forget_table(TableId(2)).unwrap();
    assert_eq!(log.stats().segments, 1, "the active segment stays");
    assert!(segment_files(&fs).len() <= 1 + 3);

    // Recycled files' old records never come back.
    let mut fresh = Vec::new();
    // Smaller records than before, so the second segment used (a recycled
    // one) ends with its previous life's records after the new ones.
    for i in 0..100 {
        let m = mutation(3, 1000 + i, 5);
        fresh.push((append(&log, &m), m));
    }
    log.shutdown().unwrap();
    drop(log);
    let log = open(&fs, o);
    let (got, stats) = replay_all(&log).unwrap();
    let first = fresh[0].0;
    let got: Vec<_> = got.into_iter().filter(|(p, _)| *p >= first).collect();
    assert_eq!(got, fresh);
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
}

#[test]
fn the_tables_pinning_the_oldest_segments_are_named_once_over_the_space_bound() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    // Table 1 writes only into the first segment, table 2 everywhere, table 3
    // only into the newest segments.
    append(&log, &mutation(1, 0, 40));
    let mut i = 1;
    while log.current_position().segment_id < 6 {
        append(&log, &mutation(2, i, 400));
        i += 1;
    }
    append(&log, &mutation(3, i, 40));
    let segments = log.stats().segments as u64;
    assert_eq!(segments, 6, "{:?}", log.stats());
    let at = |limit_segments: u64| log.tables_over_limit(limit_segments * SEG);
    assert_eq!(at(segments), vec![], "within the bound");
    assert_eq!(at(segments + 10), vec![]);
    // One segment over: the oldest one's tables.
    assert_eq!(at(segments - 1), vec![TableId(1), TableId(2)]);
    // Far over: the active segment's tables are not needed to release the rest.
    assert_eq!(at(0), vec![TableId(1), TableId(2)]);
    // Once they are flushed the log is back within any bound it can meet.
    log.sync().unwrap();
    let now = log.current_position();
    log.discard_completed(TableId(1), now).unwrap();
    log.discard_completed(TableId(2), now).unwrap();
    assert_eq!(log.stats().segments, 1);
    assert_eq!(at(1), vec![]);
}

#[test]
fn the_default_space_bound_is_at_most_8_gib_and_a_quarter_of_the_volume() {
    let dir = tempfile::tempdir().unwrap();
    let volume = rustix::fs::statvfs(dir.path()).unwrap();
    let quarter = volume.f_blocks * volume.f_frsize / 4;
    let missing = dir.path().join("not/yet/created");
    assert_eq!(default_total_space(&missing), quarter.min(8 << 30));
}

#[test]
fn replayed_segments_go_once_their_tables_are_flushed() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    for i in 0..100 {
        append(&log, &mutation(1, i, 40));
    }
    log.shutdown().unwrap();
    drop(log);
    let log = open(&fs, opts(SyncMode::Batch));
    assert!(log.stats().segments > 3);
    let (got, _) = replay_all(&log).unwrap();
    let mut with_records: Vec<_> = got.iter().map(|(p, _)| p.segment_id).collect();
    with_records.dedup();
    assert!(with_records.len() > 2);
    // Empty ones (a pre-allocated spare) go at once; the others wait for table 1.
    assert_eq!(log.stats().segments, with_records.len() + 1);
    log.discard_completed(TableId(1), log.current_position())
        .unwrap();
    assert_eq!(log.stats().segments, 1);
}

#[test]
fn too_large_mutations_are_rejected() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let err = log.append(TableId(1), &vec![0; 2049]).unwrap_err();
    assert!(matches!(
        err,
        Error::MutationTooLarge {
            size: 2049,
            max: 2048
        }
    ));
    log.append(TableId(1), &vec![0; 2048]).unwrap();
}

fn wait_for_spare(log: &CommitLog) {
    for _ in 0..1000 {
        if log.stats().recycled_segments > 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("no segment was pre-allocated");
}

#[test]
fn failed_fsync_poisons_the_log() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::default()));
    wait_for_spare(&log);
    let p = append(&log, &mutation(1, 1, 10));
    log.wait_durable(p).unwrap();
    fs.fail_sync_data("commitlog-", Some(1));
    let p = append(&log, &mutation(1, 2, 10));
    let err = log.wait_durable(p).unwrap_err();
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    assert!(err.to_string().contains("fsync"), "{err}");
    // Nothing is retried, although the fault is gone.
    assert!(matches!(
        log.append(TableId(1), &mutation(1, 3, 1).to_bytes()),
        Err(Error::Poisoned(_))
    ));
    assert!(matches!(log.wait_durable(p), Err(Error::Poisoned(_))));
    assert!(log.sync().is_err());
}

#[test]
fn failed_write_poisons_the_log() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Periodic { interval_ms: 5 }));
    wait_for_spare(&log);
    fs.fail_writes("commitlog-", None);
    append(&log, &mutation(1, 1, 10));
    let err = log.sync().unwrap_err();
    assert!(err.to_string().contains("write of"), "{err}");
    assert!(matches!(
        log.append(TableId(1), &mutation(1, 3, 1).to_bytes()),
        Err(Error::Poisoned(_))
    ));
}

#[test]
fn group_commit_shares_fsyncs_between_threads() {
    let fs = SimFs::new();
    fs.set_sync_latency(std::time::Duration::from_micros(200));
    let o = CommitLogOptions {
        segment_size_bytes: 8 << 10,
        ..opts(SyncMode::default())
    };
    let log = Arc::new(open(&fs, o.clone()));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..100 {
                    let m = mutation(u128::from(t + 1), t * 1000 + i, 30);
                    let pos = log.append(m.table, &m.to_bytes()).unwrap();
                    log.wait_durable(pos).unwrap();
                    mine.push((pos, m));
                }
                mine
            })
        })
        .collect();
    let mut acked: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    acked.sort_by_key(|(p, _)| *p);
    let stats = log.stats();
    assert_eq!(stats.appends, 800);
    assert!(stats.syncs < 400, "{stats:?}");
    fs.crash();
    drop(log);
    let log = open(&fs, o);
    assert_eq!(replay_all(&log).unwrap().0, acked);
}

#[test]
fn concurrent_writers_and_flushes_survive_a_crash() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    let fs = SimFs::new();
    let o = CommitLogOptions {
        max_recycled_segments: 2,
        ..opts(SyncMode::default())
    };
    let log = Arc::new(open(&fs, o.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut marks = HashMap::new();
            let mut t = 0u128;
            while !stop.load(Ordering::Relaxed) {
                t = t % 4 + 1;
                let at = log.current_position();
                log.discard_completed(TableId(t), at).unwrap();
                marks.insert(t, at);
                std::thread::yield_now();
            }
            marks
        })
    };
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..150)
                    .map(|i| {
                        let m = mutation(u128::from(w + 1), w * 1000 + i, 20 + (i as usize % 50));
                        let pos = log.append(m.table, &m.to_bytes()).unwrap();
                        log.wait_durable(pos).unwrap();
                        (pos, m)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acked: Vec<_> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::Relaxed);
    let marks = flusher.join().unwrap();
    fs.crash();
    drop(log);
    let log = open(&fs, o);
    let (got, _) = replay_all(&log).unwrap();
    let got: HashMap<_, _> = got.into_iter().collect();
    for (pos, m) in &acked {
        if marks.get(&m.table.0).is_none_or(|w| pos >= w) {
            assert_eq!(got.get(pos), Some(m), "acknowledged record at {pos:?} lost");
        }
    }
}

#[test]
fn periodic_mode_acknowledges_at_once_and_syncs_in_the_background() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Periodic { interval_ms: 2 }));
    let m = mutation(1, 1, 10);
    let p = append(&log, &m);
    log.wait_durable(p).unwrap();
    let mut synced = false;
    for _ in 0..1000 {
        if log.stats().syncs > 0 {
            synced = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(synced);
    fs.crash();
    drop(log);
    let log = open(&fs, opts(SyncMode::Batch));
    assert_eq!(replay_all(&log).unwrap().0, vec![(p, m)]);
}

#[test]
fn periodic_mode_writes_a_large_buffer_early() {
    let fs = SimFs::new();
    let o = CommitLogOptions {
        segment_size_bytes: 8 << 20,
        ..opts(SyncMode::Periodic {
            interval_ms: 60_000,
        })
    };
    let log = open(&fs, o);
    for i in 0..1100 {
        log.append(TableId(1), &vec![i as u8; 1000]).unwrap();
    }
    let mut written = false;
    for _ in 0..1000 {
        if log.stats().writes > 0 {
            written = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(written);
    assert_eq!(log.stats().syncs, 0);
}

#[test]
fn closed_log_refuses_appends() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    log.shutdown().unwrap();
    assert!(matches!(log.append(TableId(1), b"x"), Err(Error::Closed)));
    log.shutdown().unwrap();
}

#[test]
fn blank_and_foreign_files_are_tolerated() {
    let fs = SimFs::new();
    fs.create_dir_all(&dir()).unwrap();
    fs.write_all(&dir().join("README"), b"hello").unwrap();
    let blank = dir().join(format!("commitlog-{:020}.log", 7));
    fs.write_all(&blank, &[0; 100]).unwrap();
    let log = open(&fs, opts(SyncMode::Batch));
    assert_eq!(log.current_position().segment_id, 8);
    let (got, stats) = replay_all(&log).unwrap();
    assert!(got.is_empty() && stats.warnings.is_empty());
    assert!(
        !fs.exists(&blank),
        "an empty segment of the wrong size is deleted"
    );
    assert!(fs.exists(Path::new("/data/commitlog/README")));
}

mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Append { table: u128, len: usize, wait: bool },
        Sync,
        Flush { table: u128 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1u128..4, 0usize..300, any::<bool>())
                .prop_map(|(table, len, wait)| Op::Append { table, len, wait }),
            1 => Just(Op::Sync),
            1 => (1u128..4).prop_map(|table| Op::Flush { table }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn replay_after_crash_matches_the_durable_model(
            ops in proptest::collection::vec(op(), 1..120),
            group in any::<bool>(),
        ) {
            let fs = SimFs::new();
            let sync = if group { SyncMode::default() } else { SyncMode::Batch };
            let o = CommitLogOptions { max_recycled_segments: 1, ..opts(sync) };
            let log = open(&fs, o.clone());
            let mut appended: Vec<(ReplayPosition, Mutation)> = Vec::new();
            let mut durable = 0;
            let mut watermark: HashMap<u128, ReplayPosition> = HashMap::new();
            for (i, op) in ops.iter().enumerate() {
                match op {
                    Op::Append { table, len, wait } => {
                        let m = mutation(*table, i as u64, *len);
                        let pos = append(&log, &m);
                        appended.push((pos, m));
                        if *wait {
                            log.wait_durable(pos).unwrap();
                            durable = appended.len();
                        }
                    }
                    Op::Sync => {
                        log.sync().unwrap();
                        durable = appended.len();
                    }
                    Op::Flush { table } => {
                        let at = log.current_position();
                        log.discard_completed(TableId(*table), at).unwrap();
                        watermark.insert(*table, at);
                    }
                }
            }
            fs.crash();
            drop(log);
            let log = open(&fs, o);
            let (got, _) = replay_all(&log).unwrap();
            let needed = |(p, m): &&(ReplayPosition, Mutation)| {
                watermark.get(&m.table.0).is_none_or(|w| p >= w)
            };
            // Nothing invented: every replayed record was appended, in order.
            let by_pos: HashMap<_, _> = appended.iter().cloned().collect();
            for (p, m) in &got {
                prop_assert_eq!(by_pos.get(p), Some(m));
            }
            prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
            // Every needed durable record is there, and needed ones form a prefix.
            let got_needed: Vec<_> = got.iter().filter(needed).cloned().collect();
            let want: Vec<_> = appended.iter().filter(needed).cloned().collect();
            let durable_needed = appended[..durable].iter().filter(needed).count();
            prop_assert!(got_needed.len() >= durable_needed);
            prop_assert_eq!(&got_needed[..], &want[..got_needed.len()]);
        }
    }
}

#[test]
fn a_clean_shutdown_removes_spare_segments() {
    let fs = SimFs::new();
    let log = open(&fs, opts(SyncMode::Batch));
    let m = mutation(1, 1, 20);
    let pos = append(&log, &m);
    log.wait_durable(pos).unwrap();
    // The allocator keeps one empty segment ready beside the active one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while segment_files(&fs).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(segment_files(&fs).len(), 2, "active plus one ready");
    log.shutdown().unwrap();
    assert_eq!(
        segment_files(&fs).len(),
        1,
        "only the segment with records stays"
    );
    drop(log);
    let (got, _) = replay_all(&open(&fs, opts(SyncMode::Batch))).unwrap();
    assert_eq!(got, vec![(pos, m)]);
}
