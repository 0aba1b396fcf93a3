//! The crate's one error type.
//!
//! Every decode error means the peer broke the protocol; a server answers it with an
//! ERROR 0x000A (Protocol error) on the frame's stream, using this error's `Display`
//! text as the message. [`Error::stream`] says which stream, when the error knows it.

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Protocol versions named in the unsupported-version message.
///
/// Drivers only look for the text `unsupported protocol version` and then retry with a
/// lower version; the list mirrors Cassandra's wording (clients.md §0.1).
pub const SUPPORTED_VERSIONS_TEXT: &str = "3/v3, 4/v4";

/// Everything that can go wrong while decoding or encoding frames and messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The first byte names a protocol version other than 4.
    #[error(
        "Invalid or unsupported protocol version ({version}); supported versions are ({SUPPORTED_VERSIONS_TEXT})"
    )]
    UnsupportedVersion {
        /// The version, without the direction bit.
        version: u8,
        /// The stream the peer used, so the answer can echo it.
        stream: i16,
    },
    /// The header announces a body longer than the configured maximum.
    #[error("Request is too big: length {length} exceeds maximum allowed length {max}")]
    FrameTooLarge {
        /// The stream of the oversized frame.
        stream: i16,
        /// The announced body length.
        length: u32,
        /// The configured maximum.
        max: u32,
    },
    /// The header's opcode byte names no v4 message.
    #[error("Unknown opcode {opcode:#04x}")]
    UnknownOpcode {
        /// The stream of the frame.
        stream: i16,
        /// The opcode byte.
        opcode: u8,
    },
    /// A frame went the wrong way: a response where a request was expected, or the reverse,
    /// or an opcode that is not valid in that direction.
    #[error("Unexpected {opcode} frame (response bit {is_response})")]
    WrongDirection {
        /// The opcode's name.
        opcode: &'static str,
        /// Whether the header had the response bit set.
        is_response: bool,
    },
    /// A field runs past the end of the body.
    #[error("Not enough bytes to read {what}: needed {needed}, {remaining} left")]
    Truncated {
        /// The notation or field being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the body.
        remaining: usize,
    },
    /// A length or count field is negative where that has no meaning.
    #[error("Invalid length {length} for {what}")]
    InvalidLength {
        /// The notation or field being read.
        what: &'static str,
        /// The length read.
        length: i64,
    },
    /// A `[string]` or `[long string]` is not UTF-8.
    #[error("Invalid UTF-8 in {what}")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// An enumerated field (consistency, result kind, type id, ...) has an unknown value.
    #[error("Unknown {what} {value}")]
    UnknownValue {
        /// The field being read.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// Type options nest deeper than the decoder allows (a guard against stack exhaustion).
    #[error("Type nests deeper than {max_depth} levels")]
    TypeTooDeep {
        /// The limit.
        max_depth: usize,
    },
    /// The compression flag is set but no compression was negotiated.
    #[error("Compressed frame received but no compression was negotiated")]
    CompressionNotNegotiated,
    /// A compressed body does not decompress to the length it announces.
    #[error("Invalid LZ4 compressed body: {reason}")]
    Decompression {
        /// What was wrong.
        reason: String,
    },
    /// A value is too long for the notation that must carry it (an encode error).
    #[error("{what} is too long for its notation: {length}")]
    TooLong {
        /// The notation or field being written.
        what: &'static str,
        /// The offending length or count.
        length: usize,
    },
    /// A message violates an invariant the encoder cannot express on the wire.
    #[error("Cannot encode message: {0}")]
    Unencodable(&'static str),
}

impl Error {
    /// The stream the error belongs to, when the frame header was read far enough.
    pub fn stream(&self) -> Option<i16> {
        match self {
            Self::UnsupportedVersion { stream, .. }
            | Self::FrameTooLarge { stream, .. }
            | Self::UnknownOpcode { stream, .. } => Some(*stream),
            _ => None,
        }
    }

    /// Whether the connection cannot continue after this error.
    ///
    /// After an unsupported version the rest of the byte stream cannot be framed, so the
    /// server answers and closes. Every other decode error leaves the decoder at the next
    /// frame boundary.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::UnsupportedVersion { .. })
    }
}
