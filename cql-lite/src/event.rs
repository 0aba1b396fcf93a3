//! EVENT bodies (spec §4.2.6) and the schema-change description that RESULT kind
//! Schema_change shares with them.

use std::net::SocketAddr;

use bytes::BytesMut;

use crate::error::{Error, Result};
use crate::notation::{Reader, write};
use crate::request::EventType;

/// What happened to a schema element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "the variant names are CQL's own")]
pub enum SchemaChangeType {
    Created,
    Updated,
    Dropped,
}

/// The element that changed, with the options its target carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(missing_docs, reason = "the variant names are CQL's own")]
pub enum SchemaChangeTarget {
    Keyspace {
        keyspace: String,
    },
    /// Index creation and removal are reported as a table update.
    Table {
        keyspace: String,
        table: String,
    },
    Type {
        keyspace: String,
        name: String,
    },
    Function {
        keyspace: String,
        name: String,
        arg_types: Vec<String>,
    },
    Aggregate {
        keyspace: String,
        name: String,
        arg_types: Vec<String>,
    },
}

/// `<change_type><target><options>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    /// CREATED, UPDATED or DROPPED.
    pub change_type: SchemaChangeType,
    /// What changed.
    pub target: SchemaChangeTarget,
}

impl SchemaChange {
    /// Reads a schema change.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let change_type = match reader.string()?.as_str() {
            "CREATED" => SchemaChangeType::Created,
            "UPDATED" => SchemaChangeType::Updated,
            "DROPPED" => SchemaChangeType::Dropped,
            other => return Err(unknown("schema change type", other)),
        };
        let target = reader.string()?;
        let keyspace = reader.string()?;
        let target = match target.as_str() {
            "KEYSPACE" => SchemaChangeTarget::Keyspace { keyspace },
            "TABLE" => SchemaChangeTarget::Table {
                keyspace,
                table: reader.string()?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace,
                name: reader.string()?,
            },
            "FUNCTION" => SchemaChangeTarget::Function {
                keyspace,
                name: reader.string()?,
                arg_types: reader.string_list()?,
            },
            "AGGREGATE" => SchemaChangeTarget::Aggregate {
                keyspace,
                name: reader.string()?,
                arg_types: reader.string_list()?,
            },
            other => return Err(unknown("schema change target", other)),
        };
        Ok(Self {
            change_type,
            target,
        })
    }

    /// Writes a schema change.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        write::string(
            dst,
            match self.change_type {
                SchemaChangeType::Created => "CREATED",
                SchemaChangeType::Updated => "UPDATED",
                SchemaChangeType::Dropped => "DROPPED",
            },
        )?;
        match &self.target {
            SchemaChangeTarget::Keyspace { keyspace } => {
                write::string(dst, "KEYSPACE")?;
                write::string(dst, keyspace)
            }
            SchemaChangeTarget::Table {
                keyspace,
                table: name,
            }
            | SchemaChangeTarget::Type { keyspace, name } => {
                let target = match self.target {
                    SchemaChangeTarget::Table { .. } => "TABLE",
                    _ => "TYPE",
                };
                write::string(dst, target)?;
                write::string(dst, keyspace)?;
                write::string(dst, name)
            }
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            }
            | SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            } => {
                let target = match self.target {
                    SchemaChangeTarget::Function { .. } => "FUNCTION",
                    _ => "AGGREGATE",
                };
                write::string(dst, target)?;
                write::string(dst, keyspace)?;
                write::string(dst, name)?;
                write::string_list(dst, arg_types)
            }
        }
    }
}

/// TOPOLOGY_CHANGE kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "the variant names are CQL's own")]
pub enum TopologyChangeType {
    NewNode,
    RemovedNode,
    /// Sent by older servers; kept so a client does not fail on it.
    MovedNode,
}

/// STATUS_CHANGE kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "the variant names are CQL's own")]
pub enum StatusChangeType {
    Up,
    Down,
}

/// A server-pushed event (stream -1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A node joined, left or moved; `address` is its native-protocol address.
    TopologyChange {
        /// What happened.
        change: TopologyChangeType,
        /// The node's CQL address.
        address: SocketAddr,
    },
    /// A node went up or down.
    StatusChange {
        /// What happened.
        change: StatusChangeType,
        /// The node's CQL address.
        address: SocketAddr,
    },
    /// DDL happened.
    SchemaChange(SchemaChange),
}

impl Event {
    /// The REGISTER type this event belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::TopologyChange { .. } => EventType::TopologyChange,
            Self::StatusChange { .. } => EventType::StatusChange,
            Self::SchemaChange(_) => EventType::SchemaChange,
        }
    }

    /// Reads an EVENT body.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        Ok(match EventType::from_name(&reader.string()?)? {
            EventType::TopologyChange => Self::TopologyChange {
                change: match reader.string()?.as_str() {
                    "NEW_NODE" => TopologyChangeType::NewNode,
                    "REMOVED_NODE" => TopologyChangeType::RemovedNode,
                    "MOVED_NODE" => TopologyChangeType::MovedNode,
                    other => return Err(unknown("topology change", other)),
                },
                address: reader.inet()?,
            },
            EventType::StatusChange => Self::StatusChange {
                change: match reader.string()?.as_str() {
                    "UP" => StatusChangeType::Up,
                    "DOWN" => StatusChangeType::Down,
                    other => return Err(unknown("status change", other)),
                },
                address: reader.inet()?,
            },
            EventType::SchemaChange => Self::SchemaChange(SchemaChange::decode(reader)?),
        })
    }

    /// Writes an EVENT body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        write::string(dst, self.event_type().name())?;
        match self {
            Self::TopologyChange { change, address } => {
                write::string(
                    dst,
                    match change {
                        TopologyChangeType::NewNode => "NEW_NODE",
                        TopologyChangeType::RemovedNode => "REMOVED_NODE",
                        TopologyChangeType::MovedNode => "MOVED_NODE",
                    },
                )?;
                write::inet(dst, address);
            }
            Self::StatusChange { change, address } => {
                let name = match change {
                    StatusChangeType::Up => "UP",
                    StatusChangeType::Down => "DOWN",
                };
                write::string(dst, name)?;
                write::inet(dst, address);
            }
            Self::SchemaChange(change) => change.encode(dst)?,
        }
        Ok(())
    }
}

fn unknown(what: &'static str, value: &str) -> Error {
    Error::UnknownValue {
        what,
        value: value.to_owned(),
    }
}
