//! The `purge-tombstones-at-once` canary: compaction purges a tombstone as
//! soon as its deletion time has passed, as if gc grace were 0, although the
//! table keeps the default ten days.

use std::sync::Arc;

use storage::canary::{self, Canary};
use storage::sim::SimFs;
use storage::{
    Cell, ClusteringKey, ColumnFilter, ColumnId, DecoratedKey, DeletionTime, Engine, EngineOptions,
    KeyRange, ManualClock, Mutation, Row, ScanCommand, TableId, TableOptions, Token,
};

const TABLE: TableId = TableId(1);

/// Partitions a tombstone-mode scan reports.
fn partitions(engine: &Engine) -> usize {
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        now: 2_000,
        include_tombstones: true,
    };
    engine
        .scan(TABLE, &cmd)
        .expect("scan")
        .map(|item| item.expect("item"))
        .filter(|item| matches!(item, storage::ScanItem::Partition { .. }))
        .count()
}

#[test]
fn gc_grace_is_treated_as_zero() {
    canary::select(Canary::PurgeTombstonesAtOnce).expect("no other canary in this test binary");
    // Ten days of gc grace, and still purgeable from now on.
    assert_eq!(TableOptions::default().gc_before(2_000), 2_000);
}

#[test]
fn compaction_purges_a_fresh_tombstone() {
    canary::select(Canary::PurgeTombstonesAtOnce).expect("no other canary in this test binary");
    let clock = Arc::new(ManualClock::new(2_000));
    let engine = Engine::open(Arc::new(SimFs::new()), EngineOptions::new("/basalt", clock))
        .expect("engine opens");
    engine
        .create_table(TABLE, TableOptions::default())
        .expect("table created");
    let key = DecoratedKey::new(Token(7), b"k".to_vec());
    let write = Mutation::new(TABLE, key.clone()).with_row(
        Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(1), None, Cell::live(10, b"v".to_vec())),
    );
    engine.apply(&write).expect("write");
    engine.flush(TABLE).expect("flush");
    let mut delete = Mutation::new(TABLE, key);
    // Deleted a second before the clock's now: ten days of gc grace to go.
    delete.partition_deletion = Some(DeletionTime::new(20, 1_999));
    engine.apply(&delete).expect("delete");
    engine.flush(TABLE).expect("flush");
    assert_eq!(
        partitions(&engine),
        1,
        "the tombstone is there before compaction"
    );
    engine.compact(TABLE, true).expect("major compaction");
    assert_eq!(
        partitions(&engine),
        0,
        "the canary did not bite: the tombstone outlived compaction"
    );
}
