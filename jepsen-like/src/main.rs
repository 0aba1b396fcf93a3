//! `jepsen-like run …`: the process tier (see the library's `cli`).

fn main() -> std::process::ExitCode {
    jepsen_like::cli::main()
}
