//! INSERT, UPDATE, DELETE and BATCH: statements turned into storage mutations.
//!
//! Preparing ([`WritePlan::prepare`]) resolves the table, checks the statement
//! against it the way Cassandra does (same error wording where known) and
//! registers bind markers in text order. Executing binds one request's values and
//! builds one [`storage::Mutation`] per partition written
//! ([`WritePlan::mutations`]), which [`execute`] and [`execute_batch`] hand to the
//! coordinator.
//!
//! The storage mapping is [`crate::rowcodec`]'s: INSERT writes a row liveness
//! marker, UPDATE does not; overwriting a non-frozen collection deletes it at
//! `timestamp - 1` and writes new element cells; deletions are timestamped with
//! the write timestamp and the local time in seconds.
//!
//! Limits (documented, refused with Invalid): conditional updates (`IF`, LWT),
//! counters, `INSERT JSON`, user-defined types, multi-column (tuple) relations.
//! The syntax tree does not record whether `TTL` or `TIMESTAMP` came first in
//! `USING`, so markers in both are registered TTL first.

mod attrs;
mod batch;
mod build;
mod keys;
mod ops;
mod prepare;

use std::sync::Arc;

use cql_lite::byte_comparable::ClusteringLayout;
use cql_lite::{ErrorResponse, QueryResult, Value, WriteType};

use crate::cql::{ExecContext, Outcome};
use crate::schema::TableDef;

pub(crate) use batch::{BatchPlan, execute_batch};

/// A prepared INSERT, UPDATE or DELETE.
#[derive(Debug, Clone)]
pub(crate) struct WritePlan {
    keyspace: String,
    table: Arc<TableDef>,
    kind: Kind,
    keys: keys::Keys,
    ops: Vec<ops::Op>,
    attrs: attrs::Attributes,
    layout: ClusteringLayout,
}

/// Which statement a plan runs: it decides row liveness and what deletes mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Insert,
    Update,
    Delete,
}

impl Kind {
    /// The name Cassandra's messages use.
    fn name(self) -> &'static str {
        match self {
            Kind::Insert => "INSERT",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
}

impl WritePlan {
    /// The keyspace of the table written.
    pub(crate) fn keyspace(&self) -> &str {
        &self.keyspace
    }

    /// The table written.
    pub(crate) fn table(&self) -> &Arc<TableDef> {
        &self.table
    }

    /// For each partition key column, the marker index that binds it; empty
    /// unless every one is bound by a single `= ?` (the Prepared `pk_indexes`).
    pub(crate) fn pk_indexes(&self) -> Vec<u16> {
        self.keys.pk_indexes()
    }
}

/// Runs a single INSERT, UPDATE or DELETE.
pub(crate) async fn execute(
    plan: &WritePlan,
    ctx: &ExecContext<'_>,
    values: &[Value],
) -> Result<Outcome, ErrorResponse> {
    let warning = plan.attrs.check_lead(ctx, values)?;
    let mutations = plan.mutations(ctx, values).await?;
    if !mutations.is_empty() {
        ctx.coordinator
            .write(mutations, ctx.consistency, WriteType::Simple)
            .await?;
    }
    Ok(Outcome {
        result: QueryResult::Void,
        warnings: warning.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests;
