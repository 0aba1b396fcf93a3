//! Counting answers toward a consistency level.
//!
//! LOCAL_* levels count only answers from the coordinator's data center;
//! EACH_QUORUM (under NetworkTopologyStrategy) needs a quorum in every data
//! center that holds replicas; the rest count answers from anywhere. A hint
//! counts only for ANY.

use crate::consistency::{ConsistencyLevel, block_for, each_quorum};
use crate::replication::ReplicationInfo;

/// What one counting bucket needs and has.
#[derive(Debug)]
struct Bucket {
    /// The data center it counts (EACH_QUORUM), or `None` for the single
    /// bucket of every other level.
    dc: Option<String>,
    need: usize,
    got: usize,
    /// Requests sent and not answered yet.
    pending: usize,
}

/// The answers a request still needs, per counting bucket.
///
/// Checked after every answer on the write path, so it is a few integers:
/// data center names are compared only for LOCAL_* levels (once per answer)
/// and EACH_QUORUM.
#[derive(Debug)]
pub(crate) struct AckTracker {
    cl: ConsistencyLevel,
    /// The coordinator's data center, kept for LOCAL_* levels only.
    local_dc: Option<String>,
    buckets: Vec<Bucket>,
    block_for: usize,
    failures: usize,
}

/// Whether a durable hint counts as an acknowledgement at `cl`: only at
/// ANY (the fault-injection canary lies and counts it at every level).
pub(crate) fn hints_count(cl: ConsistencyLevel) -> bool {
    #[cfg(feature = "fault-injection")]
    if crate::canary::active(crate::canary::Canary::HintsCountTowardCl) {
        return true;
    }
    cl == ConsistencyLevel::Any
}

impl AckTracker {
    pub(crate) fn new(cl: ConsistencyLevel, info: &ReplicationInfo, local_dc: &str) -> Self {
        let per_dc =
            cl == ConsistencyLevel::EachQuorum && matches!(info, ReplicationInfo::PerDc(_));
        let bucket = |dc, need| Bucket {
            dc,
            need,
            got: 0,
            pending: 0,
        };
        let buckets: Vec<Bucket> = if per_dc {
            each_quorum(info)
                .into_iter()
                .map(|(dc, need)| bucket(Some(dc), need))
                .collect()
        } else {
            vec![bucket(None, block_for(cl, info, local_dc))]
        };
        AckTracker {
            cl,
            local_dc: (cl.is_dc_local() && !per_dc).then(|| local_dc.to_owned()),
            block_for: buckets.iter().map(|b| b.need).sum(),
            buckets,
            failures: 0,
        }
    }

    /// The bucket an answer from `dc` counts in, if it counts at all.
    fn bucket(&mut self, dc: &str) -> Option<&mut Bucket> {
        if self.local_dc.as_deref().is_some_and(|local| local != dc) {
            return None;
        }
        self.buckets
            .iter_mut()
            .find(|b| b.dc.as_deref().is_none_or(|d| d == dc))
    }

    /// A request went to a replica in `dc`.
    pub(crate) fn expect(&mut self, dc: &str) {
        if let Some(b) = self.bucket(dc) {
            b.pending += 1;
        }
    }

    fn settle(&mut self, dc: &str) -> Option<&mut Bucket> {
        let b = self.bucket(dc)?;
        b.pending = b.pending.saturating_sub(1);
        Some(b)
    }

    /// A replica in `dc` acknowledged.
    pub(crate) fn ack(&mut self, dc: &str) {
        if let Some(b) = self.settle(dc) {
            b.got += 1;
        }
    }

    /// A replica in `dc` failed or will not answer.
    pub(crate) fn fail(&mut self, dc: &str) {
        self.failures += 1;
        self.settle(dc);
    }

    /// The single bucket of ANY, the only level hints count for.
    fn any_bucket(&mut self) -> Option<&mut Bucket> {
        if !hints_count(self.cl) {
            return None;
        }
        self.buckets.first_mut()
    }

    /// A hint is being stored durably: an answer to wait for at ANY.
    pub(crate) fn expect_hint(&mut self) {
        if let Some(b) = self.any_bucket() {
            b.pending += 1;
        }
    }

    /// An expected hint is durable: an acknowledgement for ANY.
    pub(crate) fn hint_stored(&mut self) {
        if let Some(b) = self.any_bucket() {
            b.pending = b.pending.saturating_sub(1);
            b.got += 1;
        }
    }

    /// An expected hint could not be stored.
    pub(crate) fn hint_failed(&mut self) {
        self.failures += 1;
        if let Some(b) = self.any_bucket() {
            b.pending = b.pending.saturating_sub(1);
        }
    }

    /// Whether every bucket has what it needs.
    pub(crate) fn satisfied(&self) -> bool {
        self.buckets.iter().all(|b| b.got >= b.need)
    }

    /// Whether some bucket can no longer get what it needs.
    pub(crate) fn hopeless(&self) -> bool {
        self.buckets.iter().any(|b| b.got + b.pending < b.need)
    }

    /// Answers that counted (capped per bucket at what it needs).
    pub(crate) fn received(&self) -> usize {
        self.buckets.iter().map(|b| b.got.min(b.need)).sum()
    }

    /// The level counted for.
    pub(crate) fn consistency(&self) -> ConsistencyLevel {
        self.cl
    }

    pub(crate) fn block_for(&self) -> usize {
        self.block_for
    }

    pub(crate) fn failures(&self) -> usize {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn nts() -> ReplicationInfo {
        ReplicationInfo::PerDc(BTreeMap::from([("dc1".into(), 3), ("dc2".into(), 3)]))
    }

    #[test]
    fn local_quorum_counts_only_the_local_dc() {
        let mut t = AckTracker::new(ConsistencyLevel::LocalQuorum, &nts(), "dc1");
        for dc in ["dc1", "dc1", "dc1", "dc2", "dc2", "dc2"] {
            t.expect(dc);
        }
        t.ack("dc2");
        t.ack("dc2");
        t.ack("dc1");
        assert!(!t.satisfied());
        assert_eq!(t.received(), 1);
        t.ack("dc1");
        assert!(t.satisfied());
        assert_eq!((t.received(), t.block_for()), (2, 2));
    }

    #[test]
    fn each_quorum_needs_every_dc() {
        let mut t = AckTracker::new(ConsistencyLevel::EachQuorum, &nts(), "dc1");
        for dc in ["dc1", "dc1", "dc1", "dc2", "dc2", "dc2"] {
            t.expect(dc);
        }
        t.ack("dc1");
        t.ack("dc1");
        t.ack("dc1");
        t.ack("dc2");
        assert!(!t.satisfied());
        assert_eq!((t.received(), t.block_for()), (3, 4));
        t.fail("dc2");
        t.fail("dc2");
        assert!(t.hopeless());
    }

    #[test]
    fn hints_count_only_for_any_and_only_once_durable() {
        let simple = ReplicationInfo::Simple { rf: 3 };
        let mut any = AckTracker::new(ConsistencyLevel::Any, &simple, "dc1");
        any.expect_hint();
        any.expect_hint();
        assert!(!any.satisfied() && !any.hopeless());
        any.hint_failed();
        assert!(!any.satisfied() && !any.hopeless());
        any.hint_stored();
        assert!(any.satisfied());
        let mut one = AckTracker::new(ConsistencyLevel::One, &simple, "dc1");
        one.expect_hint();
        one.hint_stored();
        assert!(!one.satisfied() && one.hopeless());
    }

    #[test]
    fn any_with_every_hint_failed_is_hopeless() {
        let simple = ReplicationInfo::Simple { rf: 3 };
        let mut any = AckTracker::new(ConsistencyLevel::Any, &simple, "dc1");
        any.expect_hint();
        any.hint_failed();
        assert!(any.hopeless());
        assert_eq!((any.received(), any.failures()), (0, 1));
    }
}
