//! Basalt's fault-injection verification, in the spirit of Jepsen: workloads
//! run through real CQL connections while a nemesis cuts links, kills,
//! pauses and skews nodes; every operation is recorded in a history; the
//! checkers decide whether the history keeps the promises Basalt makes
//! (`docs/verification.md`).
//!
//! What this crate is: the history format ([`history`]) and the checkers
//! over it ([`checker`]), pure and tested with hand-built histories; the
//! process tier that runs real `basalt` binaries as test hosts in network
//! namespaces. What it is not: a load generator or a benchmark.
#![forbid(unsafe_code)]

pub mod checker;
pub mod history;
pub mod report;
