//! Append-only files of CRC32C-framed records behind a versioned header.
//!
//! ```text
//! file header (12 bytes): magic [4] | version u32 LE | CRC32C of bytes 0..8, u32 LE
//! record:                 len u32 LE | CRC32C of (len bytes, payload) u32 LE | payload [len]
//! ```

use super::context;
use crate::io::{File, FileSystem};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of the file header: magic, version, CRC.
pub const FILE_HEADER_LEN: usize = 12;
/// Bytes before a record's payload: length and CRC.
pub const FRAME_HEADER_LEN: usize = 8;
/// Appends are written to the file once this much is pending, synced or not.
const WRITE_CHUNK: usize = 64 << 10;

/// What a kind of framed file looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramedFormat {
    /// The first four bytes of every file of this kind.
    pub magic: [u8; 4],
    /// The version new files get; readers accept 1 up to it.
    pub version: u32,
    /// A longer record can only be garbage; at most 1 GiB.
    pub max_record: u32,
    /// Read a file that does not start with the magic as version 0: records
    /// from offset 0, no header. For files written before the header existed;
    /// the magic must then be a length above `max_record` (any ASCII magic is:
    /// it reads as over 1 GiB), so no such file can start with it.
    pub headerless_v0: bool,
}

impl FramedFormat {
    /// The header new files of this kind start with.
    pub fn header(&self) -> [u8; FILE_HEADER_LEN] {
        let mut h = Vec::with_capacity(FILE_HEADER_LEN);
        h.extend_from_slice(&self.magic);
        h.extend_from_slice(&self.version.to_le_bytes());
        let crc = crc32c::crc32c(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        h.try_into().unwrap_or([0; FILE_HEADER_LEN])
    }
}

/// Appends `payload` as one framed record to `out`.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    // Payloads are bounded far below 4 GiB by `max_record`; a larger one gets
    // a wrong length and fails its checksum rather than being misread.
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len), payload);
    out.reserve(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends records to a new framed file.
///
/// Records are buffered and written in chunks; [`FramedWriter::sync`] writes
/// the rest and fsyncs. Every record appended before a successful `sync` survives
/// a crash. After any failed write or fsync the writer refuses everything: the
/// kernel may have dropped the dirty pages, so a later fsync could not be trusted.
#[derive(Debug)]
pub struct FramedWriter {
    path: PathBuf,
    file: Arc<dyn File>,
    /// Bytes written to the file (header included).
    written: u64,
    pending: Vec<u8>,
    failed: bool,
}

impl FramedWriter {
    /// Creates `path` (which must not exist yet) with `format`'s header and
    /// makes the empty file durable: header fsynced, directory entry fsynced,
    /// so a later synced record cannot be lost with the file's name.
    pub fn create(fs: &dyn FileSystem, path: &Path, format: &FramedFormat) -> io::Result<Self> {
        if fs.exists(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists already", path.display()),
            ));
        }
        let file = fs.create(path).map_err(context("creating", path))?;
        file.write_all_at(&format.header(), 0)
            .map_err(context("writing header of", path))?;
        file.sync_data().map_err(context("syncing", path))?;
        let dir = super::parent(path)?;
        fs.sync_dir(dir)
            .map_err(context("syncing directory", dir))?;
        Ok(FramedWriter {
            path: path.to_path_buf(),
            file,
            written: FILE_HEADER_LEN as u64,
            pending: Vec::new(),
            failed: false,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length once everything appended is written.
    pub fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    /// Whether no record was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len() == FILE_HEADER_LEN as u64
    }

    /// Appends one record; the bytes it adds to the file. Not durable before
    /// the next [`FramedWriter::sync`].
    pub fn append(&mut self, payload: &[u8]) -> io::Result<u64> {
        self.check()?;
        let before = self.pending.len();
        encode_frame(payload, &mut self.pending);
        let added = (self.pending.len() - before) as u64;
        if self.pending.len() >= WRITE_CHUNK {
            self.write_pending()?;
        }
        Ok(added)
    }

    /// Writes every appended record and fsyncs the file.
    pub fn sync(&mut self) -> io::Result<()> {
        self.check()?;
        self.write_pending()?;
        let synced = self
            .file
            .sync_data()
            .map_err(context("syncing", &self.path));
        self.failed = synced.is_err();
        synced
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(format!(
                "{}: an earlier write or fsync failed",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all_at(&self.pending, self.written);
        if let Err(e) = written {
            self.failed = true;
            return Err(context("appending to", &self.path)(e));
        }
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

/// A little-endian u32 from exactly four bytes.
fn le_u32(bytes: Option<&[u8]>) -> Option<u32> {
    Some(u32::from_le_bytes(bytes?.try_into().ok()?))
}

/// One record read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Where its frame starts in the file.
    pub offset: u64,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Whether a bad spot is what a crash leaves or real damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameErrorKind {
    /// Nothing valid follows: an append that a crash cut short. Every record
    /// before it is intact.
    Torn,
    /// A valid record follows the bad one, or the header is wrong: not
    /// something a crash can leave.
    Corrupt,
}

/// Where and why reading a framed file stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The file.
    pub path: PathBuf,
    /// The offset of the bad record (0 for a bad header).
    pub offset: u64,
    /// Torn tail or corruption.
    pub kind: FrameErrorKind,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

impl std::error::Error for FrameError {}

/// Reads a framed file's records in order; never panics on any bytes.
///
/// The first bad header or record ends the iteration with one `Err`: a
/// [`FrameErrorKind::Torn`] one when no valid record follows it, a
/// [`FrameErrorKind::Corrupt`] one otherwise. Nothing after it is returned,
/// since a damaged length leaves no trustworthy way to find the next frame.
#[derive(Debug)]
pub struct FramedReader {
    path: PathBuf,
    bytes: Vec<u8>,
    offset: usize,
    version: u32,
    max_record: usize,
    done: bool,
    pending_error: Option<FrameError>,
}

impl FramedReader {
    /// Reads the whole file at `path` (files are rolled small enough for it).
    pub fn open(fs: &dyn FileSystem, path: &Path, format: &FramedFormat) -> io::Result<Self> {
        let file = fs.open(path).map_err(context("opening", path))?;
        let len = file.size().map_err(context("sizing", path))?;
        let mut bytes = vec![0; usize::try_from(len).map_err(io::Error::other)?];
        file.read_exact_at(&mut bytes, 0)
            .map_err(context("reading", path))?;
        Ok(Self::from_bytes(path, bytes, format))
    }

    /// Reads `bytes` as if they were the file at `path`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, format: &FramedFormat) -> Self {
        let mut reader = FramedReader {
            path: path.to_path_buf(),
            bytes,
            offset: 0,
            version: format.version,
            max_record: format.max_record.min(1 << 30) as usize,
            done: false,
            pending_error: None,
        };
        if let Err((kind, reason)) = reader.read_header(format) {
            reader.pending_error = Some(reader.error(kind, reason));
        }
        reader
    }

    /// The file's format version (0 for a headerless file).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Checks the header and positions the reader after it.
    fn read_header(&mut self, format: &FramedFormat) -> Result<(), (FrameErrorKind, String)> {
        let n = self.bytes.len().min(FILE_HEADER_LEN);
        let head = self.bytes.get(..n).unwrap_or_default();
        let magic = format.magic.get(..n.min(4)).unwrap_or_default();
        // Too short to tell a header from a headerless file's first record:
        // read it as the latter, which makes it a torn tail either way.
        let headerless = head.get(..magic.len()) != Some(magic) || n < 4;
        if headerless && format.headerless_v0 {
            self.version = 0;
            return Ok(());
        }
        if head.get(..magic.len()) != Some(magic) {
            return Err((FrameErrorKind::Corrupt, "bad magic".into()));
        }
        if n < FILE_HEADER_LEN {
            return Err((FrameErrorKind::Torn, "torn file header".into()));
        }
        let word = |at: usize| le_u32(head.get(at..at + 4)).unwrap_or(0);
        if crc32c::crc32c(head.get(..8).unwrap_or_default()) != word(8) {
            return Err((FrameErrorKind::Corrupt, "header checksum mismatch".into()));
        }
        let version = word(4);
        if version == 0 || version > format.version {
            return Err((
                FrameErrorKind::Corrupt,
                format!("unknown version {version}"),
            ));
        }
        self.version = version;
        self.offset = FILE_HEADER_LEN;
        Ok(())
    }

    fn error(&mut self, kind: FrameErrorKind, reason: String) -> FrameError {
        self.done = true;
        FrameError {
            path: self.path.clone(),
            offset: self.offset as u64,
            kind,
            reason,
        }
    }

    /// The frame at `at`: its payload's range, or why it is bad.
    fn frame_at(&self, at: usize) -> Result<std::ops::Range<usize>, &'static str> {
        let rest = self.bytes.get(at..).unwrap_or_default();
        let (Some(len_bytes), Some(crc)) = (rest.get(0..4), le_u32(rest.get(4..8))) else {
            return Err("torn record header");
        };
        let len = le_u32(Some(len_bytes)).unwrap_or(u32::MAX) as usize;
        if len > self.max_record {
            return Err("implausible record length");
        }
        let Some(payload) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
            return Err("torn record");
        };
        if crc32c::crc32c_append(crc32c::crc32c(len_bytes), payload) != crc {
            return Err("checksum mismatch");
        }
        Ok(at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len)
    }

    /// Whether a valid frame starts anywhere after `at`: the test that tells
    /// corruption from a torn tail. Only runs once, on the damaged path.
    fn valid_frame_after(&self, at: usize) -> bool {
        (at + 1..self.bytes.len()).any(|p| self.frame_at(p).is_ok())
    }
}

impl Iterator for FramedReader {
    type Item = Result<Record, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        if self.done || self.offset >= self.bytes.len() {
            return None;
        }
        match self.frame_at(self.offset) {
            Ok(range) => {
                let offset = self.offset as u64;
                self.offset = range.end;
                let payload = self.bytes.get(range).unwrap_or_default().to_vec();
                Some(Ok(Record { offset, payload }))
            }
            Err(why) if self.valid_frame_after(self.offset) => Some(Err(self.error(
                FrameErrorKind::Corrupt,
                format!("{why}, followed by valid records"),
            ))),
            Err(why) => Some(Err(
                self.error(FrameErrorKind::Torn, format!("torn tail: {why}"))
            )),
        }
    }
}
