//! The ERROR message (spec §9): `[int]` code, `[string]` message, and a tail that depends
//! on the code. Driver retry policies read the tail, so its fields must be exact.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::notation::{Consistency, Reader, write};

/// The `writeType` of write timeouts and failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteType {
    /// A single-partition write (not a batch, not a counter).
    Simple,
    /// A logged batch, after the batch log write succeeded.
    Batch,
    /// An unlogged batch.
    UnloggedBatch,
    /// A counter write.
    Counter,
    /// The batch log write itself; the only kind drivers retry by default.
    BatchLog,
    /// The commit phase of a lightweight transaction.
    Cas,
    /// A materialized-view update.
    View,
    /// A CDC write.
    Cdc,
    /// A value newer servers may send.
    Other(String),
}

const WRITE_TYPES: [(WriteType, &str); 8] = [
    (WriteType::Simple, "SIMPLE"),
    (WriteType::Batch, "BATCH"),
    (WriteType::UnloggedBatch, "UNLOGGED_BATCH"),
    (WriteType::Counter, "COUNTER"),
    (WriteType::BatchLog, "BATCH_LOG"),
    (WriteType::Cas, "CAS"),
    (WriteType::View, "VIEW"),
    (WriteType::Cdc, "CDC"),
];

impl WriteType {
    /// The wire name.
    pub fn name(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => WRITE_TYPES
                .iter()
                .find(|(t, _)| t == known)
                .map_or("", |(_, n)| n),
        }
    }

    /// The write type a wire name denotes.
    pub fn from_name(name: &str) -> Self {
        WRITE_TYPES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| Self::Other(name.to_owned()), |(t, _)| t.clone())
    }
}

/// The error code and its code-specific fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(missing_docs, reason = "field names are the spec's")]
pub enum ErrorKind {
    /// 0x0000: a bug or an unexpected failure in the server.
    ServerError,
    /// 0x000A: the client broke the protocol.
    ProtocolError,
    /// 0x0100: bad credentials.
    AuthenticationError,
    /// 0x1000: too few replicas alive to even try.
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
    },
    /// 0x1001: the coordinator is overloaded.
    Overloaded,
    /// 0x1002: the coordinator is bootstrapping.
    IsBootstrapping,
    /// 0x1003: a TRUNCATE failed.
    TruncateError,
    /// 0x1100: too few replicas acknowledged a write in time.
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        write_type: WriteType,
    },
    /// 0x1200: too few replicas answered a read in time.
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    /// 0x1300: replicas failed a read (v4 layout: a failure count, no reason map).
    ReadFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        num_failures: i32,
        data_present: bool,
    },
    /// 0x1400: a user-defined function threw.
    FunctionFailure {
        keyspace: String,
        function: String,
        arg_types: Vec<String>,
    },
    /// 0x1500: replicas failed a write (v4 layout).
    WriteFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        num_failures: i32,
        write_type: WriteType,
    },
    /// 0x2000: the statement does not parse.
    SyntaxError,
    /// 0x2100: the user lacks a permission.
    Unauthorized,
    /// 0x2200: the statement is invalid (unknown table, type mismatch, ...).
    Invalid,
    /// 0x2300: the statement conflicts with the configuration.
    ConfigError,
    /// 0x2400: CREATE of something that exists; `table` is empty for a keyspace.
    AlreadyExists { keyspace: String, table: String },
    /// 0x2500: EXECUTE of an id this node does not know; the driver re-prepares.
    Unprepared { id: Bytes },
    /// A code v4 does not define (v5's 0x1600/0x1700, vendor codes); its tail is skipped.
    Unknown { code: i32 },
}

/// Codes of the kinds without extra fields.
const PLAIN: [(i32, ErrorKind); 10] = [
    (0x0000, ErrorKind::ServerError),
    (0x000A, ErrorKind::ProtocolError),
    (0x0100, ErrorKind::AuthenticationError),
    (0x1001, ErrorKind::Overloaded),
    (0x1002, ErrorKind::IsBootstrapping),
    (0x1003, ErrorKind::TruncateError),
    (0x2000, ErrorKind::SyntaxError),
    (0x2100, ErrorKind::Unauthorized),
    (0x2200, ErrorKind::Invalid),
    (0x2300, ErrorKind::ConfigError),
];

const UNAVAILABLE: i32 = 0x1000;
const WRITE_TIMEOUT: i32 = 0x1100;
const READ_TIMEOUT: i32 = 0x1200;
const READ_FAILURE: i32 = 0x1300;
const FUNCTION_FAILURE: i32 = 0x1400;
const WRITE_FAILURE: i32 = 0x1500;
const ALREADY_EXISTS: i32 = 0x2400;
const UNPREPARED: i32 = 0x2500;

impl ErrorKind {
    /// The `[int]` error code.
    pub fn code(&self) -> i32 {
        match self {
            Self::Unavailable { .. } => UNAVAILABLE,
            Self::WriteTimeout { .. } => WRITE_TIMEOUT,
            Self::ReadTimeout { .. } => READ_TIMEOUT,
            Self::ReadFailure { .. } => READ_FAILURE,
            Self::FunctionFailure { .. } => FUNCTION_FAILURE,
            Self::WriteFailure { .. } => WRITE_FAILURE,
            Self::AlreadyExists { .. } => ALREADY_EXISTS,
            Self::Unprepared { .. } => UNPREPARED,
            Self::Unknown { code } => *code,
            plain => PLAIN
                .iter()
                .find(|(_, k)| k == plain)
                .map_or(0, |(c, _)| *c),
        }
    }
}

/// An ERROR message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The code and its fields.
    pub kind: ErrorKind,
    /// Human-readable text; drivers show it and sometimes match on it.
    pub message: String,
}

impl ErrorResponse {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Reads an ERROR body.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let code = reader.int()?;
        let message = reader.string()?;
        let kind = match code {
            UNAVAILABLE => ErrorKind::Unavailable {
                consistency: reader.consistency()?,
                required: reader.int()?,
                alive: reader.int()?,
            },
            WRITE_TIMEOUT => ErrorKind::WriteTimeout {
                consistency: reader.consistency()?,
                received: reader.int()?,
                block_for: reader.int()?,
                write_type: WriteType::from_name(&reader.string()?),
            },
            READ_TIMEOUT => ErrorKind::ReadTimeout {
                consistency: reader.consistency()?,
                received: reader.int()?,
                block_for: reader.int()?,
                data_present: reader.byte()? != 0,
            },
            READ_FAILURE => ErrorKind::ReadFailure {
                consistency: reader.consistency()?,
                received: reader.int()?,
                block_for: reader.int()?,
                num_failures: reader.int()?,
                data_present: reader.byte()? != 0,
            },
            FUNCTION_FAILURE => ErrorKind::FunctionFailure {
                keyspace: reader.string()?,
                function: reader.string()?,
                arg_types: reader.string_list()?,
            },
            WRITE_FAILURE => ErrorKind::WriteFailure {
                consistency: reader.consistency()?,
                received: reader.int()?,
                block_for: reader.int()?,
                num_failures: reader.int()?,
                write_type: WriteType::from_name(&reader.string()?),
            },
            ALREADY_EXISTS => ErrorKind::AlreadyExists {
                keyspace: reader.string()?,
                table: reader.string()?,
            },
            UNPREPARED => ErrorKind::Unprepared {
                id: reader.short_bytes()?,
            },
            _ => PLAIN
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(ErrorKind::Unknown { code }, |(_, k)| k.clone()),
        };
        Ok(Self { kind, message })
    }

    /// Writes an ERROR body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        dst.put_i32(self.kind.code());
        write::string(dst, &self.message)?;
        self.kind.encode_tail(dst)
    }
}

impl ErrorKind {
    /// Writes the code-specific fields that follow the message.
    fn encode_tail(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            ErrorKind::Unavailable {
                consistency,
                required,
                alive,
            } => {
                write::consistency(dst, *consistency);
                dst.put_i32(*required);
                dst.put_i32(*alive);
            }
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
            } => {
                put_counts(dst, *consistency, *received, *block_for);
                write::string(dst, write_type.name())?;
            }
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => {
                put_counts(dst, *consistency, *received, *block_for);
                dst.put_u8(u8::from(*data_present));
            }
            ErrorKind::ReadFailure {
                consistency,
                received,
                block_for,
                num_failures,
                data_present,
            } => {
                put_counts(dst, *consistency, *received, *block_for);
                dst.put_i32(*num_failures);
                dst.put_u8(u8::from(*data_present));
            }
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            } => {
                write::string(dst, keyspace)?;
                write::string(dst, function)?;
                write::string_list(dst, arg_types)?;
            }
            ErrorKind::WriteFailure {
                consistency,
                received,
                block_for,
                num_failures,
                write_type,
            } => {
                put_counts(dst, *consistency, *received, *block_for);
                dst.put_i32(*num_failures);
                write::string(dst, write_type.name())?;
            }
            ErrorKind::AlreadyExists { keyspace, table } => {
                write::string(dst, keyspace)?;
                write::string(dst, table)?;
            }
            ErrorKind::Unprepared { id } => write::short_bytes(dst, id)?,
            ErrorKind::Unknown { code } if is_known(*code) => {
                return Err(Error::Unencodable("Unknown error kind with a known code"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether v4 defines `code`, in which case `Unknown` must not claim it.
fn is_known(code: i32) -> bool {
    PLAIN.iter().any(|(c, _)| *c == code)
        || [
            UNAVAILABLE,
            WRITE_TIMEOUT,
            READ_TIMEOUT,
            READ_FAILURE,
            FUNCTION_FAILURE,
            WRITE_FAILURE,
            ALREADY_EXISTS,
            UNPREPARED,
        ]
        .contains(&code)
}

fn put_counts(dst: &mut BytesMut, consistency: Consistency, received: i32, block_for: i32) {
    write::consistency(dst, consistency);
    dst.put_i32(received);
    dst.put_i32(block_for);
}
