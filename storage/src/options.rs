//! Per-table options: compaction strategy, compression, bloom filter, gc grace, TTL.
//!
//! These are plain values. The CQL layer maps Cassandra's option names (given in
//! each field's docs) onto them; storage validates them once with
//! [`TableOptions::validate`] and persists them in the table's manifest with a
//! versioned encoding, so a table reopens with exactly the options it was
//! written with.

use crate::codec::{DecodeError, Reader, put_varint, put_varint_i64};
use crate::error::{Error, Result};
use bytes::BufMut;

/// Version byte of [`TableOptions::encode`]. Version 2 added the memtable
/// flush period; version 1 encodings still decode (with no period).
pub(crate) const OPTIONS_FORMAT_VERSION: u8 = 2;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// Cassandra's maximum TTL: 20 years.
pub const MAX_TTL_SECONDS: i32 = 20 * 365 * 24 * 60 * 60;

/// Everything a table can be configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct TableOptions {
    /// Cassandra: `compaction = {'class': ..., ...}`.
    pub compaction: CompactionStrategyOptions,
    /// Cassandra: `compression = {'class': ..., 'chunk_length_in_kb': ...}`.
    pub compression: CompressionOptions,
    /// Cassandra: `bloom_filter_fp_chance`; in (0, 1).
    pub bloom_fp_chance: f64,
    /// Cassandra: `gc_grace_seconds`: how long tombstones outlive their deletion.
    pub gc_grace_seconds: i64,
    /// Cassandra: `default_time_to_live`; 0 means no TTL.
    pub default_ttl_seconds: i32,
    /// Cassandra has no per-table equivalent (`memtable_cleanup_threshold` is
    /// node-wide): flush this table's memtable once it holds this many bytes;
    /// `None` leaves it to the engine's global memtable budget.
    pub memtable_flush_threshold_bytes: Option<u64>,
    /// Cassandra: `memtable_flush_period_in_ms`: flush the memtable once it
    /// has held data this long; 0 means never on a timer.
    pub memtable_flush_period_ms: u64,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            compaction: CompactionStrategyOptions::default(),
            compression: CompressionOptions::default(),
            bloom_fp_chance: 0.01,
            gc_grace_seconds: 864_000,
            default_ttl_seconds: 0,
            memtable_flush_threshold_bytes: None,
            memtable_flush_period_ms: 0,
        }
    }
}

/// Which compaction strategy a table uses, with its options.
#[derive(Clone, Debug, PartialEq)]
pub enum CompactionStrategyOptions {
    /// Cassandra: `'class': 'SizeTieredCompactionStrategy'` (the default).
    SizeTiered(SizeTieredOptions),
    /// Cassandra: `'class': 'LeveledCompactionStrategy'`.
    Leveled(LeveledOptions),
    /// Cassandra: `'class': 'TimeWindowCompactionStrategy'`.
    TimeWindow(TimeWindowOptions),
}

impl Default for CompactionStrategyOptions {
    fn default() -> Self {
        CompactionStrategyOptions::SizeTiered(SizeTieredOptions::default())
    }
}

/// Size-tiered compaction: merge tables of similar size.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeTieredOptions {
    /// Cassandra: `min_threshold`: the fewest similar tables worth merging.
    pub min_threshold: usize,
    /// Cassandra: `max_threshold`: the most tables merged at once.
    pub max_threshold: usize,
    /// Cassandra: `bucket_low`: a table joins a bucket if at least this × its average size.
    pub bucket_low: f64,
    /// Cassandra: `bucket_high`: ... and at most this × its average size.
    pub bucket_high: f64,
    /// Cassandra: `min_sstable_size` (in bytes here): smaller tables all bucket together.
    pub min_sstable_size_bytes: u64,
    /// Cassandra: `tombstone_threshold`: the droppable-tombstone ratio above
    /// which a lone table is compacted to purge them.
    pub tombstone_threshold: f64,
}

impl Default for SizeTieredOptions {
    fn default() -> Self {
        SizeTieredOptions {
            min_threshold: 4,
            max_threshold: 32,
            bucket_low: 0.5,
            bucket_high: 1.5,
            min_sstable_size_bytes: 50 * MIB,
            tombstone_threshold: 0.2,
        }
    }
}

/// Leveled compaction: non-overlapping tables per level, each level `fanout` × larger.
#[derive(Clone, Debug, PartialEq)]
pub struct LeveledOptions {
    /// Cassandra: `sstable_size_in_mb` (in bytes here): the size outputs are split at.
    pub sstable_size_bytes: u64,
    /// Cassandra: `fanout_size`: how much larger each level is than the one above.
    pub fanout: u64,
}

impl Default for LeveledOptions {
    fn default() -> Self {
        LeveledOptions {
            sstable_size_bytes: 160 * MIB,
            fanout: 10,
        }
    }
}

/// Time-window compaction: one table per window of write time, for time series.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeWindowOptions {
    /// Cassandra: `compaction_window_unit` × `compaction_window_size`, in seconds.
    pub window_size_seconds: i64,
    /// How the newest (still written) window is compacted: Cassandra uses the
    /// size-tiered options given alongside (`min_threshold`, `bucket_low`, ...).
    pub size_tiered: SizeTieredOptions,
}

impl Default for TimeWindowOptions {
    fn default() -> Self {
        TimeWindowOptions {
            window_size_seconds: 24 * 60 * 60,
            size_tiered: SizeTieredOptions::default(),
        }
    }
}

/// How SSTable data blocks are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Cassandra: `'enabled': false`.
    None,
    /// Cassandra: `'class': 'LZ4Compressor'` (the default).
    #[default]
    Lz4,
}

/// Compression with the size of the unit it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompressionOptions {
    /// The algorithm.
    pub compression: Compression,
    /// Cassandra: `chunk_length_in_kb` (in bytes here): uncompressed bytes per
    /// data block, also the block size when compression is off. A power of two
    /// from 1 KiB to 1 MiB.
    pub chunk_length_bytes: u32,
}

impl Default for CompressionOptions {
    fn default() -> Self {
        CompressionOptions {
            compression: Compression::Lz4,
            // Cassandra defaults to 16 KiB; 4 KiB blocks make a point read that
            // misses the block cache read and decompress a quarter as much, and
            // the in-memory block index stays small (about 1.5% of the data).
            chunk_length_bytes: 4 * 1024,
        }
    }
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

impl TableOptions {
    /// Tombstones deleted locally before this second may be purged, at `now`.
    pub fn gc_before(&self, now: i64) -> i64 {
        #[cfg(feature = "fault-injection")]
        if crate::canary::active(crate::canary::Canary::PurgeTombstonesAtOnce) {
            return now;
        }
        now.saturating_sub(self.gc_grace_seconds)
    }

    /// Checks every option, naming the Cassandra option that is wrong.
    pub fn validate(&self) -> Result<()> {
        let fp = self.bloom_fp_chance;
        if !(fp > 0.0 && fp < 1.0) {
            return Err(invalid(format!(
                "bloom_filter_fp_chance must be in (0, 1), got {fp}"
            )));
        }
        if self.gc_grace_seconds < 0 {
            return Err(invalid(format!(
                "gc_grace_seconds must not be negative, got {}",
                self.gc_grace_seconds
            )));
        }
        if !(0..=MAX_TTL_SECONDS).contains(&self.default_ttl_seconds) {
            return Err(invalid(format!(
                "default_time_to_live must be in [0, {MAX_TTL_SECONDS}], got {}",
                self.default_ttl_seconds
            )));
        }
        if self.memtable_flush_threshold_bytes == Some(0) {
            return Err(invalid("memtable flush threshold must be positive".into()));
        }
        self.compression.validate()?;
        self.compaction.validate()
    }

    /// Appends the versioned encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(OPTIONS_FORMAT_VERSION);
        self.compaction.encode(out);
        out.put_u8(match self.compression.compression {
            Compression::None => 0,
            Compression::Lz4 => 1,
        });
        put_varint(out, u64::from(self.compression.chunk_length_bytes));
        out.put_u64_le(self.bloom_fp_chance.to_bits());
        put_varint_i64(out, self.gc_grace_seconds);
        put_varint_i64(out, i64::from(self.default_ttl_seconds));
        match self.memtable_flush_threshold_bytes {
            None => out.put_u8(0),
            Some(n) => {
                out.put_u8(1);
                put_varint(out, n);
            }
        }
        put_varint(out, self.memtable_flush_period_ms);
    }

    /// Decodes what [`TableOptions::encode`] wrote and validates it, so a
    /// planner never sees options it could misbehave on.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8()?;
        if !(1..=OPTIONS_FORMAT_VERSION).contains(&version) {
            return Err(DecodeError(format!(
                "unknown table options version {version}"
            )));
        }
        let compaction = CompactionStrategyOptions::decode(r)?;
        let compression = match r.u8()? {
            0 => Compression::None,
            1 => Compression::Lz4,
            t => return Err(DecodeError(format!("unknown compression {t}"))),
        };
        let chunk_length_bytes = get_u32(r, "chunk length")?;
        let opts = TableOptions {
            compaction,
            compression: CompressionOptions {
                compression,
                chunk_length_bytes,
            },
            bloom_fp_chance: f64::from_bits(r.u64()?),
            gc_grace_seconds: r.varint_i64()?,
            default_ttl_seconds: i32::try_from(r.varint_i64()?)
                .map_err(|_| DecodeError("default ttl out of range".into()))?,
            memtable_flush_threshold_bytes: match r.u8()? {
                0 => None,
                1 => Some(r.varint()?),
                t => return Err(DecodeError(format!("bad memtable threshold flag {t}"))),
            },
            memtable_flush_period_ms: if version >= 2 { r.varint()? } else { 0 },
        };
        opts.validate().map_err(|e| DecodeError(e.to_string()))?;
        Ok(opts)
    }
}

impl CompressionOptions {
    fn validate(&self) -> Result<()> {
        let c = u64::from(self.chunk_length_bytes);
        if !c.is_power_of_two() || !(KIB..=MIB).contains(&c) {
            return Err(invalid(format!(
                "chunk_length_in_kb must be a power of two from 1 to 1024 KiB, got {c} bytes"
            )));
        }
        Ok(())
    }
}

impl CompactionStrategyOptions {
    /// Checks the strategy's options.
    pub fn validate(&self) -> Result<()> {
        match self {
            CompactionStrategyOptions::SizeTiered(o) => o.validate(),
            CompactionStrategyOptions::Leveled(o) => o.validate(),
            CompactionStrategyOptions::TimeWindow(o) => {
                if o.window_size_seconds <= 0 {
                    return Err(invalid(format!(
                        "compaction_window_size must be positive, got {} seconds",
                        o.window_size_seconds
                    )));
                }
                o.size_tiered.validate()
            }
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            CompactionStrategyOptions::SizeTiered(o) => {
                out.put_u8(0);
                o.encode(out);
            }
            CompactionStrategyOptions::Leveled(o) => {
                out.put_u8(1);
                put_varint(out, o.sstable_size_bytes);
                put_varint(out, o.fanout);
            }
            CompactionStrategyOptions::TimeWindow(o) => {
                out.put_u8(2);
                put_varint_i64(out, o.window_size_seconds);
                o.size_tiered.encode(out);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => CompactionStrategyOptions::SizeTiered(SizeTieredOptions::decode(r)?),
            1 => CompactionStrategyOptions::Leveled(LeveledOptions {
                sstable_size_bytes: r.varint()?,
                fanout: r.varint()?,
            }),
            2 => CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
                window_size_seconds: r.varint_i64()?,
                size_tiered: SizeTieredOptions::decode(r)?,
            }),
            t => return Err(DecodeError(format!("unknown compaction strategy {t}"))),
        })
    }
}

impl SizeTieredOptions {
    /// Checks the thresholds and bucket bounds.
    pub fn validate(&self) -> Result<()> {
        if self.min_threshold < 2 {
            return Err(invalid(format!(
                "min_threshold must be at least 2, got {}",
                self.min_threshold
            )));
        }
        if self.max_threshold < self.min_threshold {
            return Err(invalid(format!(
                "max_threshold ({}) must be at least min_threshold ({})",
                self.max_threshold, self.min_threshold
            )));
        }
        let (lo, hi) = (self.bucket_low, self.bucket_high);
        // A table must fit the bucket it starts, so low <= 1 <= high.
        if !(lo > 0.0 && lo <= 1.0 && (1.0..f64::INFINITY).contains(&hi) && lo < hi) {
            return Err(invalid(format!(
                "bucket_low and bucket_high must satisfy 0 < bucket_low <= 1 <= bucket_high, \
                 bucket_low < bucket_high, got {lo} and {hi}"
            )));
        }
        let t = self.tombstone_threshold;
        if !(t.is_finite() && t >= 0.0) {
            return Err(invalid(format!(
                "tombstone_threshold must be a non-negative number, got {t}"
            )));
        }
        Ok(())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.min_threshold as u64);
        put_varint(out, self.max_threshold as u64);
        out.put_u64_le(self.bucket_low.to_bits());
        out.put_u64_le(self.bucket_high.to_bits());
        put_varint(out, self.min_sstable_size_bytes);
        out.put_u64_le(self.tombstone_threshold.to_bits());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SizeTieredOptions {
            min_threshold: get_usize(r, "min_threshold")?,
            max_threshold: get_usize(r, "max_threshold")?,
            bucket_low: f64::from_bits(r.u64()?),
            bucket_high: f64::from_bits(r.u64()?),
            min_sstable_size_bytes: r.varint()?,
            tombstone_threshold: f64::from_bits(r.u64()?),
        })
    }
}

impl LeveledOptions {
    /// Checks the table size and fanout.
    pub fn validate(&self) -> Result<()> {
        if self.sstable_size_bytes < MIB {
            return Err(invalid(format!(
                "sstable_size_in_mb must be at least 1, got {} bytes",
                self.sstable_size_bytes
            )));
        }
        if !(2..=1000).contains(&self.fanout) {
            return Err(invalid(format!(
                "fanout_size must be in [2, 1000], got {}",
                self.fanout
            )));
        }
        Ok(())
    }
}

fn get_usize(r: &mut Reader<'_>, what: &str) -> Result<usize, DecodeError> {
    let v = r.varint()?;
    usize::try_from(v).map_err(|_| DecodeError(format!("{what} {v} out of range")))
}

fn get_u32(r: &mut Reader<'_>, what: &str) -> Result<u32, DecodeError> {
    let v = r.varint()?;
    u32::try_from(v).map_err(|_| DecodeError(format!("{what} {v} out of range")))
}

#[cfg(test)]
mod tests;
