//! [`SsTableWriter`]: streams sorted partitions into a new SSTable file.
//!
//! The file is written under a temporary name and only renamed to its final name
//! after everything, footer included, is fsynced; the directory is fsynced after the
//! rename. A crash therefore leaves either a complete table or a temporary file that
//! [`SsTable::remove_temporary_files`](super::SsTable::remove_temporary_files) deletes.

use super::block::BlockBuilder;
use super::bloom::KeyBloomBuilder;
use super::format::{self, BLOCK_LZ4, BLOCK_RAW, Extent, FORMAT_VERSION, Footer, frame_crc};
use super::index::IndexBuilder;
use super::row::{put_header_item, put_row_item};
use super::stats::{SsTableStats, StatsCollector};
use super::{Compression, SsTableOptions, data_path};
use crate::cell::Row;
use crate::error::{Error, Result};
use crate::io::{File, FileSystem};
use crate::key::{ClusteringKey, DecoratedKey};
use crate::partition::{PartitionHeader, Unfiltered};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Buffered output is written to the file in chunks of about this size.
const WRITE_CHUNK: usize = 1 << 20;

/// What a finished writer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsTableInfo {
    /// The table's generation.
    pub generation: u64,
    /// Its files (one).
    pub paths: Vec<PathBuf>,
    /// Total bytes on disk.
    pub size_bytes: u64,
    /// Its statistics.
    pub stats: SsTableStats,
}

/// Writes one SSTable from an ordered stream of [`Unfiltered`] items.
pub struct SsTableWriter {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    generation: u64,
    temp: PathBuf,
    file: Option<Arc<dyn File>>,
    opts: SsTableOptions,
    /// Framed blocks not yet written to the file.
    out: Vec<u8>,
    /// Bytes already written to the file.
    flushed: u64,
    block: BlockBuilder,
    /// The first key (and, for a continuation, first clustering) of the open block.
    block_first: Option<(DecoratedKey, Option<ClusteringKey>)>,
    index: IndexBuilder,
    bloom: KeyBloomBuilder,
    stats: StatsCollector,
    current: Option<DecoratedKey>,
    last_clustering: Option<ClusteringKey>,
    partition_start: u64,
    uncompressed: u64,
    scratch: Vec<u8>,
    compressed: Vec<u8>,
}

impl std::fmt::Debug for SsTableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsTableWriter")
            .field("temp", &self.temp)
            .field("bytes_written", &self.bytes_written())
            .finish_non_exhaustive()
    }
}

impl SsTableWriter {
    /// Starts a table of `generation` in `dir`, sized for about `expected_partitions`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        generation: u64,
        opts: &SsTableOptions,
        expected_partitions: usize,
    ) -> Result<Self> {
        let bloom = KeyBloomBuilder::new(expected_partitions, opts.bloom_fp_chance)
            .map_err(Error::InvalidArgument)?;
        if opts.block_size_bytes == 0 {
            return Err(Error::InvalidArgument(
                "block_size_bytes must be positive".into(),
            ));
        }
        let temp = format::temp_path(dir, generation);
        let file = fs
            .create(&temp)
            .map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
        Ok(SsTableWriter {
            fs,
            dir: dir.to_path_buf(),
            generation,
            temp,
            file: Some(file),
            opts: opts.clone(),
            out: Vec::with_capacity(WRITE_CHUNK + opts.block_size_bytes * 2),
            flushed: 0,
            block: BlockBuilder::default(),
            block_first: None,
            index: IndexBuilder::default(),
            bloom,
            stats: StatsCollector::default(),
            current: None,
            last_clustering: None,
            partition_start: 0,
            uncompressed: 0,
            scratch: Vec::new(),
            compressed: Vec::new(),
        })
    }

    /// Bytes of data produced so far (written, buffered, and the open block).
    pub fn bytes_written(&self) -> u64 {
        self.flushed + self.out.len() as u64 + self.block.len() as u64
    }

    /// Adds the next item: a partition header (partitions in increasing key order),
    /// or a row of the current partition (rows in increasing clustering order).
    pub fn add(&mut self, item: Unfiltered) -> Result<()> {
        match item {
            Unfiltered::Partition(h) => self.add_partition(&h),
            Unfiltered::Row(r) => self.add_row(&r),
        }
    }

    fn add_partition(&mut self, h: &PartitionHeader) -> Result<()> {
        if self.current.as_ref().is_some_and(|c| *c >= h.key) {
            return Err(Error::InvalidArgument(format!(
                "partition {:?} added after {:?}: partitions must be in increasing order",
                h.key, self.current
            )));
        }
        self.end_partition();
        self.cut_block_if_full()?;
        if self.block.is_empty() {
            self.block_first = Some((h.key.clone(), None));
        }
        self.block.mark_partition();
        put_header_item(&mut self.block.buf, &mut self.scratch, h);
        self.bloom.insert(&h.key);
        self.stats.header(h);
        self.partition_start = self.uncompressed + self.block.buf.len() as u64;
        self.current = Some(h.key.clone());
        self.last_clustering = None;
        Ok(())
    }

    fn add_row(&mut self, row: &Row) -> Result<()> {
        let Some(key) = &self.current else {
            return Err(Error::InvalidArgument(
                "a row was added before any partition".into(),
            ));
        };
        if self
            .last_clustering
            .as_ref()
            .is_some_and(|c| *c >= row.clustering)
        {
            return Err(Error::InvalidArgument(format!(
                "row {:?} added after {:?} in partition {key:?}: rows must be in increasing order",
                row.clustering, self.last_clustering
            )));
        }
        let key = key.clone();
        self.cut_block_if_full()?;
        if self.block.is_empty() {
            self.block.start_continuation();
            self.block_first = Some((key, Some(row.clustering.clone())));
        }
        put_row_item(&mut self.block.buf, &mut self.scratch, row);
        self.stats.row(row);
        self.last_clustering = Some(row.clustering.clone());
        Ok(())
    }

    fn end_partition(&mut self) {
        if self.current.is_some() {
            let end = self.uncompressed + self.block.buf.len() as u64;
            let size = end.saturating_sub(self.partition_start);
            self.stats.largest_partition = self.stats.largest_partition.max(size);
        }
    }

    fn cut_block_if_full(&mut self) -> Result<()> {
        if !self.block.is_empty() && self.block.len() >= self.opts.block_size_bytes {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Frames the open block (`kind`, payload, CRC32C) into `out` and indexes it.
    fn flush_block(&mut self) -> Result<()> {
        let Some((key, clustering)) = self.block_first.take() else {
            return Ok(());
        };
        let raw = self.block.finish();
        let raw_len = raw.len();
        let (kind, payload) = match self.opts.compression {
            Compression::Lz4 => {
                self.compressed
                    .resize(lz4_flex::block::get_maximum_output_size(raw_len), 0);
                match lz4_flex::block::compress_into(raw, &mut self.compressed) {
                    Ok(n) if n < raw_len => (BLOCK_LZ4, &self.compressed[..n]),
                    _ => (BLOCK_RAW, raw),
                }
            }
            Compression::None => (BLOCK_RAW, raw),
        };
        let frame_start = self.out.len();
        self.out.push(kind);
        self.out.extend_from_slice(payload);
        self.out
            .extend_from_slice(&frame_crc(kind, payload).to_le_bytes());
        let frame_len = (self.out.len() - frame_start) as u64;
        self.index.add(
            &key,
            clustering.as_ref().map(|c| c.as_bytes()),
            frame_len,
            raw_len as u64,
        );
        self.uncompressed += raw_len as u64;
        self.block.clear();
        if self.out.len() >= WRITE_CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    fn file(&self) -> Result<&Arc<dyn File>> {
        self.file
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("writer already finished".into()))
    }

    fn write_out(&mut self) -> Result<()> {
        let file = self.file()?;
        file.write_all_at(&self.out, self.flushed)
            .map_err(|e| Error::io(format!("writing {}", self.temp.display()), e))?;
        self.flushed += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    /// Appends a metadata component to the output and returns its extent.
    fn put_component(&mut self, bytes: &[u8]) -> Extent {
        let offset = self.flushed + self.out.len() as u64;
        self.out.extend_from_slice(bytes);
        Extent {
            offset,
            len: bytes.len() as u64,
            crc: crc32c::crc32c(bytes),
        }
    }

    /// Writes the index, bloom filter, statistics and footer, fsyncs, and publishes
    /// the file under its final name. An empty table (no partition) is an error.
    pub fn finish(mut self) -> Result<SsTableInfo> {
        self.end_partition();
        self.flush_block()?;
        let stats = std::mem::take(&mut self.stats)
            .finish(self.uncompressed, FORMAT_VERSION)
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "an SSTable needs at least one partition; abort instead".into(),
                )
            })?;
        let index = std::mem::take(&mut self.index).finish();
        let index = self.put_component(&index);
        let bloom = self.bloom.to_bytes();
        let bloom = self.put_component(&bloom);
        let stats_ext = self.put_component(&stats.encode());
        let footer = Footer {
            version: FORMAT_VERSION,
            index,
            bloom,
            stats: stats_ext,
        };
        self.out.extend_from_slice(&footer.encode());
        self.write_out()?;
        let size_bytes = self.flushed;
        self.publish()?;
        Ok(SsTableInfo {
            generation: self.generation,
            paths: vec![data_path(&self.dir, self.generation)],
            size_bytes,
            stats,
        })
    }

    fn publish(&mut self) -> Result<()> {
        let file = self.file()?;
        file.sync_data()
            .map_err(|e| Error::io(format!("syncing {}", self.temp.display()), e))?;
        let path = data_path(&self.dir, self.generation);
        self.fs.rename(&self.temp, &path).map_err(|e| {
            Error::io(
                format!("renaming {} to {}", self.temp.display(), path.display()),
                e,
            )
        })?;
        // Renamed: from here on the temporary name is gone, and drop must not remove anything.
        self.file = None;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))
    }

    /// Abandons the table and removes its temporary file.
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for SsTableWriter {
    /// A writer dropped before `finish` completed removes its temporary file.
    fn drop(&mut self) {
        if self.file.take().is_some()
            && let Err(e) = self.fs.remove_file(&self.temp)
        {
            tracing::warn!(path = %self.temp.display(), error = %e, "could not remove an unfinished SSTable");
        }
    }
}
