use super::*;
use crate::testing::host;

fn pure_phi() -> FailureDetectorConfig {
    FailureDetectorConfig {
        max_silence_ms: None,
        ..FailureDetectorConfig::default()
    }
}

/// A window fed heartbeats every `every_ms` from 0 up to and including `until_ms`.
fn steady(config: &FailureDetectorConfig, every_ms: u64, until_ms: u64) -> ArrivalWindow {
    let mut w = ArrivalWindow::new(config);
    for t in (0..=until_ms).step_by(every_ms as usize) {
        w.report(t);
    }
    w
}

/// Cassandra's figure: with 1 s heartbeats (a full window, mean exactly
/// 1000 ms) and threshold 8, φ = 0.4343·Δt/1000 passes 8 at Δt = 18,420.7 ms.
#[test]
fn pure_phi_convicts_a_silent_peer_after_about_18_seconds() {
    let w = steady(&pure_phi(), 1000, 1_000_000);
    assert_eq!(w.len(), 1000);
    assert_eq!(w.mean_ms(), Some(1000.0));
    let last = 1_000_000;
    assert!(w.is_alive(last + 18_420, 8.0));
    assert!(!w.is_alive(last + 18_421, 8.0));
    // One mean interval of silence is φ = log10(e) ≈ 0.4343.
    assert!((w.phi(last + 1000) - std::f64::consts::LOG10_E).abs() < 1e-12);
}

/// Basalt's promise: with the default 10 s silence cap the same peer is
/// alive 9,999 ms after its last heartbeat and DOWN at 10,000 ms.
#[test]
fn the_silence_cap_marks_a_peer_down_at_ten_seconds() {
    let w = steady(&FailureDetectorConfig::default(), 1000, 1_000_000);
    let last = 1_000_000;
    assert!(w.is_alive(last + 9_999, 8.0));
    assert!(!w.is_alive(last + 10_000, 8.0));
    // φ itself is still Cassandra's and reads well below the threshold.
    assert!(w.phi(last + 10_000) < 4.35);
}

/// With 0.5 s heartbeats φ alone convicts first: Δt > 9,210.3 ms.
#[test]
fn faster_heartbeats_convict_by_phi_before_the_cap() {
    let w = steady(&FailureDetectorConfig::default(), 500, 600_000);
    assert_eq!(w.mean_ms(), Some(500.0));
    assert!(w.is_alive(600_000 + 9_210, 8.0));
    assert!(!w.is_alive(600_000 + 9_211, 8.0));
}

/// One heartbeat: the window holds Cassandra's 2 s initial assumption, so
/// pure φ would wait 36.8 s; the cap still convicts at 10 s.
#[test]
fn the_first_heartbeat_assumes_a_two_second_interval() {
    let mut w = ArrivalWindow::new(&pure_phi());
    assert!(w.is_empty() && !w.is_alive(0, 8.0));
    assert_eq!(w.phi(5_000), 0.0);
    w.report(5_000);
    assert_eq!(w.mean_ms(), Some(2000.0));
    assert!(w.is_alive(5_000 + 36_841, 8.0));
    assert!(!w.is_alive(5_000 + 36_842, 8.0));
    let mut capped = ArrivalWindow::new(&FailureDetectorConfig::default());
    capped.report(5_000);
    assert!(!capped.is_alive(15_000, 8.0));
}

#[test]
fn outage_length_intervals_are_not_recorded() {
    let mut w = steady(&pure_phi(), 1000, 2000);
    w.report(30_000);
    assert_eq!(
        w.len(),
        3,
        "the 28 s gap is an outage, not a heartbeat interval"
    );
    assert!((w.mean_ms().unwrap() - 4000.0 / 3.0).abs() < 1e-9);
    assert!(
        w.is_alive(30_500, 8.0),
        "the late heartbeat still counts as arrival"
    );
}

#[test]
fn the_window_is_bounded_and_late_reports_do_not_rewind() {
    let mut w = steady(&pure_phi(), 10, 100_000);
    assert_eq!(w.len(), 1000);
    w.report(50_000);
    assert!(w.phi(100_000) < 1e-9, "last arrival stays at 100,000");
}

#[test]
fn the_detector_tracks_peers_separately() {
    let mut fd = FailureDetector::new(FailureDetectorConfig::default());
    assert!(!fd.is_alive(host(1), 0));
    assert_eq!(fd.phi(host(1), 0), None);
    for t in (0..=20_000).step_by(1000) {
        fd.report(host(1), t);
        if t <= 5_000 {
            fd.report(host(2), t);
        }
    }
    assert!(fd.is_alive(host(1), 21_000));
    assert!(!fd.is_alive(host(2), 21_000), "silent for 16 s");
    assert_eq!(fd.window(host(1)).map(ArrivalWindow::len), Some(21));
    fd.remove(host(1));
    assert!(!fd.is_alive(host(1), 21_000));
}
