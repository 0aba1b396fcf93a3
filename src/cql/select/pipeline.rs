//! What happens to each CQL row once read: filters, PER PARTITION LIMIT, LIMIT,
//! aggregation or projection, and the page size. Readers feed rows in result order
//! and stop when told; the pipeline remembers where the last returned row was, which
//! becomes the paging state.

use bytes::Bytes;
use cql_lite::ErrorResponse;
use storage::{ClusteringKey, DecoratedKey};

use super::filter;
use super::paging::{After, PagingState, Position};
use super::rows::CqlRow;
use super::selectors::Aggregation;
use super::{BoundQuery, SelectPlan};

/// Rows read per storage request when the count needed is unknown (filtering,
/// aggregation, no paging).
const CHUNK: usize = 1_000;
/// Most rows one storage request may return, whatever the page size.
const MAX_CHUNK: usize = 10_000;

/// One result row: a serialized value per column, `None` for null.
pub(super) type ResultRow = Vec<Option<Bytes>>;

/// Where a row came from, for the paging state.
#[derive(Debug, Clone, Copy)]
pub(super) enum At<'a> {
    /// A clustering row of a stored partition.
    Row(&'a DecoratedKey, &'a ClusteringKey),
    /// The static-only row of a stored partition.
    StaticOnly(&'a DecoratedKey),
    /// Row `n` of a virtual table's list.
    Virtual(u64),
}

/// What the reader should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Send the next row.
    Continue,
    /// This partition is done (PER PARTITION LIMIT); go to the next one.
    NextPartition,
    /// The page or the LIMIT is full.
    Stop,
}

/// Why the pipeline stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    PageFull,
    Limit,
}

/// One request's row processing.
#[derive(Debug)]
pub(super) struct Pipeline<'p> {
    plan: &'p SelectPlan,
    query: &'p BoundQuery,
    /// Skip filters the storage slices already enforce.
    skip_pushed: bool,
    has_filters: bool,
    page_size: Option<usize>,
    limit_left: Option<u64>,
    partition_left: Option<u64>,
    /// PER PARTITION LIMIT left for the partition a resumed page continues.
    resumed_partition_left: Option<u64>,
    rows: Vec<ResultRow>,
    aggregation: Option<Aggregation>,
    last: Option<Position>,
    stopped: Option<Stopped>,
}

impl<'p> Pipeline<'p> {
    /// A pipeline for one page of `plan` with `query`'s values, resuming `state`.
    pub(super) fn new(
        plan: &'p SelectPlan,
        query: &'p BoundQuery,
        page_size: Option<usize>,
        state: Option<&PagingState>,
    ) -> Self {
        let aggregation = plan
            .selection
            .is_aggregate()
            .then(|| plan.selection.aggregation());
        Pipeline {
            plan,
            query,
            skip_pushed: false,
            has_filters: !query.restrictions.filters.is_empty(),
            // An aggregate returns one row computed from every row: no pages.
            page_size: if aggregation.is_some() {
                None
            } else {
                page_size
            },
            limit_left: state.map_or(query.limit, |s| s.limit_left),
            partition_left: query.per_partition_limit,
            resumed_partition_left: state.and_then(|s| s.partition_left),
            rows: Vec::new(),
            aggregation,
            last: None,
            stopped: None,
        }
    }

    /// Partition reads enforce clustering relations through slices.
    pub(super) fn skip_pushed_filters(&mut self) {
        self.skip_pushed = true;
        self.has_filters = self.query.restrictions.filters.iter().any(|f| !f.pushed);
    }

    /// Whether partitions with only static content give a row.
    pub(super) fn static_rows_allowed(&self) -> bool {
        !self.query.restrictions.selects_rows
    }

    /// A new partition starts.
    pub(super) fn start_partition(&mut self) {
        self.partition_left = self.query.per_partition_limit;
    }

    /// The partition the previous page stopped in continues.
    pub(super) fn resume_partition(&mut self) {
        self.partition_left = self
            .resumed_partition_left
            .or(self.query.per_partition_limit);
    }

    /// Whether the current partition's PER PARTITION LIMIT is used up.
    pub(super) fn partition_exhausted(&self) -> bool {
        self.partition_left == Some(0)
    }

    /// How many rows the next storage request should fetch: what can still be
    /// returned plus one (to learn whether more exist), unless filtering or
    /// aggregation make that unknowable.
    pub(super) fn wanted(&self) -> usize {
        if self.has_filters || self.aggregation.is_some() {
            return CHUNK;
        }
        let page_left = self
            .page_size
            .map_or(usize::MAX, |p| p.saturating_sub(self.rows.len()));
        let to_usize =
            |v: Option<u64>| v.map_or(usize::MAX, |v| usize::try_from(v).unwrap_or(usize::MAX));
        let n = page_left
            .min(to_usize(self.limit_left))
            .min(to_usize(self.partition_left));
        n.saturating_add(1).clamp(1, MAX_CHUNK)
    }

    /// Processes one row.
    pub(super) fn row(&mut self, row: &CqlRow, at: At<'_>) -> Result<Flow, ErrorResponse> {
        if self.stopped.is_some() {
            return Ok(Flow::Stop);
        }
        if self.partition_left == Some(0) {
            return Ok(Flow::NextPartition);
        }
        let table = &self.plan.table;
        let pass = self
            .query
            .restrictions
            .filters
            .iter()
            .filter(|f| !(self.skip_pushed && f.pushed))
            .all(|f| filter::matches(table, f, row));
        if !pass {
            return Ok(Flow::Continue);
        }
        if let Some(aggregation) = &mut self.aggregation {
            aggregation.add(row);
        } else {
            self.rows.push(self.plan.selection.project(row)?);
            self.limit_left = self.limit_left.map(|l| l.saturating_sub(1));
        }
        self.partition_left = self.partition_left.map(|l| l.saturating_sub(1));
        self.last = Some(match at {
            At::Row(key, ck) => Position::Storage {
                key: key.clone(),
                after: After::Row(ck.clone()),
            },
            At::StaticOnly(key) => Position::Storage {
                key: key.clone(),
                after: After::Partition,
            },
            At::Virtual(n) => Position::Virtual { next: n + 1 },
        });
        if self.limit_left == Some(0) {
            self.stopped = Some(Stopped::Limit);
            return Ok(Flow::Stop);
        }
        if self.page_size.is_some_and(|p| self.rows.len() >= p) {
            self.stopped = Some(Stopped::PageFull);
            return Ok(Flow::Stop);
        }
        if self.partition_left == Some(0) {
            return Ok(Flow::NextPartition);
        }
        Ok(Flow::Continue)
    }

    /// The page's rows and, when the page is full and the reader says more rows may
    /// follow, the state to continue from.
    pub(super) fn finish(
        self,
        more: bool,
    ) -> Result<(Vec<ResultRow>, Option<Bytes>), ErrorResponse> {
        if let Some(aggregation) = &self.aggregation {
            return Ok((vec![aggregation.finish()?], None));
        }
        let state = match (self.stopped, self.last) {
            (Some(Stopped::PageFull), Some(mut position)) if more => {
                if let Position::Storage { after, .. } = &mut position
                    && self.partition_left == Some(0)
                {
                    *after = After::Partition;
                }
                Some(
                    PagingState {
                        limit_left: self.limit_left,
                        partition_left: self.partition_left,
                        position,
                    }
                    .encode(),
                )
            }
            _ => None,
        };
        Ok((self.rows, state))
    }
}
