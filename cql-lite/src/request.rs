//! Client-to-server messages: decoding them is the server's half, encoding them the
//! client's (tests and `jepsen-like/`).

use bytes::{Bytes, BytesMut};

use crate::compression::CodecOptions;
use crate::error::{Error, Result};
use crate::frame::{Flags, Frame};
use crate::notation::{BytesMap, Reader, StringMap, write};
use crate::opcode::Opcode;
use crate::query::{Batch, QueryParameters};

/// An event type a client may REGISTER for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Nodes joining, leaving or moving.
    TopologyChange,
    /// Nodes going up or down.
    StatusChange,
    /// DDL anywhere in the cluster.
    SchemaChange,
}

impl EventType {
    /// The protocol's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TopologyChange => "TOPOLOGY_CHANGE",
            Self::StatusChange => "STATUS_CHANGE",
            Self::SchemaChange => "SCHEMA_CHANGE",
        }
    }

    /// The type with this name.
    pub fn from_name(name: &str) -> Result<Self> {
        [Self::TopologyChange, Self::StatusChange, Self::SchemaChange]
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::UnknownValue {
                what: "event type",
                value: name.to_owned(),
            })
    }
}

/// A request message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Options such as `CQL_VERSION` (mandatory), `COMPRESSION`, `DRIVER_NAME`.
    Startup(StringMap),
    /// Asks for SUPPORTED; drivers also use it as a heartbeat.
    Options,
    /// A statement with its parameters.
    Query {
        /// The CQL text, trailing `;` included when cqlsh sends it.
        query: String,
        /// Consistency, values, paging, timestamps.
        parameters: QueryParameters,
    },
    /// Prepares a statement.
    Prepare {
        /// The CQL text.
        query: String,
    },
    /// Runs a prepared statement.
    Execute {
        /// The id from the Prepared result.
        id: Bytes,
        /// Consistency, values, paging, timestamps.
        parameters: QueryParameters,
    },
    /// Several DML statements.
    Batch(Batch),
    /// Subscribes this connection to events.
    Register(Vec<EventType>),
    /// A SASL token; may be null.
    AuthResponse(Option<Bytes>),
}

impl Request {
    /// The opcode that carries this request.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Startup(_) => Opcode::Startup,
            Self::Options => Opcode::Options,
            Self::Query { .. } => Opcode::Query,
            Self::Prepare { .. } => Opcode::Prepare,
            Self::Execute { .. } => Opcode::Execute,
            Self::Batch(_) => Opcode::Batch,
            Self::Register(_) => Opcode::Register,
            Self::AuthResponse(_) => Opcode::AuthResponse,
        }
    }

    /// Reads the body of a message with `opcode`. Trailing bytes are ignored: the spec lets
    /// later minor versions append fields.
    pub fn decode(opcode: Opcode, reader: &mut Reader) -> Result<Self> {
        Ok(match opcode {
            Opcode::Startup => Self::Startup(reader.string_map()?),
            Opcode::Options => Self::Options,
            Opcode::Query => Self::Query {
                query: reader.long_string()?,
                parameters: QueryParameters::decode(reader)?,
            },
            Opcode::Prepare => Self::Prepare {
                query: reader.long_string()?,
            },
            Opcode::Execute => Self::Execute {
                id: reader.short_bytes()?,
                parameters: QueryParameters::decode(reader)?,
            },
            Opcode::Batch => Self::Batch(Batch::decode(reader)?),
            Opcode::Register => Self::Register(
                reader
                    .string_list()?
                    .iter()
                    .map(|n| EventType::from_name(n))
                    .collect::<Result<_>>()?,
            ),
            Opcode::AuthResponse => Self::AuthResponse(reader.bytes()?),
            other => {
                return Err(Error::WrongDirection {
                    opcode: other.name(),
                    is_response: false,
                });
            }
        })
    }

    /// Writes the body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            Self::Startup(options) => write::string_map(dst, options),
            Self::Options => Ok(()),
            Self::Query { query, parameters } => {
                write::long_string(dst, query)?;
                parameters.encode(dst)
            }
            Self::Prepare { query } => write::long_string(dst, query),
            Self::Execute { id, parameters } => {
                write::short_bytes(dst, id)?;
                parameters.encode(dst)
            }
            Self::Batch(batch) => batch.encode(dst),
            Self::Register(types) => {
                let names: Vec<String> = types.iter().map(|t| t.name().to_owned()).collect();
                write::string_list(dst, &names)
            }
            Self::AuthResponse(token) => write::bytes(dst, token.as_deref()),
        }
    }
}

/// A request with what its frame header and body prefix say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// The stream the answer must carry.
    pub stream: i16,
    /// Flag 0x02: the client asks for the query to be traced.
    pub tracing: bool,
    /// Flag 0x04: a custom payload, which the default Cassandra handler ignores.
    pub custom_payload: Option<BytesMap>,
    /// The request.
    pub request: Request,
}

impl RequestMessage {
    /// A plain request on `stream`.
    pub fn new(stream: i16, request: Request) -> Self {
        Self {
            stream,
            tracing: false,
            custom_payload: None,
            request,
        }
    }

    /// Decodes a request frame (the server side). Errors are protocol errors to answer on
    /// `frame.stream`.
    pub fn decode(frame: &Frame, options: &CodecOptions) -> Result<Self> {
        if frame.is_response || !frame.opcode.is_request() {
            return Err(Error::WrongDirection {
                opcode: frame.opcode.name(),
                is_response: frame.is_response,
            });
        }
        let mut reader = Reader::new(options.open(frame)?);
        let custom_payload = frame
            .flags
            .contains(Flags::CUSTOM_PAYLOAD)
            .then(|| reader.bytes_map())
            .transpose()?;
        Ok(Self {
            stream: frame.stream,
            tracing: frame.flags.contains(Flags::TRACING),
            custom_payload,
            request: Request::decode(frame.opcode, &mut reader)?,
        })
    }

    /// Encodes the request into a frame (the client side). STARTUP and OPTIONS are never
    /// compressed: they precede or negotiate compression.
    pub fn encode(&self, options: &CodecOptions) -> Result<Frame> {
        let mut flags = Flags::default();
        flags.set(Flags::TRACING, self.tracing);
        let mut body = BytesMut::new();
        if let Some(payload) = &self.custom_payload {
            flags.set(Flags::CUSTOM_PAYLOAD, true);
            write::bytes_map(&mut body, payload)?;
        }
        self.request.encode(&mut body)?;
        let opcode = self.request.opcode();
        let compressible = !matches!(opcode, Opcode::Startup | Opcode::Options);
        let body = options.seal(body.freeze(), &mut flags, compressible)?;
        Ok(Frame {
            is_response: false,
            flags,
            stream: self.stream,
            opcode,
            body,
        })
    }

    /// Encodes the request and appends the frame's bytes to `dst`.
    pub fn encode_to(&self, options: &CodecOptions, dst: &mut BytesMut) -> Result<()> {
        self.encode(options)?.encode(dst)
    }
}
