//! The history: one record per event, written as JSON lines
//! (`history.jsonl`), read back by the checkers.
//!
//! Jepsen's semantics: a client `Invoke`s an operation and completes it
//! with `Ok` (it happened), `Fail` (it certainly did not happen) or `Info`
//! (unknown: a timeout or a lost connection). A process that got `Info` is
//! retired; its next operation comes from a new process id. Nemesis events
//! are records too (`process` = [`NEMESIS`]), so fault windows are known.

use serde::{Deserialize, Serialize};

/// The process id of nemesis records.
pub const NEMESIS: u64 = u64::MAX;

/// How an event ends an operation, or that it starts one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation starts.
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown whether it happened.
    Info,
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// Write `value` to a register key, or add it to a set.
    Write,
    /// Read a key: a register's value, or a set's elements.
    Read,
    /// Add an element to a set.
    Add,
    /// Delete an element from a set.
    Delete,
    /// A logged batch writing `value` to several keys.
    Batch,
    /// The read of the final phase, after every fault is healed (CL ALL).
    FinalRead,
    /// A nemesis starts a fault (`value` describes it).
    Start,
    /// A nemesis heals a fault.
    Stop,
}

/// One event of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the history, from 0.
    pub index: u64,
    /// Nanoseconds since the run started (monotonic).
    pub time_ns: u64,
    /// The logical client process; [`NEMESIS`] for fault events.
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: OpType,
    #[serde(rename = "f")]
    pub function: Function,
    /// The workload (`register`, `set`, `delete`, `session`, `batch`,
    /// `nemesis`).
    pub workload: String,
    /// The key (independent keys: every key is checked on its own); for a
    /// batch, the keys joined by `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Written or read value(s). Writes carry one unique value; reads of a
    /// register carry `[value]` or `[]`, reads of a set its elements. A
    /// nemesis event carries its description as one string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    /// The write timestamp (µs) when the client chose it or read it back
    /// (`writetime`), per value in `values` for reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<i64>,
    /// The consistency level used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// The coordinator node the request went to (`n1`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The error text of a `Fail` or `Info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A value: written values are unique per key (writer process and
/// sequence number), so a read maps to exactly one write.
pub type Value = i64;

/// Reads a `history.jsonl`: one [`Event`] per non-empty line.
pub fn parse_jsonl(text: &str) -> Result<Vec<Event>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| format!("history line {}: {e}", n + 1))
        })
        .collect()
}

/// One JSON line for `event`, without the newline.
pub fn to_jsonl(event: &Event) -> String {
    // Serialising a struct of plain fields cannot fail.
    serde_json::to_string(event).unwrap_or_default()
}
