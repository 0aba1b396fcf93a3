//! Binding: terms of a statement resolved against the types of what they set or
//! compare with ("receivers"), and the values a client sends for bind markers.
//!
//! Preparing walks a statement **in text order** and turns each [`ast::Term`] into a
//! [`Term`]: literals are converted once, markers get their index and the spec
//! drivers see in the Prepared result. Executing binds each `Term` to the values of
//! one request.

use cql_lite::ast::{self, BindMarker};
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use cql_lite::{ColumnSpec, ErrorResponse, Value};

use crate::cql::error::invalid;

/// What a bind marker stands for: drivers use the name (named markers) and the type
/// (to serialize the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarkerSpec {
    /// The keyspace of the statement's table.
    pub keyspace: String,
    /// The statement's table.
    pub table: String,
    /// The receiver's name (`k`, `[limit]`, `in(k)`), or the marker's own name for `:name`.
    pub name: String,
    /// The type the value must have.
    pub ty: CqlType,
}

impl MarkerSpec {
    /// The spec as the protocol's Prepared result carries it.
    pub(crate) fn column_spec(&self) -> ColumnSpec {
        ColumnSpec {
            keyspace: self.keyspace.clone(),
            table: self.table.clone(),
            name: self.name.clone(),
            column_type: self.ty.to_column_type(),
        }
    }
}

/// The markers of a statement being prepared, in text order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Markers {
    specs: Vec<MarkerSpec>,
}

impl Markers {
    /// Records a marker for a receiver; returns its index.
    pub(crate) fn add(&mut self, marker: &BindMarker, receiver: MarkerSpec) -> usize {
        let mut spec = receiver;
        if let BindMarker::Named(name) = marker {
            spec.name.clone_from(name);
        }
        self.specs.push(spec);
        self.specs.len() - 1
    }

    /// The specs, in marker order.
    pub(crate) fn specs(&self) -> &[MarkerSpec] {
        &self.specs
    }

    /// Whether there are none.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}

/// A value bound for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bound {
    /// `NULL` (or a null marker value): deletes when written.
    Null,
    /// An unset marker value: leaves the receiver untouched.
    Unset,
    /// A value.
    Value(CqlValue),
}

/// A prepared term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    /// A constant; `None` is `NULL`.
    Const(Option<CqlValue>),
    /// The value of marker `index`, typed `ty`.
    Marker {
        /// Its position in the request's values.
        index: usize,
        /// The type it is read as.
        ty: CqlType,
    },
    /// A collection or tuple literal with markers inside (`[?, 1]`), rebuilt per request.
    Composite {
        /// The collection or tuple type.
        ty: CqlType,
        /// The elements (for maps, keys and values alternate).
        parts: Vec<Term>,
    },
    /// A function evaluated at execution (`now()`, `uuid()`, `toTimestamp(now())`...).
    Function(TimeFunction),
}

/// Functions whose value depends on when (or where) they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFunction {
    /// `now()` / `currentTimeUUID()`: a new timeuuid.
    Now,
    /// `uuid()`: a random (version 4) uuid.
    RandomUuid,
    /// `currentTimestamp()` / `toTimestamp(now())`.
    CurrentTimestamp,
    /// `currentDate()` / `toDate(now())`.
    CurrentDate,
    /// `currentTime()`.
    CurrentTime,
    /// `toUnixTimestamp(now())`: a bigint of milliseconds.
    UnixTimestamp,
}

/// What binding needs from the request besides the values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BindTime {
    /// Microseconds since the epoch when the statement runs.
    pub now_micros: i64,
}

impl Term {
    /// Resolves `term` for a receiver of type `ty` named `receiver.name`.
    pub(crate) fn prepare(
        term: &ast::Term,
        receiver: &MarkerSpec,
        markers: &mut Markers,
    ) -> Result<Term, ErrorResponse> {
        let ty = &receiver.ty;
        match term {
            ast::Term::Literal(ast::Literal::Null) => Ok(Term::Const(None)),
            ast::Term::Literal(lit) => literal(ty, lit, &receiver.name)
                .map(|v| Term::Const(Some(v)))
                .map_err(invalid),
            ast::Term::BindMarker(m) => Ok(Term::Marker {
                index: markers.add(m, receiver.clone()),
                ty: ty.clone(),
            }),
            ast::Term::TypeHint { term, .. } => Term::prepare(term, receiver, markers),
            ast::Term::FunctionCall { name, args } => function(name, args, receiver),
            ast::Term::List(items) | ast::Term::Set(items) => {
                collection(term, items, receiver, markers)
            }
            ast::Term::Map(entries) => map(entries, receiver, markers),
            ast::Term::Tuple(items) => tuple(items, receiver, markers),
            ast::Term::Udt(_) => Err(invalid("user-defined types are not supported")),
        }
        .and_then(Term::fold)
    }

    /// Binds the term to one request's values.
    ///
    /// Every value a statement writes or compares with comes out of here, so
    /// this is where it takes Cassandra's canonical form: sets and map keys
    /// sorted and de-duplicated at every nesting level, whatever order the
    /// client's bytes or the literal had. Constants are canonical already: a
    /// collection literal is folded through here when prepared.
    pub(crate) fn bind(&self, values: &[Value], time: BindTime) -> Result<Bound, ErrorResponse> {
        let bound = self.bind_as_sent(values, time)?;
        let (ty, context) = match self {
            Term::Marker { ty, .. } => (ty, "Exception while binding column: "),
            Term::Composite { ty, .. } => (ty, ""),
            Term::Const(_) | Term::Function(_) => return Ok(bound),
        };
        match bound {
            Bound::Value(v) => value::canonical(ty, v)
                .map(Bound::Value)
                .map_err(|e| invalid(format!("{context}{e}"))),
            other => Ok(other),
        }
    }

    /// The bound value in the order the client or the literal gave it.
    fn bind_as_sent(&self, values: &[Value], time: BindTime) -> Result<Bound, ErrorResponse> {
        match self {
            Term::Const(None) => Ok(Bound::Null),
            Term::Const(Some(v)) => Ok(Bound::Value(v.clone())),
            Term::Marker { index, ty } => match values.get(*index) {
                None => Err(invalid(format!(
                    "There were {} markers(?) in CQL but {} bound variables",
                    index + 1,
                    values.len()
                ))),
                Some(Value::Null) => Ok(Bound::Null),
                Some(Value::Unset) => Ok(Bound::Unset),
                Some(Value::Set(bytes)) => value::deserialize(ty, bytes)
                    .map(Bound::Value)
                    .map_err(|e| invalid(format!("Exception while binding column: {e}"))),
            },
            Term::Composite { ty, parts } => bind_composite(ty, parts, values, time),
            Term::Function(f) => Ok(Bound::Value(f.evaluate(time))),
        }
    }

    /// Binds a term that must have a value (keys, LIMIT, TTL...).
    pub(crate) fn bind_value(
        &self,
        values: &[Value],
        time: BindTime,
        what: &str,
    ) -> Result<CqlValue, ErrorResponse> {
        match self.bind(values, time)? {
            Bound::Value(v) => Ok(v),
            Bound::Null => Err(invalid(format!("Invalid null value for {what}"))),
            Bound::Unset => Err(invalid(format!("Invalid unset value for {what}"))),
        }
    }

    /// A composite without markers or functions becomes a constant.
    fn fold(self) -> Result<Term, ErrorResponse> {
        let Term::Composite { parts, .. } = &self else {
            return Ok(self);
        };
        if !parts.iter().all(|p| matches!(p, Term::Const(_))) {
            return Ok(self);
        }
        let no_values = BindTime { now_micros: 0 };
        match self.bind(&[], no_values)? {
            Bound::Value(v) => Ok(Term::Const(Some(v))),
            Bound::Null | Bound::Unset => Ok(Term::Const(None)),
        }
    }
}

fn element_spec(receiver: &MarkerSpec, ty: &CqlType, what: &str) -> MarkerSpec {
    MarkerSpec {
        keyspace: receiver.keyspace.clone(),
        table: receiver.table.clone(),
        name: format!("{what}({})", receiver.name),
        ty: ty.clone(),
    }
}

fn collection(
    term: &ast::Term,
    items: &[ast::Term],
    receiver: &MarkerSpec,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let element = match (&receiver.ty, term) {
        (CqlType::List { element, .. }, ast::Term::List(_)) => element,
        (CqlType::Set { element, .. }, ast::Term::Set(_)) => element,
        // `{}` parses as an empty set; it is also an empty map.
        (CqlType::Map { .. }, ast::Term::Set(v)) if v.is_empty() => {
            return Ok(Term::Const(Some(CqlValue::Map(Vec::new()))));
        }
        (ty, _) => {
            let kind = if matches!(term, ast::Term::List(_)) {
                "list"
            } else {
                "set"
            };
            return Err(invalid(format!(
                "Invalid {kind} literal for {} of type {ty}",
                receiver.name
            )));
        }
    };
    let spec = element_spec(receiver, element, "value");
    let parts = items
        .iter()
        .map(|t| Term::prepare(t, &spec, markers))
        .collect::<Result<_, _>>()?;
    Ok(Term::Composite {
        ty: receiver.ty.clone(),
        parts,
    })
}

fn map(
    entries: &[(ast::Term, ast::Term)],
    receiver: &MarkerSpec,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let CqlType::Map { key, value, .. } = &receiver.ty else {
        return Err(invalid(format!(
            "Invalid map literal for {} of type {}",
            receiver.name, receiver.ty
        )));
    };
    let (key_spec, value_spec) = (
        element_spec(receiver, key, "key"),
        element_spec(receiver, value, "value"),
    );
    let mut parts = Vec::with_capacity(entries.len() * 2);
    for (k, v) in entries {
        parts.push(Term::prepare(k, &key_spec, markers)?);
        parts.push(Term::prepare(v, &value_spec, markers)?);
    }
    Ok(Term::Composite {
        ty: receiver.ty.clone(),
        parts,
    })
}

fn tuple(
    items: &[ast::Term],
    receiver: &MarkerSpec,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let CqlType::Tuple(types) = &receiver.ty else {
        return Err(invalid(format!(
            "Invalid tuple type literal for {} of type {}",
            receiver.name, receiver.ty
        )));
    };
    if items.len() > types.len() {
        return Err(invalid(format!(
            "Invalid tuple literal for {}: too many elements. Type {} expects {} but got {}",
            receiver.name,
            receiver.ty,
            types.len(),
            items.len()
        )));
    }
    let parts = items
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (t, ty))| {
            Term::prepare(
                t,
                &element_spec(receiver, ty, &format!("component{i}")),
                markers,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(Term::Composite {
        ty: receiver.ty.clone(),
        parts,
    })
}

fn bind_composite(
    ty: &CqlType,
    parts: &[Term],
    values: &[Value],
    time: BindTime,
) -> Result<Bound, ErrorResponse> {
    let mut bound = Vec::with_capacity(parts.len());
    for p in parts {
        // The whole value is made canonical once it is built, parts included.
        bound.push(match p.bind_as_sent(values, time)? {
            Bound::Value(v) => Some(v),
            Bound::Null if matches!(ty, CqlType::Tuple(_)) => None,
            Bound::Null | Bound::Unset => {
                return Err(invalid("null is not supported inside collections"));
            } // Unset inside a tuple reads as null, as in Cassandra.
        });
    }
    let value = match ty {
        CqlType::List { .. } => CqlValue::List(bound.into_iter().flatten().collect()),
        CqlType::Set { .. } => CqlValue::Set(bound.into_iter().flatten().collect()),
        CqlType::Map { .. } => {
            let mut flat = bound.into_iter().flatten();
            let mut entries = Vec::new();
            while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                entries.push((k, v));
            }
            CqlValue::Map(entries)
        }
        _ => CqlValue::Tuple(bound),
    };
    Ok(Bound::Value(value))
}

fn function(
    name: &ast::QualifiedName,
    args: &[ast::Term],
    receiver: &MarkerSpec,
) -> Result<Term, ErrorResponse> {
    let is_now = |t: &ast::Term| matches!(t, ast::Term::FunctionCall { name, args } if name.name == "now" && args.is_empty());
    let f = match (name.name.as_str(), args) {
        ("now" | "currenttimeuuid", []) => TimeFunction::Now,
        ("uuid", []) => TimeFunction::RandomUuid,
        ("currenttimestamp", []) => TimeFunction::CurrentTimestamp,
        ("totimestamp", [a]) if is_now(a) => TimeFunction::CurrentTimestamp,
        ("currentdate", []) => TimeFunction::CurrentDate,
        ("todate", [a]) if is_now(a) => TimeFunction::CurrentDate,
        ("currenttime", []) => TimeFunction::CurrentTime,
        ("tounixtimestamp", [a]) if is_now(a) => TimeFunction::UnixTimestamp,
        (other, _) => return Err(invalid(format!("Unknown function {other} called"))),
    };
    if f.result_type() != receiver.ty && !(f == TimeFunction::Now && receiver.ty == CqlType::Uuid) {
        return Err(invalid(format!(
            "Type error: cannot assign result of function {} (type {}) to {} (type {})",
            name.name,
            f.result_type(),
            receiver.name,
            receiver.ty
        )));
    }
    Ok(Term::Function(f))
}

impl TimeFunction {
    fn result_type(self) -> CqlType {
        match self {
            TimeFunction::Now => CqlType::Timeuuid,
            TimeFunction::RandomUuid => CqlType::Uuid,
            TimeFunction::CurrentTimestamp => CqlType::Timestamp,
            TimeFunction::CurrentDate => CqlType::Date,
            TimeFunction::CurrentTime => CqlType::Time,
            TimeFunction::UnixTimestamp => CqlType::Bigint,
        }
    }

    fn evaluate(self, time: BindTime) -> CqlValue {
        let millis = time.now_micros.div_euclid(1000);
        match self {
            TimeFunction::Now => CqlValue::Timeuuid(crate::uuids::timeuuid(time.now_micros)),
            TimeFunction::RandomUuid => CqlValue::Uuid(crate::uuids::random_uuid()),
            TimeFunction::CurrentTimestamp => CqlValue::Timestamp(millis),
            TimeFunction::CurrentDate => {
                let days = millis.div_euclid(86_400_000);
                CqlValue::Date((i64::from(value::DATE_EPOCH) + days) as u32)
            }
            TimeFunction::CurrentTime => {
                CqlValue::Time(time.now_micros.rem_euclid(86_400_000_000) * 1000)
            }
            TimeFunction::UnixTimestamp => CqlValue::Bigint(millis),
        }
    }
}

/// A literal as a value of `ty`, with Cassandra's message naming the receiver.
fn literal(ty: &CqlType, lit: &ast::Literal, receiver: &str) -> Result<CqlValue, String> {
    cql_lite::literal::from_literal(ty, lit).map_err(|e| e.for_receiver(receiver))
}

#[cfg(test)]
mod tests;
