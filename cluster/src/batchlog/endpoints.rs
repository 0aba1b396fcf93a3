//! Where a coordinator keeps a logged batch: up to two live nodes of its own
//! data center other than itself, on racks other than its own and distinct
//! from each other where the data center has them (Cassandra's choice), so
//! that losing the coordinator's rack or one more node still leaves a copy.

use std::collections::BTreeMap;

use crate::ring::{HostId, Ring};

/// How many nodes keep each batch.
pub(crate) const BATCHLOG_COPIES: usize = 2;

/// The nodes that should keep a batch the coordinator `local` is about to
/// write; `spread` (derived from the batch id) rotates the choice so that
/// batches spread over the candidates.
///
/// A data center with no other node keeps the batch on `local` itself.
/// `None` means the data center has other nodes but none is alive: the
/// batch cannot be logged anywhere that survives the coordinator.
pub(crate) fn batchlog_endpoints(
    ring: &Ring,
    local: HostId,
    is_alive: impl Fn(HostId) -> bool,
    spread: u64,
) -> Option<Vec<HostId>> {
    let me = ring.endpoint(local)?;
    let peers: Vec<_> = ring
        .endpoints()
        .filter(|e| e.datacenter == me.datacenter && e.host_id != local)
        .collect();
    if peers.is_empty() {
        return Some(vec![local]);
    }
    let mut racks: BTreeMap<&str, Vec<HostId>> = BTreeMap::new();
    for e in peers.iter().filter(|e| is_alive(e.host_id)) {
        racks.entry(e.rack.as_str()).or_default().push(e.host_id);
    }
    if racks.is_empty() {
        return None;
    }
    // Other racks first (rotated), the coordinator's own rack last.
    let own = racks.remove(me.rack.as_str());
    let mut order: Vec<Vec<HostId>> = racks.into_values().collect();
    rotate(&mut order, spread);
    order.extend(own);
    for hosts in &mut order {
        rotate(hosts, spread / 7);
    }
    Some(round_robin(&order, BATCHLOG_COPIES))
}

fn rotate<T>(items: &mut [T], by: u64) {
    if !items.is_empty() {
        let n = items.len() as u64;
        items.rotate_left(usize::try_from(by % n).unwrap_or(0));
    }
}

/// The first host of each group, then the second of each, … up to `n`.
fn round_robin(groups: &[Vec<HostId>], n: usize) -> Vec<HostId> {
    let deepest = groups.iter().map(Vec::len).max().unwrap_or(0);
    (0..deepest)
        .flat_map(|i| groups.iter().filter_map(move |g| g.get(i).copied()))
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{host, ring_of};

    fn choose(ring: &Ring, local: u8, down: &[u8], spread: u64) -> Option<Vec<HostId>> {
        let down: Vec<HostId> = down.iter().map(|&n| host(n)).collect();
        batchlog_endpoints(ring, host(local), |h| !down.contains(&h), spread)
    }

    #[test]
    fn a_lone_node_keeps_its_own_batches() {
        let ring = ring_of(&[(1, "dc1", "r1", &[0])]);
        assert_eq!(choose(&ring, 1, &[], 0), Some(vec![host(1)]));
        // Nodes of another DC are never used.
        let ring = ring_of(&[(1, "dc1", "r1", &[0]), (2, "dc2", "r1", &[5])]);
        assert_eq!(choose(&ring, 1, &[], 0), Some(vec![host(1)]));
    }

    #[test]
    fn two_live_peers_in_one_rack_are_both_used() {
        let ring = ring_of(&[
            (1, "dc1", "r1", &[0]),
            (2, "dc1", "r1", &[10]),
            (3, "dc1", "r1", &[20]),
        ]);
        for spread in 0..4 {
            let mut got = choose(&ring, 1, &[], spread).unwrap();
            got.sort();
            assert_eq!(got, [host(2), host(3)]);
        }
        assert_eq!(choose(&ring, 1, &[3], 0), Some(vec![host(2)]));
        assert_eq!(choose(&ring, 1, &[2, 3], 0), None);
    }

    #[test]
    fn other_racks_come_first_and_copies_land_on_distinct_racks() {
        let ring = ring_of(&[
            (1, "dc1", "r1", &[0]),
            (2, "dc1", "r1", &[10]),
            (3, "dc1", "r2", &[20]),
            (4, "dc1", "r2", &[30]),
            (5, "dc1", "r3", &[40]),
        ]);
        let rack = |h: HostId| ring.endpoint(h).unwrap().rack.clone();
        for spread in 0..20 {
            let got = choose(&ring, 1, &[], spread).unwrap();
            assert_eq!(got.len(), 2);
            assert!(got.iter().all(|&h| rack(h) != "r1"), "{got:?}");
            assert_ne!(rack(got[0]), rack(got[1]));
        }
        // With r2 and r3 down, the coordinator's own rack is the fallback.
        assert_eq!(choose(&ring, 1, &[3, 4, 5], 0), Some(vec![host(2)]));
    }

    #[test]
    fn the_choice_spreads_over_candidates() {
        let ring = ring_of(&[
            (1, "dc1", "r1", &[0]),
            (2, "dc1", "r1", &[10]),
            (3, "dc1", "r1", &[20]),
            (4, "dc1", "r1", &[30]),
        ]);
        let mut used = std::collections::BTreeSet::new();
        for spread in 0..30 {
            used.extend(choose(&ring, 1, &[], spread).unwrap());
        }
        assert_eq!(used.len(), 3);
    }
}
