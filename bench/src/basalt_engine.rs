//! Basalt's storage engine behind `KvEngine`.
//!
//! A pair is one partition: partition key = the 16 key bytes, token = the first 8 key bytes as a
//! big-endian i64 (the caller computes tokens, storage never does), one row with the empty
//! clustering key, one live cell in column 0.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use storage::ManualClock;
use storage::StdFs;
use storage::SyncMode;
use storage::TableOptions;
use storage::{
    Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Engine, EngineOptions, KeyRange,
    Mutation, Row, TableId, Token,
};
use storage::{ColumnFilter, PartitionRead, ScanCommand, ScanItem};

use crate::engine::{BLOCK_CACHE_BYTES, KvEngine, WalMode};

const TABLE: TableId = TableId(1);

/// An open Basalt engine with the benchmark's single table.
pub(crate) struct BasaltEngine {
    engine: Engine,
    /// `now` for every call: storage never reads the clock, so the harness fixes it once.
    now: i64,
    /// Write timestamps (µs), strictly increasing so no write shadows another.
    next_ts: AtomicI64,
}

impl std::fmt::Debug for BasaltEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasaltEngine")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl BasaltEngine {
    pub(crate) fn open(dir: &Path, mode: WalMode) -> Result<Self> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
        // Storage never reads the wall clock; the harness hands it a fixed one.
        let clock = Arc::new(ManualClock::new(now));
        let mut opts = EngineOptions::new(dir.to_path_buf(), clock);
        opts.commitlog.sync = match mode {
            WalMode::Buffered => SyncMode::Periodic { interval_ms: 10 },
            WalMode::Group => SyncMode::default(),
        };
        opts.memtable_budget_bytes = 64 << 20;
        opts.block_cache_bytes = BLOCK_CACHE_BYTES as _;
        let engine = Engine::open(Arc::new(StdFs), opts).context("opening basalt")?;
        engine.create_table(TABLE, TableOptions::default())?;
        Ok(Self {
            engine,
            now,
            next_ts: AtomicI64::new(now * 1_000_000),
        })
    }
}

fn decorate(key: &[u8; 16]) -> DecoratedKey {
    let mut head = [0u8; 8];
    head.copy_from_slice(&key[..8]);
    let token = Token(i64::from_be_bytes(head));
    DecoratedKey::new(token, key.to_vec())
}

impl KvEngine for BasaltEngine {
    fn insert(&self, key: &[u8; 16], value: &[u8]) -> Result<()> {
        let ts = self.next_ts.fetch_add(1, Ordering::Relaxed);
        let cell = Cell::live(ts, value.to_vec());
        let row = Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(0), None, cell);
        let m = Mutation::new(TABLE, decorate(key)).with_row(row);
        self.engine.apply(&m)?;
        Ok(())
    }

    fn sync_wal(&self) -> Result<()> {
        self.engine.sync_commitlog()?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.engine.flush_all()?;
        Ok(())
    }

    fn settle(&self) -> Result<()> {
        self.engine.wait_for_compactions()?;
        Ok(())
    }

    fn major_compact(&self) -> Result<()> {
        self.engine.compact(TABLE, true)?;
        self.engine.wait_for_compactions()?;
        Ok(())
    }

    fn get(&self, key: &[u8; 16]) -> Result<Option<usize>> {
        let read = PartitionRead {
            key: decorate(key),
            slices: vec![ClusteringRange::ALL],
            columns: ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now: self.now,
            include_tombstones: false,
        };
        let mut reader = self.engine.read(TABLE, &read)?;
        match reader.next() {
            None => Ok(None),
            Some(row) => Ok(Some(row_value_len(&row?, self.now))),
        }
    }

    fn scan(&self) -> Result<u64> {
        let cmd = ScanCommand {
            range: KeyRange::ALL,
            resume_after: None,
            columns: ColumnFilter::All,
            now: self.now,
            include_tombstones: false,
        };
        let mut n = 0u64;
        for item in self.engine.scan(TABLE, &cmd)? {
            if let ScanItem::Row(row) = item? {
                std::hint::black_box(row_value_len(&row, self.now));
                n += 1;
            }
        }
        Ok(n)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.engine.close()?;
        Ok(())
    }
}

/// Total bytes of live cell values in the row (the single 100-byte value here).
fn row_value_len(row: &Row, now: i64) -> usize {
    row.cells
        .iter()
        .map(|c| c.cell.value_at(now).map_or(0, |v| v.len()))
        .sum()
}
