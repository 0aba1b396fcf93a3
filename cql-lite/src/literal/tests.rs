//! Which constants fit which types, the errors, both text formats, and a round trip
//! through the parser for every scalar type.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::ast::{Relation, Statement, Term};
use crate::value::{DATE_EPOCH, Decimal, Duration, Varint, compare};

fn s(text: &str) -> Literal {
    Literal::String(text.to_owned())
}

fn int(text: &str) -> Literal {
    Literal::Integer(text.to_owned())
}

fn float(text: &str) -> Literal {
    Literal::Float(text.to_owned())
}

fn ok(ty: CqlType, literal: Literal) -> CqlValue {
    from_literal(&ty, &literal).unwrap()
}

fn err(ty: CqlType, literal: Literal) -> String {
    from_literal(&ty, &literal).unwrap_err().to_string()
}

const UUID4: &str = "550e8400-e29b-41d4-a716-446655440000";
const UUID1: &str = "c9a646d0-a4d8-11ee-8c90-0242ac120002";

#[test]
fn integers() {
    use CqlType as T;
    assert_eq!(ok(T::Tinyint, int("-128")), CqlValue::Tinyint(-128));
    assert_eq!(ok(T::Smallint, int("32767")), CqlValue::Smallint(32767));
    assert_eq!(ok(T::Int, int("-2147483648")), CqlValue::Int(i32::MIN));
    assert_eq!(ok(T::Bigint, int("42")), CqlValue::Bigint(42));
    assert_eq!(ok(T::Counter, int("-3")), CqlValue::Counter(-3));
    assert_eq!(
        ok(T::Varint, int("-170141183460469231731687303715884105729")),
        CqlValue::Varint(
            numbers::parse_varint("-170141183460469231731687303715884105729").unwrap()
        )
    );
    assert_eq!(
        ok(T::Varint, int("0")),
        CqlValue::Varint(Varint::from(0i64))
    );
    assert_eq!(
        ok(T::Decimal, int("42")),
        CqlValue::Decimal(Decimal::new(42i64, 0))
    );
    assert_eq!(ok(T::Double, int("3")), CqlValue::Double(3.0));
    assert_eq!(ok(T::Float, int("-3")), CqlValue::Float(-3.0));
    assert_eq!(ok(T::Timestamp, int("-5")), CqlValue::Timestamp(-5));
    assert_eq!(ok(T::Date, int("2147483648")), CqlValue::Date(DATE_EPOCH));
    assert_eq!(ok(T::Date, int("4294967295")), CqlValue::Date(u32::MAX));
    assert_eq!(
        ok(T::Time, int("86399999999999")),
        CqlValue::Time(NANOS_PER_DAY - 1)
    );
}

#[test]
fn integers_out_of_range() {
    use CqlType as T;
    assert_eq!(
        err(T::Tinyint, int("128")),
        "Unable to make byte from '128'"
    );
    assert_eq!(
        err(T::Smallint, int("-32769")),
        "Unable to make short from '-32769'"
    );
    assert_eq!(
        err(T::Int, int("99999999999")),
        "Unable to make int from '99999999999'"
    );
    assert_eq!(
        err(T::Bigint, int("9223372036854775808")),
        "Unable to make long from '9223372036854775808'"
    );
    assert_eq!(
        err(T::Date, int("-1")),
        "Unable to make unsigned int (for date) from: '-1'"
    );
    assert_eq!(
        err(T::Date, int("4294967296")),
        "Unable to make unsigned int (for date) from: '4294967296'"
    );
    assert_eq!(
        err(T::Time, int("86400000000000")),
        "Unable to make long (for time) from: '86400000000000'"
    );
    assert_eq!(
        err(T::Timestamp, int("9223372036854775808")),
        "Unable to make long (for date) from: '9223372036854775808'"
    );
    assert_eq!(
        err(T::Duration, int("5")),
        "Unable to convert '5' to a duration"
    );
    // Literals the parser never builds still fail cleanly.
    assert!(from_literal(&T::Int, &int("1x")).is_err());
    assert!(from_literal(&T::Varint, &int("")).is_err());
    assert!(from_literal(&T::Double, &int("inf")).is_err());
}

#[test]
fn floats() {
    use CqlType as T;
    assert_eq!(ok(T::Double, float("1.5")), CqlValue::Double(1.5));
    assert_eq!(ok(T::Double, float("-2e10")), CqlValue::Double(-2e10));
    assert_eq!(ok(T::Float, float("1.5E+3")), CqlValue::Float(1500.0));
    assert_eq!(ok(T::Float, float("1e40")), CqlValue::Float(f32::INFINITY));
    assert_eq!(
        ok(T::Decimal, float("1.50")),
        CqlValue::Decimal(Decimal::new(150i64, 2))
    );
    assert_eq!(
        ok(T::Decimal, float("1.5E+3")),
        CqlValue::Decimal(Decimal::new(15i64, -2))
    );
    assert_eq!(
        ok(T::Decimal, float("-2e-10")),
        CqlValue::Decimal(Decimal::new(-2i64, 10))
    );
    let CqlValue::Double(nan) = ok(T::Double, Literal::NaN) else {
        panic!("not a double")
    };
    assert!(nan.is_nan());
    let CqlValue::Float(nan) = ok(T::Float, Literal::NaN) else {
        panic!("not a float")
    };
    assert!(nan.is_nan());
    assert_eq!(
        ok(T::Double, Literal::Infinity { negative: true }),
        CqlValue::Double(f64::NEG_INFINITY)
    );
    assert_eq!(
        ok(T::Float, Literal::Infinity { negative: false }),
        CqlValue::Float(f32::INFINITY)
    );
    assert_eq!(
        err(T::Decimal, Literal::NaN),
        "unable to make BigDecimal from 'NaN'"
    );
    assert_eq!(
        err(T::Decimal, Literal::Infinity { negative: true }),
        "unable to make BigDecimal from '-Infinity'"
    );
    assert_eq!(
        err(T::Decimal, float("1e9999999999")),
        "unable to make BigDecimal from '1e9999999999'"
    );
    for text in [
        "1e2147483649",
        "-1e2147483649",
        "1e-2147483648",
        "-1e-2147483648",
    ] {
        assert_eq!(
            err(T::Decimal, float(text)),
            format!("unable to make BigDecimal from '{text}'")
        );
    }
    assert_eq!(
        ok(T::Decimal, float("1e2147483648")),
        CqlValue::Decimal(Decimal::new(1i64, i32::MIN))
    );
    assert_eq!(
        err(T::Int, float("1.5")),
        "Invalid FLOAT constant (1.5) for type int"
    );
    assert_eq!(
        err(T::Int, Literal::NaN),
        "Invalid FLOAT constant (NaN) for type int"
    );
}

#[test]
fn strings() {
    use CqlType as T;
    assert_eq!(ok(T::Text, s("héllo")), CqlValue::Text("héllo".into()));
    assert_eq!(ok(T::Ascii, s("hello")), CqlValue::Ascii("hello".into()));
    assert_eq!(
        err(T::Ascii, s("héllo")),
        "Invalid ASCII character in string literal: \
         java.nio.charset.UnmappableCharacterException: Input length = 1"
    );
    assert!(err(T::Ascii, s("a😀")).ends_with("Input length = 2"));
    assert_eq!(
        ok(T::Inet, s("10.0.0.1")),
        CqlValue::Inet(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(
        ok(T::Inet, s("::1")),
        CqlValue::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))
    );
    // Java reads an IPv4-mapped address as the IPv4 address itself.
    assert_eq!(
        ok(T::Inet, s("::ffff:10.0.0.1")),
        CqlValue::Inet(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(ok(T::Inet, s("")), CqlValue::Empty);
    assert_eq!(
        err(T::Inet, s("example.com")),
        "Unable to make inet address from 'example.com'"
    );
    assert_eq!(
        ok(T::Timestamp, s("2024-01-02 03:04:05.678+0000")),
        CqlValue::Timestamp(1_704_164_645_678)
    );
    assert_eq!(ok(T::Timestamp, s("1234")), CqlValue::Timestamp(1234));
    assert_eq!(ok(T::Timestamp, s("")), CqlValue::Empty);
    assert_eq!(
        from_literal_at(&T::Timestamp, &s("NOW"), 1_700_000_000_000),
        Ok(CqlValue::Timestamp(1_700_000_000_000))
    );
    assert!(err(T::Timestamp, s("now")).contains("from_literal_at"));
    assert_eq!(
        err(T::Timestamp, s("yesterday")),
        "Unable to coerce 'yesterday' to a formatted date (long)"
    );
    assert_eq!(ok(T::Date, s("1970-01-02")), CqlValue::Date(DATE_EPOCH + 1));
    assert_eq!(ok(T::Date, s("5")), CqlValue::Date(5));
    assert_eq!(
        err(T::Date, s("2024-02-30")),
        "Unable to coerce '2024-02-30' to a formatted date (long)"
    );
    assert_eq!(ok(T::Time, s("00:00:01.5")), CqlValue::Time(1_500_000_000));
    assert_eq!(ok(T::Time, s("1000")), CqlValue::Time(1000));
    assert_eq!(
        err(T::Time, s("25:00:00")),
        "(TimeType) Unable to coerce '25:00:00' to a formatted time (long)"
    );
}

#[test]
fn kinds_a_type_does_not_take() {
    use CqlType as T;
    assert_eq!(
        err(T::Text, int("42")),
        "Invalid INTEGER constant (42) for type text"
    );
    assert_eq!(
        err(T::Uuid, s(UUID4)),
        format!("Invalid STRING constant ({UUID4}) for type uuid")
    );
    assert_eq!(
        err(T::Blob, s("ab")),
        "Invalid STRING constant (ab) for type blob"
    );
    assert_eq!(
        err(T::Int, s("1")),
        "Invalid STRING constant (1) for type int"
    );
    assert_eq!(
        err(T::Duration, s("1h")),
        "Invalid STRING constant (1h) for type duration"
    );
    assert_eq!(
        err(T::Text, Literal::Boolean(true)),
        "Invalid BOOLEAN constant (true) for type text"
    );
    assert_eq!(
        err(T::Text, Literal::Blob(vec![0xca, 0xfe])),
        "Invalid HEX constant (0xcafe) for type text"
    );
    assert_eq!(
        err(T::Int, Literal::Duration("1h".into())),
        "Invalid DURATION constant (1h) for type int"
    );
    assert_eq!(
        err(T::list(T::Int, false), int("1")),
        "Invalid INTEGER constant (1) for type list<int>"
    );
    assert_eq!(
        err(T::Text, Literal::Uuid(UUID4.into())),
        format!("Invalid UUID constant ({UUID4}) for type text")
    );
    let e = from_literal(&T::Text, &int("42")).unwrap_err();
    assert_eq!(
        e.for_receiver("name"),
        "Invalid INTEGER constant (42) for \"name\" of type text"
    );
    assert!(from_literal(&T::Int, &Literal::Null).is_err());
    assert!(from_literal(&T::Text, &Literal::Null).is_err());
}

#[test]
fn uuids_blobs_booleans_durations() {
    use CqlType as T;
    let u = |t: &str| parse_uuid(t).unwrap();
    assert_eq!(
        ok(T::Uuid, Literal::Uuid(UUID4.into())),
        CqlValue::Uuid(u(UUID4))
    );
    assert_eq!(
        ok(T::Uuid, Literal::Uuid(UUID1.into())),
        CqlValue::Uuid(u(UUID1))
    );
    assert_eq!(
        ok(T::Timeuuid, Literal::Uuid(UUID1.into())),
        CqlValue::Timeuuid(u(UUID1))
    );
    assert_eq!(
        err(T::Timeuuid, Literal::Uuid(UUID4.into())),
        "TimeUUID supports only version 1 UUIDs"
    );
    assert!(from_literal(&T::Uuid, &Literal::Uuid("nope".into())).is_err());
    assert!(
        from_literal(
            &T::Uuid,
            &Literal::Uuid("550e8400-e29b-41d4-a716-44665544000g".into())
        )
        .is_err()
    );
    assert!(
        from_literal(
            &T::Uuid,
            &Literal::Uuid("550e8400+e29b-41d4-a716-446655440000".into())
        )
        .is_err()
    );
    assert!(
        from_literal(
            &T::Uuid,
            &Literal::Uuid("550e8400-e29b-41d4-a716-4466554400é".into())
        )
        .is_err()
    );
    assert_eq!(
        ok(T::Blob, Literal::Blob(vec![1, 2])),
        CqlValue::Blob(vec![1, 2])
    );
    assert_eq!(ok(T::Blob, Literal::Blob(vec![])), CqlValue::Blob(vec![]));
    assert_eq!(
        ok(T::Tinyint, Literal::Blob(vec![0xff])),
        CqlValue::Tinyint(-1)
    );
    assert_eq!(
        err(T::Tinyint, Literal::Blob(vec![1, 2])),
        "Expected 1 byte for a tinyint (2)"
    );
    assert_eq!(
        ok(T::Boolean, Literal::Boolean(false)),
        CqlValue::Boolean(false)
    );
    assert_eq!(
        ok(T::Duration, Literal::Duration("-1h30m".into())),
        CqlValue::Duration(Duration {
            months: 0,
            days: 0,
            nanoseconds: -5_400_000_000_000
        })
    );
    assert_eq!(
        err(T::Duration, Literal::Duration("1m1h".into())),
        "Invalid duration. The minutes should be after hours"
    );
}

#[test]
fn cql_literals() {
    use CqlType as T;
    use CqlValue as V;
    let f = format_cql_literal;
    assert_eq!(f(&T::Text, &V::Text("it's".into())), "'it''s'");
    assert_eq!(f(&T::Blob, &V::Blob(vec![0xca, 0xfe])), "0xcafe");
    assert_eq!(f(&T::Uuid, &V::Uuid(parse_uuid(UUID4).unwrap())), UUID4);
    assert_eq!(
        f(&T::Timestamp, &V::Timestamp(1_704_164_645_000)),
        "'2024-01-02T03:04:05.000Z'"
    );
    assert_eq!(f(&T::Date, &V::Date(DATE_EPOCH)), "'1970-01-01'");
    assert_eq!(f(&T::Date, &V::Date(0)), "0");
    assert_eq!(
        f(&T::Time, &V::Time(11_045_000_000_000)),
        "'03:04:05.000000000'"
    );
    assert_eq!(
        f(&T::Inet, &V::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        "'::1'"
    );
    let dur = |months, days, nanoseconds| {
        V::Duration(Duration {
            months,
            days,
            nanoseconds,
        })
    };
    assert_eq!(
        f(&T::Duration, &dur(14, 0, 90 * 60_000_000_000)),
        "1y2mo1h30m"
    );
    assert_eq!(f(&T::Duration, &dur(0, 0, 0)), "0s");
    assert_eq!(f(&T::Double, &V::Double(f64::NAN)), "NaN");
    assert_eq!(f(&T::Float, &V::Float(0.1)), "0.1");
    assert_eq!(f(&T::Decimal, &V::Decimal(Decimal::new(150i64, 2))), "1.50");
    assert_eq!(f(&T::Boolean, &V::Boolean(true)), "true");
    let list = T::list(T::Text, false);
    assert_eq!(
        f(
            &list,
            &V::List(vec![V::Text("a".into()), V::Text("b".into())])
        ),
        "['a', 'b']"
    );
    let set = T::set(T::Int, true);
    assert_eq!(f(&set, &V::Set(vec![V::Int(1), V::Int(2)])), "{1, 2}");
    let map = T::map(T::Text, T::Timestamp, false);
    assert_eq!(
        f(&map, &V::Map(vec![(V::Text("k".into()), V::Timestamp(0))])),
        "{'k': '1970-01-01T00:00:00.000Z'}"
    );
    let tuple = T::Tuple(vec![T::Int, T::Text]);
    assert_eq!(
        f(&tuple, &V::Tuple(vec![Some(V::Int(1)), None])),
        "(1, null)"
    );
    assert_eq!(f(&T::Int, &V::Empty), "blobasint(0x)");
    assert_eq!(f(&T::Text, &V::Empty), "''");
    assert_eq!(f(&T::Blob, &V::Empty), "0x");
}

#[test]
fn cqlsh_output_of_collections() {
    use CqlType as T;
    use CqlValue as V;
    let f = format_cqlsh;
    assert_eq!(f(&T::Blob, &V::Blob(vec![0xca, 0xfe])), "0xcafe");
    assert_eq!(f(&T::Boolean, &V::Boolean(true)), "True");
    assert_eq!(f(&T::Boolean, &V::Boolean(false)), "False");
    assert_eq!(
        f(
            &T::list(T::Int, false),
            &V::List(vec![V::Int(1), V::Int(2), V::Int(3)])
        ),
        "[1, 2, 3]"
    );
    assert_eq!(
        f(
            &T::set(T::Text, false),
            &V::Set(vec![V::Text("x".into()), V::Text("y".into())])
        ),
        "{'x', 'y'}"
    );
    assert_eq!(
        f(
            &T::map(T::Text, T::Int, false),
            &V::Map(vec![(V::Text("a".into()), V::Int(1))])
        ),
        "{'a': 1}"
    );
    assert_eq!(f(&T::Text, &V::Text("it's\n\\".into())), "it's\\n\\\\");
    assert_eq!(
        f(
            &T::list(T::Text, false),
            &V::List(vec![V::Text("it's".into())])
        ),
        "['it''s']"
    );
}

#[test]
fn cqlsh_output_of_scalars() {
    use CqlType as T;
    use CqlValue as V;
    let f = format_cqlsh;
    assert_eq!(
        f(&T::Timestamp, &V::Timestamp(1_704_164_645_000)),
        "2024-01-02 03:04:05.000000+0000"
    );
    assert_eq!(
        f(
            &T::list(T::Timestamp, false),
            &V::List(vec![V::Timestamp(0)])
        ),
        "['1970-01-01 00:00:00.000000+0000']"
    );
    assert_eq!(
        f(&T::Time, &V::Time(11_045_000_000_000)),
        "03:04:05.000000000"
    );
    assert_eq!(f(&T::Date, &V::Date(DATE_EPOCH + 19_723)), "2024-01-01");
    assert_eq!(f(&T::Date, &V::Date(0)), (-2_147_483_648i64).to_string());
    assert_eq!(f(&T::Double, &V::Double(1.5)), "1.5");
    assert_eq!(f(&T::Double, &V::Double(1e10)), "1e+10");
    assert_eq!(f(&T::Float, &V::Float(std::f32::consts::PI)), "3.14159");
    assert_eq!(f(&T::Uuid, &V::Uuid(parse_uuid(UUID4).unwrap())), UUID4);
    assert_eq!(
        f(&T::Inet, &V::Inet(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        "127.0.0.1"
    );
    assert_eq!(
        f(&T::Decimal, &V::Decimal(Decimal::new(15i64, -2))),
        "1.5E+3"
    );
    assert_eq!(f(&T::Varint, &V::Varint(Varint::from(-7i64))), "-7");
    assert_eq!(f(&T::Int, &V::Empty), "");
    let tuple = T::Tuple(vec![T::Int, T::Text]);
    assert_eq!(
        f(
            &tuple,
            &V::Tuple(vec![Some(V::Int(1)), Some(V::Text("a".into()))])
        ),
        "(1, 'a')"
    );
    assert_eq!(f(&tuple, &V::Tuple(vec![None, None])), "(null, null)");
}

/// The constant in `SELECT * FROM t WHERE k = <text>`.
fn parse_constant(text: &str) -> Literal {
    let statement = crate::parse(&format!("SELECT * FROM t WHERE k = {text}"))
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    let Statement::Select(select) = statement else {
        panic!("not a select")
    };
    match select.where_clause.into_iter().next() {
        Some(Relation::Compare {
            value: Term::Literal(literal),
            ..
        }) => literal,
        other => panic!("{text}: not a constant: {other:?}"),
    }
}

fn scalar_type() -> impl Strategy<Value = CqlType> {
    prop_oneof![
        crate::value::tests::key_scalar_type(),
        Just(CqlType::Counter),
        Just(CqlType::Duration),
    ]
}

fn scalar_value() -> impl Strategy<Value = (CqlType, CqlValue)> {
    scalar_type()
        .prop_flat_map(|ty| (Just(ty.clone()), crate::value::tests::value(&ty)))
        .prop_filter("the empty value has no constant", |(_, v)| {
            *v != CqlValue::Empty
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn literals_read_back((ty, value) in scalar_value()) {
        let text = format_cql_literal(&ty, &value);
        let back = from_literal(&ty, &parse_constant(&text))
            .unwrap_or_else(|e| panic!("{ty} {text}: {e}"));
        match ty {
            CqlType::Float | CqlType::Double => {
                prop_assert_eq!(compare(&ty, &back, &value).unwrap(), Ordering::Equal, "{}", text);
            }
            _ => prop_assert_eq!(&back, &value, "{}", text),
        }
    }

    #[test]
    fn any_literal_is_handled_without_panicking(
        ty in crate::value::tests::any_type(),
        text in "[-+0-9.eE:TZ µa-z]{0,24}",
        which in 0u8..6,
    ) {
        let literal = match which {
            0 => Literal::String(text),
            1 => Literal::Integer(text),
            2 => Literal::Float(text),
            3 => Literal::Uuid(text),
            4 => Literal::Duration(text),
            _ => Literal::Blob(text.into_bytes()),
        };
        let _ = from_literal(&ty, &literal);
    }

    #[test]
    fn formatting_never_panics((ty, value) in crate::value::tests::typed_value(crate::value::tests::any_type())) {
        let _ = format_cql_literal(&ty, &value);
        let _ = format_cqlsh(&ty, &value);
    }
}
