//! The errors statements fail with: cql-lite's constructors, with Cassandra's
//! codes and wording, and the node's own below.

use cql_lite::ErrorResponse;
pub(crate) use cql_lite::errors::*;

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
