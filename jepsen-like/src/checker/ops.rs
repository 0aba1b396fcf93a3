//! Operations: the history's events paired into invoke/completion
//! operations, the nemesis faults, and the ways a history can be malformed.
//!
//! Every checker reads these operations rather than raw events, so the
//! pairing rules (and what breaks them) live in one place.

use std::collections::{BTreeMap, HashMap};

use crate::history::{Event, Function, NEMESIS, OpType, Value};

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: an `Info`, or an invoke the history never completed.
    Info,
}

/// One client operation: an invoke and its completion.
#[derive(Clone, Debug)]
pub(crate) struct Op<'a> {
    pub(crate) process: u64,
    pub(crate) workload: &'a str,
    pub(crate) function: Function,
    /// The key; empty when the events carry none.
    pub(crate) key: &'a str,
    /// The invoke's position in the history, to name the operation.
    pub(crate) index: u64,
    pub(crate) invoke_ns: u64,
    /// `u64::MAX` when the history never completed it: it may take effect
    /// at any time after its invoke.
    pub(crate) complete_ns: u64,
    pub(crate) outcome: Outcome,
    /// Reads: what the completion returned. Writes: what the invoke sent
    /// (or the completion, when the invoke carried none).
    pub(crate) values: &'a [Value],
    pub(crate) timestamps: &'a [i64],
    /// At QUORUM or ALL (the default is QUORUM), so subject to P2–P4.
    pub(crate) strong: bool,
}

impl Op<'_> {
    pub(crate) fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// A read during the run or in the final phase.
    pub(crate) fn is_read(&self) -> bool {
        matches!(self.function, Function::Read | Function::FinalRead)
    }

    /// An operation that writes its value (a register write, a set add, a
    /// batch).
    pub(crate) fn is_write(&self) -> bool {
        matches!(
            self.function,
            Function::Write | Function::Add | Function::Batch
        )
    }

    /// The keys the operation touches: a batch names several, joined by `,`.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.key.split(',').map(str::trim)
    }
}

/// A history paired into operations.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    /// In invoke order.
    pub(crate) ops: Vec<Op<'a>>,
    /// Why the history is malformed, per workload (one line each).
    pub(crate) malformed: BTreeMap<&'a str, Vec<String>>,
    /// The description of every fault the nemesis started.
    pub(crate) faults: Vec<&'a str>,
    /// When at least one fault was in force: `[start, end)` in ns, sorted
    /// and disjoint; a fault never healed lasts to `u64::MAX`.
    pub(crate) fault_windows: Vec<(u64, u64)>,
}

impl Parsed<'_> {
    /// The workloads that have at least one operation, in name order.
    pub(crate) fn workloads(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.ops.iter().map(|op| op.workload).collect();
        names.extend(self.malformed.keys().copied());
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The operations of `workload`, in invoke order.
    pub(crate) fn of<'s>(&'s self, workload: &'s str) -> impl Iterator<Item = &'s Op<'s>> {
        self.ops.iter().filter(move |op| op.workload == workload)
    }
}

/// Whether a consistency level (absent means QUORUM) is subject to P2–P4.
pub(crate) fn is_strong(consistency: Option<&str>) -> bool {
    match consistency {
        None => true,
        Some(level) => matches!(
            level.to_ascii_uppercase().as_str(),
            "QUORUM" | "ALL" | "LOCAL_QUORUM" | "EACH_QUORUM" | "SERIAL" | "LOCAL_SERIAL"
        ),
    }
}

/// Pairs the events of `history` into operations.
pub(crate) fn parse(history: &[Event]) -> Parsed<'_> {
    let mut pairing = Pairing::default();
    let mut last_ns = 0u64;
    for event in history {
        if event.time_ns < last_ns {
            pairing.malformed(
                event,
                format!("time goes backwards at event {}", event.index),
            );
        }
        last_ns = last_ns.max(event.time_ns);
        if event.process == NEMESIS || event.workload == "nemesis" {
            pairing.nemesis(event);
        } else if event.kind == OpType::Invoke {
            pairing.invoke(event);
        } else {
            pairing.complete(event);
        }
    }
    pairing.finish()
}

/// The state of pairing events into operations, one process at a time.
#[derive(Debug, Default)]
struct Pairing<'a> {
    parsed: Parsed<'a>,
    /// Per process, the invoke awaiting its completion.
    pending: HashMap<u64, &'a Event>,
    /// Per process that got `Info`, the event that retired it.
    retired: HashMap<u64, u64>,
    /// Nemesis `Start`/`Stop` records: invokes, and the others (Jepsen
    /// writes a fault as an invoke and a completion; a harness may write
    /// just one record). Counting both would count every fault twice.
    nemesis_invoked: Vec<&'a Event>,
    nemesis_other: Vec<&'a Event>,
}

impl<'a> Pairing<'a> {
    fn malformed(&mut self, event: &'a Event, line: String) {
        self.parsed
            .malformed
            .entry(event.workload.as_str())
            .or_default()
            .push(line);
    }

    fn nemesis(&mut self, event: &'a Event) {
        if !matches!(event.function, Function::Start | Function::Stop) {
            return;
        }
        if event.kind == OpType::Invoke {
            self.nemesis_invoked.push(event);
        } else {
            self.nemesis_other.push(event);
        }
    }

    fn check_retired(&mut self, event: &'a Event) -> bool {
        if let Some(info) = self.retired.get(&event.process).copied() {
            let line = format!(
                "event {}: process {} acts after its info at event {info}",
                event.index, event.process
            );
            self.malformed(event, line);
            return true;
        }
        false
    }

    fn invoke(&mut self, event: &'a Event) {
        if self.check_retired(event) {
            return;
        }
        if let Some(earlier) = self.pending.insert(event.process, event) {
            let line = format!(
                "event {}: process {} invokes while its op at event {} is pending",
                event.index, event.process, earlier.index
            );
            self.malformed(event, line);
        }
    }

    fn complete(&mut self, event: &'a Event) {
        if self.check_retired(event) {
            return;
        }
        let Some(invoke) = self.pending.remove(&event.process) else {
            let line = format!(
                "event {}: {:?} by process {} without an invoke",
                event.index, event.kind, event.process
            );
            self.malformed(event, line);
            return;
        };
        if (invoke.function, &invoke.workload, &invoke.key)
            != (event.function, &event.workload, &event.key)
        {
            let line = format!(
                "event {}: completion does not match its invoke at event {}",
                event.index, invoke.index
            );
            self.malformed(event, line);
            return;
        }
        if event.kind == OpType::Info {
            self.retired.insert(event.process, event.index);
        }
        self.parsed.ops.push(op(invoke, Some(event)));
    }

    fn finish(mut self) -> Parsed<'a> {
        // An invoke never completed is indeterminate, like an `Info`.
        let mut open: Vec<&Event> = self.pending.values().copied().collect();
        open.sort_by_key(|event| event.index);
        self.parsed
            .ops
            .extend(open.into_iter().map(|e| op(e, None)));
        self.parsed.ops.sort_by_key(|op| (op.invoke_ns, op.index));
        let nemesis = if self.nemesis_invoked.is_empty() {
            self.nemesis_other
        } else {
            self.nemesis_invoked
        };
        self.parsed.faults = nemesis
            .iter()
            .filter(|e| e.function == Function::Start)
            .map(|e| e.error.as_deref().unwrap_or("fault"))
            .collect();
        self.parsed.fault_windows = fault_windows(&nemesis);
        self.parsed
    }
}

/// The windows during which at least one fault was started and not yet
/// stopped; `events` in history order.
fn fault_windows(events: &[&Event]) -> Vec<(u64, u64)> {
    let mut windows = Vec::new();
    let (mut active, mut since) = (0usize, 0u64);
    for event in events {
        match event.function {
            Function::Start => {
                if active == 0 {
                    since = event.time_ns;
                }
                active += 1;
            }
            // A stop with nothing started heals nothing.
            _ if active == 0 => {}
            _ => {
                active -= 1;
                if active == 0 {
                    windows.push((since, event.time_ns));
                }
            }
        }
    }
    if active > 0 {
        windows.push((since, u64::MAX));
    }
    windows
}

/// Whether `time` falls in one of the sorted, disjoint `windows`.
pub(crate) fn in_windows(windows: &[(u64, u64)], time: u64) -> bool {
    let after = windows.partition_point(|&(start, _)| start <= time);
    after
        .checked_sub(1)
        .and_then(|i| windows.get(i))
        .is_some_and(|&(_, end)| time < end)
}

/// The operation an invoke and its completion (if any) describe.
fn op<'a>(invoke: &'a Event, completion: Option<&'a Event>) -> Op<'a> {
    let outcome = match completion.map(|c| c.kind) {
        Some(OpType::Ok) => Outcome::Ok,
        Some(OpType::Fail) => Outcome::Fail,
        _ => Outcome::Info,
    };
    let reads = matches!(invoke.function, Function::Read | Function::FinalRead);
    // Reads carry their values on the completion; writes on the invoke, or
    // on the completion when the invoke left them out.
    let source = match completion {
        Some(done) if reads || invoke.values.is_empty() => done,
        _ => invoke,
    };
    let timestamps = match completion {
        Some(done) if reads || invoke.timestamps.is_empty() => &done.timestamps,
        _ => &invoke.timestamps,
    };
    let consistency = invoke
        .consistency
        .as_deref()
        .or(completion.and_then(|c| c.consistency.as_deref()));
    Op {
        process: invoke.process,
        workload: &invoke.workload,
        function: invoke.function,
        key: invoke.key.as_deref().unwrap_or(""),
        index: invoke.index,
        invoke_ns: invoke.time_ns,
        complete_ns: completion.map_or(u64::MAX, |c| c.time_ns),
        outcome,
        values: if reads && completion.is_none() {
            &[]
        } else {
            &source.values
        },
        timestamps,
        strong: is_strong(consistency),
    }
}

/// The operations of one workload grouped by key (a batch under each of
/// its keys).
pub(crate) fn by_key<'s>(
    ops: impl Iterator<Item = &'s Op<'s>>,
) -> BTreeMap<&'s str, Vec<&'s Op<'s>>> {
    let mut keys: BTreeMap<&str, Vec<&Op<'_>>> = BTreeMap::new();
    for op in ops {
        for key in op.keys() {
            keys.entry(key).or_default().push(op);
        }
    }
    keys
}

/// The final read of a key: its last `Ok` `FinalRead`.
pub(crate) fn final_read<'s>(ops: &[&'s Op<'s>]) -> Option<&'s Op<'s>> {
    ops.iter()
        .copied()
        .filter(|op| op.function == Function::FinalRead && op.is_ok())
        .max_by_key(|op| (op.complete_ns, op.index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(index: u64, process: u64, kind: OpType, function: Function) -> Event {
        Event {
            index,
            time_ns: index * 10,
            process,
            kind,
            function,
            workload: "register".to_owned(),
            key: Some("k".to_owned()),
            values: vec![1],
            timestamps: Vec::new(),
            consistency: None,
            node: None,
            error: None,
        }
    }

    #[test]
    fn pairs_invokes_with_completions() {
        let history = [
            event(0, 1, OpType::Invoke, Function::Write),
            event(1, 2, OpType::Invoke, Function::Read),
            event(2, 1, OpType::Ok, Function::Write),
            event(3, 2, OpType::Fail, Function::Read),
            event(4, 3, OpType::Invoke, Function::Write),
        ];
        let parsed = parse(&history);
        assert!(parsed.malformed.is_empty());
        let shape: Vec<_> = parsed
            .ops
            .iter()
            .map(|op| (op.process, op.outcome, op.invoke_ns, op.complete_ns))
            .collect();
        assert_eq!(
            shape,
            [
                (1, Outcome::Ok, 0, 20),
                (2, Outcome::Fail, 10, 30),
                (3, Outcome::Info, 40, u64::MAX)
            ]
        );
    }

    #[test]
    fn names_every_kind_of_malformation() {
        let history = [
            event(0, 1, OpType::Ok, Function::Write),
            event(1, 2, OpType::Invoke, Function::Write),
            event(2, 2, OpType::Info, Function::Write),
            event(3, 2, OpType::Invoke, Function::Read),
            event(4, 3, OpType::Invoke, Function::Write),
            event(5, 3, OpType::Invoke, Function::Write),
            event(6, 4, OpType::Invoke, Function::Write),
            event(7, 4, OpType::Ok, Function::Read),
        ];
        let parsed = parse(&history);
        let lines = parsed
            .malformed
            .get("register")
            .cloned()
            .unwrap_or_default();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].contains("without an invoke"));
        assert!(lines[1].contains("after its info"));
        assert!(lines[2].contains("while its op"));
        assert!(lines[3].contains("does not match"));
    }

    #[test]
    fn fault_windows_merge_overlapping_faults() {
        let mut start = event(0, NEMESIS, OpType::Info, Function::Start);
        let mut stop = event(0, NEMESIS, OpType::Info, Function::Stop);
        let at = |e: &mut Event, ns: u64| {
            e.time_ns = ns;
            e.clone()
        };
        let events = [
            at(&mut stop, 5),
            at(&mut start, 10),
            at(&mut start, 20),
            at(&mut stop, 30),
            at(&mut stop, 40),
            at(&mut start, 50),
        ];
        let windows = fault_windows(&events.iter().collect::<Vec<_>>());
        assert_eq!(windows, [(10, 40), (50, u64::MAX)]);
        assert!(!in_windows(&windows, 9));
        assert!(in_windows(&windows, 10));
        assert!(in_windows(&windows, 39));
        assert!(!in_windows(&windows, 40));
        assert!(in_windows(&windows, 1_000));
    }

    #[test]
    fn strong_levels() {
        assert!(is_strong(None));
        assert!(is_strong(Some("quorum")));
        assert!(is_strong(Some("ALL")));
        assert!(!is_strong(Some("ONE")));
        assert!(!is_strong(Some("TWO")));
    }
}
