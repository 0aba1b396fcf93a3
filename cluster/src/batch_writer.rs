//! Writes gathered into engine batches: the write path every local replica
//! write takes, on a single node and in a cluster alike.
//!
//! Callers queue their mutations (a bounded queue: beyond it they wait); one
//! writer thread takes whatever has gathered and hands it to
//! [`Engine::apply_batch`], so a batch pays one commit-log durability wait and
//! one wake-up instead of one per write. A write's answer comes back only once
//! the engine reports it durable.
//!
//! The answers of a batch go back through a task on the caller's runtime (when
//! there is one): woken from the writer thread, every waiting task would go
//! through the runtime's shared queue and often unpark a worker (a futex each);
//! woken from that task, they go to the worker's local queue.
//!
//! Constructed on a thread in inline mode (a simulation, see
//! [`crate::blocking`]), the writer starts neither thread nor task: each
//! [`BatchWriter::apply`] hands its mutations to the engine itself, on the
//! caller, so no answer ever comes from a thread the simulation does not
//! schedule.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use storage::{Engine, Mutation};
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer thread; beyond this, callers wait.
const QUEUE_CAPACITY: usize = 4096;
/// Mutations one engine batch takes at most.
const MAX_BATCH: usize = 512;
/// Batches of answers waiting for the completer task; beyond this the writer
/// thread answers itself, so the queue stays bounded and the writer never
/// waits on the runtime.
const COMPLETER_CAPACITY: usize = 64;

/// Why a queued write did not apply.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The engine refused it (the first error among the job's mutations).
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// The writer is shutting down.
    #[error("the node is shutting down")]
    Closed,
}

type Answer = Result<(), WriteError>;

struct Job {
    mutations: Vec<Mutation>,
    done: oneshot::Sender<Answer>,
}

type Completions = Vec<(oneshot::Sender<Answer>, Answer)>;

/// The queue and the writer thread in front of one engine (or, in inline
/// mode, the engine alone).
#[derive(Debug)]
pub struct BatchWriter {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set in inline mode only: the engine each write is applied to on the
    /// caller; taken at shutdown, after which writes are refused.
    inline: Mutex<Option<Arc<Engine>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl BatchWriter {
    /// Starts the writer thread for `engine` (and, inside a tokio runtime, the
    /// task that hands answers out); on a thread in inline mode
    /// ([`crate::blocking::set_inline`]), neither: writes are then applied on
    /// their callers.
    pub fn new(engine: Arc<Engine>) -> BatchWriter {
        if crate::blocking::is_inline() {
            return BatchWriter {
                queue: Mutex::new(None),
                thread: Mutex::new(None),
                inline: Mutex::new(Some(engine)),
            };
        }
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let completer = Completer::start();
        let thread = std::thread::Builder::new()
            .name("basalt-writer".into())
            .spawn(move || write_loop(&engine, rx, &completer))
            .ok();
        BatchWriter {
            queue: Mutex::new(thread.is_some().then_some(tx)),
            thread: Mutex::new(thread),
            inline: Mutex::new(None),
        }
    }

    /// Applies `mutations` (each atomically in its partition); resolves once
    /// they are durable, with the first error if any failed.
    pub async fn apply(&self, mutations: Vec<Mutation>) -> Result<(), WriteError> {
        if let Some(engine) = self.inline_engine() {
            return first_error(engine.apply_batch(&mutations).into_iter());
        }
        let queue = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(WriteError::Closed)?;
        let (done, answer) = oneshot::channel();
        queue
            .send(Job { mutations, done })
            .await
            .map_err(|_| WriteError::Closed)?;
        answer.await.map_err(|_| WriteError::Closed)?
    }

    /// The engine, when this writer is inline and not shut down.
    fn inline_engine(&self) -> Option<Arc<Engine>> {
        self.inline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops taking writes and waits until the queued ones are applied.
    pub fn shutdown(&self) {
        self.inline.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Takes what has queued (one blocking receive, then whatever else is ready)
/// and applies it as one engine batch.
fn write_loop(engine: &Engine, mut rx: mpsc::Receiver<Job>, completer: &Completer) {
    while let Some(first) = rx.blocking_recv() {
        let mut count = first.mutations.len();
        let mut jobs = vec![first];
        while count < MAX_BATCH {
            let Ok(next) = rx.try_recv() else { break };
            count += next.mutations.len();
            jobs.push(next);
        }
        completer.complete(apply(engine, jobs));
    }
}

fn apply(engine: &Engine, jobs: Vec<Job>) -> Completions {
    let mut mutations = Vec::new();
    let mut spans = Vec::with_capacity(jobs.len());
    for job in jobs {
        spans.push((job.mutations.len(), job.done));
        mutations.extend(job.mutations);
    }
    let mut results = engine.apply_batch(&mutations).into_iter();
    spans
        .into_iter()
        .map(|(count, done)| (done, first_error(results.by_ref().take(count))))
        .collect()
}

/// One job's answer from the engine's results for its mutations: the first
/// error, if any. Consumes them all, so that the next job's answer starts at
/// its own first result.
fn first_error(results: impl Iterator<Item = storage::Result<()>>) -> Answer {
    let mut answer = Ok(());
    for result in results {
        if let (Ok(()), Err(e)) = (&answer, result) {
            answer = Err(WriteError::Storage(e));
        }
    }
    answer
}

/// Hands a batch's answers to the waiting callers from inside the runtime.
struct Completer(Option<mpsc::Sender<Completions>>);

impl Completer {
    /// A completer task on the current runtime; without one (some tests), the
    /// writer thread answers directly.
    fn start() -> Completer {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Completer(None);
        };
        let (tx, mut rx) = mpsc::channel::<Completions>(COMPLETER_CAPACITY);
        runtime.spawn(async move {
            while let Some(batch) = rx.recv().await {
                answer(batch);
            }
        });
        Completer(Some(tx))
    }

    /// Never blocks: a full queue (the runtime is busy or stopping) or a
    /// closed one means the writer thread answers this batch itself.
    fn complete(&self, batch: Completions) {
        match &self.0 {
            Some(tx) => {
                if let Err(unsent) = tx.try_send(batch) {
                    answer(unsent.into_inner());
                }
            }
            None => answer(batch),
        }
    }
}

fn answer(batch: Completions) {
    for (done, answer) in batch {
        // The caller may have given up; the write stands either way.
        let _ = done.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::sim::SimFs;
    use storage::{
        Cell, ClusteringKey, ColumnId, DecoratedKey, EngineOptions, ManualClock, Row, SyncMode,
        TableId, TableOptions, Token,
    };

    const TABLE: TableId = TableId(1);
    /// A table the engine does not have: its mutations fail.
    const MISSING: TableId = TableId(9);

    /// An engine on a simulated file system with [`TABLE`].
    fn engine() -> Arc<Engine> {
        let mut options = EngineOptions::new("/basalt", Arc::new(ManualClock::new(1_000)));
        options.commitlog.sync = SyncMode::Batch;
        let engine = Engine::open(Arc::new(SimFs::new()), options).unwrap();
        engine.create_table(TABLE, TableOptions::default()).unwrap();
        Arc::new(engine)
    }

    fn put(table: TableId, k: u8) -> Mutation {
        let key = DecoratedKey::new(Token(i64::from(k)), vec![k]);
        Mutation::new(table, key).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
            ColumnId(1),
            None,
            Cell::live(10, vec![k]),
        ))
    }

    fn job(mutations: Vec<Mutation>) -> (Job, oneshot::Receiver<Answer>) {
        let (done, rx) = oneshot::channel();
        (Job { mutations, done }, rx)
    }

    #[test]
    fn each_job_answers_for_its_own_mutations() {
        let engine = engine();
        // The first job fails on its first mutation; its second succeeds.
        // The second job's only mutation fails: it must not be answered with
        // the first job's leftover success.
        let (a, mut a_rx) = job(vec![put(MISSING, 1), put(TABLE, 2)]);
        let (b, mut b_rx) = job(vec![put(MISSING, 3)]);
        let (c, mut c_rx) = job(vec![put(TABLE, 4)]);
        answer(apply(&engine, vec![a, b, c]));
        assert!(matches!(a_rx.try_recv(), Ok(Err(WriteError::Storage(_)))));
        assert!(matches!(b_rx.try_recv(), Ok(Err(WriteError::Storage(_)))));
        assert!(matches!(c_rx.try_recv(), Ok(Ok(()))));
    }

    /// The value `engine` holds for key `k` of [`TABLE`].
    fn value(engine: &Engine, k: u8) -> Option<Vec<u8>> {
        let read = storage::PartitionRead {
            key: DecoratedKey::new(Token(i64::from(k)), vec![k]),
            slices: vec![storage::ClusteringRange::ALL],
            columns: storage::ColumnFilter::All,
            reversed: false,
            row_limit: None,
            now: 1_000,
            include_tombstones: false,
        };
        let row = engine.read(TABLE, &read).unwrap().next()?.unwrap();
        row.cells[0].cell.value_at(1_000).map(|v| v.to_vec())
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn inline_writes_are_applied_on_the_caller_without_time_passing() {
        use futures_util::FutureExt;
        crate::blocking::set_inline(true);
        let engine = engine();
        let writer = BatchWriter::new(Arc::clone(&engine));
        crate::blocking::set_inline(false);
        let start = tokio::time::Instant::now();
        // A timer pending elsewhere: had the runtime gone idle waiting for
        // an answer from another thread, paused time would jump to it.
        let _timer = tokio::spawn(tokio::time::sleep(std::time::Duration::from_secs(60)));
        // Answered at the first poll: nothing else runs in between.
        let answer = writer.apply(vec![put(TABLE, 1)]).now_or_never();
        assert!(matches!(answer, Some(Ok(()))), "{answer:?}");
        assert_eq!(value(&engine, 1), Some(vec![1]));
        let answer = writer.apply(vec![put(MISSING, 2), put(TABLE, 3)]).await;
        assert!(matches!(answer, Err(WriteError::Storage(_))), "{answer:?}");
        assert_eq!(value(&engine, 3), Some(vec![3]));
        assert_eq!(tokio::time::Instant::now(), start);
        writer.shutdown();
        let answer = writer.apply(vec![put(TABLE, 4)]).await;
        assert!(matches!(answer, Err(WriteError::Closed)), "{answer:?}");
        assert_eq!(value(&engine, 4), None);
    }

    fn one_answer() -> (Completions, oneshot::Receiver<Answer>) {
        let (done, rx) = oneshot::channel();
        (vec![(done, Ok(()))], rx)
    }

    #[test]
    fn a_full_completer_queue_is_answered_by_the_writer() {
        let (tx, _rx) = mpsc::channel(COMPLETER_CAPACITY);
        let completer = Completer(Some(tx));
        let mut queued = Vec::new();
        for _ in 0..COMPLETER_CAPACITY {
            let (batch, rx) = one_answer();
            completer.complete(batch);
            queued.push(rx);
        }
        let (batch, mut overflow) = one_answer();
        completer.complete(batch);
        assert!(matches!(overflow.try_recv(), Ok(Ok(()))));
        // The queued ones still wait for the (idle) completer task.
        assert!(queued.iter_mut().all(|rx| rx.try_recv().is_err()));
    }

    #[test]
    fn a_closed_completer_queue_is_answered_by_the_writer() {
        let (tx, rx) = mpsc::channel(COMPLETER_CAPACITY);
        drop(rx);
        let completer = Completer(Some(tx));
        let (batch, mut answer) = one_answer();
        completer.complete(batch);
        assert!(matches!(answer.try_recv(), Ok(Ok(()))));
    }
}
