//! The `hints-count-toward-cl` canary: a hint stored for a down replica is
//! counted as its acknowledgement, so a QUORUM write is reported done with
//! one replica holding it.

mod canaries;

use canaries::{cluster, host, put};
use cluster::ConsistencyLevel as Cl;
use cluster::canary::{self, Canary};

#[tokio::test]
async fn a_hint_and_one_ack_make_a_quorum() {
    canary::select(Canary::HintsCountTowardCl).expect("no other canary in this test binary");
    let c = cluster();
    // Node 2 is down and gets a hint; node 1 applies but never answers. Only
    // the coordinator's own replica acknowledges: one of the two QUORUM needs.
    c.set_down(2);
    c.peers.set_silent(host(1), true);
    c.write(put("k", "v", 10), Cl::Quorum)
        .await
        .expect("the canary did not bite: the write timed out as it should");
    assert_eq!(c.hints.hints().len(), 1, "node 2 was hinted");
}
