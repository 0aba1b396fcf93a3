//! CREATE, ALTER and DROP TABLE, and resolving declared types.

use std::collections::BTreeMap;
use std::sync::Arc;

use cql_lite::ErrorResponse;
use cql_lite::SchemaChangeType;
use cql_lite::ast::{
    AlterTable, AlterTableAction, ColumnDefinition, CreateTable, DropTable, NativeType, Property,
    QualifiedName, TypeName,
};
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use storage::ColumnId;

use super::params::{check_unique, literal_text, table_params};
use super::{
    Change, DdlContext, IdSource, check_name, ensure_user_keyspace, keyspace_missing, table_event,
    table_missing,
};
use crate::schema::{
    ColumnDef, ColumnKind, DroppedColumn, Schema, TableDef, TableParams, TableTombstone,
    resolve_keyspace, sort_columns,
};
use cql_lite::errors::{already_exists, config, invalid};

/// The type a column declaration names. Counters, user-defined types, vectors
/// and custom types are refused.
fn column_type(ty: &TypeName) -> Result<CqlType, ErrorResponse> {
    convert(ty, false)
}

/// `frozen` is true inside `frozen<...>` or a tuple, where nested collections
/// are frozen too; outside, a collection inside a collection must say `frozen`.
fn convert(ty: &TypeName, frozen: bool) -> Result<CqlType, ErrorResponse> {
    let element = |t: &TypeName| -> Result<CqlType, ErrorResponse> {
        let inner = convert(t, frozen)?;
        if !frozen && inner.is_collection() && !inner.is_frozen() {
            return Err(invalid(
                "Non-frozen collections are not allowed inside collections",
            ));
        }
        Ok(inner)
    };
    Ok(match ty {
        TypeName::Native(NativeType::Counter) => {
            return Err(invalid("counter columns are not supported by this server"));
        }
        TypeName::Native(n) => CqlType::from(*n),
        TypeName::List(e) => CqlType::list(element(e)?, frozen),
        TypeName::Set(e) => CqlType::set(element(e)?, frozen),
        TypeName::Map(k, v) => CqlType::map(element(k)?, element(v)?, frozen),
        TypeName::Tuple(types) => CqlType::Tuple(
            types
                .iter()
                .map(|t| convert(t, true).map(|c| c.frozen()))
                .collect::<Result<_, _>>()?,
        ),
        TypeName::Frozen(inner) => match &**inner {
            TypeName::Native(n) => {
                return Err(invalid(format!(
                    "frozen<> is only allowed on collections, tuples, and user-defined types \
                     (got {})",
                    n.name()
                )));
            }
            other => convert(other, true)?.frozen(),
        },
        TypeName::UserDefined(name) => {
            let qualified = match &name.keyspace {
                Some(ks) => format!("{ks}.{}", name.name),
                None => name.name.clone(),
            };
            return Err(invalid(format!("Unknown type {qualified}")));
        }
        TypeName::Vector(..) => return Err(invalid("vector types are not supported yet")),
        TypeName::Custom(class) => {
            return Err(invalid(format!("custom types are not supported ({class})")));
        }
    })
}

/// The keyspace and table a statement names.
fn resolve<'a>(
    name: &'a QualifiedName,
    ctx: &DdlContext<'a>,
) -> Result<(&'a str, &'a str), ErrorResponse> {
    let keyspace = resolve_keyspace(name.keyspace.as_deref(), ctx.session_keyspace)?;
    Ok((keyspace, name.name.as_str()))
}

/// A table found by name: its keyspace, its name and its definition.
type Found<'a> = (&'a str, &'a str, &'a Arc<TableDef>);

/// The table an ALTER or DROP names, with its keyspace and name; `None` when
/// it does not exist and the statement said `IF EXISTS`. System tables refuse.
fn existing_user_table<'a>(
    schema: &'a Schema,
    name: &'a QualifiedName,
    if_exists: bool,
    ctx: &DdlContext<'a>,
) -> Result<Option<Found<'a>>, ErrorResponse> {
    let (ks, table) = resolve(name, ctx)?;
    let Some(old) = schema.table(ks, table) else {
        if if_exists {
            return Ok(None);
        }
        return Err(table_missing(ks, table));
    };
    ensure_user_keyspace(ks)?;
    Ok(Some((ks, table, old)))
}

pub(super) fn create(
    schema: &Schema,
    stmt: &CreateTable,
    ctx: &DdlContext<'_>,
    ids: &mut dyn IdSource,
) -> Result<Option<Change>, ErrorResponse> {
    let (ks, name) = resolve(&stmt.name, ctx)?;
    let Some(keyspace) = schema.keyspace(ks) else {
        return Err(keyspace_missing(ks));
    };
    ensure_user_keyspace(ks)?;
    check_name("Table", name)?;
    if keyspace.tables.contains_key(name) {
        if stmt.if_not_exists {
            return Ok(None);
        }
        return Err(already_exists(ks, name));
    }
    if stmt.compact_storage {
        return Err(invalid(
            "COMPACT STORAGE tables are not allowed starting with version 4.0",
        ));
    }
    let generation = keyspace
        .dropped_tables
        .values()
        .filter(|t| t.name == name)
        .map(|t| t.generation.saturating_add(1))
        .max()
        .unwrap_or(0);
    let incarnation = Incarnation {
        keyspace_generation: keyspace.generation,
        generation,
        at: ctx.timestamp_micros,
    };
    let table = build_table(ks, name, stmt, ids, incarnation)?;
    if id_in_use(schema, table.id) {
        // A merge kills every table of a dropped id, and two live tables
        // cannot share storage: an id is never given twice.
        return Err(invalid(format!(
            "Table id {} is used, or was used by a dropped table",
            crate::uuids::format_uuid(&table.id)
        )));
    }
    let mut schema = schema.clone();
    if let Some(keyspace) = schema.keyspaces.get_mut(ks) {
        keyspace.tables.insert(name.to_owned(), Arc::new(table));
    }
    Ok(Some(Change {
        schema,
        event: table_event(SchemaChangeType::Created, ks, name),
    }))
}

/// Which incarnation a CREATE makes, and when.
#[derive(Debug, Clone, Copy)]
struct Incarnation {
    /// The keyspace's generation.
    keyspace_generation: u32,
    /// The table name's generation (see [`TableDef::generation`]).
    generation: u32,
    /// The statement's timestamp.
    at: i64,
}

fn build_table(
    ks: &str,
    name: &str,
    stmt: &CreateTable,
    ids: &mut dyn IdSource,
    incarnation: Incarnation,
) -> Result<TableDef, ErrorResponse> {
    check_unique(&stmt.properties)?;
    let (id_props, props): (Vec<&Property>, Vec<&Property>) =
        stmt.properties.iter().partition(|p| p.name == "id");
    let props: Vec<Property> = props.into_iter().cloned().collect();
    let params = table_params(&TableParams::default(), &props)?;
    let at = incarnation.at;
    let mut columns = key_and_value_columns(stmt)?;
    sort_columns(&mut columns);
    for (i, c) in columns.iter_mut().enumerate() {
        c.id = ColumnId(u32::try_from(i).map_err(|_| invalid("too many columns"))?);
        c.added_at = at;
    }
    let id = match id_props.first() {
        Some(p) => table_id_option(p)?,
        None => ids.table_id(&id_seed(ks, name, incarnation, &columns)),
    };
    Ok(TableDef {
        keyspace: ks.to_owned(),
        name: name.to_owned(),
        id,
        generation: incarnation.generation,
        next_column_id: u32::try_from(columns.len()).map_err(|_| invalid("too many columns"))?,
        columns,
        dropped: Vec::new(),
        params,
        is_virtual: false,
        created_at: at,
        altered_at: at,
    })
}

/// Whether a live table or a table tombstone, in any keyspace, has `id`.
fn id_in_use(schema: &Schema, id: [u8; 16]) -> bool {
    schema.keyspaces.values().any(|k| {
        k.tables.values().any(|t| t.id == id) || k.dropped_tables.values().any(|t| t.id == id)
    })
}

/// What a derived table id is the uuid of: the keyspace, its generation, the
/// name, its generation and each column's name, type, kind, position, order
/// and id, all length-prefixed so no two tables share a seed. Table options
/// and timestamps are left out: concurrent CREATEs differ in them and are
/// still one table (a merge takes the later options). Columns are in: CREATEs
/// with different columns are different tables, whose cells could not be read
/// as each other's, so they race as before (one survives).
fn id_seed(ks: &str, name: &str, incarnation: Incarnation, columns: &[ColumnDef]) -> Vec<u8> {
    let mut seed = b"basalt table id v1".to_vec();
    let mut put = |bytes: &[u8]| {
        seed.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        seed.extend_from_slice(bytes);
    };
    put(ks.as_bytes());
    put(&incarnation.keyspace_generation.to_be_bytes());
    put(name.as_bytes());
    put(&incarnation.generation.to_be_bytes());
    for c in columns {
        put(c.name.as_bytes());
        put(&crate::schema::codec::type_bytes(&c.ty));
        let kind: u8 = match c.kind {
            ColumnKind::PartitionKey => 0,
            ColumnKind::Clustering => 1,
            ColumnKind::Static => 2,
            ColumnKind::Regular => 3,
        };
        put(&[kind, u8::from(c.order == Order::Desc)]);
        put(&(c.position as u64).to_be_bytes());
        put(&c.id.0.to_be_bytes());
    }
    seed
}

/// `WITH id = <uuid>`: Cassandra lets a table be recreated with a known id.
fn table_id_option(p: &Property) -> Result<[u8; 16], ErrorResponse> {
    let text = match &p.value {
        cql_lite::ast::PropertyValue::Literal(lit) => literal_text(lit),
        _ => String::new(),
    };
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let bytes = (hex.len() == 32)
        .then(|| u128::from_str_radix(&hex, 16).ok())
        .flatten()
        .ok_or_else(|| config(format!("Invalid table id {text}")))?;
    Ok(bytes.to_be_bytes())
}

/// The declared columns with their kinds, positions and clustering orders
/// (ids are assigned by the caller).
fn key_and_value_columns(stmt: &CreateTable) -> Result<Vec<ColumnDef>, ErrorResponse> {
    let table_name = match &stmt.name.keyspace {
        Some(ks) => format!("{ks}.{}", stmt.name.name),
        None => stmt.name.name.clone(),
    };
    let mut declared: BTreeMap<&str, &ColumnDefinition> = BTreeMap::new();
    for c in &stmt.columns {
        if declared.insert(&c.name, c).is_some() {
            return Err(invalid(format!(
                "Duplicate column '{}' declaration for table '{}'",
                c.name, table_name
            )));
        }
    }
    let pk = &stmt.primary_key;
    let key_names = pk.partition_key.iter().chain(&pk.clustering);
    let mut seen = std::collections::BTreeSet::new();
    for k in key_names {
        let Some(c) = declared.get(k.as_str()) else {
            return Err(invalid(format!(
                "Unknown column '{k}' referenced in PRIMARY KEY for table '{}'",
                stmt.name.name
            )));
        };
        if !seen.insert(k.as_str()) {
            return Err(invalid(format!(
                "Duplicate column '{k}' in PRIMARY KEY clause for table '{}'",
                stmt.name.name
            )));
        }
        if c.is_static {
            return Err(invalid(format!(
                "Static column '{k}' cannot be part of the PRIMARY KEY"
            )));
        }
    }
    let orders = clustering_orders(stmt)?;
    let mut columns = Vec::with_capacity(stmt.columns.len());
    for c in &stmt.columns {
        let ty = column_type(&c.ty)?;
        let (kind, position) = if let Some(i) = pk.partition_key.iter().position(|k| *k == c.name) {
            (ColumnKind::PartitionKey, i)
        } else if let Some(i) = pk.clustering.iter().position(|k| *k == c.name) {
            (ColumnKind::Clustering, i)
        } else if c.is_static {
            if pk.clustering.is_empty() {
                return Err(static_without_clustering());
            }
            (ColumnKind::Static, 0)
        } else {
            (ColumnKind::Regular, 0)
        };
        if matches!(kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            check_key_type(&c.name, &ty)?;
        }
        let order = match kind {
            ColumnKind::Clustering => orders.get(position).copied().unwrap_or(Order::Asc),
            _ => Order::Asc,
        };
        columns.push(ColumnDef {
            name: c.name.clone(),
            ty,
            kind,
            position,
            order,
            id: ColumnId(0),
            added_at: 0,
        });
    }
    Ok(columns)
}

fn static_without_clustering() -> ErrorResponse {
    invalid(
        "Static columns are only useful (and thus allowed) if the table has at least one \
         clustering column",
    )
}

fn check_key_type(column: &str, ty: &CqlType) -> Result<(), ErrorResponse> {
    if ty.can_be_key() {
        return Ok(());
    }
    if ty.is_collection() && !ty.is_frozen() {
        return Err(invalid(format!(
            "Invalid non-frozen collection type {ty} for PRIMARY KEY column '{column}'"
        )));
    }
    Err(invalid(format!(
        "duration type is not supported for PRIMARY KEY column '{column}'"
    )))
}

/// One order per clustering column. As in Cassandra 4, `CLUSTERING ORDER BY`
/// must name every clustering column, in key order, or none.
fn clustering_orders(stmt: &CreateTable) -> Result<Vec<Order>, ErrorResponse> {
    let clustering = &stmt.primary_key.clustering;
    let given = &stmt.clustering_order;
    if given.is_empty() {
        return Ok(vec![Order::Asc; clustering.len()]);
    }
    let matches = given.len() == clustering.len()
        && given.iter().zip(clustering).all(|(o, c)| o.column == *c);
    if !matches {
        return Err(invalid(
            "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive",
        ));
    }
    Ok(given
        .iter()
        .map(|o| {
            if o.descending {
                Order::Desc
            } else {
                Order::Asc
            }
        })
        .collect())
}

pub(super) fn alter(
    schema: &Schema,
    stmt: &AlterTable,
    ctx: &DdlContext<'_>,
) -> Result<Option<Change>, ErrorResponse> {
    let Some((ks, name, old)) = existing_user_table(schema, &stmt.name, stmt.if_exists, ctx)?
    else {
        return Ok(None);
    };
    let mut table = TableDef::clone(old);
    match &stmt.action {
        AlterTableAction::Add {
            if_not_exists,
            columns,
        } => add_columns(&mut table, columns, *if_not_exists, ctx.timestamp_micros)?,
        AlterTableAction::Drop { if_exists, columns } => {
            drop_columns(&mut table, columns, *if_exists, ctx.timestamp_micros)?;
        }
        AlterTableAction::Rename(pairs) => {
            rename_columns(&mut table, pairs, ctx.timestamp_micros)?;
        }
        AlterTableAction::With(props) => {
            if props.iter().any(|p| p.name == "id") {
                return Err(config("Cannot alter table id."));
            }
            table.params = table_params(&table.params, props)?;
            if table.params != old.params {
                table.altered_at = ctx.timestamp_micros;
            }
        }
    }
    let mut schema = schema.clone();
    if let Some(keyspace) = schema.keyspaces.get_mut(ks) {
        keyspace.tables.insert(name.to_owned(), Arc::new(table));
    }
    Ok(Some(Change {
        schema,
        event: table_event(SchemaChangeType::Updated, ks, name),
    }))
}

fn add_columns(
    table: &mut TableDef,
    columns: &[ColumnDefinition],
    if_not_exists: bool,
    at: i64,
) -> Result<(), ErrorResponse> {
    for c in columns {
        if table.column(&c.name).is_some() {
            if if_not_exists {
                continue;
            }
            return Err(invalid(format!(
                "Column with name '{}' already exists",
                c.name
            )));
        }
        let ty = column_type(&c.ty)?;
        if c.is_static && table.clustering().next().is_none() {
            return Err(static_without_clustering());
        }
        let id = ColumnId(table.next_column_id);
        table.next_column_id = table
            .next_column_id
            .checked_add(1)
            .ok_or_else(|| invalid("too many columns"))?;
        table.columns.push(ColumnDef {
            name: c.name.clone(),
            ty,
            kind: if c.is_static {
                ColumnKind::Static
            } else {
                ColumnKind::Regular
            },
            position: 0,
            order: Order::Asc,
            id,
            added_at: at,
        });
    }
    sort_columns(&mut table.columns);
    Ok(())
}

fn drop_columns(
    table: &mut TableDef,
    columns: &[String],
    if_exists: bool,
    timestamp: i64,
) -> Result<(), ErrorResponse> {
    for name in columns {
        let Some(index) = table.columns.iter().position(|c| c.name == *name) else {
            if if_exists {
                continue;
            }
            return Err(invalid(format!(
                "Column {name} was not found in table '{}'",
                qualified(table)
            )));
        };
        let column = &table.columns[index];
        if matches!(
            column.kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        ) {
            return Err(invalid(format!("Cannot drop PRIMARY KEY column {name}")));
        }
        let column = table.columns.remove(index);
        table.dropped.push(DroppedColumn {
            name: column.name,
            ty: column.ty,
            id: column.id,
            dropped_at: timestamp,
        });
    }
    table.dropped.sort_by_key(|d| d.id);
    Ok(())
}

/// `ks.t` as Cassandra names a table in messages (identifiers quoted as needed).
fn qualified(table: &TableDef) -> String {
    use cql_lite::lexer::quote_identifier;
    format!(
        "{}.{}",
        quote_identifier(&table.keyspace),
        quote_identifier(&table.name)
    )
}

fn rename_columns(
    table: &mut TableDef,
    pairs: &[(String, String)],
    at: i64,
) -> Result<(), ErrorResponse> {
    for (from, to) in pairs {
        let Some(index) = table.columns.iter().position(|c| c.name == *from) else {
            return Err(invalid(format!(
                "Column {from} was not found in table {}",
                qualified(table)
            )));
        };
        if !matches!(
            table.columns[index].kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        ) {
            return Err(invalid(format!(
                "Cannot rename non PRIMARY KEY column {from}"
            )));
        }
        if table.column(to).is_some() {
            return Err(invalid(format!(
                "Cannot rename column {from} to {to} in table '{}'; another column with that \
                 name already exists",
                qualified(table)
            )));
        }
        table.columns[index].name = to.clone();
        table.columns[index].added_at = at;
    }
    Ok(())
}

pub(super) fn drop(
    schema: &Schema,
    stmt: &DropTable,
    ctx: &DdlContext<'_>,
) -> Result<Option<Change>, ErrorResponse> {
    let Some((ks, name, old)) = existing_user_table(schema, &stmt.name, stmt.if_exists, ctx)?
    else {
        return Ok(None);
    };
    let tombstone = TableTombstone {
        name: name.to_owned(),
        id: old.id,
        generation: old.generation,
        created_at: old.created_at,
        dropped_at: ctx.timestamp_micros,
    };
    let mut schema = schema.clone();
    if let Some(keyspace) = schema.keyspaces.get_mut(ks) {
        keyspace.tables.remove(name);
        let key = (name.to_owned(), tombstone.id);
        keyspace
            .dropped_tables
            .entry(key)
            .and_modify(|t| {
                t.generation = t.generation.max(tombstone.generation);
                t.created_at = t.created_at.max(tombstone.created_at);
                t.dropped_at = t.dropped_at.max(tombstone.dropped_at);
            })
            .or_insert(tombstone);
    }
    Ok(Some(Change {
        schema,
        event: table_event(SchemaChangeType::Dropped, ks, name),
    }))
}
