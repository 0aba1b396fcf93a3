//! CQL values and their protocol v4 encoding: the bytes inside a `[bytes]` cell of a
//! QUERY/EXECUTE value or a result row.
//!
//! The frame codec carries values as opaque bytes; binding a statement and building rows
//! needs them typed. [`serialize`] and [`deserialize`] implement Cassandra's encodings
//! for every type (spec §6 and the `serializers` of Cassandra), and [`compare`] is each
//! type's CQL order, the order clustering keys, sets and map keys sort in.
//!
//! Decoding never panics and never allocates more than the input backs: every length is
//! checked against the bytes that remain.
//!
//! A zero-length value of a type that is not a string or blob is legal in Cassandra
//! ("empty", distinct from null) and sorts before every other value: it is
//! [`CqlValue::Empty`]. Null is not a value here: it is the caller's `None`.
// Values arrive from the network and from disk: decoding them must never
// panic, so no unchecked indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::CqlType;
pub use crate::value_error::ValueError;

fn invalid(ty: &'static str, reason: impl Into<String>) -> ValueError {
    ValueError::Invalid {
        ty,
        reason: reason.into(),
    }
}

/// An arbitrary-precision integer (`varint`), held as its minimal big-endian two's
/// complement bytes, which is also its wire form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Varint(Vec<u8>);

impl Varint {
    /// The integer whose two's complement big-endian bytes these are; redundant sign
    /// bytes are dropped, and no bytes at all read as zero.
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        let redundant = |pair: &[u8]| match pair {
            [b, next] => (*b == 0x00 && next & 0x80 == 0) || (*b == 0xFF && next & 0x80 != 0),
            _ => false,
        };
        let start = bytes.windows(2).take_while(|pair| redundant(pair)).count();
        match bytes.get(start..) {
            Some(rest) if !rest.is_empty() => Self(rest.to_vec()),
            _ => Self(vec![0]),
        }
    }

    /// The minimal two's complement big-endian bytes (at least one).
    pub fn as_be_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the integer is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.first().is_some_and(|b| b & 0x80 != 0)
    }

    /// Whether the integer is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0]
    }

    /// The integer as an `i128`, when it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.0.len() > 16 {
            return None;
        }
        let fill = if self.is_negative() { 0xFF } else { 0x00 };
        let mut buf = [fill; 16];
        buf.get_mut(16 - self.0.len()..)?.copy_from_slice(&self.0);
        Some(i128::from_be_bytes(buf))
    }
}

impl From<i128> for Varint {
    fn from(v: i128) -> Self {
        Self::from_be_bytes(&v.to_be_bytes())
    }
}

impl From<i64> for Varint {
    fn from(v: i64) -> Self {
        Self::from(i128::from(v))
    }
}

/// A `decimal`: `unscaled × 10^-scale`, kept as sent (1.0 and 1.00 are different
/// values that compare equal, as in Java's `BigDecimal::compareTo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The power of ten to divide by.
    pub scale: i32,
    /// The digits.
    pub unscaled: Varint,
}

impl Decimal {
    /// `unscaled × 10^-scale`.
    pub fn new(unscaled: impl Into<Varint>, scale: i32) -> Self {
        Self {
            scale,
            unscaled: unscaled.into(),
        }
    }
}

/// A `duration`: months, days and nanoseconds, all of the same sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Nanoseconds.
    pub nanoseconds: i64,
}

/// Nanoseconds in a day: `time` values lie in `0..NANOS_PER_DAY`.
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The `date` value of 1970-01-01: dates count days from 2^31 at the epoch.
pub const DATE_EPOCH: u32 = 1 << 31;

/// A CQL value. Which variant goes with which [`CqlType`] is what [`serialize`] checks.
#[derive(Debug, Clone, PartialEq)]
#[expect(missing_docs, reason = "the variants are named after their types")]
pub enum CqlValue {
    /// The zero-length value of a type that is not ascii, text or blob.
    Empty,
    Ascii(String),
    Bigint(i64),
    Blob(Vec<u8>),
    Boolean(bool),
    Counter(i64),
    /// Days since 2^31 = 1970-01-01 ([`DATE_EPOCH`]).
    Date(u32),
    Decimal(Decimal),
    Double(f64),
    Duration(Duration),
    Float(f32),
    Inet(IpAddr),
    Int(i32),
    Smallint(i16),
    Text(String),
    /// Nanoseconds since midnight, in `0..NANOS_PER_DAY`.
    Time(i64),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    /// A version-1 UUID.
    Timeuuid([u8; 16]),
    Tinyint(i8),
    Uuid([u8; 16]),
    Varint(Varint),
    /// A list, in order.
    List(Vec<CqlValue>),
    /// A set; Cassandra keeps sets sorted and without duplicates, [`normalize`] does that.
    Set(Vec<CqlValue>),
    /// A map's entries; kept sorted by key and unique by [`normalize`].
    Map(Vec<(CqlValue, CqlValue)>),
    /// A tuple's components; `None` is null. Fewer components than the type has mean
    /// trailing nulls.
    Tuple(Vec<Option<CqlValue>>),
}

impl CqlValue {
    /// The variant's name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Ascii(_) => "ascii",
            Self::Bigint(_) => "bigint",
            Self::Blob(_) => "blob",
            Self::Boolean(_) => "boolean",
            Self::Counter(_) => "counter",
            Self::Date(_) => "date",
            Self::Decimal(_) => "decimal",
            Self::Double(_) => "double",
            Self::Duration(_) => "duration",
            Self::Float(_) => "float",
            Self::Inet(_) => "inet",
            Self::Int(_) => "int",
            Self::Smallint(_) => "smallint",
            Self::Text(_) => "text",
            Self::Time(_) => "time",
            Self::Timestamp(_) => "timestamp",
            Self::Timeuuid(_) => "timeuuid",
            Self::Tinyint(_) => "tinyint",
            Self::Uuid(_) => "uuid",
            Self::Varint(_) => "varint",
            Self::List(_) => "list",
            Self::Set(_) => "set",
            Self::Map(_) => "map",
            Self::Tuple(_) => "tuple",
        }
    }
}

pub(crate) fn mismatch(ty: &CqlType, value: &CqlValue) -> ValueError {
    ValueError::TypeMismatch {
        expected: ty.to_string(),
        got: value.kind(),
    }
}

/// The UUID version: the high nibble of byte 6.
pub fn uuid_version(uuid: &[u8; 16]) -> u8 {
    uuid[6] >> 4
}

// ---------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------

/// Appends the v4 encoding of `value` as a `ty` (without the `[bytes]` length).
pub fn serialize(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    match (ty, value) {
        (_, V::Empty) => {}
        (T::Ascii, V::Ascii(s)) => {
            if !s.is_ascii() {
                return Err(invalid("ascii", "non-ASCII character"));
            }
            out.extend_from_slice(s.as_bytes());
        }
        (T::Text, V::Text(s)) => out.extend_from_slice(s.as_bytes()),
        (T::Blob, V::Blob(b)) => out.extend_from_slice(b),
        (T::Bigint, V::Bigint(v)) | (T::Counter, V::Counter(v)) => {
            out.extend_from_slice(&v.to_be_bytes());
        }
        (T::Timestamp, V::Timestamp(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (T::Time, V::Time(v)) => {
            check_time(*v)?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        (T::Boolean, V::Boolean(b)) => out.push(u8::from(*b)),
        (T::Date, V::Date(d)) => out.extend_from_slice(&d.to_be_bytes()),
        (T::Decimal, V::Decimal(d)) => {
            out.extend_from_slice(&d.scale.to_be_bytes());
            out.extend_from_slice(d.unscaled.as_be_bytes());
        }
        (T::Double, V::Double(v)) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
        (T::Float, V::Float(v)) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
        (T::Duration, V::Duration(d)) => {
            check_duration(d.months.into(), d.days.into(), d.nanoseconds)?;
            write_signed_vint(out, d.months.into());
            write_signed_vint(out, d.days.into());
            write_signed_vint(out, d.nanoseconds);
        }
        (T::Inet, V::Inet(IpAddr::V4(a))) => out.extend_from_slice(&a.octets()),
        (T::Inet, V::Inet(IpAddr::V6(a))) => out.extend_from_slice(&a.octets()),
        (T::Int, V::Int(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (T::Smallint, V::Smallint(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (T::Tinyint, V::Tinyint(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (T::Uuid, V::Uuid(u)) => out.extend_from_slice(u),
        (T::Timeuuid, V::Timeuuid(u)) => {
            check_timeuuid(u)?;
            out.extend_from_slice(u);
        }
        (T::Varint, V::Varint(v)) => out.extend_from_slice(v.as_be_bytes()),
        (T::List { .. } | T::Set { .. } | T::Map { .. } | T::Tuple(_), _) => {
            serialize_composite(ty, value, out)?;
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

/// [`serialize`] for collections and tuples: a count (or the tuple's arity),
/// then each element as `[bytes]`.
fn serialize_composite(
    ty: &CqlType,
    value: &CqlValue,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    match (ty, value) {
        (T::List { element, .. }, V::List(items)) | (T::Set { element, .. }, V::Set(items)) => {
            write_count(out, items.len())?;
            for item in items {
                write_element(element, item, out)?;
            }
        }
        (T::Map { key, value: vt, .. }, V::Map(entries)) => {
            write_count(out, entries.len())?;
            for (k, v) in entries {
                write_element(key, k, out)?;
                write_element(vt, v, out)?;
            }
        }
        (T::Tuple(types), V::Tuple(items)) => {
            if items.len() > types.len() {
                return Err(invalid(
                    "tuple",
                    format!("{} components for {} types", items.len(), types.len()),
                ));
            }
            for (ty, item) in types.iter().zip(items) {
                match item {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => write_element(ty, v, out)?,
                }
            }
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

fn write_count(out: &mut Vec<u8>, n: usize) -> Result<(), ValueError> {
    let n = i32::try_from(n).map_err(|_| ValueError::InvalidLength {
        what: "element count",
        value: i64::try_from(n).unwrap_or(i64::MAX),
    })?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// Writes an `[int]`-length-prefixed element.
fn write_element(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    serialize(ty, value, out)?;
    let len = out.len() - at - 4;
    let len = i32::try_from(len).map_err(|_| ValueError::InvalidLength {
        what: "element length",
        value: i64::try_from(len).unwrap_or(i64::MAX),
    })?;
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

fn check_time(v: i64) -> Result<(), ValueError> {
    if (0..NANOS_PER_DAY).contains(&v) {
        Ok(())
    } else {
        Err(invalid("time", format!("{v} ns is outside one day")))
    }
}

fn check_timeuuid(u: &[u8; 16]) -> Result<(), ValueError> {
    match uuid_version(u) {
        1 => Ok(()),
        v => Err(invalid("timeuuid", format!("version {v}, not 1"))),
    }
}

fn check_duration(months: i64, days: i64, nanos: i64) -> Result<(), ValueError> {
    if (months >= 0 && days >= 0 && nanos >= 0) || (months <= 0 && days <= 0 && nanos <= 0) {
        Ok(())
    } else {
        Err(invalid(
            "duration",
            "months, days and nanoseconds must all have the same sign",
        ))
    }
}

/// Cassandra's unsigned vint: the count of leading one bits of the first byte is the
/// count of bytes that follow; the value is big-endian in the remaining bits.
fn write_unsigned_vint(out: &mut Vec<u8>, v: u64) {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    // Each byte carries 7 payload bits, except that nine bytes carry all 64.
    let size = if bits > 56 { 9 } else { bits.div_ceil(7) };
    let bytes = v.to_be_bytes();
    match size {
        1 => out.push(bytes[7]),
        9 => {
            out.push(0xFF);
            out.extend_from_slice(&bytes);
        }
        _ => {
            // 2..=8 bytes: the first carries the length in its high bits.
            let tail = bytes.get(8 - size..).unwrap_or_default();
            if let Some((first, rest)) = tail.split_first() {
                out.push(first | !(0xFFu8 >> (size - 1)));
                out.extend_from_slice(rest);
            }
        }
    }
}

fn write_signed_vint(out: &mut Vec<u8>, v: i64) {
    write_unsigned_vint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn read_unsigned_vint(bytes: &mut &[u8]) -> Result<u64, ValueError> {
    let (&first, rest) = bytes.split_first().ok_or(ValueError::Truncated {
        what: "vint",
        needed: 1,
        remaining: 0,
    })?;
    let extra = first.leading_ones() as usize;
    let (body, after) = rest.split_at_checked(extra).ok_or(ValueError::Truncated {
        what: "vint",
        needed: extra,
        remaining: rest.len(),
    })?;
    let mut v = u64::from(first & 0xFFu8.checked_shr(extra as u32).unwrap_or(0));
    for &b in body {
        v = (v << 8) | u64::from(b);
    }
    *bytes = after;
    Ok(v)
}

fn read_signed_vint(bytes: &mut &[u8]) -> Result<i64, ValueError> {
    let v = read_unsigned_vint(bytes)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

// ---------------------------------------------------------------------------------------
// Deserialization
// ---------------------------------------------------------------------------------------

/// Reads a `ty` value from its whole v4 encoding.
pub fn deserialize(ty: &CqlType, bytes: &[u8]) -> Result<CqlValue, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    if bytes.is_empty() && !matches!(ty, T::Ascii | T::Text | T::Blob) {
        return Ok(V::Empty);
    }
    Ok(match ty {
        T::Ascii => {
            if !bytes.is_ascii() {
                return Err(invalid("ascii", "non-ASCII byte"));
            }
            V::Ascii(String::from_utf8_lossy(bytes).into_owned())
        }
        T::Text => std::str::from_utf8(bytes)
            .map(|s| V::Text(s.to_owned()))
            .map_err(|e| invalid("text", format!("invalid UTF-8: {e}")))?,
        T::Blob => V::Blob(bytes.to_vec()),
        T::Bigint => V::Bigint(i64::from_be_bytes(fixed("bigint", bytes)?)),
        T::Counter => V::Counter(i64::from_be_bytes(fixed("counter", bytes)?)),
        T::Timestamp => V::Timestamp(i64::from_be_bytes(fixed("timestamp", bytes)?)),
        T::Time => {
            let v = i64::from_be_bytes(fixed("time", bytes)?);
            check_time(v)?;
            V::Time(v)
        }
        T::Int => V::Int(i32::from_be_bytes(fixed("int", bytes)?)),
        T::Smallint => V::Smallint(i16::from_be_bytes(fixed("smallint", bytes)?)),
        T::Tinyint => V::Tinyint(i8::from_be_bytes(fixed("tinyint", bytes)?)),
        T::Boolean => V::Boolean(fixed::<1>("boolean", bytes)?[0] != 0),
        T::Date => V::Date(u32::from_be_bytes(fixed("date", bytes)?)),
        T::Float => V::Float(f32::from_bits(u32::from_be_bytes(fixed("float", bytes)?))),
        T::Double => V::Double(f64::from_bits(u64::from_be_bytes(fixed("double", bytes)?))),
        T::Uuid => V::Uuid(fixed("uuid", bytes)?),
        T::Timeuuid => {
            let u = fixed("timeuuid", bytes)?;
            check_timeuuid(&u)?;
            V::Timeuuid(u)
        }
        T::Inet => match bytes.len() {
            4 => V::Inet(IpAddr::V4(Ipv4Addr::from(fixed::<4>("inet", bytes)?))),
            16 => V::Inet(IpAddr::V6(Ipv6Addr::from(fixed::<16>("inet", bytes)?))),
            n => {
                return Err(ValueError::WrongLength {
                    ty: "inet",
                    expected: "4 or 16",
                    actual: n,
                });
            }
        },
        T::Varint => V::Varint(Varint::from_be_bytes(bytes)),
        T::Decimal => deserialize_decimal(bytes)?,
        T::Duration => deserialize_duration(ty, bytes)?,
        T::List { .. } | T::Set { .. } | T::Map { .. } | T::Tuple(_) => {
            deserialize_composite(ty, bytes)?
        }
    })
}

/// A decimal: a 4-byte scale, then the unscaled value as a varint.
fn deserialize_decimal(bytes: &[u8]) -> Result<CqlValue, ValueError> {
    let Some((scale, unscaled)) = bytes.split_first_chunk::<4>() else {
        return Err(ValueError::Truncated {
            what: "decimal scale",
            needed: 4,
            remaining: bytes.len(),
        });
    };
    if unscaled.is_empty() {
        return Err(invalid("decimal", "no unscaled value after the scale"));
    }
    Ok(CqlValue::Decimal(Decimal {
        scale: i32::from_be_bytes(*scale),
        unscaled: Varint::from_be_bytes(unscaled),
    }))
}

/// A duration: months, days and nanoseconds as signed vints.
fn deserialize_duration(ty: &CqlType, bytes: &[u8]) -> Result<CqlValue, ValueError> {
    let mut rest = bytes;
    let months = read_signed_vint(&mut rest)?;
    let days = read_signed_vint(&mut rest)?;
    let nanoseconds = read_signed_vint(&mut rest)?;
    if !rest.is_empty() {
        return Err(trailing(ty, rest.len()));
    }
    let months = i32::try_from(months)
        .map_err(|_| invalid("duration", format!("{months} months overflow an int")))?;
    let days = i32::try_from(days)
        .map_err(|_| invalid("duration", format!("{days} days overflow an int")))?;
    check_duration(months.into(), days.into(), nanoseconds)?;
    Ok(CqlValue::Duration(Duration {
        months,
        days,
        nanoseconds,
    }))
}

/// Collections and tuples: a count (or the tuple's arity), then `[bytes]` elements.
fn deserialize_composite(ty: &CqlType, bytes: &[u8]) -> Result<CqlValue, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match ty {
        T::List { element, .. } | T::Set { element, .. } => {
            let mut rest = bytes;
            let n = read_count(&mut rest)?;
            let mut items = Vec::with_capacity(n.min(rest.len() / 4));
            for _ in 0..n {
                items.push(read_element(element, &mut rest)?);
            }
            if !rest.is_empty() {
                return Err(trailing(ty, rest.len()));
            }
            if matches!(ty, T::List { .. }) {
                V::List(items)
            } else {
                V::Set(items)
            }
        }
        T::Map { key, value, .. } => {
            let mut rest = bytes;
            let n = read_count(&mut rest)?;
            let mut entries = Vec::with_capacity(n.min(rest.len() / 8));
            for _ in 0..n {
                let k = read_element(key, &mut rest)?;
                let v = read_element(value, &mut rest)?;
                entries.push((k, v));
            }
            if !rest.is_empty() {
                return Err(trailing(ty, rest.len()));
            }
            V::Map(entries)
        }
        T::Tuple(types) => {
            let mut rest = bytes;
            let mut items = Vec::with_capacity(types.len());
            for ty in types {
                if rest.is_empty() {
                    // Trailing components may be omitted; they are null.
                    items.push(None);
                    continue;
                }
                items.push(match read_len(&mut rest, "tuple component length")? {
                    None => None,
                    Some(body) => Some(deserialize(ty, body)?),
                });
            }
            if !rest.is_empty() {
                return Err(trailing(ty, rest.len()));
            }
            V::Tuple(items)
        }
        _ => return Err(invalid("composite", "not a collection or tuple type")),
    })
}

fn trailing(ty: &CqlType, count: usize) -> ValueError {
    ValueError::TrailingBytes {
        ty: ty.to_string(),
        count,
    }
}

fn fixed<const N: usize>(ty: &'static str, bytes: &[u8]) -> Result<[u8; N], ValueError> {
    bytes.try_into().map_err(|_| ValueError::WrongLength {
        ty,
        expected: match N {
            1 => "1",
            2 => "2",
            4 => "4",
            8 => "8",
            _ => "16",
        },
        actual: bytes.len(),
    })
}

fn read_i32(rest: &mut &[u8], what: &'static str) -> Result<i32, ValueError> {
    let Some((head, tail)) = rest.split_first_chunk::<4>() else {
        return Err(ValueError::Truncated {
            what,
            needed: 4,
            remaining: rest.len(),
        });
    };
    *rest = tail;
    Ok(i32::from_be_bytes(*head))
}

fn read_count(rest: &mut &[u8]) -> Result<usize, ValueError> {
    let n = read_i32(rest, "element count")?;
    usize::try_from(n).map_err(|_| ValueError::InvalidLength {
        what: "element count",
        value: n.into(),
    })
}

/// Reads an `[int]`-prefixed body; a negative length is null.
fn read_len<'a>(rest: &mut &'a [u8], what: &'static str) -> Result<Option<&'a [u8]>, ValueError> {
    let n = read_i32(rest, what)?;
    let Ok(n) = usize::try_from(n) else {
        return Ok(None);
    };
    if rest.len() < n {
        return Err(ValueError::Truncated {
            what: "element",
            needed: n,
            remaining: rest.len(),
        });
    }
    let (body, tail) = rest.split_at(n);
    *rest = tail;
    Ok(Some(body))
}

fn read_element(ty: &CqlType, rest: &mut &[u8]) -> Result<CqlValue, ValueError> {
    match read_len(rest, "element length")? {
        None => Err(ValueError::InvalidLength {
            what: "collection element (null)",
            value: -1,
        }),
        Some(body) => deserialize(ty, body),
    }
}

// ---------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------

/// Compares two values of `ty` in Cassandra's order for the type: the order of
/// clustering columns (ascending), set elements and map keys.
///
/// [`CqlValue::Empty`] sorts first. Floats and doubles follow Java's `compare`: `-0.0`
/// before `0.0`, every NaN equal and after `+∞`. `uuid` sorts by version, then version-1
/// UUIDs by timestamp, others by their high 64 bits, then by the low 64 bits unsigned;
/// `timeuuid` by timestamp, then the low 8 bytes as signed bytes. Collections compare
/// element by element, then by length; sets and maps are compared in their sorted form.
/// Durations have no order.
pub fn compare(ty: &CqlType, a: &CqlValue, b: &CqlValue) -> Result<Ordering, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match (ty, a, b) {
        (_, V::Empty, V::Empty) => Ordering::Equal,
        (_, V::Empty, _) => {
            check_kind(ty, b)?;
            Ordering::Less
        }
        (_, _, V::Empty) => {
            check_kind(ty, a)?;
            Ordering::Greater
        }
        (T::Ascii, V::Ascii(x), V::Ascii(y)) | (T::Text, V::Text(x), V::Text(y)) => {
            x.as_bytes().cmp(y.as_bytes())
        }
        (T::Blob, V::Blob(x), V::Blob(y)) => x.cmp(y),
        (T::Bigint, V::Bigint(x), V::Bigint(y))
        | (T::Counter, V::Counter(x), V::Counter(y))
        | (T::Timestamp, V::Timestamp(x), V::Timestamp(y))
        | (T::Time, V::Time(x), V::Time(y)) => x.cmp(y),
        (T::Int, V::Int(x), V::Int(y)) => x.cmp(y),
        (T::Smallint, V::Smallint(x), V::Smallint(y)) => x.cmp(y),
        (T::Tinyint, V::Tinyint(x), V::Tinyint(y)) => x.cmp(y),
        (T::Boolean, V::Boolean(x), V::Boolean(y)) => x.cmp(y),
        (T::Date, V::Date(x), V::Date(y)) => x.cmp(y),
        (T::Float, V::Float(x), V::Float(y)) => java_float_order(*x, *y),
        (T::Double, V::Double(x), V::Double(y)) => java_double_order(*x, *y),
        (T::Inet, V::Inet(x), V::Inet(y)) => inet_octets(x).cmp(&inet_octets(y)),
        (T::Uuid, V::Uuid(x), V::Uuid(y)) => uuid_order(x, y),
        (T::Timeuuid, V::Timeuuid(x), V::Timeuuid(y)) => timeuuid_order(x, y),
        (T::Varint, V::Varint(x), V::Varint(y)) => varint_order(x, y),
        (T::Decimal, V::Decimal(x), V::Decimal(y)) => decimal::decimal_order(x, y)?,
        (T::List { .. }, V::List(_), V::List(_))
        | (T::Set { .. }, V::Set(_), V::Set(_))
        | (T::Map { .. }, V::Map(_), V::Map(_))
        | (T::Tuple(_), V::Tuple(_), V::Tuple(_)) => compare_composite(ty, a, b)?,
        (T::Duration, V::Duration(_), V::Duration(_)) => {
            return Err(ValueError::Unsupported("durations have no order".into()));
        }
        _ => {
            check_kind(ty, a)?;
            return Err(mismatch(ty, b));
        }
    })
}

/// [`compare`] for two collections or two tuples of `ty`.
fn compare_composite(ty: &CqlType, a: &CqlValue, b: &CqlValue) -> Result<Ordering, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match (ty, a, b) {
        (T::List { element, .. }, V::List(x), V::List(y)) => {
            compare_seq(x, y, |p, q| compare(element, p, q))?
        }
        (T::Set { element, .. }, V::Set(_), V::Set(_)) => {
            let (V::Set(x), V::Set(y)) = (normalize(ty, a)?, normalize(ty, b)?) else {
                return Err(mismatch(ty, a));
            };
            compare_seq(&x, &y, |p, q| compare(element, p, q))?
        }
        (T::Map { key, value, .. }, V::Map(_), V::Map(_)) => {
            let (V::Map(x), V::Map(y)) = (normalize(ty, a)?, normalize(ty, b)?) else {
                return Err(mismatch(ty, a));
            };
            compare_seq(&x, &y, |(k1, v1), (k2, v2)| {
                Ok(compare(key, k1, k2)?.then(compare(value, v1, v2)?))
            })?
        }
        (T::Tuple(types), V::Tuple(x), V::Tuple(y)) => {
            if x.len() > types.len() || y.len() > types.len() {
                return Err(invalid("tuple", "more components than the type has"));
            }
            for (i, ty) in types.iter().enumerate() {
                let ord = match (
                    x.get(i).and_then(Option::as_ref),
                    y.get(i).and_then(Option::as_ref),
                ) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) => compare(ty, p, q)?,
                };
                if ord != Ordering::Equal {
                    return Ok(ord);
                }
            }
            Ordering::Equal
        }
        _ => {
            check_kind(ty, a)?;
            return Err(mismatch(ty, b));
        }
    })
}

/// Checks that `v` is a value of `ty` (shallowly).
fn check_kind(ty: &CqlType, v: &CqlValue) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    let ok = matches!(
        (ty, v),
        (_, V::Empty)
            | (T::Ascii, V::Ascii(_))
            | (T::Text, V::Text(_))
            | (T::Blob, V::Blob(_))
            | (T::Bigint, V::Bigint(_))
            | (T::Counter, V::Counter(_))
            | (T::Timestamp, V::Timestamp(_))
            | (T::Time, V::Time(_))
            | (T::Int, V::Int(_))
            | (T::Smallint, V::Smallint(_))
            | (T::Tinyint, V::Tinyint(_))
            | (T::Boolean, V::Boolean(_))
            | (T::Date, V::Date(_))
            | (T::Float, V::Float(_))
            | (T::Double, V::Double(_))
            | (T::Inet, V::Inet(_))
            | (T::Uuid, V::Uuid(_))
            | (T::Timeuuid, V::Timeuuid(_))
            | (T::Varint, V::Varint(_))
            | (T::Decimal, V::Decimal(_))
            | (T::Duration, V::Duration(_))
            | (T::List { .. }, V::List(_))
            | (T::Set { .. }, V::Set(_))
            | (T::Map { .. }, V::Map(_))
            | (T::Tuple(_), V::Tuple(_))
    );
    if ok { Ok(()) } else { Err(mismatch(ty, v)) }
}

fn compare_seq<X>(
    x: &[X],
    y: &[X],
    mut cmp: impl FnMut(&X, &X) -> Result<Ordering, ValueError>,
) -> Result<Ordering, ValueError> {
    for (p, q) in x.iter().zip(y) {
        let ord = cmp(p, q)?;
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(x.len().cmp(&y.len()))
}

/// Sorts a set's elements and a map's entries by key in the type's order and drops
/// duplicates (for maps the last entry of a key wins), as Cassandra stores them. Other
/// values come back unchanged.
pub fn normalize(ty: &CqlType, value: &CqlValue) -> Result<CqlValue, ValueError> {
    match (ty, value) {
        (CqlType::Set { element, .. }, CqlValue::Set(items)) => {
            let mut items = items.clone();
            sort_by_result(&mut items, |p, q| compare(element, p, q))?;
            let mut out: Vec<CqlValue> = Vec::with_capacity(items.len());
            for item in items {
                match out.last() {
                    Some(last) if compare(element, last, &item)? == Ordering::Equal => {}
                    _ => out.push(item),
                }
            }
            Ok(CqlValue::Set(out))
        }
        (CqlType::Map { key, .. }, CqlValue::Map(entries)) => {
            let mut entries = entries.clone();
            // A stable sort keeps equal keys in arrival order, so the last one wins below.
            sort_by_result(&mut entries, |p, q| compare(key, &p.0, &q.0))?;
            let mut out: Vec<(CqlValue, CqlValue)> = Vec::with_capacity(entries.len());
            for entry in entries {
                match out.last_mut() {
                    Some(last) if compare(key, &last.0, &entry.0)? == Ordering::Equal => {
                        *last = entry;
                    }
                    _ => out.push(entry),
                }
            }
            Ok(CqlValue::Map(out))
        }
        _ => {
            check_kind(ty, value)?;
            Ok(value.clone())
        }
    }
}

fn sort_by_result<X>(
    items: &mut [X],
    mut cmp: impl FnMut(&X, &X) -> Result<Ordering, ValueError>,
) -> Result<(), ValueError> {
    let mut error = None;
    items.sort_by(|p, q| match cmp(p, q) {
        Ok(ord) => ord,
        Err(e) => {
            error.get_or_insert(e);
            Ordering::Equal
        }
    });
    error.map_or(Ok(()), Err)
}

fn java_float_order(x: f32, y: f32) -> Ordering {
    let canon = |v: f32| {
        if v.is_nan() {
            0x7FC0_0000_i32
        } else {
            v.to_bits() as i32
        }
    };
    match x.partial_cmp(&y) {
        Some(Ordering::Less) => Ordering::Less,
        Some(Ordering::Greater) => Ordering::Greater,
        _ => canon(x).cmp(&canon(y)),
    }
}

fn java_double_order(x: f64, y: f64) -> Ordering {
    let canon = |v: f64| {
        if v.is_nan() {
            0x7FF8_0000_0000_0000_i64
        } else {
            v.to_bits() as i64
        }
    };
    match x.partial_cmp(&y) {
        Some(Ordering::Less) => Ordering::Less,
        Some(Ordering::Greater) => Ordering::Greater,
        _ => canon(x).cmp(&canon(y)),
    }
}

pub(crate) fn inet_octets(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The 60-bit timestamp of a version-1 UUID.
pub fn uuid_timestamp(u: &[u8; 16]) -> u64 {
    let msb = u64::from_be_bytes([u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]]);
    ((msb & 0x0FFF) << 48) | (((msb >> 16) & 0xFFFF) << 32) | (msb >> 32)
}

fn halves(u: &[u8; 16]) -> (u64, u64) {
    let v = u128::from_be_bytes(*u);
    ((v >> 64) as u64, v as u64)
}

fn uuid_order(x: &[u8; 16], y: &[u8; 16]) -> Ordering {
    let (vx, vy) = (uuid_version(x), uuid_version(y));
    if vx != vy {
        return vx.cmp(&vy);
    }
    let ((mx, lx), (my, ly)) = (halves(x), halves(y));
    let high = if vx == 1 {
        uuid_timestamp(x).cmp(&uuid_timestamp(y))
    } else {
        mx.cmp(&my)
    };
    high.then(lx.cmp(&ly))
}

fn timeuuid_order(x: &[u8; 16], y: &[u8; 16]) -> Ordering {
    let signed = |u: &[u8; 16]| -> [i8; 8] {
        let (_, low) = u.split_last_chunk::<8>().unwrap_or((&[], &[0; 8]));
        low.map(|b| b as i8)
    };
    uuid_timestamp(x)
        .cmp(&uuid_timestamp(y))
        .then_with(|| signed(x).cmp(&signed(y)))
}

fn varint_order(x: &Varint, y: &Varint) -> Ordering {
    match (x.is_negative(), y.is_negative()) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (negative, _) => {
            // Minimal encodings: for non-negatives more bytes is larger, for negatives
            // more bytes is more negative; same length compares bytewise.
            let by_len = x.0.len().cmp(&y.0.len());
            let by_len = if negative { by_len.reverse() } else { by_len };
            by_len.then_with(|| x.0.cmp(&y.0))
        }
    }
}

pub(crate) mod decimal;
mod normalize;
pub use normalize::canonical;

#[cfg(test)]
pub(crate) mod tests;
