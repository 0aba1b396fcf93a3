use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use proptest::prelude::*;

use super::*;

/// A wall clock the test sets by hand.
fn manual(start: i64) -> (Arc<AtomicI64>, impl Fn() -> i64 + Send + Sync) {
    let time = Arc::new(AtomicI64::new(start));
    let reader = time.clone();
    (time, move || reader.load(Ordering::SeqCst))
}

#[test]
fn follows_the_wall_clock_when_it_moves_forward() {
    let (time, clock) = manual(1_000);
    let hlc = Hlc::new(clock);
    assert_eq!(hlc.now(), 1_000);
    time.store(5_000, Ordering::SeqCst);
    assert_eq!(hlc.now(), 5_000);
    assert_eq!(hlc.last(), 5_000);
}

#[test]
fn counts_up_when_the_wall_clock_stalls_or_goes_back() {
    let (time, clock) = manual(1_000);
    let hlc = Hlc::new(clock);
    assert_eq!(hlc.now(), 1_000);
    assert_eq!(hlc.now(), 1_001);
    time.store(10, Ordering::SeqCst);
    assert_eq!(hlc.now(), 1_002);
    time.store(2_000, Ordering::SeqCst);
    assert_eq!(hlc.now(), 2_000);
}

#[test]
fn observe_moves_later_timestamps_past_the_observed_one() {
    let (_time, clock) = manual(1_000);
    let hlc = Hlc::new(clock);
    assert_eq!(hlc.observe(50_000), Ok(()));
    assert_eq!(hlc.now(), 50_001);
    // Observing the past changes nothing.
    assert_eq!(hlc.observe(10), Ok(()));
    assert_eq!(hlc.now(), 50_002);
}

#[test]
fn observe_ignores_timestamps_too_far_ahead() {
    let (_time, clock) = manual(1_000);
    let hlc = Hlc::with_max_forward_drift(clock, Duration::from_micros(100));
    assert_eq!(hlc.observe(1_100), Ok(()));
    assert_eq!(
        hlc.observe(1_101),
        Err(FutureTimestamp {
            observed: 1_101,
            physical: 1_000
        })
    );
    assert_eq!(hlc.now(), 1_101, "only the accepted observation counts");
    assert!(hlc.observe(i64::MAX).is_err());
}

#[test]
fn default_drift_is_one_hour() {
    let (_time, clock) = manual(0);
    let hlc = Hlc::new(clock);
    assert!(hlc.observe(3_600_000_000).is_ok());
    assert!(hlc.observe(3_600_000_001).is_err());
}

#[test]
fn saturates_instead_of_overflowing() {
    let hlc = Hlc::new(|| i64::MAX);
    assert_eq!(hlc.now(), i64::MAX);
    assert_eq!(hlc.now(), i64::MAX);
}

#[test]
fn system_clock_reads_a_plausible_time() {
    // After 2020-01-01 and before 2200-01-01, in µs.
    let now = SystemWallClock.now_micros();
    assert!(
        now > 1_577_836_800_000_000 && now < 7_258_118_400_000_000,
        "{now}"
    );
    let hlc = Hlc::system();
    assert!(hlc.now() >= now);
    assert!(format!("{hlc:?}").starts_with("Hlc"));
}

#[test]
fn timestamps_are_unique_across_threads() {
    // A frozen wall clock makes every call race on the counter.
    let hlc = Arc::new(Hlc::new(|| 42));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let hlc = hlc.clone();
            std::thread::spawn(move || {
                let stamps: Vec<i64> = (0..20_000).map(|_| hlc.now()).collect();
                assert!(
                    stamps.windows(2).all(|w| w[0] < w[1]),
                    "per thread, increasing"
                );
                stamps
            })
        })
        .collect();
    let mut all = HashSet::new();
    for thread in threads {
        for stamp in thread.join().unwrap() {
            assert!(all.insert(stamp), "duplicate timestamp {stamp}");
        }
    }
    assert_eq!(all.len(), 80_000);
}

proptest! {
    /// Whatever the wall clock does, and whatever is observed in between, each
    /// timestamp is above the previous one and at least the wall clock reading.
    #[test]
    fn strictly_increasing_under_any_wall_clock(
        readings in proptest::collection::vec(-1_000_000i64..1_000_000, 1..200),
        observed in proptest::collection::vec(proptest::option::of(-1_000_000i64..2_000_000), 1..200),
    ) {
        let readings = Arc::new(readings);
        let index = Arc::new(AtomicUsize::new(0));
        let (r, i) = (readings.clone(), index.clone());
        let hlc = Hlc::with_max_forward_drift(
            move || r[i.load(Ordering::SeqCst) % r.len()],
            Duration::from_secs(1),
        );
        let mut previous = i64::MIN;
        for (step, seen) in observed.iter().enumerate() {
            index.store(step, Ordering::SeqCst);
            let physical = readings[step % readings.len()];
            if let Some(ts) = seen {
                let accepted = hlc.observe(*ts).is_ok();
                prop_assert_eq!(accepted, *ts - physical <= 1_000_000);
                if accepted {
                    previous = previous.max(*ts);
                }
            }
            let now = hlc.now();
            prop_assert!(now > previous, "{} after {}", now, previous);
            prop_assert!(now >= physical);
            previous = now;
        }
    }
}

#[test]
fn the_offset_clock_reads_the_system_clock_shifted() {
    let hour_ms = 3_600_000;
    let ahead = OffsetWallClock::from_millis(hour_ms);
    let behind = OffsetWallClock::from_millis(-hour_ms);
    let before = SystemWallClock.now_micros();
    let (a, b) = (ahead.now_micros(), behind.now_micros());
    let after = SystemWallClock.now_micros();
    let hour_us = hour_ms * 1000;
    assert!((before + hour_us..=after + hour_us).contains(&a));
    assert!((before - hour_us..=after - hour_us).contains(&b));
    assert_eq!(OffsetWallClock::default().offset_micros, 0);
}
