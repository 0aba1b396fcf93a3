use bytes::Bytes;
use cql_lite::ast;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorKind, Value};

use super::*;

fn spec(name: &str, ty: CqlType) -> MarkerSpec {
    MarkerSpec {
        keyspace: "ks".into(),
        table: "t".into(),
        name: name.into(),
        ty,
    }
}

/// The first term of `INSERT INTO t (c) VALUES (<text>)`.
fn term(text: &str) -> ast::Term {
    let stmt = cql_lite::parse(&format!("INSERT INTO t (c) VALUES ({text})")).unwrap();
    let ast::Statement::Insert(insert) = stmt else {
        panic!("not an insert")
    };
    let ast::InsertValues::Columns { mut values, .. } = insert.values else {
        panic!("not a column insert")
    };
    values.remove(0)
}

const T: BindTime = BindTime {
    now_micros: 1_700_000_000_000_000,
};

#[test]
fn literals_are_converted_once_at_prepare() {
    let mut markers = Markers::default();
    let t = Term::prepare(&term("42"), &spec("c", CqlType::Int), &mut markers).unwrap();
    assert_eq!(t, Term::Const(Some(CqlValue::Int(42))));
    assert!(markers.is_empty());
}

#[test]
fn type_mismatches_name_the_receiver() {
    let mut markers = Markers::default();
    let err = Term::prepare(&term("'x'"), &spec("c", CqlType::Int), &mut markers).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("\"c\""), "{}", err.message);
}

#[test]
fn markers_bind_values_null_and_unset() {
    let mut markers = Markers::default();
    let t = Term::prepare(&term("?"), &spec("c", CqlType::Int), &mut markers).unwrap();
    assert_eq!(markers.specs()[0].name, "c");
    let one = Value::Set(Bytes::from_static(&[0, 0, 0, 1]));
    assert_eq!(t.bind(&[one], T).unwrap(), Bound::Value(CqlValue::Int(1)));
    assert_eq!(t.bind(&[Value::Null], T).unwrap(), Bound::Null);
    assert_eq!(t.bind(&[Value::Unset], T).unwrap(), Bound::Unset);
    assert!(t.bind(&[], T).is_err());
    let bad = Value::Set(Bytes::from_static(&[1, 2]));
    assert_eq!(t.bind(&[bad], T).unwrap_err().kind, ErrorKind::Invalid);
}

#[test]
fn named_markers_keep_their_name() {
    let mut markers = Markers::default();
    Term::prepare(&term(":v"), &spec("c", CqlType::Int), &mut markers).unwrap();
    assert_eq!(markers.specs()[0].name, "v");
}

#[test]
fn collections_with_markers_are_rebuilt_per_request_and_normalised() {
    let mut markers = Markers::default();
    let ty = CqlType::set(CqlType::Int, false);
    let t = Term::prepare(&term("{3, ?, 1}"), &spec("s", ty), &mut markers).unwrap();
    assert_eq!(markers.specs()[0].ty, CqlType::Int);
    let two = Value::Set(Bytes::from_static(&[0, 0, 0, 2]));
    let expected = CqlValue::Set(vec![CqlValue::Int(1), CqlValue::Int(2), CqlValue::Int(3)]);
    assert_eq!(t.bind(&[two], T).unwrap(), Bound::Value(expected));
}

#[test]
fn constant_collections_fold_and_empty_braces_fit_maps() {
    let mut markers = Markers::default();
    let ty = CqlType::map(CqlType::Text, CqlType::Int, false);
    let t = Term::prepare(&term("{}"), &spec("m", ty.clone()), &mut markers).unwrap();
    assert_eq!(t, Term::Const(Some(CqlValue::Map(Vec::new()))));
    let t = Term::prepare(&term("{'b': 2, 'a': 1}"), &spec("m", ty), &mut markers).unwrap();
    let Term::Const(Some(CqlValue::Map(entries))) = t else {
        panic!("not folded: {t:?}")
    };
    assert_eq!(entries[0].0, CqlValue::Text("a".into()));
}

#[test]
fn time_functions_evaluate_at_bind_time() {
    let mut markers = Markers::default();
    let t = Term::prepare(
        &term("toTimestamp(now())"),
        &spec("ts", CqlType::Timestamp),
        &mut markers,
    )
    .unwrap();
    assert_eq!(
        t.bind(&[], T).unwrap(),
        Bound::Value(CqlValue::Timestamp(1_700_000_000_000))
    );
    let err = Term::prepare(&term("now()"), &spec("c", CqlType::Int), &mut markers).unwrap_err();
    assert!(err.message.contains("now"), "{}", err.message);
}

fn int_set(v: &[i32]) -> CqlValue {
    CqlValue::Set(v.iter().map(|i| CqlValue::Int(*i)).collect())
}

/// A value as a driver sends it: encoded as given, sets in the client's order.
fn sent(ty: &CqlType, v: &CqlValue) -> Value {
    let mut out = Vec::new();
    cql_lite::value::serialize(ty, v, &mut out).unwrap();
    Value::Set(Bytes::from(out))
}

#[test]
fn bound_nested_collections_are_sorted_at_every_level() {
    let ty = CqlType::map(CqlType::set(CqlType::Int, true), CqlType::Int, true);
    let mut markers = Markers::default();
    let t = Term::prepare(&term("?"), &spec("m", ty.clone()), &mut markers).unwrap();
    let unsorted = CqlValue::Map(vec![
        (int_set(&[9, 8]), CqlValue::Int(2)),
        (int_set(&[5, 4, 6]), CqlValue::Int(1)),
    ]);
    let stored = CqlValue::Map(vec![
        (int_set(&[4, 5, 6]), CqlValue::Int(1)),
        (int_set(&[8, 9]), CqlValue::Int(2)),
    ]);
    assert_eq!(
        t.bind(&[sent(&ty, &unsorted)], T).unwrap(),
        Bound::Value(stored)
    );
}

#[test]
fn markers_inside_literals_and_nested_literals_are_sorted_too() {
    let inner = CqlType::set(CqlType::Int, true);
    let ty = CqlType::list(inner.clone(), true);
    let mut markers = Markers::default();
    let t = Term::prepare(&term("[?, {3, 1, 2}]"), &spec("l", ty), &mut markers).unwrap();
    let expected = CqlValue::List(vec![int_set(&[0, 7]), int_set(&[1, 2, 3])]);
    assert_eq!(
        t.bind(&[sent(&inner, &int_set(&[7, 0, 7]))], T).unwrap(),
        Bound::Value(expected)
    );
    let ty = CqlType::map(inner, CqlType::Int, true);
    let t = Term::prepare(&term("{{5, 4, 6}: 1}"), &spec("m", ty), &mut markers).unwrap();
    assert_eq!(
        t,
        Term::Const(Some(CqlValue::Map(vec![(
            int_set(&[4, 5, 6]),
            CqlValue::Int(1)
        )])))
    );
}
