//! Memtable switch and flush, truncation and snapshots: the operations that move
//! a table's data between memory, SSTables and nothing.

use super::{LiveSsTable, MemtableSlot, Table, View, lock};
use crate::cell::Timestamp;
use crate::error::{Error, Result};
use crate::partition::{KeyRange, PartitionSource};
use crate::position::ReplayPosition;
use crate::sstable::{SsTable, SsTableWriter};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Table {
    /// Switches the active memtable out if it holds anything; the commit-log
    /// position `at` (now, unless replaying) bounds what it covers.
    fn switch_memtable(&self, at: Option<ReplayPosition>) -> bool {
        let mut guard = self.view.write().unwrap_or_else(|p| p.into_inner());
        if guard.active.memtable.is_empty() {
            return false;
        }
        // Taken under the write lock: no writer of this table is between its
        // commit-log append and its view read, so the position splits them cleanly.
        let pos = at.unwrap_or_else(|| self.ctx.commitlog.current_position());
        let old = guard.active.clone();
        // Memtables cover consecutive stretches of the log, oldest first: a
        // flush marks everything below its bound as in SSTables.
        debug_assert!(
            guard
                .flushing
                .last()
                .and_then(|s| s.upper_bound.get())
                .is_none_or(|prev| *prev <= pos),
            "memtable switched at {pos:?}, before the previous switch"
        );
        // The slot was created unswitched and only this path sets the bound.
        let first_switch = old.upper_bound.set(pos).is_ok();
        debug_assert!(first_switch, "an active memtable was already switched");
        let mut flushing = guard.flushing.clone();
        flushing.push(old);
        let id = self.next_memtable_id.fetch_add(1, Ordering::Relaxed);
        *guard = Arc::new(View {
            active: MemtableSlot::new(id),
            flushing,
            sstables: guard.sstables.clone(),
        });
        true
    }

    /// Switches the active memtable and writes every switched memtable to an
    /// SSTable, oldest first. Returns once they are durable and in the manifest.
    pub(crate) fn flush(&self) -> Result<()> {
        self.flush_at(None)
    }

    /// As [`Table::flush`], with the switch bounded at a replay position (used
    /// while replaying the commit log, whose current position is its end).
    pub(crate) fn flush_at(&self, at: Option<ReplayPosition>) -> Result<()> {
        let _flush = lock(&self.flush_lock);
        self.flush_requested.store(false, Ordering::Release);
        self.switch_memtable(at);
        loop {
            let Some(slot) = self.view().flushing.first().cloned() else {
                return Ok(());
            };
            // While replaying, the commit log is being read: leave its segments
            // alone until the first flush after start-up.
            self.flush_slot(&slot, at.is_none())?;
        }
    }

    fn flush_slot(&self, slot: &Arc<MemtableSlot>, discard_log: bool) -> Result<()> {
        slot.wait_for_writers(self.ctx.background)?;
        let upper_bound = *slot.upper_bound.get().ok_or_else(|| {
            Error::InvalidArgument("flushing a memtable that was never switched".into())
        })?;
        let output = if slot.memtable.is_empty() {
            None
        } else {
            Some(self.write_memtable(slot)?)
        };
        {
            let mut manifest = lock(&self.manifest);
            let mut next = manifest.clone();
            if let Some(out) = &output {
                next.sstables.push(crate::manifest::SsTableEntry {
                    generation: out.sstable.generation(),
                    level: 0,
                });
            }
            // Flushes go oldest memtable first under the flush lock, so the
            // watermark only moves forward; the max is a release-build guard.
            debug_assert!(
                upper_bound >= next.flushed_up_to,
                "flush bound {upper_bound:?} below the watermark {:?}",
                next.flushed_up_to
            );
            next.flushed_up_to = next.flushed_up_to.max(upper_bound);
            next.store(self.ctx.fs.as_ref(), &self.dir)?;
            *manifest = next;
            self.update_view(|v| View {
                active: v.active.clone(),
                flushing: v
                    .flushing
                    .iter()
                    .filter(|s| !Arc::ptr_eq(s, slot))
                    .cloned()
                    .collect(),
                sstables: v.sstables.iter().cloned().chain(output.clone()).collect(),
            });
        }
        self.ctx.release(slot);
        if discard_log {
            self.ctx.commitlog.discard_completed(self.id, upper_bound)?;
        }
        self.metrics.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn write_memtable(&self, slot: &Arc<MemtableSlot>) -> Result<LiveSsTable> {
        let options = super::sstable_options(&self.options());
        let generation = self.allocate_generation();
        let mut writer = SsTableWriter::new(
            self.ctx.fs.clone(),
            &self.dir,
            generation,
            &options,
            slot.memtable.partition_count(),
        )?;
        let items = slot.memtable.clone().scan(&KeyRange::ALL);
        let result = items.and_then(|items| {
            for item in items {
                writer.add(item?)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            writer.abort();
            return Err(e);
        }
        let info = writer.finish()?;
        self.metrics
            .bytes_flushed
            .fetch_add(info.size_bytes, Ordering::Relaxed);
        let sstable = SsTable::open(
            self.ctx.fs.clone(),
            &self.dir,
            generation,
            self.ctx.cache.clone(),
        )?;
        Ok(LiveSsTable { sstable, level: 0 })
    }

    /// Drops every row of the table: memtables are discarded, SSTables removed,
    /// and commit-log records below the current position no longer replay.
    /// With a time `at`, nothing written at or before it is taken or shown
    /// from now on (the latest of the table's truncation times counts).
    pub(crate) fn truncate(&self, at: Option<Timestamp>) -> Result<()> {
        let _flush = lock(&self.flush_lock);
        let mut compacting = lock(&self.compacting);
        while !compacting.is_empty() {
            // Let running compactions finish their swap before the table empties.
            self.ctx.background.may_wait("the table's compactions")?;
            drop(compacting);
            std::thread::sleep(std::time::Duration::from_millis(5));
            compacting = lock(&self.compacting);
        }
        let at = at.max(self.truncated_at());
        if let Some(at) = at {
            // Before the view swap: see `Table::truncated_at`.
            self.truncated_at.store(at.0, Ordering::Release);
        }
        let (old, pos) = {
            let mut guard = self.view.write().unwrap_or_else(|p| p.into_inner());
            let pos = self.ctx.commitlog.current_position();
            let old = guard.clone();
            let id = self.next_memtable_id.fetch_add(1, Ordering::Relaxed);
            *guard = Arc::new(View {
                active: MemtableSlot::new(id),
                flushing: Vec::new(),
                sstables: Vec::new(),
            });
            (old, pos)
        };
        drop(compacting);
        for slot in old.memtables() {
            slot.wait_for_writers(self.ctx.background)?;
            self.ctx.release(slot);
        }
        {
            let mut manifest = lock(&self.manifest);
            let mut next = manifest.clone();
            next.sstables.clear();
            next.flushed_up_to = next.flushed_up_to.max(pos);
            next.truncated_at = at;
            next.store(self.ctx.fs.as_ref(), &self.dir)?;
            *manifest = next;
        }
        for l in &old.sstables {
            SsTable::remove_files(self.ctx.fs.as_ref(), &self.dir, l.sstable.generation())?;
        }
        self.ctx.commitlog.discard_completed(self.id, pos)
    }

    /// Flushes, then hard-links every live SSTable file and a manifest naming them
    /// into `snapshots/<name>/` under the table's directory.
    pub(crate) fn snapshot(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::InvalidArgument(format!(
                "invalid snapshot name {name:?}"
            )));
        }
        self.flush()?;
        let dir = self.dir.join("snapshots").join(name);
        if self.ctx.fs.exists(&dir) {
            return Err(Error::InvalidArgument(format!(
                "snapshot {name:?} already exists"
            )));
        }
        let fs = self.ctx.fs.as_ref();
        fs.create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        // Hold the manifest lock so compaction cannot delete files mid-link.
        let manifest = lock(&self.manifest);
        for l in &self.view().sstables {
            for file in l.sstable.files() {
                let Some(file_name) = file.file_name() else {
                    continue;
                };
                let link = dir.join(file_name);
                fs.hard_link(&file, &link).map_err(|e| {
                    Error::io(
                        format!("linking {} to {}", file.display(), link.display()),
                        e,
                    )
                })?;
            }
        }
        manifest.store(fs, &dir)?;
        Ok(dir)
    }
}
