//! [`BlockCache`]: decompressed, checksum-verified SSTable data blocks shared by every table.
//!
//! A block is verified and decompressed once, when it is loaded; every later read of it
//! is a hash lookup and a reference-count increment, and rows decoded from it borrow
//! its buffer instead of copying values. The cache is sharded (quick_cache) so that
//! concurrent readers rarely contend, and it is weighted by bytes so that its capacity
//! is a memory budget rather than a block count.

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-entry bookkeeping counted on top of the block's bytes, so that tiny blocks
/// cannot make the cache hold far more memory than its capacity says.
const ENTRY_OVERHEAD_BYTES: u64 = 64;

/// The cache key: which opened SSTable (a process-unique id, not the generation,
/// since generations repeat across tables) and which block of it.
type BlockKey = (u64, u32);

#[derive(Clone, Debug)]
struct ByteWeighter;

impl quick_cache::Weighter<BlockKey, Bytes> for ByteWeighter {
    fn weight(&self, _key: &BlockKey, block: &Bytes) -> u64 {
        block.len() as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// A sharded cache of decompressed SSTable blocks, bounded by bytes.
pub struct BlockCache {
    inner: quick_cache::sync::Cache<BlockKey, Bytes, ByteWeighter>,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("size_bytes", &self.size_bytes())
            .field("capacity_bytes", &self.inner.capacity())
            .finish()
    }
}

static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(1);

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of blocks.
    pub fn new(capacity_bytes: u64) -> Arc<BlockCache> {
        // The estimate only sizes the hash tables; 4 KiB is the default block size.
        let estimated_items = usize::try_from(capacity_bytes / 4096)
            .unwrap_or(usize::MAX)
            .clamp(16, 1 << 24);
        Arc::new(BlockCache {
            inner: quick_cache::sync::Cache::with_weighter(
                estimated_items,
                capacity_bytes,
                ByteWeighter,
            ),
        })
    }

    /// The bytes of blocks currently cached (with per-entry overhead).
    pub fn size_bytes(&self) -> u64 {
        self.inner.weight()
    }

    /// The capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.inner.capacity()
    }

    /// A fresh id for an opened table, so that its blocks never collide with another's.
    pub(crate) fn next_table_id() -> u64 {
        NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// The block, loading it with `load` on a miss (concurrent misses of one block load it once).
    pub(crate) fn get_or_load<E>(
        &self,
        table_id: u64,
        block: u32,
        load: impl FnOnce() -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        self.inner.get_or_insert_with(&(table_id, block), load)
    }

    /// The block if it is cached, without loading it or counting as a use (scans
    /// read through this, so that a full scan does not evict the point-read working set).
    pub(crate) fn peek(&self, table_id: u64, block: u32) -> Option<Bytes> {
        self.inner.peek(&(table_id, block))
    }

    /// Drops every block of a table (after it was deleted), so that they stop taking space.
    pub(crate) fn evict_table(&self, table_id: u64) {
        self.inner.retain(|k, _| k.0 != table_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_by_bytes() {
        let cache = BlockCache::new(64 * 1024);
        for i in 0..200u32 {
            let b = cache
                .get_or_load::<()>(1, i, || Ok(Bytes::from(vec![0u8; 1024])))
                .unwrap();
            assert_eq!(b.len(), 1024);
        }
        assert!(cache.size_bytes() <= 64 * 1024, "{}", cache.size_bytes());
        assert!(cache.size_bytes() > 0);
    }

    #[test]
    fn hits_do_not_reload_and_errors_are_not_cached() {
        let cache = BlockCache::new(1 << 20);
        assert!(cache.get_or_load(7, 0, || Err("boom")).is_err());
        let v = cache.get_or_load::<()>(7, 0, || Ok(Bytes::from_static(b"x")));
        assert_eq!(v.unwrap(), Bytes::from_static(b"x"));
        let v = cache.get_or_load::<&str>(7, 0, || Err("must not reload"));
        assert_eq!(v.unwrap(), Bytes::from_static(b"x"));
        cache.evict_table(7);
        assert!(cache.get_or_load(7, 0, || Err("gone")).is_err());
    }
}
