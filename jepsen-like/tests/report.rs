//! The report and the summary over synthetic histories: fault windows
//! shaded once per chart, hostile strings escaped, degenerate histories
//! rendered without panicking, plots bounded, the summary's figures and
//! last line. Also writes `target/jepsen-like/example-report.html`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use jepsen_like::checker::{Validity, Verdict};
use jepsen_like::history::{Event, Function, NEMESIS, OpType};
use jepsen_like::report::{RunMeta, render_html, summary_text};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const NODES: [&str; 3] = ["n1", "n2", "n3"];

/// A small deterministic generator (xorshift), so the history is the same
/// on every run without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn event(time_ns: u64, process: u64, kind: OpType, function: Function, workload: &str) -> Event {
    Event {
        index: 0,
        time_ns,
        process,
        kind,
        function,
        workload: workload.to_owned(),
        key: None,
        values: Vec::new(),
        timestamps: Vec::new(),
        consistency: Some("QUORUM".to_owned()),
        node: None,
        error: None,
    }
}

fn nemesis(time_ns: u64, function: Function, description: &str) -> Event {
    let mut e = event(time_ns, NEMESIS, OpType::Info, function, "nemesis");
    e.consistency = None;
    e.error = Some(description.to_owned());
    e
}

/// A fault: start and stop (seconds) and its description.
type Fault = (u64, Option<u64>, &'static str);

/// One client operation of the synthetic run.
struct Planned {
    invoke_ns: u64,
    latency_ns: u64,
    kind: OpType,
    error: Option<String>,
}

/// A register workload through three coordinators for `seconds`, with
/// `faults`: an operation whose coordinator a fault names fails or times
/// out half the time, and a read during a fault often returns the value
/// before the newest.
fn synthetic(seconds: u64, faults: &[Fault], seed: u64) -> Vec<Event> {
    let mut events = Vec::new();
    for &(start, stop, description) in faults {
        events.push(nemesis(start * S, Function::Start, description));
        if let Some(stop) = stop {
            events.push(nemesis(stop * S, Function::Stop, description));
        }
    }
    let mut registers = Registers {
        rng: Rng(seed | 1),
        acked: HashMap::new(),
        value: 0,
    };
    let mut free_at: Vec<(u64, u64)> = (0..8).map(|p| (p, p * 3 * MS)).collect();
    let mut next_process = 8;
    while let Some(slot) = free_at
        .iter_mut()
        .filter(|(_, t)| *t < seconds * S)
        .min_by_key(|(_, t)| *t)
    {
        let (process, t) = *slot;
        let (invoke, completion) = registers.operation(process, t, faults);
        let done = completion.time_ns;
        *slot = if completion.kind == OpType::Info {
            // Jepsen: a process with an unknown outcome is retired.
            next_process += 1;
            (next_process, done + MS)
        } else {
            (process, done + registers.rng.below(20) * MS)
        };
        events.extend([invoke, completion]);
    }
    events.sort_by_key(|e| e.time_ns);
    for (i, e) in events.iter_mut().enumerate() {
        e.index = i as u64;
    }
    events
}

/// The registers of the synthetic run.
struct Registers {
    rng: Rng,
    /// Per key, acked writes: (completion, value, timestamp).
    acked: HashMap<String, Vec<(u64, i64, i64)>>,
    /// The last value written: values are unique.
    value: i64,
}

impl Registers {
    /// One write or read by `process` at `t`: its invoke and completion.
    fn operation(&mut self, process: u64, t: u64, faults: &[Fault]) -> (Event, Event) {
        let node = NODES[self.rng.below(3) as usize];
        let key = format!("r{}", self.rng.below(5));
        let faulted = faults.iter().any(|&(start, stop, d)| {
            t >= start * S && stop.is_none_or(|s| t < s * S) && d.split(' ').any(|w| w == node)
        });
        let planned = plan(&mut self.rng, t, faulted);
        let done = planned.invoke_ns + planned.latency_ns;
        let mut invoke = event(t, process, OpType::Invoke, Function::Read, "register");
        invoke.key = Some(key.clone());
        invoke.node = Some(node.to_owned());
        let mut completion = invoke.clone();
        completion.time_ns = done;
        completion.kind = planned.kind;
        completion.error = planned.error;
        if self.rng.below(2) == 0 {
            self.value += 1;
            let ts = i64::try_from(t / 1_000).expect("µs fit");
            invoke.function = Function::Write;
            invoke.values = vec![self.value];
            invoke.timestamps = vec![ts];
            completion.function = Function::Write;
            if planned.kind == OpType::Ok {
                let acked = self.acked.entry(key).or_default();
                acked.push((done, self.value, ts));
            }
        } else if planned.kind == OpType::Ok {
            // The newest two acked writes completed before the read: the
            // newest is the fresh answer, the one before a stale one.
            let seen: Vec<(u64, i64, i64)> = self.acked.get(&key).map_or(Vec::new(), |w| {
                w.iter()
                    .rev()
                    .filter(|w| w.0 < t)
                    .take(2)
                    .copied()
                    .collect()
            });
            let back = usize::from(faulted && self.rng.below(3) == 0);
            if let Some(&(_, v, ts)) = seen.get(back).or(seen.first()) {
                completion.values = vec![v];
                completion.timestamps = vec![ts];
            }
        }
        (invoke, completion)
    }
}

fn plan(rng: &mut Rng, t: u64, faulted: bool) -> Planned {
    let roll = rng.below(100);
    let (kind, latency_ns, error) = match (faulted, roll) {
        (true, 0..30) => (
            OpType::Fail,
            (1 + rng.below(5)) * MS,
            Some("Unavailable: QUORUM needs 2, 1 alive"),
        ),
        (true, 30..50) => (OpType::Info, 1_000 * MS, Some("client deadline 1 s")),
        (false, 0..1) => (OpType::Info, 1_000 * MS, Some("WriteTimeout")),
        _ => (
            OpType::Ok,
            (1 + rng.below(4) + rng.below(2) * rng.below(60)) * MS + rng.below(MS),
            None,
        ),
    };
    Planned {
        invoke_ns: t,
        latency_ns,
        kind,
        error: error.map(str::to_owned),
    }
}

fn meta() -> RunMeta {
    RunMeta {
        seed: 1234,
        nodes: 3,
        replication_factor: 3,
        time_s: 60,
        profile: "ci".to_owned(),
        workloads: vec!["register".to_owned()],
        nemeses: vec!["partition".to_owned(), "kill".to_owned()],
        started_at: "2026-12-07T20:00:00Z".to_owned(),
        binary: "target/debug/basalt".to_owned(),
    }
}

fn verdict(property: &str, validity: Validity) -> Verdict {
    Verdict {
        property: property.to_owned(),
        validity,
        summary: format!("{property} summary"),
        figures: BTreeMap::from([("stale".to_owned(), serde_json::json!(0))]),
        anomalies: Vec::new(),
    }
}

/// The text of `<section id="{id}">`.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let open = format!("<section id=\"{id}\">");
    let start = page
        .find(&open)
        .unwrap_or_else(|| panic!("section {id} in the page"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").expect("the section closes")]
}

const TWO_FAULTS: [Fault; 2] = [
    (10, Some(18), "partition n1 | n2 n3"),
    (30, Some(36), "kill n2"),
];

#[test]
fn two_fault_windows_are_shaded_once_in_every_chart() {
    let history = synthetic(60, &TWO_FAULTS, 7);
    let page = render_html(
        &history,
        &[verdict("register: no stale reads", Validity::Valid)],
        &meta(),
    );
    for id in ["throughput", "latency", "availability", "staleness"] {
        let body = section(&page, id);
        let charts = body.matches("<svg").count();
        assert_eq!(charts, 1, "one chart in {id} (a single workload)");
        assert_eq!(
            body.matches("class=\"fault\"").count(),
            2,
            "two windows in {id}"
        );
    }
    assert_eq!(page.matches("class=\"fault-row\"").count(), 2);
    // The kill names n2 only: outlined on one strip; the partition on three.
    assert_eq!(
        section(&page, "availability")
            .matches("class=\"hit\"")
            .count(),
        4
    );
    assert!(page.contains("partition n1 | n2 n3"));
}

#[test]
fn hostile_strings_from_the_history_are_escaped() {
    let mut history = synthetic(20, &[(5, None, "<script>alert('nemesis')</script> n1")], 3);
    for e in history.iter_mut().filter(|e| e.kind == OpType::Fail) {
        e.error = Some("<script>alert(\"error\")</script>".to_owned());
    }
    if let Some(e) = history
        .iter_mut()
        .find(|e| e.function == Function::Read && e.kind == OpType::Invoke)
    {
        e.node = Some("<img src=x onerror=alert(1)>".to_owned());
    }
    for e in history.iter_mut().filter(|e| e.key.is_some()) {
        e.key = Some("k</td><script>".to_owned());
    }
    let mut bad = verdict("<b>property</b>", Validity::Invalid);
    bad.anomalies = vec!["<script>anomaly</script>".to_owned(); 3];
    let page = render_html(&history, &[bad], &meta());
    let lower = page.to_lowercase();
    assert!(!lower.contains("<script"), "no script element");
    assert!(!lower.contains("<img"), "no injected element");
    assert!(!lower.contains("<b>"), "no injected markup");
    assert!(
        page.contains("&lt;script&gt;alert(&quot;error&quot;)&lt;/script&gt;"),
        "the error is shown, escaped"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;nemesis&#39;)"),
        "the fault is shown, escaped"
    );
}

#[test]
fn an_empty_history_renders() {
    let page = render_html(&[], &[], &RunMeta::default());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    assert!(page.contains("No verdicts"));
    let summary = summary_text(&[], &[], &RunMeta::default());
    assert_eq!(summary.lines().last(), Some("0 passed, 0 failed"));
    assert!(
        summary.contains("RESULT unknown"),
        "nothing checked is not valid"
    );
}

#[test]
fn a_history_of_only_nemesis_events_renders() {
    let history = vec![
        nemesis(2 * S, Function::Start, "pause n1"),
        nemesis(5 * S, Function::Stop, "pause n1"),
        nemesis(6 * S, Function::Stop, "heal"),
        nemesis(7 * S, Function::Start, "loss 30%"),
    ];
    let page = render_html(&history, &[], &meta());
    assert_eq!(
        section(&page, "throughput")
            .matches("class=\"fault\"")
            .count(),
        2
    );
    assert!(page.contains("(never healed)"));
    assert!(page.contains("No operation names its coordinator node."));
    let summary = summary_text(&history, &[], &meta());
    assert!(
        summary.contains("nemesis: 2 faults (loss x1, pause x1), max concurrent 1"),
        "{summary}"
    );
}

#[test]
fn the_summary_counts_each_workload_and_ends_with_the_tally() {
    let mut history = Vec::new();
    let ops = [
        (0, OpType::Ok, 2),
        (1, OpType::Ok, 4),
        (2, OpType::Fail, 1),
        (3, OpType::Info, 1000),
    ];
    for (process, kind, latency_ms) in ops {
        let t = process * S + 20 * S * u64::from(process >= 2);
        let mut invoke = event(t, process, OpType::Invoke, Function::Write, "register");
        invoke.values = vec![i64::try_from(process).expect("small")];
        let mut done = invoke.clone();
        done.kind = kind;
        done.time_ns = t + latency_ms * MS;
        history.extend([invoke, done]);
    }
    history.push(nemesis(20 * S, Function::Start, "partition n1 | n2 n3"));
    history.sort_by_key(|e| e.time_ns);
    let verdicts = [
        verdict("register: no lost acked writes", Validity::Valid),
        verdict("register: no stale reads", Validity::Invalid),
        verdict("set: no lost acked adds", Validity::Unknown),
    ];
    let summary = summary_text(&history, &verdicts, &meta());
    let lines: Vec<&str> = summary.lines().collect();
    assert!(lines.first().is_some_and(|l| {
        l.starts_with("jepsen-like run seed=1234 nodes=3 rf=3 time=60s profile=ci")
    }));
    let row = lines
        .iter()
        .find(|l| l.starts_with("register"))
        .expect("a register row");
    let fields: Vec<&str> = row.split_whitespace().collect();
    // attempted ok fail info avail% p50 p99 (healthy | faulted)
    assert_eq!(
        fields,
        [
            "register", "4", "2", "1", "1", "50.0", "2.0", "4.0", "(100.0", "|", "0.0)"
        ]
    );
    assert!(lines.contains(
        &"invalid  register: no stale reads                     register: no stale reads summary"
    ));
    assert_eq!(lines.get(lines.len() - 2), Some(&"RESULT invalid"));
    assert_eq!(lines.last(), Some(&"1 passed, 2 failed"));
}

#[test]
fn a_long_run_draws_a_bounded_number_of_points() {
    let history = synthetic(1_500, &TWO_FAULTS, 11);
    let completed = history
        .iter()
        .filter(|e| e.kind != OpType::Invoke && e.process != NEMESIS)
        .count();
    assert!(
        completed > 40_000,
        "a history larger than the bound: {completed}"
    );
    let page = render_html(&history, &[], &meta());
    for id in ["latency", "staleness"] {
        let dots = section(&page, id).matches("h0").count();
        assert!(dots <= 20_000, "{dots} points in {id}");
    }
    assert!(page.len() < 4_000_000, "page of {} bytes", page.len());
}

#[test]
fn writes_an_example_page() {
    let faults = [
        (8, Some(16), "partition n1 | n2 n3"),
        (12, Some(20), "loss 30% between all nodes"),
        (28, Some(34), "kill n2"),
        (44, None, "pause n3"),
    ];
    let mut history = synthetic(60, &faults, 42);
    // Two keys as the coordinator-timestamp register: their writes carry
    // no timestamp, which the report learns from the reads.
    for e in &mut history {
        if matches!(e.key.as_deref(), Some("r3" | "r4")) {
            e.workload = "register-coord".to_owned();
            if e.function == Function::Write {
                e.timestamps.clear();
            }
        }
    }
    let mut stale = verdict("register: no stale reads", Validity::Invalid);
    stale.anomalies = vec!["key r1: read of 17 at 12.301 s, 2 acked writes behind".to_owned()];
    let verdicts = [
        verdict("register: no lost acked writes", Validity::Valid),
        stale,
    ];
    let mut meta = meta();
    meta.workloads.push("register-coord".to_owned());
    let page = render_html(&history, &verdicts, &meta);
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target
        .parent()
        .expect("the target directory")
        .join("jepsen-like");
    std::fs::create_dir_all(&dir).expect("create target/jepsen-like");
    std::fs::write(dir.join("example-report.html"), &page).expect("write the example");
    std::fs::write(
        dir.join("example-summary.txt"),
        summary_text(&history, &verdicts, &meta),
    )
    .expect("write the example summary");
    // Outlines: the partition on 3 strips, the loss (names no node) on
    // all 3, the kill and the pause on 1 each.
    let outlines = section(&page, "availability").matches("class=\"hit\"");
    assert_eq!(outlines.count(), 8);
    let throughput = section(&page, "throughput");
    assert_eq!(
        throughput.matches("<svg").count(),
        3,
        "all, and each workload"
    );
    assert_eq!(throughput.matches("class=\"fault\"").count(), 3 * 4);
    assert!(
        page.contains("<td>register-coord</td><td>r"),
        "stale reads of the coordinator-timestamp keys are measured"
    );
}

/// Any sequence of events (unpaired completions, operations after `Info`,
/// time going backwards, huge times, hostile strings, thousands of
/// overlapping faults) renders and summarises without panicking, escaped.
#[test]
fn random_histories_never_panic() {
    const KINDS: [OpType; 4] = [OpType::Invoke, OpType::Ok, OpType::Fail, OpType::Info];
    const FUNCTIONS: [Function; 8] = [
        Function::Write,
        Function::Read,
        Function::Add,
        Function::Delete,
        Function::Batch,
        Function::FinalRead,
        Function::Start,
        Function::Stop,
    ];
    const TEXT: [&str; 5] = ["register", "register-coord", "<i>x</i>", "n1 \u{1b}[2J", ""];
    let mut rng = Rng(99);
    for round in 0..40 {
        let length = if round == 0 { 20_000 } else { rng.below(300) };
        let history: Vec<Event> = (0..length)
            .map(|i| {
                let mut e = event(
                    if rng.below(50) == 0 {
                        u64::MAX - rng.below(5)
                    } else {
                        rng.below(100 * S)
                    },
                    if rng.below(4) == 0 {
                        NEMESIS
                    } else {
                        rng.below(6)
                    },
                    KINDS[rng.below(4) as usize],
                    FUNCTIONS[rng.below(8) as usize],
                    TEXT[rng.below(5) as usize],
                );
                e.index = i;
                e.key = Some(TEXT[rng.below(5) as usize].to_owned()).filter(|_| rng.below(2) == 0);
                e.node = Some(TEXT[rng.below(5) as usize].to_owned()).filter(|_| rng.below(2) == 0);
                e.error =
                    Some(TEXT[rng.below(5) as usize].to_owned()).filter(|_| rng.below(2) == 0);
                let n = rng.below(3) as usize;
                e.values = (0..n).map(|_| rng.below(4) as i64).collect();
                e.timestamps = (0..rng.below(3)).map(|_| rng.next() as i64).collect();
                e
            })
            .collect();
        let page = render_html(&history, &[], &meta());
        assert!(!page.contains("<i>"), "escaped");
        assert!(page.len() < 8_000_000, "bounded: {} bytes", page.len());
        let summary = summary_text(&history, &[], &meta());
        assert!(
            !summary.contains('\u{1b}'),
            "no escape sequence reaches the terminal"
        );
        assert_eq!(summary.lines().last(), Some("0 passed, 0 failed"));
    }
}
