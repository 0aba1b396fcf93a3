use std::fs;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use storage::StdFs;
use storage::{Cell, ClusteringKey, ColumnId, DecoratedKey, Mutation, Row, TableId, Token};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    now: Arc<AtomicU64>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batchlog");
        Fixture {
            _dir: dir,
            path,
            now: Arc::new(AtomicU64::new(1_000_000)),
        }
    }

    fn open_with(&self, max_total_bytes: u64) -> BatchlogStore {
        let now = Arc::clone(&self.now);
        let mut config = BatchlogStoreConfig::new(&self.path);
        config.max_total_bytes = max_total_bytes;
        let clock = Arc::new(move || now.load(Ordering::SeqCst));
        BatchlogStore::open(Arc::new(StdFs), config, clock).unwrap()
    }

    fn open(&self) -> BatchlogStore {
        self.open_with(1 << 20)
    }

    fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

fn request(n: u8) -> BatchStoreRequest {
    let mutations = (0..2)
        .map(|k| {
            Mutation::new(TableId(3), DecoratedKey::new(Token(k), vec![n, k as u8])).with_row(
                Row::new(ClusteringKey::new(vec![1])).with_cell(
                    ColumnId(1),
                    None,
                    Cell::live(5, vec![n; 10]),
                ),
            )
        })
        .collect();
    BatchStoreRequest {
        id: BatchId([n; 16]),
        mutations,
    }
}

fn store(s: &BatchlogStore, n: u8) {
    let r = request(n);
    s.store(r.id, &r.encode()).unwrap();
}

#[test]
fn a_stored_batch_is_due_after_its_age_loads_and_is_removed() {
    let f = Fixture::new();
    let s = f.open();
    store(&s, 1);
    f.advance(10);
    store(&s, 2);
    assert_eq!(s.due(Duration::from_millis(5)), vec![BatchId([1; 16])]);
    f.advance(10);
    assert_eq!(
        s.due(Duration::from_millis(5)),
        [BatchId([1; 16]), BatchId([2; 16])]
    );
    assert_eq!(s.load(BatchId([2; 16])).unwrap(), Some(request(2)));
    assert!(s.remove(BatchId([1; 16])).unwrap());
    assert!(!s.remove(BatchId([1; 16])).unwrap());
    assert_eq!(s.load(BatchId([1; 16])).unwrap(), None);
    let c = s.counters();
    assert_eq!((c.stored, c.pending), (2, 1));
    assert!(c.pending_bytes > 0);
    assert_eq!(fs::read_dir(&f.path).unwrap().count(), 1);
}

#[test]
fn batches_survive_a_reopen_with_their_arrival_time() {
    let f = Fixture::new();
    store(&f.open(), 1);
    // A store that died between writing and renaming leaves a temp file.
    fs::write(f.path.join(format!("{}.tmp", BatchId([9; 16]))), b"half").unwrap();
    f.advance(100);
    let s = f.open();
    assert_eq!(s.due(Duration::from_millis(101)), Vec::<BatchId>::new());
    assert_eq!(s.due(Duration::from_millis(100)), vec![BatchId([1; 16])]);
    assert_eq!(s.load(BatchId([1; 16])).unwrap(), Some(request(1)));
    assert_eq!(
        fs::read_dir(&f.path).unwrap().count(),
        1,
        "temp file removed"
    );
}

#[test]
fn a_damaged_file_is_set_aside_not_replayed() {
    let f = Fixture::new();
    let s = f.open();
    store(&s, 1);
    store(&s, 2);
    let path = f.path.join(file_name(BatchId([1; 16])));
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&path, bytes).unwrap();
    let err = s.load(BatchId([1; 16])).unwrap_err();
    assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(
        f.path
            .join(format!("{}.corrupt", BatchId([1; 16])))
            .exists()
    );
    assert_eq!(s.due(Duration::ZERO), vec![BatchId([2; 16])]);
    // A truncated header is found at open and reported at load.
    let path2 = f.path.join(file_name(BatchId([2; 16])));
    fs::write(&path2, b"BB").unwrap();
    let s = f.open();
    assert!(matches!(
        s.load(BatchId([2; 16])),
        Err(LoadError::Corrupt { .. })
    ));
}

#[test]
fn the_store_is_bounded_and_storing_twice_keeps_one_copy() {
    let f = Fixture::new();
    let size = (request(1).encode().len() + HEADER) as u64;
    let s = f.open_with(2 * size);
    store(&s, 1);
    store(&s, 1);
    store(&s, 2);
    let r = request(3);
    assert!(matches!(
        s.store(r.id, &r.encode()),
        Err(StoreError::Full(_))
    ));
    assert_eq!(s.counters().pending, 2);
    s.remove(BatchId([1; 16])).unwrap();
    s.store(r.id, &r.encode()).unwrap();
}

#[test]
fn a_power_cut_at_every_step_of_a_store_leaves_no_batch_or_the_whole_batch() {
    use storage::durable::temp_path;
    use storage::sim::{SimFs, replace_crash_points};
    let dir = PathBuf::from("/data/batchlog");
    let open = |fs: &SimFs| {
        let config = BatchlogStoreConfig::new(&dir);
        BatchlogStore::open(Arc::new(fs.clone()), config, Arc::new(|| 5)).unwrap()
    };
    let r = request(7);
    let path = dir.join(file_name(r.id));
    let mut outcomes = Vec::new();
    for (kind, at) in replace_crash_points(&path) {
        let fs = SimFs::new();
        let s = open(&fs);
        store(&s, 1);
        fs.halt_on(kind, &at, 0);
        assert!(
            s.store(r.id, &r.encode()).is_err(),
            "{kind:?} never happened"
        );
        fs.restart();
        let s = open(&fs);
        assert!(!fs.exists(&temp_path(&path)), "{kind:?}: temp left");
        assert_eq!(s.load(BatchId([1; 16])).unwrap(), Some(request(1)));
        let held = s.load(r.id).unwrap();
        assert!(held.is_none() || held == Some(r.clone()), "{kind:?}");
        outcomes.push(held.is_some());
        // Stored again after the crash, it is durable once acknowledged.
        s.store(r.id, &r.encode()).unwrap();
        fs.crash();
        assert_eq!(open(&fs).load(r.id).unwrap(), Some(r.clone()));
    }
    assert_eq!(
        outcomes, [false; 4],
        "nothing is durable before the directory sync"
    );
}
