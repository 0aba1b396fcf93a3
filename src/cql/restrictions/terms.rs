//! The right-hand sides of relations: terms prepared against their receivers,
//! then bound to one request's values.

use cql_lite::ast::{self, InValues};
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};

use crate::cql::bind::{BindTime, Bound, MarkerSpec, Markers, Term};
use crate::cql::error::invalid;
use crate::schema::TableDef;

/// Most partitions or clustering prefixes the `IN` lists of one statement may
/// multiply into, so a few short lists cannot become an unbounded amount of work.
pub(super) const MAX_IN_COMBINATIONS: usize = 65_536;

/// The right-hand side of `=` or `IN`.
#[derive(Debug, Clone)]
pub(super) enum Values {
    /// `= term`.
    One(Term),
    /// `IN (a, b)`, possibly empty.
    List(Vec<Term>),
    /// `IN ?`: one marker holding a list, possibly empty.
    Marker(Term),
}

/// The receiver `name` of type `ty` in `table`, as markers report it.
pub(super) fn spec(table: &TableDef, name: String, ty: CqlType) -> MarkerSpec {
    MarkerSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name,
        ty,
    }
}

/// Prepares the right-hand side of `IN` for a receiver; `tuple` says the
/// receiver is several clustering columns.
pub(super) fn prepare_in(
    table: &TableDef,
    receiver: &MarkerSpec,
    values: &InValues,
    tuple: bool,
    markers: &mut Markers,
) -> Result<Values, ErrorResponse> {
    match values {
        InValues::Terms(terms) => Ok(Values::List(
            terms
                .iter()
                .map(|t| prepare(t, receiver, tuple, markers))
                .collect::<Result<_, _>>()?,
        )),
        InValues::Marker(marker) => {
            let list = spec(
                table,
                format!("in({})", receiver.name),
                CqlType::list(receiver.ty.clone(), false),
            );
            Ok(Values::Marker(Term::prepare(
                &ast::Term::BindMarker(marker.clone()),
                &list,
                markers,
            )?))
        }
    }
}

/// Prepares one term; for several clustering columns (`tuple`) a tuple literal
/// gets one receiver per component, named after the columns, as Cassandra names
/// its markers.
pub(super) fn prepare(
    term: &ast::Term,
    receiver: &MarkerSpec,
    tuple: bool,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let (true, ast::Term::Tuple(items), CqlType::Tuple(types)) = (tuple, term, &receiver.ty) else {
        return Term::prepare(term, receiver, markers);
    };
    if items.len() != types.len() {
        return Err(invalid(format!(
            "Expected {} elements in value tuple, but got {}: {term:?}",
            types.len(),
            items.len()
        )));
    }
    let names: Vec<&str> = receiver
        .name
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .collect();
    let parts = items
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (item, ty))| {
            let name = names.get(i).copied().unwrap_or_default().to_owned();
            let element = MarkerSpec {
                name,
                ty: ty.clone(),
                ..receiver.clone()
            };
            Term::prepare(item, &element, markers)
        })
        .collect::<Result<_, _>>()?;
    Ok(Term::Composite {
        ty: receiver.ty.clone(),
        parts,
    })
}

impl Values {
    /// The marker binding this restriction when it is one `= ?`.
    pub(super) fn marker_index(&self) -> Option<u16> {
        match self {
            Values::One(Term::Marker { index, .. }) => u16::try_from(*index).ok(),
            _ => None,
        }
    }

    /// The values for one request, none for an empty `IN`; `column` names the
    /// receiver in errors.
    pub(super) fn bind(
        &self,
        values: &[Value],
        time: BindTime,
        column: &str,
    ) -> Result<Vec<CqlValue>, ErrorResponse> {
        match self {
            Values::One(term) => Ok(vec![bind_one(term, values, time, column)?]),
            Values::List(terms) => terms
                .iter()
                .map(|t| bind_one(t, values, time, column))
                .collect(),
            Values::Marker(term) => match bind_one(term, values, time, column)? {
                CqlValue::List(items) | CqlValue::Set(items) => Ok(items),
                other => Err(invalid(format!(
                    "Invalid IN value {other:?} for column {column}"
                ))),
            },
        }
    }
}

/// Binds a term a relation needs a value of, with Cassandra's messages.
pub(super) fn bind_one(
    term: &Term,
    values: &[Value],
    time: BindTime,
    column: &str,
) -> Result<CqlValue, ErrorResponse> {
    match term.bind(values, time)? {
        Bound::Value(v) => Ok(v),
        Bound::Null => Err(invalid(format!(
            "Invalid null value in condition for column {column}"
        ))),
        Bound::Unset => Err(invalid(format!("Invalid unset value for column {column}"))),
    }
}

/// The components of a bound tuple value, none null; a single value is a
/// one-element tuple.
pub(super) fn tuple_elements(value: CqlValue) -> Result<Vec<CqlValue>, ErrorResponse> {
    match value {
        CqlValue::Tuple(items) => items
            .into_iter()
            .map(|v| {
                v.ok_or_else(|| invalid("Invalid null value in condition for a tuple component"))
            })
            .collect(),
        other => Ok(vec![other]),
    }
}

/// Every combination of one value per position (none when a position has no
/// value), refusing products past [`MAX_IN_COMBINATIONS`].
pub(super) fn cartesian(columns: Vec<Vec<CqlValue>>) -> Result<Vec<Vec<CqlValue>>, ErrorResponse> {
    let count = columns
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()))
        .filter(|n| *n <= MAX_IN_COMBINATIONS);
    if count.is_none() {
        return Err(invalid(format!(
            "IN restrictions select more than {MAX_IN_COMBINATIONS} combinations"
        )));
    }
    let mut out: Vec<Vec<CqlValue>> = vec![Vec::new()];
    for options in columns {
        out = out
            .iter()
            .flat_map(|prefix| {
                options.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(out)
}
