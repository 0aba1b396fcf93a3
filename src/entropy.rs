//! Where the node's randomness comes from: the operating system's generator,
//! or, on a thread that a simulation has seeded, a generator drawn from that
//! seed, so a simulated cluster makes the same tokens, host ids and batch ids
//! on every run of a seed.
//!
//! Every random value that decides behaviour (where a node's tokens lie, which
//! ids sort first) is drawn here, never from `rand::random` directly.

use std::cell::RefCell;

use rand::distr::{Distribution, StandardUniform};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

thread_local! {
    /// The seeded generator of this thread, when a simulation runs on it.
    static SEEDED: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// A random value: from this thread's seeded generator if it has one,
/// otherwise from the operating system's.
pub(crate) fn random<T>() -> T
where
    StandardUniform: Distribution<T>,
{
    SEEDED.with(|seeded| match seeded.borrow_mut().as_mut() {
        Some(rng) => rng.random(),
        None => rand::random(),
    })
}

/// Seeds this thread's generator (`None`: back to the operating system's).
/// Everything the thread draws afterwards follows from `seed`.
pub fn seed_thread(seed: Option<u64>) {
    SEEDED.with(|seeded| *seeded.borrow_mut() = seed.map(StdRng::seed_from_u64));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_thread_repeats_its_draws() {
        seed_thread(Some(7));
        let first: [u64; 4] = std::array::from_fn(|_| random());
        seed_thread(Some(7));
        let again: [u64; 4] = std::array::from_fn(|_| random());
        seed_thread(Some(8));
        let other: [u64; 4] = std::array::from_fn(|_| random());
        seed_thread(None);
        assert_eq!(first, again);
        assert_ne!(first, other);
    }
}
