//! The primary key part of a write: the WHERE clause of UPDATE and DELETE, and the
//! key columns of INSERT, analysed by [`crate::cql::restrictions`] with the
//! statement's rules. Bound, it gives the partitions and the rows (or row ranges)
//! written.

use cql_lite::byte_comparable::ClusteringLayout;
use cql_lite::{ErrorResponse, Value, ast};
use storage::{ClusteringKey, ClusteringRange, DecoratedKey};

use crate::cql::bind::{BindTime, Markers};
use crate::cql::error::{MAX_KEY_LENGTH, invalid};
use crate::cql::restrictions::slices::{self, Prefixes};
use crate::cql::restrictions::{Analyser, BoundPartition, Restrictions, Statement};
use crate::rowcodec;
use crate::schema::{ColumnDef, TableDef};

pub(super) use crate::cql::error::codec_error;

use super::Kind;

/// Collects the key restrictions of a statement, in text order.
pub(super) struct KeyBuilder<'a> {
    analyser: Analyser<'a>,
    clustering_columns: usize,
}

/// The validated key restrictions of a statement.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    restrictions: Restrictions,
    /// How many clustering columns the table has.
    clustering_columns: usize,
}

/// The rows of each partition a statement addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// No clustering column restricted (the table has some): the partition itself.
    Partition,
    /// Whole rows (none when an `IN` is empty).
    Rows(Vec<ClusteringKey>),
    /// Row ranges: prefixes and slices (DELETE only; none when an `IN` is empty).
    Ranges(Vec<ClusteringRange>),
}

impl<'a> KeyBuilder<'a> {
    /// An empty set of restrictions for a `kind` statement.
    pub(super) fn new(table: &'a TableDef, kind: Kind) -> Self {
        let statement = match kind {
            Kind::Insert => Statement::Insert,
            Kind::Update => Statement::Update,
            Kind::Delete => Statement::Delete,
        };
        KeyBuilder {
            analyser: Analyser::new(table, statement),
            clustering_columns: table.clustering().count(),
        }
    }

    /// Adds one WHERE relation, preparing its terms.
    pub(super) fn relation(
        &mut self,
        relation: &ast::Relation,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        self.analyser.relation(relation, markers)
    }

    /// `column = term`: an INSERT's key value.
    pub(super) fn eq(
        &mut self,
        column: &ColumnDef,
        term: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        self.analyser.key_value(&column.name, term, markers)
    }

    /// Checks the partition key is complete and the clustering restrictions
    /// form a prefix, optionally ended by one slice (DELETE only).
    pub(super) fn finish(self) -> Result<Keys, ErrorResponse> {
        Ok(Keys {
            restrictions: self.analyser.finish()?,
            clustering_columns: self.clustering_columns,
        })
    }
}

impl Keys {
    /// Whether every clustering column is restricted to values (always true for
    /// a table without clustering columns).
    pub(super) fn is_full_row(&self) -> bool {
        let plan = self.restrictions.clustering();
        !plan.has_range() && plan.fixed_columns() == self.clustering_columns
    }

    /// How many leading clustering columns are restricted to values.
    pub(super) fn clustering_prefix_len(&self) -> usize {
        self.restrictions.clustering().fixed_columns()
    }

    /// Whether any clustering column is restricted.
    pub(super) fn restricts_clustering(&self) -> bool {
        !self.restrictions.clustering().is_unrestricted()
    }

    /// The marker index binding each partition key column, when each is one `= ?`.
    pub(super) fn pk_indexes(&self) -> Vec<u16> {
        self.restrictions.pk_indexes()
    }

    /// The partitions written, in token order and without duplicates; none
    /// when an `IN` is empty.
    pub(super) fn partition_keys(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Vec<DecoratedKey>, ErrorResponse> {
        let keys = match self.restrictions.bind_partition(table, values, time)? {
            BoundPartition::Keys(keys) => keys,
            BoundPartition::Nothing => return Ok(Vec::new()),
            BoundPartition::Range(_) => return Err(invalid("A write needs its partition keys")),
        };
        let mut keys = keys
            .into_iter()
            .map(|(_, key)| check_key(key))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The rows or ranges written in each partition.
    pub(super) fn target(
        &self,
        table: &TableDef,
        layout: &ClusteringLayout,
        values: &[Value],
        time: BindTime,
    ) -> Result<Target, ErrorResponse> {
        if self.clustering_columns == 0 {
            // The partition key names the table's only row.
            let key = rowcodec::clustering_key(layout, &[]).map_err(codec_error)?;
            return Ok(Target::Rows(vec![key]));
        }
        let plan = self.restrictions.clustering();
        if plan.is_unrestricted() {
            return Ok(Target::Partition);
        }
        let bounds = plan.bind(table, values, time)?;
        if !self.is_full_row() {
            return Ok(Target::Ranges(slices::build(layout, &bounds)?));
        }
        let Prefixes::Only(prefixes) = bounds.prefixes else {
            return Err(invalid("A full row restriction without clustering values"));
        };
        let mut keys = prefixes
            .iter()
            .map(|p| rowcodec::clustering_key(layout, p).map_err(codec_error))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        keys.dedup();
        Ok(Target::Rows(keys))
    }
}

/// Refuses keys Cassandra cannot store.
fn check_key(key: DecoratedKey) -> Result<DecoratedKey, ErrorResponse> {
    if key.key.is_empty() {
        return Err(invalid("Key may not be empty"));
    }
    if key.key.len() > MAX_KEY_LENGTH {
        return Err(invalid(format!(
            "Key length of {} is longer than maximum of {MAX_KEY_LENGTH}",
            key.key.len()
        )));
    }
    Ok(key)
}
