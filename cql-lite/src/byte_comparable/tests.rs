//! Byte order equals CQL order, encodings are prefix-free, keys decode back, and hostile
//! bytes never panic.

use proptest::prelude::*;

use super::*;
use crate::value::compare;
use crate::value::tests::{key_type, typed_value, value, varint};

fn enc(ty: &CqlType, v: &CqlValue, order: Order) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(ty, v, order, &mut out).unwrap();
    out
}

fn is_proper_prefix(a: &[u8], b: &[u8]) -> bool {
    a.len() < b.len() && b.starts_with(a)
}

#[test]
fn golden_key_encodings() {
    assert_eq!(
        enc(&CqlType::Int, &CqlValue::Int(1), Order::Asc),
        [0x40, 0x80, 0, 0, 1]
    );
    assert_eq!(enc(&CqlType::Int, &CqlValue::Empty, Order::Asc), [EMPTY]);
    assert_eq!(
        enc(&CqlType::Int, &CqlValue::Int(1), Order::Desc),
        [0xBF, 0x7F, 0xFF, 0xFF, 0xFE]
    );
    assert_eq!(
        enc(&CqlType::Blob, &CqlValue::Blob(vec![1, 0]), Order::Asc),
        [0x40, 1, 0, 0xFF, 0, 0]
    );
    // 1.5 = 0.15 × 10^1: exponent 1, digit pair 15.
    assert_eq!(
        enc(
            &CqlType::Decimal,
            &CqlValue::Decimal(Decimal::new(15i64, 1)),
            Order::Asc
        ),
        [0x40, 0x81, 0x81, 16, 0]
    );
    // 1.50 is the same key.
    assert_eq!(
        enc(
            &CqlType::Decimal,
            &CqlValue::Decimal(Decimal::new(150i64, 2)),
            Order::Asc
        ),
        [0x40, 0x81, 0x81, 16, 0]
    );
    assert_eq!(
        enc(
            &CqlType::Varint,
            &CqlValue::Varint(Varint::from(128i64)),
            Order::Asc
        ),
        [0x40, 0x80, 0x81, 0x80]
    );
}

#[test]
fn wide_integers_and_exponents() {
    for x in [
        0i64,
        63,
        64,
        255,
        256,
        -64,
        -65,
        -256,
        -257,
        i64::MAX,
        i64::MIN,
    ] {
        let mut out = Vec::new();
        write_ordered_i64(x, &mut out);
        let mut r = Reader {
            bytes: &out,
            pos: 0,
            mask: 0,
        };
        assert_eq!(read_ordered_i64(&mut r).unwrap(), x);
        assert_eq!(r.pos, out.len());
    }
    // Shortest forms whose scale would not fit an int keep some zeros instead.
    for (unscaled, scale) in [
        (10i64, i32::MIN),
        (-1000, i32::MIN + 1),
        (7, i32::MAX),
        (-5, i32::MIN),
    ] {
        let v = CqlValue::Decimal(Decimal::new(unscaled, scale));
        let bytes = enc(&CqlType::Decimal, &v, Order::Desc);
        let (back, used) = decode_value(&CqlType::Decimal, Order::Desc, &bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(
            compare(&CqlType::Decimal, &back, &v).unwrap(),
            Ordering::Equal
        );
    }
}

#[test]
fn keys_that_cannot_be_keys_are_refused() {
    assert!(ClusteringLayout::new(vec![(CqlType::Duration, Order::Asc)]).is_err());
    assert!(ClusteringLayout::new(vec![(CqlType::list(CqlType::Int, false), Order::Asc)]).is_err());
    let mut out = Vec::new();
    assert!(
        encode_value(
            &CqlType::Int,
            &CqlValue::Text("x".into()),
            Order::Asc,
            &mut out
        )
        .is_err()
    );
}

/// The oracle for decimals with small scales: exact integer arithmetic.
fn decimal_oracle(a: (i64, i32), b: (i64, i32)) -> Ordering {
    let scale = a.1.max(b.1);
    let up = |(u, s): (i64, i32)| i128::from(u) * 10i128.pow((scale - s) as u32);
    up(a).cmp(&up(b))
}

fn check_pair(ty: &CqlType, a: &CqlValue, b: &CqlValue) -> Result<(), TestCaseError> {
    let expected = compare(ty, a, b).unwrap();
    let (ea, eb) = (enc(ty, a, Order::Asc), enc(ty, b, Order::Asc));
    prop_assert_eq!(
        ea.cmp(&eb),
        expected,
        "{} {:?} {:?} {:02x?} {:02x?}",
        ty,
        a,
        b,
        ea,
        eb
    );
    let (da, db) = (enc(ty, a, Order::Desc), enc(ty, b, Order::Desc));
    prop_assert_eq!(da.cmp(&db), expected.reverse());
    for (x, y) in [(&ea, &eb), (&eb, &ea), (&da, &db), (&db, &da)] {
        prop_assert!(
            !is_proper_prefix(x, y),
            "{:02x?} is a prefix of {:02x?}",
            x,
            y
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn byte_order_is_cql_order(
        (ty, a, b) in key_type().prop_flat_map(|t| (Just(t.clone()), value(&t), value(&t)))
    ) {
        check_pair(&ty, &a, &b)?;
        check_pair(&ty, &a, &a)?;
    }

    #[test]
    fn keys_round_trip((ty, v) in typed_value(key_type()), desc in any::<bool>()) {
        let order = if desc { Order::Desc } else { Order::Asc };
        let bytes = enc(&ty, &v, order);
        let (back, used) = decode_value(&ty, order, &bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(compare(&ty, &back, &v).unwrap(), Ordering::Equal);
        prop_assert_eq!(enc(&ty, &back, order), bytes);
    }

    #[test]
    fn decimals_order_numerically(a in (any::<i64>(), -10i32..10), b in (any::<i64>(), -10i32..10)) {
        let (x, y) = (
            CqlValue::Decimal(Decimal::new(a.0, a.1)),
            CqlValue::Decimal(Decimal::new(b.0, b.1)),
        );
        prop_assert_eq!(compare(&CqlType::Decimal, &x, &y).unwrap(), decimal_oracle(a, b));
        check_pair(&CqlType::Decimal, &x, &y)?;
    }

    #[test]
    fn varints_order_numerically(a in any::<i128>(), b in any::<i128>(), c in varint()) {
        let (x, y) = (CqlValue::Varint(Varint::from(a)), CqlValue::Varint(Varint::from(b)));
        prop_assert_eq!(compare(&CqlType::Varint, &x, &y).unwrap(), a.cmp(&b));
        check_pair(&CqlType::Varint, &x, &y)?;
        // Long varints against the i128 ones.
        check_pair(&CqlType::Varint, &x, &CqlValue::Varint(c))?;
    }

    #[test]
    fn floats_order_like_java(a in any::<f64>(), b in any::<f64>()) {
        let canon = |v: f64| if v.is_nan() { f64::NAN } else { v };
        let (x, y) = (CqlValue::Double(a), CqlValue::Double(b));
        prop_assert_eq!(compare(&CqlType::Double, &x, &y).unwrap(), canon(a).total_cmp(&canon(b)));
        check_pair(&CqlType::Double, &x, &y)?;
    }

    #[test]
    fn clustering_keys_order_prefix_and_round_trip(
        (layout, a, b) in prop::collection::vec((key_type(), any::<bool>()), 1..4)
            .prop_flat_map(|cols| {
                let values: Vec<_> = cols.iter().map(|(t, _)| value(t)).collect();
                (Just(cols), values.clone(), values)
            })
    ) {
        let layout = ClusteringLayout::new(
            layout
                .into_iter()
                .map(|(t, d)| (t, if d { Order::Desc } else { Order::Asc }))
                .collect(),
        )
        .unwrap();
        let (ka, kb) = (layout.encode(&a).unwrap(), layout.encode(&b).unwrap());
        let mut expected = Ordering::Equal;
        for (((ty, order), x), y) in layout.columns().iter().zip(&a).zip(&b) {
            let ord = compare(ty, x, y).unwrap();
            let ord = if *order == Order::Desc { ord.reverse() } else { ord };
            expected = expected.then(ord);
        }
        prop_assert_eq!(ka.cmp(&kb), expected);
        prop_assert!(!is_proper_prefix(&ka, &kb) && !is_proper_prefix(&kb, &ka));
        let back = layout.decode(&ka).unwrap();
        prop_assert_eq!(layout.encode(&back).unwrap(), ka.clone());
        for n in 0..=a.len() {
            let prefix = layout.encode_prefix(&a[..n]).unwrap();
            prop_assert!(ka.starts_with(&prefix));
            prop_assert_eq!(layout.decode_prefix(&prefix).unwrap().len(), n);
            if n < a.len() {
                prop_assert!(layout.decode(&prefix).is_err());
            }
        }
    }

    #[test]
    fn hostile_key_bytes_never_panic(
        ty in key_type(),
        desc in any::<bool>(),
        bytes in prop::collection::vec(prop_oneof![Just(0u8), Just(0x3F), Just(0x40), Just(0xFF), any::<u8>()], 0..48),
    ) {
        let order = if desc { Order::Desc } else { Order::Asc };
        if let Ok((v, used)) = decode_value(&ty, order, &bytes) {
            // What decodes is canonical: it encodes to the bytes it came from.
            prop_assert_eq!(enc(&ty, &v, order), &bytes[..used]);
        }
        let layout = ClusteringLayout::new(vec![(ty.clone(), order), (ty, Order::Asc)]).unwrap();
        let _ = layout.decode_prefix(&bytes);
    }
}
