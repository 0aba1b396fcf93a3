//! The workloads: logical client processes issuing operations over real CQL
//! connections and recording each as an invoke and a completion.
//!
//! Keys are independent and values unique (process id × sequence number), so
//! every read maps to one write. Each operation goes to a random node as its
//! coordinator (a session reads through another node than it wrote through),
//! and has a hard deadline after which it is `Info`. After an `Info` the
//! process is retired, as in Jepsen: its connections are dropped and the
//! worker continues as a new process id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cql_lite::{Batch, BatchQuery, BatchStatement, BatchType, Consistency, QueryResult};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use crate::clock::MonotonicMicros;
use crate::history::{Function, OpType};
use crate::recorder::{OpRecord, Recorder};

mod conn;
mod cql;
mod final_read;
mod schema;

#[cfg(feature = "sim")]
pub(crate) use conn::BoxFuture;
pub(crate) use conn::{Conn, Connector, TcpConnector};

pub(crate) use final_read::final_reads;
pub(crate) use schema::create_schema;

/// Logical client processes running at once.
pub(crate) const WORKERS: usize = 10;
/// The client's hard deadline for one request, above the nodes' 1 s
/// coordinator timeouts.
pub(crate) const OP_TIMEOUT: Duration = Duration::from_millis(1500);
/// Pause between a worker's operations in the process tier: 10 workers at
/// ~60 ms make 100–150 operations a second, what two shared cores sustain.
pub(crate) const THINK_MS: (u64, u64) = (30, 90);
/// Element a delete-workload worker remembers for deleting later.
const MAX_PENDING_DELETES: usize = 64;

/// A workload, as named on the command line and in the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Workload {
    Register,
    RegisterCoord,
    Set,
    Delete,
    Session,
    Batch,
}

impl Workload {
    pub(crate) const ALL: [Workload; 6] = [
        Workload::Register,
        Workload::RegisterCoord,
        Workload::Set,
        Workload::Delete,
        Workload::Session,
        Workload::Batch,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::RegisterCoord => "register-coord",
            Workload::Set => "set",
            Workload::Delete => "delete",
            Workload::Session => "session",
            Workload::Batch => "batch",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// How many independent keys (batch: pairs of keys) it spreads over.
    fn key_count(self) -> usize {
        match self {
            Workload::Register | Workload::RegisterCoord => 20,
            _ => 10,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Workload::Register => "r",
            Workload::RegisterCoord => "rc",
            Workload::Set => "s",
            Workload::Delete => "d",
            Workload::Session => "se",
            Workload::Batch => "b",
        }
    }

    /// Key number `i`; a batch writes the pair `b:i:a`, `b:i:b`.
    fn key(self, i: usize) -> String {
        format!("{}:{i}", self.prefix())
    }

    /// Whether its keys are registers (`jepsen.register`) rather than sets.
    fn is_register(self) -> bool {
        matches!(
            self,
            Workload::Register | Workload::RegisterCoord | Workload::Session
        )
    }

    /// Every key the final phase reads.
    pub(crate) fn all_keys(self) -> Vec<String> {
        (0..self.key_count())
            .flat_map(|i| match self {
                Workload::Batch => vec![format!("b:{i}:a"), format!("b:{i}:b")],
                _ => vec![self.key(i)],
            })
            .collect()
    }
}

/// What the workers share.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) recorder: Recorder,
    /// How workers reach the nodes.
    pub(crate) nodes: Arc<dyn Connector>,
    pub(crate) stop_at: Instant,
    /// A worker's pause between operations, drawn from this range (ms).
    pub(crate) think_ms: (u64, u64),
}

/// How a request ended.
#[derive(Debug)]
enum Done {
    Ok {
        values: Vec<i64>,
        timestamps: Vec<i64>,
    },
    Fail(String),
    Info(String),
}

/// The request of an operation and how to read its answer.
enum Request {
    Query(String),
    LoggedBatch(Vec<String>),
}

#[derive(Clone, Copy)]
enum Answer {
    Nothing,
    Register,
    Set,
}

/// One operation: the record and the request.
struct Call {
    function: Function,
    key: String,
    values: Vec<i64>,
    timestamps: Vec<i64>,
    node: usize,
    cl: Consistency,
    request: Request,
    answer: Answer,
}

/// One logical process slot.
struct Worker {
    ctx: Arc<Ctx>,
    workload: Workload,
    process: u64,
    seq: i64,
    rng: StdRng,
    clock: MonotonicMicros,
    conns: BTreeMap<usize, Arc<dyn Conn>>,
    pending_deletes: Vec<(String, i64)>,
}

/// Runs `WORKERS` processes over `workloads` (round robin) until
/// `ctx.stop_at`.
pub(crate) async fn run_workers(ctx: Arc<Ctx>, workloads: &[Workload], seed: u64) {
    let mut tasks = tokio::task::JoinSet::new();
    for slot in 0..WORKERS {
        let Some(&workload) = workloads.get(slot % workloads.len().max(1)) else {
            continue;
        };
        let worker = Worker {
            ctx: Arc::clone(&ctx),
            workload,
            process: slot as u64,
            seq: 0,
            rng: StdRng::seed_from_u64(seed ^ (0x9e37_79b9 * (slot as u64 + 1))),
            clock: MonotonicMicros::default(),
            conns: BTreeMap::new(),
            pending_deletes: Vec::new(),
        };
        tasks.spawn(worker.run());
    }
    while tasks.join_next().await.is_some() {}
}

impl Worker {
    async fn run(mut self) {
        while Instant::now() < self.ctx.stop_at {
            self.step().await;
            let (low, high) = self.ctx.think_ms;
            let think = self.rng.random_range(low..=high.max(low));
            tokio::time::sleep(Duration::from_millis(think)).await;
        }
    }

    fn random_node(&mut self) -> usize {
        self.rng.random_range(1..=self.ctx.nodes.count())
    }

    fn random_key(&mut self) -> String {
        let i = self.rng.random_range(0..self.workload.key_count());
        self.workload.key(i)
    }

    /// A value no other operation writes: process × 10⁶ + sequence.
    fn unique_value(&mut self) -> i64 {
        self.seq += 1;
        i64::try_from(self.process).unwrap_or(i64::MAX / 2_000_000) * 1_000_000 + self.seq
    }

    fn read_call(&mut self, key: String, node: usize) -> Call {
        let (request, answer) = if self.workload.is_register() {
            (cql::register_read(&key), Answer::Register)
        } else {
            (cql::set_read(&key), Answer::Set)
        };
        Call {
            function: Function::Read,
            key,
            values: Vec::new(),
            timestamps: Vec::new(),
            node,
            cl: Consistency::Quorum,
            request: Request::Query(request),
            answer,
        }
    }

    fn write_call(&mut self, function: Function, key: String, value: i64, node: usize) -> Call {
        let mut timestamps = Vec::new();
        let request = match (self.workload, function) {
            (Workload::RegisterCoord, _) => cql::register_write(&key, value, None),
            (Workload::Register | Workload::Session, _) => {
                let ts = self.clock.next();
                timestamps.push(ts);
                cql::register_write(&key, value, Some(ts))
            }
            (_, Function::Delete) => cql::set_delete(&key, value),
            _ => cql::set_add(&key, value),
        };
        Call {
            function,
            key,
            values: vec![value],
            timestamps,
            node,
            cl: Consistency::Quorum,
            request: Request::Query(request),
            answer: Answer::Nothing,
        }
    }

    /// One operation of the worker's workload (a session: a write, then a
    /// read through another node).
    async fn step(&mut self) {
        let node = self.random_node();
        let read = self.rng.random_bool(0.3);
        let call = match self.workload {
            Workload::Register | Workload::RegisterCoord => {
                let key = self.random_key();
                if self.rng.random_bool(0.5) {
                    self.read_call(key, node)
                } else {
                    let v = self.unique_value();
                    self.write_call(Function::Write, key, v, node)
                }
            }
            Workload::Set if read => {
                let key = self.random_key();
                self.read_call(key, node)
            }
            Workload::Set => {
                let (key, v) = (self.random_key(), self.unique_value());
                self.write_call(Function::Add, key, v, node)
            }
            Workload::Delete => self.delete_step(node),
            Workload::Session => return self.session_step(node).await,
            Workload::Batch => self.batch_call(node),
        };
        let add = matches!(call.function, Function::Add) && self.workload == Workload::Delete;
        let (key, value) = (call.key.clone(), call.values.first().copied());
        let done = self.invoke(call).await;
        if let (true, Done::Ok { .. }, Some(v)) = (add, &done, value) {
            if self.pending_deletes.len() >= MAX_PENDING_DELETES {
                self.pending_deletes.remove(0);
            }
            self.pending_deletes.push((key, v));
        }
    }

    /// Add a new element, delete one this worker added, or read.
    fn delete_step(&mut self, node: usize) -> Call {
        let roll = self.rng.random_range(0..10);
        if roll < 3 {
            let key = self.random_key();
            return self.read_call(key, node);
        }
        if roll < 6 && !self.pending_deletes.is_empty() {
            let i = self.rng.random_range(0..self.pending_deletes.len());
            let (key, v) = self.pending_deletes.swap_remove(i);
            return self.write_call(Function::Delete, key, v, node);
        }
        let (key, v) = (self.random_key(), self.unique_value());
        self.write_call(Function::Add, key, v, node)
    }

    /// A logged batch adding one value to both sets of a pair.
    fn batch_call(&mut self, node: usize) -> Call {
        let i = self.rng.random_range(0..self.workload.key_count());
        let (a, b) = (format!("b:{i}:a"), format!("b:{i}:b"));
        let v = self.unique_value();
        Call {
            function: Function::Batch,
            request: Request::LoggedBatch(vec![cql::set_add(&a, v), cql::set_add(&b, v)]),
            key: format!("{a},{b}"),
            values: vec![v],
            timestamps: Vec::new(),
            node,
            cl: Consistency::Quorum,
            answer: Answer::Nothing,
        }
    }

    /// Write a fresh value, then read it back through another coordinator.
    async fn session_step(&mut self, node: usize) {
        let key = self.random_key();
        let v = self.unique_value();
        let write = self.write_call(Function::Write, key.clone(), v, node);
        if !matches!(self.invoke(write).await, Done::Ok { .. }) {
            return;
        }
        let n = self.ctx.nodes.count();
        let other = if n > 1 {
            (node + self.rng.random_range(1..n) - 1) % n + 1
        } else {
            node
        };
        let read = self.read_call(key, other);
        self.invoke(read).await;
    }

    /// Records the invoke, runs the request, records the completion; retires
    /// the process after an `Info`.
    async fn invoke(&mut self, call: Call) -> Done {
        let mut record = OpRecord {
            process: self.process,
            workload: self.workload.name(),
            key: Some(call.key.clone()),
            values: call.values.clone(),
            timestamps: call.timestamps.clone(),
            consistency: Some(cql::cl_name(call.cl)),
            node: Some(format!("n{}", call.node)),
            error: None,
        };
        let recorder = self.ctx.recorder.clone();
        recorder.op(OpType::Invoke, call.function, &record).await;
        let done = self.execute(&call).await;
        let kind = complete(&mut record, call.function, &done);
        recorder.op(kind, call.function, &record).await;
        if kind == OpType::Info {
            self.process += WORKERS as u64;
            self.conns.clear();
        }
        done
    }

    async fn connect(&mut self, node: usize) -> Result<Arc<dyn Conn>, String> {
        if let Some(conn) = self.conns.get(&node) {
            return Ok(Arc::clone(conn));
        }
        let conn = self.ctx.nodes.connect(node).await?;
        self.conns.insert(node, Arc::clone(&conn));
        Ok(conn)
    }

    async fn execute(&mut self, call: &Call) -> Done {
        let client = match self.connect(call.node).await {
            Ok(client) => client,
            // Nothing was sent: it certainly did not happen.
            Err(e) => return Done::Fail(e),
        };
        let answer = tokio::time::timeout(OP_TIMEOUT, send(&client, &call.request, call.cl)).await;
        match answer {
            Err(_) => Done::Info(format!("client timeout after {OP_TIMEOUT:?}")),
            Ok(Err(e)) => {
                if cql::is_connection_lost(&e) {
                    self.conns.remove(&call.node);
                }
                match cql::classify(&e) {
                    cql::Outcome::Fail => Done::Fail(e.to_string()),
                    cql::Outcome::Info => Done::Info(e.to_string()),
                }
            }
            Ok(Ok(result)) => decode(call.answer, result),
        }
    }
}

/// A client process driven by a script instead of a random workload (the
/// simulation's targeted scenarios): the same requests, records and
/// outcomes as a worker's.
#[cfg(feature = "sim")]
pub(crate) struct Scripted {
    worker: Worker,
}

#[cfg(feature = "sim")]
impl Scripted {
    /// Process `process` of `workload` (a register workload).
    pub(crate) fn new(ctx: Arc<Ctx>, workload: Workload, process: u64) -> Self {
        Scripted {
            worker: Worker {
                ctx,
                workload,
                process,
                seq: 0,
                rng: StdRng::seed_from_u64(process),
                clock: MonotonicMicros::default(),
                conns: BTreeMap::new(),
                pending_deletes: Vec::new(),
            },
        }
    }

    /// Writes a fresh value to `key` through `node` at `cl`; whether it was
    /// acknowledged.
    pub(crate) async fn write(&mut self, key: &str, node: usize, cl: Consistency) -> bool {
        let value = self.worker.unique_value();
        let mut call = self
            .worker
            .write_call(Function::Write, key.to_owned(), value, node);
        call.cl = cl;
        matches!(self.worker.invoke(call).await, Done::Ok { .. })
    }

    /// Reads `key` through `node` at QUORUM; whether it answered.
    pub(crate) async fn read(&mut self, key: &str, node: usize) -> bool {
        let call = self.worker.read_call(key.to_owned(), node);
        matches!(self.worker.invoke(call).await, Done::Ok { .. })
    }
}

/// Fills the completion's record from how the request ended: a read's
/// answer (the final read's too), or the error; the completion's type.
fn complete(record: &mut OpRecord, function: Function, done: &Done) -> OpType {
    match done {
        Done::Ok { values, timestamps } => {
            if matches!(function, Function::Read | Function::FinalRead) {
                record.values.clone_from(values);
                record.timestamps.clone_from(timestamps);
            }
            OpType::Ok
        }
        Done::Fail(e) => {
            record.error = Some(e.clone());
            OpType::Fail
        }
        Done::Info(e) => {
            record.error = Some(e.clone());
            OpType::Info
        }
    }
}

async fn send(
    client: &Arc<dyn Conn>,
    request: &Request,
    cl: Consistency,
) -> Result<QueryResult, cql_lite::client::ClientError> {
    match request {
        Request::Query(text) => client.query(text, cl).await,
        Request::LoggedBatch(statements) => {
            let batch = Batch {
                batch_type: BatchType::Logged,
                statements: statements
                    .iter()
                    .map(|s| BatchStatement {
                        query: BatchQuery::Text(s.clone()),
                        values: Vec::new(),
                    })
                    .collect(),
                consistency: cl,
                serial_consistency: None,
                default_timestamp: None,
            };
            client.batch(batch).await
        }
    }
}

fn decode(answer: Answer, result: QueryResult) -> Done {
    let decoded = match answer {
        Answer::Nothing => Ok((Vec::new(), Vec::new())),
        Answer::Register => cql::decode_register(result),
        Answer::Set => cql::decode_set(result).map(|v| (v, Vec::new())),
    };
    match decoded {
        Ok((values, timestamps)) => Done::Ok { values, timestamps },
        // The request ran; only its answer is unreadable.
        Err(e) => Done::Info(format!("unreadable result: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_carry_what_reads_returned() {
        for function in [Function::Read, Function::FinalRead] {
            let mut record = OpRecord::default();
            let done = Done::Ok {
                values: vec![7],
                timestamps: vec![70],
            };
            assert_eq!(complete(&mut record, function, &done), OpType::Ok);
            assert_eq!(
                (record.values, record.timestamps),
                (vec![7], vec![70]),
                "{function:?}"
            );
        }
        let mut write = OpRecord {
            values: vec![5],
            timestamps: vec![50],
            ..OpRecord::default()
        };
        let acked = Done::Ok {
            values: Vec::new(),
            timestamps: Vec::new(),
        };
        assert_eq!(complete(&mut write, Function::Write, &acked), OpType::Ok);
        assert_eq!(write.values, [5], "a write's completion repeats its value");
        let timeout = Done::Info("client timeout".into());
        assert_eq!(
            complete(&mut write, Function::Write, &timeout),
            OpType::Info
        );
        assert_eq!(write.error.as_deref(), Some("client timeout"));
        let refused = Done::Fail("unavailable".into());
        assert_eq!(
            complete(&mut write, Function::Write, &refused),
            OpType::Fail
        );
    }

    #[test]
    fn batch_keys_are_pairs_and_every_key_is_read_at_the_end() {
        assert_eq!(Workload::Batch.all_keys().len(), 20);
        assert!(Workload::Batch.all_keys().iter().all(|k| !k.contains(',')));
        assert_eq!(Workload::Register.all_keys()[3], "r:3");
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        assert_eq!(
            names,
            [
                "register",
                "register-coord",
                "set",
                "delete",
                "session",
                "batch"
            ]
        );
        assert!(
            Workload::ALL
                .iter()
                .all(|w| Workload::from_name(w.name()) == Some(*w))
        );
    }
}
