//! The `skip-dir-fsync` canary: directory fsyncs do nothing, so new files'
//! names are not made durable. On the simulated disk a crash then loses a
//! fully fsynced file; on the real one the fsync no longer even opens the
//! directory.

use std::path::Path;

use storage::canary::{self, Canary};
use storage::sim::SimFs;
use storage::{FileSystem, StdFs};

#[test]
fn a_synced_file_vanishes_in_a_crash() {
    canary::select(Canary::SkipDirFsync).expect("no other canary in this test binary");
    let fs = SimFs::new();
    let dir = Path::new("/d");
    fs.create_dir_all(dir).expect("mkdir");
    fs.sync_dir(Path::new("/")).expect("root synced");
    let file = fs.create(&dir.join("f")).expect("create");
    file.write_all_at(b"data", 0).expect("write");
    file.sync_data().expect("fsync");
    fs.sync_dir(dir)
        .expect("the directory fsync reports success");
    fs.crash();
    assert!(
        !fs.exists(&dir.join("f")),
        "the canary did not bite: the file's name survived the crash"
    );
}

#[test]
fn the_real_fsync_does_not_open_the_directory() {
    canary::select(Canary::SkipDirFsync).expect("no other canary in this test binary");
    let dir = tempfile::tempdir().expect("temporary directory");
    // Without the canary this fails: the directory does not exist.
    StdFs
        .sync_dir(&dir.path().join("never-created"))
        .expect("the fsync is skipped and cannot fail");
}
