//! Carrying out the plan: each fault is applied, recorded as a nemesis
//! `Start`, held, healed and recorded as a `Stop`; every action and error is
//! also written to `nemesis.log`.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Fault, Plan};
use crate::history::Function;
use crate::netns::{self, Subnet};
use crate::nodes::Cluster;
use crate::recorder::Recorder;

/// The nemesis: the cluster it acts on, the history and its log.
#[derive(Debug)]
pub(crate) struct Nemesis {
    cluster: Arc<Cluster>,
    recorder: Recorder,
    subnet: Subnet,
    log: Mutex<File>,
}

impl Nemesis {
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        recorder: Recorder,
        subnet: Subnet,
        log: &Path,
    ) -> std::io::Result<Nemesis> {
        Ok(Nemesis {
            cluster,
            recorder,
            subnet,
            log: Mutex::new(File::create(log)?),
        })
    }

    /// Appends a line to `nemesis.log`, stamped with the run's clock.
    pub(crate) fn log(&self, line: &str) {
        let t = self.recorder.start().elapsed().as_secs_f64();
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(log, "[{t:8.3}s] {line}");
    }

    /// Runs every step of `plan`, its times counted from the recorder's start.
    pub(crate) async fn run(&self, plan: &Plan) {
        let zero = self.recorder.start();
        for step in &plan.steps {
            tokio::time::sleep_until(zero + Duration::from_millis(step.at_ms)).await;
            let description = step.fault.describe();
            let active = self.apply(&step.fault).await;
            self.log(&format!("start {description}"));
            self.recorder.nemesis(Function::Start, &description).await;
            tokio::time::sleep_until(zero + Duration::from_millis(step.at_ms + step.hold_ms)).await;
            if let Some(task) = active {
                task.abort();
                let _ = task.await;
            }
            self.heal(&step.fault).await;
            self.log(&format!("stop {description}"));
            self.recorder.nemesis(Function::Stop, &description).await;
        }
    }

    fn report(&self, what: &str, result: Result<(), String>) {
        if let Err(e) = result {
            self.log(&format!("error: {what}: {e}"));
        }
    }

    /// Starts `fault`; a fault that keeps acting (strobe, storms) returns its
    /// task, aborted when the window ends.
    async fn apply(&self, fault: &Fault) -> Option<JoinHandle<()>> {
        for (node, rules) in fault.rules() {
            let applied = netns::apply_rules(self.subnet, node, &rules).await;
            self.report(&format!("firewall n{node}"), applied);
        }
        match fault {
            Fault::Kill { nodes } => {
                for &i in nodes {
                    self.report(&format!("kill n{i}"), self.cluster.kill(i).await);
                }
            }
            Fault::Pause { nodes } => {
                for &i in nodes {
                    self.report(&format!("pause n{i}"), self.cluster.pause(i).await);
                }
            }
            Fault::ClockBump { node, delta_ms } => {
                self.report("clock", self.cluster.skew(*node, *delta_ms).await);
            }
            Fault::ClockStrobe { node, delta_ms, .. } if !self.cluster.clock_is_live() => {
                self.log("no libfaketime: the strobe is a single bump");
                self.report("clock", self.cluster.skew(*node, *delta_ms).await);
            }
            Fault::ClockStrobe {
                node,
                delta_ms,
                period_ms,
            } => {
                return Some(tokio::spawn(strobe(
                    Arc::clone(&self.cluster),
                    *node,
                    *delta_ms,
                    Duration::from_millis(*period_ms),
                )));
            }
            Fault::Flush { nodes } => {
                return Some(tokio::spawn(storm(
                    Arc::clone(&self.cluster),
                    nodes.clone(),
                    "flush",
                )));
            }
            Fault::Compact { nodes } => {
                let cluster = Arc::clone(&self.cluster);
                return Some(tokio::spawn(storm(cluster, nodes.clone(), "compact")));
            }
            _ => {}
        }
        None
    }

    /// Ends `fault`: firewalls removed, clocks reset, paused nodes resumed,
    /// killed nodes restarted on their data.
    async fn heal(&self, fault: &Fault) {
        for node in fault.rules().into_keys() {
            self.report(&format!("heal n{node}"), netns::heal(node).await);
        }
        match fault {
            Fault::Kill { nodes } => {
                for &i in nodes {
                    let started = self.cluster.start(i, "restarted after a kill").await;
                    self.report(&format!("restart n{i}"), started);
                }
            }
            Fault::Pause { nodes } => {
                for &i in nodes {
                    self.report(&format!("resume n{i}"), self.cluster.resume(i).await);
                }
            }
            Fault::ClockBump { node, .. } | Fault::ClockStrobe { node, .. } => {
                self.report("clock reset", self.cluster.skew(*node, 0).await);
            }
            _ => {}
        }
    }
}

/// Flips `node`'s clock between +0 and `delta_ms` every `period`.
async fn strobe(cluster: Arc<Cluster>, node: usize, delta_ms: i64, period: Duration) {
    let mut skewed = false;
    loop {
        skewed = !skewed;
        let _ = cluster.set_clock(node, if skewed { delta_ms } else { 0 });
        tokio::time::sleep(period).await;
    }
}

/// `POST /v1/flush` (or compact) on `nodes`, one after another, for as long
/// as the task lives.
async fn storm(cluster: Arc<Cluster>, nodes: Vec<usize>, what: &'static str) {
    loop {
        for &i in &nodes {
            // A node that is down or cut off cannot flush: not an error of
            // the storm, which only adds load where it can.
            let _ = cluster.admin_post(i, what).await;
        }
        // A pause between rounds keeps a storm from spinning when a node is
        // unreachable and calls fail at once.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The final phase's heal: every firewall removed, every clock reset, every
/// node resumed, and every node that is not running started again.
pub(crate) async fn heal_all(nemesis: &Nemesis) {
    let cluster = &nemesis.cluster;
    for i in 1..=cluster.len() {
        nemesis.report(&format!("heal n{i}"), netns::heal(i).await);
        nemesis.report(&format!("clock reset n{i}"), cluster.skew(i, 0).await);
        nemesis.report(&format!("resume n{i}"), cluster.resume(i).await);
        if !cluster.is_running(i).await {
            nemesis.log(&format!("n{i} is not running: starting it"));
            let started = cluster.start(i, "started by the final phase").await;
            nemesis.report(&format!("start n{i}"), started);
        }
    }
    nemesis.log("healed everything");
}
