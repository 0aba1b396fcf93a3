//! fjall 3 behind `KvEngine`: one database, one keyspace, default background threads.

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::engine::{BLOCK_CACHE_BYTES, KvEngine, WalMode};

/// A fjall database with the benchmark's single keyspace.
pub(crate) struct FjallEngine {
    db: Database,
    ks: Keyspace,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine").finish_non_exhaustive()
    }
}

impl FjallEngine {
    pub(crate) fn open(dir: &Path, mode: WalMode) -> Result<Self> {
        if mode == WalMode::Group {
            bail!("fjall has no group-commit mode in this benchmark");
        }
        // Defaults everywhere (journal to OS buffers, 64 MiB memtable, leveled compaction)
        // except the block cache, which every engine gets at the same size.
        let db = Database::builder(dir)
            .cache_size(BLOCK_CACHE_BYTES)
            .open()
            .context("opening fjall")?;
        let ks = db
            .keyspace("bench", KeyspaceCreateOptions::default)
            .context("keyspace")?;
        Ok(Self { db, ks })
    }
}

impl KvEngine for FjallEngine {
    fn insert(&self, key: &[u8; 16], value: &[u8]) -> Result<()> {
        self.ks.insert(key.as_slice(), value)?;
        Ok(())
    }

    fn sync_wal(&self) -> Result<()> {
        self.db.persist(PersistMode::SyncData)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // fjall's own "rotate and wait for the flush" (hidden from its docs, used by its tests).
        self.ks.rotate_memtable_and_wait()?;
        Ok(())
    }

    fn settle(&self) -> Result<()> {
        // fjall has no "wait for compactions" call: poll until nothing is running, nothing is
        // queued and no compaction completed for a few consecutive looks.
        let mut quiet = 0;
        let mut done = self.db.compactions_completed();
        while quiet < 5 {
            sleep(Duration::from_millis(50));
            let now_done = self.db.compactions_completed();
            let idle = self.db.active_compactions() == 0 && self.db.outstanding_flushes() == 0;
            quiet = if idle && now_done == done {
                quiet + 1
            } else {
                0
            };
            done = now_done;
        }
        Ok(())
    }

    fn major_compact(&self) -> Result<()> {
        self.ks.major_compact()?;
        Ok(())
    }

    fn get(&self, key: &[u8; 16]) -> Result<Option<usize>> {
        Ok(self.ks.get(key.as_slice())?.map(|v| v.len()))
    }

    fn scan(&self) -> Result<u64> {
        let mut n = 0u64;
        for guard in self.ks.iter() {
            let (k, v) = guard.into_inner()?;
            std::hint::black_box((k.len(), v.len()));
            n += 1;
        }
        Ok(n)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.persist(PersistMode::SyncAll)?;
        let Self { db, ks } = *self;
        drop(ks);
        // Dropping the last handle stops fjall's workers and waits for them.
        drop(db);
        Ok(())
    }
}
