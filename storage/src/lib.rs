//! Basalt's replica storage engine: commit log → memtable → SSTables → compaction.
//!
//! It stores partitions of rows of cells, ordered by `(token, partition key)` and
//! then by an already byte-comparable clustering key, and reconciles versions by
//! timestamp. [`Engine`] is the entry point; `docs/ARCHITECTURE.md` maps the rest.
//!
//! It is **not** a CQL engine and not a cluster: it never parses CQL, never
//! interprets key or value bytes, never computes a token, never reads the wall
//! clock (`now` is an argument, and background work asks a [`clock::Clock`] the
//! caller supplies), and knows nothing of other nodes.
//!
//! ```
//! use std::sync::Arc;
//! use storage::clock::ManualClock;
//! use storage::io::sim::SimFs;
//! use storage::read::{ColumnFilter, PartitionRead};
//! use storage::{Cell, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Engine};
//! use storage::{EngineOptions, Mutation, Row, TableId, Token};
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

pub mod cache;
pub mod cell;
pub mod clock;
pub mod codec;
pub mod commitlog;
pub mod compaction;
pub mod engine;
pub mod error;
pub mod io;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod metrics;
pub mod mutation;
pub mod options;
pub mod partition;
pub mod position;
pub mod read;
pub mod reconcile;
pub mod sstable;
mod table;
#[cfg(test)]
mod testing;
mod throttle;

pub use cell::{
    Cell, CellKind, ColumnCell, DeletionTime, LivenessInfo, RangeTombstone, Row, Timestamp,
};
pub use engine::{Engine, EngineOptions, TableStats};
pub use error::{Error, Result};
pub use key::{Bound, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, TableId, Token};
pub use mutation::Mutation;
pub use partition::{KeyRange, PartitionBound, PartitionPosition};
pub use position::ReplayPosition;
