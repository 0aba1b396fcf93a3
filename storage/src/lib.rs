//! Basalt's replica storage engine: commit log → memtable → SSTables → compaction.
//!
//! It stores partitions of rows of cells, ordered by `(token, partition key)` and
//! then by an already byte-comparable clustering key.
//!
//! It is **not** a CQL engine and not a cluster: it never parses CQL, never
//! interprets key or value bytes, never computes a token, never reads the wall
//! clock (`now` is always an argument), and knows nothing of other nodes.
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
