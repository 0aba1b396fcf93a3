//! Constants in CQL text and the values they stand for, both ways.
//!
//! - [`from_literal`] binds a parsed [`Literal`] to a column type with Cassandra's rules
//!   (`Constants.Literal.testAssignment` then the type's `fromString`): which kinds of
//!   constant a type takes, and the text each type accepts, with Cassandra's messages.
//! - [`format_cql_literal`] writes a value as CQL text that reads back to the same value
//!   (for `DESCRIBE` and golden files).
//! - [`format_cqlsh`] writes a value as cqlsh 6 prints it in a `SELECT` result.
//!
//! Timestamps written without a zone are read as UTC. Cassandra uses the node's zone
//! there; Basalt's nodes run in UTC.

mod duration;
mod numbers;
mod temporal;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::ast::Literal;
use crate::types::CqlType;
use crate::value::{CqlValue, NANOS_PER_DAY, ValueError, uuid_version};

/// The kind of constant, as Cassandra names it in errors: `STRING`, `INTEGER`, `FLOAT`
/// (also `NaN` and `Infinity`, which Cassandra lexes as floats), `BOOLEAN`, `UUID`, `HEX`,
/// `DURATION`, or `NULL`.
pub fn literal_kind(literal: &Literal) -> &'static str {
    match literal {
        Literal::Null => "NULL",
        Literal::String(_) => "STRING",
        Literal::Integer(_) => "INTEGER",
        Literal::Float(_) | Literal::NaN | Literal::Infinity { .. } => "FLOAT",
        Literal::Boolean(_) => "BOOLEAN",
        Literal::Uuid(_) => "UUID",
        Literal::Blob(_) => "HEX",
        Literal::Duration(_) => "DURATION",
    }
}

/// The constant as Cassandra shows it in errors: strings without their quotes
/// (Cassandra's lexer strips them: `Invalid STRING constant (abc) for "k" of type
/// int`), blobs as `0x...`, everything else as written.
pub fn literal_text(literal: &Literal) -> String {
    match literal {
        Literal::Null => "NULL".to_owned(),
        Literal::String(s) => s.clone(),
        Literal::Integer(t) | Literal::Float(t) | Literal::Uuid(t) | Literal::Duration(t) => {
            t.clone()
        }
        Literal::NaN => "NaN".to_owned(),
        Literal::Infinity { negative: false } => "Infinity".to_owned(),
        Literal::Infinity { negative: true } => "-Infinity".to_owned(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Blob(b) => hex(b),
    }
}

/// The address Java's `InetAddress.getByName` makes of a parsed one: an IPv4-mapped
/// IPv6 address (`::ffff:10.0.0.1`) becomes the IPv4 address, stored in 4 bytes.
fn java_inet(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Whether Cassandra lets a constant of this kind be assigned to `ty`.
fn assignable(ty: &CqlType, literal: &Literal) -> bool {
    use CqlType as T;
    match literal {
        Literal::Null => false,
        Literal::String(_) => matches!(
            ty,
            T::Ascii | T::Text | T::Inet | T::Date | T::Time | T::Timestamp
        ),
        Literal::Integer(_) => matches!(
            ty,
            T::Bigint
                | T::Counter
                | T::Date
                | T::Decimal
                | T::Double
                | T::Duration
                | T::Float
                | T::Int
                | T::Smallint
                | T::Time
                | T::Timestamp
                | T::Tinyint
                | T::Varint
        ),
        Literal::Float(_) | Literal::NaN | Literal::Infinity { .. } => {
            matches!(ty, T::Decimal | T::Double | T::Float)
        }
        Literal::Boolean(_) => matches!(ty, T::Boolean),
        Literal::Uuid(_) => matches!(ty, T::Uuid | T::Timeuuid),
        // A hex constant's preferred type is tinyint, an exact match in Cassandra.
        Literal::Blob(_) => matches!(ty, T::Blob | T::Tinyint),
        Literal::Duration(_) => matches!(ty, T::Duration),
    }
}

fn invalid(message: String) -> ValueError {
    ValueError::InvalidLiteral(message)
}

/// The value a constant stands for in a `ty` receiver, by Cassandra's rules:
///
/// - integers: `tinyint`, `smallint`, `int`, `bigint`, `counter` (range-checked),
///   `varint` and `decimal` (any size), `float`, `double`, `timestamp` (milliseconds),
///   `date` (the raw unsigned day number, epoch at 2^31) and `time` (nanoseconds);
///   `duration` takes them but no digits alone make a duration, so they fail there.
/// - floats (`1.5`, `-2e10`, `NaN`, `-Infinity`): `float`, `double`, `decimal` (exact:
///   `1.50` has scale 2, `1.5E+3` scale -2; not NaN or infinities).
/// - strings: `ascii` (ASCII only), `text`, `inet`, `timestamp`, `date`, `time`; not
///   uuids, blobs, numbers or durations. An empty string is the empty value of `inet`
///   and `timestamp`; `'now'` is the current time for `timestamp` (see below).
/// - uuids: `uuid`, and `timeuuid` when version 1. `0x` blobs: `blob` (and, as in
///   Cassandra, a one-byte `tinyint`). Booleans: `boolean`. Durations: `duration`.
///
/// Any other pairing, and every collection or tuple type, is a
/// [`ValueError::InvalidConstant`] reading like Cassandra's without the receiver's
/// name (`Invalid INTEGER constant (42) for type text`); the caller adds the name with
/// [`ValueError::for_receiver`]. A bad value of an accepted kind is a
/// [`ValueError::InvalidLiteral`] with Cassandra's message. `NULL` is not a value: the
/// caller binds it before asking, and gets an error here.
///
/// The string `'now'` for a `timestamp` needs the node's clock, which this function does
/// not read: here it is an error; [`from_literal_at`] takes the time.
pub fn from_literal(ty: &CqlType, literal: &Literal) -> Result<CqlValue, ValueError> {
    convert(ty, literal, None)
}

/// [`from_literal`], with `now_millis` (milliseconds since the epoch, from the node's
/// clock) as the value of the `timestamp` string `'now'`.
pub fn from_literal_at(
    ty: &CqlType,
    literal: &Literal,
    now_millis: i64,
) -> Result<CqlValue, ValueError> {
    convert(ty, literal, Some(now_millis))
}

fn convert(ty: &CqlType, literal: &Literal, now: Option<i64>) -> Result<CqlValue, ValueError> {
    if *literal == Literal::Null {
        return Err(invalid(
            "NULL is not a value: the caller binds it before converting constants".to_owned(),
        ));
    }
    if !assignable(ty, literal) {
        return Err(ValueError::InvalidConstant {
            kind: literal_kind(literal),
            text: literal_text(literal),
            ty: ty.to_string(),
        });
    }
    match literal {
        Literal::String(s) => from_string(ty, s, now),
        Literal::Integer(text) => from_integer(ty, text),
        Literal::Float(_) | Literal::NaN | Literal::Infinity { .. } => {
            from_float(ty, &literal_text(literal))
        }
        Literal::Boolean(b) => Ok(CqlValue::Boolean(*b)),
        Literal::Uuid(text) => from_uuid(ty, text),
        Literal::Blob(bytes) => from_blob(ty, bytes),
        Literal::Duration(text) => duration::parse_duration(text)
            .map(CqlValue::Duration)
            .map_err(invalid),
        Literal::Null => Err(invalid("NULL is not a value".to_owned())),
    }
}

/// Whether `text` is Cassandra's raw-number pattern `^-?\d+$`.
fn is_raw_number(text: &str) -> bool {
    numbers::all_digits(text.strip_prefix('-').unwrap_or(text))
}

fn from_string(ty: &CqlType, s: &str, now: Option<i64>) -> Result<CqlValue, ValueError> {
    match ty {
        CqlType::Ascii if s.is_ascii() => Ok(CqlValue::Ascii(s.to_owned())),
        CqlType::Ascii => Err(invalid(format!(
            "Invalid ASCII character in string literal: \
             java.nio.charset.UnmappableCharacterException: Input length = {}",
            s.chars().find(|c| !c.is_ascii()).map_or(1, char::len_utf16)
        ))),
        CqlType::Inet if s.is_empty() => Ok(CqlValue::Empty),
        CqlType::Inet => s
            .parse::<IpAddr>()
            .map(|ip| CqlValue::Inet(java_inet(ip)))
            .map_err(|_| invalid(format!("Unable to make inet address from '{s}'"))),
        CqlType::Timestamp => timestamp_from_string(s, now),
        CqlType::Date if is_raw_number(s) => raw_date(s),
        CqlType::Date => temporal::parse_date(s)
            .map(CqlValue::Date)
            .ok_or_else(|| invalid(format!("Unable to coerce '{s}' to a formatted date (long)"))),
        CqlType::Time if is_raw_number(s) => raw_time(s),
        CqlType::Time => temporal::parse_time(s).map(CqlValue::Time).ok_or_else(|| {
            invalid(format!(
                "(TimeType) Unable to coerce '{s}' to a formatted time (long)"
            ))
        }),
        _ => Ok(CqlValue::Text(s.to_owned())),
    }
}

fn timestamp_from_string(s: &str, now: Option<i64>) -> Result<CqlValue, ValueError> {
    if s.is_empty() {
        return Ok(CqlValue::Empty);
    }
    if s.eq_ignore_ascii_case("now") {
        return now.map(CqlValue::Timestamp).ok_or_else(|| {
            invalid("'now' needs the node's clock: convert with from_literal_at".to_owned())
        });
    }
    if is_raw_number(s) {
        return s
            .parse()
            .map(CqlValue::Timestamp)
            .map_err(|_| invalid(format!("Unable to make long (for date) from: '{s}'")));
    }
    temporal::parse_timestamp(s)
        .map(CqlValue::Timestamp)
        .ok_or_else(|| invalid(format!("Unable to coerce '{s}' to a formatted date (long)")))
}

/// A raw day number, unsigned, the epoch at 2^31.
fn raw_date(text: &str) -> Result<CqlValue, ValueError> {
    text.parse::<u32>().map(CqlValue::Date).map_err(|_| {
        invalid(format!(
            "Unable to make unsigned int (for date) from: '{text}'"
        ))
    })
}

/// Raw nanoseconds since midnight.
fn raw_time(text: &str) -> Result<CqlValue, ValueError> {
    match text.parse::<i64>() {
        Ok(n) if (0..NANOS_PER_DAY).contains(&n) => Ok(CqlValue::Time(n)),
        _ => Err(invalid(format!(
            "Unable to make long (for time) from: '{text}'"
        ))),
    }
}

fn from_integer(ty: &CqlType, text: &str) -> Result<CqlValue, ValueError> {
    let fail = |what: &str| invalid(format!("Unable to make {what} from '{text}'"));
    if !is_raw_number(text) {
        return Err(fail("a number"));
    }
    match ty {
        CqlType::Tinyint => text
            .parse()
            .map(CqlValue::Tinyint)
            .map_err(|_| fail("byte")),
        CqlType::Smallint => text
            .parse()
            .map(CqlValue::Smallint)
            .map_err(|_| fail("short")),
        CqlType::Int => text.parse().map(CqlValue::Int).map_err(|_| fail("int")),
        CqlType::Bigint => text.parse().map(CqlValue::Bigint).map_err(|_| fail("long")),
        CqlType::Counter => text
            .parse()
            .map(CqlValue::Counter)
            .map_err(|_| fail("long")),
        CqlType::Varint => numbers::parse_varint(text)
            .map(CqlValue::Varint)
            .ok_or_else(|| fail("varint")),
        CqlType::Timestamp => text
            .parse()
            .map(CqlValue::Timestamp)
            .map_err(|_| invalid(format!("Unable to make long (for date) from: '{text}'"))),
        CqlType::Date => raw_date(text),
        CqlType::Time => raw_time(text),
        CqlType::Duration => duration::parse_duration(text)
            .map(CqlValue::Duration)
            .map_err(invalid),
        _ => from_float(ty, text),
    }
}

/// Floats, doubles and decimals from an integer's or a float's text.
fn from_float(ty: &CqlType, text: &str) -> Result<CqlValue, ValueError> {
    let number_chars = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    let special = match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    };
    match ty {
        CqlType::Decimal => numbers::parse_decimal(text)
            .filter(|_| number_chars)
            .map(CqlValue::Decimal)
            .ok_or_else(|| invalid(format!("unable to make BigDecimal from '{text}'"))),
        CqlType::Double => special
            .or_else(|| text.parse().ok().filter(|_| number_chars))
            .map(CqlValue::Double)
            .ok_or_else(|| invalid(format!("Unable to make double from '{text}'"))),
        CqlType::Float => special
            .map(|v| v as f32)
            .or_else(|| text.parse().ok().filter(|_| number_chars))
            .map(CqlValue::Float)
            .ok_or_else(|| invalid(format!("Unable to make float from '{text}'"))),
        _ => Err(ValueError::InvalidConstant {
            kind: "FLOAT",
            text: text.to_owned(),
            ty: ty.to_string(),
        }),
    }
}

/// A uuid's 16 bytes from its `8-4-4-4-12` hex text.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let digits: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'-').collect();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn from_uuid(ty: &CqlType, text: &str) -> Result<CqlValue, ValueError> {
    let uuid =
        parse_uuid(text).ok_or_else(|| invalid(format!("Unable to make UUID from '{text}'")))?;
    if *ty == CqlType::Uuid {
        return Ok(CqlValue::Uuid(uuid));
    }
    if uuid_version(&uuid) != 1 {
        return Err(invalid("TimeUUID supports only version 1 UUIDs".to_owned()));
    }
    Ok(CqlValue::Timeuuid(uuid))
}

fn from_blob(ty: &CqlType, bytes: &[u8]) -> Result<CqlValue, ValueError> {
    match (ty, bytes) {
        (CqlType::Tinyint, []) => Ok(CqlValue::Empty),
        (CqlType::Tinyint, &[b]) => Ok(CqlValue::Tinyint(i8::from_be_bytes([b]))),
        (CqlType::Tinyint, _) => Err(invalid(format!(
            "Expected 1 byte for a tinyint ({})",
            bytes.len()
        ))),
        _ => Ok(CqlValue::Blob(bytes.to_vec())),
    }
}

// ---------------------------------------------------------------------------------------
// Writing values
// ---------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn uuid_text(u: &[u8; 16]) -> String {
    let h = hex(u);
    let h = &h[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The types of a collection's elements, or of a map's keys and values; the type
/// itself when it is not that collection (the value's variant decides the format).
fn element_type(ty: &CqlType) -> &CqlType {
    match ty {
        CqlType::List { element, .. } | CqlType::Set { element, .. } => element,
        other => other,
    }
}

fn map_types(ty: &CqlType) -> (&CqlType, &CqlType) {
    match ty {
        CqlType::Map { key, value, .. } => (key, value),
        other => (other, other),
    }
}

fn tuple_type(ty: &CqlType, i: usize) -> &CqlType {
    match ty {
        CqlType::Tuple(types) => types.get(i).unwrap_or(ty),
        other => other,
    }
}

/// Joins formatted items with `, ` between `open` and `close`.
fn join(open: &str, items: impl Iterator<Item = String>, close: &str) -> String {
    let items: Vec<String> = items.collect();
    format!("{open}{}{close}", items.join(", "))
}

/// `value` as CQL text that parses back (with [`from_literal`] for scalars) to the same
/// value: strings in single quotes with `'` doubled, blobs `0x...`, uuids bare,
/// timestamps `'2024-01-02T03:04:05.000Z'` (milliseconds outside years 1 to 9999),
/// dates `'2024-01-02'` (the raw day number outside years 0 to 9999), times
/// `'03:04:05.000000000'`, inets quoted, durations in unit form (`0s` for zero), floats
/// and doubles in their shortest round-trip text or `NaN`/`Infinity`/`-Infinity`,
/// decimals keeping their scale (`1.50`, `15E+2`), collections `[..]`, `{..}`,
/// `{k: v}`, tuples `(..)` with `null` for null components.
///
/// The empty value is `''` for strings, `0x` for blobs, `blobas<type>(0x)` (a function
/// call, not a constant) for other scalars, and `null` for collections and tuples.
pub fn format_cql_literal(ty: &CqlType, value: &CqlValue) -> String {
    use CqlValue as V;
    match value {
        V::Empty => empty_literal(ty),
        V::Ascii(s) | V::Text(s) => format!("'{}'", s.replace('\'', "''")),
        V::Bigint(v) | V::Counter(v) => v.to_string(),
        V::Blob(b) => hex(b),
        V::Boolean(b) => b.to_string(),
        V::Date(d) => {
            temporal::date_text(*d, 0).map_or_else(|| d.to_string(), |t| format!("'{t}'"))
        }
        V::Decimal(d) => numbers::decimal_literal(d),
        V::Double(v) => numbers::double_literal(*v),
        V::Float(v) => numbers::float_literal(*v),
        V::Duration(d) => match duration::duration_text(d) {
            t if t.is_empty() => "0s".to_owned(),
            t => t,
        },
        V::Inet(a) => format!("'{a}'"),
        V::Int(v) => v.to_string(),
        V::Smallint(v) => v.to_string(),
        V::Tinyint(v) => v.to_string(),
        V::Time(n) => format!("'{}'", temporal::time_text(*n)),
        V::Timestamp(ms) => temporal::timestamp_literal(*ms),
        V::Timeuuid(u) | V::Uuid(u) => uuid_text(u),
        V::Varint(v) => numbers::varint_to_string(v),
        V::List(items) => {
            let element = element_type(ty);
            join(
                "[",
                items.iter().map(|v| format_cql_literal(element, v)),
                "]",
            )
        }
        V::Set(items) => {
            let element = element_type(ty);
            join(
                "{",
                items.iter().map(|v| format_cql_literal(element, v)),
                "}",
            )
        }
        V::Map(entries) => {
            let (kt, vt) = map_types(ty);
            let entry = |(k, v): &(V, V)| {
                format!(
                    "{}: {}",
                    format_cql_literal(kt, k),
                    format_cql_literal(vt, v)
                )
            };
            join("{", entries.iter().map(entry), "}")
        }
        V::Tuple(items) => {
            let item = |(i, v): (usize, &Option<V>)| {
                v.as_ref().map_or_else(
                    || "null".to_owned(),
                    |v| format_cql_literal(tuple_type(ty, i), v),
                )
            };
            join("(", items.iter().enumerate().map(item), ")")
        }
    }
}

fn empty_literal(ty: &CqlType) -> String {
    match ty {
        CqlType::Ascii | CqlType::Text => "''".to_owned(),
        CqlType::Blob => "0x".to_owned(),
        CqlType::List { .. } | CqlType::Set { .. } | CqlType::Map { .. } | CqlType::Tuple(_) => {
            "null".to_owned()
        }
        scalar => format!("blobas{scalar}(0x)"),
    }
}

/// `value` as cqlsh 6 prints it in a `SELECT` result (cqlshlib's `formatting.py`, no
/// colour): blobs `0xcafe`, booleans `True`/`False`, strings bare with `\` doubled and
/// control characters escaped as Python does, timestamps
/// `2024-01-02 03:04:05.000000+0000`, dates `2024-01-02`, times `03:04:05.000000000`,
/// floats and doubles with cqlsh's default precision of 5 (`1.5`, `3.14159`, `1e+10`),
/// decimals as Python's `Decimal` prints them, durations in unit form, uuids and inets
/// bare. Inside collections and tuples strings, timestamps and inets are quoted:
/// `['a', 'b']`, `{'x': 1}`. Null components print `null`; a null value is the
/// caller's to print (cqlsh prints `null`). The empty value prints as nothing.
///
/// Sets and maps print in the order given; values read from storage are already in
/// Cassandra's order, which is the order cqlsh shows for the common types.
pub fn format_cqlsh(ty: &CqlType, value: &CqlValue) -> String {
    cqlsh_value(ty, value, false)
}

fn cqlsh_value(ty: &CqlType, value: &CqlValue, quote: bool) -> String {
    use CqlValue as V;
    let quoted = |s: String| if quote { format!("'{s}'") } else { s };
    match value {
        V::Empty => String::new(),
        V::Ascii(s) | V::Text(s) => cqlsh_text(s, quote),
        V::Boolean(true) => "True".to_owned(),
        V::Boolean(false) => "False".to_owned(),
        V::Date(d) => temporal::date_text(*d, 1)
            .unwrap_or_else(|| (i64::from(*d) - i64::from(crate::value::DATE_EPOCH)).to_string()),
        V::Decimal(d) => numbers::decimal_python(d),
        V::Double(v) => numbers::cqlsh_float(*v),
        V::Float(v) => numbers::cqlsh_float(f64::from(*v)),
        V::Duration(d) => duration::duration_text(d),
        V::Inet(a) => quoted(a.to_string()),
        V::Time(n) => temporal::time_text(*n),
        V::Timestamp(ms) => quoted(temporal::timestamp_cqlsh(*ms)),
        V::List(items) => {
            let element = element_type(ty);
            join(
                "[",
                items.iter().map(|v| cqlsh_value(element, v, true)),
                "]",
            )
        }
        V::Set(items) => {
            let element = element_type(ty);
            join(
                "{",
                items.iter().map(|v| cqlsh_value(element, v, true)),
                "}",
            )
        }
        V::Map(entries) => {
            let (kt, vt) = map_types(ty);
            let entry = |(k, v): &(V, V)| {
                format!("{}: {}", cqlsh_value(kt, k, true), cqlsh_value(vt, v, true))
            };
            join("{", entries.iter().map(entry), "}")
        }
        V::Tuple(items) => {
            let item = |(i, v): (usize, &Option<V>)| {
                v.as_ref().map_or_else(
                    || "null".to_owned(),
                    |v| cqlsh_value(tuple_type(ty, i), v, true),
                )
            };
            join("(", items.iter().enumerate().map(item), ")")
        }
        // Numbers, blobs and uuids print as their CQL literals do.
        other => format_cql_literal(ty, other),
    }
}

/// cqlsh's `format_value_text`: `\` doubled, `'` doubled when quoted, and the characters
/// its control-character pattern catches (U+0000 to U+001F, U+007F to U+00A0) written as
/// Python's `repr` writes them.
fn cqlsh_text(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if quote {
        out.push('\'');
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' if quote => out.push_str("''"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{a0}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    if quote {
        out.push('\'');
    }
    out
}
