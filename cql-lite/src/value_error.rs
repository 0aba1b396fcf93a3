//! What was wrong with a value, its bytes or its type: the one error of values,
//! their types and their literals.

/// What was wrong with a value, its bytes or its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A fixed-size type got the wrong number of bytes.
    #[error("Expected {expected} bytes for a {ty} value, got {actual}")]
    WrongLength {
        /// The CQL type name.
        ty: &'static str,
        /// The size it needs (`"4 or 16"` for inet).
        expected: &'static str,
        /// The size received.
        actual: usize,
    },
    /// A length-prefixed field runs past the end of the value.
    #[error("Not enough bytes to read {what}: needed {needed}, {remaining} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// Bytes are left after a complete value.
    #[error("{count} unexpected trailing bytes after a {ty} value")]
    TrailingBytes {
        /// The CQL type name.
        ty: String,
        /// How many.
        count: usize,
    },
    /// A length or count is negative (or null where null is not allowed).
    #[error("Invalid {what} {value}")]
    InvalidLength {
        /// The field.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// The bytes are not a valid value of the type.
    #[error("Invalid {ty} value: {reason}")]
    Invalid {
        /// The CQL type name.
        ty: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The value does not belong to the type it is encoded as.
    #[error("Expected a value of type {expected}, got {got}")]
    TypeMismatch {
        /// The CQL type.
        expected: String,
        /// The value's kind.
        got: &'static str,
    },
    /// The type or value cannot be used this way.
    #[error("Unsupported: {0}")]
    Unsupported(String),
    /// A constant in a statement is of a kind the type does not take (an integer for a
    /// `text`, say). Cassandra names the receiver too: see [`ValueError::for_receiver`].
    #[error("Invalid {kind} constant ({text}) for type {ty}")]
    InvalidConstant {
        /// The constant's kind as Cassandra names it: `STRING`, `INTEGER`, `FLOAT`, ...
        kind: &'static str,
        /// The constant as written (strings in quotes).
        text: String,
        /// The CQL type.
        ty: String,
    },
    /// A constant's text is not a valid value of its type; the message is Cassandra's.
    #[error("{0}")]
    InvalidLiteral(String),
}

impl ValueError {
    /// The message with the receiver (the column or bind variable) named where Cassandra
    /// names it: `Invalid INTEGER constant (42) for "name" of type text`. Other errors do
    /// not name the receiver and read as their `Display`.
    pub fn for_receiver(&self, receiver: &str) -> String {
        match self {
            Self::InvalidConstant { kind, text, ty } => {
                format!("Invalid {kind} constant ({text}) for \"{receiver}\" of type {ty}")
            }
            other => other.to_string(),
        }
    }
}
