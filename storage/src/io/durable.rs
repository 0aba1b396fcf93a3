//! Durable small files, one layer for everything outside the commit log and
//! the SSTables: the manifest, the schema catalog, the node identity, the
//! batchlog and the hints. Everything goes through the [`FileSystem`] seam, so
//! `SimFs` can crash-test each of them at every step.
//!
//! Two shapes, because the files are written in two ways:
//!
//! - **Atomic replace** ([`replace_atomically`], [`read_whole`]): a file that
//!   is rewritten whole. The new contents go to `<name>.tmp`, which is fsynced,
//!   renamed over `<name>`, and the directory is fsynced. A crash at any point
//!   leaves the old contents or the new ones, never a mix; at worst a stale
//!   temporary file remains, which [`remove_stale_temp`] deletes and no reader
//!   ever looks at. The contents' own format (magic, version, checksum) is the
//!   caller's: each existing format stays byte for byte as it was.
//! - **Framed append-only** ([`FramedWriter`], [`FramedReader`]): a versioned
//!   file header, then length + CRC32C framed records. A reader yields the
//!   records in order and stops at the first bad one, telling a torn tail (what
//!   a crash during an append leaves) from corruption followed by valid records
//!   (damage a crash cannot explain). See `docs/design/durable-files.md`.

mod framed;

pub use framed::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameError, FrameErrorKind, FramedFormat, FramedReader,
    FramedWriter, Record, encode_frame,
};

use super::FileSystem;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The suffix of the temporary file an atomic replace writes first.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Where [`replace_atomically`] writes `path`'s next contents first:
/// `<name>.tmp` in the same directory (a rename never crosses directories).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(TEMP_SUFFIX);
    path.with_file_name(name)
}

/// Adds what was being done, and to which file, to an I/O error, keeping its kind.
fn context(what: &str, path: &Path) -> impl FnOnce(io::Error) -> io::Error {
    let message = format!("{what} {}", path.display());
    move |e| io::Error::new(e.kind(), format!("{message}: {e}"))
}

/// The directory a file lives in, for the directory fsync.
fn parent(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        )
    })
}

/// Replaces `path`'s contents with `bytes` so that a crash at any point leaves
/// either the old contents or the new ones: write `<name>.tmp`, fsync it,
/// rename it over `path`, fsync the directory. The directory must exist; a
/// stale temporary file is overwritten. When this returns `Ok` the new
/// contents are durable; when it fails, either may be what a crash leaves.
pub fn replace_atomically(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    let file = fs.create(&temp).map_err(context("creating", &temp))?;
    file.write_all_at(bytes, 0)
        .map_err(context("writing", &temp))?;
    file.sync_data().map_err(context("syncing", &temp))?;
    drop(file);
    fs.rename(&temp, path)
        .map_err(context("renaming into place", path))?;
    let dir = parent(path)?;
    fs.sync_dir(dir).map_err(context("syncing directory", dir))
}

/// The whole contents of `path`, or `None` if it does not exist. A file larger
/// than `max_len` is refused (`InvalidData`) before anything is allocated: a
/// damaged size must not make the reader allocate without bound.
pub fn read_whole(fs: &dyn FileSystem, path: &Path, max_len: u64) -> io::Result<Option<Vec<u8>>> {
    // Opening, not asking whether it exists first: a file removed meanwhile
    // (a batch forgotten while it is loaded) is simply absent.
    let file = match fs.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(context("opening", path)(e)),
    };
    let len = file.size().map_err(context("sizing", path))?;
    if len > max_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is {len} bytes, more than the {max_len} it may be",
                path.display()
            ),
        ));
    }
    let len = usize::try_from(len).map_err(io::Error::other)?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)
        .map_err(context("reading", path))?;
    Ok(Some(bytes))
}

/// Deletes the temporary file a crashed [`replace_atomically`] of `path` left;
/// whether there was one. It was never renamed into place, so the file it would
/// have replaced is still the current one.
pub fn remove_stale_temp(fs: &dyn FileSystem, path: &Path) -> io::Result<bool> {
    let temp = temp_path(path);
    if !fs.exists(&temp) {
        return Ok(false);
    }
    fs.remove_file(&temp)
        .map_err(context("removing stale temporary file", &temp))?;
    Ok(true)
}

#[cfg(test)]
mod tests;
