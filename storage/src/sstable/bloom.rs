//! The partition-key bloom filter: lets reads skip tables that cannot hold a key.
//!
//! A key is first digested to 64 bits: XXH3-64 of the key bytes, seeded with
//! the token (as a u64). The `bloomfilter` crate then hashes the digest's 8
//! little-endian bytes. The crate runs two SipHash passes per check, so
//! feeding it 8 bytes instead of the whole key makes each check cheaper, and a
//! read checks one filter per candidate SSTable. Both steps are defined on
//! values and little-endian bytes, so the filter never depends on the host's
//! endianness or on how std hashes slices. The seed is fixed and is also
//! stored in the serialized filter (the `bloomfilter` crate's format, version 1).
#![deny(clippy::indexing_slicing)]

use crate::key::DecoratedKey;
use bloomfilter::Bloom;
use std::hash::{Hash, Hasher};

const SEED: [u8; 32] = *b"basalt sstable partition bloom!!";

/// At most this many hash functions: more only means a corrupt or hostile filter.
const MAX_HASHES: u32 = 64;

/// What the filter hashes: a key's 64-bit digest.
#[derive(Debug, Clone, Copy)]
struct Probe(u64);

impl Probe {
    fn of(key: &DecoratedKey) -> Probe {
        Probe(xxhash_rust::xxh3::xxh3_64_with_seed(
            &key.key,
            key.token.0 as u64,
        ))
    }
}

impl Hash for Probe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0.to_le_bytes());
    }
}

/// A bloom filter being built by a writer.
#[derive(Debug)]
pub(super) struct KeyBloomBuilder {
    inner: Bloom<Probe>,
}

impl KeyBloomBuilder {
    pub(super) fn new(expected: usize, fp_chance: f64) -> Result<Self, String> {
        if !(fp_chance > 0.0 && fp_chance < 1.0) {
            return Err(format!("bloom_fp_chance {fp_chance} is not in (0, 1)"));
        }
        Bloom::new_for_fp_rate_with_seed(expected.max(1), fp_chance, &SEED)
            .map(|inner| KeyBloomBuilder { inner })
            .map_err(str::to_string)
    }

    pub(super) fn insert(&mut self, key: &DecoratedKey) {
        self.inner.set(&Probe::of(key));
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }
}

/// A bloom filter over partition keys, as read back.
#[derive(Debug)]
pub(super) struct KeyBloom {
    inner: Bloom<Probe>,
}

impl KeyBloom {
    pub(super) fn may_contain(&self, key: &DecoratedKey) -> bool {
        self.inner.check(&Probe::of(key))
    }

    #[expect(
        clippy::len_zero,
        reason = "Bloom::is_empty means no bit is set, not that the filter has no bits"
    )]
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let inner = Bloom::from_slice(bytes).map_err(str::to_string)?;
        if inner.len() == 0 || inner.number_of_hash_functions() > MAX_HASHES {
            return Err("empty filter or implausible hash count".into());
        }
        Ok(KeyBloom { inner })
    }

    pub(super) fn memory_bytes(&self) -> u64 {
        self.inner.as_slice().len() as u64
    }
}
