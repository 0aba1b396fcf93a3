//! The harness's reads of the wall clock: client write timestamps, the run
//! directory's name and the report's start time. The nodes' clocks are theirs
//! (and skewed on purpose); only these functions read the machine's.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The simulated clock clients read on this thread, when a simulation
    /// runs on it.
    static SOURCE: Cell<Option<fn() -> i64>> = const { Cell::new(None) };
}

#[cfg(feature = "sim")]
/// Makes this thread's clients read `source` instead of the machine's clock
/// (`None`: the machine's again), so simulated clients stamp simulated time.
pub(crate) fn set_thread_source(source: Option<fn() -> i64>) {
    SOURCE.set(source);
}

/// Microseconds since the Unix epoch, the unit of CQL write timestamps.
#[expect(
    clippy::disallowed_methods,
    reason = "the harness is a client: its write timestamps are wall-clock micros, as a driver's"
)]
pub(crate) fn wall_micros() -> i64 {
    if let Some(source) = SOURCE.get() {
        return source();
    }
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// A monotonic microsecond clock for one logical client: the wall clock, but
/// never repeating or going backwards, so a process's own writes are ordered
/// by timestamp as they are in time (read-your-writes depends on it).
#[derive(Debug, Default)]
pub(crate) struct MonotonicMicros {
    last: i64,
}

impl MonotonicMicros {
    pub(crate) fn next(&mut self) -> i64 {
        self.last = wall_micros().max(self.last.saturating_add(1));
        self.last
    }
}

/// `(date, time)` in UTC for `micros` since the epoch: `2026-12-07`,
/// `19:58:02`.
fn civil(micros: i64) -> ((i64, i64, i64), (i64, i64, i64)) {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days to a proleptic Gregorian date (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    ((year, month, day), (rem / 3600, rem % 3600 / 60, rem % 60))
}

/// RFC 3339 in UTC, to the second: `2026-12-07T19:58:02Z`.
pub(crate) fn rfc3339(micros: i64) -> String {
    let ((y, mo, d), (h, mi, s)) = civil(micros);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A name that sorts by time and is safe as a directory name:
/// `20261207T195802Z`.
pub(crate) fn compact_utc(micros: i64) -> String {
    let ((y, mo, d), (h, mi, s)) = civil(micros);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-12-07T19:58:02Z, checked with `date -u -d @1796673482`.
        assert_eq!(rfc3339(1_796_673_482_000_000), "2026-12-07T19:58:02Z");
        assert_eq!(compact_utc(951_782_400_000_000), "20000229T000000Z");
    }

    #[test]
    fn the_monotonic_clock_never_repeats() {
        let mut clock = MonotonicMicros::default();
        let mut last = clock.next();
        for _ in 0..10_000 {
            let next = clock.next();
            assert!(next > last, "{next} after {last}");
            last = next;
        }
    }
}
