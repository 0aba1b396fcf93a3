//! What a record's payload holds: a mutation's encoding, raw or LZ4-compressed.
//!
//! Compression is per record, so replay, positions and torn-tail detection work
//! exactly as for raw records. A compressed payload starts with a marker byte
//! that no mutation encoding starts with (those start with their format
//! version, a small number), then the LZ4 block with its uncompressed size
//! prepended as a little-endian u32.
#![deny(clippy::indexing_slicing)]

use crate::mutation::Mutation;
use std::borrow::Cow;

/// The first byte of a compressed payload.
pub(super) const LZ4_MARKER: u8 = 0xC4;

/// Payloads smaller than this are stored raw: LZ4 cannot win much on them.
const MIN_COMPRESS_LEN: usize = 64;

/// The payload to log for an encoded mutation: compressed when that is
/// enabled and makes it smaller.
pub(super) fn encode(mutation: &[u8], compress: bool) -> Cow<'_, [u8]> {
    if !compress || mutation.len() < MIN_COMPRESS_LEN {
        return Cow::Borrowed(mutation);
    }
    let mut out =
        Vec::with_capacity(1 + 4 + lz4_flex::block::get_maximum_output_size(mutation.len()));
    out.push(LZ4_MARKER);
    out.extend_from_slice(&lz4_flex::block::compress_prepend_size(mutation));
    if out.len() < mutation.len() {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(mutation)
    }
}

/// Decodes a payload back into its mutation. `max_len` bounds the size a
/// compressed payload may claim, so a damaged one cannot make replay allocate
/// without limit.
pub(super) fn decode(payload: &[u8], max_len: usize) -> Result<Mutation, String> {
    let Some((&LZ4_MARKER, packed)) = payload.split_first() else {
        return Mutation::decode(payload).map_err(|e| e.to_string());
    };
    let claimed = packed
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b) as usize)
        .ok_or("compressed payload shorter than its size prefix")?;
    if claimed > max_len {
        return Err(format!(
            "compressed payload claims {claimed} bytes, more than the {max_len} allowed"
        ));
    }
    let raw = lz4_flex::block::decompress_size_prepended(packed)
        .map_err(|e| format!("compressed payload does not decompress: {e}"))?;
    Mutation::decode(&raw).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests cut and corrupt buffers on purpose
mod tests {
    use super::*;
    use crate::mutation::arb;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn payloads_round_trip_raw_or_compressed(m in arb::mutation(), compress in any::<bool>(), pad in 0usize..300) {
            let mut m = m;
            // Padding with a repeated value makes some payloads compressible.
            m.rows.push(crate::cell::Row::new(crate::key::ClusteringKey::new(vec![9u8; 3]))
                .with_cell(crate::key::ColumnId(1), None, crate::cell::Cell::live(1, vec![b'x'; pad])));
            let bytes = m.to_bytes();
            let payload = encode(&bytes, compress);
            prop_assert!(payload.len() <= bytes.len());
            prop_assert_eq!(decode(&payload, 1 << 20).unwrap(), m);
        }

        #[test]
        fn damaged_payloads_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut p = vec![LZ4_MARKER];
            p.extend_from_slice(&bytes);
            let _ = decode(&p, 1 << 20);
        }
    }

    #[test]
    fn compressible_payloads_shrink_and_huge_claims_are_refused() {
        let m = Mutation::new(
            crate::key::TableId(1),
            crate::key::DecoratedKey::new(crate::key::Token(1), vec![1u8; 16]),
        )
        .with_row(
            crate::cell::Row::new(crate::key::ClusteringKey::EMPTY).with_cell(
                crate::key::ColumnId(0),
                None,
                crate::cell::Cell::live(1, vec![b'a'; 100]),
            ),
        );
        let bytes = m.to_bytes();
        let payload = encode(&bytes, true);
        assert!(
            payload.len() < bytes.len() * 3 / 4,
            "{} vs {}",
            payload.len(),
            bytes.len()
        );
        assert_eq!(payload[0], LZ4_MARKER);
        let err = decode(&payload, 16).unwrap_err();
        assert!(err.contains("more than the 16 allowed"), "{err}");
    }
}
