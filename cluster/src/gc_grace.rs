//! [`GcGrace`]: each table's `gc_grace_seconds`, as hints and the batchlog
//! need it.
//!
//! A tombstone may be purged once it is `gc_grace_seconds` old; after that,
//! replaying an older write (a hint, a logged batch) to a replica that
//! missed the deletion would bring the deleted data back. So, as Cassandra
//! does, a hint expires at the smallest gc grace of its tables (and at
//! most the hint window) after its creation, and a batch older than the
//! smallest gc grace of its mutations' tables is not replayed. This crate
//! does not know the schema: the node passes a lookup, normally
//! [`GcGrace::from_engine`] over its storage engine's table options.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use storage::{Engine, TableId};

/// A table's gc grace period, or `None` for a table not known here.
type Lookup = dyn Fn(TableId) -> Option<Duration> + Send + Sync;

/// The gc grace period of each table; see the module docs.
#[derive(Clone)]
pub struct GcGrace(Arc<Lookup>);

impl GcGrace {
    /// Looks periods up with `lookup`.
    pub fn new(lookup: impl Fn(TableId) -> Option<Duration> + Send + Sync + 'static) -> Self {
        GcGrace(Arc::new(lookup))
    }

    /// Knows no table: only the hint window limits hints, and batches are
    /// replayed whatever their age. For tests of other things; a node passes
    /// its engine's periods.
    pub fn unknown() -> Self {
        GcGrace::new(|_| None)
    }

    /// The periods of `engine`'s tables (`TableOptions::gc_grace_seconds`),
    /// read at each lookup, so an ALTER TABLE counts at once.
    pub fn from_engine(engine: Arc<Engine>) -> Self {
        GcGrace::new(move |table| {
            let options = engine.table_options(table).ok()?;
            let seconds = u64::try_from(options.gc_grace_seconds).unwrap_or(0);
            Some(Duration::from_secs(seconds))
        })
    }

    /// `table`'s period, if known.
    pub fn of(&self, table: TableId) -> Option<Duration> {
        (self.0)(table)
    }

    /// The smallest period of `tables` known here, if any is.
    pub fn smallest(&self, tables: impl IntoIterator<Item = TableId>) -> Option<Duration> {
        tables.into_iter().filter_map(|t| self.of(t)).min()
    }
}

impl fmt::Debug for GcGrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GcGrace(..)")
    }
}

impl Default for GcGrace {
    fn default() -> Self {
        GcGrace::unknown()
    }
}

/// Whether something `age_ms` old is past `limit`: at exactly the limit it
/// is (Cassandra: live while `created + gc_grace > now`), so a zero limit
/// means always.
pub(crate) fn past(age_ms: u64, limit: Duration) -> bool {
    let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    age_ms >= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_known_period_counts_and_zero_is_always_past() {
        let grace = GcGrace::new(|t| match t.0 {
            1 => Some(Duration::from_secs(10)),
            2 => Some(Duration::from_secs(20)),
            _ => None,
        });
        let tables = [TableId(2), TableId(1), TableId(7)];
        assert_eq!(grace.smallest(tables), Some(Duration::from_secs(10)));
        assert_eq!(grace.smallest([TableId(9)]), None);
        assert!(past(0, Duration::ZERO));
        assert!(!past(9_999, Duration::from_secs(10)));
        assert!(past(10_000, Duration::from_secs(10)));
    }
}
