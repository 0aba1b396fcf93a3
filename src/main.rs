//! The `basalt` binary. The node (`basalt server`) and `basalt nodetool` arrive
//! with the CQL and cluster layers; until then the binary only reports its
//! version, and the storage engine is exercised by its tests and by the
//! storage benchmark in `bench/`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("version") => {
            println!("basalt {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "basalt {}: no commands are available yet (the server arrives with the CQL layer).\n\
                 Run the storage benchmark with: cargo run --release --manifest-path bench/Cargo.toml",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::from(2)
        }
    }
}
