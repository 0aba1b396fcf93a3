//! Decimals in normal form: their numeric order, and the digits and exponent
//! their byte-comparable encoding writes.
// Values arrive from the network and from disk: decoding them must never
// panic, so no unchecked indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::cmp::Ordering;

use super::{Decimal, ValueError, Varint};

/// Largest unscaled decimal (in bytes) that is ordered or encoded; its digits are
/// computed in quadratic time. Cassandra caps clustering components at 64 KiB anyway.
pub const MAX_DECIMAL_BYTES: usize = 1 << 16;

/// A decimal as `sign × 0.d₁d₂… × 10^exponent` with `d₁ ≠ 0` and no trailing zero digit.
pub(crate) struct Normal {
    pub(crate) negative: bool,
    /// Empty for zero.
    pub(crate) digits: Vec<u8>,
    pub(crate) exponent: i64,
}

/// `d` in normal form; decimals over [`MAX_DECIMAL_BYTES`] are refused.
pub(crate) fn normal(d: &Decimal) -> Result<Normal, ValueError> {
    let (negative, magnitude) = magnitude(&d.unscaled);
    if magnitude.len() > MAX_DECIMAL_BYTES {
        return Err(ValueError::Unsupported(format!(
            "decimals over {MAX_DECIMAL_BYTES} bytes cannot be ordered"
        )));
    }
    let mut digits = to_decimal_digits(&magnitude);
    let exponent = digits.len() as i64 - i64::from(d.scale);
    while digits.last() == Some(&0) {
        digits.pop();
    }
    Ok(Normal {
        negative,
        digits,
        exponent,
    })
}

/// Numeric order of two decimals, whatever their scales.
pub(crate) fn decimal_order(x: &Decimal, y: &Decimal) -> Result<Ordering, ValueError> {
    let (x, y) = (normal(x)?, normal(y)?);
    let class = |n: &Normal| match (n.digits.is_empty(), n.negative) {
        (true, _) => 1,
        (false, true) => 0,
        (false, false) => 2,
    };
    let by_class = class(&x).cmp(&class(&y));
    if by_class != Ordering::Equal || x.digits.is_empty() {
        return Ok(by_class);
    }
    let magnitude = x
        .exponent
        .cmp(&y.exponent)
        .then_with(|| x.digits.cmp(&y.digits));
    Ok(if x.negative {
        magnitude.reverse()
    } else {
        magnitude
    })
}

/// The sign and the unsigned big-endian magnitude (no leading zeros, empty for zero).
fn magnitude(v: &Varint) -> (bool, Vec<u8>) {
    let bytes = v.as_be_bytes();
    if !v.is_negative() {
        return (false, strip_leading_zeros(bytes).to_vec());
    }
    let mut m: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for b in m.iter_mut().rev() {
        let (sum, carry) = b.overflowing_add(1);
        *b = sum;
        if !carry {
            break;
        }
    }
    (true, strip_leading_zeros(&m).to_vec())
}

const CHUNK: u32 = 1_000_000_000;

/// Decimal digits (most significant first, none for zero) of an unsigned magnitude.
fn to_decimal_digits(magnitude: &[u8]) -> Vec<u8> {
    // Base-2^32 limbs, most significant first.
    let pad = (4 - magnitude.len() % 4) % 4;
    let mut padded = vec![0u8; pad];
    padded.extend_from_slice(magnitude);
    let mut limbs: Vec<u32> = padded
        .chunks_exact(4)
        .filter_map(|c| c.try_into().ok().map(u32::from_be_bytes))
        .collect();
    let mut reversed = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for limb in limbs.iter_mut() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(CHUNK)) as u32;
            rem = cur % u64::from(CHUNK);
        }
        while limbs.first() == Some(&0) {
            limbs.remove(0);
        }
        for _ in 0..9 {
            reversed.push((rem % 10) as u8);
            rem /= 10;
        }
    }
    while reversed.last() == Some(&0) {
        reversed.pop();
    }
    reversed.reverse();
    reversed
}

/// `bytes` without its leading zero bytes.
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}
