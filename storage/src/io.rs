//! The file-system seam: every file storage touches goes through [`FileSystem`].
//!
//! Production uses [`StdFs`]. Tests use `SimFs` (see `io/sim.rs`), which keeps
//! what was fsynced apart from what was only written, so a simulated crash loses
//! exactly the bytes a power cut could lose, and which injects I/O errors.
//! [`durable`] builds the small durable files (atomic replace, framed
//! append-only) on top of the seam.

pub mod durable;
#[cfg(any(test, feature = "sim"))]
pub(crate) mod sim;

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open file. Reads and writes are positional so a file can be shared.
pub trait File: Send + Sync + Debug {
    /// Fills `buf` from `offset`; a short file is an `UnexpectedEof` error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable (fdatasync).
    fn sync_data(&self) -> io::Result<()>;
    /// Sets the file's length (zero-filling when it grows).
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Reserves the file's blocks up to `len` without writing them, growing it
    /// to `len` if shorter; the new part reads as zeros. Writes into reserved
    /// blocks need no block allocation, so cannot fail for lack of space.
    fn allocate(&self, len: u64) -> io::Result<()> {
        if self.size()? < len {
            self.set_len(len)?;
        }
        Ok(())
    }
    /// The file's current length.
    fn size(&self) -> io::Result<u64>;
}

/// Directory and file operations.
pub trait FileSystem: Send + Sync + Debug {
    /// Creates (or truncates) a file for reading and writing.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>>;
    /// Opens an existing file for reading and writing.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>>;
    /// Renames a file, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory and everything in it.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The entries of a directory, sorted by name.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    /// Makes a directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates `link` as a hard link to `original` (snapshots).
    fn hard_link(&self, original: &Path, link: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFs;

#[derive(Debug)]
struct StdFile(std::fs::File);

impl File for StdFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.0, buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn allocate(&self, len: u64) -> io::Result<()> {
        match rustix::fs::fallocate(&self.0, rustix::fs::FallocateFlags::empty(), 0, len) {
            Ok(()) => Ok(()),
            // A file system without fallocate: growing the file is the best it has.
            Err(rustix::io::Errno::OPNOTSUPP) => {
                if self.size()? < len {
                    self.0.set_len(len)?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl FileSystem for StdFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Arc::new(StdFile(f)))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        Ok(Arc::new(StdFile(f)))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut v = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()?;
        v.sort();
        Ok(v)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if crate::canary::active(crate::canary::Canary::SkipDirFsync) {
            return Ok(());
        }
        std::fs::File::open(path)?.sync_all()
    }
    fn hard_link(&self, original: &Path, link: &Path) -> io::Result<()> {
        std::fs::hard_link(original, link)
    }
}
