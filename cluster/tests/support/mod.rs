//! What the in-process cluster tests share.

use std::sync::Arc;

use storage::ManualClock;
use storage::SyncMode;
use storage::TableOptions;
use storage::sim::SimFs;
use storage::{Engine, EngineOptions, TableId};

/// An engine on a simulated file system with `table` created: fsync per
/// write, small segments and caches, so opening one per node stays cheap.
pub(crate) fn engine(table: TableId) -> Arc<Engine> {
    let mut options = EngineOptions::new("/basalt", Arc::new(ManualClock::new(1_000)));
    options.commitlog.sync = SyncMode::Batch;
    options.commitlog.segment_size_bytes = 256 << 10;
    options.memtable_budget_bytes = 4 << 20;
    options.block_cache_bytes = 1 << 20;
    let engine = Engine::open(Arc::new(SimFs::new()), options).expect("engine opens");
    engine
        .create_table(table, TableOptions::default())
        .expect("table created");
    Arc::new(engine)
}
