//! `WITH` options: reading property values, table options into [`TableParams`],
//! and [`TableParams`] into the storage engine's [`TableOptions`].

use std::collections::{BTreeMap, BTreeSet};

use cql_lite::ErrorResponse;
use cql_lite::ast::{Literal, Property, PropertyValue};
use storage::{
    CompactionStrategyOptions, Compression, CompressionOptions, LeveledOptions, MAX_TTL_SECONDS,
    SizeTieredOptions, TableOptions, TimeWindowOptions,
};

use crate::schema::TableParams;
use cql_lite::errors::{config, syntax};

const STCS: &str = "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy";
const LCS: &str = "org.apache.cassandra.db.compaction.LeveledCompactionStrategy";
const TWCS: &str = "org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy";
const COMPACTION_PACKAGE: &str = "org.apache.cassandra.db.compaction.";
const COMPRESSION_PACKAGE: &str = "org.apache.cassandra.io.compress.";
/// The compressors Cassandra ships. Storage compresses with LZ4 whichever is
/// named (the choice is recorded and shown), so schemas written for Cassandra load.
const COMPRESSORS: [&str; 5] = [
    "LZ4Compressor",
    "SnappyCompressor",
    "DeflateCompressor",
    "ZstdCompressor",
    "NoopCompressor",
];
/// Options every compaction strategy takes (`AbstractCompactionStrategy`).
const COMMON_COMPACTION: [&str; 9] = [
    "class",
    "enabled",
    "tombstone_threshold",
    "tombstone_compaction_interval",
    "unchecked_tombstone_compaction",
    "only_purge_repaired_tombstones",
    "log_all",
    "provide_overlapping_tombstones",
    "max_threshold",
];
const SIZE_TIERED: [&str; 4] = [
    "min_threshold",
    "bucket_low",
    "bucket_high",
    "min_sstable_size",
];
const LEVELED: [&str; 4] = [
    "min_threshold",
    "sstable_size_in_mb",
    "fanout_size",
    "single_sstable_uplevel",
];
const TIME_WINDOW: [&str; 9] = [
    "min_threshold",
    "bucket_low",
    "bucket_high",
    "min_sstable_size",
    "compaction_window_unit",
    "compaction_window_size",
    "timestamp_resolution",
    "expired_sstable_check_frequency_seconds",
    "unsafe_aggressive_sstable_expiration",
];
/// Options Cassandra 4 still accepts but ignores.
const OBSOLETE: [&str; 5] = [
    "read_repair_chance",
    "dclocal_read_repair_chance",
    "index_interval",
    "replicate_on_write",
    "populate_io_cache_on_flush",
];

/// Refuses a property given twice, as Cassandra's property parser does.
pub(super) fn check_unique(props: &[Property]) -> Result<(), ErrorResponse> {
    let mut seen = BTreeSet::new();
    for p in props {
        if !seen.insert(p.name.as_str()) {
            return Err(syntax(format!(
                "Multiple definition for property '{}'",
                p.name
            )));
        }
    }
    Ok(())
}

/// A literal's text as Cassandra reads option values: numbers keep their digits.
pub(super) fn literal_text(lit: &Literal) -> String {
    match lit {
        Literal::Null => "null".to_owned(),
        Literal::String(s) | Literal::Integer(s) | Literal::Float(s) | Literal::Uuid(s) => {
            s.clone()
        }
        Literal::Duration(s) => s.clone(),
        Literal::NaN => "NaN".to_owned(),
        Literal::Infinity { negative } => {
            if *negative { "-Infinity" } else { "Infinity" }.to_owned()
        }
        Literal::Boolean(b) => b.to_string(),
        Literal::Blob(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        }
    }
}

/// A simple option's value as text.
pub(super) fn prop_text(p: &Property) -> Result<String, ErrorResponse> {
    match &p.value {
        PropertyValue::Literal(lit) => Ok(literal_text(lit)),
        PropertyValue::Identifier(id) => Ok(id.clone()),
        PropertyValue::Map(_) => Err(syntax(format!(
            "Invalid value for property '{}'. It should be a string",
            p.name
        ))),
    }
}

/// A map option's entries, keys and values as text.
pub(super) fn prop_map(p: &Property) -> Result<BTreeMap<String, String>, ErrorResponse> {
    match &p.value {
        PropertyValue::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| (literal_text(k), literal_text(v)))
            .collect()),
        _ => Err(syntax(format!(
            "Invalid value for property '{}'. It should be a map.",
            p.name
        ))),
    }
}

fn prop_int(p: &Property) -> Result<i32, ErrorResponse> {
    let text = prop_text(p)?;
    text.parse()
        .map_err(|_| syntax(format!("Invalid integer value {text} for '{}'", p.name)))
}

fn prop_double(p: &Property) -> Result<f64, ErrorResponse> {
    let text = prop_text(p)?;
    text.parse::<f64>()
        .ok()
        .filter(|d| d.is_finite())
        .ok_or_else(|| syntax(format!("Invalid double value {text} for '{}'", p.name)))
}

/// `true` or `false`, any case, as Cassandra accepts them.
pub(super) fn prop_bool(p: &Property) -> Result<bool, ErrorResponse> {
    let text = prop_text(p)?;
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(syntax(format!(
            "Invalid boolean value {text} for '{}'. Only 'true' and 'false' are allowed.",
            p.name
        ))),
    }
}

/// The table options `props` set on top of `base`, checked as Cassandra checks
/// them. `id` is not handled here (only CREATE TABLE takes it).
pub(crate) fn table_params(
    base: &TableParams,
    props: &[Property],
) -> Result<TableParams, ErrorResponse> {
    check_unique(props)?;
    let mut params = base.clone();
    for p in props {
        set_param(&mut params, p)?;
    }
    validate(&params)?;
    Ok(params)
}

fn set_param(params: &mut TableParams, p: &Property) -> Result<(), ErrorResponse> {
    match p.name.as_str() {
        "bloom_filter_fp_chance" => params.bloom_filter_fp_chance = prop_double(p)?,
        "comment" => params.comment = prop_text(p)?,
        "compaction" => params.compaction = compaction(&prop_map(p)?)?,
        "compression" => params.compression = compression(&prop_map(p)?)?,
        "default_time_to_live" => params.default_time_to_live = prop_int(p)?,
        "gc_grace_seconds" => params.gc_grace_seconds = prop_int(p)?,
        "caching" => params.caching = caching(&prop_map(p)?)?,
        "speculative_retry" => params.speculative_retry = retry_policy(p)?,
        "additional_write_policy" => params.additional_write_policy = retry_policy(p)?,
        "crc_check_chance" => params.crc_check_chance = prop_double(p)?,
        "memtable_flush_period_in_ms" => params.memtable_flush_period_in_ms = prop_int(p)?,
        "min_index_interval" => params.min_index_interval = prop_int(p)?,
        "max_index_interval" => params.max_index_interval = prop_int(p)?,
        "read_repair" => params.read_repair = read_repair(p)?,
        "cdc" => {
            if prop_bool(p)? {
                return Err(cql_lite::errors::invalid(
                    "Cannot enable cdc: change data capture is not supported",
                ));
            }
            params.cdc = false;
        }
        name if OBSOLETE.contains(&name) => {
            tracing::warn!(property = name, "ignoring obsolete table property");
        }
        name => return Err(syntax(format!("Unknown property '{name}'"))),
    }
    Ok(())
}

fn validate(params: &TableParams) -> Result<(), ErrorResponse> {
    let fp = params.bloom_filter_fp_chance;
    if !(fp > 0.0 && fp <= 1.0) {
        return Err(config(format!(
            "bloom_filter_fp_chance must be larger than 0 and less than or equal to 1.0 (got {fp})"
        )));
    }
    let ttl = params.default_time_to_live;
    if ttl < 0 {
        return Err(config(format!(
            "default_time_to_live must be greater than or equal to 0 (got {ttl})"
        )));
    }
    if ttl > MAX_TTL_SECONDS {
        return Err(config(format!(
            "default_time_to_live must be less than or equal to {MAX_TTL_SECONDS} (got {ttl})"
        )));
    }
    non_negative("gc_grace_seconds", params.gc_grace_seconds)?;
    non_negative(
        "memtable_flush_period_in_ms",
        params.memtable_flush_period_in_ms,
    )?;
    let crc = params.crc_check_chance;
    if !(0.0..=1.0).contains(&crc) {
        return Err(config(format!(
            "crc_check_chance must be between 0.0 and 1.0 (got {crc})"
        )));
    }
    if params.min_index_interval < 1 {
        return Err(config(format!(
            "min_index_interval must be greater than or equal to 1 (got {})",
            params.min_index_interval
        )));
    }
    if params.max_index_interval < params.min_index_interval {
        return Err(config(format!(
            "max_index_interval must be greater than or equal to min_index_interval (got {})",
            params.max_index_interval
        )));
    }
    storage_options(params).map(|_| ())
}

fn non_negative(name: &str, value: i32) -> Result<(), ErrorResponse> {
    if value < 0 {
        return Err(config(format!(
            "{name} must be greater than or equal to 0 (got {value})"
        )));
    }
    Ok(())
}

/// `99p`, `99PERCENTILE`, `50ms`, `ALWAYS`, `NONE` (Cassandra's retry policies),
/// kept as written but with the keywords upper-cased as Cassandra prints them.
fn retry_policy(p: &Property) -> Result<String, ErrorResponse> {
    let text = prop_text(p)?;
    let upper = text.to_ascii_uppercase();
    let number = |s: &str| s.parse::<f64>().is_ok_and(|n| n >= 0.0);
    let valid = match upper.as_str() {
        "ALWAYS" | "NONE" => return Ok(upper),
        u if u.ends_with("PERCENTILE") => number(&u[..u.len() - "PERCENTILE".len()]),
        u if u.ends_with("MS") => number(&u[..u.len() - 2]),
        u if u.ends_with('P') => number(&u[..u.len() - 1]),
        _ => false,
    };
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(config(format!(
            "Invalid value {text} for option '{}'",
            p.name
        )))
    }
}

fn read_repair(p: &Property) -> Result<String, ErrorResponse> {
    let text = prop_text(p)?.to_ascii_uppercase();
    match text.as_str() {
        "BLOCKING" | "NONE" => Ok(text),
        _ => Err(config(format!(
            "Invalid value {text} for option 'read_repair'; must be one of BLOCKING, NONE"
        ))),
    }
}

fn caching(map: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ErrorResponse> {
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "keys" && *k != "rows_per_partition")
        .collect();
    if !unknown.is_empty() {
        return Err(config(format!(
            "Invalid caching sub-options [{}]: only \"keys\" and \"rows_per_partition\" are allowed",
            unknown.join(", ")
        )));
    }
    let keys = map
        .get("keys")
        .map_or("ALL", String::as_str)
        .to_ascii_uppercase();
    if keys != "ALL" && keys != "NONE" {
        return Err(config(format!(
            "Invalid value '{keys}' for caching sub-option 'keys': only 'ALL' and 'NONE' are allowed"
        )));
    }
    let rows = map
        .get("rows_per_partition")
        .map_or("NONE", String::as_str)
        .to_ascii_uppercase();
    if rows != "ALL" && rows != "NONE" && !rows.parse::<u32>().is_ok_and(|n| n > 0) {
        return Err(config(format!(
            "Invalid value '{rows}' for caching sub-option 'rows_per_partition': \
             only 'ALL', 'NONE' or a positive integer are allowed"
        )));
    }
    Ok(BTreeMap::from([
        ("keys".to_owned(), keys),
        ("rows_per_partition".to_owned(), rows),
    ]))
}

/// The full class name of a compaction strategy given short or qualified.
fn compaction_class(class: &str) -> Result<&'static str, ErrorResponse> {
    let short = class.strip_prefix(COMPACTION_PACKAGE).unwrap_or(class);
    match short {
        "SizeTieredCompactionStrategy" => Ok(STCS),
        "LeveledCompactionStrategy" => Ok(LCS),
        "TimeWindowCompactionStrategy" => Ok(TWCS),
        _ => {
            let full = if class.contains('.') {
                class.to_owned()
            } else {
                format!("{COMPACTION_PACKAGE}{class}")
            };
            Err(config(format!(
                "Unable to find compaction strategy class '{full}'"
            )))
        }
    }
}

fn compaction(map: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ErrorResponse> {
    let class = map
        .get("class")
        .ok_or_else(|| config("Missing sub-option 'class' for the 'compaction' option."))?;
    let class = compaction_class(class)?;
    let (specific, short): (&[&str], &str) = match class {
        STCS => (&SIZE_TIERED, "SizeTieredCompactionStrategy"),
        LCS => (&LEVELED, "LeveledCompactionStrategy"),
        _ => (&TIME_WINDOW, "TimeWindowCompactionStrategy"),
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !COMMON_COMPACTION.contains(k) && !specific.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(config(format!(
            "Properties specified [{}] are not understood by {short}",
            unknown.join(", ")
        )));
    }
    let mut out = map.clone();
    out.insert("class".to_owned(), class.to_owned());
    // Cassandra always shows the thresholds, defaulted when not given.
    out.entry("max_threshold".to_owned())
        .or_insert_with(|| "32".to_owned());
    out.entry("min_threshold".to_owned())
        .or_insert_with(|| "4".to_owned());
    Ok(out)
}

fn compression(map: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ErrorResponse> {
    const KNOWN: [&str; 6] = [
        "class",
        "chunk_length_in_kb",
        "enabled",
        "crc_check_chance",
        "min_compress_ratio",
        "compression_level",
    ];
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(config(format!(
            "Unknown compression options ({})",
            unknown.join(", ")
        )));
    }
    let enabled = map
        .get("enabled")
        .is_none_or(|e| !e.eq_ignore_ascii_case("false"));
    if !enabled {
        return Ok(BTreeMap::from([("enabled".to_owned(), "false".to_owned())]));
    }
    let class = map
        .get("class")
        .ok_or_else(|| config("Missing sub-option 'class' for the 'compression' option."))?;
    let short = class.strip_prefix(COMPRESSION_PACKAGE).unwrap_or(class);
    if !COMPRESSORS.contains(&short) {
        return Err(config(format!(
            "Could not create Compression for type {class}"
        )));
    }
    let mut out = map.clone();
    out.remove("enabled");
    out.insert("class".to_owned(), format!("{COMPRESSION_PACKAGE}{short}"));
    out.entry("chunk_length_in_kb".to_owned())
        .or_insert_with(|| "4".to_owned());
    Ok(out)
}

/// The storage engine's options for a table's parameters. Compaction, the
/// compression chunk size and on/off, the bloom filter, gc grace, the
/// default TTL and the memtable flush period are acted on; the rest is only
/// shown.
pub(crate) fn storage_options(params: &TableParams) -> Result<TableOptions, ErrorResponse> {
    let options = TableOptions {
        compaction: storage_compaction(&params.compaction)?,
        compression: storage_compression(&params.compression)?,
        // Cassandra's 1.0 means "no bloom filter"; storage always builds one,
        // and one this loose costs next to nothing.
        bloom_fp_chance: params.bloom_filter_fp_chance.min(0.999_9),
        gc_grace_seconds: i64::from(params.gc_grace_seconds),
        default_ttl_seconds: params.default_time_to_live,
        memtable_flush_threshold_bytes: None,
        // Validated non-negative with the other parameters.
        memtable_flush_period_ms: u64::try_from(params.memtable_flush_period_in_ms).unwrap_or(0),
    };
    options.validate().map_err(|e| match e {
        storage::Error::InvalidArgument(message) => config(message),
        other => config(other.to_string()),
    })?;
    Ok(options)
}

fn parse_option<T: std::str::FromStr>(
    map: &BTreeMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, ErrorResponse> {
    match map.get(name) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| {
            config(format!(
                "Invalid value '{text}' for compaction sub-option '{name}'"
            ))
        }),
    }
}

fn size_tiered(map: &BTreeMap<String, String>) -> Result<SizeTieredOptions, ErrorResponse> {
    let d = SizeTieredOptions::default();
    Ok(SizeTieredOptions {
        min_threshold: parse_option(map, "min_threshold", d.min_threshold)?,
        max_threshold: parse_option(map, "max_threshold", d.max_threshold)?,
        bucket_low: parse_option(map, "bucket_low", d.bucket_low)?,
        bucket_high: parse_option(map, "bucket_high", d.bucket_high)?,
        min_sstable_size_bytes: parse_option(map, "min_sstable_size", d.min_sstable_size_bytes)?,
        tombstone_threshold: parse_option(map, "tombstone_threshold", d.tombstone_threshold)?,
    })
}

fn storage_compaction(
    map: &BTreeMap<String, String>,
) -> Result<CompactionStrategyOptions, ErrorResponse> {
    let class = compaction_class(map.get("class").map_or(STCS, String::as_str))?;
    Ok(match class {
        STCS => CompactionStrategyOptions::SizeTiered(size_tiered(map)?),
        LCS => {
            let d = LeveledOptions::default();
            let mib: u64 = parse_option(map, "sstable_size_in_mb", d.sstable_size_bytes >> 20)?;
            CompactionStrategyOptions::Leveled(LeveledOptions {
                sstable_size_bytes: mib.saturating_mul(1 << 20),
                fanout: parse_option(map, "fanout_size", d.fanout)?,
            })
        }
        _ => {
            let unit = map
                .get("compaction_window_unit")
                .map_or("DAYS".to_owned(), |u| u.to_ascii_uppercase());
            let seconds: i64 = match unit.as_str() {
                "MINUTES" => 60,
                "HOURS" => 3_600,
                "DAYS" => 86_400,
                _ => {
                    return Err(config(format!(
                        "{unit} is not valid for compaction_window_unit; \
                         use MINUTES, HOURS or DAYS"
                    )));
                }
            };
            let size: i64 = parse_option(map, "compaction_window_size", 1)?;
            CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
                window_size_seconds: size.saturating_mul(seconds),
                size_tiered: size_tiered(map)?,
            })
        }
    })
}

fn storage_compression(
    map: &BTreeMap<String, String>,
) -> Result<CompressionOptions, ErrorResponse> {
    let enabled = map
        .get("enabled")
        .is_none_or(|e| !e.eq_ignore_ascii_case("false"));
    let kib: u32 = match map.get("chunk_length_in_kb") {
        None => 4,
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| config(format!("Invalid value '{text}' for chunk_length_in_kb")))?,
    };
    if !kib.is_power_of_two() {
        return Err(config(format!(
            "chunk_length_in_kb must be a power of 2 (got {kib})"
        )));
    }
    let noop = map
        .get("class")
        .is_some_and(|c| c.ends_with("NoopCompressor"));
    Ok(CompressionOptions {
        compression: if enabled && !noop {
            Compression::Lz4
        } else {
            Compression::None
        },
        chunk_length_bytes: kib.saturating_mul(1024),
    })
}
