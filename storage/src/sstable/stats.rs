//! Per-table statistics: key and time bounds for read and compaction decisions,
//! counts, and a tombstone histogram for deciding when a compaction would purge much.
//!
//! Serialized as a sequence of fields (see `docs/design/sstable.md`), checksummed by the footer.
#![deny(clippy::indexing_slicing)]

use crate::cell::{CellKind, Row, Timestamp};
use crate::codec::{DecodeError, Reader, put_bytes, put_varint, put_varint_i64};
use crate::key::{ClusteringKey, DecoratedKey, Token};
use crate::partition::PartitionHeader;

/// Bins kept by [`TombstoneHistogram`]: enough to estimate, small enough to keep in memory.
const MAX_BINS: usize = 100;

/// A streaming histogram of local deletion times (seconds): at most 100 bins, the two
/// closest merged into their weighted mean when a new point would exceed that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TombstoneHistogram {
    bins: Vec<(i64, u64)>,
}

impl TombstoneHistogram {
    /// Counts one tombstone (or expiring value) deletable from `local_deletion_time` on.
    pub fn add(&mut self, local_deletion_time: i64) {
        match self
            .bins
            .binary_search_by_key(&local_deletion_time, |b| b.0)
        {
            Ok(i) => {
                if let Some(bin) = self.bins.get_mut(i) {
                    bin.1 += 1;
                }
            }
            Err(i) => {
                self.bins.insert(i, (local_deletion_time, 1));
                if self.bins.len() > MAX_BINS {
                    self.merge_closest();
                }
            }
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "i + 1 < len by the range i is taken from"
    )]
    fn merge_closest(&mut self) {
        let Some(i) = (0..self.bins.len() - 1)
            .min_by_key(|&i| self.bins[i + 1].0.saturating_sub(self.bins[i].0))
        else {
            return;
        };
        let ((p1, c1), (p2, c2)) = (self.bins[i], self.bins[i + 1]);
        let total = c1 + c2;
        let mean =
            (i128::from(p1) * i128::from(c1) + i128::from(p2) * i128::from(c2)) / i128::from(total);
        self.bins[i] = (i64::try_from(mean).unwrap_or(p1), total);
        self.bins.remove(i + 1);
    }

    /// Estimated tombstones whose local deletion time is before `gc_before`.
    pub fn droppable(&self, gc_before: i64) -> u64 {
        self.bins
            .iter()
            .take_while(|b| b.0 < gc_before)
            .map(|b| b.1)
            .sum()
    }

    /// The `(local deletion time, count)` bins, ascending.
    pub fn bins(&self) -> &[(i64, u64)] {
        &self.bins
    }
}

/// What an SSTable holds, in summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsTableStats {
    /// The first partition.
    pub min_key: DecoratedKey,
    /// The last partition.
    pub max_key: DecoratedKey,
    /// The smallest timestamp of any write or deletion (`i64::MAX` when there is none,
    /// with `max_timestamp` then `i64::MIN`: an empty range).
    pub min_timestamp: Timestamp,
    /// The largest timestamp of any write or deletion.
    pub max_timestamp: Timestamp,
    /// The smallest row clustering (rows only: range tombstones are not counted).
    pub min_clustering: Option<ClusteringKey>,
    /// The largest row clustering (rows only).
    pub max_clustering: Option<ClusteringKey>,
    /// The latest local deletion or expiration time; `i64::MAX` if any data never
    /// expires, `i64::MIN` if the table holds neither.
    pub max_local_deletion_time: i64,
    /// Deletion markers and expiring values (partition, range, row, column, cell).
    pub tombstone_count: u64,
    /// Their local deletion (or expiration) times.
    pub tombstone_histogram: TombstoneHistogram,
    /// Partitions.
    pub partition_count: u64,
    /// Regular rows (static rows are not counted).
    pub row_count: u64,
    /// Cells, static ones included.
    pub cell_count: u64,
    /// The largest partition's uncompressed encoded size.
    pub largest_partition_bytes: u64,
    /// Uncompressed size of all data blocks.
    pub uncompressed_bytes: u64,
    /// The file's format version.
    pub format_version: u32,
}

impl SsTableStats {
    /// Estimated tombstones purgeable by a compaction with this `gc_before` (seconds).
    pub fn droppable_tombstones(&self, gc_before: i64) -> u64 {
        self.tombstone_histogram.droppable(gc_before)
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_key(&mut out, &self.min_key);
        put_key(&mut out, &self.max_key);
        put_varint_i64(&mut out, self.min_timestamp.0);
        put_varint_i64(&mut out, self.max_timestamp.0);
        put_opt_clustering(&mut out, self.min_clustering.as_ref());
        put_opt_clustering(&mut out, self.max_clustering.as_ref());
        put_varint_i64(&mut out, self.max_local_deletion_time);
        for v in [
            self.tombstone_count,
            self.partition_count,
            self.row_count,
            self.cell_count,
            self.largest_partition_bytes,
            self.uncompressed_bytes,
        ] {
            put_varint(&mut out, v);
        }
        put_varint(&mut out, u64::from(self.format_version));
        put_varint(&mut out, self.tombstone_histogram.bins.len() as u64);
        for (p, c) in &self.tombstone_histogram.bins {
            put_varint_i64(&mut out, *p);
            put_varint(&mut out, *c);
        }
        out
    }

    pub(super) fn decode(buf: &[u8]) -> Result<SsTableStats, DecodeError> {
        let mut r = Reader::new(buf);
        let (min_key, max_key) = (get_key(&mut r)?, get_key(&mut r)?);
        let (min_ts, max_ts) = (r.varint_i64()?, r.varint_i64()?);
        let min_clustering = get_opt_clustering(&mut r)?;
        let max_clustering = get_opt_clustering(&mut r)?;
        let max_local_deletion_time = r.varint_i64()?;
        let mut counts = [0u64; 6];
        for c in &mut counts {
            *c = r.varint()?;
        }
        let format_version = u32::try_from(r.varint()?)
            .map_err(|_| DecodeError("format version out of range".into()))?;
        let n = r.len()?;
        let mut bins = Vec::with_capacity(n);
        for _ in 0..n {
            bins.push((r.varint_i64()?, r.varint()?));
        }
        if !r.is_empty() || min_key > max_key || !bins.is_sorted_by(|a, b| a.0 < b.0) {
            return Err(DecodeError("inconsistent statistics".into()));
        }
        let [
            tombstone_count,
            partition_count,
            row_count,
            cell_count,
            largest,
            uncompressed,
        ] = counts;
        Ok(SsTableStats {
            min_key,
            max_key,
            min_timestamp: Timestamp(min_ts),
            max_timestamp: Timestamp(max_ts),
            min_clustering,
            max_clustering,
            max_local_deletion_time,
            tombstone_count,
            tombstone_histogram: TombstoneHistogram { bins },
            partition_count,
            row_count,
            cell_count,
            largest_partition_bytes: largest,
            uncompressed_bytes: uncompressed,
            format_version,
        })
    }
}

fn put_key(out: &mut Vec<u8>, k: &DecoratedKey) {
    out.extend_from_slice(&k.token.0.to_le_bytes());
    put_bytes(out, &k.key);
}

fn get_key(r: &mut Reader<'_>) -> Result<DecoratedKey, DecodeError> {
    let token = Token(r.i64()?);
    Ok(DecoratedKey {
        token,
        key: r.bytes()?,
    })
}

fn put_opt_clustering(out: &mut Vec<u8>, c: Option<&ClusteringKey>) {
    out.push(u8::from(c.is_some()));
    if let Some(c) = c {
        put_bytes(out, c.as_bytes());
    }
}

fn get_opt_clustering(r: &mut Reader<'_>) -> Result<Option<ClusteringKey>, DecodeError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(ClusteringKey(r.bytes()?))),
        t => Err(DecodeError(format!("bad option tag {t}"))),
    }
}

/// Accumulates statistics while a table is written.
#[derive(Debug)]
pub(super) struct StatsCollector {
    min_key: Option<DecoratedKey>,
    max_key: Option<DecoratedKey>,
    min_ts: i64,
    max_ts: i64,
    min_clustering: Option<ClusteringKey>,
    max_clustering: Option<ClusteringKey>,
    max_ldt: i64,
    histogram: TombstoneHistogram,
    tombstones: u64,
    partitions: u64,
    rows: u64,
    cells: u64,
    pub(super) largest_partition: u64,
}

impl Default for StatsCollector {
    fn default() -> Self {
        StatsCollector {
            min_key: None,
            max_key: None,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            min_clustering: None,
            max_clustering: None,
            max_ldt: i64::MIN,
            histogram: TombstoneHistogram::default(),
            tombstones: 0,
            partitions: 0,
            rows: 0,
            cells: 0,
            largest_partition: 0,
        }
    }
}

impl StatsCollector {
    fn timestamp(&mut self, ts: i64) {
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
    }

    fn tombstone(&mut self, ts: i64, ldt: i64) {
        self.timestamp(ts);
        self.max_ldt = self.max_ldt.max(ldt);
        self.tombstones += 1;
        self.histogram.add(ldt);
    }

    pub(super) fn header(&mut self, h: &PartitionHeader) {
        if self.min_key.is_none() {
            self.min_key = Some(h.key.clone());
        }
        self.max_key = Some(h.key.clone());
        self.partitions += 1;
        if let Some(d) = &h.deletion {
            self.tombstone(d.marked_for_delete_at.0, d.local_deletion_time);
        }
        for rt in &h.range_tombstones {
            self.tombstone(
                rt.deletion.marked_for_delete_at.0,
                rt.deletion.local_deletion_time,
            );
        }
        if let Some(s) = &h.static_row {
            self.row_content(s);
        }
    }

    pub(super) fn row(&mut self, row: &Row) {
        self.rows += 1;
        if self.min_clustering.is_none() {
            self.min_clustering = Some(row.clustering.clone());
        }
        // Rows arrive in clustering order only within a partition, so compare.
        if self
            .min_clustering
            .as_ref()
            .is_some_and(|m| row.clustering < *m)
        {
            self.min_clustering = Some(row.clustering.clone());
        }
        if self
            .max_clustering
            .as_ref()
            .is_none_or(|m| row.clustering > *m)
        {
            self.max_clustering = Some(row.clustering.clone());
        }
        self.row_content(row);
    }

    fn row_content(&mut self, row: &Row) {
        if let Some(l) = &row.liveness {
            self.timestamp(l.timestamp.0);
            match l.expiry {
                Some((_, exp)) => self.tombstone(l.timestamp.0, exp),
                None => self.max_ldt = i64::MAX,
            }
        }
        if let Some(d) = &row.deletion {
            self.tombstone(d.marked_for_delete_at.0, d.local_deletion_time);
        }
        for (_, d) in &row.column_deletions {
            self.tombstone(d.marked_for_delete_at.0, d.local_deletion_time);
        }
        for c in &row.cells {
            self.cells += 1;
            let ts = c.cell.timestamp.0;
            match &c.cell.kind {
                CellKind::Live(_) => {
                    self.timestamp(ts);
                    self.max_ldt = i64::MAX;
                }
                CellKind::Expiring {
                    local_expiration_time,
                    ..
                } => self.tombstone(ts, *local_expiration_time),
                CellKind::Tombstone {
                    local_deletion_time,
                } => self.tombstone(ts, *local_deletion_time),
            }
        }
    }

    /// The statistics, or `None` when no partition was added.
    pub(super) fn finish(
        self,
        uncompressed_bytes: u64,
        format_version: u32,
    ) -> Option<SsTableStats> {
        Some(SsTableStats {
            min_key: self.min_key?,
            max_key: self.max_key?,
            min_timestamp: Timestamp(self.min_ts),
            max_timestamp: Timestamp(self.max_ts),
            min_clustering: self.min_clustering,
            max_clustering: self.max_clustering,
            max_local_deletion_time: self.max_ldt,
            tombstone_count: self.tombstones,
            tombstone_histogram: self.histogram,
            partition_count: self.partitions,
            row_count: self.rows,
            cell_count: self.cells,
            largest_partition_bytes: self.largest_partition,
            uncompressed_bytes,
            format_version,
        })
    }
}
