//! Golden encodings, round trips and hostile input for the v4 value codec, plus the
//! value strategies the byte-comparable tests share.

use proptest::prelude::*;

use super::*;

fn ser(ty: &CqlType, v: &CqlValue) -> Vec<u8> {
    let mut out = Vec::new();
    serialize(ty, v, &mut out).unwrap();
    out
}

fn uuid_v1(mut u: [u8; 16]) -> [u8; 16] {
    u[6] = (u[6] & 0x0F) | 0x10;
    u
}

#[test]
fn golden_encodings() {
    let vi = |v: i64| ser(&CqlType::Varint, &CqlValue::Varint(Varint::from(v)));
    assert_eq!(vi(0), [0x00]);
    assert_eq!(vi(127), [0x7F]);
    assert_eq!(vi(128), [0x00, 0x80]);
    assert_eq!(vi(-1), [0xFF]);
    assert_eq!(vi(-128), [0x80]);
    assert_eq!(vi(-129), [0xFF, 0x7F]);
    assert_eq!(
        ser(
            &CqlType::Decimal,
            &CqlValue::Decimal(Decimal::new(15i64, 1))
        ),
        [0, 0, 0, 1, 0x0F]
    );
    assert_eq!(
        ser(&CqlType::Date, &CqlValue::Date(DATE_EPOCH)),
        [0x80, 0, 0, 0]
    );
    let dur = |months, days, nanoseconds| {
        ser(
            &CqlType::Duration,
            &CqlValue::Duration(Duration {
                months,
                days,
                nanoseconds,
            }),
        )
    };
    assert_eq!(dur(1, 2, 3), [0x02, 0x04, 0x06]);
    assert_eq!(dur(-1, 0, -1000), [0x01, 0x00, 0x87, 0xCF]);
    assert_eq!(dur(0, 0, i64::MIN)[2..], [0xFF; 9]);
    assert_eq!(
        ser(&CqlType::Int, &CqlValue::Int(-2)),
        [0xFF, 0xFF, 0xFF, 0xFE]
    );
    assert_eq!(ser(&CqlType::Boolean, &CqlValue::Boolean(true)), [1]);
    assert_eq!(
        ser(&CqlType::Float, &CqlValue::Float(1.0)),
        [0x3F, 0x80, 0, 0]
    );
    assert_eq!(
        ser(
            &CqlType::list(CqlType::Int, false),
            &CqlValue::List(vec![CqlValue::Int(1), CqlValue::Int(2)])
        ),
        [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]
    );
    assert_eq!(
        ser(
            &CqlType::map(CqlType::Text, CqlType::Boolean, true),
            &CqlValue::Map(vec![(CqlValue::Text("a".into()), CqlValue::Boolean(false))])
        ),
        [0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 1, 0]
    );
    let tuple = CqlType::Tuple(vec![CqlType::Int, CqlType::Text]);
    assert_eq!(
        ser(&tuple, &CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None])),
        [0, 0, 0, 4, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // Omitted trailing components are nulls.
    assert_eq!(
        deserialize(&tuple, &[0, 0, 0, 4, 0, 0, 0, 1]).unwrap(),
        CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None])
    );
    // Redundant sign bytes are accepted and dropped.
    assert_eq!(
        deserialize(&CqlType::Varint, &[0xFF, 0xFF, 0x80]).unwrap(),
        CqlValue::Varint(Varint::from(-128i64))
    );
    assert_eq!(Varint::from(-129i64).to_i128(), Some(-129));
}

#[test]
fn invalid_values_are_refused_with_a_reason() {
    let cases: Vec<(CqlType, Vec<u8>, &str)> = vec![
        (
            CqlType::Int,
            vec![0, 0, 1],
            "Expected 4 bytes for a int value, got 3",
        ),
        (CqlType::Ascii, vec![0xC3, 0xA9], "non-ASCII"),
        (CqlType::Text, vec![0xFF], "invalid UTF-8"),
        (CqlType::Timeuuid, [0x40; 16].to_vec(), "version 4, not 1"),
        (CqlType::Inet, vec![1, 2, 3, 4, 5], "4 or 16"),
        (
            CqlType::Time,
            (-1i64).to_be_bytes().to_vec(),
            "outside one day",
        ),
        (CqlType::Duration, vec![0x02, 0x03, 0x00], "same sign"),
        (CqlType::Duration, vec![0x02, 0x04], "vint"),
        (CqlType::Decimal, vec![0, 0, 0, 1], "no unscaled value"),
        (
            CqlType::list(CqlType::Int, true),
            vec![0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF],
            "null",
        ),
        (
            CqlType::list(CqlType::Int, true),
            vec![0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4],
            "Not enough bytes",
        ),
        (
            CqlType::set(CqlType::Int, true),
            vec![0xFF, 0, 0, 0],
            "Invalid element count",
        ),
        (
            CqlType::set(CqlType::Int, true),
            vec![0, 0, 0, 0, 9],
            "trailing bytes after a frozen<set<int>>",
        ),
    ];
    for (ty, bytes, needle) in cases {
        let err = deserialize(&ty, &bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{ty} {bytes:02x?}: {err}");
    }
    let mut out = Vec::new();
    let err = serialize(&CqlType::Int, &CqlValue::Text("x".into()), &mut out).unwrap_err();
    assert_eq!(err.to_string(), "Expected a value of type int, got text");
}

#[test]
fn empty_values_are_distinct_from_empty_strings() {
    assert_eq!(deserialize(&CqlType::Int, &[]).unwrap(), CqlValue::Empty);
    assert_eq!(
        deserialize(&CqlType::Text, &[]).unwrap(),
        CqlValue::Text(String::new())
    );
    assert_eq!(
        compare(&CqlType::Int, &CqlValue::Empty, &CqlValue::Int(i32::MIN)).unwrap(),
        Ordering::Less
    );
}

#[test]
fn uuid_and_float_orders_follow_cassandra() {
    let v1 = |ts: u64, low: u8| {
        let mut u = [low; 16];
        u[0..4].copy_from_slice(&(ts as u32).to_be_bytes());
        u[4..6].copy_from_slice(&((ts >> 32) as u16).to_be_bytes());
        u[6..8].copy_from_slice(&(((ts >> 48) as u16 & 0x0FFF) | 0x1000).to_be_bytes());
        u
    };
    // Timestamp order, not byte order: time_low is the first field on the wire.
    let (early, late) = (v1(1 << 32, 0), v1(0xFFFF_FFFF, 0));
    assert_eq!(uuid_timestamp(&early), 1 << 32);
    assert!(early < late);
    assert_eq!(timeuuid_order(&early, &late), Ordering::Greater);
    assert_eq!(uuid_order(&early, &late), Ordering::Greater);
    // timeuuid compares the low bytes signed, uuid unsigned.
    let (a, b) = (v1(5, 0x01), v1(5, 0x80));
    assert_eq!(timeuuid_order(&a, &b), Ordering::Greater);
    assert_eq!(uuid_order(&a, &b), Ordering::Less);
    // uuid: version first.
    let mut v4 = [0u8; 16];
    v4[6] = 0x40;
    assert_eq!(uuid_order(&a, &v4), Ordering::Less);
    assert_eq!(java_float_order(-0.0, 0.0), Ordering::Less);
    assert_eq!(java_float_order(f32::NAN, f32::INFINITY), Ordering::Greater);
    assert_eq!(java_float_order(f32::NAN, -f32::NAN), Ordering::Equal);
}

// ---------------------------------------------------------------------------------------
// Strategies (shared with the byte-comparable tests)
// ---------------------------------------------------------------------------------------

/// Scalar types that can be keys.
pub(crate) fn key_scalar_type() -> impl Strategy<Value = CqlType> + Clone {
    prop_oneof![
        Just(CqlType::Ascii),
        Just(CqlType::Bigint),
        Just(CqlType::Blob),
        Just(CqlType::Boolean),
        Just(CqlType::Date),
        Just(CqlType::Decimal),
        Just(CqlType::Double),
        Just(CqlType::Float),
        Just(CqlType::Inet),
        Just(CqlType::Int),
        Just(CqlType::Smallint),
        Just(CqlType::Text),
        Just(CqlType::Time),
        Just(CqlType::Timestamp),
        Just(CqlType::Timeuuid),
        Just(CqlType::Tinyint),
        Just(CqlType::Uuid),
        Just(CqlType::Varint),
    ]
}

/// Types that can be keys: scalars, frozen collections and tuples of them.
pub(crate) fn key_type() -> BoxedStrategy<CqlType> {
    key_scalar_type()
        .prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| CqlType::list(t, true)),
                inner.clone().prop_map(|t| CqlType::set(t, true)),
                (inner.clone(), inner.clone()).prop_map(|(k, v)| CqlType::map(k, v, true)),
                prop::collection::vec(inner, 1..4).prop_map(CqlType::Tuple),
            ]
        })
        .boxed()
}

/// Every type, including those that cannot be keys.
pub(crate) fn any_type() -> BoxedStrategy<CqlType> {
    prop_oneof![
        4 => key_type(),
        1 => Just(CqlType::Duration),
        1 => Just(CqlType::Counter),
        1 => key_type().prop_map(|t| CqlType::list(t, false)),
        1 => key_type().prop_map(|t| CqlType::map(t, CqlType::Duration, false)),
        1 => key_type().prop_map(|t| CqlType::Tuple(vec![CqlType::Duration, t])),
    ]
    .boxed()
}

fn small_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0xFF), any::<u8>()],
        0..6,
    )
}

pub(crate) fn varint() -> BoxedStrategy<Varint> {
    prop_oneof![
        (-300i64..300).prop_map(Varint::from),
        any::<i64>().prop_map(Varint::from),
        any::<i128>().prop_map(Varint::from),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| Varint::from_be_bytes(&b)),
    ]
    .boxed()
}

fn float() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>(),
        (-3i8..3).prop_map(f32::from),
        Just(f32::NAN),
        Just(f32::from_bits(0xFFC0_0001)),
        Just(-0.0),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MIN_POSITIVE),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (-3i8..3).prop_map(f64::from),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn uuid() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![
        any::<[u8; 16]>(),
        any::<[u8; 16]>().prop_map(uuid_v1),
        // Few distinct bytes, so ties in the timestamp or version are common.
        prop::array::uniform16(prop_oneof![Just(0u8), Just(0x10), Just(0x81)]),
    ]
}

fn inet() -> impl Strategy<Value = IpAddr> {
    let byte = prop_oneof![Just(0u8), Just(1), Just(0xFF), any::<u8>()];
    prop_oneof![
        prop::array::uniform4(byte.clone()).prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        prop::array::uniform16(byte).prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    (0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX, any::<bool>()).prop_map(|(m, d, n, neg)| {
        if neg {
            Duration {
                months: -m,
                days: -d,
                nanoseconds: -n,
            }
        } else {
            Duration {
                months: m,
                days: d,
                nanoseconds: n,
            }
        }
    })
}

/// Values of `ty` (with the empty value now and then for types that have one).
pub(crate) fn value(ty: &CqlType) -> BoxedStrategy<CqlValue> {
    use CqlValue as V;
    let present: BoxedStrategy<CqlValue> = match ty {
        CqlType::Ascii => "[\\x00-\\x7f]{0,6}".prop_map(V::Ascii).boxed(),
        CqlType::Text => prop_oneof!["[a-c\\x00é]{0,5}", ".{0,5}"]
            .prop_map(V::Text)
            .boxed(),
        CqlType::Blob => small_bytes().prop_map(V::Blob).boxed(),
        CqlType::Boolean => any::<bool>().prop_map(V::Boolean).boxed(),
        CqlType::Tinyint => any::<i8>().prop_map(V::Tinyint).boxed(),
        CqlType::Smallint => any::<i16>().prop_map(V::Smallint).boxed(),
        CqlType::Int => prop_oneof![-2i32..2, any::<i32>()].prop_map(V::Int).boxed(),
        CqlType::Bigint => any::<i64>().prop_map(V::Bigint).boxed(),
        CqlType::Counter => any::<i64>().prop_map(V::Counter).boxed(),
        CqlType::Timestamp => any::<i64>().prop_map(V::Timestamp).boxed(),
        CqlType::Time => (0..NANOS_PER_DAY).prop_map(V::Time).boxed(),
        CqlType::Date => any::<u32>().prop_map(V::Date).boxed(),
        CqlType::Float => float().prop_map(V::Float).boxed(),
        CqlType::Double => double().prop_map(V::Double).boxed(),
        CqlType::Inet => inet().prop_map(V::Inet).boxed(),
        CqlType::Uuid => uuid().prop_map(V::Uuid).boxed(),
        CqlType::Timeuuid => uuid().prop_map(|u| V::Timeuuid(uuid_v1(u))).boxed(),
        CqlType::Varint => varint().prop_map(V::Varint).boxed(),
        CqlType::Decimal => prop_oneof![
            4 => (varint(), -20i32..20),
            1 => (varint(), any::<i32>()),
        ]
        .prop_map(|(unscaled, scale)| V::Decimal(Decimal { scale, unscaled }))
        .boxed(),
        CqlType::Duration => duration().prop_map(V::Duration).boxed(),
        CqlType::List { element, .. } => prop::collection::vec(value(element), 0..4)
            .prop_map(V::List)
            .boxed(),
        CqlType::Set { element, .. } => prop::collection::vec(value(element), 0..4)
            .prop_map(V::Set)
            .boxed(),
        CqlType::Map { key, value: vt, .. } => prop::collection::vec((value(key), value(vt)), 0..4)
            .prop_map(V::Map)
            .boxed(),
        CqlType::Tuple(types) => types
            .iter()
            .map(|t| prop::option::weighted(0.8, value(t)))
            .collect::<Vec<_>>()
            .prop_map(V::Tuple)
            .boxed(),
    };
    if matches!(ty, CqlType::Ascii | CqlType::Text | CqlType::Blob) {
        present
    } else {
        prop_oneof![12 => present, 1 => Just(V::Empty)].boxed()
    }
}

pub(crate) fn typed_value(types: BoxedStrategy<CqlType>) -> BoxedStrategy<(CqlType, CqlValue)> {
    types
        .prop_flat_map(|t| (Just(t.clone()), value(&t)))
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn values_round_trip((ty, v) in typed_value(any_type())) {
        let bytes = ser(&ty, &v);
        let back = deserialize(&ty, &bytes).unwrap();
        // Bytes, not `==`: NaN payloads must survive too.
        prop_assert_eq!(ser(&ty, &back), bytes);
        if !format!("{v:?}").contains("NaN") {
            prop_assert_eq!(back, v);
        }
    }

    #[test]
    fn hostile_bytes_never_panic(ty in any_type(), bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(v) = deserialize(&ty, &bytes) {
            // Whatever decodes must encode again.
            let mut out = Vec::new();
            prop_assert!(serialize(&ty, &v, &mut out).is_ok());
        }
    }

    #[test]
    fn hostile_element_counts_do_not_allocate(n in any::<i32>(), tail in prop::collection::vec(any::<u8>(), 0..12)) {
        let mut bytes = n.to_be_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        let _ = deserialize(&CqlType::map(CqlType::Int, CqlType::Blob, true), &bytes);
    }

    #[test]
    fn vints_round_trip(v in any::<i64>()) {
        let mut out = Vec::new();
        write_signed_vint(&mut out, v);
        let mut rest = out.as_slice();
        prop_assert_eq!(read_signed_vint(&mut rest).unwrap(), v);
        prop_assert!(rest.is_empty());
        prop_assert!(out.len() <= 9);
    }

    #[test]
    fn varint_i128_conversions(v in any::<i128>()) {
        let x = Varint::from(v);
        prop_assert_eq!(x.to_i128(), Some(v));
        prop_assert_eq!(varint_order(&x, &Varint::from(0i64)), v.cmp(&0));
    }
}
