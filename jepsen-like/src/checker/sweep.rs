//! The running-max sweep behind the real-time checks (stale reads,
//! inversions, read-your-writes, real-time lost updates): "the highest
//! timestamp among the operations that completed before time t".
//!
//! The operations are sorted once by completion time with a prefix maximum,
//! and each question is a binary search: O(n log n) for a whole key, where
//! comparing every read with every write would be quadratic.

/// Timestamps published at completion times, queried by time.
#[derive(Debug, Default)]
pub(crate) struct PrefixMax {
    /// Completion times, ascending.
    times: Vec<u64>,
    /// `maxes[i]`: the highest timestamp among entries `0..=i`.
    maxes: Vec<i64>,
}

impl PrefixMax {
    /// `entries`: (completion time, timestamp), in any order.
    pub(crate) fn new(mut entries: Vec<(u64, i64)>) -> Self {
        entries.sort_unstable();
        let mut running = i64::MIN;
        let maxes = entries
            .iter()
            .map(|&(_, ts)| {
                running = running.max(ts);
                running
            })
            .collect();
        let times = entries.into_iter().map(|(time, _)| time).collect();
        Self { times, maxes }
    }

    /// How many entries completed strictly before `time`.
    fn count_before(&self, time: u64) -> usize {
        self.times.partition_point(|&t| t < time)
    }

    /// The highest timestamp among the entries completed strictly before
    /// `time`, if any.
    pub(crate) fn max_before(&self, time: u64) -> Option<i64> {
        let count = self.count_before(time);
        count
            .checked_sub(1)
            .and_then(|last| self.maxes.get(last).copied())
    }

    /// The earliest completion time, before `time`, of an entry whose
    /// timestamp exceeds `ts`: how long a newer value had been visible
    /// to a read that started at `time` and returned `ts`.
    pub(crate) fn first_above_before(&self, time: u64, ts: i64) -> Option<u64> {
        let count = self.count_before(time);
        let prefix = self.maxes.get(..count)?;
        // The prefix maximum is ascending, so the first entry that raised
        // it above `ts` is found by binary search.
        let first = prefix.partition_point(|&max| max <= ts);
        self.times.get(first).copied().filter(|_| first < count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_before_is_strict() {
        let sweep = PrefixMax::new(vec![(30, 5), (10, 7), (20, 1)]);
        assert_eq!(sweep.max_before(10), None);
        assert_eq!(sweep.max_before(11), Some(7));
        assert_eq!(sweep.max_before(31), Some(7));
        assert_eq!(PrefixMax::new(Vec::new()).max_before(100), None);
    }

    #[test]
    fn first_above_finds_the_earliest_newer_entry() {
        let sweep = PrefixMax::new(vec![(10, 1), (20, 5), (30, 9)]);
        assert_eq!(sweep.first_above_before(100, 4), Some(20));
        assert_eq!(sweep.first_above_before(100, 0), Some(10));
        assert_eq!(sweep.first_above_before(100, 9), None);
        // Entries completed at or after the query time do not count.
        assert_eq!(sweep.first_above_before(30, 5), None);
    }

    #[test]
    fn agrees_with_a_quadratic_scan() {
        let entries: Vec<(u64, i64)> = (0..50u64)
            .map(|i| ((i * 37) % 101, i64::try_from((i * 53) % 17).unwrap_or(0)))
            .collect();
        let sweep = PrefixMax::new(entries.clone());
        for time in 0..110 {
            let naive = entries.iter().filter(|e| e.0 < time).map(|e| e.1).max();
            assert_eq!(sweep.max_before(time), naive, "time {time}");
            for ts in 0..18 {
                let naive = entries
                    .iter()
                    .filter(|e| e.0 < time && e.1 > ts)
                    .map(|e| e.0)
                    .min();
                assert_eq!(sweep.first_above_before(time, ts), naive);
            }
        }
    }
}
