//! A peekable source stream and the k-way merge of rows across sources.

use crate::cell::Row;
use crate::error::Result;
use crate::partition::{Unfiltered, UnfilteredIter};
use crate::reconcile::merge_rows;
use std::cmp::Ordering;

/// A source stream with a one-item lookahead.
pub(crate) struct Cursor {
    iter: UnfilteredIter,
    head: Option<Unfiltered>,
    exhausted: bool,
}

impl Cursor {
    pub(crate) fn new(iter: UnfilteredIter) -> Self {
        Cursor {
            iter,
            head: None,
            exhausted: false,
        }
    }

    /// Loads the next item into `head` if it is empty; errors end the stream.
    pub(crate) fn fill(&mut self) -> Result<()> {
        if self.head.is_none() && !self.exhausted {
            match self.iter.next() {
                Some(Ok(u)) => self.head = Some(u),
                Some(Err(e)) => {
                    self.exhausted = true;
                    return Err(e);
                }
                None => self.exhausted = true,
            }
        }
        Ok(())
    }

    /// The loaded head (call [`Cursor::fill`] first).
    pub(crate) fn head(&self) -> Option<&Unfiltered> {
        self.head.as_ref()
    }

    /// The head row, if the head is a row.
    pub(crate) fn head_row(&self) -> Option<&Row> {
        match &self.head {
            Some(Unfiltered::Row(r)) => Some(r),
            _ => None,
        }
    }

    /// Whether the stream has nothing more to give.
    pub(crate) fn is_done(&self) -> bool {
        self.exhausted && self.head.is_none()
    }

    /// The next row of the current partition, taken straight from the stream
    /// when nothing is loaded (a row is then never parked in `head`); `None`
    /// when the next item is a partition or the stream ended.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>> {
        match self.head.take() {
            Some(Unfiltered::Row(r)) => return Ok(Some(r)),
            Some(p) => {
                self.head = Some(p);
                return Ok(None);
            }
            None if self.exhausted => return Ok(None),
            None => {}
        }
        match self.iter.next() {
            Some(Ok(Unfiltered::Row(r))) => Ok(Some(r)),
            Some(Ok(p)) => {
                self.head = Some(p);
                Ok(None)
            }
            Some(Err(e)) => {
                self.exhausted = true;
                Err(e)
            }
            None => {
                self.exhausted = true;
                Ok(None)
            }
        }
    }

    pub(crate) fn take(&mut self) -> Option<Unfiltered> {
        self.head.take()
    }

    /// Drops the rest of the current partition's rows.
    pub(crate) fn skip_rows(&mut self) -> Result<()> {
        loop {
            self.fill()?;
            if self.head_row().is_none() {
                return Ok(());
            }
            self.head = None;
        }
    }
}

/// The next row in clustering order (descending when `reversed`) among the
/// `active` cursors, merged across all that hold it; `None` when every active
/// cursor has left the partition.
pub(crate) fn next_merged_row(
    cursors: &mut [Cursor],
    active: &[usize],
    reversed: bool,
) -> Result<Option<Row>> {
    if let [only] = active {
        // One source holds the partition: nothing to select or reconcile.
        return cursors[*only].next_row();
    }
    let mut best: Option<usize> = None;
    for &i in active {
        cursors[i].fill()?;
        let Some(r) = cursors[i].head_row() else {
            continue;
        };
        let better = match best.and_then(|b| cursors[b].head_row()) {
            None => true,
            Some(b) => {
                let ord = r.clustering.cmp(&b.clustering);
                if reversed {
                    ord == Ordering::Greater
                } else {
                    ord == Ordering::Less
                }
            }
        };
        if better {
            best = Some(i);
        }
    }
    let Some(b) = best else {
        return Ok(None);
    };
    let Some(Unfiltered::Row(mut row)) = cursors[b].take() else {
        return Ok(None);
    };
    for &i in active {
        if i == b
            || cursors[i]
                .head_row()
                .is_none_or(|r| r.clustering != row.clustering)
        {
            continue;
        }
        if let Some(Unfiltered::Row(other)) = cursors[i].take() {
            row = merge_rows(row, other);
        }
    }
    Ok(Some(row))
}
