use super::*;

fn setup() -> (SimFs, PathBuf) {
    let fs = SimFs::new();
    let dir = PathBuf::from("/db/log");
    fs.create_dir_all(&dir).unwrap();
    (fs, dir)
}

fn read(f: &Arc<dyn File>) -> Vec<u8> {
    let mut buf = vec![0; f.size().unwrap() as usize];
    f.read_exact_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn unsynced_bytes_are_lost_and_synced_ones_kept() {
    let (fs, dir) = setup();
    let p = dir.join("a");
    let f = fs.create(&p).unwrap();
    fs.sync_dir(&dir).unwrap();
    f.write_all_at(b"hello", 0).unwrap();
    f.sync_data().unwrap();
    f.write_all_at(b"HE", 0).unwrap();
    f.write_all_at(b" world", 5).unwrap();
    assert_eq!(read(&f), b"HEllo world");
    fs.crash();
    assert_eq!(fs.read_all(&p).unwrap(), b"hello");
    let g = fs.open(&p).unwrap();
    assert_eq!(read(&g), b"hello");
}

#[test]
fn handles_from_before_a_crash_fail() {
    let (fs, dir) = setup();
    let f = fs.create(&dir.join("a")).unwrap();
    fs.sync_dir(&dir).unwrap();
    fs.crash();
    assert!(f.write_all_at(b"x", 0).is_err());
    assert!(f.sync_data().is_err());
    assert!(f.size().is_err());
    assert!(f.read_exact_at(&mut [0; 0], 0).is_err());
    assert!(f.set_len(3).is_err());
    assert!(fs.open(&dir.join("a")).unwrap().size().is_ok());
}

#[test]
fn entries_need_a_directory_sync() {
    let (fs, dir) = setup();
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    fs.create(&a).unwrap().sync_data().unwrap();
    fs.crash();
    assert!(!fs.exists(&a), "creation was never made durable");

    fs.create(&a).unwrap().write_all_at(b"1", 0).unwrap();
    fs.open(&a).unwrap().sync_data().unwrap();
    fs.create(&c).unwrap();
    fs.sync_dir(&dir).unwrap();
    fs.rename(&a, &b).unwrap();
    fs.remove_file(&c).unwrap();
    assert!(fs.exists(&b) && !fs.exists(&a) && !fs.exists(&c));
    fs.crash();
    assert!(fs.exists(&a) && !fs.exists(&b) && fs.exists(&c), "undone");
    assert_eq!(fs.read_all(&a).unwrap(), b"1");

    fs.rename(&a, &b).unwrap();
    fs.sync_dir(&dir).unwrap();
    fs.crash();
    assert_eq!(fs.read_dir(&dir).unwrap(), vec![b.clone(), c.clone()]);
    assert_eq!(fs.read_all(&b).unwrap(), b"1");
}

#[test]
fn growth_and_truncation_follow_sync() {
    let (fs, dir) = setup();
    let p = dir.join("a");
    let f = fs.create(&p).unwrap();
    fs.sync_dir(&dir).unwrap();
    f.write_all_at(&[7; 10], 0).unwrap();
    f.sync_data().unwrap();
    f.set_len(4).unwrap();
    f.sync_data().unwrap();
    f.set_len(8).unwrap();
    assert_eq!(read(&f), [7, 7, 7, 7, 0, 0, 0, 0]);
    f.sync_data().unwrap();
    f.write_all_at(&[9], 1).unwrap();
    fs.crash();
    assert_eq!(fs.read_all(&p).unwrap(), [7, 7, 7, 7, 0, 0, 0, 0]);
}

#[test]
fn hard_links_share_contents_and_survive_removal() {
    let (fs, dir) = setup();
    let (a, b) = (dir.join("a"), dir.join("b"));
    let f = fs.create(&a).unwrap();
    f.write_all_at(b"data", 0).unwrap();
    f.sync_data().unwrap();
    fs.hard_link(&a, &b).unwrap();
    fs.remove_file(&a).unwrap();
    fs.sync_dir(&dir).unwrap();
    fs.crash();
    assert!(!fs.exists(&a));
    assert_eq!(fs.read_all(&b).unwrap(), b"data");
}

#[test]
fn counted_faults_fail_then_stop() {
    let (fs, dir) = setup();
    let f = fs.create(&dir.join("seg-1")).unwrap();
    let g = fs.create(&dir.join("other")).unwrap();
    fs.fail_sync_data("seg-", Some(2));
    f.write_all_at(b"x", 0).unwrap();
    assert!(f.sync_data().is_err());
    assert!(g.sync_data().is_ok(), "path does not match");
    assert!(f.sync_data().is_err());
    assert!(f.sync_data().is_ok());

    fs.fail_writes("other", None);
    for _ in 0..3 {
        assert!(g.write_all_at(b"y", 0).is_err());
    }
    assert_eq!(g.size().unwrap(), 0, "a failed write writes nothing");
    fs.clear_faults();
    g.write_all_at(b"y", 0).unwrap();

    fs.inject_fault(FaultKind::SyncDir, "/db", Some(1));
    assert!(fs.sync_dir(&dir).is_err());
    fs.sync_dir(&dir).unwrap();
}

#[test]
fn failed_sync_keeps_old_durable_bytes() {
    let (fs, dir) = setup();
    let p = dir.join("a");
    fs.write_all(&p, b"old").unwrap();
    let f = fs.open(&p).unwrap();
    f.write_all_at(b"new", 0).unwrap();
    fs.fail_sync_data("a", Some(1));
    assert!(f.sync_data().is_err());
    fs.crash();
    assert_eq!(fs.read_all(&p).unwrap(), b"old");
}

#[test]
fn helpers_act_on_durable_bytes_too() {
    let (fs, dir) = setup();
    let p = dir.join("a");
    fs.write_all(&p, &[1, 2, 3, 4]).unwrap();
    fs.corrupt(&p, 1, 0xff).unwrap();
    fs.truncate(&p, 3).unwrap();
    assert!(fs.corrupt(&p, 3, 1).is_err());
    fs.crash();
    assert_eq!(fs.read_all(&p).unwrap(), [1, 0xfd, 3]);
}

#[test]
fn directories_list_and_remove() {
    let (fs, dir) = setup();
    fs.create_dir_all(&dir.join("sub/deeper")).unwrap();
    fs.create(&dir.join("f")).unwrap();
    assert!(fs.create(Path::new("/nope/f")).is_err());
    assert_eq!(
        fs.read_dir(&dir).unwrap(),
        vec![dir.join("f"), dir.join("sub")]
    );
    fs.remove_dir_all(&dir.join("sub")).unwrap();
    assert!(!fs.exists(&dir.join("sub/deeper")));
    assert!(fs.exists(Path::new("/db/log/")));
    assert!(fs.open(&dir.join("missing")).is_err());
}

#[test]
fn halt_freezes_the_disk_for_every_clone_until_restart() {
    let (fs, dir) = setup();
    let (a, b) = (dir.join("a"), dir.join("b"));
    let f = fs.create(&a).unwrap();
    f.write_all_at(b"kept", 0).unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(&dir).unwrap();
    f.write_all_at(b"lost", 4).unwrap();
    let old_engine = fs.clone();
    fs.halt();
    assert!(fs.is_halted());
    // The dead engine's threads can change nothing, by path or by handle.
    assert!(old_engine.create(&b).is_err());
    assert!(old_engine.open(&a).is_err());
    assert!(old_engine.rename(&a, &b).is_err());
    assert!(old_engine.remove_file(&a).is_err());
    assert!(old_engine.hard_link(&a, &b).is_err());
    assert!(old_engine.create_dir_all(&dir.join("sub")).is_err());
    assert!(old_engine.remove_dir_all(&dir).is_err());
    assert!(old_engine.read_dir(&dir).is_err());
    assert!(old_engine.sync_dir(&dir).is_err());
    assert!(!old_engine.exists(&a));
    assert!(f.write_all_at(b"x", 0).is_err());
    assert!(f.sync_data().is_err());
    assert!(f.size().is_err());
    // The test can still look at the disk: it holds the durable bytes only.
    assert_eq!(fs.read_all(&a).unwrap(), b"kept");

    fs.restart();
    assert!(!fs.is_halted());
    assert_eq!(fs.read_dir(&dir).unwrap(), vec![a.clone()]);
    assert_eq!(read(&fs.open(&a).unwrap()), b"kept");
    assert!(f.size().is_err(), "handles from before the halt stay dead");
    fs.create(&b).unwrap();
    fs.sync_dir(&dir).unwrap();
    assert!(fs.exists(&b));
}

#[test]
fn an_fsync_in_flight_at_a_halt_makes_nothing_durable() {
    let (fs, dir) = setup();
    let p = dir.join("a");
    fs.write_all(&p, b"old").unwrap();
    let f = fs.open(&p).unwrap();
    f.write_all_at(b"new", 0).unwrap();
    fs.set_sync_latency(std::time::Duration::from_millis(50));
    let syncer = std::thread::spawn(move || f.sync_data());
    std::thread::sleep(std::time::Duration::from_millis(10));
    fs.halt();
    assert!(
        syncer.join().unwrap().is_err(),
        "the fsync did not complete"
    );
    fs.restart();
    assert_eq!(fs.read_all(&p).unwrap(), b"old");
}

#[test]
fn halt_on_cuts_power_at_the_chosen_call() {
    let (fs, dir) = setup();
    let (a, b) = (dir.join("a"), dir.join("b"));
    fs.halt_on(FaultKind::SyncDir, "/db/log", 1);
    let f = fs.create(&a).unwrap();
    f.write_all_at(b"a", 0).unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(&dir).unwrap();
    let g = fs.create(&b).unwrap();
    g.sync_data().unwrap();
    let err = fs.sync_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("power cut"), "{err}");
    assert!(fs.is_halted());
    assert!(fs.create(&dir.join("c")).is_err());
    fs.restart();
    assert_eq!(
        fs.read_dir(&dir).unwrap(),
        vec![a.clone()],
        "b's entry was never durable"
    );
    assert_eq!(fs.read_all(&a).unwrap(), b"a");
    fs.sync_dir(&dir).unwrap();
    assert!(!fs.is_halted(), "the cut is armed once");
}

#[test]
fn a_torn_power_cut_keeps_a_prefix_of_the_unsynced_bytes() {
    let mut kept_lengths = std::collections::BTreeSet::new();
    for seed in 0..32 {
        let (fs, dir) = setup();
        let p = dir.join("a");
        let f = fs.create(&p).unwrap();
        fs.sync_dir(&dir).unwrap();
        f.write_all_at(b"durable|", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b"unsynced tail", 8).unwrap();
        fs.halt_torn(seed);
        fs.restart();
        let after = fs.read_all(&p).unwrap();
        let whole = b"durable|unsynced tail";
        assert!(after.len() >= 8, "synced bytes are kept: {after:?}");
        assert_eq!(after[..], whole[..after.len()], "a prefix, seed {seed}");
        kept_lengths.insert(after.len());
        // The same seed tears the same way.
        let (again, dir) = setup();
        let g = again.create(&dir.join("a")).unwrap();
        again.sync_dir(&dir).unwrap();
        g.write_all_at(b"durable|", 0).unwrap();
        g.sync_data().unwrap();
        g.write_all_at(b"unsynced tail", 8).unwrap();
        again.halt_torn(seed);
        assert_eq!(again.read_all(&dir.join("a")).unwrap(), after);
    }
    assert!(
        kept_lengths.len() > 3,
        "seeds tear at different points: {kept_lengths:?}"
    );
}
