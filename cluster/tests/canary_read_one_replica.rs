//! The `read-one-replica-at-quorum` canary: a QUORUM read asks only the
//! closest replica and answers with its data, stale or not.

mod canaries;

use canaries::{cluster, host, put};
use cluster::ConsistencyLevel as Cl;
use cluster::canary::{self, Canary};

#[tokio::test]
async fn a_quorum_read_answers_with_one_stale_replica() {
    canary::select(Canary::ReadOneReplicaAtQuorum).expect("no other canary in this test binary");
    let c = cluster();
    // The coordinator's replica missed the write the other two hold.
    c.apply_on(1, put("k", "new", 20)).await;
    c.apply_on(2, put("k", "new", 20)).await;
    let value = c.read("k", Cl::Quorum).await.expect("the read answers");
    assert_eq!(
        value, None,
        "the canary did not bite: a QUORUM read must see the write"
    );
    assert_eq!(c.peers.sent(host(1)) + c.peers.sent(host(2)), 0);
}
