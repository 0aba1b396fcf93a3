//! The skip-list key: a token and the partition key bytes, short keys inline.
//!
//! A `DecoratedKey` is 40 bytes plus a separate allocation (and it may share,
//! and so keep alive, a caller's much larger buffer). Most partition keys are
//! short, so they are copied into the skip-list node itself; longer ones get
//! one exact-size allocation of their own.

use crate::key::{DecoratedKey, Token};
use bytes::Bytes;
use std::cmp::Ordering;

/// Keys up to this long live inside the node (the enum stays 24 bytes).
const INLINE: usize = 22;

#[derive(Clone)]
enum KeyBytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

/// A partition's position in the memtable: `(token, key bytes)`.
#[derive(Clone)]
pub(crate) struct MemKey {
    token: Token,
    key: KeyBytes,
}

impl MemKey {
    /// A copy of `key`'s bytes (allocates only for keys over 22 bytes).
    pub(crate) fn new(token: Token, key: &[u8]) -> MemKey {
        let key = match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE => {
                let mut buf = [0; INLINE];
                buf[..key.len()].copy_from_slice(key);
                KeyBytes::Inline { len, buf }
            }
            _ => KeyBytes::Heap(key.into()),
        };
        MemKey { token, key }
    }

    /// The position of `key`.
    pub(crate) fn of(key: &DecoratedKey) -> MemKey {
        MemKey::new(key.token, &key.key)
    }

    /// The first position of `token`: before every key with that token.
    pub(crate) fn token_start(token: Token) -> MemKey {
        MemKey::new(token, &[])
    }

    /// The key bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.key {
            KeyBytes::Inline { len, buf } => &buf[..usize::from(*len)],
            KeyBytes::Heap(b) => b,
        }
    }

    /// A fresh `DecoratedKey` (its own copy of the bytes).
    pub(crate) fn to_decorated(&self) -> DecoratedKey {
        DecoratedKey::new(self.token, Bytes::copy_from_slice(self.bytes()))
    }

    /// Heap bytes beyond the node, before allocator overhead.
    pub(crate) fn heap_len(&self) -> usize {
        match &self.key {
            KeyBytes::Inline { .. } => 0,
            KeyBytes::Heap(b) => b.len(),
        }
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.token == other.token && self.bytes() == other.bytes()
    }
}

impl Eq for MemKey {}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.token
            .cmp(&other.token)
            .then_with(|| self.bytes().cmp(other.bytes()))
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for MemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemKey({}, {:02x?})", self.token.0, self.bytes())
    }
}
