//! Building one execution's mutations: bind the values, enumerate the partitions
//! and rows written, read the lists that index or value operations need, and
//! apply each operation to its row.

use std::collections::BTreeMap;

use bytes::Bytes;
use cql_lite::{ErrorResponse, Value};
use storage::{
    ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, Mutation, RangeTombstone, Row,
};
use storage::{ColumnFilter, PartitionRead};

use super::attrs::WriteTime;
use super::keys::Target;
use super::ops::{BoundOp, ListCells};
use super::{Kind, WritePlan};
use crate::coordinator::ReadLimits;
use crate::cql::ExecContext;

/// The current elements of the list columns one row's operations read.
type CurrentLists = Vec<(ColumnId, Vec<(Bytes, Bytes)>)>;

impl WritePlan {
    /// The mutations of one execution: one per partition written (several for
    /// `k IN (...)`), none when every value is unset.
    pub(crate) async fn mutations(
        &self,
        ctx: &ExecContext<'_>,
        values: &[Value],
    ) -> Result<Vec<Mutation>, ErrorResponse> {
        let bind_time = ctx.bind_time();
        let time = self.attrs.bind(&self.table, ctx, values)?;
        let keys = self.keys.partition_keys(&self.table, values, bind_time)?;
        let target = self
            .keys
            .target(&self.table, &self.layout, values, bind_time)?;
        let mut ops = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            ops.extend(op.bind(values, bind_time)?);
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let mut mutation = Mutation::new(self.table.table_id(), key);
            if self.kind == Kind::Delete && self.ops.is_empty() {
                self.delete_rows(&mut mutation, &target, &time);
            } else {
                self.write_rows(ctx, &mut mutation, &target, &ops, &time)
                    .await?;
            }
            if !is_empty(&mutation) {
                out.push(mutation);
            }
        }
        Ok(out)
    }

    /// A DELETE without columns: the partition, rows or ranges go.
    fn delete_rows(&self, mutation: &mut Mutation, target: &Target, time: &WriteTime) {
        let deletion = time.deletion();
        match target {
            Target::Rows(_) if self.table.clustering().next().is_none() => {
                // Without clustering columns the key names the whole partition.
                mutation.partition_deletion = Some(deletion);
            }
            Target::Partition => mutation.partition_deletion = Some(deletion),
            Target::Rows(rows) => {
                for clustering in rows {
                    let mut row = Row::new(clustering.clone());
                    row.deletion = Some(deletion);
                    *mutation = std::mem::replace(
                        mutation,
                        Mutation::new(mutation.table, mutation.key.clone()),
                    )
                    .with_row(row);
                }
            }
            Target::Ranges(ranges) => {
                mutation
                    .range_tombstones
                    .extend(ranges.iter().map(|range| RangeTombstone {
                        range: range.clone(),
                        deletion,
                    }));
            }
        }
    }

    /// Applies column operations to the static row and to each addressed row;
    /// an INSERT also marks each row live.
    async fn write_rows(
        &self,
        ctx: &ExecContext<'_>,
        mutation: &mut Mutation,
        target: &Target,
        ops: &[BoundOp<'_>],
        time: &WriteTime,
    ) -> Result<(), ErrorResponse> {
        let (statics, regulars): (Vec<_>, Vec<_>) = ops
            .iter()
            .cloned()
            .partition(|op| op.column.kind == crate::schema::ColumnKind::Static);
        if !statics.is_empty() {
            let row = self
                .build_row(ctx, &mutation.key, None, &statics, time)
                .await?;
            if !row.is_empty() {
                mutation.static_row = Some(row);
            }
        }
        let Target::Rows(rows) = target else {
            return Ok(());
        };
        if self.kind != Kind::Insert && regulars.is_empty() {
            return Ok(());
        }
        for clustering in rows {
            let mut row = self
                .build_row(ctx, &mutation.key, Some(clustering), &regulars, time)
                .await?;
            if self.kind == Kind::Insert {
                row.liveness = Some(time.liveness());
            }
            if !row.is_empty() {
                *mutation = std::mem::replace(
                    mutation,
                    Mutation::new(mutation.table, mutation.key.clone()),
                )
                .with_row(row);
            }
        }
        Ok(())
    }

    /// One row (`None`: the static row) with `ops` applied.
    async fn build_row(
        &self,
        ctx: &ExecContext<'_>,
        key: &DecoratedKey,
        clustering: Option<&ClusteringKey>,
        ops: &[BoundOp<'_>],
        time: &WriteTime,
    ) -> Result<Row, ErrorResponse> {
        let current = if ops.iter().any(BoundOp::needs_read) {
            self.read_lists(ctx, key, clustering, ops, time).await?
        } else {
            Vec::new()
        };
        let mut row = Row::new(clustering.cloned().unwrap_or_default());
        for op in ops {
            let read = current
                .iter()
                .find(|(id, _)| *id == op.column.id)
                .map_or(&[][..], |(_, cells)| cells.as_slice());
            // As in Cassandra, a list operation sees what the statement's
            // earlier operations did: `DELETE l[1], l[1]` deletes two elements,
            // `SET l = l + [3], l[2] = 7` can index the element it appended.
            let list = if op.needs_read() {
                with_pending(read, &row, op.column.id, time.now)
            } else {
                Vec::new()
            };
            op.apply(&mut row, time, &list)?;
        }
        Ok(row)
    }

    /// Reads the current elements of the lists `ops` index or filter
    /// (Cassandra's read-before-write for list operations).
    async fn read_lists(
        &self,
        ctx: &ExecContext<'_>,
        key: &DecoratedKey,
        clustering: Option<&ClusteringKey>,
        ops: &[BoundOp<'_>],
        time: &WriteTime,
    ) -> Result<CurrentLists, ErrorResponse> {
        let mut columns: Vec<ColumnId> = ops
            .iter()
            .filter(|op| op.needs_read())
            .map(|op| op.column.id)
            .collect();
        columns.sort();
        columns.dedup();
        let read = PartitionRead {
            key: key.clone(),
            slices: vec![
                clustering.map_or(ClusteringRange::ALL, |c| ClusteringRange::prefix(c.clone())),
            ],
            columns: ColumnFilter::Only(columns.clone()),
            reversed: false,
            row_limit: Some(1),
            now: time.now,
            include_tombstones: false,
        };
        let limits = ReadLimits {
            max_rows: 1,
            max_tombstones: ctx.guardrails.tombstone_failure,
        };
        let outcome = ctx
            .coordinator
            .read(self.table.table_id(), read, limits, ctx.consistency)
            .await?;
        let row = outcome.partitions.first().and_then(|p| match clustering {
            Some(c) => p.rows.first().filter(|r| &r.clustering == c),
            None => p.static_row.as_ref(),
        });
        Ok(columns
            .into_iter()
            .map(|id| {
                let cells = row
                    .map(|r| {
                        r.cells
                            .iter()
                            .filter(|c| c.column == id)
                            .filter_map(|c| {
                                Some((c.path.clone()?, c.cell.value_at(time.now)?.clone()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (id, cells)
            })
            .collect())
    }
}

/// The list `read` as the operations already applied to `row` left it: their
/// element cells replace or delete the elements read at the same path and add
/// the ones they appended or prepended, in path (list) order.
fn with_pending(read: &ListCells, row: &Row, column: ColumnId, now: i64) -> Vec<(Bytes, Bytes)> {
    let mut list: BTreeMap<Bytes, Option<Bytes>> = read
        .iter()
        .map(|(path, value)| (path.clone(), Some(value.clone())))
        .collect();
    for cell in row.cells.iter().filter(|c| c.column == column) {
        if let Some(path) = &cell.path {
            list.insert(path.clone(), cell.cell.value_at(now).cloned());
        }
    }
    list.into_iter()
        .filter_map(|(path, value)| Some((path, value?)))
        .collect()
}

fn is_empty(m: &Mutation) -> bool {
    m.partition_deletion.is_none()
        && m.range_tombstones.is_empty()
        && m.static_row.is_none()
        && m.rows.is_empty()
}
