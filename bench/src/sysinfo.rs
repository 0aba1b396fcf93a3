//! What the process itself reports through /proc: bytes written, peak RSS; and directory sizes.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};

/// Write counters of /proc/self/io (the whole process: every thread, live or exited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IoCounters {
    /// Bytes passed to write(2)-family calls, whether or not they reached the disk yet.
    pub(crate) wchar: u64,
    /// Bytes of page cache this process dirtied (sent to the block layer eventually).
    pub(crate) write_bytes: u64,
    /// Dirtied bytes that never reached disk because the file was truncated or deleted first.
    pub(crate) cancelled_write_bytes: u64,
}

impl IoCounters {
    pub(crate) fn read() -> Result<Self> {
        let text = std::fs::read_to_string("/proc/self/io").context("reading /proc/self/io")?;
        parse_io(&text)
    }

    /// write_bytes net of cancelled writes: what the block device actually had to take.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.write_bytes.saturating_sub(self.cancelled_write_bytes)
    }
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub(crate) fn parse_io(text: &str) -> Result<IoCounters> {
    let get = |n: &str| field(text, n).with_context(|| format!("no `{n}` in /proc/self/io"));
    Ok(IoCounters {
        wchar: get("wchar")?,
        write_bytes: get("write_bytes")?,
        cancelled_write_bytes: get("cancelled_write_bytes")?,
    })
}

/// Peak resident set size (VmHWM) of this process, in bytes.
pub(crate) fn peak_rss_bytes() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    parse_vm_hwm(&text)
}

pub(crate) fn parse_vm_hwm(text: &str) -> Result<u64> {
    let kib = field(text, "VmHWM").context("no VmHWM in /proc/self/status")?;
    Ok(kib * 1024)
}

/// Bytes allocated on disk (st_blocks × 512, what `du` shows) by all regular files under `dir`.
///
/// Allocated rather than apparent size: fjall's journal has a 64 MiB apparent length of which
/// only the written part occupies the disk, and sparse or preallocated files should count for
/// what they really hold.
pub(crate) fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if meta.is_file() {
            total += meta.blocks() * 512;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_io() -> Result<()> {
        let text = "rchar: 10\nwchar: 2000\nsyscr: 1\nsyscw: 2\nread_bytes: 0\n\
                    write_bytes: 4096\ncancelled_write_bytes: 1024\n";
        let io = parse_io(text)?;
        assert_eq!(
            io,
            IoCounters {
                wchar: 2000,
                write_bytes: 4096,
                cancelled_write_bytes: 1024
            }
        );
        assert_eq!(io.device_bytes(), 3072);
        assert!(parse_io("rchar: 1\n").is_err());
        Ok(())
    }

    #[test]
    fn parses_vm_hwm() -> Result<()> {
        let text = "Name:\tx\nVmPeak:\t  999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(text)?, 2048 * 1024);
        assert!(parse_vm_hwm("VmRSS: 1 kB\n").is_err());
        Ok(())
    }

    #[test]
    fn live_counters_move() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let before = IoCounters::read()?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("a"), [0u8; 1000])?;
        std::fs::write(dir.path().join("sub/b"), [0u8; 24])?;
        assert!(IoCounters::read()?.wchar >= before.wchar + 1024);
        let on_disk = dir_bytes(dir.path())?;
        assert!(on_disk >= 1024 && on_disk % 512 == 0, "{on_disk}");
        assert!(peak_rss_bytes()? > 0);
        Ok(())
    }
}
