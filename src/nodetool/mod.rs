//! `basalt nodetool`: Cassandra's operator commands over a node's admin API,
//! printed in Cassandra's layouts so operators' habits and scripts carry over.
//!
//! Exit codes follow Cassandra's nodetool: 0 on success, 1 for usage errors and
//! an unreachable node, 2 when the node reports an error.

mod cli;
pub(crate) mod client;
pub(crate) mod format;
pub(crate) mod report;

use std::io::Write;
use std::process::ExitCode;

pub use cli::{NodetoolArgs, NodetoolCommand};
use client::{AdminClient, ClientError, encode};

use crate::admin::api;

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub code: u8,
}

/// Runs a command against the node `args` names.
pub fn execute(args: &NodetoolArgs) -> Output {
    let client = AdminClient::new(&args.host, args.port);
    match dispatch(&client, &args.command) {
        Ok(stdout) => Output {
            stdout,
            stderr: String::new(),
            code: 0,
        },
        Err(Failed::Usage(message)) => Output {
            stdout: String::new(),
            stderr: format!("nodetool: {message}\nSee 'basalt nodetool --help' for usage.\n"),
            code: 1,
        },
        Err(Failed::Client(ClientError::Connect(line))) => Output {
            stdout: String::new(),
            stderr: format!("{line}\n"),
            code: 1,
        },
        Err(Failed::Client(ClientError::Api(message) | ClientError::Protocol(message))) => Output {
            stdout: String::new(),
            stderr: format!("error: {message}\n"),
            code: 2,
        },
    }
}

/// Runs a command and prints its output: the `basalt nodetool` entry point.
pub fn run(args: &NodetoolArgs) -> ExitCode {
    let output = execute(args);
    let _ = std::io::stdout().write_all(output.stdout.as_bytes());
    let _ = std::io::stderr().write_all(output.stderr.as_bytes());
    ExitCode::from(output.code)
}

/// Reports a command-line error and exits: with 1 for `basalt nodetool` (as
/// Cassandra's nodetool does), with clap's own code otherwise.
pub fn exit_on_usage_error(error: clap::Error) -> ! {
    let nodetool = std::env::args().nth(1).as_deref() == Some("nodetool");
    if nodetool && error.use_stderr() {
        let _ = error.print();
        std::process::exit(1);
    }
    error.exit()
}

enum Failed {
    Usage(String),
    Client(ClientError),
}

impl From<ClientError> for Failed {
    fn from(e: ClientError) -> Self {
        Failed::Client(e)
    }
}

fn dispatch(client: &AdminClient, command: &NodetoolCommand) -> Result<String, Failed> {
    let keyspace_query = |ks: &Option<String>| {
        ks.as_ref()
            .map_or_else(String::new, |k| format!("?keyspace={}", encode(k)))
    };
    Ok(match command {
        NodetoolCommand::Status { keyspace } => {
            format::status(&client.get(&format!("/v1/status{}", keyspace_query(keyspace)))?)
        }
        NodetoolCommand::Ring { keyspace } => {
            format::ring(&client.get(&format!("/v1/ring{}", keyspace_query(keyspace)))?)
        }
        NodetoolCommand::Info { tokens } => report::info(&client.get("/v1/info")?, *tokens),
        NodetoolCommand::Describecluster => {
            report::describe_cluster(&client.get("/v1/describecluster")?)
        }
        NodetoolCommand::Gossipinfo => report::gossip_info(&client.get("/v1/gossipinfo")?),
        NodetoolCommand::Getendpoints {
            keyspace,
            table,
            key,
        } => {
            let path = format!(
                "/v1/endpoints?keyspace={}&table={}&key={}",
                encode(keyspace),
                encode(table),
                encode(key)
            );
            report::endpoints(&client.get(&path)?)
        }
        NodetoolCommand::Flush { keyspace, tables } => {
            client.post::<api::Done>(&tables_path("/v1/flush", keyspace, tables))?;
            String::new()
        }
        NodetoolCommand::Compact { keyspace, tables } => {
            client.post::<api::Done>(&tables_path("/v1/compact", keyspace, tables))?;
            String::new()
        }
        NodetoolCommand::Tablestats { names } => table_stats(client, names)?,
        NodetoolCommand::Drain => {
            client.post::<api::Done>("/v1/drain")?;
            String::new()
        }
        NodetoolCommand::Version => report::version(&client.get("/v1/version")?),
    })
}

fn tables_path(base: &str, keyspace: &Option<String>, tables: &[String]) -> String {
    match keyspace {
        None => base.to_owned(),
        Some(ks) if tables.is_empty() => format!("{base}?keyspace={}", encode(ks)),
        Some(ks) => {
            let tables: Vec<String> = tables.iter().map(|t| encode(t)).collect();
            format!("{base}?keyspace={}&tables={}", encode(ks), tables.join(","))
        }
    }
}

/// `tablestats [ks[.table]]...`: every table, then only those named (an unknown
/// name is an error, as in Cassandra).
fn table_stats(client: &AdminClient, names: &[String]) -> Result<String, Failed> {
    let wanted: Vec<(&str, Option<&str>)> = names
        .iter()
        .map(|n| match n.split_once('.') {
            Some((ks, t)) if ks.is_empty() || t.is_empty() || t.contains('.') => Err(
                Failed::Usage(format!("Invalid table name '{n}': expected ks or ks.table")),
            ),
            Some((ks, t)) => Ok((ks, Some(t))),
            None if n.is_empty() => Err(Failed::Usage("Empty keyspace name".to_owned())),
            None => Ok((n.as_str(), None)),
        })
        .collect::<Result<_, _>>()?;
    let mut stats: api::TableStats = client.get("/v1/tablestats")?;
    if wanted.is_empty() {
        return Ok(report::table_stats(&stats));
    }
    for (ks, table) in &wanted {
        let known = stats
            .keyspaces
            .iter()
            .any(|k| k.name == *ks && table.is_none_or(|t| k.tables.iter().any(|x| x.name == t)));
        if !known {
            let name = table.map_or_else(|| (*ks).to_owned(), |t| format!("{ks}.{t}"));
            return Err(Failed::Client(ClientError::Api(format!(
                "Unknown keyspace or table: {name}"
            ))));
        }
    }
    for ks in &mut stats.keyspaces {
        ks.tables.retain(|t| {
            wanted
                .iter()
                .any(|(k, table)| *k == ks.name && table.is_none_or(|x| x == t.name))
        });
    }
    stats.keyspaces.retain(|k| !k.tables.is_empty());
    Ok(report::table_stats(&stats))
}
