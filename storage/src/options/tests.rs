use super::*;
use proptest::prelude::*;

fn round_trip(o: &TableOptions) -> TableOptions {
    let mut out = Vec::new();
    o.encode(&mut out);
    let mut r = Reader::new(&out);
    let back = TableOptions::decode(&mut r).expect("decodes");
    assert!(r.is_empty(), "trailing bytes");
    back
}

fn stcs() -> SizeTieredOptions {
    SizeTieredOptions::default()
}

#[test]
fn defaults_are_cassandras_and_valid() {
    let o = TableOptions::default();
    o.validate().unwrap();
    assert_eq!(o.bloom_fp_chance, 0.01);
    assert_eq!(o.gc_grace_seconds, 864_000);
    assert_eq!(o.compression.compression, Compression::Lz4);
    assert_eq!(o.compression.chunk_length_bytes, 4 * 1024);
    assert!(matches!(
        o.compaction,
        CompactionStrategyOptions::SizeTiered(_)
    ));
    assert_eq!(round_trip(&o), o);
}

#[test]
fn every_strategy_round_trips() {
    let strategies = [
        CompactionStrategyOptions::SizeTiered(SizeTieredOptions {
            min_threshold: 2,
            max_threshold: 2,
            bucket_low: 1.0,
            bucket_high: 3.0,
            min_sstable_size_bytes: 0,
            tombstone_threshold: 0.0,
        }),
        CompactionStrategyOptions::Leveled(LeveledOptions {
            sstable_size_bytes: 5 * MIB,
            fanout: 4,
        }),
        CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
            window_size_seconds: 3600,
            size_tiered: stcs(),
        }),
    ];
    for compaction in strategies {
        let o = TableOptions {
            compaction,
            compression: CompressionOptions {
                compression: Compression::None,
                chunk_length_bytes: 4096,
            },
            bloom_fp_chance: 0.1,
            gc_grace_seconds: 0,
            default_ttl_seconds: 60,
            memtable_flush_threshold_bytes: Some(1 << 20),
            memtable_flush_period_ms: 60_000,
        };
        o.validate().unwrap();
        assert_eq!(round_trip(&o), o);
    }
}

fn rejects(f: impl FnOnce(&mut TableOptions), needle: &str) {
    let mut o = TableOptions::default();
    f(&mut o);
    match o.validate() {
        Err(Error::InvalidArgument(m)) => assert!(m.contains(needle), "{m} lacks {needle}"),
        other => panic!("expected InvalidArgument about {needle}, got {other:?}"),
    }
    let mut out = Vec::new();
    o.encode(&mut out);
    assert!(TableOptions::decode(&mut Reader::new(&out)).is_err());
}

fn with_stcs(f: impl FnOnce(&mut SizeTieredOptions)) -> impl FnOnce(&mut TableOptions) {
    move |o| {
        let mut s = stcs();
        f(&mut s);
        o.compaction = CompactionStrategyOptions::SizeTiered(s);
    }
}

#[test]
fn bad_options_are_named() {
    rejects(|o| o.bloom_fp_chance = 0.0, "bloom_filter_fp_chance");
    rejects(|o| o.bloom_fp_chance = 1.0, "bloom_filter_fp_chance");
    rejects(|o| o.bloom_fp_chance = f64::NAN, "bloom_filter_fp_chance");
    rejects(|o| o.gc_grace_seconds = -1, "gc_grace_seconds");
    rejects(|o| o.default_ttl_seconds = -1, "default_time_to_live");
    rejects(
        |o| o.default_ttl_seconds = MAX_TTL_SECONDS + 1,
        "default_time_to_live",
    );
    rejects(|o| o.memtable_flush_threshold_bytes = Some(0), "memtable");
    rejects(
        |o| o.compression.chunk_length_bytes = 3000,
        "chunk_length_in_kb",
    );
    rejects(
        |o| o.compression.chunk_length_bytes = 512,
        "chunk_length_in_kb",
    );
    rejects(with_stcs(|s| s.min_threshold = 1), "min_threshold");
    rejects(with_stcs(|s| s.max_threshold = 3), "max_threshold");
    rejects(with_stcs(|s| s.bucket_low = 0.0), "bucket_low");
    rejects(with_stcs(|s| s.bucket_low = 1.2), "bucket_low");
    rejects(with_stcs(|s| s.bucket_high = 0.9), "bucket_high");
    rejects(with_stcs(|s| s.bucket_high = f64::INFINITY), "bucket_high");
    rejects(
        with_stcs(|s| s.tombstone_threshold = -0.1),
        "tombstone_threshold",
    );
    rejects(
        |o| {
            o.compaction = CompactionStrategyOptions::Leveled(LeveledOptions {
                sstable_size_bytes: 1000,
                fanout: 10,
            })
        },
        "sstable_size_in_mb",
    );
    rejects(
        |o| {
            o.compaction = CompactionStrategyOptions::Leveled(LeveledOptions {
                sstable_size_bytes: MIB,
                fanout: 1,
            })
        },
        "fanout_size",
    );
    rejects(
        |o| {
            o.compaction = CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
                window_size_seconds: 0,
                size_tiered: stcs(),
            })
        },
        "compaction_window_size",
    );
}

#[test]
fn unknown_version_and_tags_are_errors() {
    let mut out = Vec::new();
    TableOptions::default().encode(&mut out);
    let mut bad = out.clone();
    bad[0] = 9;
    assert!(TableOptions::decode(&mut Reader::new(&bad)).is_err());
    let mut bad = out.clone();
    bad[1] = 7; // strategy tag
    assert!(TableOptions::decode(&mut Reader::new(&bad)).is_err());
    for n in 0..out.len() {
        assert!(TableOptions::decode(&mut Reader::new(&out[..n])).is_err());
    }
}

#[test]
fn version_1_options_decode_with_no_flush_period() {
    let mut o = TableOptions {
        memtable_flush_period_ms: 0,
        ..TableOptions::default()
    };
    o.gc_grace_seconds = 77;
    let mut v1 = Vec::new();
    o.encode(&mut v1);
    // Version 1 is version 2 without the trailing period (here one zero byte).
    assert_eq!(v1.pop(), Some(0));
    v1[0] = 1;
    assert_eq!(TableOptions::decode(&mut Reader::new(&v1)).unwrap(), o);
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = TableOptions::decode(&mut Reader::new(&bytes));
    }

    #[test]
    fn valid_options_round_trip(
        fp in 0.0001f64..0.9999,
        gc in 0i64..10_000_000,
        ttl in 0i32..MAX_TTL_SECONDS,
        min_t in 2usize..10,
        extra in 0usize..40,
        lo in 0.01f64..1.0,
        hi in 1.01f64..4.0,
        window in 1i64..1_000_000,
        shift in 10u32..=20,
        period in 0u64..1 << 40,
    ) {
        let s = SizeTieredOptions { min_threshold: min_t, max_threshold: min_t + extra,
            bucket_low: lo, bucket_high: hi, ..stcs() };
        let o = TableOptions {
            compaction: CompactionStrategyOptions::TimeWindow(TimeWindowOptions {
                window_size_seconds: window, size_tiered: s }),
            compression: CompressionOptions { compression: Compression::Lz4,
                chunk_length_bytes: 1 << shift },
            bloom_fp_chance: fp, gc_grace_seconds: gc, default_ttl_seconds: ttl,
            memtable_flush_threshold_bytes: None,
            memtable_flush_period_ms: period,
        };
        prop_assert!(o.validate().is_ok());
        prop_assert_eq!(round_trip(&o), o);
    }
}
