//! Row iterators of a point read: slices forward, or slices in reverse with blocks
//! backwards and rows within a block backwards.
//!
//! Only the blocks overlapping a slice are read. A continuation block `j` holds the
//! rows from its first clustering `c_j` up to `c_{j+1}`, so with the prefix semantics of
//! bounds (the keys before a start bound, and the keys after an end bound, are
//! downward- and upward-closed sets) block `j` can be skipped when `c_{j+1}` is before
//! the start, and reading can stop at the first block whose `c_j` is after the end.
#![allow(
    clippy::indexing_slicing,
    reason = "indexes the query's slices by position, never bytes read from disk"
)]

use super::{ItemAt, SsTable, item_at};
use crate::cell::Row;
use crate::error::{Error, Result};
use crate::key::ClusteringRange;
use crate::partition::RowIter;
use crate::sstable::block::BlockView;
use crate::sstable::row::{decode_row, row_head};
use bytes::Bytes;
use std::sync::Arc;

/// Where one partition lies: its header in block `h`, continuations up to block `e`.
#[derive(Debug)]
pub(super) struct PartitionBlocks {
    pub(super) table: Arc<SsTable>,
    pub(super) h: usize,
    pub(super) e: usize,
    pub(super) header_block: Bytes,
    pub(super) rows_pos: usize,
}

/// An open block: the partition's rows from `pos` until a new partition or `end`.
#[derive(Debug)]
struct Cursor {
    j: usize,
    block: Bytes,
    pos: usize,
    end: usize,
}

impl PartitionBlocks {
    /// The inclusive range of blocks that may hold rows of `s` (empty when `jb > je`).
    fn slice_blocks(&self, s: &ClusteringRange) -> (usize, usize) {
        let ix = &self.table.index;
        let n = self.e - self.h;
        let jb =
            self.h + count_leading(n, |k| !s.admits_after_start(ix.clustering(self.h + 1 + k)));
        let je = self.h + count_leading(n, |k| s.admits_before_end(ix.clustering(self.h + 1 + k)));
        (jb, je)
    }

    fn open(&self, j: usize) -> Result<Cursor> {
        if j == self.h {
            let view = BlockView::parse(&self.header_block, false)
                .map_err(|e| self.table.corrupt_block(j, e))?;
            return Ok(Cursor {
                j,
                end: view.items_end,
                block: self.header_block.clone(),
                pos: self.rows_pos,
            });
        }
        let block = self.table.block(j)?;
        let view = BlockView::parse(&block, false).map_err(|e| self.table.corrupt_block(j, e))?;
        if !view.is_continuation() {
            return Err(self.table.corrupt_block(j, "expected a continuation block"));
        }
        Ok(Cursor {
            j,
            end: view.items_end,
            block,
            pos: 1,
        })
    }

    fn corrupt(&self, j: usize, reason: impl Into<String>) -> Error {
        self.table.corrupt_block(j, reason)
    }
}

/// How many of `0..n` satisfy `pred`, which is true then false.
fn count_leading(n: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
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

/// The rows of `p` within `slices`, in the requested order.
pub(super) fn row_iter(p: PartitionBlocks, slices: &[ClusteringRange], reversed: bool) -> RowIter {
    let slices: Vec<ClusteringRange> = slices.iter().filter(|s| !s.is_empty()).cloned().collect();
    if slices.is_empty() {
        return Box::new(std::iter::empty());
    }
    if reversed {
        let next_slice = slices.len();
        Box::new(Fused(ReverseRows {
            p,
            slices,
            next_slice,
            blocks: None,
            block: Bytes::new(),
            block_j: 0,
            stack: Vec::new(),
        }))
    } else {
        Box::new(Fused(ForwardRows {
            p,
            slices,
            si: 0,
            cur: None,
        }))
    }
}

/// Stops an iterator after its first error.
struct Fused<I>(I);

trait Step {
    fn step(&mut self) -> Result<Option<Row>>;
    fn stop(&mut self);
}

impl<I: Step> Iterator for Fused<I> {
    type Item = Result<Row>;
    fn next(&mut self) -> Option<Result<Row>> {
        match self.0.step() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.0.stop();
                Some(Err(e))
            }
        }
    }
}

struct ForwardRows {
    p: PartitionBlocks,
    slices: Vec<ClusteringRange>,
    si: usize,
    cur: Option<(Cursor, usize)>,
}

impl Step for ForwardRows {
    fn step(&mut self) -> Result<Option<Row>> {
        loop {
            if self.cur.is_none() {
                let Some(s) = self.slices.get(self.si) else {
                    return Ok(None);
                };
                let (jb, je) = self.p.slice_blocks(s);
                if jb > je {
                    self.si += 1;
                    continue;
                }
                self.cur = Some((self.p.open(jb)?, je));
            }
            let Some((c, je)) = self.cur.as_mut() else {
                continue;
            };
            let item = item_at(&c.block, c.pos, c.end).map_err(|e| self.p.corrupt(c.j, e))?;
            if item != ItemAt::Row {
                if c.j < *je {
                    let next = self.p.open(c.j + 1)?;
                    *c = next;
                } else {
                    self.si += 1;
                    self.cur = None;
                }
                continue;
            }
            let head = row_head(&c.block, c.pos).map_err(|e| self.p.corrupt(c.j, e.0))?;
            c.pos = head.next;
            let s = &self.slices[self.si];
            if !s.admits_before_end(head.clustering) {
                self.si += 1;
                self.cur = None;
                continue;
            }
            if s.admits_after_start(head.clustering) {
                let row = decode_row(&c.block, &head).map_err(|e| self.p.corrupt(c.j, e.0))?;
                return Ok(Some(row));
            }
        }
    }

    fn stop(&mut self) {
        self.si = self.slices.len();
        self.cur = None;
    }
}

struct ReverseRows {
    p: PartitionBlocks,
    slices: Vec<ClusteringRange>,
    /// Slices not yet started are `..next_slice`.
    next_slice: usize,
    /// The next block to read backwards and the slice's first block: `(j, jb, slice)`.
    blocks: Option<(usize, usize, usize)>,
    block: Bytes,
    block_j: usize,
    /// Offsets in `block` of the admitted rows not yet returned.
    stack: Vec<usize>,
}

impl ReverseRows {
    /// Collects the offsets of block `j`'s rows admitted by slice `si`.
    fn fill(&mut self, j: usize, si: usize) -> Result<()> {
        let mut c = self.p.open(j)?;
        let s = &self.slices[si];
        self.stack.clear();
        while item_at(&c.block, c.pos, c.end).map_err(|e| self.p.corrupt(j, e))? == ItemAt::Row {
            let head = row_head(&c.block, c.pos).map_err(|e| self.p.corrupt(j, e.0))?;
            if !s.admits_before_end(head.clustering) {
                break;
            }
            if s.admits_after_start(head.clustering) {
                self.stack.push(c.pos);
            }
            c.pos = head.next;
        }
        self.block = c.block;
        self.block_j = j;
        Ok(())
    }
}

impl Step for ReverseRows {
    fn step(&mut self) -> Result<Option<Row>> {
        loop {
            if let Some(pos) = self.stack.pop() {
                let j = self.block_j;
                let head = row_head(&self.block, pos).map_err(|e| self.p.corrupt(j, e.0))?;
                let row = decode_row(&self.block, &head).map_err(|e| self.p.corrupt(j, e.0))?;
                return Ok(Some(row));
            }
            match self.blocks {
                Some((j, jb, si)) => {
                    self.fill(j, si)?;
                    self.blocks = (j > jb).then(|| (j - 1, jb, si));
                }
                None => {
                    if self.next_slice == 0 {
                        return Ok(None);
                    }
                    self.next_slice -= 1;
                    let (jb, je) = self.p.slice_blocks(&self.slices[self.next_slice]);
                    if jb <= je {
                        self.blocks = Some((je, jb, self.next_slice));
                    }
                }
            }
        }
    }

    fn stop(&mut self) {
        self.next_slice = 0;
        self.blocks = None;
        self.stack.clear();
    }
}
