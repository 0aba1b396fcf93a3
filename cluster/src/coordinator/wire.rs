//! The replica protocol's payloads: versioned, bounds-checked encodings.
//!
//! Every payload starts with [`WIRE_VERSION`] so nodes can evolve the format;
//! a response then has a status byte (0 = ok, 1 = [`ReplicaError`]). A
//! partition travels as the [`Mutation`] of that partition (deletion, range
//! tombstones, static row, rows in ascending clustering order), reusing
//! storage's versioned mutation encoding. Decoders never panic: every length
//! and count is checked against the bytes that remain, and hostile input is a
//! [`WireError`].
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use storage::codec::{DecodeError, Reader, put_bytes, put_varint, put_varint_i64};
use storage::{
    Bound, ClusteringKey, ClusteringRange, ColumnId, DecoratedKey, KeyRange, Mutation,
    PartitionBound, PartitionPosition, TableId, Token,
};
use storage::{ColumnFilter, PartitionRead};

/// The payload format written by this build.
pub(crate) const WIRE_VERSION: u8 = 1;

/// Bytes that did not decode as the payload expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {reason}")]
pub struct WireError {
    /// The payload being decoded.
    pub what: &'static str,
    /// What was wrong, with the offset when known.
    pub reason: String,
}

/// Why a replica could not serve a request; travels in a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ReplicaError {
    /// The class of failure, which decides how the coordinator reports it.
    pub kind: ReplicaErrorKind,
    /// A human-readable explanation.
    pub message: String,
}

/// The classes of replica failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaErrorKind {
    /// The replica is shedding load (its write queue or memtables are full).
    Overloaded,
    /// Storage failed (I/O, a closed engine).
    Storage,
    /// The read met more tombstones than the request allowed.
    TooManyTombstones,
    /// The request did not decode.
    Malformed,
    /// The request names a table the replica does not have (dropped, or
    /// never created there): sending it again cannot succeed, so replay
    /// skips it. Code 4, added within wire version 1: a node that predates
    /// it reads the response as malformed, which is a failure to it either
    /// way, and it never sends the code itself.
    UnknownTable,
}

impl ReplicaErrorKind {
    fn code(self) -> u8 {
        match self {
            ReplicaErrorKind::Overloaded => 0,
            ReplicaErrorKind::Storage => 1,
            ReplicaErrorKind::TooManyTombstones => 2,
            ReplicaErrorKind::Malformed => 3,
            ReplicaErrorKind::UnknownTable => 4,
        }
    }

    fn from_code(code: u8) -> Result<Self, DecodeError> {
        Ok(match code {
            0 => ReplicaErrorKind::Overloaded,
            1 => ReplicaErrorKind::Storage,
            2 => ReplicaErrorKind::TooManyTombstones,
            3 => ReplicaErrorKind::Malformed,
            4 => ReplicaErrorKind::UnknownTable,
            c => return Err(DecodeError(format!("unknown replica error kind {c}"))),
        })
    }
}

/// MUTATION: apply one mutation, acknowledge once it is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutationRequest {
    /// The mutation.
    pub mutation: Mutation,
}

/// READ: one partition, as data (with tombstones) or as a digest of that data.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The table.
    pub table: TableId,
    /// What to read. `row_limit` counts rows with live data at `now`; dead
    /// rows and tombstones in between travel along (they matter to
    /// reconciliation) but do not count.
    pub read: PartitionRead,
    /// Answer with a digest instead of the data.
    pub digest: bool,
    /// Fail with [`ReplicaErrorKind::TooManyTombstones`] past this many.
    pub max_tombstones: u64,
}

/// What a READ answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadReply {
    /// The partition with its tombstones (rows ascending); empty when the
    /// replica holds nothing for the key. Boxed: digests are the common
    /// answer and stay small.
    Data(Box<Mutation>),
    /// The 16-byte digest of the canonical encoding of that data.
    Digest([u8; 16]),
}

/// A READ's successful answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResponse {
    /// Data or digest.
    pub reply: ReadReply,
    /// Whether the row limit stopped the read (more rows may exist).
    pub hit_limit: bool,
    /// Tombstones met while reading.
    pub tombstones_scanned: u64,
}

/// RANGE_READ: the partitions of a key range, with tombstones.
#[derive(Clone, Debug)]
pub struct RangeReadRequest {
    /// The table.
    pub table: TableId,
    /// The partitions (a piece of one replica range; never wrapping).
    pub range: KeyRange,
    /// Continue after this row of this partition; earlier partitions are skipped.
    pub resume_after: Option<(DecoratedKey, ClusteringKey)>,
    /// The columns returned.
    pub columns: ColumnFilter,
    /// Seconds since the epoch, for TTLs.
    pub now: i64,
    /// Stop after this many rows with live data (a partition whose only live
    /// data is its static row counts as one).
    pub row_limit: Option<u64>,
    /// Fail past this many tombstones.
    pub max_tombstones: u64,
}

/// A RANGE_READ's successful answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeReadResponse {
    /// The partitions in token order, each with its tombstones.
    pub partitions: Vec<Mutation>,
    /// Whether the row limit stopped the scan (more partitions may follow).
    pub hit_limit: bool,
    /// Whether the limit stopped inside the last partition (its later rows
    /// were not read); otherwise the last partition is complete.
    pub last_partial: bool,
    /// Tombstones met while scanning.
    pub tombstones_scanned: u64,
}

fn malformed(what: &'static str) -> impl Fn(DecodeError) -> WireError {
    move |e| WireError { what, reason: e.0 }
}

/// Runs a decoder over a whole payload: version first, nothing left over.
pub(crate) fn decode_all<T>(
    buf: &[u8],
    what: &'static str,
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, WireError> {
    let mut r = Reader::new(buf);
    let run = |r: &mut Reader<'_>| {
        let version = r.u8()?;
        if version != WIRE_VERSION {
            return Err(DecodeError(format!("unknown wire version {version}")));
        }
        let value = body(r)?;
        if !r.is_empty() {
            return Err(DecodeError(format!("{} trailing bytes", r.remaining())));
        }
        Ok(value)
    };
    run(&mut r).map_err(malformed(what))
}

/// A count that must not exceed the bytes left (each item takes at least one).
pub(crate) fn get_count(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let n = r.varint()?;
    match usize::try_from(n) {
        Ok(n) if n <= r.remaining() => Ok(n),
        _ => Err(DecodeError(format!(
            "count {n} exceeds the {} bytes left",
            r.remaining()
        ))),
    }
}

fn get_bool(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(DecodeError(format!("bad boolean {b}"))),
    }
}

fn put_table(out: &mut Vec<u8>, table: TableId) {
    out.extend_from_slice(&table.0.to_le_bytes());
}

fn get_table(r: &mut Reader<'_>) -> Result<TableId, DecodeError> {
    let mut b = [0u8; 16];
    b.copy_from_slice(r.take(16)?);
    Ok(TableId(u128::from_le_bytes(b)))
}

fn put_key(out: &mut Vec<u8>, key: &DecoratedKey) {
    put_varint_i64(out, key.token.0);
    put_bytes(out, &key.key);
}

fn get_key(r: &mut Reader<'_>) -> Result<DecoratedKey, DecodeError> {
    let token = Token(r.varint_i64()?);
    Ok(DecoratedKey::new(token, r.bytes()?))
}

fn put_clustering_bound(out: &mut Vec<u8>, bound: &Bound) {
    match bound {
        Bound::Unbounded => out.push(0),
        Bound::Inclusive(k) => {
            out.push(1);
            put_bytes(out, k.as_bytes());
        }
        Bound::Exclusive(k) => {
            out.push(2);
            put_bytes(out, k.as_bytes());
        }
    }
}

fn get_clustering_bound(r: &mut Reader<'_>) -> Result<Bound, DecodeError> {
    Ok(match r.u8()? {
        0 => Bound::Unbounded,
        1 => Bound::Inclusive(ClusteringKey::new(r.bytes()?)),
        2 => Bound::Exclusive(ClusteringKey::new(r.bytes()?)),
        t => return Err(DecodeError(format!("unknown clustering bound tag {t}"))),
    })
}

fn put_columns(out: &mut Vec<u8>, columns: &ColumnFilter) {
    match columns {
        ColumnFilter::All => out.push(0),
        ColumnFilter::Only(ids) => {
            out.push(1);
            put_varint(out, ids.len() as u64);
            for id in ids {
                put_varint(out, u64::from(id.0));
            }
        }
    }
}

fn get_columns(r: &mut Reader<'_>) -> Result<ColumnFilter, DecodeError> {
    match r.u8()? {
        0 => Ok(ColumnFilter::All),
        1 => {
            let n = get_count(r)?;
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                let id = u32::try_from(r.varint()?)
                    .map_err(|_| DecodeError("column id out of range".into()))?;
                ids.push(ColumnId(id));
            }
            // The filter is searched by bisection, so it must be sorted.
            if ids.iter().zip(ids.iter().skip(1)).any(|(a, b)| a >= b) {
                return Err(DecodeError("column ids are not strictly increasing".into()));
            }
            Ok(ColumnFilter::Only(ids))
        }
        t => Err(DecodeError(format!("unknown column filter tag {t}"))),
    }
}

fn put_limit(out: &mut Vec<u8>, limit: Option<u64>) {
    // 0 is "no limit", so a limit n travels as n + 1 (saturating: u64::MAX
    // rows is no limit in practice).
    put_varint(out, limit.map_or(0, |n| n.saturating_add(1)));
}

fn get_limit(r: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    Ok(r.varint()?.checked_sub(1))
}

pub(crate) fn put_mutation(out: &mut Vec<u8>, m: &Mutation) {
    let bytes = m.to_bytes();
    put_bytes(out, &bytes);
}

pub(crate) fn get_mutation(r: &mut Reader<'_>) -> Result<Mutation, DecodeError> {
    let bytes = r.slice()?;
    Mutation::decode(bytes).map_err(|e| DecodeError(e.to_string()))
}

fn put_partition_bound(out: &mut Vec<u8>, bound: &PartitionBound) {
    let (tag, pos) = match bound {
        PartitionBound::Unbounded => {
            out.push(0);
            return;
        }
        PartitionBound::Inclusive(p) => (1, p),
        PartitionBound::Exclusive(p) => (2, p),
    };
    out.push(tag);
    match pos {
        PartitionPosition::Token(t) => {
            out.push(0);
            put_varint_i64(out, t.0);
        }
        PartitionPosition::Key(k) => {
            out.push(1);
            put_key(out, k);
        }
    }
}

fn get_partition_bound(r: &mut Reader<'_>) -> Result<PartitionBound, DecodeError> {
    let tag = r.u8()?;
    if tag == 0 {
        return Ok(PartitionBound::Unbounded);
    }
    let pos = match r.u8()? {
        0 => PartitionPosition::Token(Token(r.varint_i64()?)),
        1 => PartitionPosition::Key(get_key(r)?),
        t => return Err(DecodeError(format!("unknown partition position tag {t}"))),
    };
    match tag {
        1 => Ok(PartitionBound::Inclusive(pos)),
        2 => Ok(PartitionBound::Exclusive(pos)),
        t => Err(DecodeError(format!("unknown partition bound tag {t}"))),
    }
}

impl MutationRequest {
    /// The encoded request.
    pub fn encode(&self) -> Vec<u8> {
        encode_mutation_request(&self.mutation)
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_all(buf, "mutation request", |r| {
            Ok(MutationRequest {
                mutation: get_mutation(r)?,
            })
        })
    }
}

/// Encodes a MUTATION request for `mutation` without copying it first.
pub(crate) fn encode_mutation_request(mutation: &Mutation) -> Vec<u8> {
    let mut out = Vec::with_capacity(mutation.estimated_size() + 40);
    out.push(WIRE_VERSION);
    put_mutation(&mut out, mutation);
    out
}

impl ReadRequest {
    /// The encoded request.
    pub fn encode(&self) -> Vec<u8> {
        let read = &self.read;
        let mut out = Vec::with_capacity(64 + read.key.key.len());
        out.push(WIRE_VERSION);
        put_table(&mut out, self.table);
        put_key(&mut out, &read.key);
        put_varint(&mut out, read.slices.len() as u64);
        for slice in &read.slices {
            put_clustering_bound(&mut out, &slice.start);
            put_clustering_bound(&mut out, &slice.end);
        }
        put_columns(&mut out, &read.columns);
        let flags = u8::from(read.reversed)
            | u8::from(read.include_tombstones) << 1
            | u8::from(self.digest) << 2;
        out.push(flags);
        put_limit(&mut out, read.row_limit.map(|n| n as u64));
        put_varint_i64(&mut out, read.now);
        put_varint(&mut out, self.max_tombstones);
        out
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_all(buf, "read request", |r| {
            let table = get_table(r)?;
            let key = get_key(r)?;
            let n = get_count(r)?;
            let mut slices = Vec::with_capacity(n);
            for _ in 0..n {
                let start = get_clustering_bound(r)?;
                slices.push(ClusteringRange::new(start, get_clustering_bound(r)?));
            }
            let columns = get_columns(r)?;
            let flags = r.u8()?;
            if flags & !0b111 != 0 {
                return Err(DecodeError(format!("unknown read flags {flags:#x}")));
            }
            let row_limit = get_limit(r)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            let read = PartitionRead {
                key,
                slices,
                columns,
                reversed: flags & 1 != 0,
                row_limit,
                now: r.varint_i64()?,
                include_tombstones: flags & 2 != 0,
            };
            Ok(ReadRequest {
                table,
                read,
                digest: flags & 4 != 0,
                max_tombstones: r.varint()?,
            })
        })
    }
}

impl RangeReadRequest {
    /// The encoded request.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.push(WIRE_VERSION);
        put_table(&mut out, self.table);
        put_partition_bound(&mut out, &self.range.start);
        put_partition_bound(&mut out, &self.range.end);
        match &self.resume_after {
            None => out.push(0),
            Some((key, clustering)) => {
                out.push(1);
                put_key(&mut out, key);
                put_bytes(&mut out, clustering.as_bytes());
            }
        }
        put_columns(&mut out, &self.columns);
        put_varint_i64(&mut out, self.now);
        put_limit(&mut out, self.row_limit);
        put_varint(&mut out, self.max_tombstones);
        out
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_all(buf, "range read request", |r| {
            let table = get_table(r)?;
            let start = get_partition_bound(r)?;
            let range = KeyRange {
                start,
                end: get_partition_bound(r)?,
            };
            let resume_after = if get_bool(r)? {
                let key = get_key(r)?;
                Some((key, ClusteringKey::new(r.bytes()?)))
            } else {
                None
            };
            Ok(RangeReadRequest {
                table,
                range,
                resume_after,
                columns: get_columns(r)?,
                now: r.varint_i64()?,
                row_limit: get_limit(r)?,
                max_tombstones: r.varint()?,
            })
        })
    }
}

/// Encodes a response: the status, then the body of a success or the error.
fn encode_response<T>(
    result: &Result<T, ReplicaError>,
    body: impl FnOnce(&mut Vec<u8>, &T),
) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    match result {
        Ok(value) => {
            out.push(0);
            body(&mut out, value);
        }
        Err(e) => {
            out.push(1);
            out.push(e.kind.code());
            put_bytes(&mut out, e.message.as_bytes());
        }
    }
    out
}

/// Decodes a response written by [`encode_response`].
fn decode_response<T>(
    buf: &[u8],
    what: &'static str,
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Result<T, ReplicaError>, WireError> {
    decode_all(buf, what, |r| match r.u8()? {
        0 => Ok(Ok(body(r)?)),
        1 => {
            let kind = ReplicaErrorKind::from_code(r.u8()?)?;
            let message = String::from_utf8_lossy(r.slice()?).into_owned();
            Ok(Err(ReplicaError { kind, message }))
        }
        s => Err(DecodeError(format!("unknown response status {s}"))),
    })
}

/// Encodes a MUTATION's answer (an ack carries nothing but its status).
pub(crate) fn encode_mutation_response(result: &Result<(), ReplicaError>) -> Vec<u8> {
    encode_response(result, |_, ()| {})
}

/// Decodes a MUTATION's answer.
pub(crate) fn decode_mutation_response(buf: &[u8]) -> Result<Result<(), ReplicaError>, WireError> {
    decode_response(buf, "mutation response", |_| Ok(()))
}

/// Encodes a READ's answer.
pub(crate) fn encode_read_response(result: &Result<ReadResponse, ReplicaError>) -> Vec<u8> {
    encode_response(result, |out, resp| {
        out.push(u8::from(resp.hit_limit));
        put_varint(out, resp.tombstones_scanned);
        match &resp.reply {
            ReadReply::Data(m) => {
                out.push(0);
                put_mutation(out, m);
            }
            ReadReply::Digest(d) => {
                out.push(1);
                out.extend_from_slice(d);
            }
        }
    })
}

/// Decodes a READ's answer.
pub(crate) fn decode_read_response(
    buf: &[u8],
) -> Result<Result<ReadResponse, ReplicaError>, WireError> {
    decode_response(buf, "read response", |r| {
        let hit_limit = get_bool(r)?;
        let tombstones_scanned = r.varint()?;
        let reply = match r.u8()? {
            0 => ReadReply::Data(Box::new(get_mutation(r)?)),
            1 => {
                let mut d = [0u8; 16];
                d.copy_from_slice(r.take(16)?);
                ReadReply::Digest(d)
            }
            t => return Err(DecodeError(format!("unknown read reply tag {t}"))),
        };
        Ok(ReadResponse {
            reply,
            hit_limit,
            tombstones_scanned,
        })
    })
}

/// Encodes a RANGE_READ's answer.
pub(crate) fn encode_range_response(result: &Result<RangeReadResponse, ReplicaError>) -> Vec<u8> {
    encode_response(result, |out, resp| {
        out.push(u8::from(resp.hit_limit) | u8::from(resp.last_partial) << 1);
        put_varint(out, resp.tombstones_scanned);
        put_varint(out, resp.partitions.len() as u64);
        for m in &resp.partitions {
            put_mutation(out, m);
        }
    })
}

/// Decodes a RANGE_READ's answer.
pub(crate) fn decode_range_response(
    buf: &[u8],
) -> Result<Result<RangeReadResponse, ReplicaError>, WireError> {
    decode_response(buf, "range read response", |r| {
        let flags = r.u8()?;
        if flags & !0b11 != 0 {
            return Err(DecodeError(format!("unknown range flags {flags:#x}")));
        }
        let tombstones_scanned = r.varint()?;
        let n = get_count(r)?;
        let mut partitions = Vec::with_capacity(n);
        for _ in 0..n {
            partitions.push(get_mutation(r)?);
        }
        Ok(RangeReadResponse {
            partitions,
            hit_limit: flags & 1 != 0,
            last_partial: flags & 2 != 0,
            tombstones_scanned,
        })
    })
}

#[cfg(test)]
mod tests;
