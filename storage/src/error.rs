//! The storage error type.

use crate::key::TableId;
use std::path::PathBuf;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O call failed.
    #[error("{context}: {source}")]
    Io {
        /// What storage was doing, with the path.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file failed its checksum or did not decode: never returned as data.
    #[error("corrupt {component} in {}: {reason} (at byte {offset})", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Which part of it: `data block`, `index`, `bloom filter`, `statistics`, `commit log`, ...
        component: &'static str,
        /// Byte offset in the file where the bad part starts.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Bytes from outside a file (the internode wire, a hint) did not decode.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A write or fsync failed earlier (commit log or memtable flush): the
    /// engine refuses writes, since the kernel may have dropped the dirty pages
    /// and a retry could report false success.
    #[error("storage is poisoned and refuses writes since a write or fsync failed: {0}")]
    Poisoned(String),
    /// A mutation is larger than half a commit-log segment.
    #[error(
        "mutation of {size} bytes exceeds the maximum of {max} bytes (half a commit-log segment)"
    )]
    MutationTooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No table with this id exists.
    #[error("unknown table {0}")]
    UnknownTable(TableId),
    /// A table with this id exists already.
    #[error("table {0} already exists")]
    TableExists(TableId),
    /// The caller passed something storage cannot act on.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Writers waited too long for flushes to free memtable space.
    #[error("write timed out waiting for memtable flushes to free space ({0} ms)")]
    Overloaded(u64),
    /// The engine is shutting down.
    #[error("storage engine is closed")]
    Closed,
}

/// Storage's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
