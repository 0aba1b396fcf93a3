//! UUIDs the node makes and how it writes them: version 1 (time-based) for `now()`,
//! version 4 (random) for `uuid()`, host ids and batch ids, version 3
//! (name-based) for schema versions and table ids (`schema::ddl`); and the usual
//! 8-4-4-4-12 text form.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};

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
    let mut out: [u8; 16] = crate::entropy::random();
    out[6] = (out[6] & 0x0F) | 0x40;
    out[8] = (out[8] & 0x3F) | 0x80;
    out
}

/// A name-based uuid (RFC 4122 version 3) of `bytes`, as Java's
/// `UUID.nameUUIDFromBytes` computes it.
pub(crate) fn name_uuid(bytes: &[u8]) -> [u8; 16] {
    let mut uuid: [u8; 16] = Md5::digest(bytes).into();
    uuid[6] = (uuid[6] & 0x0F) | 0x30;
    uuid[8] = (uuid[8] & 0x3F) | 0x80;
    uuid
}

/// A uuid in its usual 8-4-4-4-12 hex form.
pub(crate) fn format_uuid(u: &[u8; 16]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A uuid read from its text form, hyphens optional.
pub(crate) fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
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

    #[test]
    fn name_uuids_match_javas_name_uuid_from_bytes() {
        // UUID.nameUUIDFromBytes(new byte[0]) in Java.
        assert_eq!(
            name_uuid(b""),
            [
                0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0x32, 0x04, 0xa9, 0x80, 0x09, 0x98, 0xec, 0xf8,
                0x42, 0x7e
            ]
        );
        assert_eq!(cql_lite::value::uuid_version(&name_uuid(b"ks")), 3);
    }

    #[test]
    fn uuids_print_and_parse() {
        let u = random_uuid();
        assert_eq!(parse_uuid(&format_uuid(&u)), Some(u));
    }
}
