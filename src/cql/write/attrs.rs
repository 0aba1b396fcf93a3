//! `USING TTL` and `USING TIMESTAMP`: when a write happens and how long it lives,
//! and the storage cells, liveness markers and deletions that follow from that.

use bytes::Bytes;
use cql_lite::ErrorResponse;
use cql_lite::Value;
use cql_lite::ast;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;
use storage::{Cell, DeletionTime, LivenessInfo, Timestamp};

use crate::cql::ExecContext;
use crate::cql::bind::{Bound, MarkerSpec, Markers, Term};
use crate::cql::error::invalid;
use crate::schema::TableDef;

/// The longest TTL Cassandra accepts: 20 years, in seconds.
pub(crate) const MAX_TTL: i32 = 630_720_000;

/// The prepared `USING` clause of one statement.
#[derive(Debug, Clone, Default)]
pub(super) struct Attributes {
    ttl: Option<Term>,
    timestamp: Option<Term>,
}

impl Attributes {
    /// Prepares `using`, registering its markers in the order the text has them
    /// (drivers bind by position: `USING TIMESTAMP ? AND TTL ?` sends the
    /// timestamp first).
    pub(super) fn prepare(
        using: &ast::Using,
        keyspace: &str,
        table: &str,
        markers: &mut Markers,
    ) -> Result<Attributes, ErrorResponse> {
        let spec = |name: &str, ty: CqlType| MarkerSpec {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
            name: name.to_owned(),
            ty,
        };
        let ttl = |markers: &mut Markers| {
            using
                .ttl
                .as_ref()
                .map(|t| Term::prepare(t, &spec("[ttl]", CqlType::Int), markers))
                .transpose()
        };
        let timestamp = |markers: &mut Markers| {
            using
                .timestamp
                .as_ref()
                .map(|t| Term::prepare(t, &spec("[timestamp]", CqlType::Bigint), markers))
                .transpose()
        };
        let (ttl, timestamp) = if using.timestamp_first {
            let timestamp = timestamp(markers)?;
            (ttl(markers)?, timestamp)
        } else {
            let ttl = ttl(markers)?;
            (ttl, timestamp(markers)?)
        };
        Ok(Attributes { ttl, timestamp })
    }

    /// Whether `USING TTL` was given.
    pub(super) fn has_ttl(&self) -> bool {
        self.ttl.is_some()
    }

    /// Takes a batch's `USING TIMESTAMP` (the statement must not have its own).
    pub(super) fn inherit_timestamp(&mut self, batch: &Attributes) -> Result<(), ErrorResponse> {
        if let Some(ts) = &batch.timestamp {
            if self.timestamp.is_some() {
                return Err(invalid(
                    "Timestamp must be set either on BATCH or individual statements",
                ));
            }
            self.timestamp = Some(ts.clone());
        }
        Ok(())
    }

    /// The lead guardrail on the timestamp the client chose for one execution
    /// (`USING TIMESTAMP`, else the request's default): its warning, or the
    /// refusal. A timestamp from the node's own clock is not checked.
    pub(super) fn check_lead(
        &self,
        ctx: &ExecContext<'_>,
        values: &[Value],
    ) -> Result<Option<String>, ErrorResponse> {
        let bound = self
            .timestamp
            .as_ref()
            .map(|t| t.bind(values, ctx.bind_time()))
            .transpose()?;
        let client = match bound {
            Some(Bound::Value(CqlValue::Bigint(ts))) => Some(ts),
            // Anything else is refused by `bind`, or falls back to the default.
            _ => ctx.client_timestamp.then_some(ctx.timestamp),
        };
        client.map_or(Ok(None), |ts| {
            ctx.guardrails.check_timestamp_lead(ts, ctx.now_micros)
        })
    }

    /// The write time of one execution.
    pub(super) fn bind(
        &self,
        table: &TableDef,
        ctx: &ExecContext<'_>,
        values: &[Value],
    ) -> Result<WriteTime, ErrorResponse> {
        let time = ctx.bind_time();
        let timestamp = match self
            .timestamp
            .as_ref()
            .map(|t| t.bind(values, time))
            .transpose()?
        {
            None | Some(Bound::Unset) => ctx.timestamp,
            Some(Bound::Null) => return Err(invalid("Invalid null value of timestamp")),
            Some(Bound::Value(CqlValue::Bigint(ts))) => ts,
            Some(Bound::Value(other)) => {
                return Err(invalid(format!("Invalid timestamp value {other:?}")));
            }
        };
        // A collection overwrite deletes at `timestamp - 1`, which must exist.
        if timestamp == i64::MIN {
            return Err(invalid("The timestamp must be greater than Long.MIN_VALUE"));
        }
        let default_ttl = table.params.default_time_to_live;
        let ttl = match self
            .ttl
            .as_ref()
            .map(|t| t.bind(values, time))
            .transpose()?
        {
            None | Some(Bound::Unset) => default_ttl,
            Some(Bound::Null) => 0,
            Some(Bound::Value(CqlValue::Int(ttl))) => check_ttl(ttl)?,
            Some(Bound::Value(other)) => {
                return Err(invalid(format!("Invalid TTL value {other:?}")));
            }
        };
        Ok(WriteTime {
            timestamp,
            ttl,
            now: ctx.now_seconds(),
            wall_micros: ctx.now_micros,
        })
    }
}

fn check_ttl(ttl: i32) -> Result<i32, ErrorResponse> {
    if ttl < 0 {
        return Err(invalid(format!(
            "A TTL must be greater or equal to 0, but was {ttl}"
        )));
    }
    if ttl > MAX_TTL {
        return Err(invalid(format!(
            "ttl is too large. requested ({ttl}) maximum ({MAX_TTL})"
        )));
    }
    Ok(ttl)
}

/// When one execution writes: its timestamp, TTL and the local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WriteTime {
    /// The write timestamp (µs).
    pub timestamp: i64,
    /// Seconds to live; 0 is forever.
    pub ttl: i32,
    /// Local time in seconds: deletion times and expiry count from it.
    pub now: i64,
    /// Wall-clock µs: list element ids count from it, whatever the timestamp.
    pub wall_micros: i64,
}

impl WriteTime {
    /// A cell holding `value`, expiring if the write has a TTL.
    pub(super) fn cell(&self, value: Bytes) -> Cell {
        if self.ttl > 0 {
            Cell::expiring(self.timestamp, value, self.ttl, self.now)
        } else {
            Cell::live(self.timestamp, value)
        }
    }

    /// A cell tombstone.
    pub(super) fn tombstone(&self) -> Cell {
        Cell::tombstone(self.timestamp, self.now)
    }

    /// A row, range, partition or collection deletion at the write timestamp.
    pub(super) fn deletion(&self) -> DeletionTime {
        DeletionTime::new(self.timestamp, self.now)
    }

    /// The deletion that clears a collection just before it is overwritten, so
    /// the new elements (at the write timestamp) survive it.
    pub(super) fn overwrite_deletion(&self) -> DeletionTime {
        DeletionTime::new(self.timestamp.saturating_sub(1), self.now)
    }

    /// The row liveness marker an INSERT writes.
    pub(super) fn liveness(&self) -> LivenessInfo {
        LivenessInfo {
            timestamp: Timestamp(self.timestamp),
            expiry: (self.ttl > 0)
                .then(|| (self.ttl, self.now.saturating_add(i64::from(self.ttl)))),
        }
    }
}
