//! Basalt's replica storage engine: commit log → memtable → SSTables → compaction.
//!
//! It stores partitions of rows of cells, ordered by `(token, partition key)` and
//! then by an already byte-comparable clustering key, and reconciles versions by
//! timestamp. `docs/ARCHITECTURE.md` maps the modules.
//!
//! It is **not** a CQL engine and not a cluster: it never parses CQL, never
//! interprets key or value bytes, never computes a token, never reads the wall
//! clock (`now` is an argument, and background work asks a [`Clock`] the
//! caller supplies), and knows nothing of other nodes.
//!
//! The entry points:
//! - [`Engine`], opened with [`EngineOptions`] over a [`FileSystem`]
//!   ([`StdFs`] in production): tables are created with [`TableOptions`],
//!   written with [`Mutation`]s and read with a [`PartitionRead`] or a
//!   [`ScanCommand`];
//! - the data model: [`DecoratedKey`], [`ClusteringKey`], [`Row`], [`Cell`],
//!   [`DeletionTime`], [`RangeTombstone`];
//! - [`reconcile`]: Cassandra's rules for merging two versions, for callers
//!   that merge replicas' answers; [`codec`]: the varint primitives of the
//!   binary formats, shared with the internode protocol;
//! - with the `sim` feature, `sim::SimFs`: an in-memory file system that
//!   crashes and injects faults, for tests.
//!
//! Flushes, compactions and the commit log's periodic sync run on the
//! engine's own threads by default. With [`EngineOptions::background`] set
//! to [`Background::Inline`] the engine starts no thread, never sleeps and
//! never reads the operating system's clock, for a deterministic simulation
//! on one thread: a write that fills a memtable flushes it before returning,
//! a flush runs the compactions it makes due, batch and group commit fsync
//! in the writer, and the periodic work (timed flushes, the commit log's
//! space bound, periodic-mode fsyncs, all due by the [`Clock`]) runs when the
//! caller calls [`Engine::run_background_round`] on its timer.
//!
//! ```
//! use std::sync::Arc;
//! use storage::sim::SimFs;
//! use storage::{Cell, ClusteringKey, ClusteringRange, ColumnFilter, ColumnId, DecoratedKey};
//! use storage::{Engine, EngineOptions, ManualClock, Mutation, PartitionRead, Row, TableId, Token};
//!
//! let now = 1_700_000_000; // seconds since the epoch, from the caller's clock
//! let options = EngineOptions::new("/data", Arc::new(ManualClock::new(now)));
//! let engine = Engine::open(Arc::new(SimFs::new()), options)?;
//! let table = TableId(1);
//! engine.create_table(table, Default::default())?;
//!
//! // The caller computes the token (Cassandra's Murmur3 lives in `cluster`).
//! let key = DecoratedKey::new(Token(42), &b"sensor-7"[..]);
//! let row = Row::new(ClusteringKey::EMPTY).with_cell(ColumnId(0), None, Cell::live(1, &b"21.5"[..]));
//! engine.apply(&Mutation::new(table, key.clone()).with_row(row))?;
//!
//! let read = PartitionRead {
//!     key,
//!     slices: vec![ClusteringRange::ALL],
//!     columns: ColumnFilter::All,
//!     reversed: false,
//!     row_limit: None,
//!     now,
//!     include_tombstones: false,
//! };
//! let rows: Vec<Row> = engine.read(table, &read)?.collect::<storage::Result<_>>()?;
//! assert_eq!(rows[0].cells[0].cell.value_at(now).map(|v| &v[..]), Some(&b"21.5"[..]));
//! engine.close()?;
//! # Ok::<(), storage::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Every type a public signature mentions can be named by the crate's users.
#![warn(unnameable_types)]

mod background;
mod cell;
mod clock;
mod engine;
mod error;
mod io;
mod key;
mod memtable;
mod metrics;
mod mutation;
mod options;
mod partition;
mod position;
mod read;
mod table;
#[cfg(test)]
mod testing;
mod throttle;
mod truncation;

/// Deliberate bugs the fault-injection checkers must catch; only in builds
/// with the `fault-injection` feature.
#[cfg(feature = "fault-injection")]
pub mod canary;
pub mod codec;
pub mod reconcile;

// The engine's parts below the `Engine`, public only so that the fuzzers,
// the benches, the `compaction-sim` tool and crash tests can drive one part
// alone; they are no promise to the crate's users.
#[doc(hidden)]
pub mod cache;
#[doc(hidden)]
pub mod commitlog;
#[doc(hidden)]
pub mod compaction;
#[doc(hidden)]
pub mod manifest;
#[doc(hidden)]
pub mod sstable;

/// Test doubles: [`sim::SimFs`], an in-memory file system that can lose
/// unsynced writes, crash and inject faults. Behind the `sim` feature, so a
/// node's build never contains it.
#[cfg(any(test, feature = "sim"))]
pub mod sim {
    pub use crate::io::sim::{FaultKind, SimFs, replace_crash_points};
}

// The engine and how to open it.
pub use background::Background;
pub use commitlog::{CommitLogOptions, SyncMode};
pub use engine::{Engine, EngineOptions, LevelStats, TableStats};
pub use error::{Error, Result};
pub use metrics::LatencySummary;

// The seams the caller supplies: files and time.
pub use clock::{Clock, ManualClock};
pub use io::{File, FileSystem, StdFs};
// Durable files through the `FileSystem` seam (atomic replace, CRC-framed
// append-only files), for the node's and cluster's own files.
pub use io::durable;

// Per-table options, as CQL's `WITH` clause sets them.
pub use options::{
    CompactionStrategyOptions, Compression, CompressionOptions, LeveledOptions, MAX_TTL_SECONDS,
    SizeTieredOptions, TableOptions, TimeWindowOptions,
};

// The data model: keys, cells, rows, mutations.
pub use cell::{
    Cell, CellKind, ColumnCell, DeletionTime, LivenessInfo, RangeTombstone, Row, Timestamp,
};
pub use key::{Bound, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, TableId, Token};
pub use mutation::Mutation;
pub use partition::{KeyRange, PartitionBound, PartitionPosition};
pub use position::ReplayPosition;

// Reads: one partition, or a scan over a token range.
pub use read::{
    ColumnFilter, PartitionRead, PartitionReader, ReadStats, ScanCommand, ScanItem, ScanReader,
};

// What an SSTable or a memtable yields, for the fuzzers that open one alone.
#[doc(hidden)]
pub use partition::{PartitionHeader, PartitionSource, PartitionStream, Unfiltered};
