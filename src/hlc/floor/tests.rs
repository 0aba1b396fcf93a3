use std::sync::atomic::{AtomicI64, Ordering};

use storage::sim::SimFs;

use super::*;
use crate::hlc::Hlc;

const T: i64 = 1_800_000_000_000_000;
const HOUR: i64 = 3_600_000_000;

fn open(fs: &SimFs) -> Arc<ClockFloor> {
    Arc::new(ClockFloor::open(Arc::new(fs.clone()), Path::new("/data")).expect("open the floor"))
}

/// A wall clock the test sets by hand.
fn manual(start: i64) -> (Arc<AtomicI64>, impl Fn() -> i64 + Send + Sync) {
    let time = Arc::new(AtomicI64::new(start));
    let reader = time.clone();
    (time, move || reader.load(Ordering::SeqCst))
}

#[test]
fn timestamps_increase_across_a_restart_with_the_clock_stepped_back() {
    let fs = SimFs::new();
    let (time, clock) = manual(T);
    let hlc = Hlc::new(clock).with_floor(open(&fs));
    let mut issued = i64::MIN;
    for step in 0..100 {
        time.store(T + step * 1_000_000, Ordering::SeqCst);
        issued = issued.max(hlc.now());
    }
    drop(hlc);
    // The machine loses power, and comes back with its clock an hour behind.
    fs.crash();
    let (_, behind) = manual(T - HOUR);
    let hlc = Hlc::new(behind).with_floor(open(&fs));
    let first = hlc.now();
    assert!(first > issued, "{first} after {issued}");
    assert!(hlc.now() > first);
}

#[test]
fn the_ceiling_is_rewritten_once_per_half_window_not_per_timestamp() {
    let fs = SimFs::new();
    let floor = open(&fs);
    let (time, clock) = manual(T);
    let hlc = Hlc::new(clock).with_floor(Arc::clone(&floor));
    hlc.now();
    let ceiling = floor.ceiling();
    let window = i64::try_from(CEILING_WINDOW.as_micros()).expect("window");
    assert_eq!(ceiling, T + window);
    for _ in 0..10_000 {
        hlc.now();
    }
    assert_eq!(floor.ceiling(), ceiling, "no rewrite within the window");
    // Past half the window, the next timestamp moves the ceiling on.
    time.store(T + window / 2, Ordering::SeqCst);
    let ts = hlc.now();
    assert_eq!(floor.ceiling(), ts + window);
    // A timestamp observed beyond the ceiling is covered before it is issued.
    hlc.observe(T + 5 * window).expect("within the drift");
    let ts = hlc.now();
    assert!(ts < floor.ceiling());
    assert_eq!(
        open(&fs).ceiling(),
        floor.ceiling(),
        "the file says the same"
    );
}

#[test]
fn the_gossip_generation_increases_even_with_the_clock_stepped_back() {
    let fs = SimFs::new();
    let first = open(&fs).next_generation(T).expect("save");
    assert_eq!(i64::from(first), T / 1_000_000);
    fs.crash();
    let second = open(&fs).next_generation(T - HOUR).expect("save");
    assert_eq!(second, first + 1);
    fs.crash();
    let later = open(&fs).next_generation(T + HOUR).expect("save");
    assert_eq!(
        i64::from(later),
        (T + HOUR) / 1_000_000,
        "follows the clock"
    );
}

#[test]
fn a_corrupt_file_is_an_error() {
    let fs = SimFs::new();
    open(&fs).next_generation(T).expect("save");
    fs.corrupt(Path::new("/data/node.clock"), 0, b'X')
        .expect("corrupt");
    let e = ClockFloor::open(Arc::new(fs.clone()), Path::new("/data")).expect_err("corrupt");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}
