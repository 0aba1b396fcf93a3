//! Byte-comparable encodings of key values: clustering keys as storage compares them.
//!
//! Storage orders rows by `memcmp` of their clustering bytes and knows no types
//! (docs/ARCHITECTURE.md). This module is where CQL order becomes byte order: every type
//! that can be a primary-key component gets an encoding that is
//!
//! - **order-preserving**: `memcmp` of two encodings is [`value::compare`] of the values;
//! - **prefix-free**: no value's encoding is a proper prefix of another's, so the
//!   components of a key can simply be concatenated, and a prefix of components is a byte
//!   prefix of every key extending it (the prefix semantics of storage's bounds);
//! - **decodable**: storage hands clustering bytes back and the CQL layer turns them into
//!   values again.
//!
//! Every value is a header byte, [`EMPTY`] or [`PRESENT`] (tuples also use [`NULL`]),
//! then the body of the type. Descending order is the bitwise inverse of the ascending
//! encoding: inversion reverses `memcmp` order and keeps the set prefix-free.
//!
//! The bodies (ascending):
//!
//! | type | body |
//! |---|---|
//! | boolean | `00` / `01` |
//! | tinyint … bigint, counter, timestamp, time | big-endian, sign bit flipped |
//! | date | the unsigned big-endian days |
//! | float, double | NaN made canonical; positive: sign bit set; negative: all bits inverted |
//! | ascii, text, blob | bytes with `00` escaped as `00 FF`, ended by `00 00` |
//! | inet | first 4 bytes, then `00` (IPv4) or `01` and the other 12 bytes (IPv6) |
//! | uuid | version nibble, then the 60-bit timestamp (v1) or the other 60 high bits, then the low 64 bits |
//! | timeuuid | timestamp bytes high to low, then the low 8 bytes with their sign bits flipped |
//! | varint | `80` and the magnitude's length and bytes, or `7F`, the inverted length and the two's complement bytes |
//! | decimal | `80` for zero; else `81` (or `7F` and the rest inverted), exponent, base-100 digit pairs, `00` |
//! | frozen list, set, map | each element (key, value) as a value, then `00` |
//! | tuple | each component as a value or [`NULL`] |
//!
//! A decimal's key encoding keeps its numeric value but not its scale (1.0 and 1.00 are
//! the same key, as they are the same clustering in Cassandra); decoding gives the
//! shortest form. Sets and maps are sorted (and de-duplicated) before encoding.
// Keys come back from disk: decoding them must never panic, so no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::CqlType;
pub use crate::value::decimal::MAX_DECIMAL_BYTES;
use crate::value::decimal::{normal, strip_leading_zeros};
use crate::value::{self, CqlValue, Decimal, ValueError, Varint, mismatch};

/// Header of a tuple component that is null.
pub const NULL: u8 = 0x3E;
/// Header of an empty value (sorts before every other value).
pub const EMPTY: u8 = 0x3F;
/// Header of a value with a body.
pub const PRESENT: u8 = 0x40;
/// Ends a collection's elements; below every header, so shorter collections sort first.
const END: u8 = 0x00;

/// The direction of a clustering column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// `ASC`, the default.
    #[default]
    Asc,
    /// `DESC`.
    Desc,
}

impl Order {
    fn mask(self) -> u8 {
        match self {
            Self::Asc => 0x00,
            Self::Desc => 0xFF,
        }
    }
}

/// Appends the byte-comparable encoding of `value` as a `ty`.
pub fn encode_value(
    ty: &CqlType,
    value: &CqlValue,
    order: Order,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    if !ty.can_be_key() {
        return Err(ValueError::Unsupported(format!("{ty} cannot be a key")));
    }
    let start = out.len();
    write_value(ty, value, out)?;
    if order == Order::Desc {
        invert_from(out, start);
    }
    Ok(())
}

/// Reads one `ty` value encoded by [`encode_value`] from the front of `bytes`; returns
/// it with the number of bytes it took.
pub fn decode_value(
    ty: &CqlType,
    order: Order,
    bytes: &[u8],
) -> Result<(CqlValue, usize), ValueError> {
    if !ty.can_be_key() {
        return Err(ValueError::Unsupported(format!("{ty} cannot be a key")));
    }
    let mut r = Reader {
        bytes,
        pos: 0,
        mask: order.mask(),
    };
    let v = read_value(ty, &mut r)?;
    Ok((v, r.pos))
}

/// The clustering columns of a table with their directions: encodes clustering keys
/// (and prefixes of them, for range bounds) to the bytes storage compares, and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusteringLayout {
    columns: Vec<(CqlType, Order)>,
}

impl ClusteringLayout {
    /// A layout of these columns, in clustering order; each type must be able to be a key.
    pub fn new(columns: Vec<(CqlType, Order)>) -> Result<Self, ValueError> {
        if let Some((ty, _)) = columns.iter().find(|(ty, _)| !ty.can_be_key()) {
            return Err(ValueError::Unsupported(format!(
                "{ty} cannot be a clustering column"
            )));
        }
        Ok(Self { columns })
    }

    /// The columns.
    pub fn columns(&self) -> &[(CqlType, Order)] {
        &self.columns
    }

    /// The key of a row: one value per column.
    pub fn encode(&self, values: &[CqlValue]) -> Result<Vec<u8>, ValueError> {
        if values.len() != self.columns.len() {
            return Err(ValueError::InvalidLength {
                what: "clustering key component count",
                value: values.len() as i64,
            });
        }
        self.encode_prefix(values)
    }

    /// The first `values.len()` components: a byte prefix of every key that starts with
    /// these values, for the bounds of a slice.
    pub fn encode_prefix(&self, values: &[CqlValue]) -> Result<Vec<u8>, ValueError> {
        if values.len() > self.columns.len() {
            return Err(ValueError::InvalidLength {
                what: "clustering prefix component count",
                value: values.len() as i64,
            });
        }
        let mut out = Vec::new();
        for ((ty, order), value) in self.columns.iter().zip(values) {
            let start = out.len();
            write_value(ty, value, &mut out)?;
            if *order == Order::Desc {
                invert_from(&mut out, start);
            }
        }
        Ok(out)
    }

    /// The values of a whole key.
    pub fn decode(&self, bytes: &[u8]) -> Result<Vec<CqlValue>, ValueError> {
        let values = self.decode_prefix(bytes)?;
        if values.len() != self.columns.len() {
            return Err(ValueError::Invalid {
                ty: "clustering key",
                reason: format!(
                    "{} components, the table has {}",
                    values.len(),
                    self.columns.len()
                ),
            });
        }
        Ok(values)
    }

    /// The values of a prefix: as many components as the bytes hold.
    pub fn decode_prefix(&self, bytes: &[u8]) -> Result<Vec<CqlValue>, ValueError> {
        let mut values = Vec::new();
        let mut pos = 0;
        for (ty, order) in &self.columns {
            if pos == bytes.len() {
                break;
            }
            let mut r = Reader {
                bytes,
                pos,
                mask: order.mask(),
            };
            values.push(read_value(ty, &mut r)?);
            pos = r.pos;
        }
        if pos != bytes.len() {
            return Err(ValueError::TrailingBytes {
                ty: "clustering key".into(),
                count: bytes.len() - pos,
            });
        }
        Ok(values)
    }
}

/// Inverts what `out` holds from `start` on: the descending form of what was
/// just written.
fn invert_from(out: &mut [u8], start: usize) {
    if let Some(tail) = out.get_mut(start..) {
        invert(tail);
    }
}

fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

fn write_value(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    let string_type = matches!(ty, CqlType::Ascii | CqlType::Text | CqlType::Blob);
    if matches!(value, CqlValue::Empty) && !string_type {
        out.push(EMPTY);
        return Ok(());
    }
    out.push(PRESENT);
    write_body(ty, value, out)
}

fn write_body(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    match (ty, value) {
        (T::Ascii | T::Text | T::Blob, V::Empty) => write_escaped(&[], out),
        (T::Ascii, V::Ascii(s)) => {
            if !s.is_ascii() {
                return Err(ValueError::Invalid {
                    ty: "ascii",
                    reason: "non-ASCII character".into(),
                });
            }
            write_escaped(s.as_bytes(), out);
        }
        (T::Text, V::Text(s)) => write_escaped(s.as_bytes(), out),
        (T::Blob, V::Blob(b)) => write_escaped(b, out),
        (T::Boolean, V::Boolean(b)) => out.push(u8::from(*b)),
        (T::Tinyint, V::Tinyint(v)) => out.push(v.to_be_bytes()[0] ^ 0x80),
        (T::Smallint, V::Smallint(v)) => out.extend_from_slice(&(v ^ i16::MIN).to_be_bytes()),
        (T::Int, V::Int(v)) => out.extend_from_slice(&(v ^ i32::MIN).to_be_bytes()),
        (T::Bigint, V::Bigint(v))
        | (T::Counter, V::Counter(v))
        | (T::Timestamp, V::Timestamp(v))
        | (T::Time, V::Time(v)) => out.extend_from_slice(&(v ^ i64::MIN).to_be_bytes()),
        (T::Date, V::Date(d)) => out.extend_from_slice(&d.to_be_bytes()),
        (T::Float, V::Float(f)) => {
            let bits = if f.is_nan() { 0x7FC0_0000 } else { f.to_bits() };
            let key = if bits >> 31 == 1 {
                !bits
            } else {
                bits | 1 << 31
            };
            out.extend_from_slice(&key.to_be_bytes());
        }
        (T::Double, V::Double(f)) => {
            let bits = if f.is_nan() {
                0x7FF8_0000_0000_0000
            } else {
                f.to_bits()
            };
            let key = if bits >> 63 == 1 {
                !bits
            } else {
                bits | 1 << 63
            };
            out.extend_from_slice(&key.to_be_bytes());
        }
        (T::Inet | T::Uuid | T::Timeuuid, _) => write_identifier(ty, value, out)?,
        (T::Varint, V::Varint(v)) => write_varint(v, out),
        (T::Decimal, V::Decimal(d)) => write_decimal(d, out)?,
        (T::List { .. } | T::Set { .. } | T::Map { .. } | T::Tuple(_), _) => {
            write_composite(ty, value, out)?;
        }
        (T::Duration, _) => {
            return Err(ValueError::Unsupported("durations have no order".into()));
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

/// [`write_body`] for collections (elements then an end marker; sets and maps
/// in their sorted form) and tuples (every component, null ones as a marker).
fn write_composite(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    match (ty, value) {
        (T::List { element, .. }, V::List(items)) => {
            for item in items {
                write_value(element, item, out)?;
            }
            out.push(END);
        }
        (T::Set { element, .. }, V::Set(_)) => {
            let CqlValue::Set(items) = value::normalize(ty, value)? else {
                return Err(mismatch(ty, value));
            };
            for item in &items {
                write_value(element, item, out)?;
            }
            out.push(END);
        }
        (T::Map { key, value: vt, .. }, V::Map(_)) => {
            let CqlValue::Map(entries) = value::normalize(ty, value)? else {
                return Err(mismatch(ty, value));
            };
            for (k, v) in &entries {
                write_value(key, k, out)?;
                write_value(vt, v, out)?;
            }
            out.push(END);
        }
        (T::Tuple(types), V::Tuple(items)) => {
            if items.len() > types.len() {
                return Err(ValueError::Invalid {
                    ty: "tuple",
                    reason: format!("{} components for {} types", items.len(), types.len()),
                });
            }
            for (i, ty) in types.iter().enumerate() {
                match items.get(i).and_then(Option::as_ref) {
                    None => out.push(NULL),
                    Some(v) => write_value(ty, v, out)?,
                }
            }
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

/// [`write_body`] for addresses and uuids, whose keys reorder their bytes.
fn write_identifier(ty: &CqlType, value: &CqlValue, out: &mut Vec<u8>) -> Result<(), ValueError> {
    use CqlType as T;
    use CqlValue as V;
    match (ty, value) {
        (T::Inet, V::Inet(IpAddr::V4(a))) => {
            out.extend_from_slice(&a.octets());
            out.push(0x00);
        }
        (T::Inet, V::Inet(IpAddr::V6(a))) => {
            let o = a.octets();
            out.extend_from_slice(&o[..4]);
            out.push(0x01);
            out.extend_from_slice(&o[4..]);
        }
        (T::Uuid, V::Uuid(u)) => {
            let version = u64::from(value::uuid_version(u));
            let msb = u64::from_be_bytes(first_half(u));
            let rest = if version == 1 {
                value::uuid_timestamp(u)
            } else {
                ((msb >> 16) << 12) | (msb & 0x0FFF)
            };
            out.extend_from_slice(&((version << 60) | rest).to_be_bytes());
            out.extend_from_slice(&u[8..]);
        }
        (T::Timeuuid, V::Timeuuid(u)) => {
            if value::uuid_version(u) != 1 {
                return Err(ValueError::Invalid {
                    ty: "timeuuid",
                    reason: format!("version {}, not 1", value::uuid_version(u)),
                });
            }
            out.extend_from_slice(&[u[6], u[7], u[4], u[5], u[0], u[1], u[2], u[3]]);
            out.extend(u[8..].iter().map(|b| b ^ 0x80));
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

fn first_half(u: &[u8; 16]) -> [u8; 8] {
    [u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]]
}

fn write_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// An order-preserving, prefix-free encoding of an `i64` that takes one byte for
/// `-64..64`: headers `38..=3F` and `C1..=C8` say how many bytes follow.
fn write_ordered_i64(x: i64, out: &mut Vec<u8>) {
    if (-64..64).contains(&x) {
        out.push((x + 0x80) as u8);
        return;
    }
    let magnitude = if x < 0 { !x } else { x } as u64;
    let k = (64 - magnitude.leading_zeros() as usize).div_ceil(8);
    if x < 0 {
        out.push(0x40 - k as u8);
    } else {
        out.push(0xC0 + k as u8);
    }
    out.extend_from_slice(x.to_be_bytes().get(8 - k..).unwrap_or_default());
}

fn write_varint(v: &Varint, out: &mut Vec<u8>) {
    let bytes = v.as_be_bytes();
    if v.is_negative() {
        out.push(0x7F);
        let start = out.len();
        write_ordered_i64(bytes.len() as i64, out);
        invert_from(out, start);
        out.extend_from_slice(bytes);
    } else {
        let magnitude = strip_leading_zeros(bytes);
        out.push(0x80);
        write_ordered_i64(magnitude.len() as i64, out);
        out.extend_from_slice(magnitude);
    }
}

fn write_decimal(d: &Decimal, out: &mut Vec<u8>) -> Result<(), ValueError> {
    let n = normal(d)?;
    if n.digits.is_empty() {
        out.push(0x80);
        return Ok(());
    }
    out.push(if n.negative { 0x7F } else { 0x81 });
    let start = out.len();
    write_ordered_i64(n.exponent, out);
    for pair in n.digits.chunks(2) {
        let high = pair.first().copied().unwrap_or(0);
        let low = pair.get(1).copied().unwrap_or(0);
        out.push(high * 10 + low + 1);
    }
    out.push(0x00);
    if n.negative {
        invert_from(out, start);
    }
    Ok(())
}

/// The unsigned big-endian magnitude of decimal digits (most significant first).
fn from_decimal_digits(digits: &[u8]) -> Vec<u8> {
    // Base-2^32 limbs, least significant first.
    let mut limbs: Vec<u32> = Vec::new();
    for chunk in digits.chunks(9) {
        let mut mul = 1u64;
        let mut add = 0u64;
        for &d in chunk {
            mul *= 10;
            add = add * 10 + u64::from(d);
        }
        let mut carry = add;
        for limb in limbs.iter_mut() {
            let cur = u64::from(*limb) * mul + carry;
            *limb = cur as u32;
            carry = cur >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    let mut bytes: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.drain(..start);
    bytes
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// Reads bytes XORed with `mask` (`FF` undoes a descending inversion).
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    mask: u8,
}

impl Reader<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, ValueError> {
        let b = self.bytes.get(self.pos).ok_or(ValueError::Truncated {
            what,
            needed: 1,
            remaining: 0,
        })?;
        self.pos += 1;
        Ok(b ^ self.mask)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ValueError> {
        let remaining = self.bytes.len().saturating_sub(self.pos);
        let src = self
            .bytes
            .get(self.pos..self.pos + N)
            .ok_or(ValueError::Truncated {
                what,
                needed: N,
                remaining,
            })?;
        self.pos += N;
        let mut out = [0u8; N];
        for (dst, b) in out.iter_mut().zip(src) {
            *dst = b ^ self.mask;
        }
        Ok(out)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<Vec<u8>, ValueError> {
        let remaining = self.bytes.len().saturating_sub(self.pos);
        let src = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or(ValueError::Truncated {
                what,
                needed: n,
                remaining,
            })?;
        let out = src.iter().map(|b| b ^ self.mask).collect();
        self.pos += n;
        Ok(out)
    }
}

fn bad(ty: &'static str, reason: impl Into<String>) -> ValueError {
    ValueError::Invalid {
        ty,
        reason: reason.into(),
    }
}

fn read_value(ty: &CqlType, r: &mut Reader) -> Result<CqlValue, ValueError> {
    let string_type = matches!(ty, CqlType::Ascii | CqlType::Text | CqlType::Blob);
    match r.byte("value header")? {
        EMPTY if !string_type => Ok(CqlValue::Empty),
        PRESENT => read_body(ty, r),
        h => Err(bad("key", format!("header {h:#04x} for a {ty} value"))),
    }
}

fn read_body(ty: &CqlType, r: &mut Reader) -> Result<CqlValue, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match ty {
        T::Ascii => {
            let b = read_escaped(r)?;
            if !b.is_ascii() {
                return Err(bad("ascii", "non-ASCII byte"));
            }
            V::Ascii(String::from_utf8_lossy(&b).into_owned())
        }
        T::Text => {
            V::Text(String::from_utf8(read_escaped(r)?).map_err(|e| bad("text", e.to_string()))?)
        }
        T::Blob => V::Blob(read_escaped(r)?),
        T::Boolean => match r.byte("boolean")? {
            0 => V::Boolean(false),
            1 => V::Boolean(true),
            b => return Err(bad("boolean", format!("byte {b:#04x}"))),
        },
        T::Tinyint => V::Tinyint(i8::from_be_bytes(r.array("tinyint")?) ^ i8::MIN),
        T::Smallint => V::Smallint(i16::from_be_bytes(r.array("smallint")?) ^ i16::MIN),
        T::Int => V::Int(i32::from_be_bytes(r.array("int")?) ^ i32::MIN),
        T::Bigint => V::Bigint(i64::from_be_bytes(r.array("bigint")?) ^ i64::MIN),
        T::Counter => V::Counter(i64::from_be_bytes(r.array("counter")?) ^ i64::MIN),
        T::Timestamp => V::Timestamp(i64::from_be_bytes(r.array("timestamp")?) ^ i64::MIN),
        T::Time => {
            let v = i64::from_be_bytes(r.array("time")?) ^ i64::MIN;
            if !(0..value::NANOS_PER_DAY).contains(&v) {
                return Err(bad("time", format!("{v} ns is outside one day")));
            }
            V::Time(v)
        }
        T::Date => V::Date(u32::from_be_bytes(r.array("date")?)),
        T::Float => {
            let key = u32::from_be_bytes(r.array("float")?);
            let bits = if key >> 31 == 1 { key ^ 1 << 31 } else { !key };
            let f = f32::from_bits(bits);
            if f.is_nan() && bits != 0x7FC0_0000 {
                return Err(bad("float", "non-canonical NaN"));
            }
            V::Float(f)
        }
        T::Double => {
            let key = u64::from_be_bytes(r.array("double")?);
            let bits = if key >> 63 == 1 { key ^ 1 << 63 } else { !key };
            let f = f64::from_bits(bits);
            if f.is_nan() && bits != 0x7FF8_0000_0000_0000 {
                return Err(bad("double", "non-canonical NaN"));
            }
            V::Double(f)
        }
        T::Inet | T::Uuid | T::Timeuuid => read_identifier(ty, r)?,
        T::Varint => V::Varint(read_varint(r)?),
        T::Decimal => V::Decimal(read_decimal(r)?),
        T::List { .. } | T::Set { .. } | T::Map { .. } | T::Tuple(_) => read_composite(ty, r)?,
        T::Duration => return Err(ValueError::Unsupported("durations have no order".into())),
    })
}

/// [`read_body`] for collections and tuples; set elements and map keys must be
/// strictly increasing, as [`write_composite`] writes them.
fn read_composite(ty: &CqlType, r: &mut Reader) -> Result<CqlValue, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match ty {
        T::List { element, .. } | T::Set { element, .. } => {
            let is_set = matches!(ty, T::Set { .. });
            let mut items = Vec::new();
            let mut previous = None;
            while peek_more(r)? {
                let start = r.pos;
                items.push(read_value(element, r)?);
                if is_set {
                    check_increasing(r, &mut previous, start)?;
                }
            }
            if matches!(ty, T::List { .. }) {
                V::List(items)
            } else {
                V::Set(items)
            }
        }
        T::Map { key, value, .. } => {
            let mut entries = Vec::new();
            let mut previous = None;
            while peek_more(r)? {
                let start = r.pos;
                let k = read_value(key, r)?;
                check_increasing(r, &mut previous, start)?;
                let v = read_value(value, r)?;
                entries.push((k, v));
            }
            V::Map(entries)
        }
        T::Tuple(types) => {
            let mut items = Vec::with_capacity(types.len());
            for ty in types {
                let save = r.pos;
                if r.byte("tuple component")? == NULL {
                    items.push(None);
                } else {
                    r.pos = save;
                    items.push(Some(read_value(ty, r)?));
                }
            }
            V::Tuple(items)
        }
        _ => {
            return Err(bad(
                "composite",
                format!("{ty:?} is not a collection or tuple type"),
            ));
        }
    })
}

/// [`read_body`] for addresses and uuids.
fn read_identifier(ty: &CqlType, r: &mut Reader) -> Result<CqlValue, ValueError> {
    use CqlType as T;
    use CqlValue as V;
    Ok(match ty {
        T::Inet => {
            let head: [u8; 4] = r.array("inet")?;
            match r.byte("inet family")? {
                0 => V::Inet(IpAddr::V4(Ipv4Addr::from(head))),
                1 => {
                    let tail: [u8; 12] = r.array("inet")?;
                    let mut o = [0u8; 16];
                    o[..4].copy_from_slice(&head);
                    o[4..].copy_from_slice(&tail);
                    V::Inet(IpAddr::V6(Ipv6Addr::from(o)))
                }
                b => return Err(bad("inet", format!("family byte {b:#04x}"))),
            }
        }
        T::Uuid => {
            let key = u64::from_be_bytes(r.array("uuid")?);
            let low: [u8; 8] = r.array("uuid")?;
            let version = key >> 60;
            let rest = key & ((1 << 60) - 1);
            let msb = if version == 1 {
                ((rest & 0xFFFF_FFFF) << 32) | (((rest >> 32) & 0xFFFF) << 16) | (rest >> 48)
            } else {
                ((rest >> 12) << 16) | (rest & 0x0FFF)
            } | (version << 12);
            let mut u = [0u8; 16];
            u[..8].copy_from_slice(&msb.to_be_bytes());
            u[8..].copy_from_slice(&low);
            V::Uuid(u)
        }
        T::Timeuuid => {
            let t: [u8; 8] = r.array("timeuuid")?;
            let low: [u8; 8] = r.array("timeuuid")?;
            let mut u = [
                t[4], t[5], t[6], t[7], t[2], t[3], t[0], t[1], 0, 0, 0, 0, 0, 0, 0, 0,
            ];
            for (dst, src) in u[8..].iter_mut().zip(low) {
                *dst = src ^ 0x80;
            }
            if value::uuid_version(&u) != 1 {
                return Err(bad("timeuuid", "version is not 1"));
            }
            V::Timeuuid(u)
        }
        _ => {
            return Err(bad(
                "identifier",
                format!("{ty:?} is not an address or uuid type"),
            ));
        }
    })
}

/// Checks that the element just read (from `start` to the reader's position) sorts after
/// the previous one: sets and map keys are encoded sorted and unique, and a decoder that
/// accepted anything else would hand back a value that encodes to different bytes.
fn check_increasing(
    r: &Reader,
    previous: &mut Option<(usize, usize)>,
    start: usize,
) -> Result<(), ValueError> {
    let current = r.bytes.get(start..r.pos).unwrap_or_default();
    if let Some((p, q)) = *previous {
        let ord = current.cmp(r.bytes.get(p..q).unwrap_or_default());
        // Under a descending mask the raw bytes run the other way.
        let wanted = if r.mask == 0 {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        if ord != wanted {
            return Err(bad(
                "key",
                "set elements or map keys out of order or repeated",
            ));
        }
    }
    *previous = Some((start, r.pos));
    Ok(())
}

/// Whether another collection element follows (consuming the end marker if not).
fn peek_more(r: &mut Reader) -> Result<bool, ValueError> {
    let save = r.pos;
    if r.byte("collection element")? == END {
        Ok(false)
    } else {
        r.pos = save;
        Ok(true)
    }
}

fn read_escaped(r: &mut Reader) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    loop {
        match r.byte("escaped bytes")? {
            0 => match r.byte("escaped bytes")? {
                0 => return Ok(out),
                0xFF => out.push(0),
                b => return Err(bad("blob", format!("escape byte {b:#04x} after 00"))),
            },
            b => out.push(b),
        }
    }
}

fn read_ordered_i64(r: &mut Reader) -> Result<i64, ValueError> {
    let h = r.byte("ordered integer")?;
    let x = match h {
        0x40..=0xBF => i64::from(h) - 0x80,
        0xC1..=0xC8 | 0x38..=0x3F => {
            let (k, fill) = if h >= 0xC1 {
                (usize::from(h - 0xC0), 0x00)
            } else {
                (usize::from(0x40 - h), 0xFF)
            };
            let mut buf = [fill; 8];
            for slot in buf.iter_mut().skip(8 - k) {
                *slot = r.byte("ordered integer")?;
            }
            i64::from_be_bytes(buf)
        }
        _ => return Err(bad("key", format!("ordered integer header {h:#04x}"))),
    };
    let mut canonical = Vec::with_capacity(9);
    write_ordered_i64(x, &mut canonical);
    if canonical.first() != Some(&h) {
        return Err(bad("key", format!("non-canonical ordered integer {x}")));
    }
    Ok(x)
}

fn read_len(r: &mut Reader, what: &'static str) -> Result<usize, ValueError> {
    let n = read_ordered_i64(r)?;
    usize::try_from(n).map_err(|_| ValueError::InvalidLength { what, value: n })
}

fn read_varint(r: &mut Reader) -> Result<Varint, ValueError> {
    match r.byte("varint sign")? {
        0x80 => {
            let n = read_len(r, "varint length")?;
            let magnitude = r.take(n, "varint")?;
            if magnitude.first() == Some(&0) {
                return Err(bad("varint", "leading zero byte"));
            }
            let mut bytes = vec![0];
            bytes.extend_from_slice(&magnitude);
            Ok(Varint::from_be_bytes(&bytes))
        }
        0x7F => {
            r.mask ^= 0xFF;
            let n = read_len(r, "varint length");
            r.mask ^= 0xFF;
            let bytes = r.take(n?, "varint")?;
            let v = Varint::from_be_bytes(&bytes);
            if !v.is_negative() || v.as_be_bytes().len() != bytes.len() {
                return Err(bad("varint", "non-canonical negative"));
            }
            Ok(v)
        }
        b => Err(bad("varint", format!("sign byte {b:#04x}"))),
    }
}

fn read_decimal(r: &mut Reader) -> Result<Decimal, ValueError> {
    let negative = match r.byte("decimal sign")? {
        0x80 => return Ok(Decimal::new(0i64, 0)),
        0x81 => false,
        0x7F => true,
        b => return Err(bad("decimal", format!("sign byte {b:#04x}"))),
    };
    if negative {
        r.mask ^= 0xFF;
    }
    let parts = read_decimal_parts(r);
    if negative {
        r.mask ^= 0xFF;
    }
    let (exponent, mut digits) = parts?;
    let mut scale = digits.len() as i64 - exponent;
    if scale < i64::from(i32::MIN) {
        // The shortest form's scale is below what the wire can carry (e.g. 10 × 10^(2^31)
        // is 1 × 10^(2^31 + 1)): put the zeros back into the unscaled value.
        let zeros = i64::from(i32::MIN) - scale;
        if zeros > 4 * MAX_DECIMAL_BYTES as i64 {
            return Err(bad(
                "decimal",
                format!("exponent {exponent} is out of range"),
            ));
        }
        digits.resize(digits.len() + zeros as usize, 0);
        scale = i64::from(i32::MIN);
    }
    let scale = i32::try_from(scale)
        .map_err(|_| bad("decimal", format!("scale {scale} does not fit an int")))?;
    let magnitude = from_decimal_digits(&digits);
    let mut bytes = vec![0];
    bytes.extend_from_slice(&magnitude);
    let unscaled = Varint::from_be_bytes(&bytes);
    let unscaled = if negative {
        negate(&unscaled)
    } else {
        unscaled
    };
    Ok(Decimal { scale, unscaled })
}

fn read_decimal_parts(r: &mut Reader) -> Result<(i64, Vec<u8>), ValueError> {
    let exponent = read_ordered_i64(r)?;
    let mut digits = Vec::new();
    loop {
        match r.byte("decimal digits")? {
            0 => break,
            b @ 1..=100 => {
                digits.push((b - 1) / 10);
                digits.push((b - 1) % 10);
            }
            b => return Err(bad("decimal", format!("digit pair byte {b:#04x}"))),
        }
        if digits.len() > 4 * MAX_DECIMAL_BYTES {
            return Err(bad("decimal", "too many digits"));
        }
    }
    if digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.first().is_none_or(|&d| d == 0) || digits.last() == Some(&0) {
        return Err(bad("decimal", "non-canonical digits"));
    }
    Ok((exponent, digits))
}

fn negate(v: &Varint) -> Varint {
    // Two's complement negation with a sign-extension byte so it cannot overflow.
    let bytes = v.as_be_bytes();
    let fill = if v.is_negative() { 0xFF } else { 0x00 };
    let mut m: Vec<u8> = std::iter::once(fill)
        .chain(bytes.iter().copied())
        .map(|b| !b)
        .collect();
    for b in m.iter_mut().rev() {
        let (sum, carry) = b.overflowing_add(1);
        *b = sum;
        if !carry {
            break;
        }
    }
    Varint::from_be_bytes(&m)
}

#[cfg(test)]
mod tests;
