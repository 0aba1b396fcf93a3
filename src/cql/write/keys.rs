//! The primary key part of a write: the WHERE clause of UPDATE and DELETE, and the
//! key columns of INSERT. Prepared, it says which key columns are restricted and
//! how; bound, it gives the partitions and the rows (or row ranges) written.

use cql_lite::byte_comparable::{ClusteringLayout, Order};
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value, ast};
use storage::{Bound as RangeBound, ClusteringKey, ClusteringRange, DecoratedKey};

use crate::cql::bind::{BindTime, Bound, MarkerSpec, Markers, Term};
use crate::cql::error::invalid;
use crate::rowcodec::{self, CodecError};
use crate::schema::{ColumnDef, ColumnKind, TableDef};

/// The most partitions or rows one statement may address through `IN`s, so a
/// few short lists cannot multiply into an unbounded amount of work.
const MAX_KEY_COMBINATIONS: usize = 65_536;

/// The longest partition key Cassandra accepts.
const MAX_KEY_LENGTH: usize = 65_535;

/// The values one key column is restricted to.
#[derive(Debug, Clone)]
pub(super) enum Values {
    /// `c = v`.
    Eq(Term),
    /// `c IN (a, b)`.
    In(Vec<Term>),
    /// `c IN ?`: one list-typed marker.
    InMarker(Term),
}

/// A range restriction on one clustering column; the flags say inclusive.
#[derive(Debug, Clone, Default)]
pub(super) struct Slice {
    lower: Option<(Term, bool)>,
    upper: Option<(Term, bool)>,
}

#[derive(Debug, Clone)]
enum Restriction {
    Values(Values),
    Slice(Slice),
}

/// Collects the key restrictions of a statement, in text order.
#[derive(Debug)]
pub(super) struct KeyBuilder<'a> {
    table: &'a TableDef,
    kind: &'static str,
    partition: Vec<Option<Values>>,
    clustering: Vec<Option<Restriction>>,
}

/// The validated key restrictions of a statement.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    /// One entry per partition key column.
    partition: Vec<Values>,
    /// The restricted prefix of the clustering columns.
    clustering: Vec<Values>,
    /// A range on the clustering column after the prefix (DELETE only).
    slice: Option<Slice>,
    /// How many clustering columns the table has.
    clustering_columns: usize,
}

/// The rows of each partition a statement addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// No clustering column restricted (the table has some): the partition itself.
    Partition,
    /// Whole rows.
    Rows(Vec<ClusteringKey>),
    /// Row ranges: prefixes and slices (DELETE only).
    Ranges(Vec<ClusteringRange>),
}

impl<'a> KeyBuilder<'a> {
    /// An empty set of restrictions for a `kind` ("INSERT", "UPDATE", "DELETE") statement.
    pub(super) fn new(table: &'a TableDef, kind: &'static str) -> Self {
        KeyBuilder {
            table,
            kind,
            partition: vec![None; table.partition_key().count()],
            clustering: vec![None; table.clustering().count()],
        }
    }

    /// The spec of a marker that binds `column` (or a list of its values).
    fn spec(&self, column: &ColumnDef, in_list: bool) -> MarkerSpec {
        MarkerSpec {
            keyspace: self.table.keyspace.clone(),
            table: self.table.name.clone(),
            name: if in_list {
                format!("in({})", column.name)
            } else {
                column.name.clone()
            },
            ty: if in_list {
                CqlType::list(column.ty.clone(), false)
            } else {
                column.ty.clone()
            },
        }
    }

    fn key_column(&self, name: &str) -> Result<&'a ColumnDef, ErrorResponse> {
        let column = self
            .table
            .column(name)
            .ok_or_else(|| invalid(format!("Undefined column name {name}")))?;
        match column.kind {
            ColumnKind::PartitionKey | ColumnKind::Clustering => Ok(column),
            _ => Err(invalid(format!(
                "Non PRIMARY KEY columns found in where clause: {name}"
            ))),
        }
    }

    /// Adds one WHERE relation, preparing its terms.
    pub(super) fn relation(
        &mut self,
        relation: &ast::Relation,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        use ast::RelationTarget as T;
        match relation {
            ast::Relation::Compare {
                target: T::Column(name),
                op,
                value,
            } => {
                let column = self.key_column(name)?;
                let term = Term::prepare(value, &self.spec(column, false), markers)?;
                self.compare(column, *op, term)
            }
            ast::Relation::In {
                target: T::Column(name),
                values,
            } => {
                let column = self.key_column(name)?;
                let values = match values {
                    ast::InValues::Terms(terms) => {
                        let spec = self.spec(column, false);
                        Values::In(
                            terms
                                .iter()
                                .map(|t| Term::prepare(t, &spec, markers))
                                .collect::<Result<_, _>>()?,
                        )
                    }
                    ast::InValues::Marker(m) => Values::InMarker(Term::prepare(
                        &ast::Term::BindMarker(m.clone()),
                        &self.spec(column, true),
                        markers,
                    )?),
                };
                self.values(column, values)
            }
            ast::Relation::Compare {
                target: T::Token(_),
                ..
            }
            | ast::Relation::In {
                target: T::Token(_),
                ..
            } => Err(invalid(format!(
                "The token function cannot be used in WHERE clauses for {} statements",
                self.kind
            ))),
            ast::Relation::Compare {
                target: T::Tuple(_),
                ..
            }
            | ast::Relation::In {
                target: T::Tuple(_),
                ..
            } => Err(invalid(format!(
                "Multi-column relations are not supported in {} statements",
                self.kind
            ))),
            ast::Relation::Contains { column, .. } => Err(invalid(format!(
                "Cannot use CONTAINS on column {column} in {} statements",
                self.kind
            ))),
        }
    }

    fn compare(
        &mut self,
        column: &ColumnDef,
        op: ast::Operator,
        term: Term,
    ) -> Result<(), ErrorResponse> {
        use ast::Operator as Op;
        let (is_lower, inclusive) = match op {
            Op::Eq => return self.values(column, Values::Eq(term)),
            Op::NotEq => {
                return Err(invalid(format!(
                    "Unsupported \"!=\" relation on column \"{}\"",
                    column.name
                )));
            }
            Op::Gt => (true, false),
            Op::GtEq => (true, true),
            Op::Lt => (false, false),
            Op::LtEq => (false, true),
        };
        if column.kind == ColumnKind::PartitionKey {
            return Err(invalid(
                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
            ));
        }
        let slot = &mut self.clustering[column.position];
        let slice = match slot.get_or_insert_with(|| Restriction::Slice(Slice::default())) {
            Restriction::Slice(s) => s,
            Restriction::Values(_) => return Err(more_than_one(column)),
        };
        let side = if is_lower {
            &mut slice.lower
        } else {
            &mut slice.upper
        };
        if side.is_some() {
            return Err(invalid(format!(
                "More than one restriction was found for the {} bound on {}",
                if is_lower { "start" } else { "end" },
                column.name
            )));
        }
        *side = Some((term, inclusive));
        Ok(())
    }

    /// `column = term`: an INSERT's key value.
    pub(super) fn eq(
        &mut self,
        column: &ColumnDef,
        term: &ast::Term,
        markers: &mut Markers,
    ) -> Result<(), ErrorResponse> {
        let term = Term::prepare(term, &self.spec(column, false), markers)?;
        self.values(column, Values::Eq(term))
    }

    /// Restricts a key column to values (`=` or `IN`).
    fn values(&mut self, column: &ColumnDef, values: Values) -> Result<(), ErrorResponse> {
        let slot_taken = match column.kind {
            ColumnKind::PartitionKey => self.partition[column.position].replace(values).is_some(),
            _ => self.clustering[column.position]
                .replace(Restriction::Values(values))
                .is_some(),
        };
        if slot_taken {
            return Err(more_than_one(column));
        }
        Ok(())
    }

    /// Checks the partition key is complete and the clustering restrictions
    /// form a prefix, optionally ended by one slice.
    pub(super) fn finish(self) -> Result<Keys, ErrorResponse> {
        let missing: Vec<&str> = self
            .table
            .partition_key()
            .zip(&self.partition)
            .filter(|(_, v)| v.is_none())
            .map(|(c, _)| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!(
                "Some partition key parts are missing: {}",
                missing.join(", ")
            )));
        }
        let partition = self.partition.into_iter().flatten().collect();
        let names: Vec<&str> = self.table.clustering().map(|c| c.name.as_str()).collect();
        let clustering_columns = names.len();
        let mut prefix = Vec::new();
        let mut slice = None;
        let mut gap: Option<(usize, bool)> = None;
        for (i, restriction) in self.clustering.into_iter().enumerate() {
            let Some(restriction) = restriction else {
                gap.get_or_insert((i, false));
                continue;
            };
            if let Some((at, after_slice)) = gap {
                let previous = names[at];
                return Err(invalid(if after_slice {
                    format!(
                        "Clustering column \"{}\" cannot be restricted (preceding column \"{previous}\" is restricted by a non-EQ relation)",
                        names[i]
                    )
                } else {
                    format!(
                        "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{previous}\" is not restricted",
                        names[i]
                    )
                }));
            }
            match restriction {
                Restriction::Values(v) => prefix.push(v),
                Restriction::Slice(s) => {
                    slice = Some(s);
                    gap = Some((i, true));
                }
            }
        }
        Ok(Keys {
            partition,
            clustering: prefix,
            slice,
            clustering_columns,
        })
    }
}

fn more_than_one(column: &ColumnDef) -> ErrorResponse {
    invalid(format!(
        "{} cannot be restricted by more than one relation if it includes an Equal",
        column.name
    ))
}

impl Keys {
    /// Whether every clustering column is restricted to values (always true for
    /// a table without clustering columns).
    pub(super) fn is_full_row(&self) -> bool {
        self.slice.is_none() && self.clustering.len() == self.clustering_columns
    }

    /// How many leading clustering columns are restricted to values.
    pub(super) fn clustering_prefix_len(&self) -> usize {
        self.clustering.len()
    }

    /// Whether any clustering column is restricted.
    pub(super) fn restricts_clustering(&self) -> bool {
        !self.clustering.is_empty() || self.slice.is_some()
    }

    /// Whether a clustering column has a range restriction.
    pub(super) fn has_slice(&self) -> bool {
        self.slice.is_some()
    }

    /// The marker index binding each partition key column, when each is one `= ?`.
    pub(super) fn pk_indexes(&self) -> Vec<u16> {
        let indexes: Option<Vec<u16>> = self
            .partition
            .iter()
            .map(|v| match v {
                Values::Eq(Term::Marker { index, .. }) => u16::try_from(*index).ok(),
                _ => None,
            })
            .collect();
        indexes.unwrap_or_default()
    }

    /// The partitions written, sorted and without duplicates.
    pub(super) fn partition_keys(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Vec<DecoratedKey>, ErrorResponse> {
        let columns: Vec<&ColumnDef> = table.partition_key().collect();
        let per_column = self
            .partition
            .iter()
            .zip(&columns)
            .map(|(v, c)| bind_values(v, c, values, time))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys = product(per_column)?
            .iter()
            .map(|combination| partition_key(table, combination))
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
        if self.clustering_columns > 0 && !self.restricts_clustering() {
            return Ok(Target::Partition);
        }
        let columns: Vec<&ColumnDef> = table.clustering().collect();
        let per_column = self
            .clustering
            .iter()
            .zip(&columns)
            .map(|(v, c)| bind_values(v, c, values, time))
            .collect::<Result<Vec<_>, _>>()?;
        let prefixes = product(per_column)?;
        if self.is_full_row() {
            let mut keys = prefixes
                .iter()
                .map(|p| rowcodec::clustering_key(layout, p).map_err(codec_error))
                .collect::<Result<Vec<_>, _>>()?;
            keys.sort();
            keys.dedup();
            return Ok(Target::Rows(keys));
        }
        let mut ranges = Vec::with_capacity(prefixes.len());
        for prefix in &prefixes {
            let range = match &self.slice {
                None => ClusteringRange::prefix(
                    rowcodec::clustering_key(layout, prefix).map_err(codec_error)?,
                ),
                Some(slice) => {
                    let column = columns.get(prefix.len()).copied();
                    let column = column.ok_or_else(|| invalid("slice past the clustering key"))?;
                    slice_range(slice, column, layout, prefix, values, time)?
                }
            };
            if !range.is_empty() {
                ranges.push(range);
            }
        }
        Ok(Target::Ranges(ranges))
    }
}

/// The storage range of `prefix` followed by `slice` on `column`.
fn slice_range(
    slice: &Slice,
    column: &ColumnDef,
    layout: &ClusteringLayout,
    prefix: &[CqlValue],
    values: &[Value],
    time: BindTime,
) -> Result<ClusteringRange, ErrorResponse> {
    let bound = |side: &Option<(Term, bool)>| -> Result<RangeBound, ErrorResponse> {
        let Some((term, inclusive)) = side else {
            return Ok(if prefix.is_empty() {
                RangeBound::Unbounded
            } else {
                RangeBound::Inclusive(
                    rowcodec::clustering_key(layout, prefix).map_err(codec_error)?,
                )
            });
        };
        let mut key = prefix.to_vec();
        key.push(bind_one(term, column, values, time)?);
        let key = rowcodec::clustering_key(layout, &key).map_err(codec_error)?;
        Ok(if *inclusive {
            RangeBound::Inclusive(key)
        } else {
            RangeBound::Exclusive(key)
        })
    };
    let (lower, upper) = (bound(&slice.lower)?, bound(&slice.upper)?);
    // A descending column stores larger values first: CQL's lower bound ends the range.
    Ok(match column.order {
        Order::Asc => ClusteringRange::new(lower, upper),
        Order::Desc => ClusteringRange::new(upper, lower),
    })
}

fn bind_one(
    term: &Term,
    column: &ColumnDef,
    values: &[Value],
    time: BindTime,
) -> Result<CqlValue, ErrorResponse> {
    match term.bind(values, time)? {
        Bound::Value(v) => Ok(v),
        Bound::Null => Err(invalid(format!(
            "Invalid null value in condition for column {}",
            column.name
        ))),
        Bound::Unset => Err(invalid(format!(
            "Invalid unset value for column {}",
            column.name
        ))),
    }
}

fn bind_values(
    restriction: &Values,
    column: &ColumnDef,
    values: &[Value],
    time: BindTime,
) -> Result<Vec<CqlValue>, ErrorResponse> {
    match restriction {
        Values::Eq(t) => Ok(vec![bind_one(t, column, values, time)?]),
        Values::In(terms) => terms
            .iter()
            .map(|t| bind_one(t, column, values, time))
            .collect(),
        Values::InMarker(t) => match bind_one(t, column, values, time)? {
            CqlValue::List(items) => Ok(items),
            other => Err(invalid(format!(
                "Invalid IN value {other:?} for column {}",
                column.name
            ))),
        },
    }
}

/// Every combination of one value per column.
fn product(per_column: Vec<Vec<CqlValue>>) -> Result<Vec<Vec<CqlValue>>, ErrorResponse> {
    let count = per_column
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()))
        .filter(|n| *n <= MAX_KEY_COMBINATIONS);
    if count.is_none() {
        return Err(invalid(format!(
            "IN restrictions address more than {MAX_KEY_COMBINATIONS} keys"
        )));
    }
    let mut out = vec![Vec::new()];
    for column in per_column {
        out = out
            .iter()
            .flat_map(|p| {
                column.iter().map(move |v| {
                    let mut next = p.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(out)
}

fn partition_key(table: &TableDef, values: &[CqlValue]) -> Result<DecoratedKey, ErrorResponse> {
    let key = rowcodec::partition_key(table, values).map_err(codec_error)?;
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

/// A value that does not fit its column or key, as the client's error.
pub(super) fn codec_error(error: CodecError) -> ErrorResponse {
    match error {
        CodecError::KeyTooLong(e) => invalid(format!(
            "Key length of {} is longer than maximum of {MAX_KEY_LENGTH}",
            e.0
        )),
        other => invalid(other.to_string()),
    }
}
