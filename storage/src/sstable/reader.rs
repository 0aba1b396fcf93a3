//! [`SsTable`]: an opened, immutable table; point reads, slices and scans.
//!
//! Opening reads and verifies the footer, index, bloom filter and statistics and keeps
//! them in memory; data blocks are read on demand through the shared [`BlockCache`],
//! verified and decompressed once when loaded.
#![deny(clippy::indexing_slicing)]

use super::block::BlockView;
use super::bloom::KeyBloom;
use super::data_path;
use super::format::{
    self, COMPONENT_BLOOM, COMPONENT_DATA, COMPONENT_FOOTER, COMPONENT_INDEX, COMPONENT_STATS,
    Extent, FOOTER_LEN, Footer, corrupt,
};
use super::index::Index;
use super::row::{TAG_PARTITION, TAG_ROW, decode_header};
use super::stats::SsTableStats;
use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::io::{File, FileSystem};
use crate::key::{ClusteringRange, DecoratedKey, Token};
use crate::partition::{KeyRange, PartitionSource, PartitionStream, UnfilteredIter};
use bytes::Bytes;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod rows;
mod scan;

/// An open SSTable, shared as `Arc<SsTable>` by reads and compactions.
pub struct SsTable {
    id: u64,
    generation: u64,
    path: PathBuf,
    file: Arc<dyn File>,
    size: u64,
    index: Index,
    bloom: KeyBloom,
    stats: SsTableStats,
    cache: Arc<BlockCache>,
}

impl std::fmt::Debug for SsTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsTable")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("blocks", &self.index.len())
            .finish_non_exhaustive()
    }
}

impl SsTable {
    /// Opens generation `generation` in `dir`, verifying its footer, index, bloom
    /// filter and statistics (data blocks are verified when first read).
    pub fn open(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        generation: u64,
        cache: Arc<BlockCache>,
    ) -> Result<Arc<SsTable>> {
        let path = data_path(dir, generation);
        let file = fs
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let size = file
            .size()
            .map_err(|e| Error::io(format!("sizing {}", path.display()), e))?;
        let footer = read_footer(&path, file.as_ref(), size)?;
        let index_bytes = read_component(&path, file.as_ref(), footer.index, COMPONENT_INDEX)?;
        let index = Index::decode(&index_bytes, footer.index.offset)
            .map_err(|e| corrupt(&path, COMPONENT_INDEX, footer.index.offset, e.0))?;
        let bloom_bytes = read_component(&path, file.as_ref(), footer.bloom, COMPONENT_BLOOM)?;
        let bloom = KeyBloom::from_bytes(&bloom_bytes)
            .map_err(|e| corrupt(&path, COMPONENT_BLOOM, footer.bloom.offset, e))?;
        let stats_bytes = read_component(&path, file.as_ref(), footer.stats, COMPONENT_STATS)?;
        let stats = SsTableStats::decode(&stats_bytes)
            .map_err(|e| corrupt(&path, COMPONENT_STATS, footer.stats.offset, e.0))?;
        let consistent = index.len() > 0
            && index.cmp_key(0, &stats.min_key) == Ordering::Equal
            && index.cmp_key(index.len() - 1, &stats.max_key) != Ordering::Greater;
        if !consistent {
            return Err(corrupt(
                &path,
                COMPONENT_STATS,
                footer.stats.offset,
                "key bounds disagree with the index",
            ));
        }
        Ok(Arc::new(SsTable {
            id: BlockCache::next_table_id(),
            generation,
            path,
            file,
            size,
            index,
            bloom,
            stats,
            cache,
        }))
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The file's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// The statistics.
    pub fn stats(&self) -> &SsTableStats {
        &self.stats
    }

    /// Whether the table may hold `key`: inside its key bounds and passing the bloom filter.
    #[inline]
    pub fn may_contain(&self, key: &DecoratedKey) -> bool {
        *key >= self.stats.min_key && *key <= self.stats.max_key && self.bloom.may_contain(key)
    }

    /// Memory held by the bloom filter.
    pub fn bloom_memory_bytes(&self) -> u64 {
        self.bloom.memory_bytes()
    }

    /// Memory held by the block index.
    pub fn index_memory_bytes(&self) -> u64 {
        self.index.memory_bytes()
    }

    /// The number of data blocks.
    pub fn block_count(&self) -> usize {
        self.index.len()
    }

    /// The table's files (for snapshots and deletion).
    pub fn files(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    /// Drops this table's blocks from the cache (call when the table is deleted).
    pub fn evict_from_cache(&self) {
        self.cache.evict_table(self.id);
    }

    fn corrupt_block(&self, j: usize, reason: impl Into<String>) -> Error {
        corrupt(&self.path, COMPONENT_DATA, self.index.extent(j).0, reason)
    }

    /// Block `j`, through the cache.
    fn block(&self, j: usize) -> Result<Bytes> {
        let id = u32::try_from(j).map_err(|_| self.corrupt_block(j, "block number overflow"))?;
        self.cache.get_or_load(self.id, id, || self.load_block(j))
    }

    /// Block `j` from the cache if there, else read without caching it (scans).
    fn block_for_scan(&self, j: usize) -> Result<Bytes> {
        match u32::try_from(j)
            .ok()
            .and_then(|id| self.cache.peek(self.id, id))
        {
            Some(b) => Ok(b),
            None => self.load_block(j),
        }
    }

    fn load_block(&self, j: usize) -> Result<Bytes> {
        let (offset, frame_len, raw_len) = self.index.extent(j);
        let mut frame = vec![0u8; frame_len as usize];
        self.file.read_exact_at(&mut frame, offset).map_err(|e| {
            Error::io(
                format!("reading block at {offset} of {}", self.path.display()),
                e,
            )
        })?;
        let block =
            format::unframe(frame, raw_len as usize).map_err(|e| self.corrupt_block(j, e))?;
        BlockView::parse(&block, true).map_err(|e| self.corrupt_block(j, e))?;
        Ok(block)
    }

    /// The block holding `key`'s header and the header's offset in it.
    fn locate(&self, key: &DecoratedKey) -> Result<Option<(usize, Bytes, usize)>> {
        let ix = &self.index;
        let lb = ix.partition_point(|j| ix.cmp_key(j, key) == Ordering::Less);
        let h =
            if lb < ix.len() && ix.cmp_key(lb, key) == Ordering::Equal && !ix.is_continuation(lb) {
                lb
            } else if lb == 0 {
                return Ok(None);
            } else {
                lb - 1
            };
        let block = self.block(h)?;
        let view = BlockView::parse(&block, false).map_err(|e| self.corrupt_block(h, e))?;
        match view.find(key).map_err(|e| self.corrupt_block(h, e))? {
            Some(pos) => Ok(Some((h, block, pos))),
            None => Ok(None),
        }
    }

    /// Block `j`'s first key as an owned key (for range bounds, which compare keys).
    fn index_key(&self, j: usize) -> DecoratedKey {
        DecoratedKey {
            token: Token(self.index.token(j)),
            key: Bytes::copy_from_slice(self.index.key(j)),
        }
    }
}

fn read_footer(path: &Path, file: &dyn File, size: u64) -> Result<Footer> {
    if size < FOOTER_LEN as u64 {
        return Err(corrupt(
            path,
            COMPONENT_FOOTER,
            0,
            format!("file of {size} bytes is shorter than the footer"),
        ));
    }
    let at = size - FOOTER_LEN as u64;
    let mut buf = [0u8; FOOTER_LEN];
    file.read_exact_at(&mut buf, at)
        .map_err(|e| Error::io(format!("reading footer of {}", path.display()), e))?;
    Footer::decode(&buf, size).map_err(|e| corrupt(path, COMPONENT_FOOTER, at, e))
}

fn read_component(
    path: &Path,
    file: &dyn File,
    ext: Extent,
    component: &'static str,
) -> Result<Vec<u8>> {
    let len = usize::try_from(ext.len)
        .map_err(|_| corrupt(path, component, ext.offset, "length overflow"))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, ext.offset)
        .map_err(|e| Error::io(format!("reading {component} of {}", path.display()), e))?;
    if crc32c::crc32c(&buf) != ext.crc {
        return Err(corrupt(path, component, ext.offset, "checksum mismatch"));
    }
    Ok(buf)
}

impl PartitionSource for SsTable {
    fn read_partition(
        self: Arc<Self>,
        key: &DecoratedKey,
        slices: &[ClusteringRange],
        reversed: bool,
    ) -> Result<Option<PartitionStream>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let Some((h, block, pos)) = self.locate(key)? else {
            return Ok(None);
        };
        let (header, rows_pos) =
            decode_header(&block, pos).map_err(|e| self.corrupt_block(h, e.0))?;
        let ix = &self.index;
        let e = ix
            .partition_point(|j| ix.cmp_key(j, key) != Ordering::Greater)
            .saturating_sub(1)
            .max(h);
        let blocks = rows::PartitionBlocks {
            table: self,
            h,
            e,
            header_block: block,
            rows_pos,
        };
        let rows = rows::row_iter(blocks, slices, reversed);
        Ok(Some(PartitionStream { header, rows }))
    }

    fn scan(self: Arc<Self>, range: &KeyRange) -> Result<UnfilteredIter> {
        scan::Scanner::start(self, range)
    }
}

/// What a block holds at `pos`: the tags the row and scan iterators dispatch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemAt {
    Row,
    Partition,
    End,
}

fn item_at(block: &[u8], pos: usize, end: usize) -> std::result::Result<ItemAt, String> {
    if pos >= end {
        return Ok(ItemAt::End);
    }
    match block.get(pos) {
        Some(&TAG_ROW) => Ok(ItemAt::Row),
        Some(&TAG_PARTITION) => Ok(ItemAt::Partition),
        Some(t) => Err(format!("unexpected item tag {t} at {pos}")),
        None => Err(format!("item at {pos} is past the block's end")),
    }
}
