//! [`ReplayPosition`]: a place in the commit log, shared by the commit log
//! (which hands them out) and table manifests (which record how far a table has
//! flushed, so replay skips what SSTables already hold).

/// A record's place in the commit log: segment ids only grow, so positions order
/// as the writes were logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplayPosition {
    /// The segment's id (not its file name's position in a directory listing).
    pub segment_id: u64,
    /// Byte offset of the record inside the segment.
    pub offset: u64,
}

impl ReplayPosition {
    /// Before every record.
    pub const ZERO: ReplayPosition = ReplayPosition {
        segment_id: 0,
        offset: 0,
    };
}
