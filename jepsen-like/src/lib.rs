//! Basalt's fault-injection verification, in the spirit of Jepsen: workloads
//! run through real CQL connections while a nemesis cuts links, kills,
//! pauses and skews nodes; every operation is recorded in a history; the
//! checkers decide whether the history keeps the promises Basalt makes
//! (`docs/verification.md`).
//!
//! What this crate is: the history format ([`history`]) and the checkers
//! over it ([`checker`]), pure and tested with hand-built histories; the
//! process tier that runs real `basalt` binaries as test hosts in network
//! namespaces; with the `sim` feature, the simulation tier (`sim`), which
//! runs the node's own code as a whole cluster in one thread over simulated
//! disk, network and time, seed by seed. What it is not: a load generator
//! or a benchmark.
//!
//! The process tier is one command (root is needed for the namespaces):
//! `cargo run --release -p jepsen-like -- run [--profile ci|default|skew|full]
//! [--seed N] [--binary PATH]`. It builds `basalt` unless given a binary,
//! starts the nodes as hosts `10.99.0.1…` on a private bridge, runs the
//! workloads under the seeded nemesis plan, heals, reads every key at ALL,
//! checks the history and writes `target/jepsen-like/<UTC time>/`
//! (`history.jsonl`, `results.json`, `nemesis.log`, `nI/node.log`,
//! `report.html`). Exit status 0 valid, 1 invalid, 2 unknown. `ci.sh` is
//! the CI entry.
#![forbid(unsafe_code)]

pub mod checker;
pub mod cli;
pub mod history;
pub mod report;
#[cfg(feature = "sim")]
pub mod sim;

mod clock;
mod final_phase;
mod http;
mod nemesis;
mod netns;
mod nodes;
mod recorder;
mod run;
mod settings;
mod workload;
