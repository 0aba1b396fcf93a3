//! BATCH: several writes applied together. Their mutations are merged per
//! `(table, partition)` so each partition's share applies atomically, checked
//! against the batch-size guardrails, and written as one coordinator call.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use cql_lite::ast::{self, BatchKind};
use cql_lite::{ErrorResponse, QueryResult, Value, WriteType};
use storage::reconcile::{merge_deletion, merge_opt_deletion, merge_rows};
use storage::{CellKind, DecoratedKey, Mutation, Row, TableId};

use super::WritePlan;
use super::attrs::Attributes;
use crate::cql::bind::Markers;
use crate::cql::error::invalid;
use crate::cql::{ExecContext, Guardrails, Outcome};
use crate::schema::Schema;

/// Cassandra's `unlogged_batch_across_partitions_warn_threshold`.
const UNLOGGED_PARTITIONS_WARN: usize = 10;

/// A prepared `BEGIN ... APPLY BATCH`: its statements, sharing one marker
/// numbering in text order, with the batch's `USING TIMESTAMP` applied to each.
#[derive(Debug, Clone)]
pub(crate) struct BatchPlan {
    #[cfg_attr(not(test), expect(dead_code, reason = "only the tests read it back"))]
    kind: BatchKind,
    parts: Vec<WritePlan>,
}

impl BatchPlan {
    /// Prepares a batch's statements.
    pub(crate) fn prepare(
        schema: &Schema,
        session_keyspace: Option<&str>,
        batch: &ast::Batch,
        markers: &mut Markers,
    ) -> Result<BatchPlan, ErrorResponse> {
        if batch.kind == BatchKind::Counter {
            return Err(invalid(
                "counters not supported: COUNTER batches cannot run",
            ));
        }
        if batch.using.ttl.is_some() {
            return Err(invalid(
                "Global TTL on the BATCH statement is not supported.",
            ));
        }
        // The batch's markers come first in the text; name them after the first table.
        let first = batch.statements.first().map(|s| match s {
            ast::BatchStatement::Insert(i) => &i.table,
            ast::BatchStatement::Update(u) => &u.table,
            ast::BatchStatement::Delete(d) => &d.table,
        });
        let keyspace = first
            .and_then(|n| n.keyspace.as_deref())
            .or(session_keyspace)
            .unwrap_or_default();
        let table = first.map_or("", |n| n.name.as_str());
        let attrs = Attributes::prepare(&batch.using, keyspace, table, markers)?;
        let mut parts = Vec::with_capacity(batch.statements.len());
        for stmt in &batch.statements {
            let mut plan = WritePlan::prepare_in_batch(schema, session_keyspace, stmt, markers)?;
            plan.inherit_timestamp(&attrs)?;
            parts.push(plan);
        }
        Ok(BatchPlan {
            kind: batch.kind,
            parts,
        })
    }

    /// The batch type.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> BatchKind {
        self.kind
    }

    /// The statements, in order.
    pub(crate) fn parts(&self) -> &[WritePlan] {
        &self.parts
    }
}

/// Runs a batch: each part's mutations, merged per partition, size-checked,
/// then written at the context's consistency as one logged or unlogged batch.
pub(crate) async fn execute_batch(
    ctx: &ExecContext<'_>,
    kind: BatchKind,
    parts: &[(&WritePlan, &[Value])],
) -> Result<Outcome, ErrorResponse> {
    let write_type = match kind {
        BatchKind::Logged => WriteType::Batch,
        BatchKind::Unlogged => WriteType::UnloggedBatch,
        BatchKind::Counter => {
            return Err(invalid(
                "counters not supported: COUNTER batches cannot run",
            ));
        }
    };
    let mut warnings = Vec::new();
    for (plan, values) in parts {
        // Parts usually share one timestamp: warn about it once.
        if let Some(w) = plan.attrs.check_lead(ctx, values)?
            && !warnings.contains(&w)
        {
            warnings.push(w);
        }
    }
    let mut all = Vec::new();
    for (plan, values) in parts {
        all.extend(plan.mutations(ctx, values).await?);
    }
    let mutations = merge(all);
    let mut names: Vec<String> = Vec::new();
    for (plan, _) in parts {
        let name = format!("{}.{}", plan.keyspace(), plan.table().name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let names = format!("[{}]", names.join(", "));
    warnings.extend(check_size(&mutations, ctx.guardrails, &names)?);
    if kind == BatchKind::Unlogged && mutations.len() > UNLOGGED_PARTITIONS_WARN {
        let tables: usize = mutations
            .iter()
            .map(|m| m.table)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        warnings.push(format!(
            "Unlogged batch covering {} partitions detected against table{} {names}. You should use a logged batch for atomicity, or asynchronous writes for performance.",
            mutations.len(),
            if tables == 1 { "" } else { "s" }
        ));
    }
    if !mutations.is_empty() {
        ctx.coordinator
            .write(mutations, ctx.consistency, write_type)
            .await?;
    }
    Ok(Outcome {
        result: QueryResult::Void,
        warnings,
    })
}

/// One mutation per `(table, partition)`, in table then token order.
pub(super) fn merge(mutations: Vec<Mutation>) -> Vec<Mutation> {
    let mut merged: BTreeMap<(TableId, DecoratedKey), Mutation> = BTreeMap::new();
    for m in mutations {
        match merged.entry((m.table, m.key.clone())) {
            Entry::Vacant(e) => {
                e.insert(m);
            }
            Entry::Occupied(mut e) => merge_into(e.get_mut(), m),
        }
    }
    merged.into_values().collect()
}

fn merge_into(a: &mut Mutation, b: Mutation) {
    a.partition_deletion = merge_opt_deletion(a.partition_deletion, b.partition_deletion);
    for rt in b.range_tombstones {
        match a.range_tombstones.iter_mut().find(|e| e.range == rt.range) {
            Some(e) => e.deletion = merge_deletion(e.deletion, rt.deletion),
            None => a.range_tombstones.push(rt),
        }
    }
    a.static_row = match (a.static_row.take(), b.static_row) {
        (Some(x), Some(y)) => Some(merge_rows(x, y)),
        (x, y) => x.or(y),
    };
    for row in b.rows {
        match a
            .rows
            .binary_search_by(|r| r.clustering.cmp(&row.clustering))
        {
            Ok(i) => {
                let existing = std::mem::take(&mut a.rows[i]);
                a.rows[i] = merge_rows(existing, row);
            }
            Err(i) => a.rows.insert(i, row),
        }
    }
}

/// The guardrail warning for the batch's size, or the error past the fail
/// threshold. As in Cassandra (CASSANDRA-10876), a batch touching a single
/// partition is exempt: it is one atomic mutation either way.
fn check_size(
    mutations: &[Mutation],
    guardrails: &Guardrails,
    names: &str,
) -> Result<Option<String>, ErrorResponse> {
    if mutations.len() <= 1 {
        return Ok(None);
    }
    let size: usize = mutations.iter().map(data_size).sum();
    let message = |threshold: usize| {
        format!(
            "Batch for {names} is of size {}, exceeding specified threshold of {} by {}.",
            pretty_size(size),
            pretty_size(threshold),
            pretty_size(size - threshold)
        )
    };
    if size > guardrails.batch_size_fail_bytes {
        return Err(invalid(format!(
            "Batch too large: {}",
            message(guardrails.batch_size_fail_bytes)
        )));
    }
    Ok(
        (size > guardrails.batch_size_warn_bytes)
            .then(|| message(guardrails.batch_size_warn_bytes)),
    )
}

/// Bytes as Cassandra's messages print them (`6.2KiB`), one decimal.
pub(super) fn pretty_size(bytes: usize) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.1}GiB", b / f64::from(1u32 << 30))
    } else if bytes >= 1 << 20 {
        format!("{:.1}MiB", b / f64::from(1u32 << 20))
    } else {
        format!("{:.1}KiB", b / 1024.0)
    }
}

/// A mutation's data size as Cassandra counts it for the batch guardrails:
/// clustering bytes, liveness and deletion info, and each cell's timestamp,
/// TTL and deletion time (16 bytes) plus its value and path.
pub(super) fn data_size(m: &Mutation) -> usize {
    const DELETION: usize = 12;
    let row = |r: &Row| {
        r.clustering.as_bytes().len()
            + r.liveness
                .map_or(0, |l| if l.expiry.is_some() { 16 } else { 8 })
            + r.deletion.map_or(0, |_| DELETION)
            + r.column_deletions.len() * DELETION
            + r.cells
                .iter()
                .map(|c| {
                    let value = match &c.cell.kind {
                        CellKind::Live(v) | CellKind::Expiring { value: v, .. } => v.len(),
                        CellKind::Tombstone { .. } => 0,
                    };
                    16 + value + c.path.as_ref().map_or(0, |p| p.len())
                })
                .sum::<usize>()
    };
    let bounds = |rt: &storage::RangeTombstone| {
        let len = |b: &storage::Bound| match b {
            storage::Bound::Inclusive(k) | storage::Bound::Exclusive(k) => k.as_bytes().len(),
            storage::Bound::Unbounded => 0,
        };
        len(&rt.range.start) + len(&rt.range.end) + DELETION
    };
    m.partition_deletion.map_or(0, |_| DELETION)
        + m.range_tombstones.iter().map(bounds).sum::<usize>()
        + m.static_row.as_ref().map_or(0, row)
        + m.rows.iter().map(row).sum::<usize>()
}
