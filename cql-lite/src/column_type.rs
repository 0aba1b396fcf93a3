//! Column types as the protocol carries them: an `[option]` whose id names the type and
//! whose value, for collections, UDTs and tuples, holds the nested types (spec §4.2.5.2).

use bytes::{BufMut, BytesMut};

use crate::error::{Error, Result};
use crate::notation::{Reader, write};

/// How deep types may nest when decoding. Each level costs two bytes on the wire, so
/// without a limit a 16 MiB body could nest millions of levels and exhaust the stack.
pub const MAX_TYPE_DEPTH: usize = 64;

/// A CQL type as sent in column specs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the names are the protocol's")]
pub enum ColumnType {
    /// A type the protocol has no id for, named by its Java class (v4 sends `duration`
    /// and `vector` this way).
    Custom(String),
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    Timestamp,
    Uuid,
    /// `text` and `varchar` (0x000A Text was dropped after v2).
    Varchar,
    Varint,
    Timeuuid,
    Inet,
    Date,
    Time,
    Smallint,
    Tinyint,
    /// Id 0x0015 belongs to v5; accepted when decoding so a newer server does not break us.
    Duration,
    List(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Set(Box<ColumnType>),
    Udt {
        keyspace: String,
        name: String,
        fields: Vec<(String, ColumnType)>,
    },
    Tuple(Vec<ColumnType>),
}

/// The ids of the types that carry no value, in one table so decode and encode agree.
const SIMPLE: [(u16, ColumnType); 20] = [
    (0x0001, ColumnType::Ascii),
    (0x0002, ColumnType::Bigint),
    (0x0003, ColumnType::Blob),
    (0x0004, ColumnType::Boolean),
    (0x0005, ColumnType::Counter),
    (0x0006, ColumnType::Decimal),
    (0x0007, ColumnType::Double),
    (0x0008, ColumnType::Float),
    (0x0009, ColumnType::Int),
    (0x000B, ColumnType::Timestamp),
    (0x000C, ColumnType::Uuid),
    (0x000D, ColumnType::Varchar),
    (0x000E, ColumnType::Varint),
    (0x000F, ColumnType::Timeuuid),
    (0x0010, ColumnType::Inet),
    (0x0011, ColumnType::Date),
    (0x0012, ColumnType::Time),
    (0x0013, ColumnType::Smallint),
    (0x0014, ColumnType::Tinyint),
    (0x0015, ColumnType::Duration),
];

const CUSTOM: u16 = 0x0000;
const LIST: u16 = 0x0020;
const MAP: u16 = 0x0021;
const SET: u16 = 0x0022;
const UDT: u16 = 0x0030;
const TUPLE: u16 = 0x0031;

impl ColumnType {
    /// Reads an `[option]` type.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        Self::decode_nested(reader, 0)
    }

    fn decode_nested(reader: &mut Reader, depth: usize) -> Result<Self> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(Error::TypeTooDeep {
                max_depth: MAX_TYPE_DEPTH,
            });
        }
        let inner = |r: &mut Reader| Self::decode_nested(r, depth + 1).map(Box::new);
        let id = reader.short()?;
        Ok(match id {
            CUSTOM => Self::Custom(reader.string()?),
            LIST => Self::List(inner(reader)?),
            MAP => Self::Map(inner(reader)?, inner(reader)?),
            SET => Self::Set(inner(reader)?),
            UDT => Self::Udt {
                keyspace: reader.string()?,
                name: reader.string()?,
                fields: reader
                    .short_list(4, |r| Ok((r.string()?, Self::decode_nested(r, depth + 1)?)))?,
            },
            TUPLE => Self::Tuple(reader.short_list(2, |r| Self::decode_nested(r, depth + 1))?),
            _ => SIMPLE
                .iter()
                .find(|(code, _)| *code == id)
                .map(|(_, ty)| ty.clone())
                .ok_or_else(|| Error::UnknownValue {
                    what: "type id",
                    value: id.to_string(),
                })?,
        })
    }

    /// Writes the `[option]`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            Self::Custom(class) => {
                dst.put_u16(CUSTOM);
                write::string(dst, class)
            }
            Self::List(elem) | Self::Set(elem) => {
                dst.put_u16(if matches!(self, Self::List(_)) {
                    LIST
                } else {
                    SET
                });
                elem.encode(dst)
            }
            Self::Map(key, value) => {
                dst.put_u16(MAP);
                key.encode(dst)?;
                value.encode(dst)
            }
            Self::Udt {
                keyspace,
                name,
                fields,
            } => {
                dst.put_u16(UDT);
                write::string(dst, keyspace)?;
                write::string(dst, name)?;
                write::count(dst, fields.len(), "UDT fields")?;
                fields.iter().try_for_each(|(field, ty)| {
                    write::string(dst, field)?;
                    ty.encode(dst)
                })
            }
            Self::Tuple(elems) => {
                dst.put_u16(TUPLE);
                write::count(dst, elems.len(), "tuple elements")?;
                elems.iter().try_for_each(|ty| ty.encode(dst))
            }
            simple => {
                let (code, _) = SIMPLE
                    .iter()
                    .find(|(_, ty)| ty == simple)
                    .ok_or(Error::Unencodable("type without an id"))?;
                dst.put_u16(*code);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ty: &ColumnType) -> ColumnType {
        let mut buf = BytesMut::new();
        ty.encode(&mut buf).unwrap();
        let mut reader = Reader::new(buf.freeze());
        let back = ColumnType::decode(&mut reader).unwrap();
        assert_eq!(reader.remaining(), 0);
        back
    }

    #[test]
    fn nested_types_round_trip() {
        let ty = ColumnType::Map(
            Box::new(ColumnType::Varchar),
            Box::new(ColumnType::List(Box::new(ColumnType::Tuple(vec![
                ColumnType::Int,
                ColumnType::Custom("org.apache.cassandra.db.marshal.DurationType".into()),
                ColumnType::Udt {
                    keyspace: "ks".into(),
                    name: "addr".into(),
                    fields: vec![("street".into(), ColumnType::Set(Box::new(ColumnType::Inet)))],
                },
            ])))),
        );
        assert_eq!(round_trip(&ty), ty);
        for (_, simple) in SIMPLE {
            assert_eq!(round_trip(&simple), simple);
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing_forever() {
        let mut buf = BytesMut::new();
        for _ in 0..100_000 {
            buf.put_u16(LIST);
        }
        buf.put_u16(0x0009);
        let err = ColumnType::decode(&mut Reader::new(buf.freeze())).unwrap_err();
        assert_eq!(
            err,
            Error::TypeTooDeep {
                max_depth: MAX_TYPE_DEPTH
            }
        );
    }

    #[test]
    fn text_id_of_v2_is_unknown() {
        let err = ColumnType::decode(&mut Reader::new(bytes::Bytes::from_static(&[0, 0x0A])));
        assert!(matches!(err, Err(Error::UnknownValue { .. })));
    }
}
