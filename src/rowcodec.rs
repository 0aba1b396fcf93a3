//! How CQL rows map onto storage's partitions, rows and cells.
//!
//! This is an on-disk format: changing it breaks existing data.
//!
//! - **Partition key:** the v4 serialization of the key column; for composite keys,
//!   Cassandra's composite (`u16 length ‖ bytes ‖ 0x00` per component). The token is
//!   Cassandra's Murmur3 of those bytes, so drivers route and `token()` agrees.
//! - **Clustering key:** the [`ClusteringLayout`] encoding of the clustering values
//!   (byte-comparable, each column ascending or descending), so storage's `memcmp`
//!   order is CQL's clustering order.
//! - **Simple cells** (including frozen collections and tuples): the v4
//!   serialization of the value; a cell path of `None`.
//! - **Non-frozen collections:** one cell per element, the path ordering elements:
//!   - `set<e>`: path = byte-comparable ascending encoding of the element, empty value;
//!   - `map<k, v>`: path = byte-comparable ascending encoding of the key, value = v4 of `v`;
//!   - `list<e>`: path = [`list_path`] (17 bytes), value = v4 of the element. Appends
//!     sort after prepends, and within each, by element id; ids come from
//!     [`ListIds`], never repeat, and grow with time (Cassandra's per-element
//!     timeuuids).
//! - **Row existence:** an INSERT writes the row's liveness marker; UPDATE does not.
//! - **Overwriting a collection** writes a column deletion just before the new cells.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use cql_lite::byte_comparable::{self, ClusteringLayout, Order};
use cql_lite::types::CqlType;
use cql_lite::value::{self, CqlValue, ValueError};
use storage::{ClusteringKey, ColumnCell, DecoratedKey};

use crate::schema::TableDef;

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CodecError {
    /// A value does not fit its column's type.
    #[error("{0}")]
    Value(#[from] ValueError),
    /// A partition key component is over 64 KiB.
    #[error("{0}")]
    KeyTooLong(#[from] cluster::KeyTooLong),
    /// Stored bytes do not decode as the schema says.
    #[error("stored key does not match the table's key: {0}")]
    Corrupt(String),
}

/// The v4 serialization of `value` as a `ty`.
pub(crate) fn encode_value(ty: &CqlType, value: &CqlValue) -> Result<Bytes, CodecError> {
    let mut out = Vec::new();
    value::serialize(ty, value, &mut out)?;
    Ok(Bytes::from(out))
}

/// The partition key of `values` (one per partition key column, in key order).
pub(crate) fn partition_key(
    table: &TableDef,
    values: &[CqlValue],
) -> Result<DecoratedKey, CodecError> {
    let mut parts = Vec::with_capacity(values.len());
    for (column, v) in table.partition_key().zip(values) {
        let mut out = Vec::new();
        value::serialize(&column.ty, v, &mut out)?;
        parts.push(out);
    }
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let bytes = cluster::composite_key(&slices)?;
    let token = cluster::murmur3_token(&bytes);
    Ok(DecoratedKey::new(token, bytes))
}

/// The partition key values stored in `key`.
pub(crate) fn decode_partition_key(
    table: &TableDef,
    key: &[u8],
) -> Result<Vec<CqlValue>, CodecError> {
    let columns: Vec<&CqlType> = table.partition_key().map(|c| &c.ty).collect();
    if let [only] = columns.as_slice() {
        return Ok(vec![value::deserialize(only, key)?]);
    }
    let mut rest = key;
    let mut values = Vec::with_capacity(columns.len());
    for ty in columns {
        let [hi, lo, tail @ ..] = rest else {
            return Err(CodecError::Corrupt("truncated composite key".into()));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((component, [0, after @ ..])) = tail.split_at_checked(len) else {
            return Err(CodecError::Corrupt("bad composite key component".into()));
        };
        values.push(value::deserialize(ty, component)?);
        rest = after;
    }
    Ok(values)
}

/// The clustering key of a full set of clustering values, or of a prefix of them
/// (for range bounds and partial deletions).
pub(crate) fn clustering_key(
    layout: &ClusteringLayout,
    values: &[CqlValue],
) -> Result<ClusteringKey, CodecError> {
    let bytes = if values.len() == layout.columns().len() {
        layout.encode(values)?
    } else {
        layout.encode_prefix(values)?
    };
    Ok(ClusteringKey::new(bytes))
}

/// The clustering values stored in `key`.
pub(crate) fn decode_clustering(
    layout: &ClusteringLayout,
    key: &ClusteringKey,
) -> Result<Vec<CqlValue>, CodecError> {
    Ok(layout.decode(key.as_bytes())?)
}

/// The cell path of a set element or a map key.
pub(crate) fn element_path(element_ty: &CqlType, element: &CqlValue) -> Result<Bytes, CodecError> {
    let mut out = Vec::new();
    byte_comparable::encode_value(element_ty, element, Order::Asc, &mut out)?;
    Ok(Bytes::from(out))
}

/// Where a list element goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListPosition {
    /// Before every existing element (later prepends come first).
    Prepend,
    /// After every existing element (later appends come last).
    Append,
}

/// The cell path of a list element: a position tag (prepends, 0, sort before
/// appends, 1), then the element's time id in µs, counted downwards for
/// prepends so a later prepend comes first, then `node`, the bits that keep
/// ids made by different processes apart.
///
/// Paths written before ids existed carry the write timestamp as the time
/// and a per-batch sequence number as `node`; they still sort by time among
/// the new ones.
pub(crate) fn list_path(position: ListPosition, micros: i64, node: u64) -> Bytes {
    // Flipping the sign bit makes the big-endian bytes sort as the signed value.
    let time = (micros as u64) ^ (1 << 63);
    let (tag, time) = match position {
        ListPosition::Prepend => (0u8, u64::MAX - time),
        ListPosition::Append => (1u8, time),
    };
    let mut out = Vec::with_capacity(17);
    out.push(tag);
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&node.to_be_bytes());
    Bytes::from(out)
}

/// The ids of list elements, in the spirit of Cassandra's per-element
/// timeuuids: the time part is wall-clock µs that never repeats or goes back
/// within the process, and the node bits are random per process. Elements
/// written with equal timestamps (a batch, `USING TIMESTAMP`, client
/// timestamps) therefore still get distinct paths, ordered as they were
/// written.
#[derive(Debug)]
pub(crate) struct ListIds {
    last_micros: AtomicI64,
    node: u64,
}

impl ListIds {
    /// Ids tagged with `node`, starting after no id.
    pub(crate) const fn new(node: u64) -> Self {
        ListIds {
            last_micros: AtomicI64::new(i64::MIN),
            node,
        }
    }

    /// The process's ids: every write path takes them from here.
    pub(crate) fn process() -> &'static ListIds {
        static IDS: OnceLock<ListIds> = OnceLock::new();
        IDS.get_or_init(|| ListIds::new(rand::random()))
    }

    /// The paths of `count` elements written at `now_micros` to `position`,
    /// in list order: after every path of an earlier call for appends, before
    /// them for prepends, and each element of one call in the order given.
    pub(crate) fn paths(
        &self,
        position: ListPosition,
        now_micros: i64,
        count: usize,
    ) -> Vec<Bytes> {
        if count == 0 {
            return Vec::new();
        }
        let count_i64 = i64::try_from(count).unwrap_or(i64::MAX);
        let first = self.reserve(now_micros, count_i64);
        (0..count_i64)
            .map(|i| match position {
                ListPosition::Append => first.saturating_add(i),
                // The first element of a prepend takes the newest id of its
                // range, which the downward count puts first.
                ListPosition::Prepend => first.saturating_add(count_i64 - 1 - i),
            })
            .map(|id| list_path(position, id, self.node))
            .collect()
    }

    /// Reserves `count` consecutive ids, the first not before `now_micros` and
    /// after every id reserved before; returns the first.
    fn reserve(&self, now_micros: i64, count: i64) -> i64 {
        let mut last = self.last_micros.load(Ordering::Relaxed);
        loop {
            let first = now_micros.max(last.saturating_add(1));
            let end = first.saturating_add(count.saturating_sub(1));
            match self.last_micros.compare_exchange_weak(
                last,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return first,
                Err(seen) => last = seen,
            }
        }
    }
}

/// Rebuilds a non-frozen collection from its live cells (in path order, as storage
/// returns them). `None` when no element is live: an empty collection is null in CQL.
pub(crate) fn decode_collection(
    ty: &CqlType,
    cells: &[&ColumnCell],
    now: i64,
) -> Result<Option<CqlValue>, CodecError> {
    let live = cells
        .iter()
        .filter_map(|c| Some((c.path.as_ref()?, c.cell.value_at(now)?)));
    let value = match ty {
        CqlType::Set { element, .. } => CqlValue::Set(
            live.map(|(path, _)| decode_path(element, path))
                .collect::<Result<_, _>>()?,
        ),
        CqlType::Map { key, value: v, .. } => CqlValue::Map(
            live.map(|(path, bytes)| Ok((decode_path(key, path)?, value::deserialize(v, bytes)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        CqlType::List { element, .. } => CqlValue::List(
            live.map(|(_, bytes)| value::deserialize(element, bytes))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(CodecError::Corrupt(format!("{other} is not a collection")));
        }
    };
    let empty = matches!(&value, CqlValue::Set(v) | CqlValue::List(v) if v.is_empty())
        || matches!(&value, CqlValue::Map(m) if m.is_empty());
    Ok((!empty).then_some(value))
}

fn decode_path(ty: &CqlType, path: &[u8]) -> Result<CqlValue, CodecError> {
    let (value, used) = byte_comparable::decode_value(ty, Order::Asc, path)?;
    if used != path.len() {
        return Err(CodecError::Corrupt("trailing bytes in a cell path".into()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
