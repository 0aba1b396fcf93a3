//! SSTables: immutable sorted files of partitions, written by flushes and compactions.
//!
//! One SSTable is one file, `sst-<generation, 20 digits>.db`: compressed data blocks,
//! then the block index, the bloom filter and the statistics, then a fixed footer
//! that locates and checksums them. The byte layout and how reads use it are in
//! `docs/design/sstable.md`. A single file makes publication atomic (one rename) and
//! deletion and snapshots trivial.
//!
//! Module map: [`format`] (footer, block frames, names), `block` (block contents),
//! `row` (row and header encodings), `index` (in-memory sparse index), `bloom`,
//! `stats`, `writer`, `reader` (open, point reads, scans).

mod block;
mod bloom;
mod format;
mod index;
mod reader;
mod row;
mod stats;
mod writer;

#[cfg(test)]
mod tests;

pub use format::FORMAT_VERSION;
pub use reader::SsTable;
pub use stats::{SsTableStats, TombstoneHistogram};
pub use writer::{SsTableInfo, SsTableWriter};

use crate::error::{Error, Result};
use crate::io::FileSystem;
use std::path::{Path, PathBuf};

/// How blocks are compressed: the table option, reused as is.
pub use crate::options::Compression;

/// How an SSTable is written.
#[derive(Clone, Debug, PartialEq)]
pub struct SsTableOptions {
    /// Target uncompressed size of a data block; a block is cut after the item that reaches it.
    pub block_size_bytes: usize,
    /// Block compression.
    pub compression: Compression,
    /// Wanted false-positive rate of the partition-key bloom filter, in (0, 1).
    pub bloom_fp_chance: f64,
}

impl Default for SsTableOptions {
    /// 4 KiB blocks: a point read that misses the block cache reads, checks and
    /// decompresses only 4 KiB (about a microsecond), and the sparse index stays near
    /// 60 bytes per 4 KiB of data (1.5%), so 240 MB of data needs about 3.5 MB of index.
    /// Scans are not hurt: they stream consecutive blocks through the same cache.
    fn default() -> Self {
        SsTableOptions {
            block_size_bytes: 4096,
            compression: Compression::Lz4,
            bloom_fp_chance: 0.01,
        }
    }
}

/// The final path of a generation's file.
pub fn data_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format::file_name(generation))
}

impl SsTable {
    /// Removes a generation's file (missing files are not an error) and syncs the directory.
    pub fn remove_files(fs: &dyn FileSystem, dir: &Path, generation: u64) -> Result<()> {
        for path in [
            data_path(dir, generation),
            format::temp_path(dir, generation),
        ] {
            if fs.exists(&path) {
                fs.remove_file(&path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
            }
        }
        fs.sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
    }

    /// The generations whose final file is present in `dir`, ascending.
    pub fn list_generations(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<u64>> {
        let mut gens: Vec<u64> = list_dir(fs, dir)?
            .iter()
            .filter_map(|p| p.file_name()?.to_str())
            .filter_map(format::parse_file_name)
            .collect();
        gens.sort_unstable();
        Ok(gens)
    }

    /// Deletes unfinished writers' temporary files (left by a crash); returns how many.
    pub fn remove_temporary_files(fs: &dyn FileSystem, dir: &Path) -> Result<usize> {
        let mut removed = 0;
        for path in list_dir(fs, dir)? {
            let is_temp = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(format::is_temp_name);
            if is_temp {
                fs.remove_file(&path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            fs.sync_dir(dir)
                .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        }
        Ok(removed)
    }
}

fn list_dir(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<PathBuf>> {
    fs.read_dir(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))
}
