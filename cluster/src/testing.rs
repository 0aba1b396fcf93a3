//! Helpers for the crate's tests: hosts and endpoints built from small numbers.

use crate::ring::{Endpoint, HostId, Ring, Token};

/// The host id whose last byte is `n`.
pub(crate) fn host(n: u8) -> HostId {
    let mut id = [0u8; 16];
    id[15] = n;
    HostId(id)
}

/// Host `n` in the given data center and rack, at 127.0.0.n:7000.
pub(crate) fn endpoint(n: u8, dc: &str, rack: &str) -> Endpoint {
    Endpoint {
        host_id: host(n),
        address: format!("127.0.0.{n}:7000").parse().unwrap(),
        datacenter: dc.to_owned(),
        rack: rack.to_owned(),
    }
}

/// A ring from `(host, dc, rack, tokens)` rows.
pub(crate) fn ring_of(rows: &[(u8, &str, &str, &[i64])]) -> Ring {
    let mut ring = Ring::new();
    for &(n, dc, rack, tokens) in rows {
        ring.add(endpoint(n, dc, rack), tokens.iter().map(|&t| Token(t)))
            .unwrap();
    }
    ring
}
