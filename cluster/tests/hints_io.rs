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

use cluster::HintSink;
use cluster::{HintStore, HintStoreConfig, HostId};
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
    fs.gate.close();
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
    fs.gate.open();
    let flushed = Arc::clone(&store);
    tokio::task::spawn_blocking(move || flushed.flush())
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
    fs.gate.close();
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
    fs.gate.open();
    let flushed = Arc::clone(&store);
    tokio::task::spawn_blocking(move || flushed.flush())
        .await
        .expect("flush task")
        .expect("flushed");
    let c = store.counters();
    assert_eq!((c.stored, c.queued_bytes), (1 + accepted, 0));
}
