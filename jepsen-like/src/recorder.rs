//! The history recorder: every event goes through one bounded channel to one
//! writer task, which appends it to `history.jsonl` and keeps it for the
//! checkers. Index and time are stamped under one lock as the event is
//! queued, so the file is in index order and `time_ns` never goes backwards.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::history::{Event, Function, NEMESIS, OpType, Value, to_jsonl};

/// Events queued for the writer; a full queue makes recorders wait, never
/// drops an event.
const QUEUE: usize = 4096;

/// What an operation is, without its index, time and type.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpRecord {
    pub(crate) process: u64,
    pub(crate) workload: &'static str,
    pub(crate) key: Option<String>,
    pub(crate) values: Vec<Value>,
    pub(crate) timestamps: Vec<i64>,
    pub(crate) consistency: Option<&'static str>,
    pub(crate) node: Option<String>,
    pub(crate) error: Option<String>,
}

struct Stamp {
    next_index: u64,
    /// The last event's time: every event's is strictly greater.
    last_ns: Option<u64>,
    tx: mpsc::Sender<Event>,
}

/// Where events are recorded; cheap to clone.
#[derive(Clone)]
pub(crate) struct Recorder {
    start: Instant,
    stamp: Arc<Mutex<Stamp>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

/// The writer task: joins with every event written, in order.
pub(crate) type Writer = JoinHandle<Result<Vec<Event>, String>>;

impl Recorder {
    /// A recorder writing to `path`, and its writer task.
    pub(crate) fn create(path: &Path) -> std::io::Result<(Recorder, Writer)> {
        let mut file = BufWriter::new(File::create(path)?);
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        #[expect(
            clippy::disallowed_methods,
            reason = "the harness's history writer, outside any node: it may hold a pool thread"
        )]
        let writer = tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            while let Some(event) = rx.blocking_recv() {
                writeln!(file, "{}", to_jsonl(&event)).map_err(|e| e.to_string())?;
                events.push(event);
            }
            file.flush().map_err(|e| e.to_string())?;
            Ok(events)
        });
        Ok((Recorder::sending_to(tx), writer))
    }

    #[cfg(feature = "sim")]
    /// A recorder that keeps the history in memory only, and its writer
    /// task (a simulation writes files for failing seeds alone).
    pub(crate) fn in_memory() -> (Recorder, Writer) {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        let writer = tokio::spawn(async move {
            let mut events = Vec::new();
            while let Some(event) = rx.recv().await {
                events.push(event);
            }
            Ok(events)
        });
        (Recorder::sending_to(tx), writer)
    }

    /// A recorder whose events go to `tx`, starting now.
    fn sending_to(tx: mpsc::Sender<Event>) -> Recorder {
        Recorder {
            start: Instant::now(),
            stamp: Arc::new(Mutex::new(Stamp {
                next_index: 0,
                last_ns: None,
                tx,
            })),
        }
    }

    /// When the run started: the zero of `time_ns`.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Records one event of an operation.
    pub(crate) async fn op(&self, kind: OpType, function: Function, op: &OpRecord) {
        let event = Event {
            index: 0,
            time_ns: 0,
            process: op.process,
            kind,
            function,
            workload: op.workload.to_owned(),
            key: op.key.clone(),
            values: op.values.clone(),
            timestamps: op.timestamps.clone(),
            consistency: op.consistency.map(str::to_owned),
            node: op.node.clone(),
            error: op.error.clone(),
        };
        self.push(event).await;
    }

    /// Records a nemesis `Start` or `Stop` with the fault's description.
    pub(crate) async fn nemesis(&self, function: Function, description: &str) {
        let op = OpRecord {
            process: NEMESIS,
            workload: "nemesis",
            error: Some(description.to_owned()),
            ..OpRecord::default()
        };
        self.op(OpType::Info, function, &op).await;
    }

    async fn push(&self, mut event: Event) {
        let mut stamp = self.stamp.lock().await;
        event.index = stamp.next_index;
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        // Strictly increasing, so that an event recorded after another is
        // later in time too: the checkers' "completed before it started" is
        // then the recording order, also where the clock did not move
        // between two events (a simulation's step, a coarse clock).
        event.time_ns = match stamp.last_ns {
            Some(last) => elapsed.max(last.saturating_add(1)),
            None => elapsed,
        };
        stamp.last_ns = Some(event.time_ns);
        stamp.next_index += 1;
        // The writer only stops after every recorder is gone, so a failed
        // send means the run is being torn down: nothing left to record to.
        let _ = stamp.tx.send(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::parse_jsonl;

    #[tokio::test(start_paused = true)]
    async fn events_recorded_while_the_clock_stands_still_get_later_times() {
        let dir = std::env::temp_dir().join(format!("jl-recorder-still-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (recorder, writer) = Recorder::create(&dir.join("history.jsonl")).expect("create");
        let op = OpRecord {
            process: 1,
            workload: "register",
            ..OpRecord::default()
        };
        // A completion and the next invoke of one process, at one instant.
        recorder.op(OpType::Invoke, Function::Read, &op).await;
        recorder.op(OpType::Ok, Function::Read, &op).await;
        recorder.op(OpType::Invoke, Function::Read, &op).await;
        drop(recorder);
        let events = writer.await.expect("join").expect("written");
        let times: Vec<u64> = events.iter().map(|e| e.time_ns).collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "strictly increasing: {times:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn events_are_written_in_order_with_monotonic_times() {
        let dir = std::env::temp_dir().join(format!("jl-recorder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("history.jsonl");
        let (recorder, writer) = Recorder::create(&path).expect("create");
        let mut tasks = Vec::new();
        for p in 0..8u64 {
            let r = recorder.clone();
            tasks.push(tokio::spawn(async move {
                let op = OpRecord {
                    process: p,
                    workload: "register",
                    key: Some("r:1".into()),
                    values: vec![i64::try_from(p).unwrap_or(0)],
                    ..OpRecord::default()
                };
                for _ in 0..100 {
                    r.op(OpType::Invoke, Function::Write, &op).await;
                    r.op(OpType::Ok, Function::Write, &op).await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        recorder.nemesis(Function::Start, "kill n1").await;
        drop(recorder);
        let kept = writer.await.expect("join").expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        let read = parse_jsonl(&text).expect("parses");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(read, kept);
        assert_eq!(read.len(), 1601);
        for (i, pair) in read.windows(2).enumerate() {
            assert_eq!(pair[0].index, i as u64);
            assert!(pair[0].time_ns <= pair[1].time_ns);
        }
        let last = read.last().expect("one");
        assert_eq!(
            (last.process, last.error.as_deref()),
            (NEMESIS, Some("kill n1"))
        );
    }
}
