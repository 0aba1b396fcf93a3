//! The canonical form of a value: what Cassandra stores whatever order a client
//! sent a collection in.
//!
//! Cassandra keeps set elements and map keys sorted in their type's order and
//! without duplicates at every nesting level, so `{{5, 4, 6}: 1}` and
//! `{{4, 5, 6}: 1}` are one `frozen<map<frozen<set<int>>, int>>` value with one
//! encoding. [`super::normalize`] does one level; [`canonical`] walks the whole
//! value (list elements, set elements, map keys and values, tuple components),
//! innermost first, so the outer sort compares canonical elements.

use super::{CqlValue, ValueError, normalize};
use crate::types::CqlType;

/// `value` (a value of `ty`) with every set and map inside it, at any depth,
/// sorted and de-duplicated in its type's order (for maps the last entry of a
/// key wins). Values of other types come back unchanged; a value that does not
/// match `ty` is left for the encoder to refuse.
pub fn canonical(ty: &CqlType, value: CqlValue) -> Result<CqlValue, ValueError> {
    match (ty, value) {
        (CqlType::List { element, .. }, CqlValue::List(items)) => {
            Ok(CqlValue::List(each(element, items)?))
        }
        (CqlType::Set { element, .. }, CqlValue::Set(items)) => {
            normalize(ty, &CqlValue::Set(each(element, items)?))
        }
        (CqlType::Map { key, value, .. }, CqlValue::Map(entries)) => {
            let entries = entries
                .into_iter()
                .map(|(k, v)| Ok((canonical(key, k)?, canonical(value, v)?)))
                .collect::<Result<Vec<_>, ValueError>>()?;
            normalize(ty, &CqlValue::Map(entries))
        }
        (CqlType::Tuple(types), CqlValue::Tuple(components)) => {
            Ok(CqlValue::Tuple(tuple_components(types, components)?))
        }
        (_, other) => Ok(other),
    }
}

fn each(ty: &CqlType, items: Vec<CqlValue>) -> Result<Vec<CqlValue>, ValueError> {
    items.into_iter().map(|item| canonical(ty, item)).collect()
}

/// The components of a tuple, each canonical for its type. Components past the
/// type's arity are kept as sent: the encoder refuses them with its message.
fn tuple_components(
    types: &[CqlType],
    components: Vec<Option<CqlValue>>,
) -> Result<Vec<Option<CqlValue>>, ValueError> {
    components
        .into_iter()
        .enumerate()
        .map(|(i, component)| match (types.get(i), component) {
            (Some(ty), Some(v)) => canonical(ty, v).map(Some),
            (_, component) => Ok(component),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i32]) -> Vec<CqlValue> {
        v.iter().map(|i| CqlValue::Int(*i)).collect()
    }

    fn int_set(v: &[i32]) -> CqlValue {
        CqlValue::Set(ints(v))
    }

    fn frozen_int_set() -> CqlType {
        CqlType::set(CqlType::Int, true)
    }

    #[test]
    fn map_keys_that_are_sets_are_sorted_inside_and_then_by_key() {
        let ty = CqlType::map(frozen_int_set(), CqlType::Int, true);
        let sent = CqlValue::Map(vec![
            (int_set(&[9, 1]), CqlValue::Int(2)),
            (int_set(&[5, 4, 6, 4]), CqlValue::Int(1)),
        ]);
        let stored = CqlValue::Map(vec![
            (int_set(&[1, 9]), CqlValue::Int(2)),
            (int_set(&[4, 5, 6]), CqlValue::Int(1)),
        ]);
        assert_eq!(canonical(&ty, sent).unwrap(), stored);
    }

    #[test]
    fn keys_equal_once_canonical_collapse_and_the_last_one_wins() {
        let ty = CqlType::map(frozen_int_set(), CqlType::Int, true);
        let sent = CqlValue::Map(vec![
            (int_set(&[5, 4, 6]), CqlValue::Int(1)),
            (int_set(&[6, 5, 4]), CqlValue::Int(2)),
        ]);
        assert_eq!(
            canonical(&ty, sent).unwrap(),
            CqlValue::Map(vec![(int_set(&[4, 5, 6]), CqlValue::Int(2))])
        );
    }

    #[test]
    fn list_elements_keep_their_order_but_inner_sets_are_sorted() {
        let ty = CqlType::list(frozen_int_set(), true);
        let sent = CqlValue::List(vec![int_set(&[3, 2]), int_set(&[1, 1, 0])]);
        assert_eq!(
            canonical(&ty, sent).unwrap(),
            CqlValue::List(vec![int_set(&[2, 3]), int_set(&[0, 1])])
        );
    }

    #[test]
    fn sets_of_sets_sort_by_the_canonical_inner_sets() {
        // Sorted as sent, {2, 1} would come after {1, 3}; canonical, {1, 2} comes first.
        let ty = CqlType::set(frozen_int_set(), true);
        let sent = CqlValue::Set(vec![int_set(&[1, 3]), int_set(&[2, 1])]);
        assert_eq!(
            canonical(&ty, sent).unwrap(),
            CqlValue::Set(vec![int_set(&[1, 2]), int_set(&[1, 3])])
        );
    }

    #[test]
    fn tuple_components_and_map_values_are_canonical_too() {
        let inner = CqlType::map(CqlType::Text, frozen_int_set(), true);
        let ty = CqlType::Tuple(vec![CqlType::Int, inner]);
        let text = |s: &str| CqlValue::Text(s.into());
        let sent = CqlValue::Tuple(vec![
            None,
            Some(CqlValue::Map(vec![
                (text("b"), int_set(&[2, 1])),
                (text("a"), int_set(&[])),
            ])),
        ]);
        let stored = CqlValue::Tuple(vec![
            None,
            Some(CqlValue::Map(vec![
                (text("a"), int_set(&[])),
                (text("b"), int_set(&[1, 2])),
            ])),
        ]);
        assert_eq!(canonical(&ty, sent).unwrap(), stored);
    }

    #[test]
    fn scalars_and_mismatched_values_come_back_unchanged() {
        assert_eq!(
            canonical(&CqlType::Int, CqlValue::Int(7)).unwrap(),
            CqlValue::Int(7)
        );
        let wrong = CqlValue::List(ints(&[2, 1]));
        assert_eq!(canonical(&frozen_int_set(), wrong.clone()).unwrap(), wrong);
    }
}
