//! The operating-system side of the launcher: spawning a detached node,
//! recognising it again later by its pid file, signalling it, and probing its
//! CQL port. Only `std::process` and the `kill` command: no libc.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::layout::NodePaths;

/// How long a port probe waits for the connection: loopback answers at once,
/// so this only bounds a wedged listener.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Starts `binary server --config <node's basalt.yaml>` with its output
/// appended to the node's log, in a process group of its own so that neither
/// the launcher exiting nor a Ctrl-C at the launcher's terminal reaches it.
pub(super) fn spawn(binary: &Path, paths: &NodePaths) -> io::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)?;
    let stderr = log.try_clone()?;
    Command::new(binary)
        .arg("server")
        .arg("--config")
        .arg(&paths.config)
        .current_dir(&paths.dir)
        // The log is a file, not a terminal: no colour escapes in it.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
}

/// The pid recorded in the node's pid file, if there is a readable one.
pub(super) fn read_pid(paths: &NodePaths) -> Option<u32> {
    std::fs::read_to_string(&paths.pid)
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Whether `pid` is a live `basalt server` for the node whose configuration is
/// at `config`.
///
/// A pid file can outlive its process (SIGKILL, a reboot) and the pid can be
/// reused by an unrelated program, so on Linux the process's command line must
/// name the node's configuration file; that also rules out zombies, whose
/// command line is empty. Without `/proc`, `kill -0` is the best there is.
pub(super) fn is_node_process(pid: u32, config: &Path) -> bool {
    if Path::new("/proc/self").exists() {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let config = config.as_os_str().as_encoded_bytes();
        cmdline.split(|b| *b == 0).any(|arg| arg == config)
    } else {
        signal(pid, "0").unwrap_or(false)
    }
}

/// Whether `pid` has finished exiting: gone, or a zombie with no thread left.
///
/// A dying process loses its command line (its memory) before it closes its
/// sockets, so [`is_node_process`] turning false is not enough to know that
/// the node's ports are free. Nor is the zombie state alone: a multi-threaded
/// process's main thread can be a zombie while other threads still hold the
/// sockets open. The files are closed once the zombie is the last thread.
pub(super) fn has_exited(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return !signal(pid, "0").unwrap_or(false);
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // `pid (comm) state …`; comm may itself contain parentheses and spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    if !matches!(state, Some('Z' | 'X') | None) {
        return false;
    }
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(true, |tasks| tasks.count() <= 1)
}

/// Sends `signal` (`TERM`, `KILL`, `0`) to `pid` with the `kill` command;
/// `Ok(false)` when `kill` reports failure (typically: no such process).
pub(super) fn signal(pid: u32, signal: &str) -> io::Result<bool> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(status.success())
}

/// Whether something accepts TCP connections at `addr`.
pub(super) fn port_open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).is_ok()
}

/// The last `max_bytes` of the file at `path`, from the first full line, for
/// error messages; empty if it cannot be read.
pub(super) fn tail(path: &Path, max_bytes: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(max_bytes);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = match (start > 0, text.split_once('\n')) {
        (true, Some((_, rest))) => rest,
        _ => &text,
    };
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_whole_lines_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "first line\nsecond line\nthird\n").unwrap();
        assert_eq!(tail(&path, 12), "third");
        assert_eq!(tail(&path, 1000), "first line\nsecond line\nthird");
        assert_eq!(tail(&dir.path().join("missing"), 10), "");
    }

    #[test]
    fn our_own_process_is_not_taken_for_a_node() {
        let pid = std::process::id();
        assert!(!is_node_process(pid, Path::new("/no/such/basalt.yaml")));
        assert!(!is_node_process(u32::MAX, Path::new("/x")));
        assert!(!has_exited(pid));
        assert!(has_exited(u32::MAX));
    }
}
