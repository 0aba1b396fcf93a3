//! `basalt nodetool`'s flags and commands, as Cassandra's nodetool spells them.

use clap::{Args, Subcommand};

/// `basalt nodetool [-h HOST] [-p PORT] <command>`: talks to a node's admin API.
#[derive(Debug, Clone, Args)]
#[command(disable_help_flag = true)]
pub struct NodetoolArgs {
    /// The node's host name or address (`-h`, as Cassandra's nodetool has it).
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    pub host: String,
    /// The node's admin port.
    #[arg(short = 'p', long = "port", default_value_t = 7199)]
    pub port: u16,
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The command.
    #[command(subcommand)]
    pub command: NodetoolCommand,
}

/// The nodetool commands Basalt supports.
#[derive(Debug, Clone, Subcommand)]
pub enum NodetoolCommand {
    /// Cluster state: per data center, each node's state, load, tokens and ownership.
    Status {
        /// Effective ownership for this keyspace.
        keyspace: Option<String>,
    },
    /// Every token of the ring, with its node.
    Ring {
        /// Effective ownership for this keyspace.
        keyspace: Option<String>,
    },
    /// This node's identity, load, uptime and memory.
    Info {
        /// List every token.
        #[arg(short = 'T', long = "tokens")]
        tokens: bool,
    },
    /// Name, snitch, partitioner and schema versions of the cluster.
    Describecluster,
    /// Every endpoint's gossip state.
    Gossipinfo,
    /// The replicas of a partition key.
    Getendpoints {
        /// Keyspace.
        keyspace: String,
        /// Table.
        table: String,
        /// The partition key (components separated by `:`).
        key: String,
    },
    /// Flush memtables to SSTables.
    Flush {
        /// Keyspace (default: all).
        keyspace: Option<String>,
        /// Tables (default: all of the keyspace).
        tables: Vec<String>,
    },
    /// Major compaction.
    Compact {
        /// Keyspace (default: all).
        keyspace: Option<String>,
        /// Tables (default: all of the keyspace).
        tables: Vec<String>,
    },
    /// Per-table statistics.
    #[command(alias = "cfstats")]
    Tablestats {
        /// `ks` or `ks.table`, any number (default: all).
        names: Vec<String>,
    },
    /// Stop serving clients and flush every memtable.
    Drain,
    /// The release version.
    Version,
}
