//! Constructors for the errors CQL execution returns, with Cassandra's codes.

use cql_lite::{ErrorKind, ErrorResponse};

/// 0x2200 Invalid: the statement cannot run against this schema.
pub(crate) fn invalid(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::Invalid, message)
}

/// 0x2000 Syntax error.
pub(crate) fn syntax(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::SyntaxError, message)
}

/// 0x2300 Config error: an invalid option in DDL.
pub(crate) fn config(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::ConfigError, message)
}

/// 0x0000 Server error: a failure that is not the client's fault.
pub(crate) fn server(message: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorKind::ServerError, message)
}

/// 0x2400 Already exists; `table` is empty for a keyspace.
pub(crate) fn already_exists(keyspace: &str, table: &str) -> ErrorResponse {
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
pub(crate) fn unconfigured_table(table: &str) -> ErrorResponse {
    invalid(format!("unconfigured table {table}"))
}

/// 0x2200 for a keyspace that does not exist.
pub(crate) fn unknown_keyspace(keyspace: &str) -> ErrorResponse {
    invalid(format!("Keyspace {keyspace} does not exist"))
}

/// 0x2200 when a statement names no keyspace and the session has none.
pub(crate) fn no_keyspace() -> ErrorResponse {
    invalid(
        "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
    )
}

/// The longest partition key Cassandra accepts.
pub(crate) const MAX_KEY_LENGTH: usize = 65_535;

/// A value that does not fit its column or key, as the client's error.
pub(crate) fn codec_error(error: crate::rowcodec::CodecError) -> ErrorResponse {
    match error {
        crate::rowcodec::CodecError::KeyTooLong(e) => invalid(format!(
            "Key length of {} is longer than maximum of {MAX_KEY_LENGTH}",
            e.0
        )),
        other => invalid(other.to_string()),
    }
}
