//! The WHERE clause of SELECT, UPDATE and DELETE (and the key columns of an
//! INSERT), analysed once against the table the way Cassandra does, with the
//! rules of the statement it belongs to ([`Statement`]).
//!
//! Relations are sorted into three parts:
//! - the **partition** restriction ([`partition`]): every partition key column by
//!   `=`/`IN`, a `token(...)` range, or nothing (a full scan);
//! - the **clustering plan** ([`clustering`]): `=`/`IN` on a prefix of the
//!   clustering columns, then at most one range, or multi-column relations
//!   starting at the first clustering column; bound, it becomes storage slices
//!   ([`slices`]) or, for writes, rows;
//! - **filters** ([`filters`]), evaluated on each row after reading: relations on
//!   regular and static columns, `CONTAINS`, clustering relations that cannot be
//!   slices, and on scans every clustering relation. Only reads have them, and
//!   Cassandra runs them only with ALLOW FILTERING.
//!
//! Every clustering relation is also a filter marked `pushed` when the plan
//! covers it, so the same filter list serves partition reads (which skip pushed
//! filters) and scans or virtual tables (which evaluate them all).
//!
//! "No restriction" and "restricted to no value" are different values
//! everywhere: an empty `IN` binds to no partitions ([`BoundPartition::Nothing`])
//! or no clustering prefixes ([`slices::Prefixes::Only`] of nothing), which
//! select no rows and write nothing.

mod clustering;
mod filters;
mod partition;
pub(crate) mod slices;
mod statement;
mod terms;
mod token;

#[cfg(test)]
mod tests;

use cql_lite::ast::{self, InValues, Operator, Relation, RelationTarget};
use cql_lite::types::CqlType;
use cql_lite::{ErrorResponse, Value};
use storage::ClusteringRange;

use crate::cql::bind::{BindTime, Markers};
use crate::cql::error::invalid;
use crate::schema::{ColumnKind, TableDef};

pub(crate) use clustering::ClusteringPlan;
pub(crate) use filters::{BoundFilter, BoundOp, REQUIRES_ALLOW_FILTERING};
pub(crate) use partition::{BoundPartition, compare_tuples};
pub(crate) use statement::Statement;

use clustering::ColumnRelation;
use filters::{Filter, FilterOp};
use partition::{Partition, PartitionRelations};
use terms::{Values, spec};

/// The analysed WHERE clause.
#[derive(Debug, Clone)]
pub(crate) struct Restrictions {
    partition: Partition,
    clustering: ClusteringPlan,
    filters: Vec<Filter>,
    /// Clustering or regular columns are restricted: partitions with only static
    /// content then return nothing (Cassandra's "full partition" rule).
    selects_rows: bool,
}

/// The WHERE clause of a read with one request's values.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    /// What to read.
    pub(crate) partition: BoundPartition,
    /// Clustering slices for partition reads (sorted, disjoint; may be empty: no rows).
    pub(crate) slices: Vec<ClusteringRange>,
    /// Row filters.
    pub(crate) filters: Vec<BoundFilter>,
    /// Whether rows are selected by clustering or regular values.
    pub(crate) selects_rows: bool,
}

/// Collects relations one at a time, in text order (so markers are numbered as
/// Cassandra numbers them), then checks them together.
pub(crate) struct Analyser<'a> {
    table: &'a TableDef,
    statement: Statement,
    partition: PartitionRelations,
    /// Per clustering position: its single-column relations.
    clustering: Vec<Vec<ColumnRelation>>,
    /// Multi-column relations.
    multi: Vec<Filter>,
    /// Relations on static and regular columns, and `CONTAINS`.
    regular: Vec<Filter>,
}

impl Restrictions {
    /// Analyses the WHERE clause of `statement`, registering markers in text order.
    pub(crate) fn analyse(
        table: &TableDef,
        statement: Statement,
        relations: &[Relation],
        markers: &mut Markers,
    ) -> Result<Restrictions, ErrorResponse> {
        let mut analyser = Analyser::new(table, statement);
        for relation in relations {
            analyser.relation(relation, markers)?;
        }
        analyser.finish()
    }

    /// Whether the partition keys are known (`=`/`IN` on all of them).
    pub(crate) fn restricts_partition_keys(&self) -> bool {
        matches!(self.partition, Partition::Keys(_))
    }

    /// The clustering restrictions.
    pub(crate) fn clustering(&self) -> &ClusteringPlan {
        &self.clustering
    }

    /// DISTINCT allows only partition key and static column restrictions.
    pub(crate) fn check_distinct(&self, table: &TableDef) -> Result<(), ErrorResponse> {
        let bad = self.filters.iter().flat_map(|f| &f.columns).find(|&&i| {
            matches!(
                table.columns[i].kind,
                ColumnKind::Clustering | ColumnKind::Regular
            )
        });
        match bad {
            Some(_) => Err(invalid(
                "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns.",
            )),
            None => Ok(()),
        }
    }

    /// The markers binding each partition key column by `=`; empty unless every
    /// one is bound that way (drivers then route by token).
    pub(crate) fn pk_indexes(&self) -> Vec<u16> {
        self.partition.pk_indexes()
    }

    /// The partitions one request addresses.
    pub(crate) fn bind_partition(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<BoundPartition, ErrorResponse> {
        self.partition.bind(table, values, time)
    }

    /// Binds one read request's values.
    pub(crate) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Bound, ErrorResponse> {
        let partition = self.bind_partition(table, values, time)?;
        let slices = if matches!(partition, BoundPartition::Keys(_)) {
            self.clustering.slices(table, values, time)?
        } else {
            vec![ClusteringRange::ALL]
        };
        let filters = self
            .filters
            .iter()
            .map(|f| f.bind(table, values, time))
            .collect::<Result<_, _>>()?;
        Ok(Bound {
            partition,
            slices,
            filters,
            selects_rows: self.selects_rows,
        })
    }
}

impl<'a> Analyser<'a> {
    /// No relations yet.
    pub(crate) fn new(table: &'a TableDef, statement: Statement) -> Self {
        Analyser {
            table,
            statement,
            partition: PartitionRelations {
                eq: vec![None; table.partition_key().count()],
                other: Vec::new(),
                tokens: Vec::new(),
            },
            clustering: table.clustering().map(|_| Vec::new()).collect(),
            multi: Vec::new(),
            regular: Vec::new(),
        }
    }

    /// Adds one WHERE relation, preparing its terms.
    pub(crate) fn relation(
        &mut self,
        relation: &Relation,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        match relation {
            Relation::Compare {
                target: RelationTarget::Token(columns),
                op,
                value,
            } => self.token(columns, *op, value, markers),
            Relation::In {
                target: RelationTarget::Token(_),
                ..
            } => {
                self.check_token()?;
                Err(invalid("IN is not supported with the token() function"))
            }
            Relation::Compare {
                target: RelationTarget::Column(name),
                op,
                value,
            } => self.compare(name, *op, value, markers),
            Relation::In {
                target: RelationTarget::Column(name),
                values,
            } => self.is_in(name, values, markers),
            Relation::Compare {
                target: RelationTarget::Tuple(names),
                op,
                value,
            } => self.tuple_compare(names, *op, value, markers),
            Relation::In {
                target: RelationTarget::Tuple(names),
                values,
            } => self.tuple_in(names, values, markers),
            Relation::Contains { column, key, value } => {
                self.contains(column, *key, value, markers)
            }
        }
    }

    /// `name = term`: an INSERT's key column.
    pub(crate) fn key_value(
        &mut self,
        name: &str,
        term: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        self.compare(name, Operator::Eq, term, markers)
    }

    /// Checks the relations together and plans the partitions and rows.
    pub(crate) fn finish(mut self) -> Result<Restrictions, ErrorResponse> {
        let table = self.table;
        let partition = self.partition.choose(table, self.statement)?;
        let (clustering, ck_filters) =
            clustering::plan(table, self.statement, self.clustering, self.multi)?;
        let keyed = matches!(partition, Partition::Keys(_));
        let filtering = !self.regular.is_empty() || (!keyed && !ck_filters.is_empty());
        if filtering && !self.statement.allow_filtering() {
            return Err(invalid(REQUIRES_ALLOW_FILTERING));
        }
        let selects_rows = !ck_filters.is_empty()
            || self.regular.iter().any(|f| {
                f.columns
                    .iter()
                    .any(|&i| table.columns[i].kind == ColumnKind::Regular)
            });
        let mut filters = self.partition.other;
        filters.extend(ck_filters);
        filters.extend(self.regular);
        Ok(Restrictions {
            partition,
            clustering,
            filters,
            selects_rows,
        })
    }

    /// The index of column `name`; writes accept only primary key columns.
    fn column(&self, name: &str) -> Result<usize, ErrorResponse> {
        let i = self
            .table
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| invalid(format!("Undefined column name {name}")))?;
        let key = matches!(
            self.table.columns[i].kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        );
        if !key && !self.statement.reads() {
            return Err(invalid(format!(
                "Non PRIMARY KEY columns found in where clause: {name}"
            )));
        }
        Ok(i)
    }

    fn unsupported(&self, what: &str) -> ErrorResponse {
        invalid(format!(
            "{what} are not supported in {} statements",
            self.statement.name()
        ))
    }

    fn check_token(&self) -> Result<(), ErrorResponse> {
        if self.statement.allows_token() {
            return Ok(());
        }
        Err(invalid(format!(
            "The token function cannot be used in WHERE clauses for {} statements",
            self.statement.name()
        )))
    }

    fn token(
        &mut self,
        columns: &[String],
        op: Operator,
        value: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        self.check_token()?;
        token::check_columns(self.table, columns)?;
        if op == Operator::NotEq {
            return Err(invalid(format!(
                "Unsupported \"!=\" relation: token({}) != {value:?}",
                columns.join(", ")
            )));
        }
        let term = token::prepare_term(self.table, value, markers)?;
        self.partition.tokens.push((op, term));
        Ok(())
    }

    fn compare(
        &mut self,
        name: &str,
        op: Operator,
        value: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        let i = self.column(name)?;
        if op == Operator::NotEq {
            return Err(invalid(format!(
                "Unsupported \"!=\" relation: {name} != {value:?}"
            )));
        }
        let receiver = spec(
            self.table,
            name.to_owned(),
            self.table.columns[i].ty.clone(),
        );
        let term = terms::prepare(value, &receiver, false, markers)?;
        let values = Values::One(term.clone());
        self.file(i, op, values, FilterOp::Compare(op, term))
    }

    fn is_in(
        &mut self,
        name: &str,
        values: &InValues,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        let i = self.column(name)?;
        let receiver = spec(
            self.table,
            name.to_owned(),
            self.table.columns[i].ty.clone(),
        );
        let values = terms::prepare_in(self.table, &receiver, values, false, markers)?;
        self.file(i, Operator::Eq, values.clone(), FilterOp::In(values))
    }

    /// Files a single-column relation on column `i`.
    fn file(
        &mut self,
        i: usize,
        op: Operator,
        values: Values,
        filter_op: FilterOp,
    ) -> Result<(), ErrorResponse> {
        let column = &self.table.columns[i];
        match column.kind {
            ColumnKind::PartitionKey if op == Operator::Eq => {
                let slot = self
                    .partition
                    .eq
                    .get_mut(column.position)
                    .ok_or_else(|| invalid("partition key position out of range"))?;
                if slot.is_some() {
                    return Err(invalid(format!(
                        "{} cannot be restricted by more than one relation if it includes an Equality",
                        column.name
                    )));
                }
                *slot = Some(values);
            }
            ColumnKind::PartitionKey => self.partition.other.push(Filter::column(i, filter_op)),
            ColumnKind::Clustering => self
                .clustering
                .get_mut(column.position)
                .ok_or_else(|| invalid("clustering position out of range"))?
                .push(ColumnRelation { op, values }),
            ColumnKind::Static | ColumnKind::Regular => {
                self.regular.push(Filter::column(i, filter_op));
            }
        }
        Ok(())
    }

    fn tuple_compare(
        &mut self,
        names: &[String],
        op: Operator,
        value: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        let (columns, receiver) = self.tuple_receiver(names)?;
        if op == Operator::NotEq {
            return Err(invalid("Unsupported \"!=\" relation on a tuple"));
        }
        let term = terms::prepare(value, &receiver, true, markers)?;
        self.multi.push(Filter {
            columns,
            tuple: true,
            op: FilterOp::Compare(op, term),
            pushed: false,
        });
        Ok(())
    }

    fn tuple_in(
        &mut self,
        names: &[String],
        values: &InValues,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        let (columns, receiver) = self.tuple_receiver(names)?;
        let values = terms::prepare_in(self.table, &receiver, values, true, markers)?;
        self.multi.push(Filter {
            columns,
            tuple: true,
            op: FilterOp::In(values),
            pushed: false,
        });
        Ok(())
    }

    /// The columns of a multi-column relation and the tuple receiver they form.
    fn tuple_receiver(
        &self,
        names: &[String],
    ) -> Result<(Vec<usize>, crate::cql::bind::MarkerSpec), ErrorResponse> {
        if !self.statement.allows_multi_column() {
            return Err(self.unsupported("Multi-column relations"));
        }
        let columns = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<Vec<_>, _>>()?;
        let table = self.table;
        if let Some(&bad) = columns
            .iter()
            .find(|&&i| table.columns[i].kind != ColumnKind::Clustering)
        {
            return Err(invalid(format!(
                "Multi-column relations can only be applied to clustering columns but was applied to: {}",
                table.columns[bad].name
            )));
        }
        let ty = CqlType::Tuple(
            columns
                .iter()
                .map(|&i| table.columns[i].ty.clone())
                .collect(),
        );
        let name = format!("({})", names.join(","));
        Ok((columns, spec(table, name, ty)))
    }

    fn contains(
        &mut self,
        column: &str,
        key: bool,
        value: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        if !self.statement.reads() {
            return Err(invalid(format!(
                "Cannot use CONTAINS on column {column} in {} statements",
                self.statement.name()
            )));
        }
        let i = self.column(column)?;
        let (element, name) = contains_receiver(&self.table.columns[i].ty, column, key)?;
        let term = terms::prepare(value, &spec(self.table, name, element), false, markers)?;
        let op = if key {
            FilterOp::ContainsKey(term)
        } else {
            FilterOp::Contains(term)
        };
        // CONTAINS never narrows a read: it is a filter whatever the column.
        let filter = Filter::column(i, op);
        match self.table.columns[i].kind {
            ColumnKind::PartitionKey => self.partition.other.push(filter),
            _ => self.regular.push(filter),
        }
        Ok(())
    }
}

/// The element type and marker name `CONTAINS [KEY]` compares a column with.
fn contains_receiver(
    ty: &CqlType,
    column: &str,
    key: bool,
) -> Result<(CqlType, String), ErrorResponse> {
    match (ty, key) {
        (CqlType::Map { key: k, .. }, true) => Ok((k.as_ref().clone(), format!("key({column})"))),
        (_, true) => Err(invalid(format!(
            "Cannot use CONTAINS KEY on non-map column {column}"
        ))),
        (CqlType::Map { value: v, .. }, false) => {
            Ok((v.as_ref().clone(), format!("value({column})")))
        }
        (CqlType::List { element, .. } | CqlType::Set { element, .. }, false) => {
            Ok((element.as_ref().clone(), format!("value({column})")))
        }
        _ => Err(invalid(format!(
            "Cannot use CONTAINS on non-collection column {column}"
        ))),
    }
}
