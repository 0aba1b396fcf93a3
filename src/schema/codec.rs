//! The canonical binary encoding of a schema's user keyspaces.
//!
//! One encoding serves two purposes: the catalog file stores it (`persist`
//! adds a header and a checksum) and the schema version hashes it
//! (`version`). It is canonical: keyspaces, tables and map entries come in
//! name order (the model's `BTreeMap`s), columns in the model's order, floats
//! as their bit patterns, so equal schemas encode to equal bytes on every node.
//!
//! The system keyspaces are never encoded: every node rebuilds them. The same
//! bytes ship a schema to other nodes (`decode_user_schema` checks what
//! arrives, since it comes off the network).
//!
//! Layout of version 3 (varints are LEB128, signed ones zigzag, strings
//! length-prefixed, `*` a count then the items):
//! `3(u8) keyspaces* dropped_keyspaces*`,
//! `keyspace := name replication durable(u8) generation created_at altered_at tables* table_tombstones*`,
//! `table := name id(16) generation next_column_id created_at altered_at columns* dropped* params`,
//! `column := name type kind position desc(u8) id added_at`,
//! `table_tombstone := name id(16) generation created_at dropped_at`,
//! `dropped_keyspace := name generation dropped_at`.
//!
//! Version 2 is version 3 without the generations; it still decodes:
//! tombstones as generation 0, keyspaces and tables as 0, or 1 beside a
//! tombstone of their name (a version 2 schema only holds an object and a
//! tombstone of its name together when the object won the race against it). Version 1
//! (catalogs written before schemas merged across nodes) had no leading
//! version byte, no timestamps and no tombstones; [`decode_v1`] still reads
//! it, with every timestamp 0.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::BufMut;
use cql_lite::ast::NativeType;
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use storage::ColumnId;
use storage::codec::{DecodeError, Reader, put_bytes, put_varint, put_varint_i64};

use super::system_keyspaces::is_system;
use super::{
    ColumnDef, ColumnKind, DroppedColumn, KeyspaceDef, KeyspaceTombstone, Replication, Schema,
    TableDef, TableParams, TableTombstone,
};

/// The encoding's version, its first byte.
pub(crate) const VERSION: u8 = 3;
/// The version before generations, which [`decode`] still reads.
const V2: u8 = 2;
/// The first version, which [`decode_v1`] reads.
const V1: u8 = 1;

/// Encodes the user keyspaces of `schema`, with their tombstones.
pub(crate) fn encode(schema: &Schema) -> Vec<u8> {
    let mut out = vec![VERSION];
    let user: Vec<&KeyspaceDef> = schema
        .keyspaces
        .values()
        .filter(|k| !is_system(&k.name))
        .collect();
    put_varint(&mut out, user.len() as u64);
    for keyspace in user {
        encode_keyspace(keyspace, &mut out);
    }
    let dropped: Vec<(&String, &KeyspaceTombstone)> = schema
        .dropped_keyspaces
        .iter()
        .filter(|(name, _)| !is_system(name))
        .collect();
    put_varint(&mut out, dropped.len() as u64);
    for (name, t) in dropped {
        put_str(&mut out, name);
        put_varint(&mut out, u64::from(t.generation));
        put_varint_i64(&mut out, t.dropped_at);
    }
    out
}

/// Decodes what [`encode`] wrote (user keyspaces only).
pub(crate) fn decode(bytes: &[u8]) -> Result<Schema, DecodeError> {
    let mut r = Reader::new(bytes);
    let version = r.u8()?;
    if version != VERSION && version != V2 {
        return Err(DecodeError(format!("unknown schema encoding {version}")));
    }
    let mut schema = decode_keyspaces(&mut r, version)?;
    for _ in 0..r.len()? {
        let name = get_str(&mut r)?;
        check_user_keyspace(&name)?;
        let tombstone = KeyspaceTombstone {
            generation: generation(&mut r, version)?,
            dropped_at: r.varint_i64()?,
        };
        if schema.dropped_keyspaces.insert(name, tombstone).is_some() {
            return Err(DecodeError("keyspace tombstone listed twice".into()));
        }
    }
    finish(&r)?;
    if version == V2 {
        v2_generations(&mut schema);
    }
    Ok(schema)
}

/// Generations for a version 2 schema, which had none: a live keyspace or
/// table beside a tombstone of its name won the old race against it (by
/// creation time), so it is generation 1 and the tombstones 0.
fn v2_generations(schema: &mut Schema) {
    for (name, keyspace) in &mut schema.keyspaces {
        if schema.dropped_keyspaces.contains_key(name) {
            keyspace.generation = 1;
        }
        let dropped: std::collections::BTreeSet<String> = keyspace
            .dropped_tables
            .keys()
            .map(|(table, _)| table.clone())
            .collect();
        for (table_name, table) in &mut keyspace.tables {
            if dropped.contains(table_name) {
                Arc::make_mut(table).generation = 1;
            }
        }
    }
}

/// Decodes a version 1 encoding (no version byte): every timestamp is 0 and
/// there are no tombstones.
pub(crate) fn decode_v1(bytes: &[u8]) -> Result<Schema, DecodeError> {
    let mut r = Reader::new(bytes);
    let schema = decode_keyspaces(&mut r, V1)?;
    finish(&r)?;
    Ok(schema)
}

/// A schema another node sent ([`encode`]'s bytes), checked as network input:
/// nothing in it can make the node panic later (duplicate names, key columns
/// out of position, system keyspaces are refused).
pub(crate) fn decode_user_schema(bytes: &[u8]) -> Result<Schema, DecodeError> {
    decode(bytes)
}

fn finish(r: &Reader<'_>) -> Result<(), DecodeError> {
    if !r.is_empty() {
        return Err(DecodeError(format!(
            "{} trailing bytes after the schema",
            r.remaining()
        )));
    }
    Ok(())
}

fn check_user_keyspace(name: &str) -> Result<(), DecodeError> {
    if is_system(name) {
        return Err(DecodeError(format!("{name} is a system keyspace")));
    }
    Ok(())
}

fn decode_keyspaces(r: &mut Reader<'_>, version: u8) -> Result<Schema, DecodeError> {
    let mut schema = Schema::default();
    for _ in 0..r.len()? {
        let keyspace = decode_keyspace(r, version)?;
        check_user_keyspace(&keyspace.name)?;
        if schema
            .keyspaces
            .insert(keyspace.name.clone(), keyspace)
            .is_some()
        {
            return Err(DecodeError("keyspace listed twice".into()));
        }
    }
    Ok(schema)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn get_str(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let bytes = r.slice()?;
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("a name is not UTF-8".into()))
}

fn get_u32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let v = r.varint()?;
    u32::try_from(v).map_err(|_| DecodeError(format!("{v} out of range")))
}

fn get_i32(r: &mut Reader<'_>) -> Result<i32, DecodeError> {
    let v = r.varint_i64()?;
    i32::try_from(v).map_err(|_| DecodeError(format!("{v} out of range")))
}

fn put_map(out: &mut Vec<u8>, map: &BTreeMap<String, String>) {
    put_varint(out, map.len() as u64);
    for (k, v) in map {
        put_str(out, k);
        put_str(out, v);
    }
}

fn get_map(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, DecodeError> {
    let mut map = BTreeMap::new();
    for _ in 0..r.len()? {
        let k = get_str(r)?;
        map.insert(k, get_str(r)?);
    }
    Ok(map)
}

fn encode_keyspace(keyspace: &KeyspaceDef, out: &mut Vec<u8>) {
    put_str(out, &keyspace.name);
    encode_keyspace_params(keyspace, out);
    put_varint(out, u64::from(keyspace.generation));
    put_varint_i64(out, keyspace.created_at);
    put_varint_i64(out, keyspace.altered_at);
    put_varint(out, keyspace.tables.len() as u64);
    for table in keyspace.tables.values() {
        encode_table(table, out);
    }
    put_varint(out, keyspace.dropped_tables.len() as u64);
    for t in keyspace.dropped_tables.values() {
        put_str(out, &t.name);
        out.put_slice(&t.id);
        put_varint(out, u64::from(t.generation));
        put_varint_i64(out, t.created_at);
        put_varint_i64(out, t.dropped_at);
    }
}

/// A keyspace's options (`replication`, `durable_writes`), canonically: a
/// merge breaks ties between two ALTERs stamped alike by these bytes.
pub(crate) fn encode_keyspace_params(keyspace: &KeyspaceDef, out: &mut Vec<u8>) {
    match &keyspace.replication {
        Replication::Simple { replication_factor } => {
            out.put_u8(0);
            put_varint(out, u64::from(*replication_factor));
        }
        Replication::NetworkTopology { data_centers } => {
            out.put_u8(1);
            put_varint(out, data_centers.len() as u64);
            for (dc, rf) in data_centers {
                put_str(out, dc);
                put_varint(out, u64::from(*rf));
            }
        }
        Replication::Local => out.put_u8(2),
    }
    out.put_u8(u8::from(keyspace.durable_writes));
}

fn decode_keyspace(r: &mut Reader<'_>, version: u8) -> Result<KeyspaceDef, DecodeError> {
    let name = get_str(r)?;
    let replication = match r.u8()? {
        0 => Replication::Simple {
            replication_factor: get_u32(r)?,
        },
        1 => {
            let mut data_centers = BTreeMap::new();
            for _ in 0..r.len()? {
                let dc = get_str(r)?;
                data_centers.insert(dc, get_u32(r)?);
            }
            Replication::NetworkTopology { data_centers }
        }
        2 => Replication::Local,
        t => return Err(DecodeError(format!("unknown replication tag {t}"))),
    };
    let durable_writes = r.u8()? != 0;
    let keyspace_generation = generation(r, version)?;
    let (created_at, altered_at) = timestamps(r, version)?;
    let mut tables = BTreeMap::new();
    for _ in 0..r.len()? {
        let table = decode_table(r, &name, version)?;
        if tables.insert(table.name.clone(), Arc::new(table)).is_some() {
            return Err(DecodeError("table listed twice".into()));
        }
    }
    let mut dropped_tables = BTreeMap::new();
    if version >= V2 {
        for _ in 0..r.len()? {
            let t = TableTombstone {
                name: get_str(r)?,
                id: get_id(r)?,
                generation: generation(r, version)?,
                created_at: r.varint_i64()?,
                dropped_at: r.varint_i64()?,
            };
            if dropped_tables.insert((t.name.clone(), t.id), t).is_some() {
                return Err(DecodeError("table tombstone listed twice".into()));
            }
        }
    }
    Ok(KeyspaceDef {
        name,
        replication,
        durable_writes,
        tables,
        generation: keyspace_generation,
        created_at,
        altered_at,
        dropped_tables,
    })
}

/// A generation: 0 before version 3, which had none.
fn generation(r: &mut Reader<'_>, version: u8) -> Result<u32, DecodeError> {
    if version < VERSION {
        return Ok(0);
    }
    get_u32(r)
}

/// `created_at` and `altered_at`: both 0 in version 1, which had none.
fn timestamps(r: &mut Reader<'_>, version: u8) -> Result<(i64, i64), DecodeError> {
    if version < V2 {
        return Ok((0, 0));
    }
    Ok((r.varint_i64()?, r.varint_i64()?))
}

fn get_id(r: &mut Reader<'_>) -> Result<[u8; 16], DecodeError> {
    r.take(16)?
        .try_into()
        .map_err(|_| DecodeError("table id".into()))
}

fn encode_table(table: &TableDef, out: &mut Vec<u8>) {
    put_str(out, &table.name);
    out.put_slice(&table.id);
    put_varint(out, u64::from(table.generation));
    put_varint(out, u64::from(table.next_column_id));
    put_varint_i64(out, table.created_at);
    put_varint_i64(out, table.altered_at);
    put_varint(out, table.columns.len() as u64);
    for c in &table.columns {
        encode_column(c, out);
    }
    put_varint(out, table.dropped.len() as u64);
    for d in &table.dropped {
        put_str(out, &d.name);
        encode_type(&d.ty, out);
        put_varint(out, u64::from(d.id.0));
        put_varint_i64(out, d.dropped_at);
    }
    encode_params(&table.params, out);
}

/// One column, canonically (a merge breaks ties by these bytes).
pub(crate) fn encode_column(c: &ColumnDef, out: &mut Vec<u8>) {
    put_str(out, &c.name);
    encode_type(&c.ty, out);
    out.put_u8(match c.kind {
        ColumnKind::PartitionKey => 0,
        ColumnKind::Clustering => 1,
        ColumnKind::Static => 2,
        ColumnKind::Regular => 3,
    });
    put_varint(out, c.position as u64);
    out.put_u8(u8::from(c.order == Order::Desc));
    put_varint(out, u64::from(c.id.0));
    put_varint_i64(out, c.added_at);
}

fn decode_table(r: &mut Reader<'_>, keyspace: &str, version: u8) -> Result<TableDef, DecodeError> {
    let name = get_str(r)?;
    let id = get_id(r)?;
    let table_generation = generation(r, version)?;
    let next_column_id = get_u32(r)?;
    let (created_at, altered_at) = timestamps(r, version)?;
    let mut columns = Vec::new();
    for _ in 0..r.len()? {
        let name = get_str(r)?;
        let ty = decode_type(r, 0)?;
        let kind = match r.u8()? {
            0 => ColumnKind::PartitionKey,
            1 => ColumnKind::Clustering,
            2 => ColumnKind::Static,
            3 => ColumnKind::Regular,
            t => return Err(DecodeError(format!("unknown column kind {t}"))),
        };
        let position = usize::try_from(get_u32(r)?)
            .map_err(|_| DecodeError("column position out of range".into()))?;
        let order = if r.u8()? != 0 {
            Order::Desc
        } else {
            Order::Asc
        };
        let id = ColumnId(get_u32(r)?);
        if id.0 >= next_column_id {
            return Err(DecodeError(format!(
                "column id {} not below the next id",
                id.0
            )));
        }
        let added_at = if version >= V2 { r.varint_i64()? } else { 0 };
        columns.push(ColumnDef {
            name,
            ty,
            kind,
            position,
            order,
            id,
            added_at,
        });
    }
    check_columns(&columns)?;
    let mut dropped = Vec::new();
    for _ in 0..r.len()? {
        dropped.push(DroppedColumn {
            name: get_str(r)?,
            ty: decode_type(r, 0)?,
            id: ColumnId(get_u32(r)?),
            dropped_at: r.varint_i64()?,
        });
    }
    // The model keeps them by id; version 1 kept them in the order of the drops.
    dropped.sort_by_key(|d| d.id);
    Ok(TableDef {
        keyspace: keyspace.to_owned(),
        name,
        id,
        generation: table_generation,
        columns,
        next_column_id,
        dropped,
        params: decode_params(r)?,
        is_virtual: false,
        created_at,
        altered_at,
    })
}

/// The model's column invariants, which query execution relies on (it indexes
/// key components by position): unique names and ids, key positions 0..n in
/// the model's order, at least one partition key column.
fn check_columns(columns: &[ColumnDef]) -> Result<(), DecodeError> {
    let mut names = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for c in columns {
        if !names.insert(c.name.as_str()) || !ids.insert(c.id) {
            return Err(DecodeError(format!("column {} listed twice", c.name)));
        }
    }
    let mut sorted = columns.to_vec();
    super::sort_columns(&mut sorted);
    if sorted != columns {
        return Err(DecodeError("columns out of order".into()));
    }
    for kind in [ColumnKind::PartitionKey, ColumnKind::Clustering] {
        let positions = columns
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.position);
        if !positions.eq(0..columns.iter().filter(|c| c.kind == kind).count()) {
            return Err(DecodeError(format!(
                "{} positions out of order",
                kind.name()
            )));
        }
    }
    let values = columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Static | ColumnKind::Regular));
    if values.clone().any(|c| c.position != 0)
        || !columns.iter().any(|c| c.kind == ColumnKind::PartitionKey)
    {
        return Err(DecodeError(
            "bad column positions or no partition key".into(),
        ));
    }
    Ok(())
}

/// A table's options, canonically (a merge breaks ties by these bytes).
pub(crate) fn encode_params(p: &TableParams, out: &mut Vec<u8>) {
    out.put_u64_le(p.bloom_filter_fp_chance.to_bits());
    put_str(out, &p.comment);
    put_map(out, &p.compaction);
    put_map(out, &p.compression);
    put_varint_i64(out, i64::from(p.default_time_to_live));
    put_varint_i64(out, i64::from(p.gc_grace_seconds));
    put_map(out, &p.caching);
    put_str(out, &p.speculative_retry);
    out.put_u64_le(p.crc_check_chance.to_bits());
    put_varint_i64(out, i64::from(p.memtable_flush_period_in_ms));
    put_str(out, &p.additional_write_policy);
    out.put_u8(u8::from(p.cdc));
    put_varint_i64(out, i64::from(p.min_index_interval));
    put_varint_i64(out, i64::from(p.max_index_interval));
    put_str(out, &p.read_repair);
}

fn decode_params(r: &mut Reader<'_>) -> Result<TableParams, DecodeError> {
    Ok(TableParams {
        bloom_filter_fp_chance: f64::from_bits(r.u64()?),
        comment: get_str(r)?,
        compaction: get_map(r)?,
        compression: get_map(r)?,
        default_time_to_live: get_i32(r)?,
        gc_grace_seconds: get_i32(r)?,
        caching: get_map(r)?,
        speculative_retry: get_str(r)?,
        crc_check_chance: f64::from_bits(r.u64()?),
        memtable_flush_period_in_ms: get_i32(r)?,
        additional_write_policy: get_str(r)?,
        cdc: r.u8()? != 0,
        min_index_interval: get_i32(r)?,
        max_index_interval: get_i32(r)?,
        read_repair: get_str(r)?,
    })
}

const LIST: u8 = 0xF0;
const SET: u8 = 0xF1;
const MAP: u8 = 0xF2;
const TUPLE: u8 = 0xF3;
/// Types nest at most this deep, so a hostile file cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A type's canonical bytes (a merge compares column types by them).
pub(crate) fn type_bytes(ty: &CqlType) -> Vec<u8> {
    let mut out = Vec::new();
    encode_type(ty, &mut out);
    out
}

fn encode_type(ty: &CqlType, out: &mut Vec<u8>) {
    match ty {
        CqlType::List { element, frozen } | CqlType::Set { element, frozen } => {
            out.put_u8(if matches!(ty, CqlType::List { .. }) {
                LIST
            } else {
                SET
            });
            out.put_u8(u8::from(*frozen));
            encode_type(element, out);
        }
        CqlType::Map { key, value, frozen } => {
            out.put_u8(MAP);
            out.put_u8(u8::from(*frozen));
            encode_type(key, out);
            encode_type(value, out);
        }
        CqlType::Tuple(types) => {
            out.put_u8(TUPLE);
            put_varint(out, types.len() as u64);
            for t in types {
                encode_type(t, out);
            }
        }
        native => {
            // Natives are stored by their CQL name: stable and self-describing.
            out.put_u8(0);
            put_str(out, native.native().map_or("", NativeType::name));
        }
    }
}

fn decode_type(r: &mut Reader<'_>, depth: usize) -> Result<CqlType, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("type nested too deeply".into()));
    }
    let tag = r.u8()?;
    Ok(match tag {
        0 => {
            let name = get_str(r)?;
            NativeType::from_name(&name)
                .map(CqlType::from)
                .ok_or_else(|| DecodeError(format!("unknown type {name}")))?
        }
        LIST | SET => {
            let frozen = r.u8()? != 0;
            let element = decode_type(r, depth + 1)?;
            if tag == LIST {
                CqlType::list(element, frozen)
            } else {
                CqlType::set(element, frozen)
            }
        }
        MAP => {
            let frozen = r.u8()? != 0;
            let key = decode_type(r, depth + 1)?;
            CqlType::map(key, decode_type(r, depth + 1)?, frozen)
        }
        TUPLE => {
            let mut types = Vec::new();
            for _ in 0..r.len()? {
                types.push(decode_type(r, depth + 1)?);
            }
            CqlType::Tuple(types)
        }
        t => return Err(DecodeError(format!("unknown type tag {t}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 payload: keyspace `ks` re-created (created 30) after a
    /// drop (at 20), with one table and one table tombstone.
    fn v2_payload() -> Vec<u8> {
        let mut out = vec![V2, 1];
        put_str(&mut out, "ks");
        out.extend_from_slice(&[0, 1, 1]); // SimpleStrategy, rf 1, durable
        put_varint_i64(&mut out, 30);
        put_varint_i64(&mut out, 30);
        let mut table = crate::schema::ddl::tests::build(&[
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "CREATE TABLE ks.t (k int PRIMARY KEY)",
        ])
        .table("ks", "t")
        .expect("t")
        .as_ref()
        .clone();
        table.created_at = 31;
        put_varint(&mut out, 1);
        put_str(&mut out, &table.name);
        out.extend_from_slice(&table.id);
        put_varint(&mut out, u64::from(table.next_column_id));
        put_varint_i64(&mut out, 31);
        put_varint_i64(&mut out, 31);
        put_varint(&mut out, table.columns.len() as u64);
        for c in &table.columns {
            encode_column(c, &mut out);
        }
        put_varint(&mut out, 0);
        encode_params(&table.params, &mut out);
        put_varint(&mut out, 1);
        put_str(&mut out, "t");
        out.extend_from_slice(&[7; 16]);
        put_varint_i64(&mut out, 32);
        put_varint_i64(&mut out, 33);
        put_varint(&mut out, 1);
        put_str(&mut out, "ks");
        put_varint_i64(&mut out, 20);
        out
    }

    #[test]
    fn version_2_decodes_with_generations_and_re_encodes_as_3() {
        let schema = decode(&v2_payload()).expect("a version 2 schema decodes");
        let ks = schema.keyspace("ks").expect("ks");
        assert_eq!(ks.generation, 1, "re-created after its tombstone");
        assert_eq!(ks.created_at, 30);
        assert_eq!(schema.dropped_keyspaces["ks"].generation, 0);
        assert_eq!(schema.dropped_keyspaces["ks"].dropped_at, 20);
        let t = schema.table("ks", "t").expect("t");
        assert_eq!(
            (t.generation, t.created_at),
            (1, 31),
            "t won over its tombstone"
        );
        let tomb = ks.dropped_tables.values().next().expect("a tombstone");
        assert_eq!((tomb.generation, tomb.dropped_at), (0, 33));
        let bytes = encode(&schema);
        assert_eq!(bytes.first(), Some(&VERSION));
        assert_eq!(decode(&bytes).expect("round trip"), schema);
    }
}
