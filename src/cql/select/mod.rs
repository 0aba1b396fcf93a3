//! SELECT: restrictions, reads, selectors, aggregates and paging.
//!
//! Preparing a SELECT ([`SelectPlan::prepare`]) resolves it against the schema once:
//! the WHERE clause becomes a partition restriction (keys, a token range or a full
//! scan), clustering slices and post-read filters ([`restrictions`]); the select list
//! becomes selectors ([`selectors`]). Executing binds one request's values, reads
//! through the coordinator ([`read`]) or the virtual tables ([`virtual_rows`]), and
//! pushes each CQL row through one [`pipeline::Pipeline`] that filters, counts limits,
//! aggregates and stops at the page size. Where a page stops is written into an
//! opaque paging state ([`paging`]) from which the next request resumes.

mod aggregates;
mod filter;
mod paging;
mod pipeline;
mod read;
mod rows;
mod selectors;
mod virtual_rows;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use cql_lite::ast;
use cql_lite::types::CqlType;
use cql_lite::{ColumnSpec, Columns, ErrorResponse, QueryResult, Rows, RowsMetadata, Value};

use crate::cql::bind::{MarkerSpec, Markers, Term};
use crate::cql::error::{invalid, unconfigured_table};
use crate::cql::restrictions::{self, Restrictions, Statement};
use crate::cql::{ExecContext, Outcome, Paging, resolve_keyspace};
use crate::schema::{ColumnKind, Schema, TableDef};

use selectors::Selection;

/// A prepared SELECT: what to read, how to filter it and what to return.
#[derive(Debug)]
pub(crate) struct SelectPlan {
    table: Arc<TableDef>,
    selection: Selection,
    restrictions: Restrictions,
    /// Read each partition in reverse clustering order (`ORDER BY` against the
    /// declared order).
    reversed: bool,
    /// Whether the statement has an ORDER BY.
    ordered: bool,
    per_partition_limit: Option<Term>,
    limit: Option<Term>,
}

impl SelectPlan {
    /// Resolves `select` against `schema`; markers are registered in text order
    /// (selection, WHERE, PER PARTITION LIMIT, LIMIT).
    pub(crate) fn prepare(
        schema: &Schema,
        session_keyspace: Option<&str>,
        select: &ast::Select,
        markers: &mut Markers,
    ) -> Result<SelectPlan, ErrorResponse> {
        let keyspace = resolve_keyspace(select.table.keyspace.as_deref(), session_keyspace)?;
        let table = schema
            .table(keyspace, &select.table.name)
            .ok_or_else(|| unconfigured_table(&select.table.name))?
            .clone();
        if select.json {
            return Err(invalid("SELECT JSON is not supported"));
        }
        if !select.group_by.is_empty() {
            return Err(invalid("GROUP BY is not supported"));
        }
        let selection = Selection::prepare(&table, &select.selection, select.distinct)?;
        let statement = Statement::Select {
            allow_filtering: select.allow_filtering,
        };
        let restrictions = Restrictions::analyse(&table, statement, &select.where_clause, markers)?;
        if select.distinct {
            restrictions.check_distinct(&table)?;
        }
        let reversed = order_by(&table, &select.order_by, &restrictions)?;
        let per_partition_limit = select
            .per_partition_limit
            .as_ref()
            .map(|t| limit_term(&table, t, "[per_partition_limit]", markers))
            .transpose()?;
        let limit = select
            .limit
            .as_ref()
            .map(|t| limit_term(&table, t, "[limit]", markers))
            .transpose()?;
        Ok(SelectPlan {
            table,
            selection,
            restrictions,
            reversed,
            ordered: !select.order_by.is_empty(),
            per_partition_limit,
            limit,
        })
    }

    /// The keyspace of the table read.
    #[cfg(test)]
    pub(crate) fn keyspace(&self) -> &str {
        &self.table.keyspace
    }

    /// The table read.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &Arc<TableDef> {
        &self.table
    }

    /// The result columns, as the Rows metadata and the Prepared result describe them.
    pub(crate) fn result_specs(&self) -> Vec<ColumnSpec> {
        self.selection.specs(&self.table)
    }

    /// For each partition key column, the marker that binds it by `=`; empty unless
    /// every component is bound that way (drivers then route by token).
    pub(crate) fn pk_indexes(&self) -> Vec<u16> {
        self.restrictions.pk_indexes()
    }

    /// Runs the query for one request and returns one page of rows.
    pub(crate) async fn execute(
        &self,
        ctx: &ExecContext<'_>,
        values: &[Value],
        paging: &Paging,
    ) -> Result<Outcome, ErrorResponse> {
        let query = self.bind(ctx, values)?;
        let state = paging
            .state
            .as_ref()
            .map(|bytes| paging::PagingState::decode(bytes))
            .transpose()?;
        let page_size = paging
            .page_size
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0);
        self.check_in_order(&query, page_size)?;
        let mut pipeline = pipeline::Pipeline::new(self, &query, page_size, state.as_ref());
        let end = if self.table.is_virtual {
            virtual_rows::run(self, ctx, &query, &mut pipeline, state.as_ref())?
        } else {
            read::run(self, ctx, &query, &mut pipeline, state.as_ref()).await?
        };
        let mut warnings = Vec::new();
        if end.tombstones > ctx.guardrails.tombstone_warn {
            warnings.push(format!(
                "Read {} live rows and {} tombstone cells for query SELECT * FROM {}.{} \
                 (see tombstone_warn_threshold)",
                end.live_rows, end.tombstones, self.table.keyspace, self.table.name
            ));
        }
        let (rows, paging_state) = pipeline.finish(end.resume)?;
        let columns = if paging.skip_metadata {
            Columns::NoMetadata {
                count: self.selection.len(),
            }
        } else {
            Columns::Specs(self.result_specs())
        };
        Ok(Outcome {
            result: QueryResult::Rows(Rows {
                metadata: RowsMetadata {
                    paging_state,
                    columns,
                },
                rows,
            }),
            warnings,
        })
    }

    /// ORDER BY over several IN partitions needs their rows merged in clustering
    /// order. Cassandra refuses that when paging, as here; unpaged it sorts the
    /// rows in memory, which Basalt does not do yet, so it refuses too.
    fn check_in_order(
        &self,
        query: &BoundQuery,
        page_size: Option<usize>,
    ) -> Result<(), ErrorResponse> {
        let several = matches!(&query.restrictions.partition,
            restrictions::BoundPartition::Keys(keys) if keys.len() > 1);
        if !self.ordered || !several {
            return Ok(());
        }
        Err(invalid(if page_size.is_some() {
            "Cannot page queries with both ORDER BY and a IN restriction on the partition key; \
             you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query"
        } else {
            "ORDER BY with an IN restriction on several partitions is not supported; \
             remove the ORDER BY or the IN and sort client side"
        }))
    }

    /// Binds the request's values to the restrictions and limits.
    fn bind(&self, ctx: &ExecContext<'_>, values: &[Value]) -> Result<BoundQuery, ErrorResponse> {
        let time = ctx.bind_time();
        let positive = |term: &Option<Term>, what: &str| -> Result<Option<u64>, ErrorResponse> {
            let Some(term) = term else { return Ok(None) };
            match term.bind_value(values, time, what)? {
                cql_lite::CqlValue::Int(n) if n > 0 => Ok(Some(n.unsigned_abs().into())),
                cql_lite::CqlValue::Int(_) => {
                    Err(invalid(format!("{what} must be strictly positive")))
                }
                other => Err(invalid(format!("Invalid {what} value {other:?}"))),
            }
        };
        let limit = positive(&self.limit, "LIMIT")?;
        let mut per_partition_limit = positive(&self.per_partition_limit, "PER PARTITION LIMIT")?;
        if self.selection.distinct() {
            // One row per partition is what DISTINCT means.
            per_partition_limit = Some(1);
        }
        let restrictions = self.restrictions.bind(&self.table, values, time)?;
        Ok(BoundQuery {
            restrictions,
            limit,
            per_partition_limit,
        })
    }
}

/// One request's values bound into the plan.
#[derive(Debug)]
struct BoundQuery {
    restrictions: restrictions::Bound,
    limit: Option<u64>,
    per_partition_limit: Option<u64>,
}

/// The receiver of a `LIMIT ?` or `PER PARTITION LIMIT ?` marker.
fn limit_term(
    table: &TableDef,
    term: &ast::Term,
    name: &str,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let spec = MarkerSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name: name.to_owned(),
        ty: CqlType::Int,
    };
    Term::prepare(term, &spec, markers)
}

/// Checks ORDER BY and says whether partitions are read in reverse.
fn order_by(
    table: &TableDef,
    orderings: &[ast::Ordering],
    restrictions: &Restrictions,
) -> Result<bool, ErrorResponse> {
    if orderings.is_empty() {
        return Ok(false);
    }
    if !restrictions.restricts_partition_keys() {
        return Err(invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let clustering: Vec<_> = table.clustering().collect();
    let mut reversed = None;
    for (i, ordering) in orderings.iter().enumerate() {
        let column = table
            .column(&ordering.column)
            .ok_or_else(|| invalid(format!("Undefined column name {}", ordering.column)))?;
        if column.kind != ColumnKind::Clustering {
            return Err(invalid(format!(
                "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {}",
                column.name
            )));
        }
        if clustering.get(i).map(|c| &c.name) != Some(&column.name) {
            return Err(invalid(
                "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
            ));
        }
        let declared_desc = column.order == cql_lite::Order::Desc;
        let this = ordering.descending != declared_desc;
        if *reversed.get_or_insert(this) != this {
            return Err(invalid("Unsupported order by relation"));
        }
    }
    Ok(reversed.unwrap_or(false))
}
