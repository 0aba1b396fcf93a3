//! The `skip-dir-fsync` canary: the real file system's directory fsync does
//! nothing, so new files' names are not made durable. A directory that does
//! not exist shows it: the fsync must open it, and fails without the canary.

use storage::canary::{self, Canary};
use storage::{FileSystem, StdFs};

#[test]
fn directory_fsyncs_do_not_reach_the_disk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("never-created");
    assert!(
        StdFs.sync_dir(&missing).is_err(),
        "without the canary, a directory fsync opens the directory"
    );
    canary::select(Canary::SkipDirFsync).expect("no other canary in this test binary");
    StdFs
        .sync_dir(&missing)
        .expect("with the canary, the fsync is skipped and cannot fail");
}
