//! Counting answers toward a consistency level.
//!
//! LOCAL_* levels count only answers from the coordinator's data center;
//! EACH_QUORUM (under NetworkTopologyStrategy) needs a quorum in every data
//! center that holds replicas; the rest count answers from anywhere. A hint
//! counts only for ANY.

use std::collections::BTreeMap;

use crate::consistency::{ConsistencyLevel, block_for, each_quorum};
use crate::replication::ReplicationInfo;

/// The answers a request still needs, per counting bucket.
#[derive(Debug)]
pub(crate) struct AckTracker {
    cl: ConsistencyLevel,
    local_dc: String,
    per_dc: bool,
    block_for: usize,
    /// Per bucket (a DC for EACH_QUORUM, else the one bucket ""): needed,
    /// received, and still outstanding.
    need: BTreeMap<String, usize>,
    got: BTreeMap<String, usize>,
    pending: BTreeMap<String, usize>,
    failures: usize,
}

impl AckTracker {
    pub(crate) fn new(cl: ConsistencyLevel, info: &ReplicationInfo, local_dc: &str) -> Self {
        let per_dc =
            cl == ConsistencyLevel::EachQuorum && matches!(info, ReplicationInfo::PerDc(_));
        let need = if per_dc {
            each_quorum(info)
        } else {
            BTreeMap::from([(String::new(), block_for(cl, info, local_dc))])
        };
        AckTracker {
            cl,
            local_dc: local_dc.to_owned(),
            per_dc,
            block_for: need.values().sum(),
            need,
            got: BTreeMap::new(),
            pending: BTreeMap::new(),
            failures: 0,
        }
    }

    /// The bucket an answer from `dc` counts in, if it counts at all.
    fn bucket(&self, dc: &str) -> Option<String> {
        if self.per_dc {
            return self.need.contains_key(dc).then(|| dc.to_owned());
        }
        if self.cl.is_dc_local() && dc != self.local_dc {
            return None;
        }
        Some(String::new())
    }

    /// A request went to a replica in `dc`.
    pub(crate) fn expect(&mut self, dc: &str) {
        if let Some(b) = self.bucket(dc) {
            *self.pending.entry(b).or_insert(0) += 1;
        }
    }

    fn settle(&mut self, dc: &str) -> Option<String> {
        let b = self.bucket(dc)?;
        if let Some(p) = self.pending.get_mut(&b) {
            *p = p.saturating_sub(1);
        }
        Some(b)
    }

    /// A replica in `dc` acknowledged.
    pub(crate) fn ack(&mut self, dc: &str) {
        if let Some(b) = self.settle(dc) {
            *self.got.entry(b).or_insert(0) += 1;
        }
    }

    /// A replica in `dc` failed or will not answer.
    pub(crate) fn fail(&mut self, dc: &str) {
        self.failures += 1;
        self.settle(dc);
    }

    /// A hint was stored: an acknowledgement for ANY, nothing otherwise.
    pub(crate) fn hint(&mut self) {
        if self.cl == ConsistencyLevel::Any {
            *self.got.entry(String::new()).or_insert(0) += 1;
        }
    }

    fn got(&self, b: &str) -> usize {
        self.got.get(b).copied().unwrap_or(0)
    }

    /// Whether every bucket has what it needs.
    pub(crate) fn satisfied(&self) -> bool {
        self.need.iter().all(|(b, &n)| self.got(b) >= n)
    }

    /// Whether some bucket can no longer get what it needs.
    pub(crate) fn hopeless(&self) -> bool {
        self.need
            .iter()
            .any(|(b, &n)| self.got(b) + self.pending.get(b).copied().unwrap_or(0) < n)
    }

    /// Answers that counted (capped per bucket at what it needs).
    pub(crate) fn received(&self) -> usize {
        self.need.iter().map(|(b, &n)| self.got(b).min(n)).sum()
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
    fn hints_count_only_for_any() {
        let simple = ReplicationInfo::Simple { rf: 3 };
        let mut any = AckTracker::new(ConsistencyLevel::Any, &simple, "dc1");
        any.hint();
        assert!(any.satisfied());
        let mut one = AckTracker::new(ConsistencyLevel::One, &simple, "dc1");
        one.hint();
        assert!(!one.satisfied() && one.hopeless());
    }
}
