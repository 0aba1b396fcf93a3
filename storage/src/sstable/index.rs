//! The sparse block index: one entry per data block, kept in memory while a table is open.
//!
//! An entry holds the block's first partition key, whether the block continues that
//! partition from the previous block (and then the clustering of its first row), and
//! where the block lies. It serves both as the partition index (binary search by key
//! finds the block holding a partition's header) and as the row index of wide
//! partitions (their continuation blocks are consecutive entries with the same key,
//! ordered by first clustering). Keys and clusterings live in flat buffers so that
//! an entry costs about 40 bytes plus its key.
//!
//! Serialized: `varint n`, then per entry `u8 flags (1 = continuation)`,
//! `varint frame_len`, `varint raw_len`, `i64 token`, `bytes key`, and for
//! continuations `bytes first_clustering`. Blocks are contiguous from offset 0, so
//! offsets are not stored.
#![deny(clippy::indexing_slicing)]

use crate::codec::{DecodeError, Reader, put_bytes, put_varint};
use crate::key::DecoratedKey;
use std::cmp::Ordering;

const FLAG_CONTINUATION: u8 = 1;

/// Builds the serialized index as blocks are written.
#[derive(Debug, Default)]
pub(super) struct IndexBuilder {
    body: Vec<u8>,
    count: u64,
}

impl IndexBuilder {
    pub(super) fn add(
        &mut self,
        key: &DecoratedKey,
        first_clustering: Option<&[u8]>,
        frame_len: u64,
        raw_len: u64,
    ) {
        self.count += 1;
        self.body
            .push(u8::from(first_clustering.is_some()) * FLAG_CONTINUATION);
        put_varint(&mut self.body, frame_len);
        put_varint(&mut self.body, raw_len);
        self.body.extend_from_slice(&key.token.0.to_le_bytes());
        put_bytes(&mut self.body, &key.key);
        if let Some(c) = first_clustering {
            put_bytes(&mut self.body, c);
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 10);
        put_varint(&mut out, self.count);
        out.extend_from_slice(&self.body);
        out
    }
}

/// The decoded index.
#[derive(Debug, Default)]
pub(super) struct Index {
    tokens: Vec<i64>,
    key_ends: Vec<usize>,
    keys: Vec<u8>,
    clust_ends: Vec<usize>,
    clusts: Vec<u8>,
    offsets: Vec<u64>,
    frame_lens: Vec<u32>,
    raw_lens: Vec<u32>,
    continuation: Vec<bool>,
}

impl Index {
    /// Decodes and checks the index of a table whose data blocks fill `[0, data_len)`.
    pub(super) fn decode(buf: &[u8], data_len: u64) -> Result<Index, DecodeError> {
        let mut r = Reader::new(buf);
        let n = usize::try_from(r.varint()?)
            .ok()
            .filter(|n| *n <= buf.len())
            .ok_or_else(|| DecodeError("entry count exceeds the index".into()))?;
        let mut ix = Index::default();
        let mut offset = 0u64;
        for j in 0..n {
            let flags = r.u8()?;
            if flags & !FLAG_CONTINUATION != 0 {
                return Err(DecodeError(format!("unknown index flags {flags:#x}")));
            }
            let frame_len = u32_field(r.varint()?, "frame length")?;
            let raw_len = u32_field(r.varint()?, "raw length")?;
            let token = r.i64()?;
            let key = r.slice()?;
            let cont = flags & FLAG_CONTINUATION != 0;
            let clust = if cont { r.slice()? } else { &[] };
            ix.push_entry(token, key, clust, cont, offset, frame_len, raw_len);
            ix.check_order(j)?;
            offset += u64::from(frame_len);
        }
        if !r.is_empty() || offset != data_len {
            return Err(DecodeError(format!(
                "blocks cover {offset} bytes but the data region has {data_len}"
            )));
        }
        Ok(ix)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per field of an entry"
    )]
    fn push_entry(
        &mut self,
        token: i64,
        key: &[u8],
        clust: &[u8],
        cont: bool,
        offset: u64,
        frame_len: u32,
        raw_len: u32,
    ) {
        self.tokens.push(token);
        self.keys.extend_from_slice(key);
        self.key_ends.push(self.keys.len());
        self.clusts.extend_from_slice(clust);
        self.clust_ends.push(self.clusts.len());
        self.continuation.push(cont);
        self.offsets.push(offset);
        self.frame_lens.push(frame_len);
        self.raw_lens.push(raw_len);
    }

    /// Keys never decrease, and only continuations may repeat one.
    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    fn check_order(&self, j: usize) -> Result<(), DecodeError> {
        if j == 0 {
            return if self.continuation[0] {
                Err(DecodeError("the first block is a continuation".into()))
            } else {
                Ok(())
            };
        }
        let ord = self.cmp_entries(j - 1, j);
        // A continuation's partition began in an earlier block: its key is at least the
        // previous block's first key, and after a continuation of the same partition its
        // first clustering is larger. A block that starts a partition has a larger key.
        let ok = match (self.continuation[j], ord) {
            (true, Ordering::Less) => true,
            (true, Ordering::Equal) => {
                !self.continuation[j - 1] || self.clustering(j - 1) < self.clustering(j)
            }
            (false, Ordering::Less) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(DecodeError(format!("index entry {j} is out of order")))
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    fn cmp_entries(&self, a: usize, b: usize) -> Ordering {
        self.tokens[a]
            .cmp(&self.tokens[b])
            .then_with(|| self.key(a).cmp(self.key(b)))
    }

    pub(super) fn len(&self) -> usize {
        self.tokens.len()
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn token(&self, j: usize) -> i64 {
        self.tokens[j]
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn key(&self, j: usize) -> &[u8] {
        let start = if j == 0 { 0 } else { self.key_ends[j - 1] };
        &self.keys[start..self.key_ends[j]]
    }

    /// The first row's clustering of a continuation block (empty for other blocks).
    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn clustering(&self, j: usize) -> &[u8] {
        let start = if j == 0 { 0 } else { self.clust_ends[j - 1] };
        &self.clusts[start..self.clust_ends[j]]
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn is_continuation(&self, j: usize) -> bool {
        self.continuation[j]
    }

    /// `(offset, frame length, raw length)` of block `j`.
    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn extent(&self, j: usize) -> (u64, u32, u32) {
        (self.offsets[j], self.frame_lens[j], self.raw_lens[j])
    }

    /// Compares block `j`'s first key with `key`.
    #[expect(
        clippy::indexing_slicing,
        reason = "entries are looked up below len(), and every column has len() entries"
    )]
    pub(super) fn cmp_key(&self, j: usize, key: &DecoratedKey) -> Ordering {
        self.tokens[j]
            .cmp(&key.token.0)
            .then_with(|| self.key(j).cmp(&key.key[..]))
    }

    /// The number of leading blocks whose first key satisfies `pred` (which must be
    /// true then false along the index).
    pub(super) fn partition_point(&self, mut pred: impl FnMut(usize) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Approximate heap bytes held.
    pub(super) fn memory_bytes(&self) -> u64 {
        (self.len() * (8 + 8 + 8 + 8 + 4 + 4 + 1) + self.keys.len() + self.clusts.len()) as u64
    }
}

fn u32_field(v: u64, what: &str) -> Result<u32, DecodeError> {
    u32::try_from(v).map_err(|_| DecodeError(format!("{what} {v} out of range")))
}
