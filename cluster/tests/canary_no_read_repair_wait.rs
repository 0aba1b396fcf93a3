//! The `no-read-repair-wait` canary: a read answers without waiting for its
//! blocking read repair, so it reports a value no QUORUM of replicas holds
//! yet. Here the repair can never succeed (the stale replicas' disks refuse
//! writes), which the correct coordinator reports as a read timeout.

mod canaries;

use canaries::{cluster, put};
use cluster::ConsistencyLevel as Cl;
use cluster::canary::{self, Canary};

#[tokio::test]
async fn a_read_answers_although_its_repair_failed() {
    canary::select(Canary::NoReadRepairWait).expect("no other canary in this test binary");
    let c = cluster();
    c.apply_on(0, put("k", "new", 20)).await;
    // Nodes 1 and 2 missed it, and can no longer write: reads still work.
    for i in [1, 2] {
        c.disks[i].fail_sync_data("", None);
    }
    let value = c
        .read("k", Cl::Quorum)
        .await
        .expect("the canary did not bite: the read waited for its failed repair");
    assert_eq!(value, Some(b"new".to_vec()));
    assert_eq!(c.coordinator.read_repairs(), 1, "a repair was sent");
    assert_eq!(c.local_value(1, "k"), None);
    assert_eq!(c.local_value(2, "k"), None);
}
