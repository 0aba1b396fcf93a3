//! The history as the report sees it: client operations (an invoke paired
//! with its completion) and fault windows (a nemesis `Start` paired with
//! its `Stop`), with times in nanoseconds since the run started.

use std::collections::HashMap;

use crate::history::{Event, Function, NEMESIS, OpType};

/// How an operation ended, as far as the history tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Fail,
    Info,
    /// Invoked, never completed (the run ended first): as unknown as `Info`.
    Pending,
}

/// One client operation.
#[derive(Clone, Debug)]
pub(crate) struct Op<'a> {
    pub(crate) workload: &'a str,
    pub(crate) function: Function,
    pub(crate) key: Option<&'a str>,
    pub(crate) node: Option<&'a str>,
    pub(crate) consistency: Option<&'a str>,
    pub(crate) invoke_ns: u64,
    pub(crate) complete_ns: Option<u64>,
    pub(crate) outcome: Outcome,
    /// The completion's values when it has any (reads), else the invoke's.
    pub(crate) values: &'a [i64],
    pub(crate) timestamps: &'a [i64],
    /// The completion's error text (`Fail`, `Info`).
    pub(crate) error: Option<&'a str>,
}

impl Op<'_> {
    /// Completion latency; none for an operation that never completed.
    pub(crate) fn latency_ns(&self) -> Option<u64> {
        self.complete_ns.map(|c| c.saturating_sub(self.invoke_ns))
    }

    /// Counts toward availability as a success.
    pub(crate) fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// One fault, from its `Start` to its `Stop` (or to the end of the run).
#[derive(Clone, Debug)]
pub(crate) struct Window<'a> {
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    /// The nemesis' description, e.g. `partition n1 | n2 n3`.
    pub(crate) description: &'a str,
    /// The fault's kind: the description's first word.
    pub(crate) kind: &'a str,
    /// The row it is drawn in, so overlapping windows stack.
    pub(crate) lane: usize,
    /// No `Stop` was recorded: the fault lasted to the end of the history.
    pub(crate) open: bool,
}

impl Window<'_> {
    /// Whether `[from, to]` overlaps this window.
    pub(crate) fn overlaps(&self, from: u64, to: u64) -> bool {
        from <= self.end_ns && to >= self.start_ns
    }

    /// Whether the description names `node` as a word (`n1` in
    /// `partition n1 | n2 n3`, but not in `n10`).
    pub(crate) fn concerns(&self, node: &str) -> bool {
        self.description
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
            .any(|word| word == node)
    }
}

/// The whole history, paired up.
#[derive(Debug, Default)]
pub(crate) struct Model<'a> {
    pub(crate) ops: Vec<Op<'a>>,
    pub(crate) windows: Vec<Window<'a>>,
    /// The last event's time: the end of the run as recorded.
    pub(crate) end_ns: u64,
    /// Completions without an invoke, and invokes replacing an unfinished
    /// one of the same process: a malformed history, said on the page.
    pub(crate) malformed: usize,
}

impl<'a> Model<'a> {
    pub(crate) fn build(history: &'a [Event]) -> Self {
        let mut model = Model {
            end_ns: history.iter().map(|e| e.time_ns).max().unwrap_or(0),
            ..Model::default()
        };
        let mut pending: HashMap<u64, usize> = HashMap::new();
        let mut open: Vec<usize> = Vec::new();
        for event in history {
            if event.process == NEMESIS {
                model.nemesis(event, &mut open);
            } else {
                model.client(event, &mut pending);
            }
        }
        for index in open {
            if let Some(window) = model.windows.get_mut(index) {
                window.end_ns = model.end_ns.max(window.start_ns);
                window.open = true;
            }
        }
        assign_lanes(&mut model.windows);
        model
    }

    fn client(&mut self, event: &'a Event, pending: &mut HashMap<u64, usize>) {
        if event.kind == OpType::Invoke {
            if pending.insert(event.process, self.ops.len()).is_some() {
                self.malformed += 1;
            }
            self.ops.push(Op {
                workload: &event.workload,
                function: event.function,
                key: event.key.as_deref(),
                node: event.node.as_deref(),
                consistency: event.consistency.as_deref(),
                invoke_ns: event.time_ns,
                complete_ns: None,
                outcome: Outcome::Pending,
                values: &event.values,
                timestamps: &event.timestamps,
                error: None,
            });
            return;
        }
        let Some(op) = pending
            .remove(&event.process)
            .and_then(|i| self.ops.get_mut(i))
        else {
            self.malformed += 1;
            return;
        };
        op.complete_ns = Some(event.time_ns.max(op.invoke_ns));
        op.outcome = match event.kind {
            OpType::Ok => Outcome::Ok,
            OpType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        // A read's result is on its completion, even when empty; a write's
        // value and timestamp are on its invoke, unless repeated.
        let result = event.kind == OpType::Ok && is_read(op.function);
        if result || !event.values.is_empty() {
            op.values = &event.values;
        }
        if result || !event.timestamps.is_empty() {
            op.timestamps = &event.timestamps;
        }
        if op.node.is_none() {
            op.node = event.node.as_deref();
        }
        op.error = event.error.as_deref();
    }

    fn nemesis(&mut self, event: &'a Event, open: &mut Vec<usize>) {
        let description = event.error.as_deref().unwrap_or("").trim();
        match event.function {
            Function::Start => {
                open.push(self.windows.len());
                self.windows.push(Window {
                    start_ns: event.time_ns,
                    end_ns: event.time_ns,
                    description,
                    kind: description.split_whitespace().next().unwrap_or("fault"),
                    lane: 0,
                    open: false,
                });
            }
            Function::Stop => {
                // A stop closes the open fault it describes; a stop that
                // describes none (a bare "heal") closes the oldest one.
                let position = open
                    .iter()
                    .position(|&i| {
                        self.windows
                            .get(i)
                            .is_some_and(|w| w.description == description)
                    })
                    .or(if open.is_empty() { None } else { Some(0) });
                if let Some(i) = position.map(|p| open.remove(p))
                    && let Some(window) = self.windows.get_mut(i)
                {
                    window.end_ns = event.time_ns.max(window.start_ns);
                }
            }
            _ => {}
        }
    }

    /// The run's length in whole seconds, at least one.
    pub(crate) fn seconds(&self) -> u64 {
        self.end_ns.div_ceil(1_000_000_000).max(1)
    }

    /// Whether any fault window overlaps `[from, to]`.
    pub(crate) fn faulted(&self, from: u64, to: u64) -> bool {
        self.windows.iter().any(|w| w.overlaps(from, to))
    }
}

/// Operations whose result is on the completion.
pub(crate) fn is_read(function: Function) -> bool {
    matches!(function, Function::Read | Function::FinalRead)
}

/// Greedy interval colouring in start order: each window takes the lowest
/// lane free at its start, so windows that overlap never share a lane.
fn assign_lanes(windows: &mut [Window<'_>]) {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_by_key(|&i| windows.get(i).map_or(0, |w| w.start_ns));
    let mut lane_ends: Vec<u64> = Vec::new();
    for i in order {
        let Some(window) = windows.get_mut(i) else {
            continue;
        };
        let lane = lane_ends
            .iter()
            .position(|&end| end < window.start_ns)
            .unwrap_or(lane_ends.len());
        if let Some(end) = lane_ends.get_mut(lane) {
            *end = window.end_ns;
        } else {
            lane_ends.push(window.end_ns);
        }
        window.lane = lane;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nemesis(time_ns: u64, function: Function, description: &str) -> Event {
        Event {
            index: 0,
            time_ns,
            process: NEMESIS,
            kind: OpType::Info,
            function,
            workload: "nemesis".to_owned(),
            key: None,
            values: Vec::new(),
            timestamps: Vec::new(),
            consistency: None,
            node: None,
            error: Some(description.to_owned()),
        }
    }

    fn spans(model: &Model<'_>) -> Vec<(u64, u64, usize, bool)> {
        model
            .windows
            .iter()
            .map(|w| (w.start_ns, w.end_ns, w.lane, w.open))
            .collect()
    }

    #[test]
    fn stops_close_the_fault_they_describe_and_overlaps_stack() {
        let history = vec![
            nemesis(10, Function::Start, "kill n2"),
            nemesis(20, Function::Start, "partition n1 | n2 n3"),
            nemesis(30, Function::Stop, "partition n1 | n2 n3"),
            nemesis(40, Function::Stop, "heal"),
            nemesis(50, Function::Start, "pause n3"),
            nemesis(60, Function::Start, "loss 30%"),
            nemesis(70, Function::Stop, "pause n3"),
        ];
        let model = Model::build(&history);
        assert_eq!(
            spans(&model),
            vec![
                (10, 40, 0, false),
                (20, 30, 1, false),
                (50, 70, 0, false),
                // Never stopped: lasts to the last event.
                (60, 70, 1, true),
            ]
        );
        let kinds: Vec<&str> = model.windows.iter().map(|w| w.kind).collect();
        assert_eq!(kinds, vec!["kill", "partition", "pause", "loss"]);
    }

    #[test]
    fn a_fault_concerns_the_nodes_its_description_names() {
        let history = vec![nemesis(0, Function::Start, "partition n1 | n2 n10")];
        let model = Model::build(&history);
        let window = model.windows.first().expect("one window");
        assert!(window.concerns("n1") && window.concerns("n10") && window.concerns("n2"));
        assert!(!window.concerns("n3") && !window.concerns("n"));
    }

    #[test]
    fn reads_take_their_result_from_the_completion_and_writes_keep_theirs() {
        let client = |time_ns, process, kind, function, values: Vec<i64>, timestamps| {
            let mut e = nemesis(time_ns, function, "");
            (e.process, e.kind, e.values, e.timestamps) = (process, kind, values, timestamps);
            e.error = None;
            e
        };
        let history = [
            client(1, 1, OpType::Invoke, Function::Write, vec![5], vec![50]),
            client(2, 2, OpType::Invoke, Function::Read, vec![], vec![]),
            // The write's completion repeats its value, not its timestamp.
            client(3, 1, OpType::Ok, Function::Write, vec![5], vec![]),
            client(4, 2, OpType::Ok, Function::Read, vec![5], vec![50]),
        ];
        let model = Model::build(&history);
        let results: Vec<(&[i64], &[i64], Option<u64>)> = model
            .ops
            .iter()
            .map(|op| (op.values, op.timestamps, op.latency_ns()))
            .collect();
        let expected: [(&[i64], &[i64], Option<u64>); 2] =
            [(&[5], &[50], Some(2)), (&[5], &[50], Some(2))];
        assert_eq!(results, expected);
    }

    #[test]
    fn unpaired_events_are_counted_not_fatal() {
        let mut completion = nemesis(5, Function::Write, "");
        completion.process = 7;
        completion.kind = OpType::Ok;
        let history = [completion];
        let model = Model::build(&history);
        assert!(model.ops.is_empty());
        assert_eq!(model.malformed, 1);
    }
}
