//! Any bytes as a commit-log segment: replay returns records or an error
//! naming the file, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Arc;
use storage::FileSystem;
use storage::commitlog::{CommitLog, CommitLogOptions, SyncMode, segment_path};
use storage::sim::SimFs;

fuzz_target!(|data: &[u8]| {
    let fs = SimFs::new();
    let dir = Path::new("/log");
    if fs.create_dir_all(dir).is_err() || fs.write_all(&segment_path(dir, 1), data).is_err() {
        return;
    }
    let options = CommitLogOptions {
        segment_size_bytes: 64 << 10,
        sync: SyncMode::Batch,
        ..CommitLogOptions::new(dir)
    };
    let Ok(log) = CommitLog::open(Arc::new(fs), options) else {
        return;
    };
    let _ = log.replay(&mut |_, _| Ok(()));
    let _ = log.shutdown();
});
