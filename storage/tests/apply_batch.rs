//! `Engine::apply_batch`: several mutations, one durability wait, a result each.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use std::sync::Arc;

use storage::ManualClock;
use storage::SyncMode;
use storage::sim::SimFs;
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Engine, EngineOptions, Mutation,
    Row, TableId, Token,
};
use storage::{ColumnFilter, PartitionRead};

const NOW: i64 = 1_700_000_000;
const TABLE: TableId = TableId(7);

fn open(fs: &Arc<SimFs>) -> Engine {
    let mut options = EngineOptions::new("/data", Arc::new(ManualClock::new(NOW)));
    options.commitlog.sync = SyncMode::Group { window_us: 0 };
    Engine::open(fs.clone(), options).unwrap()
}

fn mutation(table: TableId, i: i64) -> Mutation {
    let key = DecoratedKey::new(Token(i), i.to_be_bytes().to_vec());
    let row = Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(0), None, Cell::live(i, vec![1]));
    Mutation::new(table, key).with_row(row)
}

fn present(engine: &Engine, i: i64) -> bool {
    let read = PartitionRead {
        key: DecoratedKey::new(Token(i), i.to_be_bytes().to_vec()),
        slices: vec![ClusteringRange::ALL],
        columns: ColumnFilter::All,
        reversed: false,
        row_limit: None,
        now: NOW,
        include_tombstones: false,
    };
    engine.read(TABLE, &read).unwrap().count() == 1
}

#[test]
fn each_mutation_gets_its_own_result_and_good_ones_apply_durably() {
    let fs = Arc::new(SimFs::new());
    let engine = open(&fs);
    engine.create_table(TABLE, Default::default()).unwrap();
    let batch = [
        mutation(TABLE, 1),
        mutation(TableId(99), 2),
        mutation(TABLE, 3),
    ];
    let results = engine.apply_batch(&batch);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(
        results[1].is_err(),
        "an unknown table fails only its own mutation"
    );
    assert!(present(&engine, 1) && present(&engine, 3));

    // Acknowledged means durable: a power cut keeps both.
    fs.halt();
    fs.restart();
    let engine = open(&fs);
    assert!(present(&engine, 1) && present(&engine, 3));
}

#[test]
fn a_failed_fsync_fails_every_mutation_of_the_batch() {
    let fs = Arc::new(SimFs::new());
    let engine = open(&fs);
    engine.create_table(TABLE, Default::default()).unwrap();
    fs.fail_sync_data("commitlog", Some(1));
    let results = engine.apply_batch(&[mutation(TABLE, 1), mutation(TABLE, 2)]);
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(!present(&engine, 1) && !present(&engine, 2));
}
