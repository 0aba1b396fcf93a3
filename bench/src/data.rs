//! Deterministic keys and values, derived from their index.
//!
//! Nothing is stored: key `i` is recomputed whenever it is needed, so the harness holds no
//! 32 MB key array that would be counted in the engine's peak RSS, and every child process
//! (and both engines) sees exactly the same data for the same seed.

/// Key length in bytes.
pub(crate) const KEY_LEN: usize = 16;
/// Value length in bytes: half pseudo-random, half a repeated pattern (about 50% compressible).
pub(crate) const VALUE_LEN: usize = 100;
const RANDOM_PART: usize = 50;
const PATTERN: &[u8] = b"basalt-bench:";

/// splitmix64: a fast, well-mixed bijection on u64, good enough to make keys look random.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The data set of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DataSet {
    seed: u64,
}

impl DataSet {
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Key `i` of the loaded set. Domain tag 0 keeps it apart from absent keys.
    pub(crate) fn present_key(&self, i: u64) -> [u8; KEY_LEN] {
        self.key(0, i)
    }

    /// Key `i` of a set never inserted (a collision is a 2^-128 event per pair).
    pub(crate) fn absent_key(&self, i: u64) -> [u8; KEY_LEN] {
        self.key(1, i)
    }

    fn key(&self, domain: u64, i: u64) -> [u8; KEY_LEN] {
        let base = mix(self.seed ^ mix(domain)).wrapping_add(i.wrapping_mul(2));
        let mut k = [0u8; KEY_LEN];
        k[..8].copy_from_slice(&mix(base).to_be_bytes());
        k[8..].copy_from_slice(&mix(base.wrapping_add(1)).to_be_bytes());
        k
    }

    /// Fills the value written under key `i`.
    pub(crate) fn value(&self, i: u64, out: &mut [u8; VALUE_LEN]) {
        let mut state = mix(self.seed ^ mix(2)).wrapping_add(i.wrapping_mul(8));
        for chunk in out[..RANDOM_PART].chunks_mut(8) {
            state = state.wrapping_add(1);
            let word = mix(state).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        for (dst, src) in out[RANDOM_PART..].iter_mut().zip(PATTERN.iter().cycle()) {
            *dst = *src;
        }
    }
}

/// Raw payload of `keys` pairs, the denominator of write amplification.
pub(crate) fn raw_bytes(keys: u64) -> u64 {
    keys * (KEY_LEN + VALUE_LEN) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let d = DataSet::new(7);
        assert_eq!(d.present_key(5), DataSet::new(7).present_key(5));
        assert_ne!(d.present_key(5), DataSet::new(8).present_key(5));
        let present: HashSet<_> = (0..20_000).map(|i| d.present_key(i)).collect();
        assert_eq!(present.len(), 20_000);
        assert!((0..20_000).all(|i| !present.contains(&d.absent_key(i))));
    }

    #[test]
    fn values_are_half_random_half_pattern() {
        let d = DataSet::new(1);
        let (mut a, mut b) = ([0u8; VALUE_LEN], [0u8; VALUE_LEN]);
        d.value(0, &mut a);
        d.value(1, &mut b);
        assert_ne!(a[..RANDOM_PART], b[..RANDOM_PART]);
        assert_eq!(a[RANDOM_PART..], b[RANDOM_PART..]);
        assert_eq!(&a[RANDOM_PART..RANDOM_PART + PATTERN.len()], PATTERN);
    }

    #[test]
    fn raw_bytes_counts_key_and_value() {
        assert_eq!(raw_bytes(2_000_000), 232_000_000);
    }
}
