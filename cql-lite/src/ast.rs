//! The syntax tree [`crate::parse`] builds: what a statement says, not yet what it
//! means. Names are not resolved against a schema, literals are not checked against
//! column types, and type names stay syntactic ([`TypeName`]); binding does the rest.
//!
//! Identifiers are normalised as CQL does: unquoted ones are lower-cased, `"quoted"` ones
//! keep their case. Numbers keep their decimal text (with a leading `-` if negative), so
//! a `varint` or `decimal` loses nothing.

/// One CQL statement.
#[derive(Debug, Clone, PartialEq)]
#[expect(missing_docs, reason = "each variant is named after its statement")]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Batch(Batch),
    /// `USE ks`.
    Use(String),
    /// `TRUNCATE [TABLE] t`.
    Truncate(QualifiedName),
    CreateKeyspace(CreateKeyspace),
    AlterKeyspace(AlterKeyspace),
    DropKeyspace(DropKeyspace),
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    DropTable(DropTable),
    Describe(Describe),
}

/// A possibly keyspace-qualified name: `t` or `ks.t`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// The keyspace, when written.
    pub keyspace: Option<String>,
    /// The table (or type, function) name.
    pub name: String,
}

// ---------------------------------------------------------------- terms

/// A value in a statement: a literal, a bind marker, a collection, a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A constant.
    Literal(Literal),
    /// `?` or `:name`.
    BindMarker(BindMarker),
    /// `[a, b]`.
    List(Vec<Term>),
    /// `{a, b}`; also `{}`, which may stand for an empty map or set: binding decides.
    Set(Vec<Term>),
    /// `{k: v, ...}`.
    Map(Vec<(Term, Term)>),
    /// `(a, b)`.
    Tuple(Vec<Term>),
    /// `{field: v, ...}`: a user-defined type value.
    Udt(Vec<(String, Term)>),
    /// `f(args)`, e.g. `now()`, `token(?)`, `ks.f(1)`.
    FunctionCall {
        /// The function, lower-cased unless quoted.
        name: QualifiedName,
        /// Its arguments.
        args: Vec<Term>,
    },
    /// `(type) term`: a type hint, as in `(int) ?`.
    TypeHint {
        /// The type asked for.
        hint: TypeName,
        /// The hinted term.
        term: Box<Term>,
    },
}

/// A constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// A string literal, quotes and escapes removed.
    String(String),
    /// An integer's decimal text, `-` included when negative.
    Integer(String),
    /// A floating-point number's text (fraction and/or exponent), `-` included.
    Float(String),
    /// `NaN`.
    NaN,
    /// `Infinity` or `-Infinity`.
    Infinity {
        /// Whether it was `-Infinity`.
        negative: bool,
    },
    /// `true` or `false`.
    Boolean(bool),
    /// A uuid, lower-case, with dashes.
    Uuid(String),
    /// A `0x...` blob's bytes.
    Blob(Vec<u8>),
    /// A duration in unit form, lower-cased, `-` included: `1h30m`, `-2d`.
    Duration(String),
}

/// A bind marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindMarker {
    /// `?`.
    Anonymous,
    /// `:name`.
    Named(String),
}

// ---------------------------------------------------------------- types

/// A CQL type as written in DDL, before it is resolved (UDTs are only names here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeName {
    /// A built-in scalar type.
    Native(NativeType),
    /// `list<t>`.
    List(Box<TypeName>),
    /// `set<t>`.
    Set(Box<TypeName>),
    /// `map<k, v>`.
    Map(Box<TypeName>, Box<TypeName>),
    /// `tuple<a, b, ...>`.
    Tuple(Vec<TypeName>),
    /// `frozen<t>`.
    Frozen(Box<TypeName>),
    /// `vector<t, n>` (Cassandra 5).
    Vector(Box<TypeName>, String),
    /// A user-defined type's name.
    UserDefined(QualifiedName),
    /// `'org.apache...Type'`: a custom type named by its Java class.
    Custom(String),
}

/// The built-in scalar types. `varchar` parses as [`NativeType::Text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the names are CQL's")]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
}

/// Every spelling of a native type; the first of a type's spellings is the name
/// Cassandra prints (`text`, not `varchar`).
const NATIVE_NAMES: [(&str, NativeType); 21] = [
    ("ascii", NativeType::Ascii),
    ("bigint", NativeType::Bigint),
    ("blob", NativeType::Blob),
    ("boolean", NativeType::Boolean),
    ("counter", NativeType::Counter),
    ("date", NativeType::Date),
    ("decimal", NativeType::Decimal),
    ("double", NativeType::Double),
    ("duration", NativeType::Duration),
    ("float", NativeType::Float),
    ("inet", NativeType::Inet),
    ("int", NativeType::Int),
    ("smallint", NativeType::Smallint),
    ("text", NativeType::Text),
    ("varchar", NativeType::Text),
    ("time", NativeType::Time),
    ("timestamp", NativeType::Timestamp),
    ("timeuuid", NativeType::Timeuuid),
    ("tinyint", NativeType::Tinyint),
    ("uuid", NativeType::Uuid),
    ("varint", NativeType::Varint),
];

impl NativeType {
    /// The type a (case-insensitive) CQL name denotes.
    pub fn from_name(name: &str) -> Option<NativeType> {
        NATIVE_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }

    /// The name Cassandra prints for the type.
    pub fn name(self) -> &'static str {
        NATIVE_NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("", |(n, _)| n)
    }
}

// ---------------------------------------------------------------- SELECT

/// `SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT JSON`.
    pub json: bool,
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// What to return.
    pub selection: Selection,
    /// `FROM`.
    pub table: QualifiedName,
    /// `WHERE` relations, joined by `AND`.
    pub where_clause: Vec<Relation>,
    /// `GROUP BY` columns.
    pub group_by: Vec<String>,
    /// `ORDER BY` columns.
    pub order_by: Vec<Ordering>,
    /// `PER PARTITION LIMIT`.
    pub per_partition_limit: Option<Term>,
    /// `LIMIT`.
    pub limit: Option<Term>,
    /// `ALLOW FILTERING`.
    pub allow_filtering: bool,
}

/// The select list.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// `*`.
    Wildcard,
    /// Explicit selectors.
    Selectors(Vec<Selector>),
}

/// One selector and its alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// What is selected.
    pub expr: SelectorExpr,
    /// `AS alias`.
    pub alias: Option<String>,
}

/// A selected expression.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectorExpr {
    /// A column.
    Column(String),
    /// `count(*)` or `count(1)`.
    CountRows,
    /// `writetime(c)`.
    WriteTime(String),
    /// `ttl(c)`.
    Ttl(String),
    /// `CAST(selector AS type)`.
    Cast(Box<SelectorExpr>, TypeName),
    /// Any other function call: `token(k)`, `min(v)`, `toJson(v)`. The name is
    /// lower-cased unless quoted.
    Function {
        /// The function.
        name: QualifiedName,
        /// Its arguments.
        args: Vec<SelectorExpr>,
    },
    /// A constant or bind marker used as a selector or function argument.
    Term(Term),
}

/// `column ASC|DESC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    /// The column.
    pub column: String,
    /// `DESC` when true; `ASC` (the default) otherwise.
    pub descending: bool,
}

// ---------------------------------------------------------------- WHERE

/// One `WHERE` relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// `target op value`.
    Compare {
        /// The left-hand side.
        target: RelationTarget,
        /// The operator.
        op: Operator,
        /// The right-hand side.
        value: Term,
    },
    /// `target IN (...)` or `target IN ?`.
    In {
        /// The left-hand side.
        target: RelationTarget,
        /// The values.
        values: InValues,
    },
    /// `column CONTAINS value` or `column CONTAINS KEY value`.
    Contains {
        /// The collection column.
        column: String,
        /// `CONTAINS KEY`.
        key: bool,
        /// The value looked for.
        value: Term,
    },
}

/// The left-hand side of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationTarget {
    /// `c`.
    Column(String),
    /// `token(a, b)`.
    Token(Vec<String>),
    /// `(c1, c2)`: a multi-column relation.
    Tuple(Vec<String>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(missing_docs, reason = "the names say what they are")]
pub enum Operator {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

/// The right-hand side of `IN`.
#[derive(Debug, Clone, PartialEq)]
pub enum InValues {
    /// `IN (a, b, ...)`; for multi-column relations each term is a tuple or marker.
    Terms(Vec<Term>),
    /// `IN ?`: one marker for the whole list.
    Marker(BindMarker),
}

// ---------------------------------------------------------------- DML

/// `USING TTL x AND TIMESTAMP y`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Using {
    /// `TTL`.
    pub ttl: Option<Term>,
    /// `TIMESTAMP`.
    pub timestamp: Option<Term>,
    /// Whether `TIMESTAMP` was written before `TTL`: bind markers are numbered in
    /// text order, so `USING TIMESTAMP ? AND TTL ?` binds the timestamp first.
    pub timestamp_first: bool,
}

/// `INSERT INTO t (cols) VALUES (...)`, or `INSERT INTO t JSON '...'`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The table.
    pub table: QualifiedName,
    /// What is inserted.
    pub values: InsertValues,
    /// `IF NOT EXISTS` (a lightweight transaction).
    pub if_not_exists: bool,
    /// `USING`.
    pub using: Using,
}

/// The body of an INSERT.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertValues {
    /// `(cols) VALUES (terms)`; the counts may differ (the executor rejects that).
    Columns {
        /// The columns.
        columns: Vec<String>,
        /// One value per column.
        values: Vec<Term>,
    },
    /// `JSON term [DEFAULT NULL|UNSET]`.
    Json {
        /// The JSON document.
        value: Term,
        /// `DEFAULT UNSET` when true; `DEFAULT NULL` (the default) otherwise.
        default_unset: bool,
    },
}

/// `UPDATE t [USING ...] SET ... WHERE ... [IF ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The table.
    pub table: QualifiedName,
    /// `USING`.
    pub using: Using,
    /// `SET` assignments.
    pub assignments: Vec<Assignment>,
    /// `WHERE` relations.
    pub where_clause: Vec<Relation>,
    /// `IF` conditions (a lightweight transaction).
    pub condition: Option<Condition>,
}

/// One `SET` assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    /// `c = v`.
    Set {
        /// The column.
        column: String,
        /// The new value.
        value: Term,
    },
    /// `c[k] = v`: a list index or map key.
    SetElement {
        /// The collection column.
        column: String,
        /// The index or key.
        key: Term,
        /// The new value.
        value: Term,
    },
    /// `c.f = v`: a UDT field.
    SetField {
        /// The UDT column.
        column: String,
        /// The field.
        field: String,
        /// The new value.
        value: Term,
    },
    /// `c = c + v` or `c += v`: append, add elements or entries, or increment a counter.
    Add {
        /// The column.
        column: String,
        /// What is added.
        value: Term,
    },
    /// `c = v + c`: prepend to a list.
    Prepend {
        /// The column.
        column: String,
        /// What is prepended.
        value: Term,
    },
    /// `c = c - v` or `c -= v`: remove elements or keys, or decrement a counter.
    Subtract {
        /// The column.
        column: String,
        /// What is removed.
        value: Term,
    },
}

/// `IF EXISTS` or `IF c = v AND ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `IF EXISTS`.
    Exists,
    /// Column conditions.
    Columns(Vec<ColumnCondition>),
}

/// One column condition: `c op v`, `c[k] op v`, `c IN (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnCondition {
    /// The column.
    pub column: String,
    /// `c[k]`: a collection element.
    pub element: Option<Term>,
    /// The operator, or `None` for `IN`.
    pub op: Option<Operator>,
    /// The value, or for `IN` the values as a [`Term::Tuple`] or marker.
    pub value: Term,
}

/// `DELETE [cols] FROM t [USING TIMESTAMP t] WHERE ... [IF ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// What to delete; empty deletes whole rows (or partitions, ranges).
    pub targets: Vec<DeleteTarget>,
    /// The table.
    pub table: QualifiedName,
    /// `USING TIMESTAMP`.
    pub using: Using,
    /// `WHERE` relations.
    pub where_clause: Vec<Relation>,
    /// `IF` conditions.
    pub condition: Option<Condition>,
}

/// One thing a DELETE removes.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteTarget {
    /// A whole column.
    Column(String),
    /// `c[k]`: a list element or map entry.
    Element {
        /// The collection column.
        column: String,
        /// The index or key.
        key: Term,
    },
    /// `c.f`: a UDT field.
    Field {
        /// The UDT column.
        column: String,
        /// The field.
        field: String,
    },
}

/// `BEGIN [UNLOGGED|COUNTER] BATCH [USING ...] ... APPLY BATCH`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The batch type.
    pub kind: BatchKind,
    /// `USING` (applies to every statement).
    pub using: Using,
    /// The statements, in order.
    pub statements: Vec<BatchStatement>,
}

/// The kind of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// `BEGIN [LOGGED] BATCH`.
    Logged,
    /// `BEGIN UNLOGGED BATCH`.
    Unlogged,
    /// `BEGIN COUNTER BATCH`.
    Counter,
}

/// A statement allowed inside a batch.
#[derive(Debug, Clone, PartialEq)]
#[expect(missing_docs, reason = "the variant names are CQL's own")]
pub enum BatchStatement {
    Insert(Insert),
    Update(Update),
    Delete(Delete),
}

// ---------------------------------------------------------------- DDL

/// A `name = value` option of a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The option's name, lower-cased.
    pub name: String,
    /// Its value.
    pub value: PropertyValue,
}

/// The value of an option.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A constant: `'text'`, `0.01`, `true`.
    Literal(Literal),
    /// A bare word: `read_repair = BLOCKING`.
    Identifier(String),
    /// A map of constants: `{'class': 'SimpleStrategy', 'replication_factor': 1}`.
    Map(Vec<(Literal, Literal)>),
}

/// `CREATE KEYSPACE [IF NOT EXISTS] ks WITH ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateKeyspace {
    /// The keyspace.
    pub name: String,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `replication`, `durable_writes`, ...
    pub properties: Vec<Property>,
}

/// `ALTER KEYSPACE [IF EXISTS] ks WITH ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterKeyspace {
    /// The keyspace.
    pub name: String,
    /// `IF EXISTS`.
    pub if_exists: bool,
    /// The new options.
    pub properties: Vec<Property>,
}

/// `DROP KEYSPACE [IF EXISTS] ks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropKeyspace {
    /// The keyspace.
    pub name: String,
    /// `IF EXISTS`.
    pub if_exists: bool,
}

/// `CREATE TABLE [IF NOT EXISTS] t (...) [WITH ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// The table.
    pub name: QualifiedName,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The columns, in declaration order.
    pub columns: Vec<ColumnDefinition>,
    /// The primary key, from the column definition or the `PRIMARY KEY (...)` clause.
    pub primary_key: PrimaryKey,
    /// `CLUSTERING ORDER BY (...)`.
    pub clustering_order: Vec<Ordering>,
    /// `COMPACT STORAGE` (parsed so it can be refused by name).
    pub compact_storage: bool,
    /// The other `WITH` options.
    pub properties: Vec<Property>,
}

/// One column of a CREATE TABLE or ALTER TABLE ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDefinition {
    /// The column.
    pub name: String,
    /// Its type.
    pub ty: TypeName,
    /// `STATIC`.
    pub is_static: bool,
}

/// `PRIMARY KEY ((a, b), c, d)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    /// Partition key columns.
    pub partition_key: Vec<String>,
    /// Clustering columns, in order.
    pub clustering: Vec<String>,
}

/// `ALTER TABLE t ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    /// The table.
    pub name: QualifiedName,
    /// `IF EXISTS` (Cassandra 4.1+).
    pub if_exists: bool,
    /// What changes.
    pub action: AlterTableAction,
}

/// What an ALTER TABLE does.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableAction {
    /// `ADD [IF NOT EXISTS] c type [STATIC]` or `ADD (c type, ...)`.
    Add {
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// The new columns.
        columns: Vec<ColumnDefinition>,
    },
    /// `DROP [IF EXISTS] c` or `DROP (c, d)`.
    Drop {
        /// `IF EXISTS`.
        if_exists: bool,
        /// The columns.
        columns: Vec<String>,
    },
    /// `RENAME a TO b [AND c TO d]`.
    Rename(Vec<(String, String)>),
    /// `WITH ...`.
    With(Vec<Property>),
}

/// `DROP TABLE [IF EXISTS] t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropTable {
    /// The table.
    pub name: QualifiedName,
    /// `IF EXISTS`.
    pub if_exists: bool,
}

/// `DESCRIBE`/`DESC` statements, which cqlsh 6 sends to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    /// `DESCRIBE CLUSTER`.
    Cluster,
    /// `DESCRIBE [FULL] SCHEMA`.
    Schema {
        /// `FULL`: include system keyspaces.
        full: bool,
    },
    /// `DESCRIBE KEYSPACES`.
    Keyspaces,
    /// `DESCRIBE [ONLY] KEYSPACE [ks] [WITH INTERNALS]`; no name means the current one.
    Keyspace {
        /// The keyspace.
        name: Option<String>,
        /// `ONLY`: the keyspace statement without its tables.
        only: bool,
        /// `WITH INTERNALS`.
        with_internals: bool,
    },
    /// `DESCRIBE TABLES`.
    Tables,
    /// `DESCRIBE TABLE t [WITH INTERNALS]`.
    Table {
        /// The table.
        name: QualifiedName,
        /// `WITH INTERNALS`.
        with_internals: bool,
    },
    /// `DESCRIBE TYPES`.
    Types,
    /// `DESCRIBE FUNCTIONS`.
    Functions,
    /// `DESCRIBE AGGREGATES`.
    Aggregates,
    /// `DESCRIBE name`: a keyspace, table or other object, whichever exists.
    Name {
        /// The name.
        name: QualifiedName,
        /// `WITH INTERNALS`.
        with_internals: bool,
    },
}
