//! The native aggregates: `count`, `min`, `max`, `sum` and `avg`.
//!
//! They follow Cassandra's arithmetic: `sum` and `avg` keep the argument's type
//! (an `int` average is truncated), integer sums wrap like Java's, and over no rows
//! `count`, `sum` and `avg` give 0 while `min` and `max` give null.

use cql_lite::ErrorResponse;
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue, Varint};

use crate::cql::error::invalid;

/// Which aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AggKind {
    /// `count(*)` / `count(1)`: rows.
    CountRows,
    /// `count(x)`: non-null values.
    Count,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `sum(x)`.
    Sum,
    /// `avg(x)`.
    Avg,
}

impl AggKind {
    /// The aggregate a function name denotes.
    pub(super) fn from_name(name: &str) -> Option<AggKind> {
        Some(match name {
            "count" => AggKind::Count,
            "min" => AggKind::Min,
            "max" => AggKind::Max,
            "sum" => AggKind::Sum,
            "avg" => AggKind::Avg,
            _ => return None,
        })
    }

    /// The function's name.
    pub(super) fn name(self) -> &'static str {
        match self {
            AggKind::CountRows | AggKind::Count => "count",
            AggKind::Min => "min",
            AggKind::Max => "max",
            AggKind::Sum => "sum",
            AggKind::Avg => "avg",
        }
    }

    /// The result type for an argument of type `arg`, or why it does not apply.
    pub(super) fn result_type(self, arg: &CqlType) -> Result<CqlType, ErrorResponse> {
        match self {
            AggKind::CountRows | AggKind::Count => Ok(CqlType::Bigint),
            AggKind::Min | AggKind::Max => Ok(arg.clone()),
            AggKind::Sum | AggKind::Avg => match arg {
                CqlType::Tinyint
                | CqlType::Smallint
                | CqlType::Int
                | CqlType::Bigint
                | CqlType::Counter
                | CqlType::Varint
                | CqlType::Float
                | CqlType::Double => Ok(arg.clone()),
                _ => Err(invalid(format!(
                    "Invalid call to function {}, none of its type signatures match (argument of type {arg})",
                    self.name()
                ))),
            },
        }
    }
}

/// The running state of one aggregate.
#[derive(Debug, Clone)]
pub(super) struct Accumulator {
    kind: AggKind,
    ty: CqlType,
    count: i64,
    best: Option<CqlValue>,
    int_sum: i128,
    float_sum: f64,
    overflow: bool,
}

impl Accumulator {
    /// An empty accumulator for arguments of type `ty`.
    pub(super) fn new(kind: AggKind, ty: CqlType) -> Self {
        Accumulator {
            kind,
            ty,
            count: 0,
            best: None,
            int_sum: 0,
            float_sum: 0.0,
            overflow: false,
        }
    }

    /// Adds one row's argument (`None` for null; count(*) passes anything).
    pub(super) fn add(&mut self, v: Option<&CqlValue>) {
        if self.kind == AggKind::CountRows {
            self.count += 1;
            return;
        }
        let Some(v) = v else { return };
        self.count += 1;
        match self.kind {
            AggKind::Min | AggKind::Max => {
                let replace = self.best.as_ref().is_none_or(|b| {
                    let ord = value::compare(&self.ty, v, b).unwrap_or(std::cmp::Ordering::Equal);
                    (self.kind == AggKind::Min && ord.is_lt())
                        || (self.kind == AggKind::Max && ord.is_gt())
                });
                if replace {
                    self.best = Some(v.clone());
                }
            }
            AggKind::Sum | AggKind::Avg => self.add_number(v),
            AggKind::CountRows | AggKind::Count => {}
        }
    }

    fn add_number(&mut self, v: &CqlValue) {
        let int = match v {
            CqlValue::Tinyint(x) => Some(i128::from(*x)),
            CqlValue::Smallint(x) => Some(i128::from(*x)),
            CqlValue::Int(x) => Some(i128::from(*x)),
            CqlValue::Bigint(x) | CqlValue::Counter(x) => Some(i128::from(*x)),
            CqlValue::Varint(x) => x.to_i128(),
            CqlValue::Float(x) => {
                self.float_sum += f64::from(*x);
                return;
            }
            CqlValue::Double(x) => {
                self.float_sum += x;
                return;
            }
            _ => None,
        };
        match int.and_then(|i| self.int_sum.checked_add(i)) {
            Some(s) => self.int_sum = s,
            None => self.overflow = true,
        }
    }

    /// The aggregate's value.
    pub(super) fn finish(&self) -> Result<Option<CqlValue>, ErrorResponse> {
        match self.kind {
            AggKind::CountRows | AggKind::Count => Ok(Some(CqlValue::Bigint(self.count))),
            AggKind::Min | AggKind::Max => Ok(self.best.clone()),
            AggKind::Sum => self.number(self.int_sum, self.float_sum).map(Some),
            AggKind::Avg => {
                let n = self.count.max(1);
                self.number(self.int_sum / i128::from(n), self.float_sum / n as f64)
                    .map(Some)
            }
        }
    }

    /// A number of the argument's type; integer types wrap as Java's do.
    fn number(&self, int: i128, float: f64) -> Result<CqlValue, ErrorResponse> {
        if self.overflow {
            return Err(invalid(format!("{} overflowed", self.kind.name())));
        }
        Ok(match self.ty {
            CqlType::Tinyint => CqlValue::Tinyint(int as i8),
            CqlType::Smallint => CqlValue::Smallint(int as i16),
            CqlType::Int => CqlValue::Int(int as i32),
            CqlType::Bigint => CqlValue::Bigint(int as i64),
            CqlType::Counter => CqlValue::Counter(int as i64),
            CqlType::Varint => CqlValue::Varint(Varint::from(int)),
            CqlType::Float => CqlValue::Float(float as f32),
            _ => CqlValue::Double(float),
        })
    }
}
