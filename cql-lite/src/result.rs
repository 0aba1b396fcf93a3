//! The RESULT message (spec §4.2.5): Void, Rows, Set_keyspace, Prepared, Schema_change.

use bytes::{BufMut, Bytes, BytesMut};

use crate::column_type::ColumnType;
use crate::error::{Error, Result};
use crate::event::SchemaChange;
use crate::notation::{Reader, write};

const VOID: i32 = 0x0001;
const ROWS: i32 = 0x0002;
const SET_KEYSPACE: i32 = 0x0003;
const PREPARED: i32 = 0x0004;
const SCHEMA_CHANGE: i32 = 0x0005;

const GLOBAL_TABLES_SPEC: i32 = 0x0001;
const HAS_MORE_PAGES: i32 = 0x0002;
const NO_METADATA: i32 = 0x0004;

/// One column (or bind marker): where it lives, its name and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The keyspace of the column's table.
    pub keyspace: String,
    /// The column's table.
    pub table: String,
    /// The column name; for a `:name` bind marker, the marker's name (drivers bind by it).
    pub name: String,
    /// The CQL type.
    pub column_type: ColumnType,
}

/// The columns a Rows result describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// Full column specs.
    Specs(Vec<ColumnSpec>),
    /// Flag No_metadata: only the count, because the client asked to skip metadata it
    /// already has from PREPARE (or, in a Prepared result, the statement returns no rows).
    NoMetadata {
        /// How many columns each row has.
        count: usize,
    },
}

impl Columns {
    /// How many columns there are.
    pub fn count(&self) -> usize {
        match self {
            Self::Specs(specs) => specs.len(),
            Self::NoMetadata { count } => *count,
        }
    }
}

/// `<flags><columns_count>[<paging_state>][<global_table_spec>?<col_spec_1>...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsMetadata {
    /// Flag Has_more_pages: the state to send back for the next page.
    pub paging_state: Option<Bytes>,
    /// The columns.
    pub columns: Columns,
}

/// A page of rows; each cell is a `[bytes]`, `None` for null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// Column metadata and paging state.
    pub metadata: RowsMetadata,
    /// The rows, each exactly `metadata.columns.count()` cells long.
    pub rows: Vec<Vec<Option<Bytes>>>,
}

/// The v4 Prepared result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The statement id, sent back in EXECUTE.
    pub id: Bytes,
    /// For each partition key column, the index of the bind marker that sets it; empty
    /// when not all are bound, which makes drivers give up token-aware routing.
    pub pk_indexes: Vec<u16>,
    /// The bind markers.
    pub bind_markers: Vec<ColumnSpec>,
    /// The columns the statement returns (`NoMetadata { count: 0 }` for non-SELECTs).
    pub result_metadata: RowsMetadata,
}

/// A RESULT message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryResult {
    /// The statement returns nothing.
    Void,
    /// A page of rows.
    Rows(Rows),
    /// `USE ks` succeeded; the keyspace is the connection's default from now on.
    SetKeyspace(String),
    /// PREPARE succeeded.
    Prepared(Prepared),
    /// DDL succeeded.
    SchemaChange(SchemaChange),
}

impl QueryResult {
    /// Reads a RESULT body.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        Ok(match reader.int()? {
            VOID => Self::Void,
            ROWS => Self::Rows(Rows::decode(reader)?),
            SET_KEYSPACE => Self::SetKeyspace(reader.string()?),
            PREPARED => Self::Prepared(Prepared::decode(reader)?),
            SCHEMA_CHANGE => Self::SchemaChange(SchemaChange::decode(reader)?),
            kind => {
                return Err(Error::UnknownValue {
                    what: "result kind",
                    value: kind.to_string(),
                });
            }
        })
    }

    /// Writes a RESULT body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            Self::Void => dst.put_i32(VOID),
            Self::Rows(rows) => {
                dst.put_i32(ROWS);
                rows.encode(dst)?;
            }
            Self::SetKeyspace(keyspace) => {
                dst.put_i32(SET_KEYSPACE);
                write::string(dst, keyspace)?;
            }
            Self::Prepared(prepared) => {
                dst.put_i32(PREPARED);
                prepared.encode(dst)?;
            }
            Self::SchemaChange(change) => {
                dst.put_i32(SCHEMA_CHANGE);
                change.encode(dst)?;
            }
        }
        Ok(())
    }
}

impl Rows {
    /// Reads `<metadata><rows_count><rows_content>`.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let metadata = RowsMetadata::decode(reader)?;
        let width = metadata.columns.count();
        let count = non_negative(reader.int()?, "rows_count")?;
        if width == 0 && count > 0 {
            // Nothing on the wire would bound how many empty rows we build.
            return Err(Error::InvalidLength {
                what: "rows without columns",
                length: i64::try_from(count).unwrap_or(i64::MAX),
            });
        }
        let rows = reader.counted(count, width.saturating_mul(4), |r| {
            r.counted(width, 4, Reader::bytes)
        })?;
        Ok(Self { metadata, rows })
    }

    /// Writes the metadata and the rows.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        self.metadata.encode(dst)?;
        let width = self.metadata.columns.count();
        if self.rows.iter().any(|row| row.len() != width) {
            return Err(Error::Unencodable(
                "a row's cell count differs from the column count",
            ));
        }
        dst.put_i32(int_count(self.rows.len(), "rows")?);
        for cell in self.rows.iter().flatten() {
            write::bytes(dst, cell.as_deref())?;
        }
        Ok(())
    }
}

impl RowsMetadata {
    /// Metadata with full specs and no paging state.
    pub fn with_specs(specs: Vec<ColumnSpec>) -> Self {
        Self {
            paging_state: None,
            columns: Columns::Specs(specs),
        }
    }

    /// Reads rows (or result) metadata.
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let flags = reader.int()?;
        let count = non_negative(reader.int()?, "columns_count")?;
        let paging_state = if flags & HAS_MORE_PAGES != 0 {
            reader.bytes()?
        } else {
            None
        };
        let columns = if flags & NO_METADATA != 0 {
            Columns::NoMetadata { count }
        } else {
            Columns::Specs(decode_specs(reader, flags, count)?)
        };
        Ok(Self {
            paging_state,
            columns,
        })
    }

    /// Writes the metadata, with a global table spec when all columns share one table.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        let mut flags = 0;
        if self.paging_state.is_some() {
            flags |= HAS_MORE_PAGES;
        }
        let specs = match &self.columns {
            Columns::NoMetadata { .. } => {
                flags |= NO_METADATA;
                &[][..]
            }
            Columns::Specs(specs) => specs,
        };
        let global = global_spec(specs);
        if global.is_some() {
            flags |= GLOBAL_TABLES_SPEC;
        }
        dst.put_i32(flags);
        dst.put_i32(int_count(self.columns.count(), "columns")?);
        if let Some(state) = &self.paging_state {
            write::bytes(dst, Some(state))?;
        }
        encode_specs(dst, specs, global)
    }
}

impl Prepared {
    /// Reads `<id><metadata><result_metadata>` (v4: the metadata carries pk indexes).
    pub fn decode(reader: &mut Reader) -> Result<Self> {
        let id = reader.short_bytes()?;
        let flags = reader.int()?;
        let count = non_negative(reader.int()?, "bind marker count")?;
        let pk_count = non_negative(reader.int()?, "pk_count")?;
        let pk_indexes = reader.counted(pk_count, 2, Reader::short)?;
        let bind_markers = decode_specs(reader, flags, count)?;
        let result_metadata = RowsMetadata::decode(reader)?;
        Ok(Self {
            id,
            pk_indexes,
            bind_markers,
            result_metadata,
        })
    }

    /// Writes the Prepared body.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        write::short_bytes(dst, &self.id)?;
        let global = global_spec(&self.bind_markers);
        dst.put_i32(if global.is_some() {
            GLOBAL_TABLES_SPEC
        } else {
            0
        });
        dst.put_i32(int_count(self.bind_markers.len(), "bind markers")?);
        dst.put_i32(int_count(self.pk_indexes.len(), "pk indexes")?);
        self.pk_indexes.iter().for_each(|i| dst.put_u16(*i));
        encode_specs(dst, &self.bind_markers, global)?;
        self.result_metadata.encode(dst)
    }
}

fn decode_specs(reader: &mut Reader, flags: i32, count: usize) -> Result<Vec<ColumnSpec>> {
    let global = if flags & GLOBAL_TABLES_SPEC != 0 {
        Some((reader.string()?, reader.string()?))
    } else {
        None
    };
    reader.counted(count, 4, |r| {
        let (keyspace, table) = match &global {
            Some((keyspace, table)) => (keyspace.clone(), table.clone()),
            None => (r.string()?, r.string()?),
        };
        Ok(ColumnSpec {
            keyspace,
            table,
            name: r.string()?,
            column_type: ColumnType::decode(r)?,
        })
    })
}

/// The table all `specs` share, if there is at least one and they all do.
fn global_spec(specs: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = specs.first()?;
    specs
        .iter()
        .all(|s| s.keyspace == first.keyspace && s.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

fn encode_specs(
    dst: &mut BytesMut,
    specs: &[ColumnSpec],
    global: Option<(&str, &str)>,
) -> Result<()> {
    if let Some((keyspace, table)) = global {
        write::string(dst, keyspace)?;
        write::string(dst, table)?;
    }
    specs.iter().try_for_each(|spec| {
        if global.is_none() {
            write::string(dst, &spec.keyspace)?;
            write::string(dst, &spec.table)?;
        }
        write::string(dst, &spec.name)?;
        spec.column_type.encode(dst)
    })
}

fn non_negative(n: i32, what: &'static str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::InvalidLength {
        what,
        length: i64::from(n),
    })
}

fn int_count(n: usize, what: &'static str) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::TooLong { what, length: n })
}
