//! The batchlog verbs' payloads, versioned like the rest of the replica
//! protocol (see [`crate::coordinator::wire`]); their answers are the
//! MUTATION answer (a status, or a [`crate::coordinator::wire::ReplicaError`]).
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::fmt;

use storage::Mutation;
use storage::codec::Reader;

use crate::coordinator::wire::{
    WIRE_VERSION, WireError, decode_all, get_count, get_mutation, put_mutation,
};

/// A batch's identity: the coordinator's time-based UUID for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub [u8; 16]);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl BatchId {
    /// Parses the 32 lowercase hex digits [`fmt::Display`] writes.
    pub fn parse_hex(s: &str) -> Option<BatchId> {
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(BatchId(id))
    }
}

/// `BATCH_STORE`: keep these mutations until told to forget them.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStoreRequest {
    /// The batch.
    pub id: BatchId,
    /// Its mutations, one per partition and table.
    pub mutations: Vec<Mutation>,
}

/// `BATCH_REMOVE`: the batch was applied; forget it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRemoveRequest {
    /// The batch.
    pub id: BatchId,
}

fn get_id(r: &mut Reader<'_>) -> Result<BatchId, storage::codec::DecodeError> {
    let bytes = r.take(16)?;
    let mut id = [0u8; 16];
    id.copy_from_slice(bytes);
    Ok(BatchId(id))
}

/// Encodes a BATCH_STORE request for `mutations` without copying them.
pub(crate) fn encode_batch_store(id: BatchId, mutations: &[Mutation]) -> Vec<u8> {
    let size: usize = mutations.iter().map(Mutation::estimated_size).sum();
    let mut out = Vec::with_capacity(size + 32);
    out.push(WIRE_VERSION);
    out.extend_from_slice(&id.0);
    storage::codec::put_varint(&mut out, mutations.len() as u64);
    for m in mutations {
        put_mutation(&mut out, m);
    }
    out
}

impl BatchStoreRequest {
    /// The encoded request.
    pub fn encode(&self) -> Vec<u8> {
        encode_batch_store(self.id, &self.mutations)
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_all(buf, "batch store request", |r| {
            let id = get_id(r)?;
            let n = get_count(r)?;
            let mutations = (0..n).map(|_| get_mutation(r)).collect::<Result<_, _>>()?;
            Ok(BatchStoreRequest { id, mutations })
        })
    }
}

impl BatchRemoveRequest {
    /// The encoded request.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17);
        out.push(WIRE_VERSION);
        out.extend_from_slice(&self.id.0);
        out
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_all(buf, "batch remove request", |r| {
            Ok(BatchRemoveRequest { id: get_id(r)? })
        })
    }
}

#[cfg(test)]
mod tests {
    use storage::{Cell, ClusteringKey, ColumnId, DecoratedKey, Row, TableId, Token};

    use super::*;

    fn mutation(key: &[u8]) -> Mutation {
        Mutation::new(TableId(7), DecoratedKey::new(Token(42), key.to_vec())).with_row(
            Row::new(ClusteringKey::new(b"c".to_vec())).with_cell(
                ColumnId(1),
                None,
                Cell::live(10, b"v".to_vec()),
            ),
        )
    }

    #[test]
    fn requests_round_trip() {
        let store = BatchStoreRequest {
            id: BatchId([3; 16]),
            mutations: vec![mutation(b"a"), mutation(b"b")],
        };
        assert_eq!(BatchStoreRequest::decode(&store.encode()).unwrap(), store);
        let remove = BatchRemoveRequest {
            id: BatchId([9; 16]),
        };
        assert_eq!(
            BatchRemoveRequest::decode(&remove.encode()).unwrap(),
            remove
        );
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_an_error() {
        let bytes = BatchStoreRequest {
            id: BatchId([1; 16]),
            mutations: vec![mutation(b"k")],
        }
        .encode();
        for cut in 0..bytes.len() {
            assert!(
                BatchStoreRequest::decode(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(BatchStoreRequest::decode(&longer).is_err());
        assert!(BatchRemoveRequest::decode(&[WIRE_VERSION, 1, 2]).is_err());
    }

    #[test]
    fn ids_print_and_parse_as_hex() {
        let id = BatchId([0xab; 16]);
        assert_eq!(BatchId::parse_hex(&id.to_string()), Some(id));
        assert_eq!(BatchId::parse_hex("zz"), None);
        assert_eq!(BatchId::parse_hex(&"A".repeat(32)), None);
    }
}
