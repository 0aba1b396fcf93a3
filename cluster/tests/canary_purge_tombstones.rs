//! The `purge-tombstones-at-once` canary on the read path: a replica's
//! answer drops tombstones as if gc grace were 0, so a deletion that one
//! replica missed is undone by reconciliation.

mod canaries;

use canaries::{TABLE, cluster, key, put};
use cluster::ConsistencyLevel as Cl;
use storage::canary::{self, Canary};
use storage::{DeletionTime, Mutation};

#[tokio::test]
async fn a_deleted_value_comes_back() {
    canary::select(Canary::PurgeTombstonesAtOnce).expect("no other canary in this test binary");
    let c = cluster();
    for i in 0..3 {
        c.apply_on(i, put("k", "v", 10)).await;
    }
    // The deletion reached the coordinator's replica only, a second before
    // the reads' now: far inside the table's ten days of gc grace.
    let mut delete = Mutation::new(TABLE, key("k"));
    delete.partition_deletion = Some(DeletionTime::new(20, canaries::NOW - 1));
    c.apply_on(0, delete).await;
    let value = c.read("k", Cl::All).await.expect("the read answers");
    assert_eq!(
        value,
        Some(b"v".to_vec()),
        "the canary did not bite: the deletion must win"
    );
}
