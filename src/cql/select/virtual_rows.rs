//! Virtual tables (`system.local`, `system_schema.*`...): their rows are computed
//! in memory, then restricted, filtered, limited and paged like stored rows. Key
//! restrictions are checked on the values; pages resume at a row index.

use cql_lite::ErrorResponse;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;

use crate::cql::ExecContext;
use crate::cql::error::invalid;
use crate::rowcodec;
use crate::schema::TableDef;

use super::paging::{PagingState, Position};
use super::pipeline::{At, Flow, Pipeline};
use super::read::End;
use super::rows::CqlRow;
use super::{BoundQuery, SelectPlan};
use crate::cql::restrictions::{BoundPartition, compare_tuples};

/// Runs the query over the rows of a virtual table.
pub(super) fn run(
    plan: &SelectPlan,
    ctx: &ExecContext<'_>,
    query: &BoundQuery,
    pipeline: &mut Pipeline<'_>,
    state: Option<&PagingState>,
) -> Result<End, ErrorResponse> {
    let table = &plan.table;
    let start = match state.map(|s| &s.position) {
        None => 0,
        Some(Position::Virtual { next }) => {
            usize::try_from(*next).map_err(|_| invalid("Invalid value for the paging state"))?
        }
        Some(Position::Storage { .. }) => {
            return Err(invalid("Invalid value for the paging state"));
        }
    };
    let rows = rows(table, ctx, &query.restrictions.partition, plan.reversed)?;
    let pk = table.partition_key().count();
    let same_partition = |a: &CqlRow, b: &CqlRow| a.values[..pk] == b.values[..pk];
    let mut end = End::default();
    for (i, row) in rows.iter().enumerate().skip(start) {
        let previous = i.checked_sub(1).and_then(|p| rows.get(p));
        let continues = previous.is_some_and(|p| same_partition(p, row));
        if i == start && continues {
            pipeline.resume_partition();
        } else if !continues {
            pipeline.start_partition();
        }
        end.live_rows += 1;
        if pipeline.row(row, At::Virtual(i as u64))? == Flow::Stop {
            end.resume = i + 1 < rows.len();
            return Ok(end);
        }
    }
    Ok(end)
}

/// The table's rows within the partition restriction, each partition's rows
/// reversed for `ORDER BY ... DESC`.
fn rows(
    table: &TableDef,
    ctx: &ExecContext<'_>,
    partition: &BoundPartition,
    reversed: bool,
) -> Result<Vec<CqlRow>, ErrorResponse> {
    let pk = table.partition_key().count();
    let types: Vec<&CqlType> = table.partition_key().map(|c| &c.ty).collect();
    let mut out: Vec<CqlRow> = Vec::new();
    for mut values in ctx.virtual_tables.rows(ctx.schema, table)? {
        // A provider's short or long row must not break indexing by column.
        values.resize(table.columns.len(), None);
        let key: Option<Vec<CqlValue>> = values.iter().take(pk).cloned().collect();
        let token = key
            .as_ref()
            .and_then(|k| rowcodec::partition_key(table, k).ok());
        let keep = match partition {
            BoundPartition::Nothing => false,
            BoundPartition::Keys(keys) => key.as_ref().is_some_and(|k| {
                keys.iter()
                    .any(|(wanted, _)| compare_tuples(&types, k, wanted).is_eq())
            }),
            BoundPartition::Range(range) => token.as_ref().is_some_and(|t| range.contains(t)),
        };
        if keep {
            let n = values.len();
            out.push(CqlRow {
                values,
                meta: vec![None; n],
                token: token.map_or(0, |t| t.token.0),
            });
        }
    }
    if reversed {
        let mut start = 0;
        while start < out.len() {
            let len = out[start..]
                .iter()
                .take_while(|r| r.values[..pk] == out[start].values[..pk])
                .count();
            out[start..start + len].reverse();
            start += len;
        }
    }
    Ok(out)
}
