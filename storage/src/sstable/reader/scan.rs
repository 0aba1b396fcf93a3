//! The scan iterator: every partition of a key range, header then rows ascending,
//! streaming block after block.
//!
//! Scans read blocks through the cache only when they are already there and do not
//! insert what they load, so a compaction or full scan does not flush the point-read
//! working set out of the cache.

use super::{ItemAt, SsTable, item_at};
use crate::error::{Error, Result};
use crate::key::{DecoratedKey, Token};
use crate::partition::{KeyRange, Unfiltered, UnfilteredIter};
use crate::sstable::block::BlockView;
use crate::sstable::row::{decode_header, decode_row, row_head};
use bytes::Bytes;
use std::sync::Arc;

pub(super) struct Scanner {
    table: Arc<SsTable>,
    range: KeyRange,
    j: usize,
    block: Bytes,
    pos: usize,
    end: usize,
    in_partition: bool,
    done: bool,
}

impl Scanner {
    /// Positions a scanner on the first partition of `range`.
    pub(super) fn start(table: Arc<SsTable>, range: &KeyRange) -> Result<UnfilteredIter> {
        let ix = &table.index;
        let lb = ix.partition_point(|j| !range.admits_after_start(&table.index_key(j)));
        // The first admitted partition is in the block before `lb` (mid-block) or starts `lb`.
        let b = lb.saturating_sub(1);
        let block = table.block_for_scan(b)?;
        let view = BlockView::parse(&block, false).map_err(|e| table.corrupt_block(b, e))?;
        let first = view
            .first_admitted(|token, key| {
                range.admits_after_start(&DecoratedKey {
                    token: Token(token),
                    key: block.slice_ref(key),
                })
            })
            .map_err(|e| table.corrupt_block(b, e))?;
        let end = view.items_end;
        let scanner = Scanner {
            table,
            range: range.clone(),
            j: b,
            // Nothing admitted in `b`: the scan starts at the beginning of the next block.
            pos: first.unwrap_or(end),
            end,
            block,
            in_partition: false,
            done: false,
        };
        Ok(Box::new(scanner))
    }

    fn corrupt(&self, reason: impl Into<String>) -> Error {
        self.table.corrupt_block(self.j, reason)
    }

    /// Moves to the next block; false at the end of the table.
    fn next_block(&mut self) -> Result<bool> {
        let j = self.j + 1;
        if j >= self.table.index.len() {
            return Ok(false);
        }
        let block = self.table.block_for_scan(j)?;
        let view = BlockView::parse(&block, false).map_err(|e| self.table.corrupt_block(j, e))?;
        let cont = view.is_continuation();
        self.end = view.items_end;
        self.j = j;
        self.block = block;
        self.pos = usize::from(cont);
        if cont && !self.in_partition {
            return Err(self.corrupt("a scan began in a continuation block"));
        }
        Ok(true)
    }

    fn step(&mut self) -> Result<Option<Unfiltered>> {
        loop {
            match item_at(&self.block, self.pos, self.end).map_err(|e| self.corrupt(e))? {
                ItemAt::End => {
                    if !self.next_block()? {
                        return Ok(None);
                    }
                }
                ItemAt::Partition => {
                    let (header, next) =
                        decode_header(&self.block, self.pos).map_err(|e| self.corrupt(e.0))?;
                    if !self.range.admits_before_end(&header.key) {
                        return Ok(None);
                    }
                    self.pos = next;
                    self.in_partition = true;
                    return Ok(Some(Unfiltered::Partition(header)));
                }
                ItemAt::Row => {
                    if !self.in_partition {
                        return Err(self.corrupt("a row outside any partition"));
                    }
                    let head = row_head(&self.block, self.pos).map_err(|e| self.corrupt(e.0))?;
                    self.pos = head.next;
                    let row = decode_row(&self.block, &head).map_err(|e| self.corrupt(e.0))?;
                    return Ok(Some(Unfiltered::Row(row)));
                }
            }
        }
    }
}

impl Iterator for Scanner {
    type Item = Result<Unfiltered>;

    fn next(&mut self) -> Option<Result<Unfiltered>> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
