//! Constructors for the ERROR responses a CQL server answers statements with,
//! with Cassandra's codes and wording.

use crate::{ErrorKind, ErrorResponse};

/// 0x2200 Invalid: the statement cannot run against this schema.
pub fn invalid(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::Invalid, message)
}

/// 0x2000 Syntax error.
pub fn syntax(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::SyntaxError, message)
}

/// 0x2300 Config error: an invalid option in DDL.
pub fn config(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::ConfigError, message)
}

/// 0x0000 Server error: a failure that is not the client's fault.
pub fn server(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::ServerError, message)
}

/// 0x2400 Already exists; `table` is empty for a keyspace.
pub fn already_exists(keyspace: &str, table: &str) -> ErrorResponse {
    let message = if table.is_empty() {
        format!("Cannot add existing keyspace \"{keyspace}\"")
    } else {
        format!("Cannot add already existing table \"{table}\" to keyspace \"{keyspace}\"")
    };
    ErrorResponse::new(
        ErrorKind::AlreadyExists {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
        },
        message,
    )
}

/// 0x2200 for a table that does not exist, worded as Cassandra 4 does.
pub fn unconfigured_table(table: &str) -> ErrorResponse {
    invalid(format!("unconfigured table {table}"))
}

/// 0x2200 for a keyspace that does not exist.
pub fn unknown_keyspace(keyspace: &str) -> ErrorResponse {
    invalid(format!("Keyspace {keyspace} does not exist"))
}

/// 0x2200 when a statement names no keyspace and the session has none.
pub fn no_keyspace() -> ErrorResponse {
    invalid(
        "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
    )
}
