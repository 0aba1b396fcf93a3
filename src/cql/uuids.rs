//! UUIDs the node makes: version 1 (time-based) for `now()` and version 4 for `uuid()`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// 100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

/// The node and clock-sequence bits, random per process, as RFC 4122 allows when
/// no MAC address is used (the multicast bit marks the node id as random).
fn node_and_clock_seq() -> u64 {
    static BITS: OnceLock<u64> = OnceLock::new();
    *BITS.get_or_init(|| rand::random::<u64>() | (1 << 40))
}

/// A version-1 UUID for `now_micros`, unique within the process: two calls in the same
/// microsecond (or with the clock going back) take the next 100-ns tick.
pub(crate) fn timeuuid(now_micros: i64) -> [u8; 16] {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let wanted = (now_micros.max(0) as u64) * 10 + UUID_EPOCH_OFFSET;
    let mut last = LAST.load(Ordering::Relaxed);
    let ticks = loop {
        let next = wanted.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    let mut out = [0u8; 16];
    let time_low = (ticks & 0xFFFF_FFFF) as u32;
    let time_mid = ((ticks >> 32) & 0xFFFF) as u16;
    let time_hi = (((ticks >> 48) & 0x0FFF) as u16) | 0x1000;
    out[0..4].copy_from_slice(&time_low.to_be_bytes());
    out[4..6].copy_from_slice(&time_mid.to_be_bytes());
    out[6..8].copy_from_slice(&time_hi.to_be_bytes());
    let tail = node_and_clock_seq();
    out[8..16].copy_from_slice(&tail.to_be_bytes());
    // Variant bits 10xx.
    out[8] = (out[8] & 0x3F) | 0x80;
    out
}

/// A random version-4 UUID.
pub(crate) fn random_uuid() -> [u8; 16] {
    let mut out: [u8; 16] = rand::random();
    out[6] = (out[6] & 0x0F) | 0x40;
    out[8] = (out[8] & 0x3F) | 0x80;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeuuids_are_version_1_unique_and_carry_their_time() {
        let a = timeuuid(1_700_000_000_000_000);
        let b = timeuuid(1_700_000_000_000_000);
        assert_ne!(a, b);
        assert_eq!(cql_lite::value::uuid_version(&a), 1);
        let micros = (cql_lite::value::uuid_timestamp(&a) - UUID_EPOCH_OFFSET) / 10;
        assert_eq!(micros, 1_700_000_000_000_000);
    }

    #[test]
    fn random_uuids_are_version_4() {
        let u = random_uuid();
        assert_eq!(cql_lite::value::uuid_version(&u), 4);
        assert_ne!(u, random_uuid());
    }
}
