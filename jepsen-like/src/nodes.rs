//! The nodes: one `basalt server` per host, started as `ip netns exec jl-nI
//! basalt server --config <run>/nI/basalt.yaml` in its own process group, its
//! output in `<run>/nI/node.log`, its wall clock under libfaketime driven by
//! the file `<run>/nI/clock` (`+0` until the clock nemesis writes it). Kill
//! (SIGKILL to the group), restart on the same data, pause (SIGSTOP) and
//! resume (SIGCONT), and the admin API calls the harness needs.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::time::Duration;

use serde::Serialize;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::http;
use crate::netns::{LIBFAKETIME, Subnet, ns_name};

mod skew;

pub(crate) const CQL_PORT: u16 = 9042;
const STORAGE_PORT: u16 = 7000;
const ADMIN_PORT: u16 = 7199;
/// How often a wait polls a port or the admin API.
const POLL: Duration = Duration::from_millis(250);
/// One admin API call: longer than a flush or compaction of our small tables.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A node's `basalt.yaml`: Cassandra's key names, as `src/config.rs` reads
/// them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct NodeConfig {
    cluster_name: String,
    listen_address: IpAddr,
    rpc_address: IpAddr,
    native_transport_port: u16,
    storage_port: u16,
    admin_port: u16,
    data_file_directories: Vec<PathBuf>,
    commitlog_directory: PathBuf,
    /// An acknowledged write is on disk: what P1 assumes.
    commitlog_sync: &'static str,
    num_tokens: u32,
    seeds: Vec<String>,
    /// MiB per segment: small, so segments roll over during a run and a run
    /// directory stays tens of MiB (segments are preallocated).
    commitlog_segment_size: u64,
    /// MiB: small, so flushes and compactions happen during a short run.
    memtable_space: u64,
    /// ms: below the client's deadline, so a coordinator's timeout reaches
    /// the client as a timeout error rather than as the client giving up.
    read_request_timeout: u64,
    write_request_timeout: u64,
    range_request_timeout: u64,
    /// ms; the fallback clock skew when libfaketime cannot be used.
    clock_offset: i64,
}

impl NodeConfig {
    /// Node `i` of a cluster on `subnet`, its data under `dir`.
    pub(crate) fn new(subnet: Subnet, i: usize, dir: &Path) -> NodeConfig {
        let ip = IpAddr::V4(subnet.node(i));
        NodeConfig {
            cluster_name: "jepsen".to_owned(),
            listen_address: ip,
            rpc_address: ip,
            native_transport_port: CQL_PORT,
            storage_port: STORAGE_PORT,
            admin_port: ADMIN_PORT,
            data_file_directories: vec![dir.join("data").join("data")],
            commitlog_directory: dir.join("data").join("commitlog"),
            commitlog_sync: "batch",
            num_tokens: 16,
            // Every node on the default storage port, so a bare address is a
            // complete seed.
            seeds: vec![subnet.node(1).to_string()],
            commitlog_segment_size: 4,
            memtable_space: 4,
            read_request_timeout: 1000,
            write_request_timeout: 1000,
            range_request_timeout: 2000,
            clock_offset: 0,
        }
    }

    pub(crate) fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

/// Where one node's files are.
#[derive(Clone, Debug)]
pub(crate) struct NodeFiles {
    pub(crate) dir: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) clock: PathBuf,
}

/// A node's process, when it has one.
#[derive(Debug, Default)]
struct Proc {
    child: Option<Child>,
    paused: bool,
}

/// The cluster's node processes.
#[derive(Debug)]
pub(crate) struct Cluster {
    subnet: Subnet,
    binary: PathBuf,
    canary: Option<String>,
    files: Vec<NodeFiles>,
    procs: Vec<Mutex<Proc>>,
    /// Whether libfaketime is loaded in the nodes (`skew`).
    faketime: AtomicBool,
    /// Per node, the `clock_offset` its YAML has (used when it is not).
    offsets: Vec<AtomicI64>,
}

/// `kill -SIG -- -PGID`: the whole process group.
async fn signal_group(pgid: u32, signal: &str) -> Result<(), String> {
    let out = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("kill: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "kill {signal} -{pgid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Cluster {
    /// Writes every node's configuration and clock file under `run_dir/nI`.
    pub(crate) fn prepare(
        run_dir: &Path,
        subnet: Subnet,
        n: usize,
        binary: PathBuf,
        canary: Option<String>,
    ) -> std::io::Result<Cluster> {
        let mut files = Vec::new();
        for i in 1..=n {
            let dir = run_dir.join(format!("n{i}"));
            std::fs::create_dir_all(dir.join("data"))?;
            let f = NodeFiles {
                config: dir.join("basalt.yaml"),
                log: dir.join("node.log"),
                clock: dir.join("clock"),
                dir,
            };
            std::fs::write(&f.config, NodeConfig::new(subnet, i, &f.dir).to_yaml())?;
            std::fs::write(&f.clock, "+0\n")?;
            files.push(f);
        }
        let procs = (0..n).map(|_| Mutex::new(Proc::default())).collect();
        Ok(Cluster {
            subnet,
            binary,
            canary,
            files,
            procs,
            faketime: AtomicBool::new(true),
            offsets: (0..n).map(|_| AtomicI64::new(0)).collect(),
        })
    }

    /// The nodes whose log does not say the `--canary` bug is active (none
    /// without a canary): a binary built without `fault-injection` ignores
    /// `BASALT_CANARY`, and a canary run of the correct code proves nothing.
    pub(crate) fn canary_inactive(&self) -> Vec<usize> {
        let Some(name) = &self.canary else {
            return Vec::new();
        };
        let line = format!("canary {name} is active");
        (1..=self.files.len())
            .filter(|&i| {
                let log = self
                    .files
                    .get(i - 1)
                    .map(|f| std::fs::read_to_string(&f.log));
                !matches!(log, Some(Ok(text)) if text.contains(&line))
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    pub(crate) fn cql_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.subnet.node(i)), CQL_PORT)
    }

    fn admin_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.subnet.node(i)), ADMIN_PORT)
    }

    fn proc(&self, i: usize) -> Result<&Mutex<Proc>, String> {
        self.procs
            .get(i.wrapping_sub(1))
            .ok_or(format!("no node n{i}"))
    }

    fn files(&self, i: usize) -> Result<&NodeFiles, String> {
        self.files
            .get(i.wrapping_sub(1))
            .ok_or(format!("no node n{i}"))
    }

    /// Starts node `i` unless it runs. `why` goes into its log first, so the
    /// log shows where each incarnation begins.
    pub(crate) async fn start(&self, i: usize, why: &str) -> Result<(), String> {
        let mut proc = self.proc(i)?.lock().await;
        if let Some(child) = proc.child.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            return Ok(());
        }
        let f = self.files(i)?;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&f.log)
            .map_err(|e| format!("{}: {e}", f.log.display()))?;
        let _ = writeln!(log, "==== jepsen-like: {why}");
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns_name(i)])
            .arg(&self.binary)
            .args(["server", "--config"])
            .arg(&f.config)
            .current_dir(&f.dir)
            .env("NO_COLOR", "1")
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &f.clock)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own group: a Ctrl-C at the terminal reaches only the
            // harness, which then tears the hosts down itself.
            .process_group(0);
        if let Some(canary) = &self.canary {
            cmd.env("BASALT_CANARY", canary);
        }
        let child = cmd.spawn().map_err(|e| format!("starting n{i}: {e}"))?;
        *proc = Proc {
            child: Some(child),
            paused: false,
        };
        Ok(())
    }

    /// SIGKILLs node `i`'s group and reaps it; a node that is not running is
    /// left alone.
    pub(crate) async fn kill(&self, i: usize) -> Result<(), String> {
        let mut proc = self.proc(i)?.lock().await;
        if let Some(mut child) = proc.child.take() {
            if let Some(pid) = child.id() {
                signal_group(pid, "-KILL").await?;
            }
            let _ = child.wait().await;
        }
        proc.paused = false;
        Ok(())
    }

    /// SIGSTOPs node `i`.
    pub(crate) async fn pause(&self, i: usize) -> Result<(), String> {
        let mut proc = self.proc(i)?.lock().await;
        if let Some(pid) = proc.child.as_ref().and_then(Child::id) {
            signal_group(pid, "-STOP").await?;
            proc.paused = true;
        }
        Ok(())
    }

    /// SIGCONTs node `i` (harmless when it runs).
    pub(crate) async fn resume(&self, i: usize) -> Result<(), String> {
        let mut proc = self.proc(i)?.lock().await;
        if let Some(pid) = proc.child.as_ref().and_then(Child::id) {
            signal_group(pid, "-CONT").await?;
        }
        proc.paused = false;
        Ok(())
    }

    /// Node `i`'s process id (also its group's), if it has a process.
    async fn pid(&self, i: usize) -> Option<u32> {
        self.proc(i)
            .ok()?
            .lock()
            .await
            .child
            .as_ref()
            .and_then(Child::id)
    }

    /// Whether node `i`'s process is alive (stopped counts as alive).
    pub(crate) async fn is_running(&self, i: usize) -> bool {
        let Ok(proc) = self.proc(i) else {
            return false;
        };
        let mut proc = proc.lock().await;
        proc.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Sets node `i`'s clock offset (libfaketime re-reads the file on every
    /// clock read). The file is replaced by a rename, so a read never sees
    /// half a line.
    pub(crate) fn set_clock(&self, i: usize, offset_ms: i64) -> Result<(), String> {
        let f = self.files(i)?;
        let tmp = f.clock.with_extension("tmp");
        std::fs::write(&tmp, clock_line(offset_ms)).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &f.clock).map_err(|e| e.to_string())
    }

    /// Waits until node `i` accepts TCP on its CQL port, or `deadline`.
    pub(crate) async fn wait_cql(&self, i: usize, deadline: Instant) -> bool {
        let addr = self.cql_addr(i);
        while Instant::now() < deadline {
            let probe = tokio::net::TcpStream::connect(addr);
            if let Ok(Ok(_)) = tokio::time::timeout(POLL, probe).await {
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        false
    }

    /// Node `i`'s view of the ring: `(address, "U"|"D"|"?", state)` per node.
    pub(crate) async fn status(&self, i: usize) -> Result<Vec<(String, String, String)>, String> {
        let (code, body) =
            http::call(self.admin_addr(i), "GET", "/v1/status", ADMIN_TIMEOUT).await?;
        if code != 200 {
            return Err(format!("n{i} /v1/status: HTTP {code}: {body}"));
        }
        let doc: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let dcs = doc["datacenters"].as_array().cloned().unwrap_or_default();
        for node in dcs
            .iter()
            .flat_map(|dc| dc["nodes"].as_array().cloned().unwrap_or_default())
        {
            let field = |k: &str| node[k].as_str().unwrap_or("").to_owned();
            out.push((field("address"), field("status"), field("state")));
        }
        Ok(out)
    }

    /// Waits until every node in `nodes` sees all of the cluster's nodes Up
    /// and Normal; the last view of the ones that do not, at the deadline.
    pub(crate) async fn wait_ring(&self, nodes: &[usize], deadline: Instant) -> Result<(), String> {
        let n = self.len();
        loop {
            let mut lagging = Vec::new();
            for &i in nodes {
                match self.status(i).await {
                    Ok(view)
                        if view.len() == n
                            && view.iter().all(|(_, s, st)| s == "U" && st == "N") => {}
                    Ok(view) => lagging.push(format!("n{i} sees {view:?}")),
                    Err(e) => lagging.push(e),
                }
            }
            if lagging.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(lagging.join("; "));
            }
            tokio::time::sleep(POLL * 2).await;
        }
    }

    /// `POST /v1/flush` or `/v1/compact` on node `i` for the test keyspace.
    pub(crate) async fn admin_post(&self, i: usize, what: &str) -> Result<(), String> {
        let path = format!("/v1/{what}?keyspace=jepsen");
        let (code, body) = http::call(self.admin_addr(i), "POST", &path, ADMIN_TIMEOUT).await?;
        if code == 200 {
            Ok(())
        } else {
            Err(format!("n{i} {path}: HTTP {code}: {body}"))
        }
    }

    /// `GET path` on node `i`: the status and the body.
    pub(crate) async fn admin_get(&self, i: usize, path: &str) -> Result<(u16, String), String> {
        http::call(self.admin_addr(i), "GET", path, ADMIN_TIMEOUT).await
    }

    /// Kills every node (at the end, or before teardown).
    pub(crate) async fn stop_all(&self) {
        for i in 1..=self.len() {
            let _ = self.kill(i).await;
        }
    }
}

/// libfaketime's offset syntax: signed seconds, fractions allowed.
pub(crate) fn clock_line(offset_ms: i64) -> String {
    let sign = if offset_ms < 0 { '-' } else { '+' };
    let abs = offset_ms.unsigned_abs();
    format!("{sign}{}.{:03}\n", abs / 1000, abs % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_yaml_uses_the_nodes_key_names() {
        let subnet = Subnet::parse("10.99.0").expect("valid");
        let yaml = NodeConfig::new(subnet, 2, Path::new("/r/n2")).to_yaml();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("valid YAML");
        let get = |k: &str| doc.get(k).cloned().unwrap_or(serde_yaml_ng::Value::Null);
        assert_eq!(get("listen_address").as_str(), Some("10.99.0.2"));
        assert_eq!(get("rpc_address").as_str(), Some("10.99.0.2"));
        assert_eq!(get("native_transport_port").as_u64(), Some(9042));
        assert_eq!(get("admin_port").as_u64(), Some(7199));
        assert_eq!(
            get("commitlog_directory").as_str(),
            Some("/r/n2/data/commitlog")
        );
        assert_eq!(get("commitlog_sync").as_str(), Some("batch"));
        assert_eq!(get("commitlog_segment_size").as_u64(), Some(4));
        let seeds = get("seeds");
        assert_eq!(seeds.get(0).and_then(|s| s.as_str()), Some("10.99.0.1"));
        let dirs = get("data_file_directories");
        assert_eq!(
            dirs.get(0).and_then(|s| s.as_str()),
            Some("/r/n2/data/data")
        );
        assert!(get("write_request_timeout").as_u64() < Some(1500));
    }

    #[test]
    fn clock_offsets_are_written_in_libfaketime_syntax() {
        assert_eq!(clock_line(0), "+0.000\n");
        assert_eq!(clock_line(1_250), "+1.250\n");
        assert_eq!(clock_line(-50), "-0.050\n");
        assert_eq!(clock_line(-10_000), "-10.000\n");
    }
}
