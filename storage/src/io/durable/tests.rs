use super::*;
use crate::io::sim::{FaultKind, SimFs, replace_crash_points};
use proptest::prelude::*;

fn setup() -> (SimFs, PathBuf) {
    let fs = SimFs::new();
    let dir = PathBuf::from("/data/d");
    fs.create_dir_all(&dir).unwrap();
    (fs, dir.join("file"))
}

const FORMAT: FramedFormat = FramedFormat {
    magic: *b"TEST",
    version: 2,
    max_record: 1 << 20,
    headerless_v0: false,
};

fn records(r: FramedReader) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut good = Vec::new();
    for item in r {
        match item {
            Ok(rec) => good.push(rec.payload),
            Err(e) => return (good, Some(e)),
        }
    }
    (good, None)
}

#[test]
fn replace_round_trips_and_leaves_no_temp() {
    let (fs, path) = setup();
    assert_eq!(read_whole(&fs, &path, 100).unwrap(), None);
    replace_atomically(&fs, &path, b"one").unwrap();
    replace_atomically(&fs, &path, b"two!").unwrap();
    assert_eq!(read_whole(&fs, &path, 100).unwrap().unwrap(), b"two!");
    assert!(!fs.exists(&temp_path(&path)));
    assert_eq!(temp_path(&path), PathBuf::from("/data/d/file.tmp"));
    fs.crash();
    assert_eq!(read_whole(&fs, &path, 100).unwrap().unwrap(), b"two!");
    let err = read_whole(&fs, &path, 3).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn a_crash_at_every_step_of_a_replace_leaves_old_or_new() {
    let mut outcomes = Vec::new();
    let (_, path) = setup();
    for (kind, at) in replace_crash_points(&path) {
        let (fs, path) = setup();
        replace_atomically(&fs, &path, b"old contents").unwrap();
        fs.halt_on(kind, &at, 0);
        let stored = replace_atomically(&fs, &path, b"new");
        assert!(stored.is_err(), "{kind:?} never happened");
        fs.restart();
        let now = read_whole(&fs, &path, 100).unwrap().unwrap();
        assert!(now == b"old contents" || now == b"new", "{kind:?}: {now:?}");
        outcomes.push(now);
        // The stale temporary file goes, and the next replace succeeds.
        remove_stale_temp(&fs, &path).unwrap();
        assert!(!fs.exists(&temp_path(&path)));
        replace_atomically(&fs, &path, b"again").unwrap();
        fs.crash();
        assert_eq!(read_whole(&fs, &path, 100).unwrap().unwrap(), b"again");
    }
    // Up to the rename the old contents stay; the rename is what publishes.
    assert_eq!(outcomes[..3], vec![b"old contents".to_vec(); 3]);
}

#[test]
fn a_stale_temp_is_removed_once() {
    let (fs, path) = setup();
    fs.write_all(&temp_path(&path), b"half").unwrap();
    assert!(remove_stale_temp(&fs, &path).unwrap());
    assert!(!remove_stale_temp(&fs, &path).unwrap());
}

#[test]
fn framed_records_round_trip_with_their_version() {
    let (fs, path) = setup();
    let mut w = FramedWriter::create(&fs, &path, &FORMAT).unwrap();
    assert!(w.is_empty());
    for i in 0..100u32 {
        w.append(&vec![i as u8; i as usize]).unwrap();
    }
    w.sync().unwrap();
    assert_eq!(w.len(), fs.read_all(&path).unwrap().len() as u64);
    let r = FramedReader::open(&fs, &path, &FORMAT).unwrap();
    assert_eq!(r.version(), 2);
    let (got, err) = records(r);
    assert_eq!(err, None);
    assert_eq!(got.len(), 100);
    assert_eq!(got[7], vec![7u8; 7]);
    assert!(FramedWriter::create(&fs, &path, &FORMAT).is_err(), "exists");
}

#[test]
fn synced_records_survive_a_crash_and_unsynced_ones_vanish_whole() {
    let (fs, path) = setup();
    let mut w = FramedWriter::create(&fs, &path, &FORMAT).unwrap();
    w.append(b"synced-1").unwrap();
    w.append(b"synced-2").unwrap();
    w.sync().unwrap();
    // Past the write chunk, so part of the unsynced tail reached the file.
    for _ in 0..3 {
        w.append(&[9; 40 << 10]).unwrap();
    }
    fs.crash();
    let (got, err) = records(FramedReader::open(&fs, &path, &FORMAT).unwrap());
    assert_eq!(got, vec![b"synced-1".to_vec(), b"synced-2".to_vec()]);
    assert_eq!(err, None);
    assert!(w.sync().is_err(), "a handle from before the crash");
}

#[test]
fn a_crash_before_the_header_is_durable_loses_only_an_empty_file() {
    for kind in [FaultKind::SyncData, FaultKind::SyncDir] {
        let (fs, path) = setup();
        fs.halt_on(kind, "/data/d", 0);
        assert!(FramedWriter::create(&fs, &path, &FORMAT).is_err());
        fs.restart();
        // The file is gone, or it holds a header and no record.
        if fs.exists(&path) {
            let (got, err) = records(FramedReader::open(&fs, &path, &FORMAT).unwrap());
            assert!(got.is_empty() && err.is_none(), "{kind:?}: {err:?}");
        }
    }
}

#[test]
fn a_failed_sync_poisons_the_writer() {
    let (fs, path) = setup();
    let mut w = FramedWriter::create(&fs, &path, &FORMAT).unwrap();
    w.append(b"x").unwrap();
    fs.fail_sync_data("file", Some(1));
    assert!(w.sync().is_err());
    assert!(w.sync().is_err(), "a retry must not report success");
    assert!(w.append(b"y").is_err());
}

fn three_records() -> (Vec<u8>, Vec<usize>) {
    let mut bytes = FORMAT.header().to_vec();
    let mut starts = Vec::new();
    for p in [&b"first"[..], b"second", b"third"] {
        starts.push(bytes.len());
        encode_frame(p, &mut bytes);
    }
    (bytes, starts)
}

#[test]
fn every_torn_tail_keeps_the_prefix_and_is_torn() {
    let (bytes, starts) = three_records();
    for cut in FILE_HEADER_LEN..bytes.len() {
        let r = FramedReader::from_bytes(Path::new("t"), bytes[..cut].to_vec(), &FORMAT);
        let (got, err) = records(r);
        // Records whose frame ends by the cut are whole.
        let whole = starts.iter().skip(1).filter(|s| **s <= cut).count();
        assert_eq!(got.len(), whole, "cut {cut}");
        if starts.contains(&cut) {
            assert_eq!(err, None, "cut {cut} is between records");
        } else {
            let e = err.unwrap();
            assert_eq!(e.kind, FrameErrorKind::Torn, "cut {cut}: {e}");
            assert_eq!(e.offset as usize, starts[whole]);
        }
    }
}

#[test]
fn corruption_followed_by_valid_records_names_file_and_offset() {
    let (mut bytes, starts) = three_records();
    bytes[starts[1] + 9] ^= 0x20;
    let r = FramedReader::from_bytes(Path::new("/x/f"), bytes, &FORMAT);
    let (got, err) = records(r);
    assert_eq!(got, vec![b"first".to_vec()]);
    let err = err.unwrap();
    assert_eq!(err.kind, FrameErrorKind::Corrupt);
    assert_eq!(err.offset, starts[1] as u64);
    assert_eq!(err.path, PathBuf::from("/x/f"));
    assert!(err.to_string().contains("/x/f at offset"), "{err}");
    assert!(err.reason.contains("checksum"), "{err}");
}

#[test]
fn a_damaged_last_record_is_a_torn_tail() {
    let (mut bytes, starts) = three_records();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let (got, err) = records(FramedReader::from_bytes(Path::new("f"), bytes, &FORMAT));
    assert_eq!(got.len(), 2);
    let err = err.unwrap();
    assert_eq!(
        (err.kind, err.offset),
        (FrameErrorKind::Torn, starts[2] as u64)
    );
}

#[test]
fn bad_headers_are_corrupt_and_short_ones_torn() {
    let (bytes, _) = three_records();
    let read =
        |b: Vec<u8>, f: &FramedFormat| records(FramedReader::from_bytes(Path::new("h"), b, f));
    for at in 0..FILE_HEADER_LEN {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let (got, err) = read(bad, &FORMAT);
        assert!(got.is_empty());
        assert_eq!(err.unwrap().kind, FrameErrorKind::Corrupt, "byte {at}");
    }
    for cut in 0..FILE_HEADER_LEN {
        let (got, err) = read(bytes[..cut].to_vec(), &FORMAT);
        assert!(got.is_empty());
        assert_eq!(err.unwrap().kind, FrameErrorKind::Torn, "cut {cut}");
    }
    let newer = FramedFormat {
        version: 1,
        ..FORMAT
    };
    let (_, err) = read(bytes, &newer);
    assert!(err.unwrap().reason.contains("unknown version 2"));
}

#[test]
fn headerless_files_read_as_version_zero() {
    let legacy = FramedFormat {
        headerless_v0: true,
        ..FORMAT
    };
    let mut bytes = Vec::new();
    encode_frame(b"old", &mut bytes);
    let r = FramedReader::from_bytes(Path::new("v0"), bytes, &legacy);
    assert_eq!(r.version(), 0);
    assert_eq!(records(r), (vec![b"old".to_vec()], None));
    let (bytes, _) = three_records();
    let r = FramedReader::from_bytes(Path::new("v2"), bytes, &legacy);
    assert_eq!(r.version(), 2);
    assert_eq!(records(r).0.len(), 3);
    assert_eq!(
        records(FramedReader::from_bytes(
            Path::new("e"),
            Vec::new(),
            &legacy
        )),
        (vec![], None)
    );
}

proptest! {
    #[test]
    fn damaged_files_never_panic_or_misread(cut in 0usize..80, flip in 0usize..80, mask in 1u8..) {
        let (mut bytes, _) = three_records();
        let len = bytes.len();
        if flip < len { bytes[flip] ^= mask; }
        bytes.truncate(cut.min(len));
        let expected = [&b"first"[..], b"second", b"third"];
        let (got, _) = records(FramedReader::from_bytes(Path::new("p"), bytes, &FORMAT));
        for (g, e) in got.iter().zip(expected) {
            prop_assert_eq!(&g[..], e);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), v0: bool) {
        let f = FramedFormat { headerless_v0: v0, ..FORMAT };
        let n = FramedReader::from_bytes(Path::new("r"), bytes, &f).count();
        prop_assert!(n <= 33);
    }
}
