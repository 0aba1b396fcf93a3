//! Reading stored tables through the coordinator: the partitions of an `=`/`IN`
//! key restriction one after the other (each with the clustering slices), or a scan
//! of a token range. Reads go in chunks sized by what the page still needs; a chunk
//! that stopped at its row limit is continued after its last row.

use cql_lite::ErrorResponse;
use storage::{ClusteringKey, DecoratedKey, KeyRange, PartitionBound, PartitionPosition};
use storage::{ColumnFilter, PartitionRead, ScanCommand};

use crate::coordinator::{PartitionData, ReadLimits};
use crate::cql::ExecContext;
use crate::cql::error::invalid;

use super::paging::{After, PagingState, Position};
use super::pipeline::{At, Flow, Pipeline};
use super::rows::Decoder;
use super::{BoundQuery, SelectPlan};
use crate::cql::restrictions::BoundPartition;
use crate::cql::restrictions::slices;

/// How a reader finished.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct End {
    /// More rows may follow the page.
    pub(super) resume: bool,
    /// Tombstones met.
    pub(super) tombstones: usize,
    /// Live rows read.
    pub(super) live_rows: usize,
}

/// Where a paging state says to continue in storage.
fn storage_position(
    state: Option<&PagingState>,
) -> Result<Option<(&DecoratedKey, &After)>, ErrorResponse> {
    match state.map(|s| &s.position) {
        None => Ok(None),
        Some(Position::Storage { key, after }) => Ok(Some((key, after))),
        Some(Position::Virtual { .. }) => Err(invalid("Invalid value for the paging state")),
    }
}

/// Reads the rows of a stored table for one page.
pub(super) async fn run(
    plan: &SelectPlan,
    ctx: &ExecContext<'_>,
    query: &BoundQuery,
    pipeline: &mut Pipeline<'_>,
    state: Option<&PagingState>,
) -> Result<End, ErrorResponse> {
    let resume = storage_position(state)?;
    let reader = Reader {
        plan,
        ctx,
        decoder: Decoder::new(&plan.table, ctx.now_seconds())?,
    };
    match &query.restrictions.partition {
        BoundPartition::Nothing => Ok(End::default()),
        BoundPartition::Keys(keys) => {
            pipeline.skip_pushed_filters();
            let keys: Vec<&DecoratedKey> = keys.iter().map(|(_, k)| k).collect();
            reader
                .keys(&keys, &query.restrictions.slices, pipeline, resume)
                .await
        }
        BoundPartition::Range(range) => reader.scan(range, pipeline, resume).await,
    }
}

struct Reader<'a, 'c> {
    plan: &'a SelectPlan,
    ctx: &'a ExecContext<'c>,
    decoder: Decoder<'a>,
}

/// What feeding one partition's rows ended with.
enum Fed {
    /// All rows were taken.
    Done,
    /// The pipeline wants the next partition.
    NextPartition,
    /// The pipeline stopped; `rest` says whether rows of this chunk were left.
    Stop { rest: bool },
}

impl Reader<'_, '_> {
    fn limits(&self, rows: usize) -> ReadLimits {
        ReadLimits {
            max_rows: rows,
            max_tombstones: self.ctx.guardrails.tombstone_failure,
        }
    }

    /// Feeds a partition's rows (and its static-only row when it starts with none).
    fn feed(
        &self,
        part: &PartitionData,
        starts: bool,
        pipeline: &mut Pipeline<'_>,
        end: &mut End,
    ) -> Result<Fed, ErrorResponse> {
        let values = self
            .decoder
            .partition(&part.key, part.static_row.as_ref())?;
        if starts && part.rows.is_empty() {
            if pipeline.static_rows_allowed() && self.decoder.has_static(&values) {
                end.live_rows += 1;
                let row = self.decoder.static_only(&values);
                if pipeline.row(&row, At::StaticOnly(&part.key))? == Flow::Stop {
                    return Ok(Fed::Stop { rest: false });
                }
            }
            return Ok(Fed::Done);
        }
        for (i, stored) in part.rows.iter().enumerate() {
            let Some(row) = self.decoder.row(&values, stored)? else {
                continue;
            };
            end.live_rows += 1;
            match pipeline.row(&row, At::Row(&part.key, &stored.clustering))? {
                Flow::Continue => {}
                Flow::NextPartition => return Ok(Fed::NextPartition),
                Flow::Stop => {
                    let rest = i + 1 < part.rows.len() && !pipeline.partition_exhausted();
                    return Ok(Fed::Stop { rest });
                }
            }
        }
        Ok(Fed::Done)
    }

    /// Reads the partitions of `keys` in order.
    async fn keys(
        &self,
        keys: &[&DecoratedKey],
        slices: &[storage::ClusteringRange],
        pipeline: &mut Pipeline<'_>,
        resume: Option<(&DecoratedKey, &After)>,
    ) -> Result<End, ErrorResponse> {
        let mut end = End::default();
        let (mut index, mut after) = match resume {
            None => (0, None),
            Some((key, after)) => {
                let i = keys
                    .iter()
                    .position(|k| *k == key)
                    .ok_or_else(|| invalid("Invalid value for the paging state"))?;
                match after {
                    After::Partition => (i + 1, None),
                    After::Row(ck) => {
                        pipeline.resume_partition();
                        (i, Some(ck.clone()))
                    }
                }
            }
        };
        while let Some(key) = keys.get(index) {
            if after.is_none() {
                pipeline.start_partition();
            }
            let more_keys = index + 1 < keys.len();
            match self
                .partition(key, slices, after.take(), pipeline, &mut end)
                .await?
            {
                Some(rest) => {
                    end.resume = rest || more_keys;
                    return Ok(end);
                }
                None => index += 1,
            }
        }
        Ok(end)
    }

    /// Reads one partition in chunks; `Some(rows left)` when the pipeline stopped.
    async fn partition(
        &self,
        key: &DecoratedKey,
        slices: &[storage::ClusteringRange],
        mut after: Option<ClusteringKey>,
        pipeline: &mut Pipeline<'_>,
        end: &mut End,
    ) -> Result<Option<bool>, ErrorResponse> {
        let reversed = self.plan.reversed;
        let mut starts = after.is_none();
        loop {
            let slices = match &after {
                Some(ck) => slices::resume_after(slices, ck, reversed),
                None => slices.to_vec(),
            };
            if slices.is_empty() {
                return Ok(None);
            }
            let n = pipeline.wanted();
            let read = PartitionRead {
                key: key.clone(),
                slices,
                columns: ColumnFilter::All,
                reversed,
                row_limit: Some(n),
                now: self.ctx.now_seconds(),
                include_tombstones: false,
            };
            let table = self.plan.table.table_id();
            let outcome = self
                .ctx
                .coordinator
                .read(table, read, self.limits(n), self.ctx.consistency)
                .await?;
            end.tombstones += outcome.tombstones_scanned;
            let Some(part) = outcome.partitions.first() else {
                return Ok(None);
            };
            match self.feed(part, starts, pipeline, end)? {
                Fed::Stop { rest } => return Ok(Some(rest || outcome.stopped_at_limit)),
                Fed::NextPartition => return Ok(None),
                Fed::Done if !outcome.stopped_at_limit => return Ok(None),
                Fed::Done => {}
            }
            starts = false;
            after = part.rows.last().map(|r| r.clustering.clone());
            if after.is_none() {
                return Ok(None);
            }
        }
    }

    /// Scans `range` in token order.
    async fn scan(
        &self,
        range: &KeyRange,
        pipeline: &mut Pipeline<'_>,
        resume: Option<(&DecoratedKey, &After)>,
    ) -> Result<End, ErrorResponse> {
        let mut end = End::default();
        let mut range = range.clone();
        let mut resume_after = None;
        let mut current: Option<DecoratedKey> = None;
        match resume {
            None => {}
            Some((key, After::Partition)) => {
                range.start = PartitionBound::Exclusive(PartitionPosition::Key(key.clone()));
            }
            Some((key, After::Row(ck))) => {
                pipeline.resume_partition();
                current = Some(key.clone());
                resume_after = Some((key.clone(), ck.clone()));
            }
        }
        loop {
            let n = pipeline.wanted();
            let scan = ScanCommand {
                range: range.clone(),
                resume_after: resume_after.take(),
                columns: ColumnFilter::All,
                now: self.ctx.now_seconds(),
                include_tombstones: false,
            };
            let table = self.plan.table.table_id();
            let outcome = self
                .ctx
                .coordinator
                .scan(table, scan, self.limits(n), self.ctx.consistency)
                .await?;
            end.tombstones += outcome.tombstones_scanned;
            let count = outcome.partitions.len();
            for (i, part) in outcome.partitions.iter().enumerate() {
                let starts = current.as_ref() != Some(&part.key);
                if starts {
                    pipeline.start_partition();
                    current = Some(part.key.clone());
                } else if pipeline.partition_exhausted() {
                    continue;
                }
                if let Fed::Stop { rest } = self.feed(part, starts, pipeline, &mut end)? {
                    end.resume = rest || i + 1 < count || outcome.stopped_at_limit;
                    return Ok(end);
                }
            }
            if !outcome.stopped_at_limit {
                return Ok(end);
            }
            let Some(last) = outcome.partitions.last() else {
                return Ok(end);
            };
            match last.rows.last() {
                Some(row) if !pipeline.partition_exhausted() => {
                    resume_after = Some((last.key.clone(), row.clustering.clone()));
                }
                _ => {
                    range.start =
                        PartitionBound::Exclusive(PartitionPosition::Key(last.key.clone()));
                }
            }
        }
    }
}
