//! The checkers against hand-built histories: for every property a history
//! that keeps it (must be valid) and histories that break it (must be
//! caught), plus malformed histories (unknown, never a panic) and property
//! tests over a sequential register model.

use jepsen_like::checker::{Validity, Verdict, check_all};
use jepsen_like::history::{Event, Function, NEMESIS, OpType, Value};
use proptest::prelude::*;

use Function::{Add, Batch, Delete, FinalRead, Read, Write};

/// Builds a history event by event; time advances 10 ms per event.
#[derive(Default)]
struct History {
    events: Vec<Event>,
}

impl History {
    fn push(&mut self, process: u64, kind: OpType, function: Function, key: &str) -> &mut Event {
        let index = u64::try_from(self.events.len()).expect("small history");
        self.events.push(Event {
            index,
            time_ns: (index + 1) * 10_000_000,
            process,
            kind,
            function,
            workload: String::new(),
            key: Some(key.to_owned()),
            values: Vec::new(),
            timestamps: Vec::new(),
            consistency: None,
            node: Some("n1".to_owned()),
            error: None,
        });
        self.events.last_mut().expect("just pushed")
    }

    /// Starts an operation of `workload`.
    fn invoke(&mut self, workload: &str, process: u64, f: Function, key: &str, values: &[Value]) {
        let event = self.push(process, OpType::Invoke, f, key);
        event.workload = workload.to_owned();
        event.values = values.to_vec();
    }

    /// Completes `process`'s operation: the same workload, function and key
    /// as its invoke, the written values repeated, and `read` for a read.
    fn complete(&mut self, process: u64, kind: OpType, read: &[Value], timestamps: &[i64]) {
        let invoke = self
            .events
            .iter()
            .rev()
            .find(|e| e.process == process && e.kind == OpType::Invoke)
            .cloned()
            .expect("an invoke to complete");
        let event = self.push(
            process,
            kind,
            invoke.function,
            invoke.key.as_deref().unwrap_or(""),
        );
        event.workload = invoke.workload;
        event.consistency = invoke.consistency;
        let reads = matches!(invoke.function, Read | FinalRead);
        event.values = if reads { read.to_vec() } else { invoke.values };
        event.timestamps = if reads {
            timestamps.to_vec()
        } else {
            invoke.timestamps
        };
    }

    /// The last event's client timestamp (a write `USING TIMESTAMP`).
    fn ts(&mut self, ts: i64) -> &mut Self {
        self.events.last_mut().expect("an event").timestamps = vec![ts];
        self
    }

    /// The last event's consistency level.
    fn cl(&mut self, level: &str) -> &mut Self {
        self.events.last_mut().expect("an event").consistency = Some(level.to_owned());
        self
    }

    /// A write of `value` at client timestamp `ts`, invoked and completed.
    fn write(
        &mut self,
        workload: &str,
        process: u64,
        key: &str,
        value: Value,
        ts: i64,
        kind: OpType,
    ) {
        self.invoke(workload, process, Write, key, &[value]);
        self.ts(ts);
        self.complete(process, kind, &[], &[]);
    }

    /// An operation that writes `value` (add, delete, batch), completed.
    fn apply(
        &mut self,
        workload: &str,
        process: u64,
        f: Function,
        key: &str,
        value: Value,
        kind: OpType,
    ) {
        self.invoke(workload, process, f, key, &[value]);
        self.complete(process, kind, &[], &[]);
    }

    /// A read returning `values` (with `timestamps`), invoked and acked.
    fn read(
        &mut self,
        workload: &str,
        process: u64,
        key: &str,
        values: &[Value],
        timestamps: &[i64],
    ) {
        self.invoke(workload, process, Read, key, &[]);
        self.complete(process, OpType::Ok, values, timestamps);
    }

    /// The final read of `key` (CL ALL).
    fn final_read(&mut self, workload: &str, key: &str, values: &[Value], timestamps: &[i64]) {
        self.invoke(workload, 999, FinalRead, key, &[]);
        self.cl("ALL");
        self.complete(999, OpType::Ok, values, timestamps);
    }

    fn nemesis(&mut self, function: Function, description: &str) {
        let event = self.push(NEMESIS, OpType::Info, function, "");
        event.key = None;
        event.workload = "nemesis".to_owned();
        event.error = Some(description.to_owned());
    }

    fn check(&self) -> Vec<Verdict> {
        check_all(&self.events)
    }
}

/// The verdict named `property`.
fn verdict<'a>(verdicts: &'a [Verdict], property: &str) -> &'a Verdict {
    verdicts
        .iter()
        .find(|v| v.property == property)
        .unwrap_or_else(|| panic!("no verdict {property} in {verdicts:#?}"))
}

fn validity(history: &History, property: &str) -> Validity {
    verdict(&history.check(), property).validity
}

fn figure(history: &History, property: &str, name: &str) -> serde_json::Value {
    let verdicts = history.check();
    verdict(&verdicts, property)
        .figures
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no figure {name} in {property}"))
}

fn assert_all_valid(verdicts: &[Verdict]) {
    for v in verdicts {
        assert_eq!(v.validity, Validity::Valid, "{v:#?}");
    }
}

const R: &str = "register";

/// Two acked writes, reads in between (one concurrent with the second
/// write, returning the older value), a final read of the newest.
fn good_register() -> History {
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.read(R, 2, "k", &[10], &[100]);
    h.invoke(R, 1, Write, "k", &[11]);
    h.ts(200);
    h.read(R, 2, "k", &[10], &[100]);
    h.complete(1, OpType::Ok, &[], &[]);
    h.read(R, 2, "k", &[11], &[200]);
    h.write(R, 3, "k", 12, 150, OpType::Fail);
    h.final_read(R, "k", &[11], &[200]);
    h
}

#[test]
fn register_good_history_keeps_every_promise() {
    let verdicts = good_register().check();
    assert_all_valid(&verdicts);
    let names: Vec<&str> = verdicts.iter().map(|v| v.property.as_str()).collect();
    assert_eq!(
        names,
        [
            "stats",
            "register: no lost acked writes (P1)",
            "register: no stale reads (P2)",
            "register: monotonic reads (P4)",
            "register: no phantoms or failed writes read (P7)",
        ]
    );
}

#[test]
fn register_final_read_older_than_an_acked_write_is_a_lost_write() {
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.write(R, 1, "k", 11, 200, OpType::Ok);
    h.final_read(R, "k", &[10], &[100]);
    assert_eq!(
        validity(&h, "register: no lost acked writes (P1)"),
        Validity::Invalid
    );

    let mut empty = History::default();
    empty.write(R, 1, "k", 10, 100, OpType::Ok);
    empty.final_read(R, "k", &[], &[]);
    assert_eq!(
        validity(&empty, "register: no lost acked writes (P1)"),
        Validity::Invalid
    );
}

#[test]
fn register_equal_timestamp_needs_a_real_write() {
    // Two writes at the same timestamp: either may win the tie.
    let mut tie = History::default();
    tie.write(R, 1, "k", 10, 100, OpType::Ok);
    tie.write(R, 2, "k", 11, 100, OpType::Info);
    tie.final_read(R, "k", &[11], &[100]);
    assert_eq!(
        validity(&tie, "register: no lost acked writes (P1)"),
        Validity::Valid
    );
    // A value that was written with another timestamp does not.
    let mut other = History::default();
    other.write(R, 1, "k", 10, 100, OpType::Ok);
    other.write(R, 2, "k", 11, 50, OpType::Ok);
    other.final_read(R, "k", &[11], &[100]);
    assert_eq!(
        validity(&other, "register: no lost acked writes (P1)"),
        Validity::Invalid
    );
}

#[test]
fn register_without_final_read_is_unknown() {
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.read(R, 2, "k", &[10], &[100]);
    assert_eq!(
        validity(&h, "register: no lost acked writes (P1)"),
        Validity::Unknown
    );
    assert_eq!(
        validity(&h, "register: no stale reads (P2)"),
        Validity::Valid
    );
}

/// A read invoked after the write of 11 (ts 200) was acked returns 10.
fn stale_register(read_level: Option<&str>) -> History {
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.write(R, 1, "k", 11, 200, OpType::Ok);
    h.invoke(R, 2, Read, "k", &[]);
    if let Some(level) = read_level {
        h.cl(level);
    }
    h.complete(2, OpType::Ok, &[10], &[100]);
    h.final_read(R, "k", &[11], &[200]);
    h
}

#[test]
fn register_stale_read_is_caught_with_its_staleness() {
    let h = stale_register(None);
    let p2 = "register: no stale reads (P2)";
    assert_eq!(validity(&h, p2), Validity::Invalid);
    assert_eq!(figure(&h, p2, "stale_reads"), 1);
    assert_eq!(figure(&h, p2, "worst_staleness_us"), 100);
    // The write of 11 completed at event 3 (40 ms), the read began at event 4.
    assert_eq!(figure(&h, p2, "worst_staleness_ms"), 10);
    // A read at ONE promises nothing: not stale, but counted.
    let weak = stale_register(Some("ONE"));
    assert_eq!(validity(&weak, p2), Validity::Valid);
    assert_eq!(figure(&weak, p2, "weak_ops_ignored"), 1);
}

#[test]
fn register_read_inversion_is_caught_but_not_as_stale() {
    // The write of 11 is in flight while two reads run one after the other:
    // the first sees it, the second (begun after the first completed) does
    // not. Neither read is stale (the write was not yet acked).
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.invoke(R, 1, Write, "k", &[11]);
    h.ts(200);
    h.read(R, 2, "k", &[11], &[200]);
    h.read(R, 3, "k", &[10], &[100]);
    h.complete(1, OpType::Ok, &[], &[]);
    h.final_read(R, "k", &[11], &[200]);
    assert_eq!(
        validity(&h, "register: no stale reads (P2)"),
        Validity::Valid
    );
    assert_eq!(
        validity(&h, "register: monotonic reads (P4)"),
        Validity::Invalid
    );
    assert_eq!(
        figure(&h, "register: monotonic reads (P4)", "inversions"),
        1
    );
}

#[test]
fn phantom_and_failed_write_reads_are_caught() {
    let p7 = "register: no phantoms or failed writes read (P7)";
    let mut phantom = good_register();
    phantom.read(R, 4, "k", &[77], &[300]);
    assert_eq!(validity(&phantom, p7), Validity::Invalid);
    assert_eq!(figure(&phantom, p7, "phantoms"), 1);

    let mut failed = good_register();
    // 12 was written at ts 150 and failed: it must never be read.
    failed.read(R, 4, "k", &[12], &[150]);
    assert_eq!(validity(&failed, p7), Validity::Invalid);
    assert_eq!(figure(&failed, p7, "failed_writes_observed"), 1);

    let mut future = History::default();
    future.read(R, 4, "k", &[10], &[100]);
    future.write(R, 1, "k", 10, 100, OpType::Ok);
    assert_eq!(validity(&future, p7), Validity::Invalid);

    let mut wrong_ts = good_register();
    wrong_ts.read(R, 4, "k", &[11], &[999]);
    assert_eq!(figure(&wrong_ts, p7, "timestamp_mismatches"), 1);
}

const RC: &str = "register-coord";

/// Coordinator timestamps: writes carry none; reads return `writetime`.
fn coord_write(h: &mut History, process: u64, value: Value) {
    h.invoke(RC, process, Write, "k", &[value]);
    h.complete(process, OpType::Ok, &[], &[]);
}

#[test]
fn register_coord_checks_in_timestamp_order() {
    let mut good = History::default();
    coord_write(&mut good, 1, 10);
    good.read(RC, 2, "k", &[10], &[1_000]);
    coord_write(&mut good, 1, 11);
    good.read(RC, 2, "k", &[11], &[2_000]);
    good.final_read(RC, "k", &[11], &[2_000]);
    assert_all_valid(&good.check());

    // 11's timestamp is learnt from the final read; the read after its ack
    // returned the older 10.
    let mut stale = History::default();
    coord_write(&mut stale, 1, 10);
    coord_write(&mut stale, 1, 11);
    stale.read(RC, 2, "k", &[10], &[1_000]);
    stale.final_read(RC, "k", &[11], &[2_000]);
    assert_eq!(
        validity(&stale, "register-coord: no stale reads (P2)"),
        Validity::Invalid
    );
}

#[test]
fn register_coord_real_time_lost_update_is_a_figure() {
    // 11 was written after 10 was acked, yet got a lower timestamp (a
    // coordinator's clock behind): it silently lost. Not a violation.
    let mut h = History::default();
    coord_write(&mut h, 1, 10);
    coord_write(&mut h, 2, 11);
    h.read(RC, 3, "k", &[10], &[2_000]);
    h.final_read(RC, "k", &[10], &[2_000]);
    let property = "register-coord: real-time lost updates";
    assert_eq!(validity(&h, property), Validity::Valid);
    assert_eq!(figure(&h, property, "real_time_lost_updates"), 0);
    // Learn 11's timestamp too: now the figure counts it.
    let mut seen = History::default();
    coord_write(&mut seen, 1, 10);
    coord_write(&mut seen, 2, 11);
    seen.read(RC, 3, "k", &[11], &[1_000]);
    seen.read(RC, 3, "k", &[10], &[2_000]);
    seen.final_read(RC, "k", &[10], &[2_000]);
    assert_eq!(validity(&seen, property), Validity::Valid);
    assert_eq!(figure(&seen, property, "real_time_lost_updates"), 1);
}

const S: &str = "set";

fn good_set() -> History {
    let mut h = History::default();
    h.apply(S, 1, Add, "s", 1, OpType::Ok);
    h.read(S, 2, "s", &[1], &[]);
    h.invoke(S, 1, Add, "s", &[2]);
    // A read concurrent with the add of 2 may miss it.
    h.read(S, 2, "s", &[1], &[]);
    h.complete(1, OpType::Ok, &[], &[]);
    h.read(S, 2, "s", &[1, 2], &[]);
    h.apply(S, 3, Add, "s", 3, OpType::Info);
    h.apply(S, 4, Add, "s", 4, OpType::Fail);
    h.final_read(S, "s", &[1, 2, 3], &[]);
    h
}

#[test]
fn set_good_history_keeps_every_promise() {
    let h = good_set();
    assert_all_valid(&h.check());
    let full = "set: set-full";
    assert_eq!(figure(&h, full, "stable"), 3);
    assert_eq!(figure(&h, full, "lost"), 0);
    // 4 failed and was never seen: never known to exist, never read.
    assert_eq!(figure(&h, full, "never_read"), 1);
}

#[test]
fn set_lost_add_is_caught() {
    let mut h = History::default();
    h.apply(S, 1, Add, "s", 1, OpType::Ok);
    h.apply(S, 1, Add, "s", 2, OpType::Ok);
    h.read(S, 2, "s", &[1, 2], &[]);
    h.final_read(S, "s", &[1], &[]);
    assert_eq!(
        validity(&h, "set: no lost acked writes (P1)"),
        Validity::Invalid
    );
    assert_eq!(figure(&h, "set: set-full", "lost"), 1);
    assert_eq!(validity(&h, "set: set-full"), Validity::Valid);
}

#[test]
fn set_stale_read_is_caught() {
    let mut h = History::default();
    h.apply(S, 1, Add, "s", 1, OpType::Ok);
    h.apply(S, 1, Add, "s", 2, OpType::Ok);
    h.read(S, 2, "s", &[2], &[]);
    h.final_read(S, "s", &[1, 2], &[]);
    assert_eq!(validity(&h, "set: no stale reads (P2)"), Validity::Invalid);
    assert_eq!(figure(&h, "set: set-full", "stale"), 1);
    assert_eq!(
        validity(&h, "set: no lost acked writes (P1)"),
        Validity::Valid
    );
}

#[test]
fn set_without_final_read_is_unknown() {
    let mut h = History::default();
    h.apply(S, 1, Add, "s", 1, OpType::Ok);
    assert_eq!(
        validity(&h, "set: no lost acked writes (P1)"),
        Validity::Unknown
    );
}

const D: &str = "delete";

fn good_delete() -> History {
    let mut h = History::default();
    h.apply(D, 1, Add, "d", 1, OpType::Ok);
    h.apply(D, 1, Add, "d", 2, OpType::Ok);
    h.read(D, 2, "d", &[1, 2], &[]);
    h.apply(D, 1, Delete, "d", 1, OpType::Ok);
    h.read(D, 2, "d", &[2], &[]);
    h.final_read(D, "d", &[2], &[]);
    h
}

#[test]
fn delete_good_history_keeps_every_promise() {
    assert_all_valid(&good_delete().check());
}

#[test]
fn delete_resurrection_is_caught() {
    let p6 = "delete: no resurrection (P6)";
    let mut in_run = good_delete();
    in_run.read(D, 3, "d", &[1, 2], &[]);
    assert_eq!(validity(&in_run, p6), Validity::Invalid);

    let mut zombie = History::default();
    zombie.apply(D, 1, Add, "d", 1, OpType::Ok);
    zombie.apply(D, 1, Delete, "d", 1, OpType::Ok);
    zombie.final_read(D, "d", &[1], &[]);
    assert_eq!(validity(&zombie, p6), Validity::Invalid);
    // Its P1 does not require the deleted element.
    assert_eq!(
        validity(&zombie, "delete: no lost acked writes (P1)"),
        Validity::Valid
    );
}

#[test]
fn delete_lost_undeleted_add_is_caught() {
    let mut h = History::default();
    h.apply(D, 1, Add, "d", 1, OpType::Ok);
    h.apply(D, 1, Add, "d", 2, OpType::Ok);
    h.apply(D, 1, Delete, "d", 1, OpType::Ok);
    // 3's delete failed: it must stay.
    h.apply(D, 1, Add, "d", 3, OpType::Ok);
    h.apply(D, 1, Delete, "d", 3, OpType::Fail);
    h.final_read(D, "d", &[2], &[]);
    assert_eq!(
        validity(&h, "delete: no lost acked writes (P1)"),
        Validity::Invalid
    );
}

const SE: &str = "session";

#[test]
fn session_read_your_writes() {
    let p3 = "session: read your writes (P3)";
    let mut good = History::default();
    good.write(SE, 1, "a", 10, 100, OpType::Ok);
    // Another process's newer value is fine.
    good.write(SE, 2, "a", 20, 150, OpType::Ok);
    good.read(SE, 1, "a", &[20], &[150]);
    good.read(SE, 2, "a", &[20], &[150]);
    assert_all_valid(&good.check());

    let mut bad = History::default();
    bad.write(SE, 2, "a", 20, 50, OpType::Ok);
    bad.write(SE, 1, "a", 10, 100, OpType::Ok);
    bad.read(SE, 1, "a", &[20], &[50]);
    assert_eq!(validity(&bad, p3), Validity::Invalid);

    // At ONE it is a figure, not a violation.
    let mut weak = History::default();
    weak.write(SE, 2, "a", 20, 50, OpType::Ok);
    weak.write(SE, 1, "a", 10, 100, OpType::Ok);
    weak.cl("ONE");
    weak.read(SE, 1, "a", &[20], &[50]);
    assert_eq!(validity(&weak, p3), Validity::Valid);
    assert_eq!(figure(&weak, p3, "weak_violations"), 1);
}

const B: &str = "batch";

#[test]
fn batch_all_or_nothing() {
    let p8 = "batch: all or nothing (P8)";
    let mut good = History::default();
    good.apply(B, 1, Batch, "a,b", 1, OpType::Ok);
    good.apply(B, 2, Batch, "a,b", 2, OpType::Info);
    good.apply(B, 3, Batch, "a,b", 3, OpType::Info);
    good.final_read(B, "a", &[1, 2], &[]);
    good.final_read(B, "b", &[1, 2], &[]);
    assert_all_valid(&good.check());

    let mut partial = History::default();
    partial.apply(B, 2, Batch, "a,b", 2, OpType::Info);
    partial.final_read(B, "a", &[2], &[]);
    partial.final_read(B, "b", &[], &[]);
    assert_eq!(validity(&partial, p8), Validity::Invalid);

    let mut lost = History::default();
    lost.apply(B, 1, Batch, "a,b", 1, OpType::Ok);
    lost.final_read(B, "a", &[1], &[]);
    lost.final_read(B, "b", &[], &[]);
    assert_eq!(validity(&lost, p8), Validity::Invalid);
    assert_eq!(
        validity(&lost, "batch: no lost acked writes (P1)"),
        Validity::Invalid
    );

    let mut missing = History::default();
    missing.apply(B, 1, Batch, "a,b", 1, OpType::Ok);
    missing.final_read(B, "a", &[1], &[]);
    assert_eq!(validity(&missing, p8), Validity::Unknown);
}

#[test]
fn batch_failed_then_seen_is_caught() {
    let mut h = History::default();
    h.apply(B, 1, Batch, "a,b", 1, OpType::Fail);
    h.final_read(B, "a", &[1], &[]);
    h.final_read(B, "b", &[1], &[]);
    let p7 = "batch: no phantoms or failed writes read (P7)";
    assert_eq!(validity(&h, p7), Validity::Invalid);
}

#[test]
fn stats_count_outcomes_and_faults() {
    let mut h = good_register();
    h.nemesis(Function::Start, "partition n1 | n2 n3");
    h.apply(S, 5, Add, "s", 1, OpType::Info);
    h.nemesis(Function::Stop, "partition n1 | n2 n3");
    h.nemesis(Function::Start, "kill n2");
    let stats = "stats";
    assert_eq!(validity(&h, stats), Validity::Valid);
    assert_eq!(figure(&h, stats, "register.attempted"), 7);
    assert_eq!(figure(&h, stats, "register.fail"), 1);
    assert_eq!(figure(&h, stats, "set.info"), 1);
    assert_eq!(figure(&h, stats, "faults"), 2);
    assert_eq!(figure(&h, stats, "faults.partition"), 1);
    assert_eq!(figure(&h, stats, "set.availability_percent"), 0.0);
    // The add was invoked during the partition; no register op was.
    assert_eq!(figure(&h, stats, "set.availability_faulted_percent"), 0.0);
    assert_eq!(
        figure(&h, stats, "register.availability_faulted_percent"),
        100.0
    );
    assert_eq!(
        figure(&h, stats, "register.availability_healthy_percent"),
        85.7
    );
}

#[test]
fn absent_workloads_have_no_verdicts() {
    let verdicts = good_set().check();
    assert!(
        verdicts
            .iter()
            .all(|v| v.property == "stats" || v.property.starts_with("set:"))
    );
    assert_eq!(check_all(&[]).len(), 1, "an empty history has only stats");
}

#[test]
fn malformed_histories_are_unknown() {
    // A completion without an invoke.
    let mut orphan = good_register();
    orphan.push(42, OpType::Ok, Write, "k").workload = R.to_owned();
    // An operation after an info on the same process.
    let mut after_info = good_register();
    after_info.write(R, 7, "k", 13, 300, OpType::Info);
    after_info.read(R, 7, "k", &[11], &[200]);
    for h in [orphan, after_info] {
        let verdicts = h.check();
        for v in &verdicts {
            assert_eq!(v.validity, Validity::Unknown, "{v:#?}");
        }
        let p2 = verdict(&verdicts, "register: no stale reads (P2)");
        assert!(
            p2.anomalies.first().is_some_and(|a| a.contains("process")),
            "{p2:#?}"
        );
    }
}

#[test]
fn anomalies_are_bounded() {
    let mut h = History::default();
    h.write(R, 1, "k", 10, 100, OpType::Ok);
    h.write(R, 1, "k", 11, 200, OpType::Ok);
    for _ in 0..30 {
        h.read(R, 2, "k", &[10], &[100]);
    }
    let verdicts = h.check();
    let p2 = verdict(&verdicts, "register: no stale reads (P2)");
    assert_eq!(p2.anomalies.len(), 20);
    assert_eq!(p2.figures.get("stale_reads"), Some(&30.into()));
}

/// A sequential single-register model: each op completes before the next
/// is invoked; writes use rising timestamps, reads return the current value.
fn sequential_register(ops: &[(bool, u64)]) -> History {
    let mut h = History::default();
    let mut current: Option<(Value, i64)> = None;
    for (n, &(is_write, process)) in ops.iter().enumerate() {
        let value = Value::try_from(n).expect("small");
        if is_write {
            let ts = 1_000 + value * 10;
            h.write(R, process, "k", value, ts, OpType::Ok);
            current = Some((value, ts));
        } else {
            let (values, ts) = current.map_or((vec![], vec![]), |(v, t)| (vec![v], vec![t]));
            h.read(R, process, "k", &values, &ts);
        }
    }
    let (values, ts) = current.map_or((vec![], vec![]), |(v, t)| (vec![v], vec![t]));
    h.final_read(R, "k", &values, &ts);
    h
}

fn model_ops() -> impl Strategy<Value = Vec<(bool, u64)>> {
    proptest::collection::vec((any::<bool>(), 0u64..4), 1..60)
}

proptest! {
    #[test]
    fn valid_sequential_register_histories_pass(ops in model_ops()) {
        for v in sequential_register(&ops).check() {
            prop_assert_eq!(v.validity, Validity::Valid, "{:#?}", v);
        }
    }

    #[test]
    fn a_read_corrupted_to_an_older_value_is_caught(ops in model_ops(), pick in any::<prop::sample::Index>()) {
        let mut h = sequential_register(&ops);
        // Reads (not final) that follow at least two writes can be turned
        // back to an older written value.
        let mut written: Vec<(Value, i64)> = Vec::new();
        let mut candidates: Vec<(usize, (Value, i64))> = Vec::new();
        for (i, e) in h.events.iter().enumerate() {
            match (e.kind, e.function) {
                (OpType::Invoke, Write) => {
                    written.push((e.values[0], e.timestamps[0]));
                }
                (OpType::Ok, Read) if written.len() >= 2 => {
                    candidates.push((i, written[written.len() - 2]));
                }
                _ => {}
            }
        }
        prop_assume!(!candidates.is_empty());
        let (i, (old, ts)) = candidates[pick.index(candidates.len())];
        h.events[i].values = vec![old];
        h.events[i].timestamps = vec![ts];
        prop_assert_eq!(validity(&h, "register: no stale reads (P2)"), Validity::Invalid);
    }

    #[test]
    fn no_history_makes_a_checker_panic(events in proptest::collection::vec(arbitrary_event(), 0..40)) {
        let verdicts = check_all(&events);
        prop_assert!(verdicts.iter().all(|v| v.anomalies.len() <= 20));
    }
}

/// Any event at all, mostly malformed: the checkers must not panic.
fn arbitrary_event() -> impl Strategy<Value = Event> {
    let kinds = prop_oneof![
        Just(OpType::Invoke),
        Just(OpType::Ok),
        Just(OpType::Fail),
        Just(OpType::Info)
    ];
    let functions = prop_oneof![
        Just(Write),
        Just(Read),
        Just(Add),
        Just(Delete),
        Just(Batch),
        Just(FinalRead),
        Just(Function::Start),
        Just(Function::Stop)
    ];
    let workloads = prop_oneof![
        Just("register"),
        Just("register-coord"),
        Just("set"),
        Just("delete"),
        Just("session"),
        Just("batch"),
        Just("nemesis"),
        Just("other")
    ];
    let keys = prop_oneof![
        Just(None),
        Just(Some("a")),
        Just(Some("a,b")),
        Just(Some(",")),
        Just(Some("b"))
    ];
    (
        (any::<u64>(), 0u64..5, kinds, functions, workloads),
        (
            keys,
            proptest::collection::vec(-3i64..3, 0..3),
            proptest::collection::vec(any::<i64>(), 0..3),
        ),
        prop_oneof![Just(None), Just(Some("ONE")), Just(Some("ALL"))],
    )
        .prop_map(
            |((time_ns, process, kind, function, workload), (key, values, timestamps), cl)| Event {
                index: time_ns % 1000,
                time_ns: time_ns % 1000,
                process,
                kind,
                function,
                workload: workload.to_owned(),
                key: key.map(str::to_owned),
                values,
                timestamps,
                consistency: cl.map(str::to_owned),
                node: None,
                error: None,
            },
        )
}

/// One operation of a random concurrent register history: a write (its
/// timestamp) or a read (which write it returns, if any), its invoke time
/// and duration, and whether it was acked.
#[derive(Clone, Debug)]
struct Concurrent {
    write_ts: Option<i64>,
    reads: prop::sample::Index,
    read_empty: bool,
    start: u64,
    duration: u64,
    acked: bool,
}

fn concurrent_op() -> impl Strategy<Value = Concurrent> {
    (
        prop::option::of(0i64..20),
        any::<prop::sample::Index>(),
        any::<bool>(),
        0u64..1_000,
        1u64..200,
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(write_ts, reads, read_empty, start, duration, acked)| Concurrent {
                write_ts,
                reads,
                read_empty,
                start,
                duration,
                acked,
            },
        )
}

/// The history of `ops`, each on its own process; returns it with the
/// (invoke, complete, ts, acked) of every write and read for the oracle.
type Span = (u64, u64, i64, bool);

fn concurrent_history(ops: &[Concurrent]) -> (Vec<Event>, Vec<Span>, Vec<Span>) {
    let writes: Vec<(Value, i64)> = ops
        .iter()
        .enumerate()
        .filter_map(|(n, op)| Some((Value::try_from(n).ok()?, op.write_ts?)))
        .collect();
    let mut raw: Vec<(u64, u64, Event)> = Vec::new();
    let (mut write_spans, mut read_spans) = (Vec::new(), Vec::new());
    for (n, op) in ops.iter().enumerate() {
        let process = u64::try_from(n).expect("small");
        let (invoke_ns, complete_ns) = (op.start * 10 + 1, (op.start + op.duration) * 10);
        let template = Event {
            index: 0,
            time_ns: invoke_ns,
            process,
            kind: OpType::Invoke,
            function: Write,
            workload: R.to_owned(),
            key: Some("k".to_owned()),
            values: Vec::new(),
            timestamps: Vec::new(),
            consistency: None,
            node: None,
            error: None,
        };
        let (mut invoke, mut done) = (template.clone(), template);
        done.time_ns = complete_ns;
        done.kind = if op.acked { OpType::Ok } else { OpType::Info };
        if let Some(ts) = op.write_ts {
            let value = Value::try_from(n).expect("small");
            for e in [&mut invoke, &mut done] {
                (e.values, e.timestamps) = (vec![value], vec![ts]);
            }
            write_spans.push((invoke_ns, complete_ns, ts, op.acked));
        } else {
            invoke.function = Read;
            done.function = Read;
            let returned = writes.get(op.reads.index(writes.len().max(1)));
            if let (Some(&(value, ts)), false) = (returned, op.read_empty) {
                (done.values, done.timestamps) = (vec![value], vec![ts]);
            }
            let ts = done.timestamps.first().copied().unwrap_or(i64::MIN);
            read_spans.push((invoke_ns, complete_ns, ts, op.acked));
        }
        raw.push((invoke_ns, process * 2, invoke));
        raw.push((complete_ns, process * 2 + 1, done));
    }
    raw.sort_by_key(|(time, order, _)| (*time, *order));
    let events = raw
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut e))| {
            e.index = u64::try_from(i).expect("small");
            e
        })
        .collect();
    (events, write_spans, read_spans)
}

proptest! {
    /// The sweeps agree with the quadratic definitions of stale reads and
    /// inversions on random concurrent histories (phantom-free: every read
    /// returns a write's value, though maybe before the write was invoked).
    #[test]
    fn sweeps_agree_with_pairwise_definitions(ops in proptest::collection::vec(concurrent_op(), 1..40)) {
        let (events, writes, reads) = concurrent_history(&ops);
        let verdicts = check_all(&events);
        let acked_reads: Vec<&Span> = reads.iter().filter(|r| r.3).collect();
        let stale = acked_reads
            .iter()
            .filter(|r| writes.iter().any(|w| w.3 && w.1 < r.0 && w.2 > r.2))
            .count();
        let inverted = acked_reads
            .iter()
            .filter(|r2| acked_reads.iter().any(|r1| r1.1 < r2.0 && r1.2 > r2.2))
            .count();
        let p2 = verdict(&verdicts, "register: no stale reads (P2)");
        let p4 = verdict(&verdicts, "register: monotonic reads (P4)");
        prop_assert_eq!(p2.figures.get("stale_reads"), Some(&stale.into()));
        prop_assert_eq!(p4.figures.get("inversions"), Some(&inverted.into()));
        prop_assert_eq!(p2.validity == Validity::Invalid, stale > 0);
        prop_assert_eq!(p4.validity == Validity::Invalid, inverted > 0);
    }
}

/// One operation of a random concurrent set history: an add, or a read
/// returning the adds picked by `mask` (bit n: the n-th add), with its span.
#[derive(Clone, Debug)]
struct SetOp {
    add: bool,
    mask: u64,
    start: u64,
    duration: u64,
    acked: bool,
}

fn set_op() -> impl Strategy<Value = SetOp> {
    (
        any::<bool>(),
        any::<u64>(),
        0u64..1_000,
        1u64..200,
        prop::bool::weighted(0.8),
    )
        .prop_map(|(add, mask, start, duration, acked)| SetOp {
            add,
            mask,
            start,
            duration,
            acked,
        })
}

/// The set history of `ops`, each on its own process, in time order.
fn set_history(ops: &[SetOp]) -> Vec<Event> {
    let adds: Vec<Value> = (0..ops.len())
        .filter(|&n| ops[n].add)
        .filter_map(|n| Value::try_from(n).ok())
        .collect();
    let mut raw: Vec<(u64, u64, Event)> = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let process = u64::try_from(n).expect("small");
        let mut invoke = Event {
            index: 0,
            time_ns: op.start * 10 + 1,
            process,
            kind: OpType::Invoke,
            function: if op.add { Add } else { Read },
            workload: S.to_owned(),
            key: Some("s".to_owned()),
            values: Vec::new(),
            timestamps: Vec::new(),
            consistency: None,
            node: None,
            error: None,
        };
        if op.add {
            invoke.values = vec![Value::try_from(n).expect("small")];
        }
        let mut done = invoke.clone();
        done.time_ns = (op.start + op.duration) * 10;
        done.kind = if op.acked { OpType::Ok } else { OpType::Info };
        if !op.add {
            done.values = (0..64)
                .filter(|bit| op.mask >> bit & 1 == 1)
                .filter_map(|bit| adds.get(bit).copied())
                .collect();
        }
        raw.push((invoke.time_ns, process * 2, invoke));
        raw.push((done.time_ns, process * 2 + 1, done));
    }
    raw.sort_by_key(|(time, order, _)| (*time, *order));
    raw.into_iter()
        .enumerate()
        .map(|(i, (_, _, mut e))| {
            e.index = u64::try_from(i).expect("small");
            e
        })
        .collect()
}

proptest! {
    /// Set P2 agrees with its pairwise definition: an acked read is stale
    /// if some add acked before the read's invoke is missing from it.
    #[test]
    fn set_stale_reads_agree_with_the_definition(ops in proptest::collection::vec(set_op(), 1..40)) {
        let events = set_history(&ops);
        let acked_adds: Vec<(u64, Value)> = events
            .iter()
            .filter(|e| e.function == Add && e.kind == OpType::Ok)
            .map(|e| (e.time_ns, e.values[0]))
            .collect();
        let stale = events
            .iter()
            .filter(|e| e.function == Read && e.kind == OpType::Ok)
            .filter(|read| {
                let invoke = events
                    .iter()
                    .find(|e| e.process == read.process && e.kind == OpType::Invoke)
                    .map_or(0, |e| e.time_ns);
                acked_adds.iter().any(|&(done, v)| done < invoke && !read.values.contains(&v))
            })
            .count();
        let verdicts = check_all(&events);
        let p2 = verdict(&verdicts, "set: no stale reads (P2)");
        prop_assert_eq!(p2.figures.get("stale_reads"), Some(&stale.into()));
        prop_assert_eq!(p2.validity == Validity::Invalid, stale > 0);
    }
}
