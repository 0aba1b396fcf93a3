use super::*;
use crate::io::{File, StdFs};
use crate::options::{CompactionStrategyOptions, LeveledOptions};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn sample(n: u64) -> Manifest {
    let mut m = Manifest::new(TableId(0xfeed_beef << 64 | 7), TableOptions::default());
    for _ in 0..n {
        let generation = m.allocate_generation();
        m.sstables.push(SsTableEntry {
            generation,
            level: (generation % 3) as u32,
        });
    }
    m.flushed_up_to = ReplayPosition {
        segment_id: 12,
        offset: 4096 + n,
    };
    m
}

#[test]
fn missing_manifest_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), None);
}

#[test]
fn store_then_load_round_trips_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(5);
    m.store(&StdFs, dir.path()).unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), Some(m.clone()));
    m.sstables.retain(|e| e.generation != 2);
    m.options.compaction = CompactionStrategyOptions::Leveled(LeveledOptions::default());
    m.store(&StdFs, dir.path()).unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), Some(m));
    assert!(!dir.path().join(MANIFEST_TMP_FILE).exists());
}

#[test]
fn the_truncation_time_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(1);
    m.truncated_at = Some(Timestamp(-5));
    m.store(&StdFs, dir.path()).unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), Some(m.clone()));
    m.truncated_at = Some(Timestamp(1_700_000_000_000_000));
    m.store(&StdFs, dir.path()).unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), Some(m));
}

#[test]
fn version_1_manifests_load_as_never_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample(2);
    let mut buf = Vec::new();
    m.encode(&mut buf);
    // Version 1 is version 2 without the trailing truncation flag.
    let mut body = buf[..buf.len() - 4 - 1].to_vec();
    body[4] = 1;
    let crc = crc32c::crc32c(&body);
    body.put_u32_le(crc);
    std::fs::write(dir.path().join(MANIFEST_FILE), &body).unwrap();
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), Some(m));
}

#[test]
fn store_rejects_inconsistent_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(2);
    m.sstables.push(m.sstables[0]);
    assert!(matches!(
        m.store(&StdFs, dir.path()),
        Err(Error::InvalidArgument(_))
    ));
    let mut m = sample(2);
    m.next_generation = 2;
    assert!(m.store(&StdFs, dir.path()).is_err());
    assert_eq!(Manifest::load(&StdFs, dir.path()).unwrap(), None);
}

fn assert_corrupt(r: Result<Option<Manifest>>) {
    match r {
        Err(Error::Corrupt { component, .. }) => assert_eq!(component, "manifest"),
        other => panic!("expected a corrupt manifest, got {other:?}"),
    }
}

#[test]
fn every_flipped_bit_and_truncation_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    sample(3).store(&StdFs, dir.path()).unwrap();
    let path = dir.path().join(MANIFEST_FILE);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 1 << (i % 8);
        std::fs::write(&path, &bad).unwrap();
        assert_corrupt(Manifest::load(&StdFs, dir.path()));
    }
    for n in 0..good.len() {
        std::fs::write(&path, &good[..n]).unwrap();
        assert_corrupt(Manifest::load(&StdFs, dir.path()));
    }
}

#[test]
fn a_valid_checksum_over_bad_contents_is_still_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(2);
    m.sstables[1].generation = m.sstables[0].generation;
    let mut buf = Vec::new();
    m.encode(&mut buf);
    std::fs::write(dir.path().join(MANIFEST_FILE), &buf).unwrap();
    assert_corrupt(Manifest::load(&StdFs, dir.path()));
    // A hostile SSTable count must not allocate its way to an abort.
    let mut body = buf[..buf.len() - 4].to_vec();
    // Two entries of two one-byte varints, the count, then the truncation flag.
    let count_at = body.len() - 1 - 2 * 2 - 1;
    body.truncate(count_at);
    put_varint(&mut body, u64::MAX);
    let crc = crc32c::crc32c(&body);
    body.put_u32_le(crc);
    std::fs::write(dir.path().join(MANIFEST_FILE), &body).unwrap();
    assert_corrupt(Manifest::load(&StdFs, dir.path()));
}

/// Fails the `fail_at`-th file-system call (counting from 0) and every one
/// after it, as if the process died there: what is on disk is what a crash
/// at that step would leave (StdFs syncs are real, so only ordering is tested).
#[derive(Debug)]
struct DyingFs {
    calls: Arc<AtomicUsize>,
    fail_at: usize,
}

impl DyingFs {
    fn step(&self) -> io::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_at {
            return Err(io::Error::other("simulated crash"));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct DyingFile {
    inner: Arc<dyn File>,
    calls: Arc<AtomicUsize>,
    fail_at: usize,
}

impl DyingFile {
    fn step(&self) -> io::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_at {
            return Err(io::Error::other("simulated crash"));
        }
        Ok(())
    }
}

impl File for DyingFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.step()?;
        // Die halfway through the write: a torn temporary file.
        self.inner.write_all_at(&buf[..buf.len() / 2], offset)?;
        self.step()?;
        self.inner
            .write_all_at(&buf[buf.len() / 2..], offset + buf.len() as u64 / 2)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.step()?;
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.step()?;
        self.inner.set_len(len)
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
}

impl FileSystem for DyingFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        self.step()?;
        Ok(Arc::new(DyingFile {
            inner: StdFs.create(path)?,
            calls: self.calls.clone(),
            fail_at: self.fail_at,
        }))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        StdFs.open(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        StdFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        StdFs.remove_file(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFs.create_dir_all(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFs.remove_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        StdFs.read_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        StdFs.exists(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        StdFs.sync_dir(path)
    }
    fn hard_link(&self, original: &Path, link: &Path) -> io::Result<()> {
        StdFs.hard_link(original, link)
    }
}

#[test]
fn a_crash_at_any_step_leaves_the_old_or_the_new_manifest() {
    let old = sample(4);
    let mut new = old.clone();
    new.sstables.retain(|e| e.generation % 2 == 0);
    let g = new.allocate_generation();
    new.sstables.push(SsTableEntry {
        generation: g,
        level: 1,
    });
    let mut saw_old = false;
    let mut saw_new = false;
    for fail_at in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        old.store(&StdFs, dir.path()).unwrap();
        let fs = DyingFs {
            calls: Arc::new(AtomicUsize::new(0)),
            fail_at,
        };
        let stored = new.store(&fs, dir.path());
        let loaded = Manifest::load(&StdFs, dir.path()).unwrap().unwrap();
        if loaded == old {
            assert!(
                stored.is_err(),
                "store reported success but the old manifest remains"
            );
            saw_old = true;
        } else {
            assert_eq!(loaded, new);
            saw_new = true;
        }
        // The next store after the crash succeeds over any leftover temporary file.
        new.store(&StdFs, dir.path()).unwrap();
        assert_eq!(
            Manifest::load(&StdFs, dir.path()).unwrap(),
            Some(new.clone())
        );
    }
    assert!(saw_old && saw_new);
}

#[test]
fn a_simulated_power_cut_at_every_step_leaves_the_old_or_the_new_manifest() {
    use crate::io::durable::temp_path;
    use crate::io::sim::{SimFs, replace_crash_points};
    let dir = PathBuf::from("/data/t1");
    let path = dir.join(MANIFEST_FILE);
    assert_eq!(temp_path(&path), dir.join(MANIFEST_TMP_FILE));
    let old = sample(4);
    let new = sample(6);
    for (kind, at) in replace_crash_points(&path) {
        let fs = SimFs::new();
        fs.create_dir_all(&dir).unwrap();
        old.store(&fs, &dir).unwrap();
        fs.halt_on(kind, &at, 0);
        assert!(new.store(&fs, &dir).is_err(), "{kind:?} never happened");
        fs.restart();
        let loaded = Manifest::load(&fs, &dir).unwrap().unwrap();
        assert!(loaded == old || loaded == new, "{kind:?}");
        new.store(&fs, &dir).unwrap();
        fs.crash();
        assert_eq!(Manifest::load(&fs, &dir).unwrap(), Some(new.clone()));
    }
}
