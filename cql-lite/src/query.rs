//! The parameters QUERY and EXECUTE share (spec §4.1.4) and the BATCH body (§4.1.7).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::notation::{Consistency, Reader, Value, write};

/// Query flag bits (a `[byte]` in v4).
mod flag {
    pub(super) const VALUES: u8 = 0x01;
    pub(super) const SKIP_METADATA: u8 = 0x02;
    pub(super) const PAGE_SIZE: u8 = 0x04;
    pub(super) const PAGING_STATE: u8 = 0x08;
    pub(super) const SERIAL_CONSISTENCY: u8 = 0x10;
    pub(super) const DEFAULT_TIMESTAMP: u8 = 0x20;
    pub(super) const NAMES_FOR_VALUES: u8 = 0x40;
}

/// Bound values: by position, or by bind-marker name (flag 0x40).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// `?` markers in order.
    Positional(Vec<Value>),
    /// `:name` markers; the Python driver never sends these, other drivers may.
    Named(Vec<(String, Value)>),
}

impl Default for Values {
    fn default() -> Self {
        Self::Positional(Vec::new())
    }
}

impl Values {
    /// How many values there are.
    pub fn len(&self) -> usize {
        match self {
            Self::Positional(v) => v.len(),
            Self::Named(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn decode(reader: &mut Reader, named: bool) -> Result<Self> {
        Ok(if named {
            Self::Named(reader.short_list(6, |r| Ok((r.string()?, r.value()?)))?)
        } else {
            Self::Positional(reader.short_list(4, Reader::value)?)
        })
    }

    fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        write::count(dst, self.len(), "values")?;
        match self {
            Self::Positional(values) => values.iter().try_for_each(|v| write::value(dst, v)),
            Self::Named(values) => values.iter().try_for_each(|(name, v)| {
                write::string(dst, name)?;
                write::value(dst, v)
            }),
        }
    }
}

/// `<consistency><flags>[values][page size][paging state][serial consistency][timestamp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParameters {
    /// The consistency level.
    pub consistency: Consistency,
    /// Bound values (flags 0x01 and 0x40).
    pub values: Values,
    /// Flag 0x02: leave column specs out of a Rows result (the client cached them).
    pub skip_metadata: bool,
    /// Flag 0x04: rows per page. The codec does not judge the value; the server does.
    pub page_size: Option<i32>,
    /// Flag 0x08: the opaque state from the previous page.
    pub paging_state: Option<Bytes>,
    /// Flag 0x10: the consistency of the Paxos phase.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20: the client's timestamp in microseconds; drivers send one with every write.
    pub default_timestamp: Option<i64>,
}

impl QueryParameters {
    /// Parameters with just a consistency level.
    pub fn new(consistency: Consistency) -> Self {
        Self {
            consistency,
            values: Values::default(),
            skip_metadata: false,
            page_size: None,
            paging_state: None,
            serial_consistency: None,
            default_timestamp: None,
        }
    }

    /// Reads the parameters. Unknown flag bits are ignored, as Cassandra does.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let consistency = reader.consistency()?;
        let flags = reader.byte()?;
        let has = |bit: u8| flags & bit != 0;
        let values = if has(flag::VALUES) {
            Values::decode(reader, has(flag::NAMES_FOR_VALUES))?
        } else {
            Values::default()
        };
        Ok(Self {
            consistency,
            values,
            skip_metadata: has(flag::SKIP_METADATA),
            page_size: has(flag::PAGE_SIZE).then(|| reader.int()).transpose()?,
            // A null paging state means "first page", the same as none.
            paging_state: has(flag::PAGING_STATE)
                .then(|| reader.bytes())
                .transpose()?
                .flatten(),
            serial_consistency: has(flag::SERIAL_CONSISTENCY)
                .then(|| reader.consistency())
                .transpose()?,
            default_timestamp: has(flag::DEFAULT_TIMESTAMP)
                .then(|| reader.long())
                .transpose()?,
        })
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        let mut set = |bit: u8, on: bool| flags |= if on { bit } else { 0 };
        set(
            flag::VALUES,
            !self.values.is_empty() || matches!(self.values, Values::Named(_)),
        );
        set(
            flag::NAMES_FOR_VALUES,
            matches!(self.values, Values::Named(_)),
        );
        set(flag::SKIP_METADATA, self.skip_metadata);
        set(flag::PAGE_SIZE, self.page_size.is_some());
        set(flag::PAGING_STATE, self.paging_state.is_some());
        set(flag::SERIAL_CONSISTENCY, self.serial_consistency.is_some());
        set(flag::DEFAULT_TIMESTAMP, self.default_timestamp.is_some());
        flags
    }

    /// Writes the parameters, with exactly the flags for the fields present.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        write::consistency(dst, self.consistency);
        let flags = self.flags();
        dst.put_u8(flags);
        if flags & flag::VALUES != 0 {
            self.values.encode(dst)?;
        }
        if let Some(n) = self.page_size {
            dst.put_i32(n);
        }
        if let Some(state) = &self.paging_state {
            write::bytes(dst, Some(state))?;
        }
        if let Some(c) = self.serial_consistency {
            write::consistency(dst, c);
        }
        if let Some(ts) = self.default_timestamp {
            dst.put_i64(ts);
        }
        Ok(())
    }
}

/// The kind of a BATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchType {
    /// 0: through the batch log.
    Logged = 0,
    /// 1: no batch log.
    Unlogged = 1,
    /// 2: counter updates only.
    Counter = 2,
}

/// One statement of a BATCH: text or a prepared id, and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchQuery {
    /// Kind 0: `[long string]` statement text.
    Text(String),
    /// Kind 1: `[short bytes]` prepared id.
    Prepared(Bytes),
}

/// A statement in a BATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement {
    /// What to run.
    pub query: BatchQuery,
    /// Its values, by position.
    pub values: Vec<Value>,
}

/// `<type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The statements.
    pub statements: Vec<BatchStatement>,
    /// The consistency level.
    pub consistency: Consistency,
    /// Flag 0x10.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20.
    pub default_timestamp: Option<i64>,
}

impl Batch {
    /// Reads a BATCH body.
    ///
    /// Named values (flag 0x40) are refused, as Cassandra refuses them (CASSANDRA-10246):
    /// the flag comes after the values it would describe, so they cannot be parsed first.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let batch_type = match reader.byte()? {
            0 => BatchType::Logged,
            1 => BatchType::Unlogged,
            2 => BatchType::Counter,
            n => {
                return Err(Error::UnknownValue {
                    what: "batch type",
                    value: n.to_string(),
                });
            }
        };
        let statements = reader.short_list(7, BatchStatement::decode)?;
        let consistency = reader.consistency()?;
        let flags = reader.byte()?;
        if flags & flag::NAMES_FOR_VALUES != 0 {
            return Err(Error::UnknownValue {
                what: "batch flag (names for values is not supported)",
                value: format!("{flags:#04x}"),
            });
        }
        Ok(Self {
            batch_type,
            statements,
            consistency,
            serial_consistency: (flags & flag::SERIAL_CONSISTENCY != 0)
                .then(|| reader.consistency())
                .transpose()?,
            default_timestamp: (flags & flag::DEFAULT_TIMESTAMP != 0)
                .then(|| reader.long())
                .transpose()?,
        })
    }

    /// Writes a BATCH body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        dst.put_u8(self.batch_type as u8);
        write::count(dst, self.statements.len(), "batch statements")?;
        self.statements.iter().try_for_each(|s| s.encode(dst))?;
        write::consistency(dst, self.consistency);
        let mut flags = 0;
        if self.serial_consistency.is_some() {
            flags |= flag::SERIAL_CONSISTENCY;
        }
        if self.default_timestamp.is_some() {
            flags |= flag::DEFAULT_TIMESTAMP;
        }
        dst.put_u8(flags);
        if let Some(c) = self.serial_consistency {
            write::consistency(dst, c);
        }
        if let Some(ts) = self.default_timestamp {
            dst.put_i64(ts);
        }
        Ok(())
    }
}

impl BatchStatement {
    fn decode(reader: &mut Reader) -> Result<Self> {
        let query = match reader.byte()? {
            0 => BatchQuery::Text(reader.long_string()?),
            1 => BatchQuery::Prepared(reader.short_bytes()?),
            n => {
                return Err(Error::UnknownValue {
                    what: "batch query kind",
                    value: n.to_string(),
                });
            }
        };
        Ok(Self {
            query,
            values: reader.short_list(4, Reader::value)?,
        })
    }

    fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        match &self.query {
            BatchQuery::Text(text) => {
                dst.put_u8(0);
                write::long_string(dst, text)?;
            }
            BatchQuery::Prepared(id) => {
                dst.put_u8(1);
                write::short_bytes(dst, id)?;
            }
        }
        write::count(dst, self.values.len(), "values")?;
        self.values.iter().try_for_each(|v| write::value(dst, v))
    }
}
