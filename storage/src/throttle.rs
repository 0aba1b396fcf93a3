//! A byte-rate limiter for background compaction (`compaction_throughput_mib_per_s`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Makes callers sleep so that, over time, bytes pass at no more than the set rate.
#[derive(Debug)]
pub(crate) struct Throttle {
    bytes_per_second: u64,
    /// When the last bytes were accounted and the bytes still owed; `None`
    /// when unlimited, so that an unlimited throttle never reads the clock
    /// (the engine's inline mode must not).
    state: Option<Mutex<(Instant, f64)>>,
}

impl Throttle {
    /// A limit of `mib_per_second`; 0 means unlimited.
    pub(crate) fn new(mib_per_second: u64) -> Self {
        let bytes_per_second = mib_per_second.saturating_mul(1 << 20);
        Throttle {
            bytes_per_second,
            state: (bytes_per_second > 0).then(|| Mutex::new((Instant::now(), 0.0))),
        }
    }

    /// Accounts for `bytes` and sleeps if they came faster than the rate allows.
    pub(crate) fn acquire(&self, bytes: u64) {
        let Some(state) = &self.state else {
            return;
        };
        let wait = {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // Credit accrues for at most one second of idleness, so a burst after a
            // pause is bounded.
            let elapsed = now.duration_since(s.0).as_secs_f64().min(1.0);
            s.0 = now;
            s.1 = (s.1 - elapsed * self.bytes_per_second as f64).max(0.0) + bytes as f64;
            s.1 / self.bytes_per_second as f64
        };
        if wait > 0.01 {
            std::thread::sleep(Duration::from_secs_f64(wait.min(1.0)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_sleeps_and_limited_does() {
        // Unlimited returns without sleeping however much is asked (this would
        // otherwise sleep for ages).
        Throttle::new(0).acquire(u64::MAX / 2);
        let t = Throttle::new(1);
        let start = Instant::now();
        t.acquire(1 << 19); // half a MiB at 1 MiB/s owes about half a second
        assert!(start.elapsed() >= Duration::from_millis(200));
    }
}
