//! A white-box listing of one table as this replica stores it: every
//! partition with its token, the digest a digest read would answer and its
//! number of cells, for checking that replicas converged.
//!
//! The listing is local (memtables and SSTables merged, tombstones kept), not
//! a read at a consistency level. Each partition is read whole in tombstone
//! mode, brought into the canonical form the replica's digest reads use and
//! hashed with the same digest, so two replicas list equal digests exactly
//! when they hold the same cells, values, timestamps, TTLs and deletions.
//! Tombstone mode does not depend on the clock, so replicas listed at
//! different moments still compare.

use storage::{ColumnFilter, Engine, KeyRange, Mutation, ScanCommand, ScanItem, TableId, Token};

use crate::coordinator::merge::{digest, normalize};

/// One partition of a [`dump`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSummary {
    /// The partition key bytes.
    pub key: Vec<u8>,
    /// Its token.
    pub token: Token,
    /// The digest a digest read of the whole partition answers.
    pub digest: [u8; 16],
    /// Cells in its rows and static row, tombstone cells included.
    pub cells: u64,
}

/// Why a [`dump`] gave no listing.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The table holds more partitions than the caller accepts.
    #[error("the table holds more than {0} partitions; too many to list")]
    TooMany(usize),
    /// Storage failed (an unknown table, a read error).
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// Every partition of `table` in token order, or [`DumpError::TooMany`] once
/// more than `max_partitions` are found (the scan stops there, so the memory
/// used is bounded by the limit, not by the table). Blocks on storage.
pub fn dump(
    engine: &Engine,
    table: TableId,
    max_partitions: usize,
) -> Result<Vec<PartitionSummary>, DumpError> {
    let cmd = ScanCommand {
        range: KeyRange::ALL,
        resume_after: None,
        columns: ColumnFilter::All,
        // Tombstone mode keeps expired cells as they are: `now` only feeds
        // the tombstone statistics, so any value gives the same listing.
        now: 0,
        include_tombstones: true,
    };
    let mut out = Vec::new();
    let mut current: Option<Mutation> = None;
    for item in engine.scan(table, &cmd)? {
        match item? {
            ScanItem::Partition {
                key,
                deletion,
                static_row,
                range_tombstones,
            } => {
                out.extend(current.take().map(summarize));
                if out.len() >= max_partitions {
                    return Err(DumpError::TooMany(max_partitions));
                }
                let mut m = Mutation::new(table, key);
                m.partition_deletion = deletion;
                m.static_row = static_row;
                m.range_tombstones = range_tombstones;
                current = Some(m);
            }
            ScanItem::Row(row) => {
                if let Some(m) = current.as_mut() {
                    m.rows.push(row);
                }
            }
        }
    }
    out.extend(current.map(summarize));
    Ok(out)
}

fn summarize(mut partition: Mutation) -> PartitionSummary {
    normalize(&mut partition);
    let cells = partition
        .static_row
        .iter()
        .chain(&partition.rows)
        .map(|r| r.cells.len() as u64)
        .sum();
    PartitionSummary {
        key: partition.key.key.to_vec(),
        token: partition.key.token,
        digest: digest(&partition),
        cells,
    }
}
