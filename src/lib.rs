//! The Basalt node: configuration, the schema catalog, CQL execution and the
//! wiring that serves it over the native protocol.
//!
//! It is the only crate that knows all the others: `storage` keeps the data,
//! `cql-lite` speaks the protocol and parses CQL, `cluster` places data on nodes.
//! The code map in `docs/ARCHITECTURE.md` says what each module may know.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod cql;
pub mod hlc;
pub mod launcher;
pub mod metrics;
pub mod node;
pub mod nodetool;
pub mod rowcodec;
pub mod schema;
pub mod uuids;
