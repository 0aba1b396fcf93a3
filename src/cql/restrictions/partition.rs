//! The partition restriction: every partition key column by `=`/`IN` (reads or
//! writes of those partitions), a `token(...)` range (a scan of that range), or
//! nothing the read can use (a full scan).

use cql_lite::ast::Operator;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};
use storage::{DecoratedKey, KeyRange};

use crate::cql::bind::BindTime;
use crate::cql::error::{codec_error, invalid};
use crate::rowcodec;
use crate::schema::TableDef;

use super::filters::{Filter, FilterOp, REQUIRES_ALLOW_FILTERING};
use super::statement::Statement;
use super::terms::{Values, cartesian};
use super::token::{TokenBounds, TokenTerm};

/// The partition restriction, prepared.
#[derive(Debug, Clone)]
pub(super) enum Partition {
    /// No restriction the read can use: a full scan.
    Scan,
    /// Every partition key column by `=` or `IN`, in key order.
    Keys(Vec<Values>),
    /// `token(...)` bounds.
    Tokens(TokenBounds),
}

/// The partitions one request addresses.
#[derive(Debug, Clone)]
pub(crate) enum BoundPartition {
    /// These partitions (sorted by key value, without duplicates), never empty:
    /// decoded values and storage keys.
    Keys(Vec<(Vec<CqlValue>, DecoratedKey)>),
    /// A range of partitions in token order.
    Range(KeyRange),
    /// Nothing can match (an empty IN list, an empty token range).
    Nothing,
}

/// The partition key relations, sorted by kind.
pub(super) struct PartitionRelations {
    /// Per partition key position: its `=`/`IN` values.
    pub(super) eq: Vec<Option<Values>>,
    /// Partition key relations that are not `=`/`IN` (filters).
    pub(super) other: Vec<Filter>,
    /// `token(...)` relations.
    pub(super) tokens: Vec<(Operator, TokenTerm)>,
}

impl PartitionRelations {
    /// Chooses the partition restriction; a partial key becomes filters in
    /// `other` (reads with ALLOW FILTERING only).
    pub(super) fn choose(
        &mut self,
        table: &TableDef,
        statement: Statement,
    ) -> Result<Partition, ErrorResponse> {
        let restricted = self.eq.iter().filter(|v| v.is_some()).count();
        if !self.tokens.is_empty() {
            if restricted > 0 || !self.other.is_empty() {
                let names: Vec<&str> = table.partition_key().map(|c| c.name.as_str()).collect();
                return Err(invalid(format!(
                    "Columns \"{}\" cannot be restricted by both a normal relation and a token relation",
                    names.join(", ")
                )));
            }
            return TokenBounds::new(&self.tokens).map(Partition::Tokens);
        }
        if restricted == self.eq.len() && self.other.is_empty() {
            return Ok(Partition::Keys(
                self.eq.iter_mut().filter_map(Option::take).collect(),
            ));
        }
        if !self.other.is_empty() && !statement.allow_filtering() {
            return Err(invalid(
                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
            ));
        }
        if !statement.reads() {
            return Err(self.missing(table));
        }
        if restricted > 0 && !statement.allow_filtering() {
            return Err(invalid(REQUIRES_ALLOW_FILTERING));
        }
        self.filter_partial_key();
        Ok(Partition::Scan)
    }

    fn missing(&self, table: &TableDef) -> ErrorResponse {
        let missing: Vec<&str> = table
            .partition_key()
            .zip(&self.eq)
            .filter(|(_, v)| v.is_none())
            .map(|(c, _)| c.name.as_str())
            .collect();
        invalid(format!(
            "Some partition key parts are missing: {}",
            missing.join(", ")
        ))
    }

    /// A partial key is filtered on a scan (partition key columns come first in
    /// the table, so a key position is also the column's index).
    fn filter_partial_key(&mut self) {
        for (position, values) in self.eq.iter_mut().enumerate() {
            if let Some(values) = values.take() {
                self.other
                    .push(Filter::column(position, FilterOp::In(values)));
            }
        }
    }
}

impl Partition {
    /// The markers binding each partition key column by `=`; empty unless every
    /// one is bound that way.
    pub(super) fn pk_indexes(&self) -> Vec<u16> {
        let Partition::Keys(values) = self else {
            return Vec::new();
        };
        let indexes: Option<Vec<u16>> = values.iter().map(Values::marker_index).collect();
        indexes.unwrap_or_default()
    }

    /// The partitions of one request.
    pub(super) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<BoundPartition, ErrorResponse> {
        match self {
            Partition::Scan => Ok(BoundPartition::Range(KeyRange::ALL)),
            Partition::Keys(columns) => bind_keys(table, columns, values, time),
            Partition::Tokens(bounds) => Ok(bounds
                .bind(table, values, time)?
                .map_or(BoundPartition::Nothing, BoundPartition::Range)),
        }
    }
}

fn bind_keys(
    table: &TableDef,
    columns: &[Values],
    values: &[Value],
    time: BindTime,
) -> Result<BoundPartition, ErrorResponse> {
    let types: Vec<&CqlType> = table.partition_key().map(|c| &c.ty).collect();
    let per_column = columns
        .iter()
        .zip(table.partition_key())
        .map(|(v, c)| v.bind(values, time, &c.name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut combos = cartesian(per_column)?;
    combos.sort_by(|a, b| compare_tuples(&types, a, b));
    combos.dedup_by(|a, b| compare_tuples(&types, a, b).is_eq());
    if combos.is_empty() {
        return Ok(BoundPartition::Nothing);
    }
    let keys = combos
        .into_iter()
        .map(|combo| {
            let key = rowcodec::partition_key(table, &combo).map_err(codec_error)?;
            Ok((combo, key))
        })
        .collect::<Result<_, ErrorResponse>>()?;
    Ok(BoundPartition::Keys(keys))
}

/// Compares value tuples component by component in CQL order (values that do not
/// match their type compare equal; binding has already type-checked them).
pub(crate) fn compare_tuples(
    types: &[&CqlType],
    a: &[CqlValue],
    b: &[CqlValue],
) -> std::cmp::Ordering {
    for ((ty, x), y) in types.iter().zip(a).zip(b) {
        let ord = cql_lite::value::compare(ty, x, y).unwrap_or(std::cmp::Ordering::Equal);
        if ord.is_ne() {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}
