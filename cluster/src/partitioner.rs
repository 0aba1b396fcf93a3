//! Cassandra's `Murmur3Partitioner`, bit for bit: the token of a partition key.
//!
//! The token is the first 64 bits of MurmurHash3 x64_128 (seed 0) of the
//! serialized partition key, as a signed integer, with one change from the
//! published algorithm that Cassandra made by accident and drivers copy: the
//! tail bytes (the last `len % 16`) are sign-extended before they are shifted
//! into place, because Java bytes are signed. Keys whose tail bytes are all
//! below 0x80 hash as in standard Murmur3. `i64::MIN` is not a valid token
//! (it stands for the ring's minimum), so Cassandra maps it to `i64::MAX`.
//!
//! It is hand-written because its exactness is the product: a token that is
//! off by one bit routes requests to the wrong replicas.

use storage::Token;

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The token of a serialized partition key.
pub fn murmur3_token(key: &[u8]) -> Token {
    let h1 = murmur3_cassandra_h1(key) as i64;
    Token(if h1 == i64::MIN { i64::MAX } else { h1 })
}

/// Serializes a composite partition key as Cassandra does: for each component,
/// its length as a big-endian u16, its bytes, and a zero byte. A single-column
/// key is its component's bytes alone (no framing).
///
/// Components longer than 65,535 bytes cannot be framed; Cassandra rejects
/// such keys, and so does this function.
pub fn composite_key(components: &[&[u8]]) -> Result<Vec<u8>, KeyTooLong> {
    if let [only] = components {
        return Ok(only.to_vec());
    }
    let mut out = Vec::with_capacity(components.iter().map(|c| c.len() + 3).sum());
    for c in components {
        let len = u16::try_from(c.len()).map_err(|_| KeyTooLong(c.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    Ok(out)
}

/// A partition key component too long to serialize in a composite key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("partition key component of {0} bytes exceeds the 65535-byte limit")]
pub struct KeyTooLong(pub usize);

/// `h1` of MurmurHash3 x64_128 with seed 0 and sign-extended tail bytes.
fn murmur3_cassandra_h1(key: &[u8]) -> u64 {
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = key.chunks_exact(16);
    for block in &mut blocks {
        let (k1, k2) = block.split_at(8);
        h1 ^= mix_k1(u64::from_le_bytes(k1.try_into().expect("8 bytes")));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(u64::from_le_bytes(k2.try_into().expect("8 bytes")));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        // NOTE: `b as i8 as i64 as u64` sign-extends, as Java's `(long) byte` does.
        let v = b as i8 as i64 as u64;
        if i < 8 {
            k1 ^= v << (8 * i);
        } else {
            k2 ^= v << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1.wrapping_add(h2)
}

fn mix_k1(k: u64) -> u64 {
    k.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k: u64) -> u64 {
    k.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests;
