//! The CQL side of the workloads: statements, decoding of results, and
//! Jepsen's classification of errors into "certainly did not happen" (`Fail`)
//! and "may have happened" (`Info`).

use bytes::Bytes;
use cql_lite::client::ClientError;
use cql_lite::{Consistency, ErrorKind, QueryResult};

/// How an operation that did not succeed ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It certainly did not happen: the node refused it before any replica
    /// could have applied it.
    Fail,
    /// It may have happened: a timeout, a lost connection, an internal error.
    Info,
}

/// Jepsen's rule for a request that was sent: `Unavailable` and `Overloaded`
/// (checked before any replica is written) and every refusal of the request
/// itself (syntax, invalid, unauthorized, …) are `Fail`; timeouts, replica
/// failures, server errors and a lost connection are `Info`.
pub(crate) fn classify(error: &ClientError) -> Outcome {
    match error {
        ClientError::Server(response) => match response.kind {
            ErrorKind::Unavailable { .. }
            | ErrorKind::Overloaded
            | ErrorKind::IsBootstrapping
            | ErrorKind::SyntaxError
            | ErrorKind::Invalid
            | ErrorKind::Unauthorized
            | ErrorKind::ConfigError
            | ErrorKind::AlreadyExists { .. }
            | ErrorKind::Unprepared { .. }
            | ErrorKind::ProtocolError
            | ErrorKind::AuthenticationError
            | ErrorKind::FunctionFailure { .. } => Outcome::Fail,
            ErrorKind::WriteTimeout { .. }
            | ErrorKind::ReadTimeout { .. }
            | ErrorKind::WriteFailure { .. }
            | ErrorKind::ReadFailure { .. }
            | ErrorKind::TruncateError
            | ErrorKind::ServerError
            | ErrorKind::Unknown { .. } => Outcome::Info,
        },
        // Never sent: every stream id was busy.
        ClientError::NoStreamIds => Outcome::Fail,
        // Sent, and then the connection broke or the answer was garbled.
        _ => Outcome::Info,
    }
}

/// Whether the connection is unusable after `error` (and must be replaced).
pub(crate) fn is_connection_lost(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Io(_) | ClientError::Closed | ClientError::Protocol(_)
    )
}

/// The wire name of a consistency level, as the history records it.
pub(crate) fn cl_name(cl: Consistency) -> &'static str {
    match cl {
        Consistency::All => "ALL",
        Consistency::One => "ONE",
        _ => "QUORUM",
    }
}

pub(crate) const CREATE_KEYSPACE: &str = "CREATE KEYSPACE IF NOT EXISTS jepsen WITH replication = \
    {'class': 'SimpleStrategy', 'replication_factor': RF}";
pub(crate) const CREATE_REGISTER: &str =
    "CREATE TABLE IF NOT EXISTS jepsen.register (k text PRIMARY KEY, v bigint)";
pub(crate) const CREATE_SETS: &str =
    "CREATE TABLE IF NOT EXISTS jepsen.sets (k text, e bigint, PRIMARY KEY (k, e))";

/// Keys are the harness's own (`r:3`, `b:2:a`): no quote can appear in them,
/// but they are escaped anyway so a statement can never be malformed.
fn quoted(key: &str) -> String {
    format!("'{}'", key.replace('\'', "''"))
}

pub(crate) fn register_write(key: &str, value: i64, timestamp: Option<i64>) -> String {
    let using = timestamp.map_or(String::new(), |ts| format!(" USING TIMESTAMP {ts}"));
    format!(
        "INSERT INTO jepsen.register (k, v) VALUES ({}, {value}){using}",
        quoted(key)
    )
}

pub(crate) fn register_read(key: &str) -> String {
    format!(
        "SELECT v, writetime(v) FROM jepsen.register WHERE k = {}",
        quoted(key)
    )
}

pub(crate) fn set_add(key: &str, element: i64) -> String {
    format!(
        "INSERT INTO jepsen.sets (k, e) VALUES ({}, {element})",
        quoted(key)
    )
}

pub(crate) fn set_delete(key: &str, element: i64) -> String {
    format!(
        "DELETE FROM jepsen.sets WHERE k = {} AND e = {element}",
        quoted(key)
    )
}

pub(crate) fn set_read(key: &str) -> String {
    format!("SELECT e FROM jepsen.sets WHERE k = {}", quoted(key))
}

/// A `bigint` cell.
fn bigint(cell: Option<&Bytes>) -> Result<Option<i64>, String> {
    match cell {
        None => Ok(None),
        Some(bytes) => {
            let raw: [u8; 8] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| format!("a bigint of {} bytes", bytes.len()))?;
            Ok(Some(i64::from_be_bytes(raw)))
        }
    }
}

fn rows(result: QueryResult) -> Result<Vec<Vec<Option<Bytes>>>, String> {
    match result {
        QueryResult::Rows(rows) => Ok(rows.rows),
        other => Err(format!("expected rows, got {other:?}")),
    }
}

/// `SELECT v, writetime(v)`: `([v], [writetime])`, or empty when the key has
/// no value.
pub(crate) fn decode_register(result: QueryResult) -> Result<(Vec<i64>, Vec<i64>), String> {
    let rows = rows(result)?;
    match rows.as_slice() {
        [] => Ok((Vec::new(), Vec::new())),
        [row] => {
            let v = bigint(row.first().and_then(Option::as_ref))?;
            let ts = bigint(row.get(1).and_then(Option::as_ref))?;
            match (v, ts) {
                (Some(v), Some(ts)) => Ok((vec![v], vec![ts])),
                (None, _) => Ok((Vec::new(), Vec::new())),
                (Some(_), None) => Err("a value without a writetime".to_owned()),
            }
        }
        more => Err(format!("{} rows for one key", more.len())),
    }
}

/// `SELECT e`: the set's elements.
pub(crate) fn decode_set(result: QueryResult) -> Result<Vec<i64>, String> {
    rows(result)?
        .iter()
        .map(|row| bigint(row.first().and_then(Option::as_ref))?.ok_or("a null element".to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use cql_lite::{ColumnSpec, Columns, ErrorResponse, Rows, RowsMetadata, WriteType};

    use super::*;

    fn server(kind: ErrorKind) -> ClientError {
        ClientError::Server(ErrorResponse::new(kind, "x"))
    }

    #[test]
    fn errors_are_classified_as_jepsen_does() {
        let cl = Consistency::Quorum;
        let fail = [
            server(ErrorKind::Unavailable {
                consistency: cl,
                required: 2,
                alive: 1,
            }),
            server(ErrorKind::Overloaded),
            server(ErrorKind::SyntaxError),
            server(ErrorKind::Invalid),
            server(ErrorKind::IsBootstrapping),
            ClientError::NoStreamIds,
        ];
        for e in &fail {
            assert_eq!(classify(e), Outcome::Fail, "{e}");
        }
        let info = [
            server(ErrorKind::WriteTimeout {
                consistency: cl,
                received: 1,
                block_for: 2,
                write_type: WriteType::Simple,
            }),
            server(ErrorKind::ReadTimeout {
                consistency: cl,
                received: 1,
                block_for: 2,
                data_present: false,
            }),
            server(ErrorKind::WriteFailure {
                consistency: cl,
                received: 1,
                block_for: 2,
                num_failures: 1,
                write_type: WriteType::Batch,
            }),
            server(ErrorKind::ServerError),
            ClientError::Closed,
            ClientError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ];
        for e in &info {
            assert_eq!(classify(e), Outcome::Info, "{e}");
        }
        assert!(is_connection_lost(&ClientError::Closed));
        assert!(!is_connection_lost(&server(ErrorKind::Overloaded)));
    }

    fn result(rows: Vec<Vec<Option<Bytes>>>) -> QueryResult {
        QueryResult::Rows(Rows {
            metadata: RowsMetadata {
                paging_state: None,
                columns: Columns::Specs(Vec::<ColumnSpec>::new()),
            },
            rows,
        })
    }

    fn long(v: i64) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&v.to_be_bytes()))
    }

    #[test]
    fn results_are_decoded() {
        assert_eq!(decode_register(result(vec![])), Ok((vec![], vec![])));
        assert_eq!(
            decode_register(result(vec![vec![long(7), long(1_700)]])),
            Ok((vec![7], vec![1_700]))
        );
        assert!(decode_register(result(vec![vec![long(7), None]])).is_err());
        assert!(
            decode_register(result(vec![vec![
                Some(Bytes::from_static(b"abc")),
                long(1)
            ]]))
            .is_err()
        );
        assert_eq!(
            decode_set(result(vec![vec![long(1)], vec![long(5)]])),
            Ok(vec![1, 5])
        );
        assert!(decode_set(QueryResult::Void).is_err());
    }

    #[test]
    fn statements_quote_keys_and_carry_timestamps() {
        assert_eq!(
            register_write("r:1", 5, Some(17)),
            "INSERT INTO jepsen.register (k, v) VALUES ('r:1', 5) USING TIMESTAMP 17"
        );
        assert_eq!(
            register_write("it's", 5, None),
            "INSERT INTO jepsen.register (k, v) VALUES ('it''s', 5)"
        );
        assert_eq!(
            set_delete("d:2", -3),
            "DELETE FROM jepsen.sets WHERE k = 'd:2' AND e = -3"
        );
    }
}
