//! `token(...)` relations: partitions chosen by a range of Murmur3 tokens.

use cql_lite::ast::{self, Operator};
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use cql_lite::{ErrorResponse, Value};
use storage::{KeyRange, PartitionBound, PartitionPosition, Token};

use crate::cql::bind::{BindTime, Markers, Term};
use crate::cql::error::{codec_error, invalid};
use crate::rowcodec;
use crate::schema::TableDef;

use super::terms::spec;

/// A `token(...)` comparison's right-hand side.
#[derive(Debug, Clone)]
pub(super) enum TokenTerm {
    /// A bigint token.
    Value(Term),
    /// `token(a, b)` of partition key values.
    Key(Vec<Term>),
}

/// The token relations as range ends: (term, inclusive) for the start and the end.
#[derive(Debug, Clone, Default)]
pub(super) struct TokenBounds {
    start: Vec<(TokenTerm, bool)>,
    end: Vec<(TokenTerm, bool)>,
}

/// Checks that `token(...)` names the partition key columns in order.
pub(super) fn check_columns(table: &TableDef, columns: &[String]) -> Result<(), ErrorResponse> {
    let pk: Vec<&str> = table.partition_key().map(|c| c.name.as_str()).collect();
    for name in columns {
        if table.column(name).is_none() {
            return Err(invalid(format!("Undefined column name {name}")));
        }
    }
    if columns.len() != pk.len() || !columns.iter().zip(&pk).all(|(a, b)| a == b) {
        return Err(invalid(format!(
            "The token function arguments must be in the partition key order: {}",
            pk.join(", ")
        )));
    }
    Ok(())
}

/// Prepares what a token is compared with: a bigint or `token(values...)`.
pub(super) fn prepare_term(
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

impl TokenBounds {
    /// The token relations as range ends.
    pub(super) fn new(tokens: &[(Operator, TokenTerm)]) -> Result<TokenBounds, ErrorResponse> {
        let mut bounds = TokenBounds::default();
        for (op, term) in tokens {
            let term = term.clone();
            match op {
                Operator::Gt => bounds.start.push((term, false)),
                Operator::GtEq => bounds.start.push((term, true)),
                Operator::Lt => bounds.end.push((term, false)),
                Operator::LtEq => bounds.end.push((term, true)),
                Operator::Eq => {
                    bounds.start.push((term.clone(), true));
                    bounds.end.push((term, true));
                }
                Operator::NotEq => return Err(invalid("Unsupported \"!=\" relation")),
            }
        }
        Ok(bounds)
    }

    /// The token range for one request, `None` when it is empty. Cassandra reads
    /// the minimum token as an end bound as "the end of the ring", and an
    /// inverted range as empty.
    pub(super) fn bind(
        &self,
        table: &TableDef,
        values: &[Value],
        time: BindTime,
    ) -> Result<Option<KeyRange>, ErrorResponse> {
        let mut lo: Option<(i64, bool)> = None;
        for (term, inclusive) in &self.start {
            let t = (term.bind(table, values, time)?, *inclusive);
            // The tighter start is the larger token; exclusive beats inclusive.
            lo = Some(match lo {
                Some(cur) if (cur.0, !cur.1) >= (t.0, !t.1) => cur,
                _ => t,
            });
        }
        let mut hi: Option<(i64, bool)> = None;
        for (term, inclusive) in &self.end {
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
            return Ok(None);
        }
        let position = |t: i64| PartitionPosition::Token(Token(t));
        let bound = |b: Option<(i64, bool)>| match b {
            None => PartitionBound::Unbounded,
            Some((t, true)) => PartitionBound::Inclusive(position(t)),
            Some((t, false)) => PartitionBound::Exclusive(position(t)),
        };
        Ok(Some(KeyRange {
            start: bound(lo),
            end: bound(hi),
        }))
    }
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
                let key = rowcodec::partition_key(table, &key).map_err(codec_error)?;
                Ok(key.token.0)
            }
        }
    }
}
