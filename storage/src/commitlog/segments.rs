//! Segment files' life cycle: listing at open, creation ahead of need, and
//! recycling or deletion once no table needs a segment's records.
//!
//! A recycled file keeps its allocated blocks, so writing into it again needs
//! no block allocation and its fdatasyncs stay cheap; it gets a fresh id (header
//! rewritten, file renamed) so that its stale records fail their checksums.

use super::CommitLogOptions;
use super::format::{self, HEADER_LEN, Header};
use super::writer::{Dirty, Segment, Shared};
use crate::error::{Error, Result};
use crate::io::FileSystem;
use crate::key::TableId;
use crate::position::ReplayPosition;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} {}", path.display());
    move |e| Error::io(context, e)
}

/// The segments in `dir`, as (id, path) sorted by id, and the largest id seen
/// in a name or a header (0 if none). A file's id is its header's when valid.
pub(super) fn list(fs: &dyn FileSystem, dir: &Path) -> Result<(Vec<(u64, PathBuf)>, u64)> {
    let mut found = Vec::new();
    let mut max_id = 0;
    let entries = fs.read_dir(dir).map_err(io_err("listing", dir))?;
    for path in entries {
        let Some(name_id) = format::parse_segment_name(&path) else {
            continue;
        };
        let file = fs.open(&path).map_err(io_err("opening", &path))?;
        let size = file.size().map_err(io_err("sizing", &path))?;
        let mut head = vec![0u8; size.min(HEADER_LEN) as usize];
        file.read_exact_at(&mut head, 0)
            .map_err(io_err("reading the header of", &path))?;
        let id = match format::decode_header(&head) {
            Header::Valid(id) => id,
            Header::Blank | Header::Invalid(_) => name_id,
        };
        max_id = max_id.max(id).max(name_id);
        found.push((id, path));
    }
    found.sort();
    Ok((found, max_id))
}

/// Creates segment `id`: header, blocks reserved up to the full size, fsync,
/// and a directory sync so the file survives a crash before it is used.
///
/// The blocks are reserved (fallocate), not written: writing 32 MiB of zeros
/// per new segment cost as much disk traffic as 200k small writes. The first
/// fdatasyncs into reserved blocks also record them as written; recycled
/// segments, whose blocks are already written, avoid even that.
pub(super) fn create(fs: &dyn FileSystem, opts: &CommitLogOptions, id: u64) -> Result<Segment> {
    let path = format::segment_path(&opts.dir, id);
    let write = io_err("pre-allocating commit log segment", &path);
    let file = fs.create(&path).map_err(io_err("creating", &path))?;
    let result = (|| {
        file.allocate(opts.segment_size_bytes)?;
        let mut head = format::encode_header(id).to_vec();
        head.resize(HEADER_LEN as usize + format::END_MARKER_LEN, 0);
        file.write_all_at(&head, 0)?;
        file.sync_data()?;
        fs.sync_dir(&opts.dir)
    })();
    result.map_err(write)?;
    Ok(Segment { id, file })
}

/// Gives the emptied segment `old_id` (at `path`) the fresh id `new_id`: the
/// new header and a zero first frame go first, then the rename.
fn recycle(
    fs: &dyn FileSystem,
    opts: &CommitLogOptions,
    path: &Path,
    new_id: u64,
) -> Result<Option<Segment>> {
    let file = fs.open(path).map_err(io_err("opening", path))?;
    if file.size().map_err(io_err("sizing", path))? != opts.segment_size_bytes {
        return Ok(None);
    }
    let mut head = format::encode_header(new_id).to_vec();
    head.resize(HEADER_LEN as usize + format::END_MARKER_LEN, 0);
    let new_path = format::segment_path(&opts.dir, new_id);
    let result = (|| {
        file.write_all_at(&head, 0)?;
        file.sync_data()?;
        fs.rename(path, &new_path)?;
        fs.sync_dir(&opts.dir)
    })();
    result.map_err(io_err("recycling commit log segment", path))?;
    Ok(Some(Segment { id: new_id, file }))
}

/// What to do with a segment no table needs.
struct Victim {
    path: PathBuf,
    recycle_as: Option<u64>,
}

impl Shared {
    fn segment_file(&self, id: u64, old: &[(u64, PathBuf)]) -> PathBuf {
        old.iter().find(|(i, _)| *i == id).map_or_else(
            || format::segment_path(&self.opts.dir, id),
            |(_, p)| p.clone(),
        )
    }

    /// Picks segments whose tables are all clean and that no I/O will touch.
    fn pick_victims(&self) -> Vec<Victim> {
        let mut st = self.lock();
        let written = st.written.segment_id;
        let first_new = st.first_new_segment;
        let ids: Vec<u64> = st
            .segments
            .iter()
            .filter(|(id, d)| {
                matches!(d, Dirty::Known(m) if m.is_empty()) && (**id < first_new || **id < written)
            })
            .map(|(id, _)| *id)
            .collect();
        let mut victims = Vec::new();
        for id in ids {
            st.segments.remove(&id);
            let path = self.segment_file(id, &st.old);
            let recycle = st.ready.len() + st.recycling < self.opts.max_recycled_segments;
            let recycle_as = recycle.then(|| {
                st.recycling += 1;
                st.take_id()
            });
            victims.push(Victim { path, recycle_as });
        }
        victims
    }

    /// Recycles or deletes every segment that no table needs any more.
    pub(super) fn collect(&self) -> Result<()> {
        let victims = self.pick_victims();
        let mut first_error = None;
        let mut deleted = false;
        for v in victims {
            let outcome = match v.recycle_as {
                Some(new_id) => self.recycle_into_ready(&v.path, new_id),
                None => Ok(false),
            };
            let result = match outcome {
                Ok(true) => Ok(()),
                Ok(false) => {
                    deleted = true;
                    self.fs
                        .remove_file(&v.path)
                        .map_err(io_err("deleting commit log segment", &v.path))
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        if deleted {
            let dir = &self.opts.dir;
            if let Err(e) = self.fs.sync_dir(dir) {
                first_error.get_or_insert(io_err("syncing", dir)(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Recycles one file; `Ok(false)` when it should be deleted instead.
    fn recycle_into_ready(&self, path: &Path, new_id: u64) -> Result<bool> {
        let result = recycle(self.fs.as_ref(), &self.opts, path, new_id);
        let mut st = self.lock();
        st.recycling -= 1;
        match result? {
            // Only ids above the active one may wait in `ready`: a rollover
            // during the recycling may have passed it already.
            Some(seg) if seg.id > st.active.id => {
                st.ready.insert(seg.id, seg.file);
                Ok(true)
            }
            Some(seg) => {
                drop(st);
                let renamed = format::segment_path(&self.opts.dir, seg.id);
                self.fs
                    .remove_file(&renamed)
                    .map_err(io_err("deleting commit log segment", &renamed))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub(super) fn discard_completed(&self, table: TableId, upto: ReplayPosition) -> Result<()> {
        {
            let mut st = self.lock();
            for (id, dirty) in st.segments.range_mut(..=upto.segment_id) {
                if let Dirty::Known(m) = dirty
                    && m.get(&table)
                        .is_some_and(|off| *id < upto.segment_id || *off < upto.offset)
                {
                    m.remove(&table);
                }
            }
            let active = st.active.id;
            if active <= upto.segment_id
                && st
                    .active_dirty
                    .get(&table)
                    .is_some_and(|off| active < upto.segment_id || *off < upto.offset)
            {
                st.active_dirty.remove(&table);
            }
        }
        self.collect()
    }

    pub(super) fn tables_over_limit(&self, limit: u64) -> Vec<TableId> {
        let st = self.lock();
        let size = self.opts.segment_size_bytes;
        // The active segment counts too: its file takes its full size.
        let used = (st.segments.len() as u64 + 1).saturating_mul(size);
        let mut excess = used.saturating_sub(limit);
        let mut tables = BTreeSet::new();
        for dirty in st.segments.values() {
            if excess == 0 {
                break;
            }
            // Unknown segments are only seen before replay, which settles them.
            if let Dirty::Known(m) = dirty {
                tables.extend(m.keys().copied());
            }
            excess = excess.saturating_sub(size);
        }
        tables.into_iter().collect()
    }

    pub(super) fn forget_table(&self, table: TableId) -> Result<()> {
        {
            let mut st = self.lock();
            for dirty in st.segments.values_mut() {
                if let Dirty::Known(m) = dirty {
                    m.remove(&table);
                }
            }
            st.active_dirty.remove(&table);
        }
        self.collect()
    }
}
