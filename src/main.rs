//! The `basalt` binary. `basalt server` loads and validates the configuration;
//! serving CQL arrives with the CQL and cluster layers.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use basalt::cli::{Cli, Command, ServerArgs, init_logging};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging() {
        eprintln!("basalt: cannot set up logging: {e}");
    }
    match cli.command {
        Command::Server(args) => server(&args),
    }
}

/// Until the server is wired up this validates the configuration, prints it,
/// and exits with 1 so nothing mistakes it for a node that ran and stopped.
fn server(args: &ServerArgs) -> ExitCode {
    match args.load_config() {
        Ok(config) => {
            print!("{}", config.to_yaml());
            eprintln!("basalt: configuration is valid; server wiring pending");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("basalt: {e}");
            ExitCode::from(2)
        }
    }
}
