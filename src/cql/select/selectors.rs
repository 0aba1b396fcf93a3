//! The select list: columns, `writetime`, `ttl`, `token` and aggregates, with the
//! names and types Cassandra 4 gives them in result metadata.

use bytes::Bytes;
use cql_lite::ast::{self, SelectorExpr};
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue};
use cql_lite::{ColumnSpec, ErrorResponse};

use crate::cql::error::{invalid, server};
use crate::schema::{ColumnKind, TableDef};

use super::aggregates::{Accumulator, AggKind};
use super::rows::CqlRow;

/// A selected expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A column's value.
    Column(usize),
    /// A simple cell's write time (µs).
    WriteTime(usize),
    /// A simple cell's remaining TTL (s).
    Ttl(usize),
    /// The partition's token.
    Token,
    /// An aggregate over an argument (`None` for `count(*)`).
    Aggregate(AggKind, Option<Box<Expr>>),
}

/// One result column.
#[derive(Debug, Clone)]
struct Selected {
    name: String,
    ty: CqlType,
    expr: Expr,
}

/// The prepared select list.
#[derive(Debug, Clone)]
pub(super) struct Selection {
    columns: Vec<Selected>,
    distinct: bool,
    aggregate: bool,
}

impl Selection {
    /// Resolves the select list against `table`.
    pub(super) fn prepare(
        table: &TableDef,
        selection: &ast::Selection,
        distinct: bool,
    ) -> Result<Selection, ErrorResponse> {
        let columns = match selection {
            ast::Selection::Wildcard => table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| Selected {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    expr: Expr::Column(i),
                })
                .collect(),
            ast::Selection::Selectors(selectors) => selectors
                .iter()
                .map(|s| {
                    let (name, ty, expr) = prepare_expr(table, &s.expr, false)?;
                    Ok(Selected {
                        name: s.alias.clone().unwrap_or(name),
                        ty,
                        expr,
                    })
                })
                .collect::<Result<Vec<_>, ErrorResponse>>()?,
        };
        let aggregate = columns
            .iter()
            .any(|c| matches!(c.expr, Expr::Aggregate(..)));
        let selection = Selection {
            columns,
            distinct,
            aggregate,
        };
        if distinct {
            selection.check_distinct(table)?;
        }
        Ok(selection)
    }

    fn check_distinct(&self, table: &TableDef) -> Result<(), ErrorResponse> {
        for c in &self.columns {
            if let Expr::Column(i) = c.expr
                && matches!(
                    table.columns[i].kind,
                    ColumnKind::Clustering | ColumnKind::Regular
                )
            {
                return Err(invalid(format!(
                    "SELECT DISTINCT queries must only request partition key columns and/or static columns (not {})",
                    table.columns[i].name
                )));
            }
        }
        if self.aggregate {
            return Ok(());
        }
        let missing: Vec<&str> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.kind == ColumnKind::PartitionKey
                    && !self.columns.iter().any(|s| s.expr == Expr::Column(*i))
            })
            .map(|(_, c)| c.name.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!(
                "SELECT DISTINCT queries must request all the partition key columns (missing {})",
                missing.join(", ")
            )))
        }
    }

    /// The result column specs.
    pub(super) fn specs(&self, table: &TableDef) -> Vec<ColumnSpec> {
        self.columns
            .iter()
            .map(|c| ColumnSpec {
                keyspace: table.keyspace.clone(),
                table: table.name.clone(),
                name: c.name.clone(),
                column_type: c.ty.to_column_type(),
            })
            .collect()
    }

    /// How many result columns there are.
    pub(super) fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether this is `SELECT DISTINCT`.
    pub(super) fn distinct(&self) -> bool {
        self.distinct
    }

    /// Whether the selection aggregates all rows into one.
    pub(super) fn is_aggregate(&self) -> bool {
        self.aggregate
    }

    /// One result row.
    pub(super) fn project(&self, row: &CqlRow) -> Result<Vec<Option<Bytes>>, ErrorResponse> {
        self.columns
            .iter()
            .map(|c| serialize(&c.ty, eval(&c.expr, row).as_ref()))
            .collect()
    }

    /// An empty aggregation over this selection.
    pub(super) fn aggregation(&self) -> Aggregation {
        Aggregation {
            columns: self
                .columns
                .iter()
                .map(|c| match &c.expr {
                    Expr::Aggregate(kind, arg) => {
                        let ty = arg.as_ref().map_or(CqlType::Bigint, |_| c.ty.clone());
                        // min/max/sum/avg results have their argument's type.
                        let arg_ty = match kind {
                            AggKind::Count | AggKind::CountRows => CqlType::Bigint,
                            _ => ty,
                        };
                        Slot::Aggregate(Accumulator::new(*kind, arg_ty), arg.clone())
                    }
                    other => Slot::First(other.clone(), None),
                })
                .collect(),
            types: self.columns.iter().map(|c| c.ty.clone()).collect(),
            seen: false,
        }
    }
}

fn serialize(ty: &CqlType, v: Option<&CqlValue>) -> Result<Option<Bytes>, ErrorResponse> {
    let Some(v) = v else { return Ok(None) };
    let mut out = Vec::new();
    value::serialize(ty, v, &mut out)
        .map_err(|e| server(format!("cannot serialize a result value: {e}")))?;
    Ok(Some(Bytes::from(out)))
}

fn eval(expr: &Expr, row: &CqlRow) -> Option<CqlValue> {
    match expr {
        Expr::Column(i) => row.values.get(*i).cloned().flatten(),
        Expr::WriteTime(i) => row
            .meta
            .get(*i)
            .copied()
            .flatten()
            .map(|m| CqlValue::Bigint(m.writetime)),
        Expr::Ttl(i) => row
            .meta
            .get(*i)
            .copied()
            .flatten()
            .and_then(|m| m.ttl)
            .map(CqlValue::Int),
        Expr::Token => Some(CqlValue::Bigint(row.token)),
        Expr::Aggregate(..) => None,
    }
}

/// One result column of an aggregation.
#[derive(Debug, Clone)]
enum Slot {
    /// An aggregate and its argument.
    Aggregate(Accumulator, Option<Box<Expr>>),
    /// A plain selector: the first row's value, as Cassandra returns it.
    First(Expr, Option<CqlValue>),
}

/// Rows folded into the single row an aggregate query returns.
#[derive(Debug, Clone)]
pub(super) struct Aggregation {
    columns: Vec<Slot>,
    types: Vec<CqlType>,
    seen: bool,
}

impl Aggregation {
    /// Adds a row.
    pub(super) fn add(&mut self, row: &CqlRow) {
        let first = !self.seen;
        self.seen = true;
        for slot in &mut self.columns {
            match slot {
                Slot::Aggregate(acc, arg) => {
                    let v = arg.as_ref().and_then(|a| eval(a, row));
                    acc.add(v.as_ref());
                }
                Slot::First(expr, value) if first => *value = eval(expr, row),
                Slot::First(..) => {}
            }
        }
    }

    /// The result row.
    pub(super) fn finish(&self) -> Result<Vec<Option<Bytes>>, ErrorResponse> {
        self.columns
            .iter()
            .zip(&self.types)
            .map(|(slot, ty)| match slot {
                Slot::Aggregate(acc, _) => serialize(ty, acc.finish()?.as_ref()),
                Slot::First(_, v) => serialize(ty, v.as_ref()),
            })
            .collect()
    }
}

/// (name, type, expression) of a selector; `inside` is set within an aggregate.
fn prepare_expr(
    table: &TableDef,
    expr: &SelectorExpr,
    inside: bool,
) -> Result<(String, CqlType, Expr), ErrorResponse> {
    let column = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                invalid(format!(
                    "Undefined column name {name} in table {}.{}",
                    table.keyspace, table.name
                ))
            })
    };
    match expr {
        SelectorExpr::Column(name) => {
            let i = column(name)?;
            Ok((name.clone(), table.columns[i].ty.clone(), Expr::Column(i)))
        }
        SelectorExpr::WriteTime(name) | SelectorExpr::Ttl(name) => {
            let writetime = matches!(expr, SelectorExpr::WriteTime(_));
            let i = column(name)?;
            check_cell_function(table, i, if writetime { "writeTime" } else { "ttl" })?;
            Ok(if writetime {
                (
                    format!("writetime({name})"),
                    CqlType::Bigint,
                    Expr::WriteTime(i),
                )
            } else {
                (format!("ttl({name})"), CqlType::Int, Expr::Ttl(i))
            })
        }
        SelectorExpr::CountRows => {
            if inside {
                return Err(nested_aggregate());
            }
            Ok((
                "count".to_owned(),
                CqlType::Bigint,
                Expr::Aggregate(AggKind::CountRows, None),
            ))
        }
        SelectorExpr::Function { name, args } => function(table, name, args, inside),
        SelectorExpr::Cast(..) => Err(invalid("CAST is not supported in selections")),
        SelectorExpr::Term(_) => Err(invalid("Terms are not supported in selections")),
    }
}

fn nested_aggregate() -> ErrorResponse {
    invalid("aggregate functions cannot be used as arguments of aggregate functions")
}

fn check_cell_function(table: &TableDef, i: usize, function: &str) -> Result<(), ErrorResponse> {
    let column = &table.columns[i];
    if matches!(
        column.kind,
        ColumnKind::PartitionKey | ColumnKind::Clustering
    ) {
        return Err(invalid(format!(
            "Cannot use selection function {function} on PRIMARY KEY part {}",
            column.name
        )));
    }
    if !column.ty.is_frozen() {
        return Err(invalid(format!(
            "Cannot use selection function {function} on non-frozen collection {}",
            column.name
        )));
    }
    Ok(())
}

fn function(
    table: &TableDef,
    name: &ast::QualifiedName,
    args: &[SelectorExpr],
    inside: bool,
) -> Result<(String, CqlType, Expr), ErrorResponse> {
    if name.keyspace.as_deref().is_some_and(|k| k != "system") {
        return Err(invalid(format!(
            "Unknown function '{}.{}'",
            name.keyspace.as_deref().unwrap_or_default(),
            name.name
        )));
    }
    if name.name == "token" {
        let pk: Vec<&str> = table.partition_key().map(|c| c.name.as_str()).collect();
        let given: Vec<&str> = args
            .iter()
            .map(|a| match a {
                SelectorExpr::Column(c) => c.as_str(),
                _ => "",
            })
            .collect();
        if given != pk {
            return Err(invalid(format!(
                "The token function arguments must be in the partition key order: {}",
                pk.join(", ")
            )));
        }
        return Ok((
            format!("system.token({})", pk.join(", ")),
            CqlType::Bigint,
            Expr::Token,
        ));
    }
    let Some(kind) = AggKind::from_name(&name.name) else {
        return Err(invalid(format!("Unknown function '{}'", name.name)));
    };
    if inside {
        return Err(nested_aggregate());
    }
    let [arg] = args else {
        return Err(invalid(format!(
            "Invalid number of arguments in call to function system.{}: 1 required but {} provided",
            kind.name(),
            args.len()
        )));
    };
    let (arg_name, arg_ty, arg_expr) = prepare_expr(table, arg, true)?;
    let ty = kind.result_type(&arg_ty)?;
    Ok((
        format!("system.{}({arg_name})", kind.name()),
        ty,
        Expr::Aggregate(kind, Some(Box::new(arg_expr))),
    ))
}
