//! The lazy k-way merge of whole sources in partition order, shared by scans
//! and compaction.

use super::context::{Mode, PartitionCtx};
use super::cursor::{Cursor, next_merged_row};
use crate::cell::Timestamp;
use crate::error::Result;
use crate::key::{ClusteringKey, DecoratedKey};
use crate::partition::{KeyRange, PartitionHeader, Unfiltered, UnfilteredIter};
use crate::reconcile::Purger;

/// What a [`MergeIter`] produces.
pub(crate) struct MergeConfig {
    pub(crate) mode: Mode,
    pub(crate) now: i64,
    pub(crate) range: KeyRange,
    pub(crate) resume_after: Option<(DecoratedKey, ClusteringKey)>,
}

/// Per-key `max_purgeable`, supplied by compaction.
pub(crate) type MaxPurgeable = Box<dyn Fn(&DecoratedKey) -> Timestamp + Send>;

struct Current {
    ctx: PartitionCtx,
    /// The header, until something makes it worth emitting.
    header: Option<PartitionHeader>,
    /// Rows at or before this key are skipped (paging resumes after it).
    skip_through: Option<ClusteringKey>,
}

/// Merged partitions in `(token, key)` order: headers, then rows ascending.
pub(crate) struct MergeIter {
    cursors: Vec<Cursor>,
    cfg: MergeConfig,
    max_purgeable: Option<MaxPurgeable>,
    part: Option<Current>,
    /// The cursors holding the current partition (reused across partitions).
    active: Vec<usize>,
    /// Headers being merged (reused across partitions).
    headers: Vec<PartitionHeader>,
    queued: Option<Unfiltered>,
    tombstones: usize,
    done: bool,
}

impl MergeIter {
    pub(crate) fn new(sources: Vec<UnfilteredIter>, cfg: MergeConfig) -> MergeIter {
        MergeIter {
            cursors: sources.into_iter().map(Cursor::new).collect(),
            cfg,
            max_purgeable: None,
            part: None,
            active: Vec::new(),
            headers: Vec::new(),
            queued: None,
            tombstones: 0,
            done: false,
        }
    }

    pub(crate) fn tombstones(&self) -> usize {
        self.tombstones + self.part.as_ref().map_or(0, |p| p.ctx.tombstones)
    }

    /// The index of the cursor whose next partition comes first.
    fn first_partition(&mut self) -> Result<Option<usize>> {
        let mut best: Option<usize> = None;
        for i in 0..self.cursors.len() {
            // A source's rows are consumed with their partition; stray rows
            // (a source ending one partition early) are dropped.
            self.cursors[i].skip_rows()?;
            let Some(Unfiltered::Partition(h)) = self.cursors[i].head() else {
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
        Ok(best)
    }

    /// Starts the next partition; returns its header when it goes out at once.
    fn start_partition(&mut self) -> Result<Option<Unfiltered>> {
        let Some(first) = self.first_partition()? else {
            self.done = true;
            return Ok(None);
        };
        let key = match self.cursors[first].head() {
            Some(Unfiltered::Partition(h)) => h.key.clone(),
            _ => return Ok(None),
        };
        if !self.cfg.range.admits_before_end(&key) {
            self.done = true;
            return Ok(None);
        }
        self.active.clear();
        self.headers.clear();
        for (i, c) in self.cursors.iter_mut().enumerate() {
            if matches!(c.head(), Some(Unfiltered::Partition(h)) if h.key == key)
                && let Some(Unfiltered::Partition(h)) = c.take()
            {
                self.active.push(i);
                self.headers.push(h);
            }
        }
        let resume = self.cfg.resume_after.as_ref();
        if !self.cfg.range.admits_after_start(&key) || resume.is_some_and(|(k, _)| key < *k) {
            for &i in &self.active {
                self.cursors[i].skip_rows()?;
            }
            return Ok(None);
        }
        let skip_through = resume.filter(|(k, _)| *k == key).map(|(_, c)| c.clone());
        if let (Mode::Compaction(p), Some(f)) = (&mut self.cfg.mode, &self.max_purgeable) {
            p.max_purgeable = f(&key);
        }
        let mode = &self.cfg.mode;
        let (mut ctx, static_row) =
            PartitionCtx::from_headers(self.headers.drain(..), mode, self.cfg.now);
        let static_row = static_row.and_then(|s| ctx.process_static(mode, s));
        let header = PartitionHeader {
            deletion: ctx.output_deletion(mode),
            range_tombstones: match mode {
                Mode::Live(_) => Vec::new(),
                _ => ctx.visible_range_tombstones().to_vec(),
            },
            static_row,
            key,
        };
        let eager = match mode {
            Mode::Live(_) => header.static_row.is_some() && skip_through.is_none(),
            Mode::Tombstones(_) => skip_through.is_none(),
            Mode::Compaction(_) => {
                header.deletion.is_some()
                    || !header.range_tombstones.is_empty()
                    || header.static_row.is_some()
            }
        };
        let (now, later) = if eager {
            (Some(header), None)
        } else {
            (None, Some(header))
        };
        self.part = Some(Current {
            ctx,
            header: later,
            skip_through,
        });
        Ok(now.map(Unfiltered::Partition))
    }

    fn step(&mut self) -> Result<Option<Unfiltered>> {
        if let Some(q) = self.queued.take() {
            return Ok(Some(q));
        }
        while !self.done {
            let Some(cur) = self.part.as_mut() else {
                if let Some(h) = self.start_partition()? {
                    return Ok(Some(h));
                }
                continue;
            };
            let Some(row) = next_merged_row(&mut self.cursors, &self.active, false)? else {
                self.tombstones += cur.ctx.tombstones;
                self.part = None;
                continue;
            };
            if cur
                .skip_through
                .as_ref()
                .is_some_and(|c| row.clustering <= *c)
            {
                continue;
            }
            let Some(row) = cur.ctx.process(&self.cfg.mode, row) else {
                continue;
            };
            if let Some(h) = cur.header.take() {
                self.queued = Some(Unfiltered::Row(row));
                return Ok(Some(Unfiltered::Partition(h)));
            }
            return Ok(Some(Unfiltered::Row(row)));
        }
        Ok(None)
    }
}

impl Iterator for MergeIter {
    type Item = Result<Unfiltered>;

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
pub fn merge_for_compaction(
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
