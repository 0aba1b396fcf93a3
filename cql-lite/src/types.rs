//! CQL types as the schema knows them.
//!
//! The protocol's [`ColumnType`] says how a value travels in a result set, but it cannot
//! say whether a collection is frozen, and it spells `text` as `varchar` and `duration` as
//! a Java class name. Schema, binding and the byte-comparable key encoding need the
//! type as the user declared it, so [`CqlType`] is that type, with a conversion each way
//! and its name printed as Cassandra prints it (in `DESCRIBE` and in
//! `system_schema.columns.type`).

use crate::ast::NativeType;
use std::fmt;

use crate::column_type::ColumnType;
use crate::value_error::ValueError;

/// The Java class Cassandra names in a v4 `Custom` option for `duration`.
pub const DURATION_CLASS: &str = "org.apache.cassandra.db.marshal.DurationType";

/// A CQL data type (user-defined types and vectors are not supported yet).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the variants are the CQL type names")]
pub enum CqlType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    /// `text`, also spelled `varchar`.
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
    /// `list<element>`; a non-frozen list is stored one cell per element.
    List {
        element: Box<CqlType>,
        frozen: bool,
    },
    /// `set<element>`.
    Set {
        element: Box<CqlType>,
        frozen: bool,
    },
    /// `map<key, value>`.
    Map {
        key: Box<CqlType>,
        value: Box<CqlType>,
        frozen: bool,
    },
    /// `tuple<...>`: always frozen in Cassandra.
    Tuple(Vec<CqlType>),
}

impl CqlType {
    /// `list<element>`, frozen or not.
    pub fn list(element: CqlType, frozen: bool) -> Self {
        Self::List {
            element: Box::new(element),
            frozen,
        }
    }

    /// `set<element>`, frozen or not.
    pub fn set(element: CqlType, frozen: bool) -> Self {
        Self::Set {
            element: Box::new(element),
            frozen,
        }
    }

    /// `map<key, value>`, frozen or not.
    pub fn map(key: CqlType, value: CqlType, frozen: bool) -> Self {
        Self::Map {
            key: Box::new(key),
            value: Box::new(value),
            frozen,
        }
    }

    /// Whether the type is a collection (list, set or map), frozen or not.
    pub fn is_collection(&self) -> bool {
        matches!(
            self,
            Self::List { .. } | Self::Set { .. } | Self::Map { .. }
        )
    }

    /// Whether a value of this type is one cell: everything but a non-frozen collection.
    pub fn is_frozen(&self) -> bool {
        match self {
            Self::List { frozen, .. } | Self::Set { frozen, .. } | Self::Map { frozen, .. } => {
                *frozen
            }
            _ => true,
        }
    }

    /// The same type with every collection in it frozen, as `frozen<...>` does in CQL.
    pub fn frozen(&self) -> Self {
        match self {
            Self::List { element, .. } => Self::list(element.frozen(), true),
            Self::Set { element, .. } => Self::set(element.frozen(), true),
            Self::Map { key, value, .. } => Self::map(key.frozen(), value.frozen(), true),
            Self::Tuple(types) => Self::Tuple(types.iter().map(Self::frozen).collect()),
            simple => simple.clone(),
        }
    }

    /// Whether values of this type may be a primary-key component (partition or
    /// clustering): no duration anywhere, no counter, and every collection frozen.
    pub fn can_be_key(&self) -> bool {
        match self {
            Self::Duration | Self::Counter => false,
            Self::List { element, frozen } | Self::Set { element, frozen } => {
                *frozen && element.can_be_key()
            }
            Self::Map { key, value, frozen } => *frozen && key.can_be_key() && value.can_be_key(),
            Self::Tuple(types) => types.iter().all(Self::can_be_key),
            _ => true,
        }
    }

    /// The type as the protocol carries it in column specs (frozenness is not sent;
    /// `duration` is a custom type in v4).
    pub fn to_column_type(&self) -> ColumnType {
        let boxed = |ty: &CqlType| Box::new(ty.to_column_type());
        match self {
            Self::Ascii => ColumnType::Ascii,
            Self::Bigint => ColumnType::Bigint,
            Self::Blob => ColumnType::Blob,
            Self::Boolean => ColumnType::Boolean,
            Self::Counter => ColumnType::Counter,
            Self::Date => ColumnType::Date,
            Self::Decimal => ColumnType::Decimal,
            Self::Double => ColumnType::Double,
            Self::Duration => ColumnType::Custom(DURATION_CLASS.to_owned()),
            Self::Float => ColumnType::Float,
            Self::Inet => ColumnType::Inet,
            Self::Int => ColumnType::Int,
            Self::Smallint => ColumnType::Smallint,
            Self::Text => ColumnType::Varchar,
            Self::Time => ColumnType::Time,
            Self::Timestamp => ColumnType::Timestamp,
            Self::Timeuuid => ColumnType::Timeuuid,
            Self::Tinyint => ColumnType::Tinyint,
            Self::Uuid => ColumnType::Uuid,
            Self::Varint => ColumnType::Varint,
            Self::List { element, .. } => ColumnType::List(boxed(element)),
            Self::Set { element, .. } => ColumnType::Set(boxed(element)),
            Self::Map { key, value, .. } => ColumnType::Map(boxed(key), boxed(value)),
            Self::Tuple(types) => {
                ColumnType::Tuple(types.iter().map(Self::to_column_type).collect())
            }
        }
    }

    /// The type a protocol column type names. The protocol does not say what is frozen:
    /// a top-level collection comes back non-frozen, nested ones frozen (the only legal
    /// choice there); call [`CqlType::frozen`] when the column is known to be frozen.
    pub fn from_column_type(ty: &ColumnType) -> Result<Self, ValueError> {
        Self::from_column_type_nested(ty, false)
    }

    fn from_column_type_nested(ty: &ColumnType, nested: bool) -> Result<Self, ValueError> {
        let inner = |t: &ColumnType| Self::from_column_type_nested(t, true);
        Ok(match ty {
            ColumnType::Ascii => Self::Ascii,
            ColumnType::Bigint => Self::Bigint,
            ColumnType::Blob => Self::Blob,
            ColumnType::Boolean => Self::Boolean,
            ColumnType::Counter => Self::Counter,
            ColumnType::Date => Self::Date,
            ColumnType::Decimal => Self::Decimal,
            ColumnType::Double => Self::Double,
            ColumnType::Duration => Self::Duration,
            ColumnType::Custom(class) if class == DURATION_CLASS => Self::Duration,
            ColumnType::Float => Self::Float,
            ColumnType::Inet => Self::Inet,
            ColumnType::Int => Self::Int,
            ColumnType::Smallint => Self::Smallint,
            ColumnType::Varchar => Self::Text,
            ColumnType::Time => Self::Time,
            ColumnType::Timestamp => Self::Timestamp,
            ColumnType::Timeuuid => Self::Timeuuid,
            ColumnType::Tinyint => Self::Tinyint,
            ColumnType::Uuid => Self::Uuid,
            ColumnType::Varint => Self::Varint,
            ColumnType::List(element) => Self::list(inner(element)?, nested),
            ColumnType::Set(element) => Self::set(inner(element)?, nested),
            ColumnType::Map(key, value) => Self::map(inner(key)?, inner(value)?, nested),
            ColumnType::Tuple(types) => {
                Self::Tuple(types.iter().map(inner).collect::<Result<_, _>>()?)
            }
            ColumnType::Custom(class) => {
                return Err(ValueError::Unsupported(format!("custom type {class}")));
            }
            ColumnType::Udt { keyspace, name, .. } => {
                return Err(ValueError::Unsupported(format!(
                    "user-defined type {keyspace}.{name}"
                )));
            }
        })
    }
}

impl fmt::Display for CqlType {
    /// The CQL name as Cassandra prints it: `frozen<map<text, int>>`,
    /// `list<frozen<set<int>>>`, `frozen<tuple<int, text>>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::List { element, frozen } => wrap(f, *frozen, |f| write!(f, "list<{element}>")),
            Self::Set { element, frozen } => wrap(f, *frozen, |f| write!(f, "set<{element}>")),
            Self::Map { key, value, frozen } => {
                wrap(f, *frozen, |f| write!(f, "map<{key}, {value}>"))
            }
            Self::Tuple(types) => wrap(f, true, |f| {
                f.write_str("tuple<")?;
                for (i, ty) in types.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{ty}")?;
                }
                f.write_str(">")
            }),
            native => f.write_str(native.native().map_or("", NativeType::name)),
        }
    }
}

impl CqlType {
    /// The native type this is, `None` for collections and tuples.
    pub fn native(&self) -> Option<NativeType> {
        Some(match self {
            Self::Ascii => NativeType::Ascii,
            Self::Bigint => NativeType::Bigint,
            Self::Blob => NativeType::Blob,
            Self::Boolean => NativeType::Boolean,
            Self::Counter => NativeType::Counter,
            Self::Date => NativeType::Date,
            Self::Decimal => NativeType::Decimal,
            Self::Double => NativeType::Double,
            Self::Duration => NativeType::Duration,
            Self::Float => NativeType::Float,
            Self::Inet => NativeType::Inet,
            Self::Int => NativeType::Int,
            Self::Smallint => NativeType::Smallint,
            Self::Text => NativeType::Text,
            Self::Time => NativeType::Time,
            Self::Timestamp => NativeType::Timestamp,
            Self::Timeuuid => NativeType::Timeuuid,
            Self::Tinyint => NativeType::Tinyint,
            Self::Uuid => NativeType::Uuid,
            Self::Varint => NativeType::Varint,
            Self::List { .. } | Self::Set { .. } | Self::Map { .. } | Self::Tuple(_) => {
                return None;
            }
        })
    }
}

/// The semantic type of a native type name the parser read: binding a
/// `CREATE TABLE` goes through here, so syntax and semantics meet in one place.
impl From<NativeType> for CqlType {
    fn from(t: NativeType) -> CqlType {
        match t {
            NativeType::Ascii => Self::Ascii,
            NativeType::Bigint => Self::Bigint,
            NativeType::Blob => Self::Blob,
            NativeType::Boolean => Self::Boolean,
            NativeType::Counter => Self::Counter,
            NativeType::Date => Self::Date,
            NativeType::Decimal => Self::Decimal,
            NativeType::Double => Self::Double,
            NativeType::Duration => Self::Duration,
            NativeType::Float => Self::Float,
            NativeType::Inet => Self::Inet,
            NativeType::Int => Self::Int,
            NativeType::Smallint => Self::Smallint,
            NativeType::Text => Self::Text,
            NativeType::Time => Self::Time,
            NativeType::Timestamp => Self::Timestamp,
            NativeType::Timeuuid => Self::Timeuuid,
            NativeType::Tinyint => Self::Tinyint,
            NativeType::Uuid => Self::Uuid,
            NativeType::Varint => Self::Varint,
        }
    }
}

fn wrap(
    f: &mut fmt::Formatter<'_>,
    frozen: bool,
    body: impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    if frozen {
        f.write_str("frozen<")?;
    }
    body(f)?;
    if frozen {
        f.write_str(">")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_native_name_maps_to_a_type_that_prints_it() {
        for name in [
            "ascii",
            "bigint",
            "blob",
            "boolean",
            "counter",
            "date",
            "decimal",
            "double",
            "duration",
            "float",
            "inet",
            "int",
            "smallint",
            "text",
            "time",
            "timestamp",
            "timeuuid",
            "tinyint",
            "uuid",
            "varint",
        ] {
            let native = NativeType::from_name(name).expect("a native name");
            let ty = CqlType::from(native);
            assert_eq!(ty.to_string(), name);
            assert_eq!(ty.native(), Some(native));
        }
        assert_eq!(
            CqlType::from(NativeType::from_name("VARCHAR").expect("varchar")).to_string(),
            "text"
        );
        assert_eq!(CqlType::list(CqlType::Int, false).native(), None);
    }

    #[test]
    fn names_print_as_cassandra_prints_them() {
        let cases = [
            (
                CqlType::map(CqlType::Text, CqlType::Int, true),
                "frozen<map<text, int>>",
            ),
            (
                CqlType::list(CqlType::set(CqlType::Int, true), false),
                "list<frozen<set<int>>>",
            ),
            (
                CqlType::Tuple(vec![CqlType::Int, CqlType::Text]),
                "frozen<tuple<int, text>>",
            ),
            (
                CqlType::map(
                    CqlType::Timeuuid,
                    CqlType::list(CqlType::Blob, false),
                    false,
                )
                .frozen(),
                "frozen<map<timeuuid, frozen<list<blob>>>>",
            ),
            (CqlType::Duration, "duration"),
        ];
        for (ty, name) in cases {
            assert_eq!(ty.to_string(), name);
        }
    }

    #[test]
    fn column_type_round_trip() {
        let ty = CqlType::map(
            CqlType::Text,
            CqlType::list(
                CqlType::Tuple(vec![CqlType::Duration, CqlType::set(CqlType::Inet, true)]),
                true,
            ),
            false,
        );
        let ct = ty.to_column_type();
        assert_eq!(CqlType::from_column_type(&ct).unwrap(), ty);
        assert_eq!(
            CqlType::Duration.to_column_type(),
            ColumnType::Custom(DURATION_CLASS.into())
        );
        assert_eq!(
            CqlType::from_column_type(&ColumnType::Duration).unwrap(),
            CqlType::Duration
        );
        assert!(CqlType::from_column_type(&ColumnType::Custom("x.Y".into())).is_err());
    }

    #[test]
    fn key_eligibility() {
        assert!(CqlType::set(CqlType::Int, true).can_be_key());
        assert!(!CqlType::set(CqlType::Int, false).can_be_key());
        assert!(!CqlType::Tuple(vec![CqlType::Duration]).can_be_key());
        assert!(CqlType::Decimal.can_be_key());
    }
}
