//! The canonical binary encoding of a schema's user keyspaces.
//!
//! One encoding serves two purposes: the catalog file stores it (`persist`
//! adds a header and a checksum) and the schema version hashes it
//! (`version`). It is canonical: keyspaces, tables and map entries come in
//! name order (the model's `BTreeMap`s), columns in the model's order, floats
//! as their bit patterns, so equal schemas encode to equal bytes on every node.
//!
//! The system keyspaces are never encoded: every node rebuilds them.
//!
//! Layout (varints are LEB128, signed ones zigzag, strings length-prefixed):
//! `keyspaces* := name replication durable(u8) tables*`,
//! `table := name id(16) next_column_id columns* dropped* params`.

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
    ColumnDef, ColumnKind, DroppedColumn, KeyspaceDef, Replication, Schema, TableDef, TableParams,
};

/// Encodes the user keyspaces of `schema`.
pub fn encode(schema: &Schema) -> Vec<u8> {
    let mut out = Vec::new();
    let user: Vec<&KeyspaceDef> = schema
        .keyspaces
        .values()
        .filter(|k| !is_system(&k.name))
        .collect();
    put_varint(&mut out, user.len() as u64);
    for keyspace in user {
        encode_keyspace(keyspace, &mut out);
    }
    out
}

/// Decodes what [`encode`] wrote (user keyspaces only).
pub fn decode(bytes: &[u8]) -> Result<Schema, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut schema = Schema::default();
    for _ in 0..r.len()? {
        let keyspace = decode_keyspace(&mut r)?;
        if schema
            .keyspaces
            .insert(keyspace.name.clone(), keyspace)
            .is_some()
        {
            return Err(DecodeError("keyspace listed twice".into()));
        }
    }
    if !r.is_empty() {
        return Err(DecodeError(format!(
            "{} trailing bytes after the schema",
            r.remaining()
        )));
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
    put_varint(out, keyspace.tables.len() as u64);
    for table in keyspace.tables.values() {
        encode_table(table, out);
    }
}

fn decode_keyspace(r: &mut Reader<'_>) -> Result<KeyspaceDef, DecodeError> {
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
    let mut tables = BTreeMap::new();
    for _ in 0..r.len()? {
        let table = decode_table(r, &name)?;
        tables.insert(table.name.clone(), Arc::new(table));
    }
    Ok(KeyspaceDef {
        name,
        replication,
        durable_writes,
        tables,
    })
}

fn encode_table(table: &TableDef, out: &mut Vec<u8>) {
    put_str(out, &table.name);
    out.put_slice(&table.id);
    put_varint(out, u64::from(table.next_column_id));
    put_varint(out, table.columns.len() as u64);
    for c in &table.columns {
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

fn decode_table(r: &mut Reader<'_>, keyspace: &str) -> Result<TableDef, DecodeError> {
    let name = get_str(r)?;
    let id: [u8; 16] = r
        .take(16)?
        .try_into()
        .map_err(|_| DecodeError("table id".into()))?;
    let next_column_id = get_u32(r)?;
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
        columns.push(ColumnDef {
            name,
            ty,
            kind,
            position,
            order,
            id,
        });
    }
    let mut dropped = Vec::new();
    for _ in 0..r.len()? {
        dropped.push(DroppedColumn {
            name: get_str(r)?,
            ty: decode_type(r, 0)?,
            id: ColumnId(get_u32(r)?),
            dropped_at: r.varint_i64()?,
        });
    }
    Ok(TableDef {
        keyspace: keyspace.to_owned(),
        name,
        id,
        columns,
        next_column_id,
        dropped,
        params: decode_params(r)?,
        is_virtual: false,
    })
}

fn encode_params(p: &TableParams, out: &mut Vec<u8>) {
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
