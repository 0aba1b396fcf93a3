//! Basalt's fault-injection verification: workloads, nemeses (partitions,
//! crashes, pauses, clock skew) and checkers run against real nodes.
//!
//! Nothing is implemented yet: this crate is an empty placeholder until there is
//! a server to test.
#![forbid(unsafe_code)]
