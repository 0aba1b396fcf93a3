//! The partition-key bloom filter: lets reads skip tables that cannot hold a key.
//!
//! Keys are hashed as the 8 little-endian bytes of the token followed by the key
//! bytes, written explicitly to the hasher so the hash never depends on the host's
//! endianness or on how std hashes slices. The seed is fixed and is also stored in
//! the serialized filter (the `bloomfilter` crate's format, version 1).

use crate::key::DecoratedKey;
use bloomfilter::Bloom;
use std::hash::{Hash, Hasher};

const SEED: [u8; 32] = *b"basalt sstable partition bloom!!";

/// At most this many hash functions: more only means a corrupt or hostile filter.
const MAX_HASHES: u32 = 64;

/// What the filter hashes: a borrowed key.
#[derive(Debug)]
struct Probe<'a> {
    token: i64,
    key: &'a [u8],
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.token.to_le_bytes());
        state.write(self.key);
    }
}

/// The writer's probe: owns its key (a cheap `Bytes` clone) because `Bloom::set`
/// takes `&mut self`, which would pin a borrowed probe's lifetime to the filter's.
/// It hashes exactly like [`Probe`], so the serialized filter is the same.
#[derive(Debug)]
struct OwnedProbe {
    token: i64,
    key: bytes::Bytes,
}

impl Hash for OwnedProbe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Probe {
            token: self.token,
            key: &self.key,
        }
        .hash(state);
    }
}

/// A bloom filter being built by a writer.
#[derive(Debug)]
pub(super) struct KeyBloomBuilder {
    inner: Bloom<OwnedProbe>,
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
        self.inner.set(&OwnedProbe {
            token: key.token.0,
            key: key.key.clone(),
        });
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }
}

/// A bloom filter over partition keys, as read back.
#[derive(Debug)]
pub(super) struct KeyBloom {
    // `Bloom` is covariant in its item type, so a `'static` filter checks borrowed probes.
    inner: Bloom<Probe<'static>>,
}

impl KeyBloom {
    pub(super) fn may_contain(&self, key: &DecoratedKey) -> bool {
        let inner: &Bloom<Probe<'_>> = &self.inner;
        inner.check(&Probe {
            token: key.token.0,
            key: &key.key,
        })
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
