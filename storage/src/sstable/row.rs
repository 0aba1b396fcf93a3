//! Encodings of the items inside a data block: partition headers, rows, continuation markers.
//!
//! Decoding borrows from the block: keys, clusterings, paths and values are
//! `Bytes::slice_ref`s of the cached block buffer, so reading a row allocates only its
//! cell vector. Rows carry their body length so that a reader can skip rows outside a
//! slice after looking at the clustering alone.
#![deny(clippy::indexing_slicing)]

use crate::cell::{RangeTombstone, Row};
use crate::codec::{DecodeError, Reader, put_bytes, put_varint};
use crate::key::{ClusteringKey, DecoratedKey, Token};
use crate::mutation::{get_deletion, get_range, put_deletion, put_range, put_row_body};
use crate::partition::PartitionHeader;
use bytes::Bytes;

/// A partition begins: its header follows.
pub(super) const TAG_PARTITION: u8 = 1;
/// A row of the current partition follows.
pub(super) const TAG_ROW: u8 = 2;
/// The first byte of a block that continues the previous block's partition.
pub(super) const TAG_CONTINUE: u8 = 3;

const HEADER_DELETION: u8 = 1;
const HEADER_STATIC: u8 = 2;

/// Appends a row item; `scratch` is reused for the body so its length can prefix it.
pub(super) fn put_row_item(out: &mut Vec<u8>, scratch: &mut Vec<u8>, row: &Row) {
    out.push(TAG_ROW);
    put_bytes(out, row.clustering.as_bytes());
    scratch.clear();
    put_row_body(scratch, row);
    put_bytes(out, scratch);
}

/// Appends a partition header item.
pub(super) fn put_header_item(out: &mut Vec<u8>, scratch: &mut Vec<u8>, h: &PartitionHeader) {
    out.push(TAG_PARTITION);
    out.extend_from_slice(&h.key.token.0.to_le_bytes());
    put_bytes(out, &h.key.key);
    let flags = (u8::from(h.deletion.is_some()) * HEADER_DELETION)
        | (u8::from(h.static_row.is_some()) * HEADER_STATIC);
    out.push(flags);
    if let Some(d) = &h.deletion {
        put_deletion(out, d);
    }
    put_varint(out, h.range_tombstones.len() as u64);
    for rt in &h.range_tombstones {
        put_range(out, &rt.range);
        put_deletion(out, &rt.deletion);
    }
    if let Some(s) = &h.static_row {
        scratch.clear();
        put_row_body(scratch, s);
        put_bytes(out, scratch);
    }
}

/// A row item located in a block, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowHead<'a> {
    pub(super) clustering: &'a [u8],
    pub(super) body: &'a [u8],
    /// Where the next item starts.
    pub(super) next: usize,
}

/// Reads the row item at `pos` (whose tag byte is `TAG_ROW`) without decoding its body.
pub(super) fn row_head(data: &[u8], pos: usize) -> Result<RowHead<'_>, DecodeError> {
    let mut r = Reader::new(data.get(pos + 1..).unwrap_or_default());
    let clustering = r.slice()?;
    let body = r.slice()?;
    Ok(RowHead {
        clustering,
        body,
        next: pos + 1 + r.position(),
    })
}

/// Shares `s` (a sub-slice of `block`) without copying.
fn share(block: &Bytes, s: &[u8]) -> Bytes {
    if s.is_empty() {
        Bytes::new()
    } else {
        block.slice_ref(s)
    }
}

/// Decodes a row whose clustering and body were located by [`row_head`] in `block`.
#[inline]
pub(super) fn decode_row(block: &Bytes, head: &RowHead<'_>) -> Result<Row, DecodeError> {
    let mut r = Reader::new(head.body);
    let row = get_row_body(block, &mut r, ClusteringKey(share(block, head.clustering)))?;
    if !r.is_empty() {
        return Err(DecodeError(format!(
            "{} trailing bytes in a row",
            r.remaining()
        )));
    }
    Ok(row)
}

#[inline]
fn get_row_body(
    block: &Bytes,
    r: &mut Reader<'_>,
    clustering: ClusteringKey,
) -> Result<Row, DecodeError> {
    crate::mutation::get_row_body(r, clustering, &|s| share(block, s))
}

/// The token and key bytes of the partition header item at `pos`.
pub(super) fn header_key_at(data: &[u8], pos: usize) -> Result<(i64, &[u8]), DecodeError> {
    let mut r = Reader::new(data.get(pos..).unwrap_or_default());
    let tag = r.u8()?;
    if tag != TAG_PARTITION {
        return Err(DecodeError(format!(
            "expected a partition at {pos}, found tag {tag}"
        )));
    }
    let token = r.i64()?;
    Ok((token, r.slice()?))
}

/// Decodes the partition header item at `pos`; returns it and where its rows start.
pub(super) fn decode_header(
    block: &Bytes,
    pos: usize,
) -> Result<(PartitionHeader, usize), DecodeError> {
    let mut r = Reader::new(block.get(pos..).unwrap_or_default());
    let tag = r.u8()?;
    if tag != TAG_PARTITION {
        return Err(DecodeError(format!(
            "expected a partition at {pos}, found tag {tag}"
        )));
    }
    let key = DecoratedKey {
        token: Token(r.i64()?),
        key: share(block, r.slice()?),
    };
    let flags = r.u8()?;
    if flags & !(HEADER_DELETION | HEADER_STATIC) != 0 {
        return Err(DecodeError(format!("unknown partition flags {flags:#x}")));
    }
    let deletion = if flags & HEADER_DELETION != 0 {
        Some(get_deletion(&mut r)?)
    } else {
        None
    };
    let n = r.len()?;
    let mut range_tombstones = Vec::with_capacity(n);
    for _ in 0..n {
        let range = get_range(&mut r)?;
        let deletion = get_deletion(&mut r)?;
        range_tombstones.push(RangeTombstone { range, deletion });
    }
    let static_row = if flags & HEADER_STATIC != 0 {
        let body = r.slice()?;
        let mut br = Reader::new(body);
        Some(Box::new(get_row_body(
            block,
            &mut br,
            ClusteringKey::EMPTY,
        )?))
    } else {
        None
    };
    let header = PartitionHeader {
        key,
        deletion,
        range_tombstones,
        static_row,
    };
    Ok((header, pos + r.position()))
}
