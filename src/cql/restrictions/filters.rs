//! Relations evaluated on the rows a read returns: on regular and static
//! columns, `CONTAINS`, partial partition keys, and clustering relations that
//! cannot be slices (or that a scan must check itself).

use cql_lite::ast::Operator;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};

use crate::cql::bind::{BindTime, Term};
use crate::schema::TableDef;

use super::terms::{Values, bind_one, tuple_elements};

/// The message Cassandra gives for queries that need ALLOW FILTERING.
pub(crate) const REQUIRES_ALLOW_FILTERING: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

/// A filter's operation.
#[derive(Debug, Clone)]
pub(super) enum FilterOp {
    /// `=`, `<`, `<=`, `>`, `>=`.
    Compare(Operator, Term),
    /// `IN`.
    In(Values),
    /// `CONTAINS`.
    Contains(Term),
    /// `CONTAINS KEY`.
    ContainsKey(Term),
}

/// A relation evaluated on rows.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    /// Table column indexes (more than one for a tuple relation).
    pub(super) columns: Vec<usize>,
    /// Whether the relation is on a tuple of columns.
    pub(super) tuple: bool,
    /// What the columns must satisfy.
    pub(super) op: FilterOp,
    /// Whether partition reads already enforce it through slices.
    pub(super) pushed: bool,
}

/// A filter with its values bound.
#[derive(Debug, Clone)]
pub(crate) struct BoundFilter {
    /// Table column indexes.
    pub(crate) columns: Vec<usize>,
    /// The operation.
    pub(crate) op: BoundOp,
    /// Whether partition reads already enforce it.
    pub(crate) pushed: bool,
}

/// A bound filter operation; single-column values are one-element tuples.
#[derive(Debug, Clone)]
pub(crate) enum BoundOp {
    /// Compare the column (tuple) with a value (tuple).
    Compare(Operator, Vec<CqlValue>),
    /// Equal to one of these (none: no row matches).
    In(Vec<Vec<CqlValue>>),
    /// The collection holds this element (value, for maps).
    Contains(CqlValue),
    /// The map holds this key.
    ContainsKey(CqlValue),
}

impl Filter {
    /// A single-column filter, not enforced by slices.
    pub(super) fn column(index: usize, op: FilterOp) -> Filter {
        Filter {
            columns: vec![index],
            tuple: false,
            op,
            pushed: false,
        }
    }

    /// `=` or `IN` on `columns` as a filter.
    pub(super) fn equal(columns: Vec<usize>, tuple: bool, values: Values, pushed: bool) -> Filter {
        let op = match values {
            Values::One(term) => FilterOp::Compare(Operator::Eq, term),
            other => FilterOp::In(other),
        };
        Filter {
            columns,
            tuple,
            op,
            pushed,
        }
    }

    /// Whether the filter is an `=` or an `IN`.
    pub(super) fn is_equality(&self) -> bool {
        matches!(
            self.op,
            FilterOp::In(_) | FilterOp::Compare(Operator::Eq, _)
        )
    }

    /// The filter with one request's values.
    pub(super) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<BoundFilter, ErrorResponse> {
        let names: Vec<&str> = self
            .columns
            .iter()
            .map(|&i| table.columns[i].name.as_str())
            .collect();
        let what = names.join(", ");
        let split = |v: CqlValue| {
            if self.tuple {
                tuple_elements(v)
            } else {
                Ok(vec![v])
            }
        };
        let op = match &self.op {
            FilterOp::Compare(op, term) => {
                BoundOp::Compare(*op, split(bind_one(term, values, time, &what)?)?)
            }
            FilterOp::In(list) => BoundOp::In(
                list.bind(values, time, &what)?
                    .into_iter()
                    .map(split)
                    .collect::<Result<_, _>>()?,
            ),
            FilterOp::Contains(term) => BoundOp::Contains(bind_one(term, values, time, &what)?),
            FilterOp::ContainsKey(term) => {
                BoundOp::ContainsKey(bind_one(term, values, time, &what)?)
            }
        };
        Ok(BoundFilter {
            columns: self.columns.clone(),
            op,
            pushed: self.pushed,
        })
    }
}
