//! The small engine-agnostic seam every workload drives.
//!
//! Workloads only see `KvEngine`, so Basalt and fjall run the very same loops on the very same
//! keys and values; each adapter maps these calls onto its engine's own API.

use std::path::Path;

use anyhow::Result;

/// Which engine a child process runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EngineKind {
    /// Basalt's storage engine (cargo feature `basalt`).
    Basalt,
    /// fjall 3.
    Fjall,
}

impl EngineKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EngineKind::Basalt => "basalt",
            EngineKind::Fjall => "fjall",
        }
    }
}

/// How the write-ahead log is made durable while loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalMode {
    /// Written to the OS without an fsync per write (Basalt: periodic sync every 10 ms; fjall: its
    /// default journal). Workload (b) adds explicit `sync_wal` calls on top of this.
    Buffered,
    /// Basalt only: group commit, each write acknowledged after the fsync that covers it.
    Group,
}

/// A key-value view of an LSM engine: 16-byte keys, opaque values.
pub(crate) trait KvEngine: Send + Sync {
    /// Writes one pair; returns once it is as durable as the open mode promises.
    fn insert(&self, key: &[u8; 16], value: &[u8]) -> Result<()>;
    /// Forces the write-ahead log to disk (fdatasync).
    fn sync_wal(&self) -> Result<()>;
    /// Moves every memtable into table files and waits until that is done.
    fn flush(&self) -> Result<()>;
    /// Waits until background compactions have drained.
    fn settle(&self) -> Result<()>;
    /// Runs a full (major) compaction and waits for it.
    fn major_compact(&self) -> Result<()>;
    /// Point read: the value's length if the key is present.
    fn get(&self, key: &[u8; 16]) -> Result<Option<usize>>;
    /// Reads every entry in the engine's order; returns how many there were.
    fn scan(&self) -> Result<u64>;
    /// Shuts the engine down cleanly (files closed, background work stopped).
    fn close(self: Box<Self>) -> Result<()>;
}

/// Opens `kind` in `dir` (created if missing) with a 64 MiB block cache.
pub(crate) fn open(kind: EngineKind, dir: &Path, mode: WalMode) -> Result<Box<dyn KvEngine>> {
    match kind {
        EngineKind::Fjall => Ok(Box::new(crate::fjall_engine::FjallEngine::open(dir, mode)?)),
        #[cfg(feature = "basalt")]
        EngineKind::Basalt => Ok(Box::new(crate::basalt_engine::BasaltEngine::open(
            dir, mode,
        )?)),
        #[cfg(not(feature = "basalt"))]
        EngineKind::Basalt => {
            anyhow::bail!("built without the `basalt` feature: only fjall is available")
        }
    }
}

/// Block cache given to each engine.
pub(crate) const BLOCK_CACHE_BYTES: u64 = 64 << 20;
