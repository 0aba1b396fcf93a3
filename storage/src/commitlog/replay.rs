//! Replay: reads the segments found at open and hands their records over in
//! position order.
//!
//! A record that fails its checksum (or does not decode) is either a torn tail,
//! when no valid record follows it in the segment, which a crash during a write
//! produces and which is skipped with a warning, or corruption in the middle of
//! the log, when a valid record follows, which fails replay unless the operator
//! chose to skip corrupt records.
#![deny(clippy::indexing_slicing)]

use super::ReplayStats;
use super::format::{self, Frame, HEADER_LEN, Header};
use super::writer::{Dirty, Shared};
use crate::error::{Error, Result};
use crate::io::FileSystem;
use crate::key::TableId;
use crate::position::ReplayPosition;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::mutation::Mutation;

type Apply<'a> = &'a mut dyn FnMut(ReplayPosition, Mutation) -> Result<()>;

pub(super) fn replay(shared: &Shared, apply: Apply<'_>) -> Result<ReplayStats> {
    let old = {
        let mut st = shared.lock();
        if st.replayed || st.stats.appends > 0 {
            return Err(Error::InvalidArgument(
                "the commit log is replayed once, before any append".into(),
            ));
        }
        st.replayed = true;
        st.old.clone()
    };
    let mut stats = ReplayStats::default();
    for (id, path) in &old {
        let mut reader = SegmentReplay {
            path,
            id: *id,
            skip_corrupt: shared.opts.skip_corrupt_records,
            stats: &mut stats,
            dirty: HashMap::new(),
        };
        reader.run(shared.fs.as_ref(), apply)?;
        let dirty = reader.dirty;
        shared.lock().segments.insert(*id, Dirty::Known(dirty));
    }
    shared.collect()?;
    Ok(stats)
}

struct SegmentReplay<'a> {
    path: &'a Path,
    /// The id the records' checksums mix in (the header's, when valid).
    id: u64,
    skip_corrupt: bool,
    stats: &'a mut ReplayStats,
    /// Tables seen, with their last record offset.
    dirty: HashMap<TableId, u64>,
}

impl SegmentReplay<'_> {
    fn corrupt(&self, offset: u64, reason: String) -> Error {
        Error::Corrupt {
            file: PathBuf::from(self.path),
            component: "commit log",
            offset,
            reason,
        }
    }

    fn warn(&mut self, msg: String) {
        tracing::warn!("{msg}");
        self.stats.warnings.push(msg);
    }

    fn run(&mut self, fs: &dyn FileSystem, apply: Apply<'_>) -> Result<()> {
        let seg = read_segment(fs, self.path)?;
        match format::decode_header(&seg) {
            Header::Valid(id) => self.id = id,
            // Created but never written (its header did not reach the disk):
            // any records would still validate under the name's id.
            Header::Blank => {}
            Header::Invalid(reason) if self.skip_corrupt => {
                self.stats.bytes_skipped += seg.len() as u64;
                let p = self.path.display();
                self.warn(format!("skipping commit log segment {p}: {reason}"));
                return Ok(());
            }
            Header::Invalid(reason) => return Err(self.corrupt(0, reason)),
        }
        self.stats.segments += 1;
        self.frames(&seg, apply)
    }

    /// Walks the frames from the header on.
    fn frames(&mut self, seg: &[u8], apply: Apply<'_>) -> Result<()> {
        let mut at = HEADER_LEN as usize;
        loop {
            let (reason, resume_from) = match format::read_frame(seg, at, self.id) {
                Frame::Record { payload, len } => match super::payload::decode(
                    payload,
                    // A record held at most half of the segment it was written
                    // into, whose size this file still has.
                    seg.len(),
                ) {
                    Ok(m) => {
                        let pos = ReplayPosition {
                            segment_id: self.id,
                            offset: at as u64,
                        };
                        self.dirty.insert(m.table, pos.offset);
                        apply(pos, m)?;
                        self.stats.records += 1;
                        at += len;
                        continue;
                    }
                    Err(e) => (format!("record does not decode: {e}"), at + len),
                },
                Frame::End => match format::find_valid_frame(seg, at + 1, self.id) {
                    None => return Ok(()),
                    Some(_) => ("zero length where a record was expected".into(), at + 1),
                },
                Frame::Bad(reason) => (reason.to_owned(), at + 1),
            };
            match self.bad_frame(seg, at, reason, resume_from)? {
                Some(next) => at = next,
                None => return Ok(()),
            }
        }
    }

    /// Handles an invalid frame at `at`: the offset to resume from, `None` at
    /// a torn tail, or an error for corruption followed by valid records.
    fn bad_frame(
        &mut self,
        seg: &[u8],
        at: usize,
        reason: String,
        resume_from: usize,
    ) -> Result<Option<usize>> {
        let p = self.path.display();
        match format::find_valid_frame(seg, resume_from, self.id) {
            None => {
                let skipped = format::used_len(seg).saturating_sub(at);
                self.stats.bytes_skipped += skipped as u64;
                self.warn(format!(
                    "commit log segment {p} ends in a torn or stale tail at offset {at} \
                     ({reason}): {skipped} bytes skipped"
                ));
                Ok(None)
            }
            Some(next) if self.skip_corrupt => {
                self.stats.bytes_skipped += (next - at) as u64;
                self.warn(format!(
                    "skipping {} corrupt bytes of commit log segment {p} at offset {at} ({reason})",
                    next - at
                ));
                Ok(Some(next))
            }
            Some(next) => Err(self.corrupt(
                at as u64,
                format!("{reason}, yet a valid record follows at offset {next}"),
            )),
        }
    }
}

fn read_segment(fs: &dyn FileSystem, path: &Path) -> Result<Vec<u8>> {
    let ctx = || format!("reading commit log segment {}", path.display());
    let file = fs.open(path).map_err(|e| Error::io(ctx(), e))?;
    let size = file.size().map_err(|e| Error::io(ctx(), e))?;
    let size = usize::try_from(size).map_err(|_| Error::InvalidArgument(ctx()))?;
    let mut seg = vec![0u8; size];
    file.read_exact_at(&mut seg, 0)
        .map_err(|e| Error::io(ctx(), e))?;
    Ok(seg)
}
