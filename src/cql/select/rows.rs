//! Storage rows as CQL rows: one value per table column, with write times and TTLs.
//!
//! Cells of columns the table no longer has (dropped: their ids are never reused)
//! are ignored, and a row whose only live data is in such cells does not exist.
//! Static values are copied onto every row of their partition.

use std::collections::HashMap;
use std::sync::Arc;

use cql_lite::value::{self, CqlValue};
use cql_lite::{ClusteringLayout, ErrorResponse};
use storage::{CellKind, ColumnCell, ColumnId, DecoratedKey, Row};

use crate::cql::error::{invalid, server};
use crate::rowcodec;
use crate::schema::{ColumnKind, TableDef};

/// When and for how long a simple cell was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CellMeta {
    /// The write timestamp (µs).
    pub(super) writetime: i64,
    /// Seconds left to live, for expiring cells.
    pub(super) ttl: Option<i32>,
}

/// One CQL row: what filters, selectors and aggregates look at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CqlRow {
    /// One value per table column (`None` is null).
    pub(super) values: Vec<Option<CqlValue>>,
    /// Write time and TTL per table column, for simple cells that have them.
    pub(super) meta: Vec<Option<CellMeta>>,
    /// The partition's token.
    pub(super) token: i64,
}

/// The partition-level part shared by the rows of one partition.
#[derive(Debug, Clone)]
pub(super) struct PartitionValues {
    key: Arc<Vec<CqlValue>>,
    statics: Vec<(usize, CqlValue, Option<CellMeta>)>,
    token: i64,
}

/// Decodes the rows of one table at one time.
#[derive(Debug)]
pub(super) struct Decoder<'t> {
    table: &'t TableDef,
    layout: ClusteringLayout,
    by_id: HashMap<ColumnId, usize>,
    now: i64,
}

fn corrupt(e: impl std::fmt::Display) -> ErrorResponse {
    server(format!("stored data does not match the schema: {e}"))
}

impl<'t> Decoder<'t> {
    /// A decoder for `table` at `now` (seconds).
    pub(super) fn new(table: &'t TableDef, now: i64) -> Result<Self, ErrorResponse> {
        let layout = table
            .clustering_layout()
            .map_err(|e| invalid(format!("Invalid clustering layout: {e}")))?;
        let by_id = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.kind, ColumnKind::Static | ColumnKind::Regular))
            .map(|(i, c)| (c.id, i))
            .collect();
        Ok(Decoder {
            table,
            layout,
            by_id,
            now,
        })
    }

    /// The partition key values and static cells of a partition.
    pub(super) fn partition(
        &self,
        key: &DecoratedKey,
        static_row: Option<&Row>,
    ) -> Result<PartitionValues, ErrorResponse> {
        let values = rowcodec::decode_partition_key(self.table, &key.key).map_err(corrupt)?;
        let statics = match static_row {
            Some(row) => self.cells(row)?,
            None => Vec::new(),
        };
        Ok(PartitionValues {
            key: Arc::new(values),
            statics,
            token: key.token.0,
        })
    }

    /// Whether the partition has live static content (for the static-only row).
    pub(super) fn has_static(&self, partition: &PartitionValues) -> bool {
        !partition.statics.is_empty()
    }

    fn empty_row(&self, partition: &PartitionValues) -> CqlRow {
        let n = self.table.columns.len();
        let mut row = CqlRow {
            values: vec![None; n],
            meta: vec![None; n],
            token: partition.token,
        };
        for (i, v) in partition.key.iter().enumerate() {
            row.values[i] = Some(v.clone());
        }
        for (i, v, m) in &partition.statics {
            row.values[*i] = Some(v.clone());
            row.meta[*i] = *m;
        }
        row
    }

    /// The row Cassandra returns for a partition that has only static content.
    pub(super) fn static_only(&self, partition: &PartitionValues) -> CqlRow {
        self.empty_row(partition)
    }

    /// A clustering row, `None` when nothing in it is live for the current schema.
    pub(super) fn row(
        &self,
        partition: &PartitionValues,
        row: &Row,
    ) -> Result<Option<CqlRow>, ErrorResponse> {
        let cells = self.cells(row)?;
        let live_marker = row.liveness.is_some_and(|l| l.is_live_at(self.now));
        if cells.is_empty() && !live_marker {
            return Ok(None);
        }
        let mut out = self.empty_row(partition);
        let clustering =
            rowcodec::decode_clustering(&self.layout, &row.clustering).map_err(corrupt)?;
        let first = partition.key.len();
        for (i, v) in clustering.into_iter().enumerate() {
            out.values[first + i] = Some(v);
        }
        for (i, v, m) in cells {
            out.values[i] = Some(v);
            out.meta[i] = m;
        }
        Ok(Some(out))
    }

    /// The live values of a row's cells, by table column index.
    fn cells(&self, row: &Row) -> Result<Vec<(usize, CqlValue, Option<CellMeta>)>, ErrorResponse> {
        let mut out = Vec::new();
        let mut rest = row.cells.as_slice();
        while let Some(first) = rest.first() {
            let same = rest.iter().take_while(|c| c.column == first.column).count();
            let (group, tail) = rest.split_at(same);
            rest = tail;
            let Some(&index) = self.by_id.get(&first.column) else {
                continue;
            };
            if let Some((v, m)) = self.column_value(index, group)? {
                out.push((index, v, m));
            }
        }
        Ok(out)
    }

    fn column_value(
        &self,
        index: usize,
        group: &[ColumnCell],
    ) -> Result<Option<(CqlValue, Option<CellMeta>)>, ErrorResponse> {
        let ty = &self.table.columns[index].ty;
        if !ty.is_frozen() {
            let cells: Vec<&ColumnCell> = group.iter().collect();
            let v = rowcodec::decode_collection(ty, &cells, self.now).map_err(corrupt)?;
            return Ok(v.map(|v| (v, None)));
        }
        let Some(cell) = group.iter().find(|c| c.path.is_none()) else {
            return Ok(None);
        };
        let Some(bytes) = cell.cell.value_at(self.now) else {
            return Ok(None);
        };
        let v = value::deserialize(ty, bytes).map_err(corrupt)?;
        let ttl = match &cell.cell.kind {
            CellKind::Expiring {
                local_expiration_time,
                ..
            } => Some(i32::try_from((local_expiration_time - self.now).max(0)).unwrap_or(i32::MAX)),
            _ => None,
        };
        let meta = CellMeta {
            writetime: cell.cell.timestamp.0,
            ttl,
        };
        Ok(Some((v, Some(meta))))
    }
}
