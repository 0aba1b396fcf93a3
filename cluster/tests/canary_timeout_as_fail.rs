//! The `timeout-as-fail` canary: a write that timed out, and may well have
//! been applied, is reported as Unavailable, which says it was not.

mod canaries;

use canaries::{cluster, host, put};
use cluster::canary::{self, Canary};
use cluster::{ConsistencyLevel as Cl, CoordinatorError, Unavailable};

#[tokio::test]
async fn a_timed_out_write_is_reported_unavailable() {
    canary::select(Canary::TimeoutAsFail).expect("no other canary in this test binary");
    let c = cluster();
    c.peers.set_silent(host(1), true);
    c.peers.set_silent(host(2), true);
    let err = c
        .write(put("k", "v", 10), Cl::Quorum)
        .await
        .expect_err("two of three replicas never answer");
    assert_eq!(
        err,
        CoordinatorError::Unavailable(Unavailable {
            cl: Cl::Quorum,
            required: 2,
            alive: 1,
            dc: None,
        }),
        "the canary did not bite"
    );
    // The lie: the coordinator's own replica applied it.
    assert_eq!(c.local_value(0, "k"), Some(b"v".to_vec()));
}
