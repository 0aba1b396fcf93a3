//! The `basalt` command line: `basalt server [flags]`, `basalt cluster …`
//! (defined in [`crate::launcher::cli`]), `basalt --version`, and logging
//! set-up. A `nodetool` subcommand will join them in [`Command`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, ConfigError, Override};

/// Basalt, a Cassandra-compatible wide-column database.
#[derive(Debug, Parser)]
#[command(name = "basalt", version, about, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node.
    Server(ServerArgs),
    /// Run a local cluster of N nodes on 127.0.0.1 … 127.0.0.N.
    Cluster(crate::launcher::cli::ClusterArgs),
    /// Operator commands against a running node (Cassandra's nodetool).
    Nodetool(crate::nodetool::NodetoolArgs),
}

/// `basalt server`: flags override the configuration file, which overrides the
/// built-in defaults. Flags are applied in the order listed here, `--set` last,
/// and are checked by the same rules as the file.
#[derive(Debug, Default, Args)]
pub struct ServerArgs {
    /// YAML configuration file (default: the built-in single-node configuration).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep data in DIR/data and the commit log in DIR/commitlog.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Sets `listen_address`.
    #[arg(long, value_name = "IP")]
    pub listen_address: Option<String>,
    /// Sets `native_transport_port`.
    #[arg(long, value_name = "PORT")]
    pub native_transport_port: Option<String>,
    /// Sets `cluster_name`.
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Sets `commitlog_sync`: periodic, batch or group.
    #[arg(long, value_name = "MODE")]
    pub commitlog_sync: Option<String>,
    /// Sets `memtable_space`, in MiB.
    #[arg(long, value_name = "N")]
    pub memtable_space_mib: Option<String>,
    /// Sets any configuration key; the value is read as YAML. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = Override::parse)]
    pub set: Vec<Override>,
}

impl ServerArgs {
    /// The flags as configuration overrides, in the order they apply.
    pub fn overrides(&self) -> Vec<Override> {
        let mut overrides = Vec::new();
        if let Some(dir) = &self.data_dir {
            let data = dir.join("data").display().to_string();
            overrides.push(Override::list("data_file_directories", &[data]));
            let commitlog = dir.join("commitlog").display().to_string();
            overrides.push(Override::text("commitlog_directory", &commitlog));
        }
        // Text flags stay strings (a cluster named `1` is not a number); the
        // numeric ones are read as YAML so that `abc` is reported as "expected
        // an integer" by the configuration's own rules.
        let flags = [
            ("listen_address", &self.listen_address, false),
            ("native_transport_port", &self.native_transport_port, true),
            ("cluster_name", &self.cluster_name, false),
            ("commitlog_sync", &self.commitlog_sync, false),
            ("memtable_space", &self.memtable_space_mib, true),
        ];
        for (key, value, numeric) in flags {
            match value {
                Some(v) if numeric => overrides.push(Override::yaml(key, v)),
                Some(v) => overrides.push(Override::text(key, v)),
                None => {}
            }
        }
        overrides.extend(self.set.iter().cloned());
        overrides
    }

    /// Loads the file (or the defaults), applies the flags, and validates.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        Config::load_with_overrides(self.config.as_deref(), &self.overrides())
    }
}

/// Sends `tracing` output to stderr, filtered by `RUST_LOG` (default `info`).
///
/// An unparsable `RUST_LOG` falls back to `info` and is reported once logging
/// works, rather than stopping the node over a logging typo.
pub fn init_logging() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (filter, bad) = match EnvFilter::try_from_default_env() {
        Ok(filter) => (filter, None),
        Err(e) => {
            let set = std::env::var_os(EnvFilter::DEFAULT_ENV).is_some();
            (EnvFilter::new("info"), set.then(|| e.to_string()))
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()?;
    if let Some(e) = bad {
        tracing::warn!("ignoring RUST_LOG ({e}); logging at info");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> ServerArgs {
        let cli =
            Cli::try_parse_from(std::iter::once("basalt").chain(args.iter().copied())).unwrap();
        match cli.command {
            Command::Server(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_flag_is_handled_by_clap() {
        let err = Cli::try_parse_from(["basalt", "--version"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn flags_override_the_defaults() {
        let args = parse(&[
            "server",
            "--data-dir",
            "/srv/b",
            "--listen-address",
            "10.0.0.5",
            "--native-transport-port",
            "9142",
            "--cluster-name",
            "1",
            "--commitlog-sync",
            "batch",
            "--memtable-space-mib",
            "512",
            "--set",
            "num_tokens=8",
            "--set",
            "seeds=[10.0.0.1, 10.0.0.2]",
        ]);
        let config = args.load_config().unwrap();
        assert_eq!(config.data_file_directories, [PathBuf::from("/srv/b/data")]);
        assert_eq!(
            config.commitlog_directory,
            PathBuf::from("/srv/b/commitlog")
        );
        assert_eq!(config.listen_address.to_string(), "10.0.0.5");
        assert_eq!(config.native_transport_port, 9142);
        assert_eq!(config.cluster_name, "1");
        assert_eq!(config.commitlog_sync, crate::config::CommitLogSync::Batch);
        assert_eq!(config.memtable_space, 512);
        assert_eq!(config.num_tokens, 8);
        assert_eq!(config.seeds, ["10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn bad_flags_are_reported_with_the_configuration_problems() {
        let args = parse(&[
            "server",
            "--native-transport-port",
            "0",
            "--memtable-space-mib",
            "lots",
            "--set",
            "bogus=1",
        ]);
        let problems = args.load_config().unwrap_err().problems;
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("native_transport_port:"));
        assert!(problems[1].starts_with("memtable_space: expected an integer"));
        assert_eq!(problems[2], "unknown key `bogus`");
    }

    #[test]
    fn set_without_equals_is_refused_by_the_parser() {
        let err = Cli::try_parse_from(["basalt", "server", "--set", "num_tokens"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn a_subcommand_is_required() {
        assert!(Cli::try_parse_from(["basalt"]).is_err());
    }
}
