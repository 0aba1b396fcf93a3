//! Basalt's CQL layer: a sans-IO codec for the CQL native protocol **v4** (the frames
//! and messages drivers exchange with a node), the CQL language front end ([`lexer`],
//! [`parser`] and the syntax tree in [`ast`]), and, on top of the codec, an async
//! [`server`] and [`client`] on tokio.
//!
//! # What it is
//!
//! - [`parse`] turns one statement's text into an [`ast::Statement`] or a [`ParseError`]
//!   that names the line, column, offending token and what was expected, in Cassandra's
//!   style (`line 1:14 no viable alternative at input 'FORM' (expected FROM)`).
//!
//! - [`FrameDecoder`] splits [`Frame`]s (9-byte header + body) off a growing buffer,
//!   refusing bodies over a configurable limit (16 MiB by default) before buffering them,
//!   and reporting other protocol versions so the server can answer with
//!   [`unsupported_version_frame`], the error drivers downgrade on.
//! - [`RequestMessage`] and [`ResponseMessage`] turn frames into typed messages and back,
//!   in both directions: a server decodes requests and encodes responses; a client (tests,
//!   `jepsen-like/`) does the opposite. They handle the header flags: tracing, warnings,
//!   custom payloads and LZ4 body compression.
//! - [`notation`] has the protocol's primitive encodings with a reader that never panics
//!   and allocates no more than the input backs.
//! - [`types`] has [`CqlType`], the declared CQL type (frozen or not) with its CQL name
//!   and its conversion to and from the protocol's [`ColumnType`].
//! - [`value`] has [`CqlValue`], the v4 encoding of every type's values inside `[bytes]`
//!   and each type's CQL order.
//! - [`literal`] turns a statement's constants into values with Cassandra's rules and
//!   messages ([`from_literal`]), and writes values back as CQL constants
//!   ([`format_cql_literal`]) and as cqlsh prints them ([`format_cqlsh`]).
//! - [`byte_comparable`] turns key values into order-preserving, prefix-free bytes, and
//!   [`ClusteringLayout`] builds the clustering keys storage compares with `memcmp`.
//! - [`server`] serves the protocol over TCP: version negotiation by error reply, the
//!   connection state machine (OPTIONS, STARTUP, REGISTER, AUTH_RESPONSE answered by the
//!   connection itself, nothing else before STARTUP), LZ4 once negotiated, requests run
//!   concurrently and answered out of order under a per-connection in-flight limit,
//!   events pushed to connections that REGISTERed, graceful shutdown. The node supplies
//!   a [`server::Handler`] for QUERY, PREPARE, EXECUTE and BATCH.
//! - [`client`] is a small async client that multiplexes requests over one connection,
//!   for tests and `jepsen-like/`; it can also send raw bytes for hostile tests.
//!
//! The codec modules stay sans-IO; only `server` and `client` touch sockets and tasks.
//!
//! # What it is not
//!
//! No executor of statements: binding them to a schema and running them is the node's
//! [`server::Handler`]. No authentication (STARTUP is answered READY), no tracing
//! sessions, no user-defined types or vectors in values, no v5 framing or protocol
//! versions other than 4, no Snappy, no connection pooling or retries in the client.
//! It depends on no other Basalt crate.
//!
//! # Example
//!
//! A client encodes a QUERY; the server reads the bytes back.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use cql_lite::{
//!     CodecOptions, Consistency, FrameDecoder, QueryParameters, Request, RequestMessage,
//!     Value, Values,
//! };
//!
//! let mut parameters = QueryParameters::new(Consistency::LocalQuorum);
//! parameters.values = Values::Positional(vec![Value::Set(Bytes::from_static(&[0, 0, 0, 1]))]);
//! parameters.page_size = Some(5000);
//! parameters.default_timestamp = Some(1_700_000_000_000_000);
//! let query = RequestMessage::new(
//!     3,
//!     Request::Query { query: "SELECT v FROM ks.t WHERE k = ?".into(), parameters },
//! );
//!
//! let options = CodecOptions::default();
//! let mut wire = BytesMut::new();
//! query.encode_to(&options, &mut wire)?;
//!
//! let mut decoder = FrameDecoder::new();
//! let frame = decoder.decode(&mut wire)?.expect("a whole frame");
//! assert_eq!(RequestMessage::decode(&frame, &options)?, query);
//! assert!(wire.is_empty());
//! # Ok::<(), cql_lite::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod byte_comparable;
pub mod client;
mod column_type;
mod compression;
mod error;
mod error_response;
pub mod errors;
mod event;
mod frame;
pub mod lexer;
pub mod literal;
pub mod notation;
mod opcode;
pub mod parser;
mod query;
mod request;
mod response;
mod result;
pub mod server;
pub mod types;
pub mod value;
mod value_error;

pub use byte_comparable::{ClusteringLayout, Order};
pub use column_type::{ColumnType, MAX_TYPE_DEPTH};
pub use compression::{CodecOptions, Compression, compress_lz4, decompress_lz4};
pub use error::{Error, Result, SUPPORTED_VERSIONS_TEXT};
pub use error_response::{ErrorKind, ErrorResponse, WriteType};
pub use event::{
    Event, SchemaChange, SchemaChangeTarget, SchemaChangeType, StatusChangeType, TopologyChangeType,
};
pub use frame::{
    DEFAULT_MAX_FRAME_LENGTH, Flags, Frame, FrameDecoder, HEADER_LENGTH, PROTOCOL_VERSION,
    protocol_error_frame, unsupported_version_frame,
};
pub use literal::{format_cql_literal, format_cqlsh, from_literal, from_literal_at};
pub use notation::{BytesMap, Consistency, StringMap, StringMultimap, Uuid, Value};
pub use opcode::Opcode;
pub use parser::{ParseError, parse};
pub use query::{Batch, BatchQuery, BatchStatement, BatchType, QueryParameters, Values};
pub use request::{EventType, Request, RequestMessage};
pub use response::{Response, ResponseMessage};
pub use result::{ColumnSpec, Columns, Prepared, QueryResult, Rows, RowsMetadata};
pub use types::CqlType;
pub use value::{CqlValue, Decimal, Duration, ValueError, Varint};
