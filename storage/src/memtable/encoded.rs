//! The compact form of a memtable partition: one exact-size byte buffer.
//!
//! Most partitions are written once and read rarely before they are flushed,
//! so the memtable keeps them serialized instead of as rows of cells of
//! separately allocated values: one allocation instead of five or more, and no
//! per-structure slack. Writing a partition again decodes it, merges, and
//! encodes it again while it stays small (see `Slot` in the parent module);
//! reads decode only the rows they return.
//!
//! Layout (in memory only, never persisted, so it needs no version):
//! ```text
//! flags: u8                      HAS_DELETION | HAS_RANGES | HAS_STATIC
//! [varint header_len, header]    when any flag is set:
//!     [deletion] [varint n, (range, deletion) * n] [static row]
//! (varint row_len, row) *        rows in clustering order, to the end
//! ```
//! Rows, the static row, ranges and deletions use the mutation codecs. The
//! length prefixes let readers skip the header and rows they do not return
//! without decoding them. An empty buffer is a partition nothing was written to.

use super::rows::Rows;
use crate::cell::{DeletionTime, RangeTombstone, Row};
use crate::codec::{DecodeError, Reader, put_varint};
use crate::key::ClusteringKey;
use crate::mutation::{get_deletion, get_range, get_row, put_deletion, put_range, put_row};
use bytes::Bytes;
use std::ops::Bound as RBound;

const HAS_DELETION: u8 = 1;
const HAS_RANGES: u8 = 2;
const HAS_STATIC: u8 = 4;

/// The decoded partition-level parts of an encoded partition.
#[derive(Debug, Default)]
pub(crate) struct Header {
    pub(crate) deletion: Option<DeletionTime>,
    pub(crate) range_tombstones: Vec<RangeTombstone>,
    pub(crate) static_row: Option<Row>,
}

/// The memtable wrote every buffer it decodes, with the codecs it decodes with.
fn ours<T>(r: Result<T, DecodeError>) -> T {
    r.expect("the memtable decodes only buffers it encoded itself")
}

/// Appends what `encode` writes, preceded by its length.
fn put_sized(out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    encode(out);
    let len = out.len() - start;
    put_varint(out, len as u64);
    // Move the length in front of what it measures.
    let prefix = out.len() - start - len;
    out[start..].rotate_right(prefix);
}

/// Appends a partition's encoding to `out` (which the caller cleared).
/// `rows` must be in strictly increasing clustering order.
pub(crate) fn encode<'a>(
    out: &mut Vec<u8>,
    deletion: Option<DeletionTime>,
    range_tombstones: &[RangeTombstone],
    static_row: Option<&Row>,
    rows: impl Iterator<Item = &'a Row>,
) {
    let flag = |set: bool, bit: u8| if set { bit } else { 0 };
    let flags = flag(deletion.is_some(), HAS_DELETION)
        | flag(!range_tombstones.is_empty(), HAS_RANGES)
        | flag(static_row.is_some(), HAS_STATIC);
    out.push(flags);
    if flags != 0 {
        put_sized(out, |out| {
            if let Some(d) = &deletion {
                put_deletion(out, d);
            }
            if !range_tombstones.is_empty() {
                put_varint(out, range_tombstones.len() as u64);
                for rt in range_tombstones {
                    put_range(out, &rt.range);
                    put_deletion(out, &rt.deletion);
                }
            }
            if let Some(s) = static_row {
                put_row(out, s);
            }
        });
    }
    for row in rows {
        put_sized(out, |out| put_row(out, row));
    }
}

/// Splits a buffer into its flags, header bytes and rows bytes.
fn split(buf: &[u8]) -> (u8, &[u8], &[u8]) {
    let Some((&flags, rest)) = buf.split_first() else {
        return (0, &[], &[]);
    };
    if flags == 0 {
        return (0, &[], rest);
    }
    let mut r = Reader::new(rest);
    let header = ours(r.slice());
    (flags, header, &rest[r.position()..])
}

/// The rows part of an encoded partition.
pub(crate) fn rows_of(buf: &[u8]) -> &[u8] {
    split(buf).2
}

/// Decodes the partition deletion, range tombstones and static row.
pub(crate) fn header(buf: &[u8]) -> Header {
    let (flags, header, _) = split(buf);
    let mut r = Reader::new(header);
    let deletion = (flags & HAS_DELETION != 0).then(|| ours(get_deletion(&mut r)));
    let mut range_tombstones = Vec::new();
    if flags & HAS_RANGES != 0 {
        let n = ours(r.len());
        range_tombstones.reserve_exact(n);
        for _ in 0..n {
            let range = ours(get_range(&mut r));
            let deletion = ours(get_deletion(&mut r));
            range_tombstones.push(RangeTombstone { range, deletion });
        }
    }
    let static_row = (flags & HAS_STATIC != 0).then(|| Row {
        clustering: ClusteringKey::EMPTY,
        ..ours(get_row(&mut r))
    });
    Header {
        deletion,
        range_tombstones,
        static_row,
    }
}

/// The rows of an encoded rows part: `(clustering key bytes, row encoding)`.
fn row_extents(rows: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut r = Reader::new(rows);
    std::iter::from_fn(move || {
        if r.is_empty() {
            return None;
        }
        let body = ours(r.slice());
        let clustering = ours(Reader::new(body).slice());
        Some((clustering, body))
    })
}

fn decode_row(body: &[u8]) -> Row {
    ours(get_row(&mut Reader::new(body)))
}

/// Decodes every row (values copied out of the buffer).
pub(crate) fn decode_rows(rows: &[u8]) -> Rows {
    Rows::from_sorted(
        row_extents(rows)
            .map(|(_, body)| decode_row(body))
            .collect(),
    )
}

fn after_lo(ck: &[u8], lo: RBound<&ClusteringKey>) -> bool {
    match lo {
        RBound::Unbounded => true,
        RBound::Included(k) => ck >= k.as_bytes(),
        RBound::Excluded(k) => ck > k.as_bytes(),
    }
}

fn before_hi(ck: &[u8], hi: RBound<&ClusteringKey>) -> bool {
    match hi {
        RBound::Unbounded => true,
        RBound::Included(k) => ck <= k.as_bytes(),
        RBound::Excluded(k) => ck < k.as_bytes(),
    }
}

/// Like `Rows::copy_range`, decoding only the rows it hands out.
pub(crate) fn copy_range<'a>(
    rows: &'a [u8],
    lo: RBound<&ClusteringKey>,
    hi: RBound<&ClusteringKey>,
    reversed: bool,
    want: usize,
    keep: &dyn Fn(&[u8]) -> bool,
    sink: &mut dyn FnMut(Row),
) -> (usize, Option<ClusteringKey>) {
    let within = row_extents(rows)
        .skip_while(|(ck, _)| !after_lo(ck, lo))
        .take_while(|(ck, _)| before_hi(ck, hi))
        .filter(|(ck, _)| keep(ck));
    let mut n = 0;
    let mut last = None;
    let mut take = |(ck, body): (&'a [u8], &[u8])| {
        sink(decode_row(body));
        n += 1;
        last = Some(ck);
    };
    if reversed {
        let all: Vec<_> = within.collect();
        all.into_iter().rev().take(want).for_each(&mut take);
    } else {
        within.take(want).for_each(&mut take);
    }
    (n, last.map(|k| ClusteringKey(Bytes::copy_from_slice(k))))
}
