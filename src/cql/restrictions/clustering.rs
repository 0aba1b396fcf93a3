//! Clustering restrictions: which rows of a partition a statement addresses.
//!
//! `=`/`IN` on a prefix of the clustering columns (one column at a time, or a
//! tuple starting at the first column), then at most one range, on the next
//! column or on a tuple starting at the first column. Relations past a gap or a
//! range cannot be slices: reads may still filter on them with ALLOW FILTERING.
//! Every relation is also returned as a filter, marked `pushed` when the plan
//! enforces it.

use cql_lite::ErrorResponse;
use cql_lite::Value;
use cql_lite::ast::Operator;
use storage::ClusteringRange;

use crate::cql::bind::{BindTime, Term};
use crate::cql::error::invalid;
use crate::schema::TableDef;

use super::filters::{Filter, FilterOp};
use super::slices::{self, Prefixes, SliceBounds};
use super::statement::Statement;
use super::terms::{Values, bind_one, cartesian, tuple_elements};

/// One single-column clustering relation.
pub(super) struct ColumnRelation {
    /// `=` (also for `IN`) or a range operator.
    pub(super) op: Operator,
    /// The right-hand side.
    pub(super) values: Values,
}

/// The clustering columns fixed to values.
#[derive(Debug, Clone, Default)]
enum Prefix {
    /// None: every row, or a range on the first column.
    #[default]
    Unrestricted,
    /// `=`/`IN` on clustering columns 0, 1, ...: one entry per column.
    Columns(Vec<Values>),
    /// A multi-column `=`/`IN` on the first `width` columns.
    Tuple { width: usize, values: Values },
}

/// One end of a clustering range: a column's or a tuple's value.
#[derive(Debug, Clone)]
struct RangeBound {
    term: Term,
    tuple: bool,
    inclusive: bool,
    /// The column or columns, for errors.
    name: String,
}

/// What storage slices are built from, prepared.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClusteringPlan {
    prefix: Prefix,
    /// A range on the column after the prefix (or on a tuple from column 0).
    lower: Option<RangeBound>,
    upper: Option<RangeBound>,
}

/// Plans the clustering relations of `statement`: single-column ones in `ck`
/// (per clustering position) or multi-column ones in `multi`, never both.
pub(super) fn plan(
    table: &TableDef,
    statement: Statement,
    ck: Vec<Vec<ColumnRelation>>,
    multi: Vec<Filter>,
) -> Result<(ClusteringPlan, Vec<Filter>), ErrorResponse> {
    let allow_filtering = statement.allow_filtering();
    let (plan, filters) = if multi.is_empty() {
        single_column(table, ck, allow_filtering)?
    } else {
        if ck.iter().any(|c| !c.is_empty()) {
            return Err(invalid(
                "Mixing single column relations and multi column relations on clustering columns is not allowed",
            ));
        }
        multi_column(table, multi, allow_filtering)?
    };
    if plan.has_range() && !statement.allows_ranges() {
        return Err(invalid(format!(
            "Slice restrictions are not supported on the clustering columns in {} statements",
            statement.name()
        )));
    }
    Ok((plan, filters))
}

/// The table column index of clustering column `position`.
fn clustering_index(table: &TableDef, position: usize) -> usize {
    table.partition_key().count() + position
}

/// Why later clustering relations can no longer be slices.
enum Stop {
    /// A column is unrestricted.
    Gap(String),
    /// A column is restricted by a range.
    Range(String),
}

impl Stop {
    fn error(&self, column: &str) -> ErrorResponse {
        match self {
            Stop::Gap(gap) => invalid(format!(
                "PRIMARY KEY column \"{column}\" cannot be restricted as preceding column \"{gap}\" is not restricted"
            )),
            Stop::Range(range) => invalid(format!(
                "Clustering column \"{column}\" cannot be restricted (preceding column \"{range}\" is restricted by a non-EQ relation)"
            )),
        }
    }
}

fn more_than_one(name: &str) -> ErrorResponse {
    invalid(format!(
        "{name} cannot be restricted by more than one relation if it includes an Equality"
    ))
}

/// Single-column relations: a plan over the longest valid prefix, and every
/// relation as a filter.
fn single_column(
    table: &TableDef,
    ck: Vec<Vec<ColumnRelation>>,
    allow_filtering: bool,
) -> Result<(ClusteringPlan, Vec<Filter>), ErrorResponse> {
    let mut plan = ClusteringPlan::default();
    let mut filters = Vec::new();
    let mut stop: Option<Stop> = None;
    for (position, relations) in ck.into_iter().enumerate() {
        let index = clustering_index(table, position);
        let name = table.columns[index].name.clone();
        if relations.is_empty() {
            stop.get_or_insert(Stop::Gap(name));
            continue;
        }
        let eqs = relations.iter().filter(|r| r.op == Operator::Eq).count();
        if eqs > 1 || (eqs == 1 && relations.len() > 1) {
            return Err(more_than_one(&name));
        }
        let pushed = stop.is_none();
        if let (Some(stop), false) = (&stop, allow_filtering) {
            return Err(stop.error(&name));
        }
        let mut ranged = false;
        for relation in relations {
            if relation.op == Operator::Eq {
                if pushed {
                    plan.fix_column(relation.values.clone());
                }
                filters.push(Filter::equal(vec![index], false, relation.values, pushed));
                continue;
            }
            let Values::One(term) = relation.values else {
                return Err(invalid("IN is an equality"));
            };
            if pushed {
                plan.add_bound(&name, relation.op, term.clone(), None)?;
                ranged = true;
            }
            let mut filter = Filter::column(index, FilterOp::Compare(relation.op, term));
            filter.pushed = pushed;
            filters.push(filter);
        }
        if ranged {
            stop = Some(Stop::Range(name));
        }
    }
    Ok((plan, filters))
}

/// Multi-column relations: pushed when they start at the first clustering
/// column and list columns in order.
fn multi_column(
    table: &TableDef,
    multi: Vec<Filter>,
    allow_filtering: bool,
) -> Result<(ClusteringPlan, Vec<Filter>), ErrorResponse> {
    let mut plan = ClusteringPlan::default();
    let mut filters = Vec::new();
    let eqs = multi.iter().filter(|f| f.is_equality()).count();
    let names = |f: &Filter| -> Vec<String> {
        f.columns
            .iter()
            .map(|&i| table.columns[i].name.clone())
            .collect()
    };
    if eqs > 1 || (eqs == 1 && multi.len() > 1) {
        let first = multi.first().map(names).unwrap_or_default();
        return Err(more_than_one(
            first.first().map(String::as_str).unwrap_or_default(),
        ));
    }
    for mut filter in multi {
        let positions: Vec<usize> = filter
            .columns
            .iter()
            .map(|&i| table.columns[i].position)
            .collect();
        let names = names(&filter);
        if positions.windows(2).any(|w| w[1] != w[0] + 1) {
            return Err(invalid(format!(
                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: ({})",
                names.join(", ")
            )));
        }
        filter.pushed = positions.first() == Some(&0);
        if !filter.pushed {
            if !allow_filtering {
                let first = table.columns[clustering_index(table, 0)].name.clone();
                let column = names.first().map(String::as_str).unwrap_or_default();
                return Err(Stop::Gap(first).error(column));
            }
            filters.push(filter);
            continue;
        }
        let name = format!("({})", names.join(","));
        match &filter.op {
            FilterOp::Compare(Operator::Eq, term) => {
                plan.fix_tuple(names.len(), Values::One(term.clone()));
            }
            FilterOp::In(values) => plan.fix_tuple(names.len(), values.clone()),
            FilterOp::Compare(op, term) => {
                let first = names.first().map(String::as_str).unwrap_or_default();
                plan.add_bound(first, *op, term.clone(), Some(name))?;
            }
            FilterOp::Contains(_) | FilterOp::ContainsKey(_) => {}
        }
        filters.push(filter);
    }
    Ok((plan, filters))
}

impl ClusteringPlan {
    /// Fixes the next clustering column to values.
    fn fix_column(&mut self, values: Values) {
        match &mut self.prefix {
            Prefix::Columns(columns) => columns.push(values),
            prefix => *prefix = Prefix::Columns(vec![values]),
        }
    }

    /// Fixes the first `width` clustering columns to tuples.
    fn fix_tuple(&mut self, width: usize, values: Values) {
        self.prefix = Prefix::Tuple { width, values };
    }

    /// Adds a range end on column `name`, or on the tuple `tuple` starting at it,
    /// refusing a second one on the same side.
    fn add_bound(
        &mut self,
        name: &str,
        op: Operator,
        term: Term,
        tuple: Option<String>,
    ) -> Result<(), ErrorResponse> {
        let (side, inclusive, which) = match op {
            Operator::Gt => (&mut self.lower, false, "start"),
            Operator::GtEq => (&mut self.lower, true, "start"),
            Operator::Lt => (&mut self.upper, false, "end"),
            Operator::LtEq => (&mut self.upper, true, "end"),
            Operator::Eq | Operator::NotEq => return Err(invalid("not a range")),
        };
        if side.is_some() {
            return Err(invalid(format!(
                "More than one restriction was found for the {which} bound on {name}"
            )));
        }
        *side = Some(RangeBound {
            term,
            tuple: tuple.is_some(),
            inclusive,
            name: tuple.unwrap_or_else(|| name.to_owned()),
        });
        Ok(())
    }

    /// How many leading clustering columns are fixed to values.
    pub(crate) fn fixed_columns(&self) -> usize {
        match &self.prefix {
            Prefix::Unrestricted => 0,
            Prefix::Columns(columns) => columns.len(),
            Prefix::Tuple { width, .. } => *width,
        }
    }

    /// Whether a range follows the fixed columns.
    pub(crate) fn has_range(&self) -> bool {
        self.lower.is_some() || self.upper.is_some()
    }

    /// Whether no clustering column is restricted.
    pub(crate) fn is_unrestricted(&self) -> bool {
        self.fixed_columns() == 0 && !self.has_range()
    }

    /// The plan with one request's values: the prefixes (none when an `IN` is
    /// empty) and the range ends.
    pub(crate) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<SliceBounds, ErrorResponse> {
        let prefixes = match &self.prefix {
            Prefix::Unrestricted => Prefixes::Any,
            Prefix::Columns(columns) => {
                let per_column = columns
                    .iter()
                    .zip(table.clustering())
                    .map(|(v, c)| v.bind(values, time, &c.name))
                    .collect::<Result<Vec<_>, _>>()?;
                Prefixes::Only(cartesian(per_column)?)
            }
            Prefix::Tuple { width, values: v } => {
                let names: Vec<&str> = table
                    .clustering()
                    .take(*width)
                    .map(|c| c.name.as_str())
                    .collect();
                let tuples = v
                    .bind(values, time, &format!("({})", names.join(",")))?
                    .into_iter()
                    .map(tuple_elements)
                    .collect::<Result<_, _>>()?;
                Prefixes::Only(tuples)
            }
        };
        let bound = |b: &Option<RangeBound>| -> Result<_, ErrorResponse> {
            let Some(b) = b else { return Ok(None) };
            let v = bind_one(&b.term, values, time, &b.name)?;
            let v = if b.tuple { tuple_elements(v)? } else { vec![v] };
            Ok(Some((v, b.inclusive)))
        };
        Ok(SliceBounds {
            prefixes,
            lower: bound(&self.lower)?,
            upper: bound(&self.upper)?,
        })
    }

    /// The storage slices of one request: sorted, disjoint, and empty when
    /// nothing can match.
    pub(crate) fn slices(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Vec<ClusteringRange>, ErrorResponse> {
        let layout = table
            .clustering_layout()
            .map_err(|e| invalid(format!("Invalid clustering layout: {e}")))?;
        slices::build(&layout, &self.bind(table, values, time)?)
    }
}
