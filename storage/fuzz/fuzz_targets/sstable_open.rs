//! Any bytes as an SSTable file: open, scan and point reads return errors or
//! data, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Arc;
use storage::FileSystem;
use storage::PartitionSource;
use storage::cache::BlockCache;
use storage::sim::SimFs;
use storage::sstable::{SsTable, data_path};
use storage::{ClusteringRange, DecoratedKey, KeyRange, Token};

fuzz_target!(|data: &[u8]| {
    let fs = SimFs::new();
    let dir = Path::new("/t");
    if fs.create_dir_all(dir).is_err() || fs.write_all(&data_path(dir, 1), data).is_err() {
        return;
    }
    let Ok(sstable) = SsTable::open(Arc::new(fs), dir, 1, BlockCache::new(1 << 20)) else {
        return;
    };
    if let Ok(scan) = sstable.clone().scan(&KeyRange::ALL) {
        for item in scan.take(10_000) {
            if item.is_err() {
                break;
            }
        }
    }
    let key = DecoratedKey::new(Token(0), &b"k"[..]);
    if sstable.may_contain(&key)
        && let Ok(Some(stream)) =
            sstable
                .clone()
                .read_partition(&key, &[ClusteringRange::ALL], true)
    {
        stream.rows.take(10_000).for_each(drop);
    }
});
