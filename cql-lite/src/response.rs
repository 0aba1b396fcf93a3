//! Server-to-client messages: encoding them is the server's half, decoding them the
//! client's.

use bytes::{Bytes, BytesMut};

use crate::compression::CodecOptions;
use crate::error::{Error, Result};
use crate::error_response::ErrorResponse;
use crate::event::Event;
use crate::frame::{Flags, Frame};
use crate::notation::{BytesMap, Reader, StringMultimap, Uuid, write};
use crate::opcode::Opcode;
use crate::result::QueryResult;

/// A response message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The request failed.
    Error(ErrorResponse),
    /// STARTUP (without authentication) or REGISTER succeeded.
    Ready,
    /// Authentication is required; drivers pick their behaviour from the class name.
    Authenticate {
        /// e.g. `org.apache.cassandra.auth.PasswordAuthenticator`.
        authenticator: String,
    },
    /// The answer to OPTIONS. Drivers need the keys `CQL_VERSION` and `COMPRESSION`.
    Supported(StringMultimap),
    /// The answer to QUERY, PREPARE, EXECUTE and BATCH.
    Result(QueryResult),
    /// A pushed event.
    Event(Event),
    /// A SASL challenge.
    AuthChallenge(Option<Bytes>),
    /// Authentication finished; the final token may be null.
    AuthSuccess(Option<Bytes>),
}

impl Response {
    /// The opcode that carries this response.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Error(_) => Opcode::Error,
            Self::Ready => Opcode::Ready,
            Self::Authenticate { .. } => Opcode::Authenticate,
            Self::Supported(_) => Opcode::Supported,
            Self::Result(_) => Opcode::Result,
            Self::Event(_) => Opcode::Event,
            Self::AuthChallenge(_) => Opcode::AuthChallenge,
            Self::AuthSuccess(_) => Opcode::AuthSuccess,
        }
    }

    /// Reads the body of a message with `opcode`; trailing bytes are ignored.
    pub fn decode(opcode: Opcode, reader: &mut Reader) -> Result<Self> {
        Ok(match opcode {
            Opcode::Error => Self::Error(ErrorResponse::decode(reader)?),
            Opcode::Ready => Self::Ready,
            Opcode::Authenticate => Self::Authenticate {
                authenticator: reader.string()?,
            },
            Opcode::Supported => Self::Supported(reader.string_multimap()?),
            Opcode::Result => Self::Result(QueryResult::decode(reader)?),
            Opcode::Event => Self::Event(Event::decode(reader)?),
            Opcode::AuthChallenge => Self::AuthChallenge(reader.bytes()?),
            Opcode::AuthSuccess => Self::AuthSuccess(reader.bytes()?),
            other => {
                return Err(Error::WrongDirection {
                    opcode: other.name(),
                    is_response: true,
                });
            }
        })
    }

    /// Writes the body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            Self::Error(error) => error.encode(dst),
            Self::Ready => Ok(()),
            Self::Authenticate { authenticator } => write::string(dst, authenticator),
            Self::Supported(options) => write::string_multimap(dst, options),
            Self::Result(result) => result.encode(dst),
            Self::Event(event) => event.encode(dst),
            Self::AuthChallenge(token) | Self::AuthSuccess(token) => {
                write::bytes(dst, token.as_deref())
            }
        }
    }
}

/// A response with its stream and body prefix: `[tracing uuid][warnings][custom payload]`,
/// each present exactly when its header flag is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMessage {
    /// The request's stream, or -1 for events.
    pub stream: i16,
    /// Flag 0x02: the tracing session of a traced request.
    pub tracing_id: Option<Uuid>,
    /// Flag 0x08, set when the list is not empty: warnings drivers log.
    pub warnings: Vec<String>,
    /// Flag 0x04: a custom payload.
    pub custom_payload: Option<BytesMap>,
    /// The response.
    pub response: Response,
}

impl ResponseMessage {
    /// A plain response on `stream`.
    pub fn new(stream: i16, response: Response) -> Self {
        Self {
            stream,
            tracing_id: None,
            warnings: Vec::new(),
            custom_payload: None,
            response,
        }
    }

    /// An event, on stream -1.
    pub fn event(event: Event) -> Self {
        Self::new(-1, Response::Event(event))
    }

    /// Encodes the response into a frame (the server side). The body is compressed when
    /// `options` says compression was negotiated; the caller keeps `Compression::None`
    /// until it has answered STARTUP.
    pub fn encode(&self, options: &CodecOptions) -> Result<Frame> {
        let mut flags = Flags::default();
        let mut body = BytesMut::new();
        if let Some(id) = &self.tracing_id {
            flags.set(Flags::TRACING, true);
            body.extend_from_slice(id);
        }
        if !self.warnings.is_empty() {
            flags.set(Flags::WARNING, true);
            write::string_list(&mut body, &self.warnings)?;
        }
        if let Some(payload) = &self.custom_payload {
            flags.set(Flags::CUSTOM_PAYLOAD, true);
            write::bytes_map(&mut body, payload)?;
        }
        self.response.encode(&mut body)?;
        let body = options.seal(body.freeze(), &mut flags, true)?;
        let opcode = self.response.opcode();
        Ok(Frame {
            is_response: true,
            flags,
            stream: self.stream,
            opcode,
            body,
        })
    }

    /// Encodes the response and appends the frame's bytes to `dst`.
    pub fn encode_to(&self, options: &CodecOptions, dst: &mut BytesMut) -> Result<()> {
        self.encode(options)?.encode(dst)
    }

    /// Decodes a response frame (the client side).
    pub fn decode(frame: &Frame, options: &CodecOptions) -> Result<Self> {
        if !frame.is_response || frame.opcode.is_request() {
            return Err(Error::WrongDirection {
                opcode: frame.opcode.name(),
                is_response: frame.is_response,
            });
        }
        let mut reader = Reader::new(options.open(frame)?);
        let flag = |f: Flags| frame.flags.contains(f);
        let tracing_id = flag(Flags::TRACING).then(|| reader.uuid()).transpose()?;
        let warnings = if flag(Flags::WARNING) {
            reader.string_list()?
        } else {
            Vec::new()
        };
        let custom_payload = flag(Flags::CUSTOM_PAYLOAD)
            .then(|| reader.bytes_map())
            .transpose()?;
        Ok(Self {
            stream: frame.stream,
            tracing_id,
            warnings,
            custom_payload,
            response: Response::decode(frame.opcode, &mut reader)?,
        })
    }
}
