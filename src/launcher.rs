//! A local cluster launcher in the spirit of ccm: N `basalt server` processes
//! on 127.0.0.1 … 127.0.0.N, each with its own directory, configuration, log
//! and pid file under one cluster directory.
//!
//! The launcher only manages processes and configuration files; it knows
//! nothing of what the nodes say to each other. The on-disk layout:
//!
//! ```text
//! DIR/cluster.yaml          node names, addresses and ports
//! DIR/nodeK/basalt.yaml     the node's configuration
//! DIR/nodeK/data/           its data and commit log
//! DIR/nodeK/node.log        its stdout and stderr, appended across restarts
//! DIR/nodeK/pid             the pid of its last start
//! ```
//!
//! Node K listens on 127.0.0.K (Linux routes all of 127.0.0.0/8 to loopback)
//! on Cassandra's ports, or on `base`, `base + 1`, `base + 2` when a base port
//! is given (see [`StartOptions::base_port`]). Every node names the first as
//! its seed. [`Cluster`] is the API; [`cli`] is `basalt cluster` on top of it.

pub(crate) mod cli;
mod layout;
mod process;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use layout::{LAYOUT_FILE, Layout, NodePaths};

pub use layout::MAX_NODES;
pub use layout::NodeSpec;

/// How long one node may take to accept CQL connections after it is spawned.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long nodes may take to exit after SIGTERM: they flush memtables first.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to disappear after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
/// How much of a node's log an error message quotes.
const LOG_TAIL_BYTES: u64 = 2_000;

/// Why a launcher operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LauncherError {
    /// A file or directory operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The node count is out of range.
    #[error("--nodes must be between 1 and {MAX_NODES}, not {0}")]
    NodeCount(usize),
    /// The base port leaves no room for a node's three ports.
    #[error("--base-port {0} must be between 1 and 65533 (a node uses it, +1 and +2)")]
    BasePort(u16),
    /// The directory has no `cluster.yaml`.
    #[error(
        "{0} holds no cluster (no {LAYOUT_FILE}); create one with `basalt cluster start --nodes N`"
    )]
    NoCluster(PathBuf),
    /// The directory exists, is not empty, and is not a cluster's.
    #[error("{0} is not empty and holds no cluster; pick another --dir")]
    NotEmpty(PathBuf),
    /// `cluster.yaml` could not be read or written.
    #[error("{path}: {problem}")]
    Layout {
        /// The layout file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A new cluster was asked for where nodes are still running.
    #[error("nodes are running in {dir}: {}; stop them first (`basalt cluster stop`)", .nodes.join(", "))]
    Running {
        /// The cluster directory.
        dir: PathBuf,
        /// The running nodes.
        nodes: Vec<String>,
    },
    /// No node has this name.
    #[error("no node named `{0}` in this cluster")]
    UnknownNode(String),
    /// The node is already running.
    #[error("{0} is already running")]
    AlreadyRunning(String),
    /// The node is not running.
    #[error("{0} is not running")]
    NotRunning(String),
    /// Something else already accepts connections on the node's CQL address.
    #[error(
        "{node}: something already listens on {addr}; stop it, or give the cluster other ports with --base-port"
    )]
    PortInUse {
        /// The node.
        node: String,
        /// Its CQL address.
        addr: SocketAddr,
    },
    /// The node's process could not be spawned.
    #[error("cannot start {node} ({binary}): {source}")]
    Spawn {
        /// The node.
        node: String,
        /// The executable.
        binary: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The node exited before it accepted CQL connections.
    #[error("{node} exited ({status}) before accepting CQL connections; see {log}:\n{tail}")]
    Exited {
        /// The node.
        node: String,
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The end of its log.
        tail: String,
    },
    /// The node did not accept CQL connections in time.
    #[error("{node} did not accept CQL connections on {addr} within {} s; see {log}", .timeout.as_secs())]
    StartTimeout {
        /// The node.
        node: String,
        /// Its CQL address.
        addr: SocketAddr,
        /// How long the launcher waited.
        timeout: Duration,
        /// Its log file.
        log: PathBuf,
    },
    /// Nodes were still running when the launcher stopped waiting.
    #[error("still running {} s after SIG{signal}: {}", .timeout.as_secs(), .nodes.join(", "))]
    StopTimeout {
        /// The signal sent.
        signal: &'static str,
        /// The nodes still running.
        nodes: Vec<String>,
        /// How long the launcher waited.
        timeout: Duration,
    },
    /// `kill` failed on a process that is still running.
    #[error("kill -{signal} {pid} ({node}) failed")]
    Signal {
        /// The node.
        node: String,
        /// Its pid.
        pid: u32,
        /// The signal.
        signal: &'static str,
    },
}

impl LauncherError {
    fn io(path: &Path, source: std::io::Error) -> LauncherError {
        LauncherError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What `basalt cluster start --nodes N` creates.
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// How many nodes, 1 to [`MAX_NODES`].
    pub nodes: usize,
    /// `None`: every node uses CQL 9042, storage 7000, admin 7199. `Some(b)`:
    /// every node uses CQL `b`, storage `b + 1`, admin `b + 2`, so tests can
    /// run a cluster beside a developer's node. The ports are the same on
    /// every node since each node has its own address.
    pub base_port: Option<u16>,
    /// The `basalt` executable the nodes run.
    pub binary: PathBuf,
}

/// One node's state, as `basalt cluster status` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    /// The node's name.
    pub name: String,
    /// Its address.
    pub address: IpAddr,
    /// Its CQL port.
    pub cql_port: u16,
    /// Its pid, when it is running.
    pub pid: Option<u32>,
    /// Whether something accepts connections on its CQL address.
    pub cql_open: bool,
}

impl NodeStatus {
    /// Whether the node's process is running.
    pub fn running(&self) -> bool {
        self.pid.is_some()
    }
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let state = if self.running() { "running" } else { "stopped" };
        let cql = if self.cql_open { "open" } else { "closed" };
        write!(
            f,
            "{:<6} {:<10} pid {:<8} {:<8} CQL {} {cql}",
            self.name, self.address, pid, state, self.cql_port
        )
    }
}

/// A local cluster: its directory, layout, and the node processes this
/// launcher started (kept so their exits are reaped).
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    binary: PathBuf,
    layout: Layout,
    children: HashMap<String, Child>,
}

impl Cluster {
    /// Lays out a new cluster in `dir`: `cluster.yaml` and every node's
    /// `basalt.yaml`. Starts nothing; [`Cluster::start`] does.
    ///
    /// `dir` may be new, empty, or an old cluster's directory with nothing
    /// running, whose layout and configurations are then replaced (its nodes'
    /// data is kept; `clear` removes it).
    pub fn create(dir: &Path, options: &StartOptions) -> Result<Cluster, LauncherError> {
        let layout = Layout::new(options.nodes, options.base_port)?;
        if dir.join(LAYOUT_FILE).exists() {
            let old = Cluster::open(dir, options.binary.clone())?;
            let running = old.running_nodes();
            if !running.is_empty() {
                return Err(LauncherError::Running {
                    dir: dir.to_path_buf(),
                    nodes: running,
                });
            }
        } else if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(LauncherError::NotEmpty(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|e| LauncherError::io(dir, e))?;
        // Absolute paths in the configurations, so a node restarted from any
        // working directory finds its data.
        let dir = std::fs::canonicalize(dir).map_err(|e| LauncherError::io(dir, e))?;
        for node in &layout.nodes {
            let paths = NodePaths::new(&dir, node);
            std::fs::create_dir_all(&paths.dir).map_err(|e| LauncherError::io(&paths.dir, e))?;
            let yaml = layout.node_config(node, &paths.dir).to_yaml();
            std::fs::write(&paths.config, yaml).map_err(|e| LauncherError::io(&paths.config, e))?;
        }
        layout.save(&dir)?;
        Ok(Cluster {
            dir,
            binary: options.binary.clone(),
            layout,
            children: HashMap::new(),
        })
    }

    /// The cluster laid out in `dir`; `binary` runs nodes it (re)starts.
    pub fn open(dir: &Path, binary: PathBuf) -> Result<Cluster, LauncherError> {
        let layout = Layout::load(dir)?;
        let dir = std::fs::canonicalize(dir).map_err(|e| LauncherError::io(dir, e))?;
        Ok(Cluster {
            dir,
            binary,
            layout,
            children: HashMap::new(),
        })
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The nodes, first (the seed) first.
    pub fn nodes(&self) -> &[NodeSpec] {
        &self.layout.nodes
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&NodeSpec, LauncherError> {
        self.layout
            .nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| LauncherError::UnknownNode(name.to_owned()))
    }

    /// The node's log file.
    pub fn log_path(&self, name: &str) -> Result<PathBuf, LauncherError> {
        Ok(NodePaths::new(&self.dir, self.node(name)?).log)
    }

    /// Starts every stopped node, one at a time in order (the seed first),
    /// each only once the one before accepts CQL connections. Returns the
    /// names of the nodes it started.
    pub fn start(&mut self) -> Result<Vec<String>, LauncherError> {
        let mut started = Vec::new();
        for name in self.node_names() {
            if self.pid(&name).is_none() {
                self.start_node(&name)?;
                started.push(name);
            }
        }
        Ok(started)
    }

    /// Starts the stopped node `name` with its existing configuration, and
    /// waits (up to [`START_TIMEOUT`]) until it accepts CQL connections.
    pub fn start_node(&mut self, name: &str) -> Result<u32, LauncherError> {
        let node = self.node(name)?.clone();
        let paths = NodePaths::new(&self.dir, &node);
        if self.pid(name).is_some() {
            return Err(LauncherError::AlreadyRunning(node.name));
        }
        if !paths.config.exists() {
            let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
            return Err(LauncherError::io(&paths.config, missing));
        }
        // Otherwise the wait below would mistake the other listener for the node.
        if process::port_open(node.cql_addr()) {
            return Err(LauncherError::PortInUse {
                addr: node.cql_addr(),
                node: node.name,
            });
        }
        let child =
            process::spawn(&self.binary, &paths).map_err(|source| LauncherError::Spawn {
                node: node.name.clone(),
                binary: self.binary.clone(),
                source,
            })?;
        let pid = child.id();
        self.children.insert(node.name.clone(), child);
        std::fs::write(&paths.pid, format!("{pid}\n"))
            .map_err(|e| LauncherError::io(&paths.pid, e))?;
        self.wait_until_serving(&node, &paths)?;
        Ok(pid)
    }

    /// Polls the node's CQL port until it accepts, the process exits, or
    /// [`START_TIMEOUT`] passes.
    fn wait_until_serving(
        &mut self,
        node: &NodeSpec,
        paths: &NodePaths,
    ) -> Result<(), LauncherError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if process::port_open(node.cql_addr()) {
                return Ok(());
            }
            if let Some(status) = self.exit_status(&node.name) {
                return Err(LauncherError::Exited {
                    node: node.name.clone(),
                    status,
                    log: paths.log.clone(),
                    tail: process::tail(&paths.log, LOG_TAIL_BYTES),
                });
            }
            if Instant::now() >= deadline {
                return Err(LauncherError::StartTimeout {
                    node: node.name.clone(),
                    addr: node.cql_addr(),
                    timeout: START_TIMEOUT,
                    log: paths.log.clone(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// The exit status of a node this launcher spawned, once it has exited
    /// (reaping it); `None` while it runs or if another launcher spawned it.
    fn exit_status(&mut self, name: &str) -> Option<String> {
        let child = self.children.get_mut(name)?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.children.remove(name);
                Some(status.to_string())
            }
            Ok(None) => None,
            Err(e) => Some(format!("cannot tell: {e}")),
        }
    }

    /// SIGKILL to the running node `name`, waiting (briefly) until it is gone.
    pub fn kill(&mut self, name: &str) -> Result<(), LauncherError> {
        let node = self.node(name)?.name.clone();
        if self.pid(&node).is_none() {
            return Err(LauncherError::NotRunning(node));
        }
        self.signal_and_wait(&[node], "KILL", KILL_TIMEOUT)
    }

    /// SIGTERM to the running node `name`, then waits (up to
    /// [`STOP_TIMEOUT`]) for it to exit, flushing its memtables on the way
    /// out; the others keep running.
    pub fn stop_node(&mut self, name: &str) -> Result<(), LauncherError> {
        let node = self.node(name)?.name.clone();
        if self.pid(&node).is_none() {
            return Err(LauncherError::NotRunning(node));
        }
        self.signal_and_wait(&[node], "TERM", STOP_TIMEOUT)
    }

    /// SIGTERM to every running node, then waits (up to [`STOP_TIMEOUT`]) for
    /// all of them to exit; each flushes its memtables on the way out.
    pub fn stop(&mut self) -> Result<(), LauncherError> {
        let running = self.running_nodes();
        self.signal_and_wait(&running, "TERM", STOP_TIMEOUT)
    }

    /// SIGKILL to every running node, ignoring failures: for clean-up after a
    /// failed test or a stop that timed out.
    pub fn kill_all(&mut self) {
        let running = self.running_nodes();
        let _ = self.signal_and_wait(&running, "KILL", KILL_TIMEOUT);
    }

    /// Stops every node (SIGKILL for any that ignore SIGTERM) and removes the
    /// cluster directory.
    pub fn clear(mut self) -> Result<(), LauncherError> {
        if self.stop().is_err() {
            self.kill_all();
        }
        let running = self.running_nodes();
        if !running.is_empty() {
            return Err(LauncherError::StopTimeout {
                signal: "KILL",
                nodes: running,
                timeout: KILL_TIMEOUT,
            });
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| LauncherError::io(&self.dir, e))
    }

    /// Every node's state, in order.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.layout
            .nodes
            .iter()
            .map(|node| NodeStatus {
                name: node.name.clone(),
                address: node.address,
                cql_port: node.native_transport_port,
                pid: self.pid(&node.name),
                cql_open: process::port_open(node.cql_addr()),
            })
            .collect()
    }

    /// The pid of the node `name` if it is running.
    pub fn pid(&self, name: &str) -> Option<u32> {
        let node = self.node(name).ok()?;
        let paths = NodePaths::new(&self.dir, node);
        process::read_pid(&paths).filter(|&pid| process::is_node_process(pid, &paths.config))
    }

    fn node_names(&self) -> Vec<String> {
        self.layout.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn running_nodes(&self) -> Vec<String> {
        let mut names = self.node_names();
        names.retain(|name| self.pid(name).is_some());
        names
    }

    /// Sends `signal` to each of `names` still running, then waits up to
    /// `timeout` for all of them to finish exiting, reaping the ones this
    /// launcher spawned and removing their pid files.
    fn signal_and_wait(
        &mut self,
        names: &[String],
        signal: &'static str,
        timeout: Duration,
    ) -> Result<(), LauncherError> {
        let mut waiting = Vec::new();
        for name in names {
            let Some(pid) = self.pid(name) else { continue };
            let sent = process::signal(pid, signal).unwrap_or(false);
            // `kill` also fails when the process exited in the meantime.
            if !sent && self.pid(name).is_some() {
                return Err(LauncherError::Signal {
                    node: name.clone(),
                    pid,
                    signal,
                });
            }
            waiting.push((name.clone(), pid));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let mut still = Vec::new();
            for (name, pid) in waiting {
                if let Some(child) = self.children.get_mut(&name) {
                    // Reaps it if it has exited, so it stops being a zombie.
                    let _ = child.try_wait();
                }
                if process::has_exited(pid) {
                    self.forget(&name);
                } else {
                    still.push((name, pid));
                }
            }
            waiting = still;
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LauncherError::StopTimeout {
                    signal,
                    nodes: waiting.into_iter().map(|(name, _)| name).collect(),
                    timeout,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Drops what is known about a node's last process: it has exited.
    fn forget(&mut self, name: &str) {
        self.children.remove(name);
        if let Ok(node) = self.node(name) {
            let _ = std::fs::remove_file(NodePaths::new(&self.dir, node).pid);
        }
    }
}
