use super::*;
use crate::testing::{endpoint, host, ring_of};

fn three_nodes() -> Ring {
    ring_of(&[
        (1, "dc1", "r1", &[-100]),
        (2, "dc1", "r1", &[0]),
        (3, "dc1", "r1", &[100]),
    ])
}

#[test]
fn each_token_owns_the_range_back_to_the_previous_token() {
    let ring = three_nodes();
    assert_eq!(ring.token_owner(Token(-50)), Some(host(2)));
    assert_eq!(
        ring.token_owner(Token(0)),
        Some(host(2)),
        "right end is inclusive"
    );
    assert_eq!(ring.token_owner(Token(1)), Some(host(3)));
    assert_eq!(ring.token_owner(Token(-100)), Some(host(1)));
    assert_eq!(
        ring.primary_ranges(host(2)),
        vec![TokenRange {
            left: Token(-100),
            right: Token(0)
        }]
    );
}

#[test]
fn the_first_tokens_range_wraps_from_the_last() {
    let ring = three_nodes();
    let first = ring.primary_ranges(host(1));
    assert_eq!(
        first,
        vec![TokenRange {
            left: Token(100),
            right: Token(-100)
        }]
    );
    assert!(first[0].wraps());
    for t in [101, i64::MAX, i64::MIN, -101, -100] {
        assert_eq!(ring.token_owner(Token(t)), Some(host(1)), "token {t}");
        assert!(first[0].contains(Token(t)));
    }
    assert!(!first[0].contains(Token(-99)));
    assert!(!first[0].contains(Token(100)));
}

#[test]
fn ranges_cover_the_ring_exactly_once() {
    let ring = three_nodes();
    let ranges: Vec<_> = ring.ranges().collect();
    assert_eq!(ranges.len(), 3);
    let total: f64 = ranges.iter().map(|(r, _)| r.fraction()).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    for t in [i64::MIN, -100, -99, 0, 1, 100, 101, i64::MAX] {
        let n = ranges.iter().filter(|(r, _)| r.contains(Token(t))).count();
        assert_eq!(n, 1, "token {t}");
    }
}

#[test]
fn a_single_node_owns_the_whole_ring() {
    let ring = ring_of(&[(1, "dc1", "r1", &[42])]);
    let range = ring.primary_ranges(host(1))[0];
    assert_eq!(
        range,
        TokenRange {
            left: Token(42),
            right: Token(42)
        }
    );
    assert_eq!(range.fraction(), 1.0);
    for t in [i64::MIN, 0, 42, 43, i64::MAX] {
        assert!(range.contains(Token(t)));
        assert_eq!(ring.token_owner(Token(t)), Some(host(1)));
    }
    assert_eq!(ring.ranges().count(), 1);
}

#[test]
fn ring_walk_starts_at_the_owner_and_wraps_once() {
    let ring = three_nodes();
    let walk: Vec<_> = ring.ring_from(Token(50)).map(|(_, h)| h).collect();
    assert_eq!(walk, vec![host(3), host(1), host(2)]);
    let walk: Vec<_> = ring.ring_from(Token(i64::MAX)).map(|(t, _)| t.0).collect();
    assert_eq!(walk, vec![-100, 0, 100]);
}

#[test]
fn vnodes_give_a_host_one_primary_range_per_token() {
    let ring = ring_of(&[(1, "dc1", "r1", &[-10, 10]), (2, "dc1", "r1", &[0, 20])]);
    assert_eq!(ring.tokens_of(host(1)), vec![Token(-10), Token(10)]);
    assert_eq!(
        ring.primary_ranges(host(1)),
        vec![
            TokenRange {
                left: Token(20),
                right: Token(-10)
            },
            TokenRange {
                left: Token(0),
                right: Token(10)
            },
        ]
    );
}

#[test]
fn a_taken_token_is_refused_and_changes_nothing() {
    let mut ring = three_nodes();
    let err = ring.add(endpoint(4, "dc1", "r1"), [Token(5), Token(0)]);
    assert_eq!(
        err,
        Err(RingError::TokenTaken {
            token: Token(0),
            owner: host(2)
        })
    );
    assert_eq!(ring.token_count(), 3);
    assert!(ring.endpoint(host(4)).is_none());
    assert_eq!(
        ring.add(endpoint(4, "dc1", "r1"), []),
        Err(RingError::NoTokens(host(4)))
    );
}

#[test]
fn re_adding_a_host_replaces_its_tokens_and_remove_drops_them() {
    let mut ring = three_nodes();
    ring.add(endpoint(2, "dc1", "r2"), [Token(7)]).unwrap();
    assert_eq!(ring.tokens_of(host(2)), vec![Token(7)]);
    assert_eq!(ring.endpoint(host(2)).unwrap().rack, "r2");
    assert!(ring.remove(host(2)).is_some());
    assert_eq!(ring.token_count(), 2);
    assert_eq!(ring.host_count(), 2);
    assert_eq!(ring.token_owner(Token(0)), Some(host(3)));
}

#[test]
fn an_empty_ring_owns_nothing() {
    let ring = Ring::new();
    assert!(ring.is_empty());
    assert_eq!(ring.token_owner(Token(0)), None);
    assert_eq!(ring.range_containing(Token(0)), None);
    assert_eq!(ring.ranges().count(), 0);
}

#[test]
fn host_ids_print_as_uuids() {
    let id = HostId(*b"\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef");
    assert_eq!(id.to_string(), "01234567-89ab-cdef-0123-456789abcdef");
}
