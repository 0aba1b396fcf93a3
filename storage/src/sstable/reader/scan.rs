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

    /// The next item; errors and the end of the range end the scan. Items are
    /// built directly in the returned value (rows are moved once, not per layer).
    fn step(&mut self) -> Option<Result<Unfiltered>> {
        loop {
            let at = match item_at(&self.block, self.pos, self.end) {
                Ok(at) => at,
                Err(e) => return self.fail(e),
            };
            match at {
                ItemAt::End => match self.next_block() {
                    Ok(true) => {}
                    Ok(false) => return self.finish(),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                ItemAt::Partition => {
                    let (header, next) = match decode_header(&self.block, self.pos) {
                        Ok(h) => h,
                        Err(e) => return self.fail(e.0),
                    };
                    if !self.range.admits_before_end(&header.key) {
                        return self.finish();
                    }
                    self.pos = next;
                    self.in_partition = true;
                    return Some(Ok(Unfiltered::Partition(header)));
                }
                ItemAt::Row => return self.row(),
            }
        }
    }

    fn row(&mut self) -> Option<Result<Unfiltered>> {
        if !self.in_partition {
            return self.fail("a row outside any partition");
        }
        let head = match row_head(&self.block, self.pos) {
            Ok(h) => h,
            Err(e) => return self.fail(e.0),
        };
        self.pos = head.next;
        match decode_row(&self.block, &head) {
            Ok(row) => Some(Ok(Unfiltered::Row(row))),
            Err(e) => self.fail(e.0),
        }
    }

    fn finish(&mut self) -> Option<Result<Unfiltered>> {
        self.done = true;
        None
    }

    #[cold]
    fn fail(&mut self, reason: impl Into<String>) -> Option<Result<Unfiltered>> {
        self.done = true;
        Some(Err(self.corrupt(reason)))
    }
}

impl Iterator for Scanner {
    type Item = Result<Unfiltered>;

    fn next(&mut self) -> Option<Result<Unfiltered>> {
        if self.done {
            return None;
        }
        self.step()
    }
}
