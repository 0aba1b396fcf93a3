//! Column operations: what a write does to each non-key column it names (`SET`
//! assignments, INSERT values, DELETE targets), prepared against the column's
//! type, bound per execution and applied to a storage row.

use std::cmp::Ordering;

use bytes::Bytes;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value, ast};
use storage::reconcile::compare_cells;
use storage::{ColumnCell, ColumnId, DeletionTime, Row};

use super::attrs::WriteTime;
use super::keys::codec_error;
use crate::cql::bind::{BindTime, Bound, MarkerSpec, Markers, Term};
use crate::cql::error::invalid;
use crate::rowcodec::{self, ListIds, ListPosition};
use crate::schema::{ColumnDef, ColumnKind, TableDef};

/// One prepared operation on one column.
#[derive(Debug, Clone)]
pub(super) struct Op {
    column: ColumnDef,
    kind: OpKind,
}

#[derive(Debug, Clone)]
enum OpKind {
    /// `c = v` (or an INSERT value): replaces the whole value.
    Set(Term),
    /// `m[k] = v`.
    SetKey { key: Term, value: Term },
    /// `l[i] = v`: needs the current list.
    SetIndex { index: Term, value: Term },
    /// `c = c + v`: list append, set or map additions.
    Add(Term),
    /// `l = v + l`.
    Prepend(Term),
    /// `c = c - v`: set elements, map keys, or (reading the list) list values.
    Remove(Term),
    /// `DELETE c`.
    Delete,
    /// `DELETE m[k]` or `DELETE s[e]`.
    DeleteElement(Term),
    /// `DELETE l[i]`: needs the current list.
    DeleteIndex(Term),
}

/// An operation bound to one execution's values.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BoundOp<'a> {
    /// The column written.
    pub column: &'a ColumnDef,
    action: Action,
}

#[derive(Debug, Clone, PartialEq)]
enum Action {
    Write(Option<CqlValue>),
    Put(CqlValue, Option<CqlValue>),
    SetIndex(i32, Option<CqlValue>),
    Add(CqlValue),
    Prepend(CqlValue),
    Remove(CqlValue),
    Delete,
    DeleteElement(CqlValue),
    DeleteIndex(i32),
}

/// The live elements of a list column as read before the write: `(path, value)`
/// in list order.
pub(super) type ListCells = [(Bytes, Bytes)];

fn spec(table: &TableDef, name: String, ty: CqlType) -> MarkerSpec {
    MarkerSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name,
        ty,
    }
}

/// The column a SET or DELETE names, refusing key and counter columns.
fn value_column<'t>(
    table: &'t TableDef,
    name: &str,
    key_error: impl FnOnce() -> String,
) -> Result<&'t ColumnDef, ErrorResponse> {
    let column = table
        .column(name)
        .ok_or_else(|| invalid(format!("Undefined column name {name}")))?;
    if matches!(
        column.kind,
        ColumnKind::PartitionKey | ColumnKind::Clustering
    ) {
        return Err(invalid(key_error()));
    }
    if column.ty == CqlType::Counter {
        return Err(invalid(format!(
            "counters not supported: column {name} is a counter"
        )));
    }
    Ok(column)
}

/// What kind of multi-cell collection a column is, if it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    List,
    Set,
    Map,
}

fn collection(ty: &CqlType) -> Option<Collection> {
    match ty {
        CqlType::List { frozen: false, .. } => Some(Collection::List),
        CqlType::Set { frozen: false, .. } => Some(Collection::Set),
        CqlType::Map { frozen: false, .. } => Some(Collection::Map),
        _ => None,
    }
}

/// The multi-cell collection kind of `column`, or the error for `operation` on it.
fn require_collection(column: &ColumnDef, operation: &str) -> Result<Collection, ErrorResponse> {
    if let Some(kind) = collection(&column.ty) {
        return Ok(kind);
    }
    let what = if column.ty.is_collection() {
        "frozen collection"
    } else {
        "non collection"
    };
    Err(invalid(format!(
        "Invalid operation ({operation}) for {what} column {}",
        column.name
    )))
}

impl Op {
    /// The column the operation writes.
    pub(super) fn column(&self) -> &ColumnDef {
        &self.column
    }

    /// Whether it writes the static row.
    pub(super) fn is_static(&self) -> bool {
        self.column.kind == ColumnKind::Static
    }

    /// Whether it replaces the whole column (so no other operation may touch it).
    pub(super) fn is_whole_column(&self) -> bool {
        matches!(self.kind, OpKind::Set(_) | OpKind::Delete)
    }

    /// An INSERT value for `column` (a value column).
    pub(super) fn insert(
        table: &TableDef,
        column: &ColumnDef,
        term: &ast::Term,
        markers: &mut Markers,
    ) -> Result<Op, ErrorResponse> {
        if column.ty == CqlType::Counter {
            return Err(invalid(format!(
                "counters not supported: column {} is a counter",
                column.name
            )));
        }
        let receiver = spec(table, column.name.clone(), column.ty.clone());
        Ok(Op {
            column: column.clone(),
            kind: OpKind::Set(Term::prepare(term, &receiver, markers)?),
        })
    }

    /// A `SET` assignment of an UPDATE.
    pub(super) fn assignment(
        table: &TableDef,
        assignment: &ast::Assignment,
        markers: &mut Markers,
    ) -> Result<Op, ErrorResponse> {
        use ast::Assignment as A;
        let name = match assignment {
            A::Set { column, .. }
            | A::SetElement { column, .. }
            | A::SetField { column, .. }
            | A::Add { column, .. }
            | A::Prepend { column, .. }
            | A::Subtract { column, .. } => column,
        };
        let column = value_column(table, name, || {
            format!("PRIMARY KEY part {name} found in SET part")
        })?;
        let whole = |markers: &mut Markers, term: &ast::Term, ty: &CqlType| {
            Term::prepare(term, &spec(table, column.name.clone(), ty.clone()), markers)
        };
        let kind = match assignment {
            A::Set { value, .. } => OpKind::Set(whole(markers, value, &column.ty)?),
            A::SetElement { key, value, .. } => set_element(table, column, key, value, markers)?,
            A::SetField { .. } => return Err(invalid("user-defined types are not supported")),
            A::Add { value, .. } => {
                let text = format!("{name} = {name} + ...");
                if !column.ty.is_collection() {
                    return Err(invalid(format!(
                        "Invalid operation ({text}) for non counter column {name}"
                    )));
                }
                require_collection(column, &text)?;
                OpKind::Add(whole(markers, value, &column.ty)?)
            }
            A::Prepend { value, .. } => {
                let text = format!("{name} = ... + {name}");
                if !matches!(column.ty, CqlType::List { .. }) {
                    return Err(invalid(format!(
                        "Invalid operation ({text}) for non list column {name}"
                    )));
                }
                require_collection(column, &text)?;
                OpKind::Prepend(whole(markers, value, &column.ty)?)
            }
            A::Subtract { value, .. } => {
                let text = format!("{name} = {name} - ...");
                if !column.ty.is_collection() {
                    return Err(invalid(format!(
                        "Invalid operation ({text}) for non counter column {name}"
                    )));
                }
                // `m = m - {k1, k2}` removes keys: the value is a set of keys.
                let ty = match (&column.ty, require_collection(column, &text)?) {
                    (CqlType::Map { key, .. }, _) => CqlType::set((**key).clone(), false),
                    (ty, _) => ty.clone(),
                };
                OpKind::Remove(whole(markers, value, &ty)?)
            }
        };
        Ok(Op {
            column: column.clone(),
            kind,
        })
    }

    /// A DELETE target.
    pub(super) fn deletion(
        table: &TableDef,
        target: &ast::DeleteTarget,
        markers: &mut Markers,
    ) -> Result<Op, ErrorResponse> {
        let name = match target {
            ast::DeleteTarget::Column(c)
            | ast::DeleteTarget::Element { column: c, .. }
            | ast::DeleteTarget::Field { column: c, .. } => c,
        };
        let column = value_column(table, name, || {
            format!("Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)")
        })?;
        let kind = match target {
            ast::DeleteTarget::Column(_) => OpKind::Delete,
            ast::DeleteTarget::Field { .. } => {
                return Err(invalid("user-defined types are not supported"));
            }
            ast::DeleteTarget::Element { key, .. } => {
                element_deletion(table, column, key, markers)?
            }
        };
        Ok(Op {
            column: column.clone(),
            kind,
        })
    }

    /// Binds the operation; `None` when an unset value makes it a no-op.
    pub(super) fn bind(
        &self,
        values: &[Value],
        time: BindTime,
    ) -> Result<Option<BoundOp<'_>>, ErrorResponse> {
        let action = match &self.kind {
            OpKind::Set(t) => match t.bind(values, time)? {
                Bound::Unset => None,
                Bound::Null => Some(Action::Write(None)),
                Bound::Value(v) => Some(Action::Write(Some(v))),
            },
            OpKind::SetKey { key, value } => {
                let key = element_key(key, &self.column, values, time)?;
                optional(value.bind(values, time)?).map(|v| Action::Put(key, v))
            }
            OpKind::SetIndex { index, value } => {
                let index = list_index(index, values, time)?;
                optional(value.bind(values, time)?).map(|v| Action::SetIndex(index, v))
            }
            OpKind::Add(t) => present(t.bind(values, time)?).map(Action::Add),
            OpKind::Prepend(t) => present(t.bind(values, time)?).map(Action::Prepend),
            OpKind::Remove(t) => present(t.bind(values, time)?).map(Action::Remove),
            OpKind::Delete => Some(Action::Delete),
            OpKind::DeleteElement(t) => Some(Action::DeleteElement(element_key(
                t,
                &self.column,
                values,
                time,
            )?)),
            OpKind::DeleteIndex(t) => Some(Action::DeleteIndex(list_index(t, values, time)?)),
        };
        Ok(action.map(|action| BoundOp {
            column: &self.column,
            action,
        }))
    }
}

fn set_element(
    table: &TableDef,
    column: &ColumnDef,
    key: &ast::Term,
    value: &ast::Term,
    markers: &mut Markers,
) -> Result<OpKind, ErrorResponse> {
    let name = &column.name;
    let text = format!("{name}[...] = ...");
    let kind = require_collection(column, &text)?;
    let (key_spec, value_spec) = match (&column.ty, kind) {
        (CqlType::List { element, .. }, _) => (
            spec(table, format!("idx({name})"), CqlType::Int),
            spec(table, format!("value({name})"), (**element).clone()),
        ),
        (CqlType::Map { key, value, .. }, _) => (
            spec(table, format!("key({name})"), (**key).clone()),
            spec(table, format!("value({name})"), (**value).clone()),
        ),
        _ => {
            return Err(invalid(format!(
                "Invalid operation ({text}) for set column {name}"
            )));
        }
    };
    let key = Term::prepare(key, &key_spec, markers)?;
    let value = Term::prepare(value, &value_spec, markers)?;
    Ok(if kind == Collection::List {
        OpKind::SetIndex { index: key, value }
    } else {
        OpKind::SetKey { key, value }
    })
}

fn element_deletion(
    table: &TableDef,
    column: &ColumnDef,
    key: &ast::Term,
    markers: &mut Markers,
) -> Result<OpKind, ErrorResponse> {
    let name = &column.name;
    let kind = collection(&column.ty).ok_or_else(|| {
        let what = if column.ty.is_collection() {
            "frozen collection"
        } else {
            "non collection"
        };
        invalid(format!(
            "Invalid deletion operation for {what} column {name}"
        ))
    })?;
    let receiver = match &column.ty {
        CqlType::List { .. } => spec(table, format!("idx({name})"), CqlType::Int),
        CqlType::Set { element, .. } => spec(table, format!("value({name})"), (**element).clone()),
        CqlType::Map { key, .. } => spec(table, format!("key({name})"), (**key).clone()),
        _ => {
            return Err(invalid(format!(
                "Invalid deletion operation for column {name}"
            )));
        }
    };
    let term = Term::prepare(key, &receiver, markers)?;
    Ok(if kind == Collection::List {
        OpKind::DeleteIndex(term)
    } else {
        OpKind::DeleteElement(term)
    })
}

/// A map key or set element, which must have a value.
fn element_key(
    term: &Term,
    column: &ColumnDef,
    values: &[Value],
    time: BindTime,
) -> Result<CqlValue, ErrorResponse> {
    let what = if matches!(column.ty, CqlType::Set { .. }) {
        "set element"
    } else {
        "map key"
    };
    match term.bind(values, time)? {
        Bound::Value(v) => Ok(v),
        Bound::Null => Err(invalid(format!("Invalid null {what}"))),
        Bound::Unset => Err(invalid(format!("Invalid unset {what}"))),
    }
}

fn list_index(term: &Term, values: &[Value], time: BindTime) -> Result<i32, ErrorResponse> {
    match term.bind_value(values, time, "list index")? {
        CqlValue::Int(i) => Ok(i),
        other => Err(invalid(format!("Invalid list index {other:?}"))),
    }
}

/// A written value: unset means "leave alone" (`None`), null means delete.
fn optional(bound: Bound) -> Option<Option<CqlValue>> {
    match bound {
        Bound::Unset => None,
        Bound::Null => Some(None),
        Bound::Value(v) => Some(Some(v)),
    }
}

/// An operand that only matters when present: adding or removing null or unset
/// elements does nothing, as in Cassandra.
fn present(bound: Bound) -> Option<CqlValue> {
    match bound {
        Bound::Value(v) => Some(v),
        Bound::Null | Bound::Unset => None,
    }
}

impl BoundOp<'_> {
    /// Whether applying it needs the current list.
    pub(super) fn needs_read(&self) -> bool {
        match &self.action {
            Action::SetIndex(..) | Action::DeleteIndex(_) => true,
            Action::Remove(_) => collection(&self.column.ty) == Some(Collection::List),
            _ => false,
        }
    }

    /// Writes the operation into `row`. `list` holds the column's current
    /// elements when [`BoundOp::needs_read`].
    pub(super) fn apply(
        &self,
        row: &mut Row,
        time: &WriteTime,
        list: &ListCells,
    ) -> Result<(), ErrorResponse> {
        let column = self.column;
        let id = column.id;
        match &self.action {
            Action::Write(value) if collection(&column.ty).is_some() => {
                add_column_deletion(row, id, time.overwrite_deletion());
                if let Some(v) = value {
                    add_elements(row, column, v, time, ListPosition::Append)?;
                }
            }
            Action::Write(Some(v)) => {
                let bytes = rowcodec::encode_value(&column.ty, v).map_err(codec_error)?;
                put(row, id, None, time.cell(bytes));
            }
            Action::Write(None) => put(row, id, None, time.tombstone()),
            Action::Add(v) => add_elements(row, column, v, time, ListPosition::Append)?,
            Action::Prepend(v) => add_elements(row, column, v, time, ListPosition::Prepend)?,
            Action::Remove(v) => remove(row, column, v, time, list)?,
            Action::Put(key, value) => {
                let (key_ty, value_ty) = map_types(&column.ty)?;
                let path = rowcodec::element_path(key_ty, key).map_err(codec_error)?;
                let cell = match value {
                    Some(v) => time.cell(rowcodec::encode_value(value_ty, v).map_err(codec_error)?),
                    None => time.tombstone(),
                };
                put(row, id, Some(path), cell);
            }
            Action::SetIndex(index, value) => {
                let path = list_element(list, *index, "set an element on")?;
                let cell = match value {
                    Some(v) => time.cell(
                        rowcodec::encode_value(element_type(&column.ty)?, v)
                            .map_err(codec_error)?,
                    ),
                    None => time.tombstone(),
                };
                put(row, id, Some(path), cell);
            }
            Action::Delete if collection(&column.ty).is_some() => {
                add_column_deletion(row, id, time.deletion());
            }
            Action::Delete => put(row, id, None, time.tombstone()),
            Action::DeleteElement(e) => {
                let path =
                    rowcodec::element_path(element_type(&column.ty)?, e).map_err(codec_error)?;
                put(row, id, Some(path), time.tombstone());
            }
            Action::DeleteIndex(index) => {
                let path = list_element(list, *index, "delete an element from")?;
                put(row, id, Some(path), time.tombstone());
            }
        }
        Ok(())
    }
}

/// Adds a cell to `row`. Several operations of one statement may write the
/// same cell (`SET m[2] = 9, m[2] = 6`, `SET s = s - {3}, s = s + {3}`): they
/// share the statement's timestamp, so storage's reconciliation decides, as it
/// would had they been written apart (a tombstone beats a live cell, then the
/// greater value wins), not the order of the operations.
fn put(row: &mut Row, column: ColumnId, path: Option<Bytes>, cell: storage::Cell) {
    let probe = (column, path.as_deref());
    match row
        .cells
        .binary_search_by(|c| (c.column, c.path.as_deref()).cmp(&probe))
    {
        Ok(i) => {
            let existing = &mut row.cells[i].cell;
            if compare_cells(existing, &cell) == Ordering::Less {
                *existing = cell;
            }
        }
        Err(i) => row.cells.insert(i, ColumnCell { column, path, cell }),
    }
}

/// Records a whole-collection deletion, keeping the stronger of two.
fn add_column_deletion(row: &mut Row, column: ColumnId, deletion: DeletionTime) {
    match row
        .column_deletions
        .binary_search_by(|(c, _)| c.cmp(&column))
    {
        Ok(i) => {
            let existing = &mut row.column_deletions[i].1;
            *existing = storage::reconcile::merge_deletion(*existing, deletion);
        }
        Err(i) => row.column_deletions.insert(i, (column, deletion)),
    }
}

/// The type of a set's or list's elements, or of a map's keys (what a path encodes).
fn element_type(ty: &CqlType) -> Result<&CqlType, ErrorResponse> {
    match ty {
        CqlType::List { element, .. } | CqlType::Set { element, .. } => Ok(element),
        CqlType::Map { key, .. } => Ok(key),
        other => Err(invalid(format!("{other} is not a collection"))),
    }
}

fn map_types(ty: &CqlType) -> Result<(&CqlType, &CqlType), ErrorResponse> {
    match ty {
        CqlType::Map { key, value, .. } => Ok((key, value)),
        other => Err(invalid(format!("{other} is not a map"))),
    }
}

/// Adds the elements of `value` (a list, set or map of the column's type).
fn add_elements(
    row: &mut Row,
    column: &ColumnDef,
    value: &CqlValue,
    time: &WriteTime,
    position: ListPosition,
) -> Result<(), ErrorResponse> {
    let id = column.id;
    match (&column.ty, value) {
        (CqlType::List { element, .. }, CqlValue::List(items)) => {
            let paths = ListIds::process().paths(position, time.wall_micros, items.len());
            for (item, path) in items.iter().zip(paths) {
                let bytes = rowcodec::encode_value(element, item).map_err(codec_error)?;
                put(row, id, Some(path), time.cell(bytes));
            }
        }
        (CqlType::Set { element, .. }, CqlValue::Set(items)) => {
            for item in items {
                let path = rowcodec::element_path(element, item).map_err(codec_error)?;
                put(row, id, Some(path), time.cell(Bytes::new()));
            }
        }
        (CqlType::Map { key, value, .. }, CqlValue::Map(entries)) => {
            for (k, v) in entries {
                let path = rowcodec::element_path(key, k).map_err(codec_error)?;
                let bytes = rowcodec::encode_value(value, v).map_err(codec_error)?;
                put(row, id, Some(path), time.cell(bytes));
            }
        }
        (ty, v) => {
            return Err(invalid(format!(
                "Invalid value {v:?} for column {} of type {ty}",
                column.name
            )));
        }
    }
    Ok(())
}

/// `c = c - v`: tombstones for the removed set elements, map keys or list values.
fn remove(
    row: &mut Row,
    column: &ColumnDef,
    value: &CqlValue,
    time: &WriteTime,
    list: &ListCells,
) -> Result<(), ErrorResponse> {
    let id = column.id;
    match (&column.ty, value) {
        (CqlType::List { element, .. }, CqlValue::List(items)) => {
            let removed = items
                .iter()
                .map(|i| rowcodec::encode_value(element, i).map_err(codec_error))
                .collect::<Result<Vec<_>, _>>()?;
            for (path, bytes) in list {
                if removed.contains(bytes) {
                    put(row, id, Some(path.clone()), time.tombstone());
                }
            }
        }
        (CqlType::Set { element: ty, .. } | CqlType::Map { key: ty, .. }, CqlValue::Set(items)) => {
            for item in items {
                let path = rowcodec::element_path(ty, item).map_err(codec_error)?;
                put(row, id, Some(path), time.tombstone());
            }
        }
        (ty, v) => {
            return Err(invalid(format!(
                "Invalid value {v:?} to remove from column {} of type {ty}",
                column.name
            )));
        }
    }
    Ok(())
}

/// The path of element `index` of the current list.
fn list_element(list: &ListCells, index: i32, verb: &str) -> Result<Bytes, ErrorResponse> {
    if list.is_empty() {
        return Err(invalid(format!("Attempted to {verb} a list which is null")));
    }
    usize::try_from(index)
        .ok()
        .and_then(|i| list.get(i))
        .map(|(path, _)| path.clone())
        .ok_or_else(|| {
            invalid(format!(
                "List index {index} out of bound, list has size {}",
                list.len()
            ))
        })
}
