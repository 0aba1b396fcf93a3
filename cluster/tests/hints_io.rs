//! The hint store's disk I/O against the async runtime: a disk whose fsync
//! hangs must not stall the tasks sharing the runtime (gossip among them),
//! and a write at ANY is acknowledged only once its hint is fsynced.
//!
//! The disk is a `SimFs` behind [`GatedFs`], whose fsyncs of hint files can
//! be held until the test releases them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use cluster::ConsistencyLevel as Cl;
use cluster::HintSink;
use cluster::SimpleStrategy;
use cluster::sim::{LoopbackPeers, StaticTopology};
use cluster::{ClusterCoordinator, CoordinatorConfig, CoordinatorError, WriteType};
use cluster::{HintStore, HintStoreConfig, HostId, Ring, RingEndpoint};
use storage::sim::SimFs;
use storage::{Cell, ClusteringKey, ColumnId, DecoratedKey, Mutation, Row, TableId, Token};
use storage::{File, FileSystem};

const NOW_MS: u64 = 1_700_000_000_000;
/// How long a held fsync waits at most before it gives up and goes on: a
/// safety valve, so a test that fails because its runtime is blocked ends
/// instead of hanging. Passing tests release well before.
const HOLD_LIMIT: Duration = Duration::from_secs(20);

/// Holds the fsyncs of hint files while closed.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    /// Woken when an fsync starts waiting at the closed gate.
    stuck: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// Fsyncs waiting now.
    waiting: usize,
    /// An fsync gave up waiting: nobody released the gate within the limit.
    gave_up: bool,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self) {
        self.lock().closed = true;
    }

    fn open(&self) {
        self.lock().closed = false;
        self.changed.notify_all();
    }

    fn waiting(&self) -> usize {
        self.lock().waiting
    }

    fn gave_up(&self) -> bool {
        self.lock().gave_up
    }

    /// Closes the gate until the guard is dropped: a failing test still
    /// lets the store's writer finish instead of waiting out the limit.
    fn hold(self: &Arc<Self>) -> Held {
        self.close();
        Held(Arc::clone(self))
    }

    /// Resolves once some fsync waits at the gate.
    async fn stuck(&self) {
        self.stuck.notified().await;
    }

    /// Called by an fsync: waits while the gate is closed.
    fn pass(&self) {
        let mut st = self.lock();
        if !st.closed {
            return;
        }
        st.waiting += 1;
        self.stuck.notify_one();
        let (mut st, timeout) = self
            .changed
            .wait_timeout_while(st, HOLD_LIMIT, |s| s.closed)
            .unwrap_or_else(|p| p.into_inner());
        st.gave_up |= timeout.timed_out();
        st.waiting -= 1;
    }
}

/// Opens its gate when dropped.
struct Held(Arc<Gate>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A `SimFs` whose fsyncs of hint files pass through a [`Gate`].
#[derive(Debug, Clone)]
struct GatedFs {
    inner: SimFs,
    gate: Arc<Gate>,
}

#[derive(Debug)]
struct GatedFile {
    inner: Arc<dyn File>,
    gate: Option<Arc<Gate>>,
}

impl File for GatedFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
}

impl GatedFs {
    fn wrap(&self, path: &Path, file: Arc<dyn File>) -> Arc<dyn File> {
        let hints = path.to_string_lossy().ends_with(".hints");
        Arc::new(GatedFile {
            inner: file,
            gate: hints.then(|| Arc::clone(&self.gate)),
        })
    }
}

impl FileSystem for GatedFs {
    fn create(&self, path: &Path) -> std::io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.inner.create(path)?))
    }
    fn open(&self, path: &Path) -> std::io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.inner.open(path)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.inner.read_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn hard_link(&self, original: &Path, link: &Path) -> std::io::Result<()> {
        self.inner.hard_link(original, link)
    }
}

fn gated() -> GatedFs {
    GatedFs {
        inner: SimFs::new(),
        gate: Arc::new(Gate::default()),
    }
}

fn store_on(fs: &GatedFs, config: HintStoreConfig) -> Arc<HintStore> {
    let store = HintStore::open(Arc::new(fs.clone()), config, Arc::new(|| NOW_MS));
    Arc::new(store.expect("store opens"))
}

fn host(i: u8) -> HostId {
    HostId([i; 16])
}

fn put(k: u8) -> Mutation {
    let key = DecoratedKey::new(Token(i64::from(k)), vec![k]);
    Mutation::new(TableId(1), key).with_row(Row::new(ClusteringKey::EMPTY).with_cell(
        ColumnId(1),
        None,
        Cell::live(10, vec![k; 8]),
    ))
}

/// A task that counts how often the runtime ran it.
fn ticker() -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let ticks = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&ticks);
    let task = tokio::spawn(async move {
        loop {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
    });
    (ticks, task)
}

/// Yields until the ticker has run `n` more times.
async fn ticks_pass(ticks: &AtomicU64, n: u64) {
    let start = ticks.load(Ordering::SeqCst);
    while ticks.load(Ordering::SeqCst) < start + n {
        tokio::task::yield_now().await;
    }
}

// One runtime thread: an append that did its I/O there would stop every
// other task until the disk answered.
#[tokio::test(flavor = "current_thread")]
async fn a_hung_fsync_does_not_stall_the_runtime() {
    let fs = gated();
    let store = store_on(&fs, HintStoreConfig::new("/data/hints"));
    let (ticks, task) = ticker();
    let held = fs.gate.hold();
    // The first hint for a host creates its file, whose header is fsynced.
    assert!(store.store(host(1), &put(1)));
    fs.gate.stuck().await;
    ticks_pass(&ticks, 100).await;
    assert_eq!(fs.gate.waiting(), 1, "the fsync is still held");
    assert!(!fs.gate.gave_up(), "the append held the runtime thread");
    // More hints queue behind the held fsync without waiting for it.
    for k in 2..10 {
        assert!(store.store(host(1), &put(k)));
    }
    ticks_pass(&ticks, 100).await;
    task.abort();
    drop(held);
    let flushed = Arc::clone(&store);
    cluster::blocking::run(move || flushed.flush())
        .await
        .expect("flush task")
        .expect("flushed");
    assert_eq!(store.counters().stored, 9);
    assert!(!fs.gate.gave_up());
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_hints_and_counts_them() {
    let fs = gated();
    let mut config = HintStoreConfig::new("/data/hints");
    config.max_queued_bytes = 4 << 10;
    let store = store_on(&fs, config);
    let held = fs.gate.hold();
    assert!(store.store(host(1), &put(1)));
    // The writer took the first hint and is stuck in its fsync: the rest
    // fill the queue.
    fs.gate.stuck().await;
    let accepted = (2..200u8)
        .filter(|k| store.store(host(1), &put(*k)))
        .count() as u64;
    let c = store.counters();
    assert!(accepted > 0 && accepted < 198, "{accepted}");
    assert_eq!((c.overloaded, c.dropped), (198 - accepted, 198 - accepted));
    assert!(c.queued_bytes <= 4 << 10, "{c:?}");
    drop(held);
    let flushed = Arc::clone(&store);
    cluster::blocking::run(move || flushed.flush())
        .await
        .expect("flush task")
        .expect("flushed");
    let c = store.counters();
    assert_eq!((c.stored, c.queued_bytes), (1 + accepted, 0));
}

/// A coordinator outside the ring (host 9) for three replicas that are all
/// down, so a write at ANY can only be held by hints in `hints`.
fn all_down_coordinator(hints: Arc<HintStore>) -> Arc<ClusterCoordinator> {
    let mut ring = Ring::new();
    for i in 1..=3u8 {
        let ep = RingEndpoint {
            host_id: host(i),
            address: ([127, 0, 0, i], 7000).into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
        };
        let token = Token(i64::from(i) * (i64::MAX / 4));
        ring.add(ep, [token]).expect("distinct tokens");
    }
    let topology = Arc::new(StaticTopology::new(ring));
    let peers = Arc::new(LoopbackPeers::new());
    for i in 1..=3u8 {
        topology.set_down(host(i), Some(Duration::from_secs(1)));
        peers.set_down(host(i), true);
    }
    let config = CoordinatorConfig::new(host(9), "dc1");
    Arc::new(ClusterCoordinator::new(
        config, peers, topology, hints, None,
    ))
}

/// Writes one mutation at ANY through `coordinator`, on its own task.
fn write_at_any(
    coordinator: &Arc<ClusterCoordinator>,
) -> tokio::task::JoinHandle<Result<(), CoordinatorError>> {
    let coordinator = Arc::clone(coordinator);
    tokio::spawn(async move {
        let rf3 = SimpleStrategy { rf: 3 };
        coordinator
            .write(vec![put(1)], Cl::Any, WriteType::Simple, &rf3)
            .await
    })
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_at_any_is_acknowledged_only_once_its_hints_are_fsynced() {
    let fs = gated();
    let store = store_on(&fs, HintStoreConfig::new("/data/hints"));
    let coordinator = all_down_coordinator(Arc::clone(&store));
    let held = fs.gate.hold();
    let write = write_at_any(&coordinator);
    fs.gate.stuck().await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(
        !write.is_finished(),
        "acknowledged while its hints' fsyncs were held"
    );
    drop(held);
    write
        .await
        .expect("write task")
        .expect("acknowledged once a hint is durable");
    // What was acknowledged survives a power cut.
    fs.inner.crash();
    let reopened = store_on(&fs, HintStoreConfig::new("/data/hints"));
    assert!(!reopened.hosts().is_empty());
    assert!(!fs.gate.gave_up());
}

#[tokio::test(flavor = "current_thread")]
async fn a_hint_that_cannot_be_stored_fails_the_write_at_any() {
    let fs = gated();
    fs.inner.fail_sync_data(".hints", None);
    let store = store_on(&fs, HintStoreConfig::new("/data/hints"));
    let coordinator = all_down_coordinator(Arc::clone(&store));
    let err = write_at_any(&coordinator)
        .await
        .expect("write task")
        .expect_err("no hint could be stored");
    assert!(
        matches!(
            err,
            CoordinatorError::WriteFailure {
                cl: Cl::Any,
                received: 0,
                block_for: 1,
                failures: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Flushes `store` off the runtime.
async fn flush(store: &Arc<HintStore>) {
    let store = Arc::clone(store);
    cluster::blocking::run(move || store.flush())
        .await
        .expect("flush task")
        .expect("flushed");
}

#[tokio::test(flavor = "current_thread")]
async fn a_hint_whose_file_fails_its_fsync_when_rolled_is_not_durable() {
    // The size of a file holding one hint, to roll files right after the
    // second.
    let probe = gated();
    let probe_store = store_on(&probe, HintStoreConfig::new("/data/hints"));
    assert!(probe_store.store(host(1), &put(1)));
    flush(&probe_store).await;
    let one_hint = probe_store.counters().pending_bytes;
    let fs = gated();
    let mut config = HintStoreConfig::new("/data/hints");
    config.max_file_bytes = one_hint + 1;
    let store = store_on(&fs, config);
    assert!(store.store(host(1), &put(1)));
    flush(&store).await;
    // Host 2's first hint keeps the writer in its file's fsync while A and
    // B queue up for host 1: they are written as one group.
    let held = fs.gate.hold();
    assert!(store.store(host(2), &put(2)));
    fs.gate.stuck().await;
    fs.inner.fail_sync_data(&host(1).to_string(), Some(1));
    let a = tokio::spawn(store.append_durably(host(1), NOW_MS, &put(3)));
    assert!(store.store(host(1), &put(4)));
    drop(held);
    // A fills host 1's file; B rolls it, and that fsync fails: A is lost.
    assert!(!a.await.expect("waiter"), "a hint in an unsynced file");
}
