//! The paging state: where a page stopped, as opaque bytes the client sends back.
//!
//! Layout (version 1, big-endian):
//! `01 | kind u8 | limit_left u64 | partition_left u64 | position`, where a `u64::MAX`
//! count means "no limit", and the position is
//! - kind 1 (storage): `token i64 | key_len u32 | key | after u8` then, for
//!   `after = 1` (after a row), `clustering_len u32 | clustering`; `after = 0` means
//!   the whole partition is done;
//! - kind 2 (virtual table): `next u64`, the index of the next source row.
//!
//! Decoding checks every length, so a malformed state is an Invalid error, never a
//! panic; a well-formed state from another query resumes at a position that query
//! may not have, which at worst returns rows from that position on.

use bytes::{BufMut, Bytes, BytesMut};
use cql_lite::ErrorResponse;
use storage::{ClusteringKey, DecoratedKey, Token};

use crate::cql::error::invalid;

const VERSION: u8 = 1;
const STORAGE: u8 = 1;
const VIRTUAL: u8 = 2;
/// Keys and clustering prefixes are at most 64 KiB per component; this bounds what
/// a state may claim before anything is allocated.
const MAX_PART: usize = 1 << 24;

/// Where in the partition the last page stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum After {
    /// After this row (in reading order).
    Row(ClusteringKey),
    /// After the whole partition.
    Partition,
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Position {
    /// In storage order.
    Storage {
        /// The partition of the last row returned.
        key: DecoratedKey,
        /// Where in it.
        after: After,
    },
    /// In a virtual table's row list.
    Virtual {
        /// The index of the next row.
        next: u64,
    },
}

/// What the next page needs to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PagingState {
    /// Rows LIMIT still allows (`None`: no LIMIT).
    pub(super) limit_left: Option<u64>,
    /// Rows PER PARTITION LIMIT still allows in the partition the page stopped in.
    pub(super) partition_left: Option<u64>,
    /// Where to continue.
    pub(super) position: Position,
}

fn malformed() -> ErrorResponse {
    invalid("Invalid value for the paging state")
}

impl PagingState {
    /// The state's bytes.
    pub(super) fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        out.put_u8(VERSION);
        out.put_u8(match self.position {
            Position::Storage { .. } => STORAGE,
            Position::Virtual { .. } => VIRTUAL,
        });
        out.put_u64(self.limit_left.unwrap_or(u64::MAX));
        out.put_u64(self.partition_left.unwrap_or(u64::MAX));
        match &self.position {
            Position::Storage { key, after } => {
                out.put_i64(key.token.0);
                put_bytes(&mut out, &key.key);
                match after {
                    After::Partition => out.put_u8(0),
                    After::Row(ck) => {
                        out.put_u8(1);
                        put_bytes(&mut out, ck.as_bytes());
                    }
                }
            }
            Position::Virtual { next } => out.put_u64(*next),
        }
        out.freeze()
    }

    /// Parses a state sent by a client.
    pub(super) fn decode(bytes: &[u8]) -> Result<PagingState, ErrorResponse> {
        let mut r = Reader { bytes };
        if r.u8()? != VERSION {
            return Err(malformed());
        }
        let kind = r.u8()?;
        let count = |v: u64| (v != u64::MAX).then_some(v);
        let limit_left = count(r.u64()?);
        let partition_left = count(r.u64()?);
        let position = match kind {
            STORAGE => {
                let token = Token(r.u64()? as i64);
                let key = DecoratedKey::new(token, r.bytes()?);
                let after = match r.u8()? {
                    0 => After::Partition,
                    1 => After::Row(ClusteringKey::new(r.bytes()?)),
                    _ => return Err(malformed()),
                };
                Position::Storage { key, after }
            }
            VIRTUAL => Position::Virtual { next: r.u64()? },
            _ => return Err(malformed()),
        };
        if !r.bytes.is_empty() {
            return Err(malformed());
        }
        Ok(PagingState {
            limit_left,
            partition_left,
            position,
        })
    }
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    out.put_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ErrorResponse> {
        let (head, tail) = self.bytes.split_at_checked(n).ok_or_else(malformed)?;
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ErrorResponse> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, ErrorResponse> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| malformed())?;
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<Bytes, ErrorResponse> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| malformed())?;
        let n = usize::try_from(u32::from_be_bytes(b)).map_err(|_| malformed())?;
        if n > MAX_PART {
            return Err(malformed());
        }
        Ok(Bytes::copy_from_slice(self.take(n)?))
    }
}
