//! The lazy k-way merge of whole sources in partition order, shared by scans
//! and compaction.

use super::context::{Mode, PartitionCtx};
use super::cursor::{Cursor, next_merged_row};
use crate::cell::{Row, Timestamp};
use crate::error::Result;
use crate::key::{ClusteringKey, DecoratedKey};
use crate::partition::{KeyRange, PartitionHeader, Unfiltered, UnfilteredIter};
use crate::reconcile::{Purger, merge_headers};

/// What a [`MergeIter`] produces.
pub(crate) struct MergeConfig {
    pub(crate) mode: Mode,
    pub(crate) now: i64,
    pub(crate) range: KeyRange,
    pub(crate) resume_after: Option<(DecoratedKey, ClusteringKey)>,
}

/// Per-key `max_purgeable`, supplied by compaction.
pub(crate) type MaxPurgeable = Box<dyn Fn(&DecoratedKey) -> Timestamp + Send>;

/// Merged partitions in `(token, key)` order: headers, then rows ascending.
pub(crate) struct MergeIter {
    /// The sources not yet exhausted (dropped as they run dry, so that a scan
    /// of one live source pays for no selection).
    cursors: Vec<Cursor>,
    cfg: MergeConfig,
    max_purgeable: Option<MaxPurgeable>,
    /// Whether a partition's rows are being merged.
    in_partition: bool,
    /// The current partition's deletions.
    ctx: PartitionCtx,
    /// The current header, until something makes it worth emitting.
    pending: Option<PartitionHeader>,
    /// Rows at or before this key are skipped (paging resumes after it).
    skip_through: Option<ClusteringKey>,
    /// The cursors holding the current partition (reused across partitions).
    active: Vec<usize>,
    /// Headers being merged (reused across partitions).
    headers: Vec<PartitionHeader>,
    /// A row to return after the header just returned.
    queued: Option<Row>,
    tombstones: usize,
    done: bool,
}

impl MergeIter {
    pub(crate) fn new(sources: Vec<UnfilteredIter>, cfg: MergeConfig) -> MergeIter {
        MergeIter {
            cursors: sources.into_iter().map(Cursor::new).collect(),
            ctx: PartitionCtx::empty(cfg.now),
            cfg,
            max_purgeable: None,
            in_partition: false,
            pending: None,
            skip_through: None,
            active: Vec::new(),
            headers: Vec::new(),
            queued: None,
            tombstones: 0,
            done: false,
        }
    }

    pub(crate) fn tombstones(&self) -> usize {
        self.tombstones
            + if self.in_partition {
                self.ctx.tombstones
            } else {
                0
            }
    }

    /// The index of the cursor whose next partition comes first.
    fn first_partition(&mut self) -> Result<Option<usize>> {
        let mut best: Option<usize> = None;
        let mut any_done = false;
        for i in 0..self.cursors.len() {
            // A source's rows are consumed with their partition; stray rows
            // (a source ending one partition early) are dropped.
            self.cursors[i].skip_rows()?;
            let Some(Unfiltered::Partition(h)) = self.cursors[i].head() else {
                any_done |= self.cursors[i].is_done();
                continue;
            };
            let better = match best.and_then(|b| self.cursors[b].head()) {
                Some(Unfiltered::Partition(b)) => h.key < b.key,
                _ => true,
            };
            if better {
                best = Some(i);
            }
        }
        if any_done {
            // Between partitions no index is held, so the survivors may shift.
            let before = best.map_or(0, |b| {
                self.cursors[..b].iter().filter(|c| c.is_done()).count()
            });
            self.cursors.retain(|c| !c.is_done());
            best = best.map(|b| b - before);
        }
        Ok(best)
    }

    /// Loads the next partition's headers into `headers` and its sources into
    /// `active`, in source order; false at the end of the merge or the range.
    fn gather_partition(&mut self) -> Result<bool> {
        let Some(first) = self.first_partition()? else {
            return Ok(false);
        };
        let Some(Unfiltered::Partition(head)) = self.cursors[first].take() else {
            return Ok(false);
        };
        if !self.cfg.range.admits_before_end(&head.key) {
            return Ok(false);
        }
        self.active.clear();
        self.headers.clear();
        self.active.push(first);
        self.headers.push(head);
        let key = &self.headers[0].key;
        // `first` is the lowest index holding the key, so the rest follow it.
        for (i, c) in self.cursors.iter().enumerate().skip(first + 1) {
            if matches!(c.head(), Some(Unfiltered::Partition(h)) if h.key == *key) {
                self.active.push(i);
            }
        }
        for &i in &self.active[1..] {
            if let Some(Unfiltered::Partition(h)) = self.cursors[i].take() {
                self.headers.push(h);
            }
        }
        Ok(true)
    }

    /// Starts the next partition; returns its header when it goes out at once.
    fn start_partition(&mut self) -> Result<Option<PartitionHeader>> {
        if !self.gather_partition()? {
            self.done = true;
            return Ok(None);
        }
        let key = &self.headers[0].key;
        let resume = self.cfg.resume_after.as_ref();
        if !self.cfg.range.admits_after_start(key) || resume.is_some_and(|(k, _)| key < k) {
            for &i in &self.active {
                self.cursors[i].skip_rows()?;
            }
            return Ok(None);
        }
        self.skip_through = resume.filter(|(k, _)| k == key).map(|(_, c)| c.clone());
        if let (Mode::Compaction(p), Some(f)) = (&mut self.cfg.mode, &self.max_purgeable) {
            p.max_purgeable = f(key);
        }
        let mode = &self.cfg.mode;
        let merged = match self.headers.len() {
            1 => self.headers.pop(),
            _ => self.headers.drain(..).reduce(merge_headers),
        };
        let Some(merged) = merged else {
            return Ok(None);
        };
        let ctx = &mut self.ctx;
        let (key, static_row) = ctx.reset(merged, mode);
        let static_row = static_row.and_then(|s| ctx.process_static(mode, s));
        let header = PartitionHeader {
            deletion: ctx.output_deletion(mode),
            range_tombstones: match mode {
                Mode::Live(_) => Vec::new(),
                _ => ctx.take_visible_range_tombstones(),
            },
            static_row,
            key,
        };
        let eager = match mode {
            Mode::Live(_) => header.static_row.is_some() && self.skip_through.is_none(),
            Mode::Tombstones(_) => self.skip_through.is_none(),
            Mode::Compaction(_) => {
                header.deletion.is_some()
                    || !header.range_tombstones.is_empty()
                    || header.static_row.is_some()
            }
        };
        self.in_partition = true;
        if eager {
            return Ok(Some(header));
        }
        self.pending = Some(header);
        Ok(None)
    }

    fn step(&mut self) -> Result<Option<Unfiltered>> {
        if let Some(q) = self.queued.take() {
            return Ok(Some(Unfiltered::Row(q)));
        }
        while !self.done {
            if !self.in_partition {
                if let Some(h) = self.start_partition()? {
                    return Ok(Some(Unfiltered::Partition(h)));
                }
                continue;
            }
            let Some(mut row) = next_merged_row(&mut self.cursors, &self.active, false)? else {
                self.tombstones += self.ctx.tombstones;
                self.in_partition = false;
                self.pending = None;
                continue;
            };
            if self
                .skip_through
                .as_ref()
                .is_some_and(|c| row.clustering <= *c)
            {
                continue;
            }
            if !self.ctx.process(&self.cfg.mode, &mut row) {
                continue;
            }
            if let Some(h) = self.pending.take() {
                self.queued = Some(row);
                return Ok(Some(Unfiltered::Partition(h)));
            }
            return Ok(Some(Unfiltered::Row(row)));
        }
        Ok(None)
    }
}

impl Iterator for MergeIter {
    type Item = Result<Unfiltered>;

    #[inline]
    fn next(&mut self) -> Option<Result<Unfiltered>> {
        match self.step() {
            Ok(u) => u.map(Ok),
            Err(e) => {
                self.done = true;
                self.queued = None;
                Some(Err(e))
            }
        }
    }
}

/// Merges whole sources for compaction: reconciled, shadowed data removed,
/// purgeable tombstones dropped (`local_deletion_time < gc_before` and timestamp
/// below `max_purgeable(key)`, the oldest data of that partition outside the
/// compaction), expired cells turned into tombstones, empty rows and
/// partitions dropped. The output is in SSTable-writer order.
pub(crate) fn merge_for_compaction(
    sources: Vec<UnfilteredIter>,
    now: i64,
    gc_before: i64,
    max_purgeable: Box<dyn Fn(&DecoratedKey) -> Timestamp + Send>,
) -> UnfilteredIter {
    let purger = Purger {
        now,
        gc_before,
        max_purgeable: Timestamp::MIN,
    };
    let mut it = MergeIter::new(
        sources,
        MergeConfig {
            mode: Mode::Compaction(purger),
            now,
            range: KeyRange::ALL,
            resume_after: None,
        },
    );
    it.max_purgeable = Some(max_purgeable);
    Box::new(it)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;
    use crate::error::Error;
    use crate::key::{ColumnId, Token};
    use crate::read::ColumnFilter;

    fn pk(t: i64) -> DecoratedKey {
        DecoratedKey::new(Token(t), vec![t as u8])
    }

    fn part(t: i64) -> Result<Unfiltered> {
        Ok(Unfiltered::Partition(PartitionHeader::new(pk(t))))
    }

    fn row(c: u8, ts: i64) -> Row {
        Row::new(ClusteringKey::new(vec![c])).with_cell(ColumnId(0), None, Cell::live(ts, vec![c]))
    }

    fn source(items: Vec<Result<Unfiltered>>) -> UnfilteredIter {
        Box::new(items.into_iter())
    }

    fn merge(sources: Vec<UnfilteredIter>) -> Vec<Result<Unfiltered>> {
        let cfg = MergeConfig {
            mode: Mode::Tombstones(ColumnFilter::All),
            now: 0,
            range: KeyRange::ALL,
            resume_after: None,
        };
        MergeIter::new(sources, cfg).collect()
    }

    fn ok(items: Vec<Result<Unfiltered>>) -> Vec<Unfiltered> {
        items.into_iter().map(|r| r.expect("no error")).collect()
    }

    #[test]
    fn sources_running_dry_at_different_times_merge_in_order() {
        let sources = vec![
            source(vec![]),
            // A stray row before any partition is dropped.
            source(vec![
                Ok(Unfiltered::Row(row(9, 1))),
                part(1),
                Ok(Unfiltered::Row(row(1, 1))),
            ]),
            source(vec![
                part(1),
                Ok(Unfiltered::Row(row(1, 2))),
                Ok(Unfiltered::Row(row(2, 2))),
                part(3),
                Ok(Unfiltered::Row(row(3, 2))),
            ]),
            source(vec![part(2), Ok(Unfiltered::Row(row(5, 1))), part(4)]),
        ];
        let expected = vec![
            Unfiltered::Partition(PartitionHeader::new(pk(1))),
            Unfiltered::Row(row(1, 2)),
            Unfiltered::Row(row(2, 2)),
            Unfiltered::Partition(PartitionHeader::new(pk(2))),
            Unfiltered::Row(row(5, 1)),
            Unfiltered::Partition(PartitionHeader::new(pk(3))),
            Unfiltered::Row(row(3, 2)),
            Unfiltered::Partition(PartitionHeader::new(pk(4))),
        ];
        assert_eq!(ok(merge(sources)), expected);
    }

    #[test]
    fn an_error_after_other_sources_ran_dry_is_returned_once() {
        let err = || Error::Malformed {
            what: "test",
            reason: "boom".into(),
        };
        let sources = vec![
            source(vec![part(1)]),
            source(vec![
                part(2),
                Ok(Unfiltered::Row(row(1, 1))),
                Err(err()),
                Ok(Unfiltered::Row(row(2, 1))),
            ]),
        ];
        let out = merge(sources);
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(out[..3].iter().all(|r| r.is_ok()));
        assert!(out[3].is_err());
    }
}
