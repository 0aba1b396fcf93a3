//! Row filters (ALLOW FILTERING, and clustering relations on scans): relations
//! evaluated on a row's values in CQL order. A null never satisfies a relation.

use std::cmp::Ordering;

use cql_lite::ast::Operator;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};

use crate::schema::TableDef;

use super::rows::CqlRow;
use crate::cql::restrictions::{BoundFilter, BoundOp};

/// Whether `row` satisfies `filter`.
pub(super) fn matches(table: &TableDef, filter: &BoundFilter, row: &CqlRow) -> bool {
    let mut values = Vec::with_capacity(filter.columns.len());
    for &i in &filter.columns {
        match row.values.get(i) {
            Some(Some(v)) => values.push(v),
            _ => return false,
        }
    }
    let types: Vec<&CqlType> = filter
        .columns
        .iter()
        .map(|&i| &table.columns[i].ty)
        .collect();
    match &filter.op {
        BoundOp::Compare(op, wanted) => {
            compare(&types, &values, wanted).is_some_and(|ord| match op {
                Operator::Eq => ord.is_eq(),
                Operator::NotEq => ord.is_ne(),
                Operator::Lt => ord.is_lt(),
                Operator::LtEq => ord.is_le(),
                Operator::Gt => ord.is_gt(),
                Operator::GtEq => ord.is_ge(),
            })
        }
        BoundOp::In(options) => options
            .iter()
            .any(|o| compare(&types, &values, o).is_some_and(Ordering::is_eq)),
        BoundOp::Contains(wanted) => contains(types[0], values[0], wanted, false),
        BoundOp::ContainsKey(wanted) => contains(types[0], values[0], wanted, true),
    }
}

/// Lexicographic comparison of a row's values with wanted values (a shorter wanted
/// tuple compares on its components only).
fn compare(types: &[&CqlType], have: &[&CqlValue], wanted: &[CqlValue]) -> Option<Ordering> {
    for ((ty, h), w) in types.iter().zip(have).zip(wanted) {
        let ord = value::compare(ty, h, w).ok()?;
        if ord.is_ne() {
            return Some(ord);
        }
    }
    Some(Ordering::Equal)
}

fn contains(ty: &CqlType, have: &CqlValue, wanted: &CqlValue, key: bool) -> bool {
    let eq = |t: &CqlType, v: &CqlValue| value::compare(t, v, wanted).is_ok_and(Ordering::is_eq);
    match (ty, have) {
        (CqlType::List { element, .. }, CqlValue::List(items))
        | (CqlType::Set { element, .. }, CqlValue::Set(items)) => {
            !key && items.iter().any(|v| eq(element, v))
        }
        (
            CqlType::Map {
                key: kt, value: vt, ..
            },
            CqlValue::Map(entries),
        ) => {
            if key {
                entries.iter().any(|(k, _)| eq(kt, k))
            } else {
                entries.iter().any(|(_, v)| eq(vt, v))
            }
        }
        _ => false,
    }
}
