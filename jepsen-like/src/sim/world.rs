//! The simulated cluster: every node and the clients as hosts, each on its
//! own paused current-thread tokio runtime, stepped in lockstep on one
//! thread over one [`SimNetwork`].
//!
//! A step moves simulated time by [`TICK_MS`]: the network delivers what is
//! due, then each running host runs until its clock reaches the new time
//! (tokio jumps its paused clock from timer to timer), nodes in index order,
//! then the clients. Nothing reads the machine's clock or runs on another
//! thread, so a run is a function of its seed.
//!
//! Faults act on hosts: a crash powers the node's disk off (unsynced bytes
//! are lost), drops its runtime with every task and request in it, and
//! detaches it from the network; a restart boots a new runtime over the same
//! disk. A paused node is not stepped; when it resumes, its clock jumps to
//! the present and every timer it missed fires at once, as after SIGCONT.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use basalt::{CommitLogSync, Config, Node, NodeEnv};
use cluster::sim::{Delay, SimConfig, SimNetwork};
use storage::sim::SimFs;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::client::{Job, NodeQueue, QUEUE, Slots};
use super::time;

/// Simulated milliseconds per step.
pub(crate) const TICK_MS: u64 = 5;
/// The internode port every node listens on.
const STORAGE_PORT: u16 = 7000;

/// One runtime and the simulated time it was created at.
pub(crate) struct Host {
    rt: Runtime,
    base: Instant,
    base_sim_micros: i64,
}

impl Host {
    fn new(now_ms: u64) -> Result<Host, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let base = rt.block_on(async { Instant::now() });
        Ok(Host {
            rt,
            base,
            base_sim_micros: millis_to_micros(now_ms),
        })
    }

    /// Runs the host's tasks until its clock reads `now_ms`.
    fn run_to(&self, now_ms: u64, skew_micros: i64) {
        let since_base = millis_to_micros(now_ms).saturating_sub(self.base_sim_micros);
        let target = self.base + Duration::from_micros(u64::try_from(since_base).unwrap_or(0));
        time::enter(self.base, self.base_sim_micros, skew_micros);
        self.rt
            .block_on(async move { tokio::time::sleep_until(target).await });
        time::leave();
    }

    /// Enters the host's runtime, so what is created now (a recorder's
    /// clock, its writer task) belongs to it.
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.rt.enter()
    }

    /// Takes the output of a future that is already ready (a finished
    /// task): simulated time does not move.
    pub(crate) fn block_on<F: Future>(&self, ready: F) -> F::Output {
        self.rt.block_on(ready)
    }

    /// Spawns `task` on the host (it runs when the host is next stepped).
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(task)
    }
}

fn millis_to_micros(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX / 1000) * 1000
}

/// A node's state between steps.
#[derive(Default)]
enum Running {
    /// Powered off.
    #[default]
    Down,
    /// Booted; the node is `Some` once it started.
    Up {
        host: Host,
        node: Arc<Mutex<Option<Arc<Node>>>>,
    },
}

/// One simulated node: its disk survives crashes, its runtime does not.
pub(crate) struct SimNode {
    pub(crate) index: usize,
    pub(crate) fs: SimFs,
    config: Config,
    running: Running,
    pub(crate) paused: bool,
    pub(crate) skew_micros: i64,
    /// Starts, counting restarts.
    pub(crate) boots: u32,
}

impl SimNode {
    fn address(index: usize) -> IpAddr {
        IpAddr::from([10, 0, 0, u8::try_from(index).unwrap_or(u8::MAX)])
    }

    pub(crate) fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(Self::address(self.index), STORAGE_PORT)
    }

    /// The node, once it has started and while it runs.
    pub(crate) fn node(&self) -> Option<Arc<Node>> {
        match &self.running {
            Running::Up { node, .. } => node.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            Running::Down => None,
        }
    }

    pub(crate) fn host(&self) -> Option<&Host> {
        match &self.running {
            Running::Up { host, .. } => Some(host),
            Running::Down => None,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        matches!(self.running, Running::Up { .. })
    }
}

/// A node's configuration in the simulation: its own address, node 1 as the
/// seed, a small memtable so flushes happen, batch commit-log sync (a write
/// is acknowledged once fsynced).
fn node_config(index: usize, tokens: u32) -> Config {
    let address = SimNode::address(index);
    Config {
        cluster_name: "jepsen-like sim".to_owned(),
        listen_address: address,
        rpc_address: address,
        storage_port: STORAGE_PORT,
        seeds: vec![SimNode::address(1).to_string()],
        data_file_directories: vec![PathBuf::from("/data")],
        commitlog_directory: PathBuf::from("/data/commitlog"),
        commitlog_sync: CommitLogSync::Batch,
        commitlog_total_space: Some(64),
        // A segment is allocated whole, in memory: keep it small.
        commitlog_segment_size: 1,
        memtable_space: 1,
        num_tokens: tokens,
        read_request_timeout: 1000,
        write_request_timeout: 1000,
        range_request_timeout: 2000,
        hints_flush_period: 1000,
        ..Config::default()
    }
}

/// The whole simulated cluster.
pub(crate) struct World {
    pub(crate) net: SimNetwork,
    pub(crate) nodes: Vec<SimNode>,
    pub(crate) clients: Host,
    pub(crate) slots: Slots,
    now_ms: u64,
    /// Crashes tear the writes in progress (the chaos profile).
    pub(crate) torn_crashes: bool,
    /// Draws how crashes tear, from the seed.
    tears: u64,
    /// How long a message takes between healthy nodes.
    pub(crate) normal_delay: Delay,
}

impl World {
    /// `n` nodes, none started yet; messages take `latency_ms` (a range, so
    /// they overtake each other), drawn from `seed`.
    pub(crate) fn new(
        seed: u64,
        n: usize,
        tokens: u32,
        latency_ms: (u64, u64),
    ) -> Result<World, String> {
        let normal_delay = Delay::Uniform {
            min_ms: latency_ms.0,
            max_ms: latency_ms.1,
        };
        let net = SimNetwork::new(
            seed,
            SimConfig {
                drop_probability: 0.0,
                delay: normal_delay,
                queue_capacity: 4096,
            },
        );
        let nodes = (1..=n)
            .map(|index| SimNode {
                index,
                fs: SimFs::new(),
                config: node_config(index, tokens),
                running: Running::Down,
                paused: false,
                skew_micros: 0,
                boots: 0,
            })
            .collect();
        Ok(World {
            net,
            nodes,
            clients: Host::new(0)?,
            slots: Arc::new(Mutex::new(vec![None; n])),
            now_ms: 0,
            torn_crashes: false,
            tears: seed,
            normal_delay,
        })
    }

    /// Simulated milliseconds since the start.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// One step of [`TICK_MS`].
    pub(crate) fn step(&mut self) {
        self.now_ms += TICK_MS;
        self.net.advance_to(self.now_ms);
        for node in &self.nodes {
            if let (Some(host), false) = (node.host(), node.paused) {
                host.run_to(self.now_ms, node.skew_micros);
            }
        }
        self.clients.run_to(self.now_ms, 0);
    }

    /// Steps until `done` holds or `limit_ms` passes; whether it held.
    pub(crate) fn step_until(
        &mut self,
        limit_ms: u64,
        mut done: impl FnMut(&World) -> bool,
    ) -> bool {
        let end = self.now_ms + limit_ms;
        while self.now_ms < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Boots node `i` (from 1) over its disk: the node starts on its new
    /// runtime and serves requests once started.
    pub(crate) fn boot(&mut self, i: usize) -> Result<(), String> {
        let now_ms = self.now_ms;
        let slots = Arc::clone(&self.slots);
        let net = self.net.clone();
        let sim = self.node_mut(i)?;
        if sim.is_up() {
            return Ok(());
        }
        sim.fs.restart();
        let host = Host::new(now_ms)?;
        let transport = Arc::new(net.register(sim.endpoint()));
        let env = NodeEnv {
            fs: Arc::new(sim.fs.clone()),
            transport: Some(transport),
            wall_source: Some(time::wall_micros),
            listen: false,
            storage_background: storage::Background::Inline,
        };
        let started = Arc::new(Mutex::new(None));
        host.spawn(serve(
            sim.config.clone(),
            env,
            Arc::clone(&started),
            slots,
            i,
        ));
        sim.boots += 1;
        sim.running = Running::Up {
            host,
            node: started,
        };
        Ok(())
    }

    /// Cuts node `i`'s power: unsynced writes are lost (or, with
    /// `torn_crashes`, torn: a prefix of them reaches the disk), its runtime with
    /// every task and request in it is dropped, and it leaves the network.
    pub(crate) fn crash(&mut self, i: usize) -> Result<(), String> {
        let endpoint = self.node_mut(i)?.endpoint();
        self.net.unregister(endpoint);
        let queue = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(i - 1)
            .and_then(Option::take);
        if let Some(queue) = queue {
            queue.fail_pending();
        }
        self.tears = self
            .tears
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let (torn, tear) = (self.torn_crashes, self.tears);
        let sim = self.node_mut(i)?;
        if torn {
            sim.fs.halt_torn(tear);
        } else {
            sim.fs.halt();
        }
        sim.paused = false;
        let running = std::mem::take(&mut sim.running);
        if let Running::Up { host, node } = running {
            node.lock().unwrap_or_else(PoisonError::into_inner).take();
            // Dropping the runtime drops every task of the node; whatever
            // they touch on the halted disk fails.
            drop(host);
        }
        Ok(())
    }

    pub(crate) fn node_mut(&mut self, i: usize) -> Result<&mut SimNode, String> {
        self.nodes
            .get_mut(i.wrapping_sub(1))
            .ok_or_else(|| format!("no node n{i}"))
    }

    /// Every node that runs and has started.
    pub(crate) fn started(&self) -> Vec<(usize, Arc<Node>)> {
        self.nodes
            .iter()
            .filter_map(|n| n.node().map(|node| (n.index, node)))
            .collect()
    }
}

/// Starts the node, publishes it, then answers client requests until the
/// runtime is dropped.
async fn serve(
    config: Config,
    env: NodeEnv,
    started: Arc<Mutex<Option<Arc<Node>>>>,
    slots: Slots,
    index: usize,
) {
    let node = match Node::start_with(&config, env).await {
        Ok(node) => Arc::new(node),
        Err(e) => {
            eprintln!("sim: n{index} failed to start: {e}");
            return;
        }
    };
    *started.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&node));
    let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE);
    let pending = Arc::default();
    if let Some(slot) = slots
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(index - 1)
    {
        *slot = Some(NodeQueue {
            jobs,
            pending: Arc::clone(&pending),
        });
    }
    while let Some(job) = rx.recv().await {
        let (node, pending) = (Arc::clone(&node), Arc::clone(&pending));
        tokio::spawn(async move {
            let reply = node.execute(&job.session, job.request).await;
            NodeQueue::answer(&pending, job.id, reply);
        });
    }
}
