use super::*;

fn ep(n: u8) -> Endpoint {
    Endpoint::from(([10, 0, 0, n], 7000))
}

#[test]
fn phi_grows_with_silence_relative_to_the_mean() {
    let pure = FailureDetectorConfig {
        max_silence_ms: None,
        ..FailureDetectorConfig::default()
    };
    let mut d = PhiAccrual::new(pure);
    assert_eq!(d.phi(ep(1), 5_000), 0.0);
    for t in 0..=100 {
        d.report(ep(1), t * 1000);
    }
    let at = |s: f64| d.phi(ep(1), 100_000 + (s * 1000.0) as u64);
    assert!(at(1.0) < 1.0);
    // 8 · ln 10 ≈ 18.4 mean intervals of silence cross phi 8.
    assert!(
        at(18.0) < 8.0 && at(19.0) > 8.0,
        "{} {}",
        at(18.0),
        at(19.0)
    );
}

#[test]
fn the_silence_cap_convicts_after_ten_seconds() {
    let mut d = PhiAccrual::default();
    for t in 0..=100 {
        d.report(ep(1), t * 1000);
    }
    assert!(d.phi(ep(1), 109_999) < DEFAULT_PHI_THRESHOLD);
    assert!(d.phi(ep(1), 110_000).is_infinite());
}

#[test]
fn long_gaps_do_not_enter_the_mean() {
    let mut d = PhiAccrual::default();
    for t in 0..=100 {
        d.report(ep(1), t * 1000);
    }
    d.report(ep(1), 200_000); // a 100 s gap: ignored for the mean
    assert!(d.phi(ep(1), 219_000) > 8.0);
}

#[test]
fn liveness_convicts_and_revives() {
    let mut l = Liveness::new(Box::new(PhiAccrual::default()), DEFAULT_PHI_THRESHOLD);
    let mut ev = Vec::new();
    for t in 0..=10 {
        l.heartbeat(ep(1), t * 1000, &mut ev);
    }
    assert_eq!(ev, vec![GossipEvent::Up(ep(1))]);
    ev.clear();
    l.interpret(15_000, &mut ev);
    assert!(ev.is_empty() && l.is_live(ep(1)));
    l.interpret(40_000, &mut ev);
    assert_eq!(ev, vec![GossipEvent::Down(ep(1))]);
    assert!(l.unreachable().contains(&ep(1)));
    ev.clear();
    l.heartbeat(ep(1), 41_000, &mut ev);
    assert_eq!(ev, vec![GossipEvent::Up(ep(1))]);
    l.remove(ep(1));
    assert!(l.live().is_empty() && l.unreachable().is_empty());
}
