//! [`Mutation`]: one partition's update of one table, and its versioned binary encoding.
//!
//! A mutation is the unit of the commit log and the memtable, and of hints and the
//! internode wire above storage. The encoding starts with a format version byte so
//! that peers and old commit logs stay readable as it evolves; the byte layout is
//! in `docs/design/commitlog.md`.
#![deny(clippy::indexing_slicing)]

use crate::cell::{Cell, CellKind, DeletionTime, LivenessInfo, Row, Timestamp};
use crate::cell::{ColumnCell, RangeTombstone};
use crate::codec::{DecodeError, Reader, put_bytes, put_varint, put_varint_i64};
use crate::error::{Error, Result};
use crate::key::{Bound, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, TableId, Token};
use bytes::{BufMut, Bytes};

/// The encoding version written by this build.
pub(crate) const MUTATION_FORMAT_VERSION: u8 = 1;

/// An update of one partition of one table.
///
/// Invariant (checked by [`Mutation::validate`] and on decode): `rows` are sorted
/// by clustering key without duplicates, and each row's cells are sorted by
/// `(column, path)` without duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutation {
    /// The table.
    pub table: TableId,
    /// The partition.
    pub key: DecoratedKey,
    /// Deletes everything in the partition written at or before its timestamp.
    pub partition_deletion: Option<DeletionTime>,
    /// Deletions of clustering ranges.
    pub range_tombstones: Vec<RangeTombstone>,
    /// The static row (its clustering key is ignored and stored empty).
    pub static_row: Option<Row>,
    /// Regular rows in clustering order.
    pub rows: Vec<Row>,
}

impl Mutation {
    /// The largest write or deletion timestamp anywhere in the mutation, if
    /// it has any (a node's clock advances past the timestamps it sees).
    pub fn max_timestamp(&self) -> Option<crate::Timestamp> {
        let partition = self
            .partition_deletion
            .iter()
            .map(|d| d.marked_for_delete_at);
        let ranges = self
            .range_tombstones
            .iter()
            .map(|r| r.deletion.marked_for_delete_at);
        let rows = self
            .static_row
            .iter()
            .chain(&self.rows)
            .filter_map(Row::max_timestamp);
        partition.chain(ranges).chain(rows).max()
    }

    /// An empty mutation of `key` in `table`.
    pub fn new(table: TableId, key: DecoratedKey) -> Self {
        Mutation {
            table,
            key,
            partition_deletion: None,
            range_tombstones: Vec::new(),
            static_row: None,
            rows: Vec::new(),
        }
    }

    /// Adds a row, keeping rows sorted. A row with the same key is replaced.
    pub fn with_row(mut self, row: Row) -> Self {
        match self
            .rows
            .binary_search_by(|r| r.clustering.cmp(&row.clustering))
        {
            Ok(i) => {
                if let Some(old) = self.rows.get_mut(i) {
                    *old = row;
                }
            }
            Err(i) => self.rows.insert(i, row),
        }
        self
    }

    /// Checks the ordering invariants; decoded and caller-built mutations alike.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::Malformed {
            what: "mutation",
            reason,
        };
        if !self.rows.is_sorted_by(|a, b| a.clustering < b.clustering) {
            return Err(bad(
                "rows are not in strictly increasing clustering order".into()
            ));
        }
        for row in self.static_row.iter().chain(&self.rows) {
            if !row
                .cells
                .is_sorted_by(|a, b| (a.column, &a.path) < (b.column, &b.path))
            {
                return Err(bad("a row's cells are not sorted by (column, path)".into()));
            }
            if !row.column_deletions.is_sorted_by(|a, b| a.0 < b.0) {
                return Err(bad(
                    "a row's column deletions are not sorted by column".into()
                ));
            }
        }
        Ok(())
    }

    /// Appends the versioned encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(MUTATION_FORMAT_VERSION);
        out.put_u128_le(self.table.0);
        out.put_i64_le(self.key.token.0);
        put_bytes(out, &self.key.key);
        let flags = u8::from(self.partition_deletion.is_some())
            | (u8::from(self.static_row.is_some()) << 1);
        out.put_u8(flags);
        if let Some(d) = &self.partition_deletion {
            put_deletion(out, d);
        }
        put_varint(out, self.range_tombstones.len() as u64);
        for rt in &self.range_tombstones {
            put_range(out, &rt.range);
            put_deletion(out, &rt.deletion);
        }
        if let Some(s) = &self.static_row {
            put_row(out, s);
        }
        put_varint(out, self.rows.len() as u64);
        for r in &self.rows {
            put_row(out, r);
        }
    }

    /// The encoding as a fresh buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.estimated_size() + 32);
        self.encode(&mut out);
        out
    }

    /// Decodes and validates a mutation; hostile input gives `Error::Malformed`.
    pub fn decode(buf: &[u8]) -> Result<Mutation> {
        let mut r = Reader::new(buf);
        let m = decode_mutation(&mut r).map_err(|e| Error::Malformed {
            what: "mutation",
            reason: e.0,
        })?;
        if !r.is_empty() {
            return Err(Error::Malformed {
                what: "mutation",
                reason: format!("{} trailing bytes", r.remaining()),
            });
        }
        m.validate()?;
        Ok(m)
    }

    /// A cheap estimate of the payload size (keys and values), for accounting.
    pub fn estimated_size(&self) -> usize {
        let row_size = |r: &Row| {
            r.clustering.0.len()
                + 24
                + r.cells
                    .iter()
                    .map(|c| 16 + c.path.as_ref().map_or(0, |p| p.len()) + cell_value_len(&c.cell))
                    .sum::<usize>()
        };
        self.key.key.len()
            + 32
            + self.range_tombstones.len() * 48
            + self.static_row.as_ref().map_or(0, row_size)
            + self.rows.iter().map(row_size).sum::<usize>()
    }
}

fn cell_value_len(c: &Cell) -> usize {
    match &c.kind {
        CellKind::Live(v) | CellKind::Expiring { value: v, .. } => v.len(),
        CellKind::Tombstone { .. } => 0,
    }
}

fn decode_mutation(r: &mut Reader<'_>) -> Result<Mutation, DecodeError> {
    let version = r.u8()?;
    if version != MUTATION_FORMAT_VERSION {
        return Err(DecodeError(format!(
            "unknown mutation format version {version}"
        )));
    }
    let table = TableId(u128::from_le_bytes(
        r.take(16)?
            .try_into()
            .map_err(|_| DecodeError("table id".into()))?,
    ));
    let token = Token(r.i64()?);
    let key = r.bytes()?;
    let flags = r.u8()?;
    if flags & !0b11 != 0 {
        return Err(DecodeError(format!("unknown mutation flags {flags:#x}")));
    }
    let partition_deletion = if flags & 1 != 0 {
        Some(get_deletion(r)?)
    } else {
        None
    };
    let n = r.len()?;
    let mut range_tombstones = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let range = get_range(r)?;
        range_tombstones.push(RangeTombstone {
            range,
            deletion: get_deletion(r)?,
        });
    }
    let static_row = if flags & 2 != 0 {
        Some(get_row(r)?)
    } else {
        None
    };
    let n = r.len()?;
    let mut rows = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        rows.push(get_row(r)?);
    }
    Ok(Mutation {
        table,
        key: DecoratedKey { token, key },
        partition_deletion,
        range_tombstones,
        static_row,
        rows,
    })
}

/// Encodes a deletion time.
pub(crate) fn put_deletion(out: &mut Vec<u8>, d: &DeletionTime) {
    put_varint_i64(out, d.marked_for_delete_at.0);
    put_varint_i64(out, d.local_deletion_time);
}

/// Decodes a deletion time.
pub(crate) fn get_deletion(r: &mut Reader<'_>) -> Result<DeletionTime, DecodeError> {
    Ok(DeletionTime {
        marked_for_delete_at: Timestamp(r.varint_i64()?),
        local_deletion_time: r.varint_i64()?,
    })
}

fn put_bound(out: &mut Vec<u8>, b: &Bound) {
    match b {
        Bound::Unbounded => out.put_u8(0),
        Bound::Inclusive(k) => {
            out.put_u8(1);
            put_bytes(out, k.as_bytes());
        }
        Bound::Exclusive(k) => {
            out.put_u8(2);
            put_bytes(out, k.as_bytes());
        }
    }
}

fn get_bound(r: &mut Reader<'_>) -> Result<Bound, DecodeError> {
    Ok(match r.u8()? {
        0 => Bound::Unbounded,
        1 => Bound::Inclusive(ClusteringKey(r.bytes()?)),
        2 => Bound::Exclusive(ClusteringKey(r.bytes()?)),
        t => return Err(DecodeError(format!("unknown bound tag {t}"))),
    })
}

/// Encodes a clustering range.
pub(crate) fn put_range(out: &mut Vec<u8>, range: &ClusteringRange) {
    put_bound(out, &range.start);
    put_bound(out, &range.end);
}

/// Decodes a clustering range.
pub(crate) fn get_range(r: &mut Reader<'_>) -> Result<ClusteringRange, DecodeError> {
    Ok(ClusteringRange {
        start: get_bound(r)?,
        end: get_bound(r)?,
    })
}

// Row and cell flags. SSTable data blocks encode rows with the same functions
// (`put_row_body`, `get_row_body`) behind their own clustering framing.
const ROW_LIVENESS: u8 = 1;
const ROW_LIVENESS_EXPIRY: u8 = 2;
const ROW_DELETION: u8 = 4;
const CELL_HAS_PATH: u8 = 1;
const CELL_LIVE: u8 = 0;
const CELL_EXPIRING: u8 = 2;
const CELL_TOMBSTONE: u8 = 4;

/// Encodes a row (used by the mutation codec and by SSTable data blocks).
pub(crate) fn put_row(out: &mut Vec<u8>, row: &Row) {
    put_bytes(out, row.clustering.as_bytes());
    put_row_body(out, row);
}

/// Encodes everything of a row but its clustering key.
pub(crate) fn put_row_body(out: &mut Vec<u8>, row: &Row) {
    let mut flags = 0;
    if let Some(l) = &row.liveness {
        flags |= ROW_LIVENESS;
        if l.expiry.is_some() {
            flags |= ROW_LIVENESS_EXPIRY;
        }
    }
    if row.deletion.is_some() {
        flags |= ROW_DELETION;
    }
    out.put_u8(flags);
    if let Some(l) = &row.liveness {
        put_varint_i64(out, l.timestamp.0);
        if let Some((ttl, exp)) = l.expiry {
            put_varint_i64(out, i64::from(ttl));
            put_varint_i64(out, exp);
        }
    }
    if let Some(d) = &row.deletion {
        put_deletion(out, d);
    }
    put_varint(out, row.column_deletions.len() as u64);
    for (c, d) in &row.column_deletions {
        put_varint(out, u64::from(c.0));
        put_deletion(out, d);
    }
    put_varint(out, row.cells.len() as u64);
    for c in &row.cells {
        put_cell(out, c);
    }
}

fn put_cell(out: &mut Vec<u8>, c: &ColumnCell) {
    put_varint(out, u64::from(c.column.0));
    let kind = match c.cell.kind {
        CellKind::Live(_) => CELL_LIVE,
        CellKind::Expiring { .. } => CELL_EXPIRING,
        CellKind::Tombstone { .. } => CELL_TOMBSTONE,
    };
    out.put_u8(kind | (u8::from(c.path.is_some()) * CELL_HAS_PATH));
    if let Some(p) = &c.path {
        put_bytes(out, p);
    }
    put_varint_i64(out, c.cell.timestamp.0);
    match &c.cell.kind {
        CellKind::Live(v) => put_bytes(out, v),
        CellKind::Expiring {
            value,
            ttl_seconds,
            local_expiration_time,
        } => {
            put_bytes(out, value);
            put_varint_i64(out, i64::from(*ttl_seconds));
            put_varint_i64(out, *local_expiration_time);
        }
        CellKind::Tombstone {
            local_deletion_time,
        } => put_varint_i64(out, *local_deletion_time),
    }
}

fn get_i32(r: &mut Reader<'_>) -> Result<i32, DecodeError> {
    let v = r.varint_i64()?;
    i32::try_from(v).map_err(|_| DecodeError(format!("ttl {v} out of range")))
}

/// Decodes a row whose values are copied out of the input.
pub(crate) fn get_row(r: &mut Reader<'_>) -> Result<Row, DecodeError> {
    let clustering = ClusteringKey(r.bytes()?);
    get_row_body(r, clustering, &Bytes::copy_from_slice)
}

/// Decodes everything of a row but its clustering key; `bytes` turns each
/// value and cell path into `Bytes` (a copy here, a slice of a shared block in
/// SSTables, which decode rows without copying their values).
pub(crate) fn get_row_body<F: Fn(&[u8]) -> Bytes>(
    r: &mut Reader<'_>,
    clustering: ClusteringKey,
    bytes: &F,
) -> Result<Row, DecodeError> {
    let flags = r.u8()?;
    if flags & !(ROW_LIVENESS | ROW_LIVENESS_EXPIRY | ROW_DELETION) != 0 {
        return Err(DecodeError(format!("unknown row flags {flags:#x}")));
    }
    let liveness = if flags & ROW_LIVENESS != 0 {
        let timestamp = Timestamp(r.varint_i64()?);
        let expiry = if flags & ROW_LIVENESS_EXPIRY != 0 {
            Some((get_i32(r)?, r.varint_i64()?))
        } else {
            None
        };
        Some(LivenessInfo { timestamp, expiry })
    } else {
        None
    };
    let deletion = if flags & ROW_DELETION != 0 {
        Some(get_deletion(r)?)
    } else {
        None
    };
    let n = r.len()?;
    let mut column_deletions = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        column_deletions.push((get_column(r)?, get_deletion(r)?));
    }
    let n = r.len()?;
    let mut cells = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        cells.push(get_cell(r, bytes)?);
    }
    Ok(Row {
        clustering,
        liveness,
        deletion,
        column_deletions,
        cells,
    })
}

fn get_column(r: &mut Reader<'_>) -> Result<ColumnId, DecodeError> {
    let v = r.varint()?;
    u32::try_from(v)
        .map(ColumnId)
        .map_err(|_| DecodeError(format!("column id {v} out of range")))
}

fn get_cell<F: Fn(&[u8]) -> Bytes>(
    r: &mut Reader<'_>,
    bytes: &F,
) -> Result<ColumnCell, DecodeError> {
    let column = get_column(r)?;
    let flags = r.u8()?;
    let path = if flags & CELL_HAS_PATH != 0 {
        Some(bytes(r.slice()?))
    } else {
        None
    };
    let timestamp = Timestamp(r.varint_i64()?);
    let kind = match flags & !CELL_HAS_PATH {
        CELL_LIVE => CellKind::Live(bytes(r.slice()?)),
        CELL_EXPIRING => CellKind::Expiring {
            value: bytes(r.slice()?),
            ttl_seconds: get_i32(r)?,
            local_expiration_time: r.varint_i64()?,
        },
        CELL_TOMBSTONE => CellKind::Tombstone {
            local_deletion_time: r.varint_i64()?,
        },
        k => return Err(DecodeError(format!("unknown cell kind {k:#x}"))),
    };
    Ok(ColumnCell {
        column,
        path,
        cell: Cell { timestamp, kind },
    })
}

/// Proptest strategies for mutations, shared by the crate's tests.
#[cfg(test)]
pub(crate) mod arb {
    use super::*;
    use proptest::prelude::*;

    /// A small clustering key alphabet so that rows collide often.
    pub(crate) fn clustering() -> impl Strategy<Value = ClusteringKey> {
        proptest::collection::vec(0u8..4, 0..3).prop_map(ClusteringKey::new)
    }

    pub(crate) fn deletion() -> impl Strategy<Value = DeletionTime> {
        (0i64..20, 0i64..100).prop_map(|(t, l)| DeletionTime::new(t, l))
    }

    pub(crate) fn cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            (0i64..20, proptest::collection::vec(any::<u8>(), 0..3))
                .prop_map(|(t, v)| Cell::live(t, v)),
            (
                0i64..20,
                proptest::collection::vec(any::<u8>(), 0..3),
                1i32..50,
                0i64..60
            )
                .prop_map(|(t, v, ttl, now)| Cell::expiring(t, v, ttl, now)),
            (0i64..20, 0i64..100).prop_map(|(t, l)| Cell::tombstone(t, l)),
        ]
    }

    pub(crate) fn row() -> impl Strategy<Value = Row> {
        (
            clustering(),
            proptest::option::of((0i64..20, proptest::option::of((1i32..50, 0i64..100)))),
            proptest::option::of(deletion()),
            proptest::collection::btree_map(0u32..3, deletion(), 0..2),
            proptest::collection::btree_map(
                (
                    0u32..4,
                    proptest::option::of(proptest::collection::vec(0u8..3, 0..2)),
                ),
                cell(),
                0..4,
            ),
        )
            .prop_map(|(clustering, liveness, deletion, cdel, cells)| Row {
                clustering,
                liveness: liveness.map(|(t, expiry)| LivenessInfo {
                    timestamp: Timestamp(t),
                    expiry,
                }),
                deletion,
                column_deletions: cdel.into_iter().map(|(c, d)| (ColumnId(c), d)).collect(),
                cells: cells
                    .into_iter()
                    .map(|((column, path), cell)| ColumnCell {
                        column: ColumnId(column),
                        path: path.map(bytes::Bytes::from),
                        cell,
                    })
                    .collect(),
            })
    }

    pub(crate) fn bound() -> impl Strategy<Value = Bound> {
        prop_oneof![
            Just(Bound::Unbounded),
            clustering().prop_map(Bound::Inclusive),
            clustering().prop_map(Bound::Exclusive),
        ]
    }

    pub(crate) fn range_tombstone() -> impl Strategy<Value = RangeTombstone> {
        (bound(), bound(), deletion()).prop_map(|(start, end, deletion)| RangeTombstone {
            range: ClusteringRange { start, end },
            deletion,
        })
    }

    /// A mutation of one of a few keys of table 1.
    pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
        (
            0i64..4,
            proptest::option::of(deletion()),
            proptest::collection::vec(range_tombstone(), 0..2),
            proptest::option::of(row()),
            proptest::collection::btree_map(clustering(), row(), 0..4),
        )
            .prop_map(|(k, pd, rts, st, rows)| Mutation {
                table: TableId(1),
                key: DecoratedKey::new(Token(k / 2), vec![k as u8]),
                partition_deletion: pd,
                range_tombstones: rts,
                static_row: st.map(|mut r| {
                    r.clustering = ClusteringKey::EMPTY;
                    r
                }),
                rows: rows
                    .into_iter()
                    .map(|(c, mut r)| {
                        r.clustering = c;
                        r
                    })
                    .collect(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests cut and corrupt buffers on purpose
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mutations_round_trip(m in arb::mutation()) {
            let bytes = m.to_bytes();
            prop_assert_eq!(Mutation::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn truncated_or_garbled_mutations_are_errors_not_panics(
            m in arb::mutation(), cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>()
        ) {
            let bytes = m.to_bytes();
            let n = cut.index(bytes.len());
            prop_assert!(Mutation::decode(&bytes[..n]).is_err());
            let mut garbled = bytes.clone();
            let i = flip.0.index(garbled.len());
            garbled[i] ^= flip.1 | 1;
            let _ = Mutation::decode(&garbled);
        }
    }

    #[test]
    fn the_max_timestamp_covers_cells_markers_and_every_deletion() {
        let key = DecoratedKey::new(Token(1), &b"k"[..]);
        let mut m = Mutation::new(TableId(7), key);
        assert_eq!(m.max_timestamp(), None);
        m = m.with_row(Row::new(ClusteringKey::new(b"c".to_vec())).with_cell(
            ColumnId(1),
            None,
            Cell::live(5, b"v".to_vec()),
        ));
        assert_eq!(m.max_timestamp(), Some(Timestamp(5)));
        m.rows[0].deletion = Some(DeletionTime::new(9, 0));
        assert_eq!(m.max_timestamp(), Some(Timestamp(9)));
        m.range_tombstones.push(RangeTombstone {
            range: ClusteringRange::ALL,
            deletion: DeletionTime::new(12, 0),
        });
        assert_eq!(m.max_timestamp(), Some(Timestamp(12)));
        m.partition_deletion = Some(DeletionTime::new(20, 0));
        assert_eq!(m.max_timestamp(), Some(Timestamp(20)));
    }

    #[test]
    fn unknown_version_is_rejected() {
        let m = Mutation::new(TableId(7), DecoratedKey::new(Token(1), &b"k"[..]));
        let mut bytes = m.to_bytes();
        bytes[0] = 99;
        let err = Mutation::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("unknown mutation format version 99"), "{err}");
    }

    #[test]
    fn unsorted_rows_are_rejected() {
        let mut m = Mutation::new(TableId(7), DecoratedKey::new(Token(1), &b"k"[..]));
        m.rows = vec![
            Row::new(ClusteringKey::new(&b"b"[..])),
            Row::new(ClusteringKey::new(&b"a"[..])),
        ];
        assert!(Mutation::decode(&m.to_bytes()).is_err());
    }
}
