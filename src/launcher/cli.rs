//! `basalt cluster …`: the command-line face of [`Cluster`], printing what it
//! did; the nodes run the executable that runs this command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Cluster, LauncherError, StartOptions};

/// `basalt cluster`: run a local cluster on 127.0.0.1 … 127.0.0.N.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The cluster's directory.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "basalt-cluster"
    )]
    pub dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// The `basalt cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create and start a cluster (`--nodes N`), restart one stopped node
    /// (`NODE`), or start every stopped node (neither).
    Start(StartArgs),
    /// One line per node: name, address, pid, running or stopped, CQL port.
    Status,
    /// SIGTERM to every node, then wait for them to exit.
    Stop,
    /// SIGKILL to one node.
    Kill {
        /// The node, e.g. `node2`.
        node: String,
    },
    /// Stop every node and remove the cluster's directory.
    Clear,
}

/// `basalt cluster start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Create a cluster of N nodes (1 to 9) on 127.0.0.1 … 127.0.0.N.
    #[arg(long, value_name = "N", conflicts_with = "node")]
    pub nodes: Option<usize>,
    /// Every node uses CQL PORT, storage PORT+1 and admin PORT+2 instead of
    /// 9042, 7000 and 7199.
    #[arg(long, value_name = "PORT", requires = "nodes")]
    pub base_port: Option<u16>,
    /// Restart this stopped node with its existing configuration.
    pub node: Option<String>,
}

/// Runs a `basalt cluster` command: exit 0 on success, 1 with the reason on
/// stderr otherwise.
pub fn run(args: &ClusterArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(args: &ClusterArgs) -> Result<(), LauncherError> {
    let binary = std::env::current_exe().map_err(|e| LauncherError::Io {
        path: PathBuf::from("<current executable>"),
        source: e,
    })?;
    match &args.command {
        ClusterCommand::Start(start) => match (start.nodes, &start.node) {
            (Some(nodes), _) => {
                let options = StartOptions {
                    nodes,
                    base_port: start.base_port,
                    binary,
                };
                start_all(Cluster::create(&args.dir, &options)?)
            }
            (None, Some(node)) => {
                let mut cluster = Cluster::open(&args.dir, binary)?;
                start_one(&mut cluster, node)
            }
            (None, None) => start_all(Cluster::open(&args.dir, binary)?),
        },
        ClusterCommand::Status => {
            let cluster = Cluster::open(&args.dir, binary)?;
            for status in cluster.status() {
                println!("{status}");
            }
            Ok(())
        }
        ClusterCommand::Stop => {
            Cluster::open(&args.dir, binary)?.stop()?;
            println!("stopped");
            Ok(())
        }
        ClusterCommand::Kill { node } => {
            Cluster::open(&args.dir, binary)?.kill(node)?;
            println!("{node} killed");
            Ok(())
        }
        ClusterCommand::Clear => {
            let cluster = Cluster::open(&args.dir, binary)?;
            let dir = cluster.dir().to_path_buf();
            cluster.clear()?;
            println!("removed {}", dir.display());
            Ok(())
        }
    }
}

/// Starts every stopped node in order, printing each as it comes up.
fn start_all(mut cluster: Cluster) -> Result<(), LauncherError> {
    let stopped: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| n.name.clone())
        .filter(|name| cluster.pid(name).is_none())
        .collect();
    if stopped.is_empty() {
        println!("every node is already running");
    }
    for name in &stopped {
        start_one(&mut cluster, name)?;
    }
    Ok(())
}

fn start_one(cluster: &mut Cluster, name: &str) -> Result<(), LauncherError> {
    let pid = cluster.start_node(name)?;
    let node = cluster.node(name)?;
    println!(
        "{name} up: pid {pid}, CQL {}, log {}",
        node.cql_addr(),
        cluster.log_path(name)?.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<ClusterArgs, clap::Error> {
        let cli = Cli::try_parse_from(["basalt", "cluster"].iter().chain(args))?;
        match cli.command {
            Command::Cluster(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn start_takes_a_node_count_or_a_node_name() {
        let args = parse(&["start", "--nodes", "3", "--base-port", "19000"]).unwrap();
        assert_eq!(args.dir, PathBuf::from("basalt-cluster"));
        let ClusterCommand::Start(start) = args.command else {
            panic!("not start")
        };
        assert_eq!((start.nodes, start.base_port), (Some(3), Some(19_000)));
        let args = parse(&["start", "node2", "--dir", "/tmp/c"]).unwrap();
        assert_eq!(args.dir, PathBuf::from("/tmp/c"));
        let ClusterCommand::Start(start) = args.command else {
            panic!("not start")
        };
        assert_eq!(start.node.as_deref(), Some("node2"));
        assert!(parse(&["start", "--nodes", "3", "node2"]).is_err());
        assert!(parse(&["start", "--base-port", "19000"]).is_err());
    }

    #[test]
    fn dir_is_accepted_before_the_subcommand_too() {
        let args = parse(&["--dir", "/tmp/c", "kill", "node1"]).unwrap();
        assert_eq!(args.dir, PathBuf::from("/tmp/c"));
        assert!(matches!(args.command, ClusterCommand::Kill { node } if node == "node1"));
    }
}
