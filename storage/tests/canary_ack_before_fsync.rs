//! The `ack-before-fsync` canary: with it, a write returns before its
//! commit-log record is durable, so a power cut right after loses it; the
//! same scenario without the canary is the durability the tests of
//! `crash_simfs.rs` promise.

use std::sync::Arc;

use storage::canary::{self, Canary};
use storage::sim::SimFs;
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnFilter, ColumnId, DecoratedKey, Engine,
    EngineOptions, ManualClock, Mutation, PartitionRead, Row, SyncMode, TableId, TableOptions,
    Token,
};

const TABLE: TableId = TableId(1);

fn options() -> EngineOptions {
    let mut o = EngineOptions::new("/basalt", Arc::new(ManualClock::new(1_000)));
    // Batch mode: without the canary every write waits for its fsync.
    o.commitlog.sync = SyncMode::Batch;
    o.commitlog.segment_size_bytes = 256 << 10;
    o
}

fn key() -> DecoratedKey {
    DecoratedKey::new(Token(42), b"k".to_vec())
}

fn holds_the_write(engine: &Engine) -> bool {
    let read = PartitionRead {
        key: key(),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: 1_000,
        include_tombstones: false,
    };
    let mut rows = engine.read(TABLE, &read).expect("the read starts");
    rows.next().is_some()
}

#[test]
fn an_acknowledged_write_is_lost_in_a_power_cut() {
    canary::select(Canary::AckBeforeFsync).expect("no other canary in this test binary");
    let fs = SimFs::new();
    let engine = Engine::open(Arc::new(fs.clone()), options()).expect("engine opens");
    engine
        .create_table(TABLE, TableOptions::default())
        .expect("table created");
    let write = Mutation::new(TABLE, key()).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(1, b"v".to_vec()),
    ));
    engine.apply(&write).expect("the write is acknowledged");
    assert!(holds_the_write(&engine));
    // The power fails right after the acknowledgement.
    fs.halt();
    drop(engine);
    fs.restart();
    let engine = Engine::open(Arc::new(fs.clone()), options()).expect("engine reopens");
    assert!(
        !holds_the_write(&engine),
        "the canary did not bite: the acknowledged write survived the power cut"
    );
}
