//! Random sequences of collection operations against a plain in-memory model:
//! what the engine reads back must decode to what the model holds.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum ListOp {
    Set(Vec<i32>),
    Append(Vec<i32>),
    Prepend(Vec<i32>),
    SetIndex(i32, i32),
    DeleteIndex(i32),
    Remove(Vec<i32>),
    Delete,
}

#[derive(Debug, Clone)]
enum SetOp {
    Set(BTreeSet<String>),
    Add(BTreeSet<String>),
    Remove(BTreeSet<String>),
    DeleteElement(String),
    Delete,
}

#[derive(Debug, Clone)]
enum MapOp {
    Set(BTreeMap<String, i32>),
    Put(String, Option<i32>),
    PutAll(BTreeMap<String, i32>),
    RemoveKeys(BTreeSet<String>),
    DeleteKey(String),
}

#[derive(Debug, Clone)]
enum Op {
    List(ListOp),
    Set(SetOp),
    Map(MapOp),
}

fn small_ints() -> impl Strategy<Value = Vec<i32>> {
    prop::collection::vec(0..6i32, 0..4)
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "dd", "e"]).prop_map(String::from)
}

fn words() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(word(), 0..3)
}

fn entries() -> impl Strategy<Value = BTreeMap<String, i32>> {
    prop::collection::btree_map(word(), 0..9i32, 0..3)
}

fn op() -> impl Strategy<Value = Op> {
    let list = prop_oneof![
        small_ints().prop_map(ListOp::Set),
        small_ints().prop_map(ListOp::Append),
        small_ints().prop_map(ListOp::Prepend),
        (-1..5i32, 0..9i32).prop_map(|(i, v)| ListOp::SetIndex(i, v)),
        (-1..5i32).prop_map(ListOp::DeleteIndex),
        small_ints().prop_map(ListOp::Remove),
        Just(ListOp::Delete),
    ];
    let set = prop_oneof![
        words().prop_map(SetOp::Set),
        words().prop_map(SetOp::Add),
        words().prop_map(SetOp::Remove),
        word().prop_map(SetOp::DeleteElement),
        Just(SetOp::Delete),
    ];
    let map = prop_oneof![
        entries().prop_map(MapOp::Set),
        (word(), prop::option::of(0..9i32)).prop_map(|(k, v)| MapOp::Put(k, v)),
        entries().prop_map(MapOp::PutAll),
        words().prop_map(MapOp::RemoveKeys),
        word().prop_map(MapOp::DeleteKey),
    ];
    prop_oneof![
        list.prop_map(Op::List),
        set.prop_map(Op::Set),
        map.prop_map(Op::Map)
    ]
}

/// The model: what CQL says the three collections hold.
#[derive(Debug, Default)]
struct Model {
    list: Vec<i32>,
    set: BTreeSet<String>,
    map: BTreeMap<String, i32>,
}

fn list_value(v: &[i32]) -> Value {
    val(&list(CqlType::Int), &ints(v))
}

fn set_value(v: &BTreeSet<String>) -> Value {
    val(
        &set(CqlType::Text),
        &CqlValue::Set(v.iter().map(|s| text(s)).collect()),
    )
}

fn map_value(v: &BTreeMap<String, i32>) -> Value {
    let entries = v.iter().map(|(k, v)| (text(k), int(*v))).collect();
    val(&map(CqlType::Text, CqlType::Int), &CqlValue::Map(entries))
}

/// The statement for `op`, and whether the model says it must fail.
fn apply_list(model: &mut Vec<i32>, op: &ListOp) -> (&'static str, Vec<Value>, bool) {
    let index_ok = |i: i32| usize::try_from(i).is_ok_and(|i| i < model.len());
    match op {
        ListOp::Set(v) => {
            *model = v.clone();
            ("UPDATE kv SET l = ? WHERE k = 1", vec![list_value(v)], true)
        }
        ListOp::Append(v) => {
            model.extend(v);
            (
                "UPDATE kv SET l = l + ? WHERE k = 1",
                vec![list_value(v)],
                true,
            )
        }
        ListOp::Prepend(v) => {
            model.splice(0..0, v.iter().copied());
            (
                "UPDATE kv SET l = ? + l WHERE k = 1",
                vec![list_value(v)],
                true,
            )
        }
        ListOp::SetIndex(i, v) => {
            let ok = index_ok(*i);
            if ok {
                model[*i as usize] = *v;
            }
            let values = vec![val(&CqlType::Int, &int(*i)), val(&CqlType::Int, &int(*v))];
            ("UPDATE kv SET l[?] = ? WHERE k = 1", values, ok)
        }
        ListOp::DeleteIndex(i) => {
            let ok = index_ok(*i);
            if ok {
                model.remove(*i as usize);
            }
            (
                "DELETE l[?] FROM kv WHERE k = 1",
                vec![val(&CqlType::Int, &int(*i))],
                ok,
            )
        }
        ListOp::Remove(v) => {
            model.retain(|x| !v.contains(x));
            (
                "UPDATE kv SET l = l - ? WHERE k = 1",
                vec![list_value(v)],
                true,
            )
        }
        ListOp::Delete => {
            model.clear();
            ("DELETE l FROM kv WHERE k = 1", vec![], true)
        }
    }
}

fn apply_set(model: &mut BTreeSet<String>, op: &SetOp) -> (&'static str, Vec<Value>) {
    match op {
        SetOp::Set(v) => {
            model.clone_from(v);
            ("UPDATE kv SET s = ? WHERE k = 1", vec![set_value(v)])
        }
        SetOp::Add(v) => {
            model.extend(v.iter().cloned());
            ("UPDATE kv SET s = s + ? WHERE k = 1", vec![set_value(v)])
        }
        SetOp::Remove(v) => {
            model.retain(|x| !v.contains(x));
            ("UPDATE kv SET s = s - ? WHERE k = 1", vec![set_value(v)])
        }
        SetOp::DeleteElement(e) => {
            model.remove(e);
            (
                "DELETE s[?] FROM kv WHERE k = 1",
                vec![val(&CqlType::Text, &text(e))],
            )
        }
        SetOp::Delete => {
            model.clear();
            ("DELETE s FROM kv WHERE k = 1", vec![])
        }
    }
}

fn apply_map(model: &mut BTreeMap<String, i32>, op: &MapOp) -> (&'static str, Vec<Value>) {
    match op {
        MapOp::Set(v) => {
            model.clone_from(v);
            ("UPDATE kv SET m = ? WHERE k = 1", vec![map_value(v)])
        }
        MapOp::Put(k, v) => {
            let value = match v {
                Some(v) => {
                    model.insert(k.clone(), *v);
                    val(&CqlType::Int, &int(*v))
                }
                None => {
                    model.remove(k);
                    Value::Null
                }
            };
            (
                "UPDATE kv SET m[?] = ? WHERE k = 1",
                vec![val(&CqlType::Text, &text(k)), value],
            )
        }
        MapOp::PutAll(v) => {
            model.extend(v.iter().map(|(k, v)| (k.clone(), *v)));
            ("UPDATE kv SET m = m + ? WHERE k = 1", vec![map_value(v)])
        }
        MapOp::RemoveKeys(v) => {
            model.retain(|k, _| !v.contains(k));
            ("UPDATE kv SET m = m - ? WHERE k = 1", vec![set_value(v)])
        }
        MapOp::DeleteKey(k) => {
            model.remove(k);
            (
                "DELETE m[?] FROM kv WHERE k = 1",
                vec![val(&CqlType::Text, &text(k))],
            )
        }
    }
}

async fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let h = Harness::new();
    let mut model = Model::default();
    for op in &ops {
        let (cql, values, ok) = match op {
            Op::List(o) => apply_list(&mut model.list, o),
            Op::Set(o) => {
                let (cql, values) = apply_set(&mut model.set, o);
                (cql, values, true)
            }
            Op::Map(o) => {
                let (cql, values) = apply_map(&mut model.map, o);
                (cql, values, true)
            }
        };
        let result = h.run(cql, &values).await;
        prop_assert_eq!(result.is_ok(), ok, "{:?}: {:?}", op, result);
    }
    let expected_list = (!model.list.is_empty()).then(|| ints(&model.list));
    prop_assert_eq!(h.value("kv", 1, "l").await, expected_list);
    let expected_set =
        (!model.set.is_empty()).then(|| CqlValue::Set(model.set.iter().map(|s| text(s)).collect()));
    prop_assert_eq!(h.value("kv", 1, "s").await, expected_set);
    let expected_map = (!model.map.is_empty())
        .then(|| CqlValue::Map(model.map.iter().map(|(k, v)| (text(k), int(*v))).collect()));
    prop_assert_eq!(h.value("kv", 1, "m").await, expected_map);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn collection_operations_match_the_model(ops in prop::collection::vec(op(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(ops))?;
    }
}
