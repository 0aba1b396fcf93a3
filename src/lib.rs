//! The Basalt node: configuration, the schema catalog, CQL execution and the
//! wiring that serves it over the native protocol.
//!
//! It is the only crate that knows all the others: `storage` keeps the data,
//! `cql-lite` speaks the protocol and parses CQL, `cluster` places data on nodes.
//! The code map in `docs/ARCHITECTURE.md` says what each module may know.
//!
//! As a library it serves the `basalt` binary and the integration tests, not
//! embedders; its entry points are the binary's subcommands:
//! - [`Cli`]: the command line, parsed by `main`;
//! - `basalt server`: [`run_server`] runs a [`Node`] from a [`Config`]
//!   until it is told to stop;
//! - `basalt cluster`: [`run_cluster`] starts and stops a local [`Cluster`]
//!   of node processes;
//! - `basalt nodetool`: [`run_nodetool`] asks a node's admin API through an
//!   [`AdminClient`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Every type a public signature mentions can be named by the crate's users.
#![warn(unnameable_types)]

mod admin;
mod cli;
mod config;
mod coordinator;
mod cql;
mod entropy;
mod hlc;
mod launcher;
#[doc(hidden)]
pub mod metrics;
mod node;
mod nodetool;
mod rowcodec;
mod schema;
mod uuids;

// The command line, `basalt server | cluster | nodetool`: what `main` runs.
pub use cli::{Cli, Command, ServerArgs, init_logging};

// `basalt server`: one node, from its configuration.
pub use config::{CommitLogSync, Config, ConfigError, EndpointSnitch, Override};
pub use node::run as run_server;
pub use node::{INLINE_STORAGE_ROUND, Node, NodeEnv, NodeError};

// `basalt cluster`: a local cluster of node processes.
pub use launcher::cli::run as run_cluster;
pub use launcher::cli::{ClusterArgs, ClusterCommand, StartArgs};
pub use launcher::{
    Cluster, LauncherError, MAX_NODES, NodeSpec, NodeStatus, START_TIMEOUT, STOP_TIMEOUT,
    StartOptions,
};

// `basalt nodetool`: the admin API's client.
pub use nodetool::client::{AdminClient, ClientError};
pub use nodetool::{NodetoolArgs, NodetoolCommand};
pub use nodetool::{
    Output as NodetoolOutput, execute as execute_nodetool, exit_on_usage_error, run as run_nodetool,
};

// The versions a node reports to clients.
pub use schema::{CQL_VERSION, RELEASE_VERSION};

// What the integration tests drive or inspect without a network: the CQL
// executor over a local coordinator and the schema it reads, the node's
// cluster view and counters (`metrics`), the admin API's bodies. No promise
// to users.
#[doc(hidden)]
pub use admin::api as admin_api;
#[doc(hidden)]
pub use coordinator::{Coordinator, LocalCoordinator};
#[doc(hidden)]
pub use cql::executor::{Executor, ExecutorParts};
#[doc(hidden)]
pub use cql::{Guardrails, Outcome, TimeSource};
#[doc(hidden)]
pub use node::cluster::{
    ClusterParts, ClusterService, ClusterView, GossipView, MessagingPeers, ViewCell,
};
#[doc(hidden)]
pub use node::identity::Identity;
#[doc(hidden)]
pub use schema::{
    ColumnDef, ColumnKind, DroppedColumn, KeyspaceDef, KeyspaceTombstone, OpenError, PeerInfo,
    PersistError, Replication, Schema, TableDef, TableParams, TableTombstone,
};
#[doc(hidden)]
pub use schema::{NodeInfo, SchemaService, SystemTables};

/// What a deterministic simulation of a cluster (`jepsen-like`'s sim tier)
/// needs beyond [`NodeEnv`]: the node's randomness drawn from the run's seed,
/// and a canary selected in-process. No promise to users.
#[doc(hidden)]
pub mod sim {
    pub use crate::entropy::seed_thread;
    pub use crate::node::select_canary;
}
