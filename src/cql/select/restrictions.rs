//! The WHERE clause of a SELECT, checked the way Cassandra checks it.
//!
//! Relations are sorted into three parts:
//! - the **partition** restriction: every partition key column by `=`/`IN` (reads of
//!   those partitions), a `token(...)` range (a scan of that range), or nothing (a
//!   full scan);
//! - the **clustering slice plan**: `=`/`IN` on a prefix of the clustering columns,
//!   then at most one range, or multi-column relations starting at the first
//!   clustering column; on partition reads these become storage slices;
//! - **filters**, evaluated on each row after reading: relations on regular and
//!   static columns, `CONTAINS`, clustering relations that cannot be slices, and on
//!   scans every clustering relation. Cassandra only runs these with ALLOW FILTERING.
//!
//! Every clustering relation is also a filter marked `pushed` when the slice plan
//! covers it, so the same filter list serves reads (which skip pushed filters) and
//! scans or virtual tables (which evaluate them all).

use cql_lite::ast::{self, InValues, Operator, Relation, RelationTarget};
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};
use storage::{ClusteringRange, KeyRange, PartitionBound, PartitionPosition, Token};

use crate::cql::bind::{BindTime, MarkerSpec, Markers, Term};
use crate::cql::error::invalid;
use crate::rowcodec;
use crate::schema::{ColumnKind, TableDef};

use super::slices;

/// The message Cassandra gives for queries that need ALLOW FILTERING.
pub(super) const REQUIRES_ALLOW_FILTERING: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

/// The right-hand side of `=` or `IN`.
#[derive(Debug, Clone)]
pub(super) enum Values {
    /// `= term`, or an `IN` list of one.
    One(Term),
    /// `IN (a, b)`.
    List(Vec<Term>),
    /// `IN ?`: one marker holding a list.
    Marker(Term),
}

/// A `token(...)` comparison's right-hand side.
#[derive(Debug, Clone)]
pub(super) enum TokenTerm {
    /// A bigint token.
    Value(Term),
    /// `token(a, b)` of partition key values.
    Key(Vec<Term>),
}

/// The partition restriction, prepared.
#[derive(Debug, Clone)]
pub(super) enum Partition {
    /// No restriction the read can use: a full scan.
    Scan,
    /// Every partition key column by `=` or `IN`, in key order.
    Keys(Vec<Values>),
    /// `token(...)` bounds: (term, inclusive) for the start and the end.
    Tokens {
        start: Vec<(TokenTerm, bool)>,
        end: Vec<(TokenTerm, bool)>,
    },
}

/// One end of a clustering range: a column's or a tuple's value.
#[derive(Debug, Clone)]
pub(super) struct RangeBound {
    term: Term,
    tuple: bool,
    inclusive: bool,
}

/// What storage slices are built from (used when the partition keys are known).
#[derive(Debug, Clone, Default)]
pub(super) struct SlicePlan {
    /// `=`/`IN` on clustering columns 0, 1, ...: one entry per column, or one entry of
    /// tuples for a multi-column `=`/`IN` (`tuple_prefix`).
    prefix: Vec<Values>,
    tuple_prefix: bool,
    /// A range on the next column (or on a tuple starting at column 0).
    lower: Vec<RangeBound>,
    upper: Vec<RangeBound>,
}

/// A filter's operation.
#[derive(Debug, Clone)]
pub(super) enum FilterOp {
    /// `=`, `<`, `<=`, `>`, `>=`.
    Compare(Operator, Term),
    /// `IN`.
    In(Values),
    /// `CONTAINS`.
    Contains(Term),
    /// `CONTAINS KEY`.
    ContainsKey(Term),
}

/// A relation evaluated on rows.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    /// Table column indexes (more than one for a tuple relation).
    columns: Vec<usize>,
    tuple: bool,
    op: FilterOp,
    /// Whether partition reads already enforce it through slices.
    pushed: bool,
}

/// The analysed WHERE clause.
#[derive(Debug, Clone)]
pub(super) struct Restrictions {
    partition: Partition,
    slices: SlicePlan,
    filters: Vec<Filter>,
    /// Clustering or regular columns are restricted: partitions with only static
    /// content then return nothing (Cassandra's "full partition" rule).
    selects_rows: bool,
}

/// A relation sorted by what it restricts, before the checks.
#[derive(Default)]
struct Sorted {
    /// Per partition key position: `=`/`IN` values.
    pk_eq: Vec<Option<Values>>,
    /// Partition key relations that are not `=`/`IN` (filters).
    pk_other: Vec<Filter>,
    tokens: Vec<(Operator, TokenTerm)>,
    /// Per clustering position: (op, value) relations and IN lists.
    ck: Vec<Vec<ColumnRelation>>,
    multi: Vec<Filter>,
    regular: Vec<Filter>,
}

/// One single-column clustering relation.
struct ColumnRelation {
    op: Operator,
    values: Values,
}

impl Restrictions {
    /// Analyses `relations`, registering markers in text order.
    pub(super) fn prepare(
        table: &TableDef,
        relations: &[Relation],
        allow_filtering: bool,
        markers: &mut Markers,
    ) -> Result<Restrictions, ErrorResponse> {
        let mut sorted = Sorted {
            pk_eq: vec![None; table.partition_key().count()],
            ck: (0..table.clustering().count())
                .map(|_| Vec::new())
                .collect(),
            ..Sorted::default()
        };
        for relation in relations {
            sort_relation(table, relation, &mut sorted, markers)?;
        }
        let partition = partition(table, &mut sorted, allow_filtering)?;
        let (slices, ck_filters) = if sorted.multi.is_empty() {
            single_column_slices(table, std::mem::take(&mut sorted.ck), allow_filtering)?
        } else {
            if sorted.ck.iter().any(|c| !c.is_empty()) {
                return Err(invalid(
                    "Mixing single column relations and multi column relations on clustering columns is not allowed",
                ));
            }
            multi_column_slices(table, std::mem::take(&mut sorted.multi), allow_filtering)?
        };
        let keyed = matches!(partition, Partition::Keys(_));
        if !allow_filtering && (!sorted.regular.is_empty() || (!keyed && !ck_filters.is_empty())) {
            return Err(invalid(REQUIRES_ALLOW_FILTERING));
        }
        let selects_rows = !ck_filters.is_empty()
            || sorted.regular.iter().any(|f| {
                f.columns
                    .iter()
                    .any(|&i| table.columns[i].kind == ColumnKind::Regular)
            });
        let mut filters = sorted.pk_other;
        filters.extend(ck_filters);
        filters.extend(sorted.regular);
        Ok(Restrictions {
            partition,
            slices,
            filters,
            selects_rows,
        })
    }

    /// Whether the partition keys are known (`=`/`IN` on all of them).
    pub(super) fn restricts_partition_keys(&self) -> bool {
        matches!(self.partition, Partition::Keys(_))
    }

    /// DISTINCT allows only partition key and static column restrictions.
    pub(super) fn check_distinct(&self, table: &TableDef) -> Result<(), ErrorResponse> {
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

    /// The markers binding each partition key column by `=`.
    pub(super) fn pk_indexes(&self) -> Vec<u16> {
        let Partition::Keys(values) = &self.partition else {
            return Vec::new();
        };
        let indexes: Option<Vec<u16>> = values
            .iter()
            .map(|v| match v {
                Values::One(Term::Marker { index, .. }) => u16::try_from(*index).ok(),
                _ => None,
            })
            .collect();
        indexes.unwrap_or_default()
    }

    /// Binds one request's values.
    pub(super) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Bound, ErrorResponse> {
        let partition = match &self.partition {
            Partition::Scan => BoundPartition::Range(KeyRange::ALL),
            Partition::Keys(columns) => bind_keys(table, columns, values, time)?,
            Partition::Tokens { start, end } => bind_tokens(table, start, end, values, time)?,
        };
        let slices = if matches!(partition, BoundPartition::Keys(_)) {
            slices::build(table, &bind_slices(&self.slices, values, time)?)?
        } else {
            vec![ClusteringRange::ALL]
        };
        let filters = self
            .filters
            .iter()
            .map(|f| f.bind(values, time))
            .collect::<Result<_, _>>()?;
        Ok(Bound {
            partition,
            slices,
            filters,
            selects_rows: self.selects_rows,
        })
    }
}

/// The partitions a request reads.
#[derive(Debug, Clone)]
pub(super) enum BoundPartition {
    /// These partitions (sorted by key value, without duplicates): decoded values and
    /// storage keys.
    Keys(Vec<(Vec<CqlValue>, storage::DecoratedKey)>),
    /// A range of partitions in token order.
    Range(KeyRange),
    /// Nothing can match (an empty IN list, an empty token range).
    Nothing,
}

/// A filter with its values bound.
#[derive(Debug, Clone)]
pub(super) struct BoundFilter {
    /// Table column indexes.
    pub(super) columns: Vec<usize>,
    /// The operation.
    pub(super) op: BoundOp,
    /// Whether partition reads already enforce it.
    pub(super) pushed: bool,
}

/// A bound filter operation; single-column values are one-element tuples.
#[derive(Debug, Clone)]
pub(super) enum BoundOp {
    /// Compare the column (tuple) with a value (tuple).
    Compare(Operator, Vec<CqlValue>),
    /// Equal to one of these.
    In(Vec<Vec<CqlValue>>),
    /// The collection holds this element (value, for maps).
    Contains(CqlValue),
    /// The map holds this key.
    ContainsKey(CqlValue),
}

/// The WHERE clause with one request's values.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    /// What to read.
    pub(super) partition: BoundPartition,
    /// Clustering slices for partition reads (sorted, disjoint; may be empty: no rows).
    pub(super) slices: Vec<ClusteringRange>,
    /// Row filters.
    pub(super) filters: Vec<BoundFilter>,
    /// Whether rows are selected by clustering or regular values.
    pub(super) selects_rows: bool,
}

fn spec(table: &TableDef, name: String, ty: CqlType) -> MarkerSpec {
    MarkerSpec {
        keyspace: table.keyspace.clone(),
        table: table.name.clone(),
        name,
        ty,
    }
}

fn column_index(table: &TableDef, name: &str) -> Result<usize, ErrorResponse> {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| invalid(format!("Undefined column name {name}")))
}

/// Prepares the right-hand side of `=`/`IN` for a receiver.
fn prepare_values(
    table: &TableDef,
    receiver: &MarkerSpec,
    values: &InValues,
    markers: &mut Markers,
) -> Result<Values, ErrorResponse> {
    match values {
        InValues::Terms(terms) => Ok(Values::List(
            terms
                .iter()
                .map(|t| prepare_term(t, receiver, markers))
                .collect::<Result<_, _>>()?,
        )),
        InValues::Marker(marker) => {
            let list = spec(
                table,
                format!("in({})", receiver.name),
                CqlType::list(receiver.ty.clone(), false),
            );
            Ok(Values::Marker(Term::prepare(
                &ast::Term::BindMarker(marker.clone()),
                &list,
                markers,
            )?))
        }
    }
}

/// Prepares a term; a tuple literal for a tuple receiver gets one receiver per
/// component, named after the columns, as Cassandra names its markers.
fn prepare_term(
    term: &ast::Term,
    receiver: &MarkerSpec,
    markers: &mut Markers,
) -> Result<Term, ErrorResponse> {
    let (ast::Term::Tuple(items), CqlType::Tuple(types)) = (term, &receiver.ty) else {
        return Term::prepare(term, receiver, markers);
    };
    if items.len() != types.len() {
        return Err(invalid(format!(
            "Expected {} elements in value tuple, but got {}: {term:?}",
            types.len(),
            items.len()
        )));
    }
    let names: Vec<&str> = receiver
        .name
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .collect();
    let parts = items
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (item, ty))| {
            let name = names.get(i).copied().unwrap_or_default().to_owned();
            let element = MarkerSpec {
                name,
                ty: ty.clone(),
                ..receiver.clone()
            };
            Term::prepare(item, &element, markers)
        })
        .collect::<Result<_, _>>()?;
    Ok(Term::Composite {
        ty: receiver.ty.clone(),
        parts,
    })
}

/// Files one relation under what it restricts.
fn sort_relation(
    table: &TableDef,
    relation: &Relation,
    sorted: &mut Sorted,
    markers: &mut Markers,
) -> Result<(), ErrorResponse> {
    match relation {
        Relation::Compare {
            target: RelationTarget::Token(columns),
            op,
            value,
        } => {
            check_token_columns(table, columns)?;
            if *op == Operator::NotEq {
                return Err(invalid(format!(
                    "Unsupported \"!=\" relation: {relation:?}"
                )));
            }
            let term = prepare_token_term(table, value, markers)?;
            sorted.tokens.push((*op, term));
            Ok(())
        }
        Relation::In {
            target: RelationTarget::Token(_),
            ..
        } => Err(invalid("IN is not supported with the token() function")),
        Relation::Compare {
            target: RelationTarget::Column(name),
            op,
            value,
        } => {
            let i = column_index(table, name)?;
            let receiver = spec(table, name.clone(), table.columns[i].ty.clone());
            if *op == Operator::NotEq {
                return Err(invalid(format!(
                    "Unsupported \"!=\" relation: {name} != {value:?}"
                )));
            }
            let term = prepare_term(value, &receiver, markers)?;
            let values = Values::One(term.clone());
            sort_column(table, i, *op, values, FilterOp::Compare(*op, term), sorted)
        }
        Relation::In {
            target: RelationTarget::Column(name),
            values,
        } => {
            let i = column_index(table, name)?;
            let receiver = spec(table, name.clone(), table.columns[i].ty.clone());
            let values = prepare_values(table, &receiver, values, markers)?;
            sort_column(
                table,
                i,
                Operator::Eq,
                values.clone(),
                FilterOp::In(values),
                sorted,
            )
        }
        Relation::Compare {
            target: RelationTarget::Tuple(names),
            op,
            value,
        } => {
            let (columns, receiver) = tuple_receiver(table, names)?;
            if *op == Operator::NotEq {
                return Err(invalid("Unsupported \"!=\" relation on a tuple"));
            }
            let term = prepare_term(value, &receiver, markers)?;
            sorted.multi.push(Filter {
                columns,
                tuple: true,
                op: FilterOp::Compare(*op, term),
                pushed: false,
            });
            Ok(())
        }
        Relation::In {
            target: RelationTarget::Tuple(names),
            values,
        } => {
            let (columns, receiver) = tuple_receiver(table, names)?;
            let values = prepare_values(table, &receiver, values, markers)?;
            sorted.multi.push(Filter {
                columns,
                tuple: true,
                op: FilterOp::In(values),
                pushed: false,
            });
            Ok(())
        }
        Relation::Contains { column, key, value } => {
            sort_contains(table, column, *key, value, sorted, markers)
        }
    }
}

fn sort_contains(
    table: &TableDef,
    column: &str,
    key: bool,
    value: &ast::Term,
    sorted: &mut Sorted,
    markers: &mut Markers,
) -> Result<(), ErrorResponse> {
    let i = column_index(table, column)?;
    let ty = &table.columns[i].ty;
    let (element, name) = match (ty, key) {
        (CqlType::Map { key: k, .. }, true) => (k.as_ref(), format!("key({column})")),
        (_, true) => {
            return Err(invalid(format!(
                "Cannot use CONTAINS KEY on non-map column {column}"
            )));
        }
        (CqlType::Map { value: v, .. }, false) => (v.as_ref(), format!("value({column})")),
        (CqlType::List { element, .. } | CqlType::Set { element, .. }, false) => {
            (element.as_ref(), format!("value({column})"))
        }
        _ => {
            return Err(invalid(format!(
                "Cannot use CONTAINS on non-collection column {column}"
            )));
        }
    };
    let term = Term::prepare(value, &spec(table, name, element.clone()), markers)?;
    let op = if key {
        FilterOp::ContainsKey(term)
    } else {
        FilterOp::Contains(term)
    };
    let filter = Filter {
        columns: vec![i],
        tuple: false,
        op,
        pushed: false,
    };
    // CONTAINS never narrows a read: it is a filter whatever the column.
    match table.columns[i].kind {
        ColumnKind::PartitionKey => sorted.pk_other.push(filter),
        _ => sorted.regular.push(filter),
    }
    Ok(())
}

/// Files a single-column relation on column `i`.
fn sort_column(
    table: &TableDef,
    i: usize,
    op: Operator,
    values: Values,
    filter_op: FilterOp,
    sorted: &mut Sorted,
) -> Result<(), ErrorResponse> {
    let column = &table.columns[i];
    let filter = Filter {
        columns: vec![i],
        tuple: false,
        op: filter_op,
        pushed: false,
    };
    match column.kind {
        ColumnKind::PartitionKey if op == Operator::Eq => {
            let slot = &mut sorted.pk_eq[column.position];
            if slot.is_some() {
                return Err(invalid(format!(
                    "{} cannot be restricted by more than one relation if it includes an Equality",
                    column.name
                )));
            }
            *slot = Some(values);
        }
        ColumnKind::PartitionKey => sorted.pk_other.push(filter),
        ColumnKind::Clustering => sorted.ck[column.position].push(ColumnRelation { op, values }),
        ColumnKind::Static | ColumnKind::Regular => sorted.regular.push(filter),
    }
    Ok(())
}

fn tuple_receiver(
    table: &TableDef,
    names: &[String],
) -> Result<(Vec<usize>, MarkerSpec), ErrorResponse> {
    let columns = names
        .iter()
        .map(|n| column_index(table, n))
        .collect::<Result<Vec<_>, _>>()?;
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

fn check_token_columns(table: &TableDef, columns: &[String]) -> Result<(), ErrorResponse> {
    let pk: Vec<&str> = table.partition_key().map(|c| c.name.as_str()).collect();
    for name in columns {
        column_index(table, name)?;
    }
    if columns.len() != pk.len() || !columns.iter().zip(&pk).all(|(a, b)| a == b) {
        return Err(invalid(format!(
            "The token function arguments must be in the partition key order: {}",
            pk.join(", ")
        )));
    }
    Ok(())
}

fn prepare_token_term(
    table: &TableDef,
    value: &ast::Term,
    markers: &mut Markers,
) -> Result<TokenTerm, ErrorResponse> {
    if let ast::Term::FunctionCall { name, args } = value
        && name.name == "token"
    {
        let pk: Vec<_> = table.partition_key().collect();
        if args.len() != pk.len() {
            return Err(invalid(
                "Invalid number of arguments in call to function token",
            ));
        }
        let terms = args
            .iter()
            .zip(pk)
            .map(|(a, c)| Term::prepare(a, &spec(table, c.name.clone(), c.ty.clone()), markers))
            .collect::<Result<_, _>>()?;
        return Ok(TokenTerm::Key(terms));
    }
    let receiver = spec(table, "partition key token".to_owned(), CqlType::Bigint);
    Term::prepare(value, &receiver, markers).map(TokenTerm::Value)
}

/// Chooses the partition restriction.
fn partition(
    table: &TableDef,
    sorted: &mut Sorted,
    allow_filtering: bool,
) -> Result<Partition, ErrorResponse> {
    let restricted = sorted.pk_eq.iter().filter(|v| v.is_some()).count();
    let pk_count = sorted.pk_eq.len();
    if !sorted.tokens.is_empty() {
        if restricted > 0 || !sorted.pk_other.is_empty() {
            let names: Vec<&str> = table.partition_key().map(|c| c.name.as_str()).collect();
            return Err(invalid(format!(
                "Columns \"{}\" cannot be restricted by both a normal relation and a token relation",
                names.join(", ")
            )));
        }
        return token_partition(&sorted.tokens);
    }
    if restricted == pk_count && sorted.pk_other.is_empty() {
        return Ok(Partition::Keys(
            sorted.pk_eq.iter_mut().filter_map(Option::take).collect(),
        ));
    }
    if !sorted.pk_other.is_empty() && !allow_filtering {
        return Err(invalid(
            "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
        ));
    }
    if restricted > 0 && !allow_filtering {
        return Err(invalid(REQUIRES_ALLOW_FILTERING));
    }
    // A partial key is filtered on a scan.
    let pk: Vec<usize> = (0..pk_count).collect();
    for (position, values) in sorted.pk_eq.iter_mut().enumerate() {
        if let Some(values) = values.take() {
            sorted.pk_other.push(Filter {
                columns: vec![pk[position]],
                tuple: false,
                op: FilterOp::In(values),
                pushed: false,
            });
        }
    }
    Ok(Partition::Scan)
}

/// The token relations as range bounds.
fn token_partition(tokens: &[(Operator, TokenTerm)]) -> Result<Partition, ErrorResponse> {
    let mut start = Vec::new();
    let mut end = Vec::new();
    for (op, term) in tokens {
        let term = term.clone();
        match op {
            Operator::Gt => start.push((term, false)),
            Operator::GtEq => start.push((term, true)),
            Operator::Lt => end.push((term, false)),
            Operator::LtEq => end.push((term, true)),
            Operator::Eq => {
                start.push((term.clone(), true));
                end.push((term, true));
            }
            Operator::NotEq => return Err(invalid("Unsupported \"!=\" relation")),
        }
    }
    Ok(Partition::Tokens { start, end })
}

/// The table column index of clustering column `position`.
fn clustering_index(table: &TableDef, position: usize) -> usize {
    let pk = table.partition_key().count();
    pk + position
}

/// Why later clustering relations can no longer be slices.
enum Stop {
    /// A column is unrestricted.
    Gap(String),
    /// A column is restricted by a range.
    Range(String),
}

impl Stop {
    fn error(&self, column: &str) -> ErrorResponse {
        match self {
            Stop::Gap(gap) => invalid(format!(
                "PRIMARY KEY column \"{column}\" cannot be restricted as preceding column \"{gap}\" is not restricted"
            )),
            Stop::Range(range) => invalid(format!(
                "Clustering column \"{column}\" cannot be restricted (preceding column \"{range}\" is restricted by a non-EQ relation)"
            )),
        }
    }
}

fn eq_filter(columns: Vec<usize>, tuple: bool, values: Values, pushed: bool) -> Filter {
    let op = match values {
        Values::One(term) => FilterOp::Compare(Operator::Eq, term),
        other => FilterOp::In(other),
    };
    Filter {
        columns,
        tuple,
        op,
        pushed,
    }
}

/// Single-column clustering relations: a slice plan over the longest valid prefix,
/// and every relation as a filter.
fn single_column_slices(
    table: &TableDef,
    ck: Vec<Vec<ColumnRelation>>,
    allow_filtering: bool,
) -> Result<(SlicePlan, Vec<Filter>), ErrorResponse> {
    let mut plan = SlicePlan::default();
    let mut filters = Vec::new();
    let mut stop: Option<Stop> = None;
    for (position, relations) in ck.into_iter().enumerate() {
        let index = clustering_index(table, position);
        let name = table.columns[index].name.clone();
        if relations.is_empty() {
            stop.get_or_insert(Stop::Gap(name));
            continue;
        }
        let eqs = relations.iter().filter(|r| r.op == Operator::Eq).count();
        if eqs > 1 || (eqs == 1 && relations.len() > 1) {
            return Err(invalid(format!(
                "{name} cannot be restricted by more than one relation if it includes an Equality"
            )));
        }
        let pushed = stop.is_none();
        if let (Some(stop), false) = (&stop, allow_filtering) {
            return Err(stop.error(&name));
        }
        let mut ranged = false;
        for relation in relations {
            if relation.op == Operator::Eq {
                if pushed {
                    plan.prefix.push(relation.values.clone());
                }
                filters.push(eq_filter(vec![index], false, relation.values, pushed));
                continue;
            }
            let Values::One(term) = relation.values else {
                return Err(invalid("IN is an equality"));
            };
            if pushed {
                add_bound(&mut plan, &name, relation.op, term.clone(), false)?;
                ranged = true;
            }
            filters.push(Filter {
                columns: vec![index],
                tuple: false,
                op: FilterOp::Compare(relation.op, term),
                pushed,
            });
        }
        if ranged {
            stop = Some(Stop::Range(name));
        }
    }
    Ok((plan, filters))
}

/// Adds a range bound to the plan, refusing a second bound on the same side.
fn add_bound(
    plan: &mut SlicePlan,
    name: &str,
    op: Operator,
    term: Term,
    tuple: bool,
) -> Result<(), ErrorResponse> {
    let (side, inclusive, which) = match op {
        Operator::Gt => (&mut plan.lower, false, "start"),
        Operator::GtEq => (&mut plan.lower, true, "start"),
        Operator::Lt => (&mut plan.upper, false, "end"),
        Operator::LtEq => (&mut plan.upper, true, "end"),
        Operator::Eq | Operator::NotEq => return Err(invalid("not a range")),
    };
    if !side.is_empty() {
        return Err(invalid(format!(
            "More than one restriction was found for the {which} bound on {name}"
        )));
    }
    side.push(RangeBound {
        term,
        tuple,
        inclusive,
    });
    Ok(())
}

/// Multi-column clustering relations: pushed when they start at the first
/// clustering column and list columns in order.
fn multi_column_slices(
    table: &TableDef,
    multi: Vec<Filter>,
    allow_filtering: bool,
) -> Result<(SlicePlan, Vec<Filter>), ErrorResponse> {
    let mut plan = SlicePlan::default();
    let mut filters = Vec::new();
    let eqs = multi
        .iter()
        .filter(|f| matches!(f.op, FilterOp::In(_) | FilterOp::Compare(Operator::Eq, _)))
        .count();
    let first_name = |f: &Filter| table.columns[f.columns[0]].name.clone();
    if eqs > 1 || (eqs == 1 && multi.len() > 1) {
        return Err(invalid(format!(
            "{} cannot be restricted by more than one relation if it includes an Equality",
            multi.first().map(first_name).unwrap_or_default()
        )));
    }
    for mut filter in multi {
        let positions: Vec<usize> = filter
            .columns
            .iter()
            .map(|&i| table.columns[i].position)
            .collect();
        if positions.windows(2).any(|w| w[1] != w[0] + 1) {
            let names: Vec<&str> = filter
                .columns
                .iter()
                .map(|&i| table.columns[i].name.as_str())
                .collect();
            return Err(invalid(format!(
                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: ({})",
                names.join(", ")
            )));
        }
        filter.pushed = positions.first() == Some(&0);
        if !filter.pushed {
            if !allow_filtering {
                let first = table.columns[clustering_index(table, 0)].name.clone();
                return Err(Stop::Gap(first).error(&first_name(&filter)));
            }
            filters.push(filter);
            continue;
        }
        match &filter.op {
            FilterOp::Compare(Operator::Eq, term) => {
                plan.prefix.push(Values::One(term.clone()));
                plan.tuple_prefix = true;
            }
            FilterOp::In(values) => {
                plan.prefix.push(values.clone());
                plan.tuple_prefix = true;
            }
            FilterOp::Compare(op, term) => {
                add_bound(&mut plan, &first_name(&filter), *op, term.clone(), true)?;
            }
            FilterOp::Contains(_) | FilterOp::ContainsKey(_) => {}
        }
        filters.push(filter);
    }
    Ok((plan, filters))
}

/// Most partitions or clustering prefixes an `IN` product may produce.
const MAX_CARTESIAN: usize = 10_000;

impl Values {
    /// The values for one request; `what` names the receiver in errors.
    fn bind(
        &self,
        values: &[Value],
        time: BindTime,
        what: &str,
    ) -> Result<Vec<CqlValue>, ErrorResponse> {
        match self {
            Values::One(term) => Ok(vec![term.bind_value(values, time, what)?]),
            Values::List(terms) => terms
                .iter()
                .map(|t| t.bind_value(values, time, what))
                .collect(),
            Values::Marker(term) => match term.bind_value(values, time, what)? {
                CqlValue::List(items) | CqlValue::Set(items) => Ok(items),
                other => Err(invalid(format!("Invalid IN value {other:?} for {what}"))),
            },
        }
    }
}

/// The components of a bound tuple value, none null.
fn tuple_elements(value: CqlValue) -> Result<Vec<CqlValue>, ErrorResponse> {
    match value {
        CqlValue::Tuple(items) => items
            .into_iter()
            .map(|v| {
                v.ok_or_else(|| invalid("Invalid null value in condition for a tuple component"))
            })
            .collect(),
        other => Ok(vec![other]),
    }
}

/// Every combination of one value per position, refusing huge products.
fn cartesian(columns: Vec<Vec<CqlValue>>) -> Result<Vec<Vec<CqlValue>>, ErrorResponse> {
    let mut out: Vec<Vec<CqlValue>> = vec![Vec::new()];
    for options in columns {
        if out.len().saturating_mul(options.len()) > MAX_CARTESIAN {
            return Err(invalid(format!(
                "IN restrictions select more than {MAX_CARTESIAN} combinations"
            )));
        }
        out = out
            .iter()
            .flat_map(|prefix| {
                options.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(out)
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
        .map(|(v, c)| v.bind(values, time, &format!("partition key part {}", c.name)))
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
            let key = rowcodec::partition_key(table, &combo).map_err(|e| invalid(e.to_string()))?;
            Ok((combo, key))
        })
        .collect::<Result<_, ErrorResponse>>()?;
    Ok(BoundPartition::Keys(keys))
}

/// Compares value tuples component by component in CQL order (values that do not
/// match their type compare equal; binding has already type-checked them).
pub(super) fn compare_tuples(
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

impl TokenTerm {
    fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<i64, ErrorResponse> {
        match self {
            TokenTerm::Value(term) => match term.bind_value(values, time, "partition key token")? {
                CqlValue::Bigint(t) => Ok(t),
                other => Err(invalid(format!("Invalid token value {other:?}"))),
            },
            TokenTerm::Key(terms) => {
                let key = terms
                    .iter()
                    .map(|t| t.bind_value(values, time, "token argument"))
                    .collect::<Result<Vec<_>, _>>()?;
                let key =
                    rowcodec::partition_key(table, &key).map_err(|e| invalid(e.to_string()))?;
                Ok(key.token.0)
            }
        }
    }
}

/// The token range of the bounds; Cassandra reads the minimum token as an end bound
/// as "the end of the ring", and an inverted range as empty.
fn bind_tokens(
    table: &TableDef,
    start: &[(TokenTerm, bool)],
    end: &[(TokenTerm, bool)],
    values: &[Value],
    time: BindTime,
) -> Result<BoundPartition, ErrorResponse> {
    let mut lo: Option<(i64, bool)> = None;
    for (term, inclusive) in start {
        let t = (term.bind(table, values, time)?, *inclusive);
        // The tighter start is the larger token; exclusive beats inclusive.
        lo = Some(match lo {
            Some(cur) if (cur.0, !cur.1) >= (t.0, !t.1) => cur,
            _ => t,
        });
    }
    let mut hi: Option<(i64, bool)> = None;
    for (term, inclusive) in end {
        let t = (term.bind(table, values, time)?, *inclusive);
        hi = Some(match hi {
            Some(cur) if (cur.0, cur.1) <= (t.0, t.1) => cur,
            _ => t,
        });
    }
    let lo = lo.filter(|(t, _)| *t != i64::MIN);
    let hi = hi.filter(|(t, _)| *t != i64::MIN);
    if let (Some((s, si)), Some((e, ei))) = (lo, hi)
        && (s > e || (s == e && !(si && ei)))
    {
        return Ok(BoundPartition::Nothing);
    }
    let position = |t: i64| PartitionPosition::Token(Token(t));
    let bound = |b: Option<(i64, bool)>| match b {
        None => PartitionBound::Unbounded,
        Some((t, true)) => PartitionBound::Inclusive(position(t)),
        Some((t, false)) => PartitionBound::Exclusive(position(t)),
    };
    Ok(BoundPartition::Range(KeyRange {
        start: bound(lo),
        end: bound(hi),
    }))
}

/// Clustering prefixes and range bounds with one request's values.
#[derive(Debug, Clone, Default)]
pub(super) struct BoundSlices {
    /// Equal-value prefixes (one empty prefix when nothing is fixed).
    pub(super) prefixes: Vec<Vec<CqlValue>>,
    /// Lower bounds (values after the prefix, inclusive).
    pub(super) lower: Option<(Vec<CqlValue>, bool)>,
    /// Upper bounds.
    pub(super) upper: Option<(Vec<CqlValue>, bool)>,
}

fn bind_slices(
    plan: &SlicePlan,
    values: &[Value],
    time: BindTime,
) -> Result<BoundSlices, ErrorResponse> {
    let what = "clustering column";
    let prefixes = if plan.tuple_prefix {
        let mut tuples = Vec::new();
        for v in &plan.prefix {
            for t in v.bind(values, time, what)? {
                tuples.push(tuple_elements(t)?);
            }
        }
        tuples
    } else {
        let per_column = plan
            .prefix
            .iter()
            .map(|v| v.bind(values, time, what))
            .collect::<Result<Vec<_>, _>>()?;
        cartesian(per_column)?
    };
    let bound = |b: &[RangeBound]| -> Result<Option<(Vec<CqlValue>, bool)>, ErrorResponse> {
        let Some(b) = b.first() else { return Ok(None) };
        let v = b.term.bind_value(values, time, what)?;
        let v = if b.tuple { tuple_elements(v)? } else { vec![v] };
        Ok(Some((v, b.inclusive)))
    };
    Ok(BoundSlices {
        prefixes,
        lower: bound(&plan.lower)?,
        upper: bound(&plan.upper)?,
    })
}

impl Filter {
    fn bind(&self, values: &[Value], time: BindTime) -> Result<BoundFilter, ErrorResponse> {
        let what = "filtered column";
        let split = |v: CqlValue| {
            if self.tuple {
                tuple_elements(v)
            } else {
                Ok(vec![v])
            }
        };
        let op = match &self.op {
            FilterOp::Compare(op, term) => {
                BoundOp::Compare(*op, split(term.bind_value(values, time, what)?)?)
            }
            FilterOp::In(list) => BoundOp::In(
                list.bind(values, time, what)?
                    .into_iter()
                    .map(split)
                    .collect::<Result<_, _>>()?,
            ),
            FilterOp::Contains(term) => BoundOp::Contains(term.bind_value(values, time, what)?),
            FilterOp::ContainsKey(term) => {
                BoundOp::ContainsKey(term.bind_value(values, time, what)?)
            }
        };
        Ok(BoundFilter {
            columns: self.columns.clone(),
            op,
            pushed: self.pushed,
        })
    }
}
