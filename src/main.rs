//! The `basalt` binary. `basalt server` runs a node until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use basalt::{Cli, Command, ServerArgs, init_logging};
use clap::Parser;

/// mimalloc instead of glibc's malloc: the request path allocates many small,
/// short-lived buffers across threads, and glibc spent about a fifth of a point
/// read's server CPU in malloc, free and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| basalt::exit_on_usage_error(e));
    if let Err(e) = init_logging() {
        eprintln!("basalt: cannot set up logging: {e}");
    }
    match cli.command {
        Command::Server(args) => server(&args),
        Command::Cluster(args) => basalt::run_cluster(&args),
        Command::Nodetool(args) => basalt::run_nodetool(&args),
    }
}

/// Loads the configuration (exit 2 if invalid), then runs the node (exit 1 if it
/// fails to start or to shut down cleanly).
fn server(args: &ServerArgs) -> ExitCode {
    let config = match args.load_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("basalt: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("basalt")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("basalt: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(basalt::run_server(&config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt: {e}");
            ExitCode::FAILURE
        }
    }
}
