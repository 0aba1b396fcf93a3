//! Counters and latency histograms that `nodetool tablestats` and `/metrics` report.
//!
//! The histogram keeps log-spaced buckets in atomics so that recording is
//! lock-free on the hot path; percentiles are read to within one bucket (~19%).

use crate::background::Background;
use crate::clock::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Four buckets per power of two, from 1 µs to about 70 minutes.
const SUB_BUCKETS: usize = 4;
const BUCKETS: usize = 32 * SUB_BUCKETS;

/// A lock-free latency histogram in microseconds.
#[derive(Debug)]
pub(crate) struct LatencyHistogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

fn bucket_of(micros: u64) -> usize {
    let v = micros.max(1);
    let log = 63 - v.leading_zeros() as usize;
    // The two bits below the leading one pick the sub-bucket.
    let sub = if log >= 2 {
        ((v >> (log - 2)) & 3) as usize
    } else {
        ((v << (2 - log)) & 3) as usize
    };
    (log * SUB_BUCKETS + sub).min(BUCKETS - 1)
}

fn bucket_upper_micros(b: usize) -> u64 {
    let log = b / SUB_BUCKETS;
    let sub = (b % SUB_BUCKETS) as u64;
    let base = 1u64 << log;
    base + (base * (sub + 1)) / SUB_BUCKETS as u64
}

/// Times one operation for a [`LatencyHistogram`]. With background threads
/// it reads the OS's monotonic clock; inline it asks the engine's [`Clock`]
/// (whole milliseconds), since a simulation owns time there and its runs
/// must replay identically, statistics included. The figures only feed
/// statistics, never a decision.
pub(crate) enum Stopwatch<'a> {
    /// Started at this instant.
    Os(Instant),
    /// Started at this many milliseconds of the clock.
    Clock(&'a dyn Clock, i64),
}

impl<'a> Stopwatch<'a> {
    /// Starts timing, with the clock `background` calls for.
    pub(crate) fn start(background: Background, clock: &'a dyn Clock) -> Self {
        match background {
            Background::Threads => Stopwatch::Os(Instant::now()),
            Background::Inline => Stopwatch::Clock(clock, clock.now_millis()),
        }
    }

    /// Time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            Stopwatch::Os(start) => start.elapsed(),
            Stopwatch::Clock(clock, start) => {
                let ms = clock.now_millis().saturating_sub(*start);
                Duration::from_millis(u64::try_from(ms).unwrap_or(0))
            }
        }
    }
}

/// A point-in-time summary of a histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencySummary {
    /// Operations recorded.
    pub count: u64,
    /// Mean latency in microseconds.
    pub mean_micros: f64,
    /// Median, in microseconds (bucket upper bound).
    pub p50_micros: u64,
    /// 99th percentile, in microseconds (bucket upper bound).
    pub p99_micros: u64,
    /// Largest bucket with a sample, in microseconds.
    pub max_micros: u64,
}

impl LatencyHistogram {
    /// Records one operation.
    pub(crate) fn record(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Summarises what was recorded so far.
    pub(crate) fn summary(&self) -> LatencySummary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return LatencySummary::default();
        }
        let quantile = |q: f64| {
            let rank = ((total as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (b, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return bucket_upper_micros(b);
                }
            }
            bucket_upper_micros(BUCKETS - 1)
        };
        let max_bucket = counts.iter().rposition(|c| *c > 0).unwrap_or(0);
        LatencySummary {
            count: total,
            mean_micros: self.sum_micros.load(Ordering::Relaxed) as f64
                / self.count.load(Ordering::Relaxed).max(1) as f64,
            p50_micros: quantile(0.5),
            p99_micros: quantile(0.99),
            max_micros: bucket_upper_micros(max_bucket),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_bound_their_values() {
        let mut last = 0;
        for v in [1u64, 2, 3, 4, 5, 7, 8, 100, 1000, 12345, 1 << 30] {
            let b = bucket_of(v);
            assert!(b >= last, "bucket order at {v}");
            assert!(bucket_upper_micros(b) >= v, "upper bound of bucket of {v}");
            last = b;
        }
    }

    #[test]
    fn percentiles_land_in_the_right_bucket() {
        let h = LatencyHistogram::default();
        for _ in 0..98 {
            h.record(Duration::from_micros(10));
        }
        h.record(Duration::from_micros(1000));
        h.record(Duration::from_micros(1000));
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert!((10..=13).contains(&s.p50_micros), "{s:?}");
        assert!((1000..=1300).contains(&s.p99_micros), "{s:?}");
        assert_eq!(
            LatencyHistogram::default().summary(),
            LatencySummary::default()
        );
    }
}
