//! What each kind of statement lets its WHERE clause say.

/// The statement a WHERE clause (or an INSERT's key columns) belongs to; it
/// decides which relations the analysis accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Statement {
    /// A SELECT, with or without ALLOW FILTERING.
    Select {
        /// Whether the statement says ALLOW FILTERING.
        allow_filtering: bool,
    },
    /// An INSERT's key columns, each given by `=`.
    Insert,
    /// An UPDATE: a full primary key by `=`/`IN` (or only the partition key when
    /// it writes only static columns).
    Update,
    /// A DELETE: the partition key, then a clustering prefix optionally ended by a
    /// range on the next column.
    Delete,
}

impl Statement {
    /// The name Cassandra's messages use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Statement::Select { .. } => "SELECT",
            Statement::Insert => "INSERT",
            Statement::Update => "UPDATE",
            Statement::Delete => "DELETE",
        }
    }

    /// Reads may evaluate relations on the rows they read (non-key columns,
    /// `CONTAINS`, partial keys) and scan all partitions; writes must name the
    /// partitions they write.
    pub(super) fn reads(self) -> bool {
        matches!(self, Statement::Select { .. })
    }

    /// Whether relations that need filtering were allowed by the user.
    pub(super) fn allow_filtering(self) -> bool {
        matches!(
            self,
            Statement::Select {
                allow_filtering: true
            }
        )
    }

    /// Whether `token(...)` relations may select partitions.
    pub(super) fn allows_token(self) -> bool {
        self.reads()
    }

    /// Whether `(c1, c2) op ...` relations are accepted.
    pub(super) fn allows_multi_column(self) -> bool {
        self.reads()
    }

    /// Whether a clustering column may be restricted by a range.
    pub(super) fn allows_ranges(self) -> bool {
        matches!(self, Statement::Select { .. } | Statement::Delete)
    }
}
