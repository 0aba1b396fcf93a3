//! Data block contents: consecutive items, then a table of where partitions start.
//!
//! ```text
//! items ...                      (TAG_CONTINUE first if the block continues a partition)
//! partition_offset: u32 LE × n   (offsets of the TAG_PARTITION items, ascending)
//! n: u32 LE
//! ```
//! The offset table lets a point read binary-search the block for its partition
//! instead of walking every item before it.
#![deny(clippy::indexing_slicing)]

use super::row::{TAG_CONTINUE, TAG_PARTITION, header_key_at};
use crate::key::DecoratedKey;
use std::cmp::Ordering;

/// Accumulates one block's items.
#[derive(Debug, Default)]
pub(super) struct BlockBuilder {
    pub(super) buf: Vec<u8>,
    partitions: Vec<u32>,
}

impl BlockBuilder {
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The size the finished block will have.
    pub(super) fn len(&self) -> usize {
        self.buf.len() + 4 * self.partitions.len() + 4
    }

    pub(super) fn start_continuation(&mut self) {
        self.buf.push(TAG_CONTINUE);
    }

    /// Notes that a partition header is about to be appended to `buf`.
    pub(super) fn mark_partition(&mut self) {
        let off = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.partitions.push(off);
    }

    /// Appends the offset table and returns the finished block; the builder is reset by `clear`.
    pub(super) fn finish(&mut self) -> &[u8] {
        for off in &self.partitions {
            self.buf.extend_from_slice(&off.to_le_bytes());
        }
        let n = u32::try_from(self.partitions.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&n.to_le_bytes());
        &self.buf
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.partitions.clear();
    }
}

/// A checked view of a decompressed block.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockView<'a> {
    pub(super) data: &'a [u8],
    /// Where items end and the offset table starts.
    pub(super) items_end: usize,
    table: &'a [u8],
}

impl<'a> BlockView<'a> {
    /// Parses the trailer; `validate` also checks every offset (done once, on load).
    pub(super) fn parse(data: &'a [u8], validate: bool) -> Result<Self, String> {
        let (body, trailer) = data
            .split_last_chunk::<4>()
            .ok_or("block shorter than its trailer")?;
        let n = u32::from_le_bytes(*trailer) as usize;
        let items_end = n
            .checked_mul(4)
            .and_then(|t| body.len().checked_sub(t))
            .ok_or_else(|| format!("partition table of {n} entries exceeds the block"))?;
        let view = BlockView {
            data,
            items_end,
            table: body.get(items_end..).unwrap_or_default(),
        };
        if validate {
            view.validate()?;
        }
        Ok(view)
    }

    fn validate(&self) -> Result<(), String> {
        let mut prev = None;
        for i in 0..self.partition_count() {
            let off = self.partition_offset(i);
            if off >= self.items_end || prev.is_some_and(|p| p >= off) {
                return Err(format!("partition offset {off} out of order or range"));
            }
            if self.data.get(off) != Some(&TAG_PARTITION) {
                return Err(format!(
                    "partition offset {off} does not point at a partition"
                ));
            }
            prev = Some(off);
        }
        match self.data.first() {
            Some(&TAG_CONTINUE) => Ok(()),
            Some(&TAG_PARTITION) if self.partition_count() > 0 && self.partition_offset(0) == 0 => {
                Ok(())
            }
            _ => Err("a block must start with a partition or a continuation".into()),
        }
    }

    pub(super) fn partition_count(&self) -> usize {
        self.table.len() / 4
    }

    /// The offset of partition `i` (below `partition_count`). Past the table
    /// it is `usize::MAX`, an offset every reader of the block refuses.
    pub(super) fn partition_offset(&self, i: usize) -> usize {
        self.table
            .get(i.saturating_mul(4)..)
            .and_then(|b| b.first_chunk::<4>())
            .map_or(usize::MAX, |b| u32::from_le_bytes(*b) as usize)
    }

    /// Whether the block begins by continuing the previous block's partition.
    pub(super) fn is_continuation(&self) -> bool {
        self.data.first() == Some(&TAG_CONTINUE)
    }

    fn cmp_at(&self, i: usize, key: &DecoratedKey) -> Result<Ordering, String> {
        let (token, k) = header_key_at(self.data, self.partition_offset(i)).map_err(|e| e.0)?;
        Ok(token.cmp(&key.token.0).then_with(|| k.cmp(&key.key[..])))
    }

    /// The offset of `key`'s header in this block, if it starts here.
    pub(super) fn find(&self, key: &DecoratedKey) -> Result<Option<usize>, String> {
        let (mut lo, mut hi) = (0, self.partition_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.cmp_at(mid, key)? {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Some(self.partition_offset(mid))),
            }
        }
        Ok(None)
    }

    /// The offset of the first partition header satisfying `admit`, which must be
    /// false then true along the block (a range's start test).
    pub(super) fn first_admitted(
        &self,
        mut admit: impl FnMut(i64, &[u8]) -> bool,
    ) -> Result<Option<usize>, String> {
        let (mut lo, mut hi) = (0, self.partition_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (token, k) =
                header_key_at(self.data, self.partition_offset(mid)).map_err(|e| e.0)?;
            if admit(token, k) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok((lo < self.partition_count()).then(|| self.partition_offset(lo)))
    }
}
