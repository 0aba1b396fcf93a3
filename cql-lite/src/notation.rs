//! The protocol's notation types (spec §3): a bounds-checked reader and the writers.
//!
//! The reader never panics and never allocates more than the bytes it was given: every
//! length is checked against what remains before anything is copied or reserved, and
//! counts only size a `Vec` up to what the remaining bytes could possibly hold.
// A decoder of bytes from the network must never panic on them: no unchecked
// indexing outside tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};

/// A `[uuid]`: 16 raw bytes (tracing ids, schema versions).
pub type Uuid = [u8; 16];
/// A `[string map]`.
pub type StringMap = BTreeMap<String, String>;
/// A `[string multimap]`.
pub type StringMultimap = BTreeMap<String, Vec<String>>;
/// A `[bytes map]` (custom payloads); a value may be null.
pub type BytesMap = BTreeMap<String, Option<Bytes>>;

/// A bound `[value]`: bytes, null, or *unset* (leave the column unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Length -1.
    Null,
    /// Length -2 (v4 and later).
    Unset,
    /// Length n ≥ 0 and n bytes; an empty value is not null.
    Set(Bytes),
}

/// A `[consistency]` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the names are the protocol's")]
pub enum Consistency {
    Any = 0x0000,
    One = 0x0001,
    Two = 0x0002,
    Three = 0x0003,
    Quorum = 0x0004,
    All = 0x0005,
    LocalQuorum = 0x0006,
    EachQuorum = 0x0007,
    Serial = 0x0008,
    LocalSerial = 0x0009,
    LocalOne = 0x000A,
}

impl Consistency {
    /// Every level, in code order.
    pub const ALL: [Self; 11] = [
        Self::Any,
        Self::One,
        Self::Two,
        Self::Three,
        Self::Quorum,
        Self::All,
        Self::LocalQuorum,
        Self::EachQuorum,
        Self::Serial,
        Self::LocalSerial,
        Self::LocalOne,
    ];

    /// The level with this `[short]` code.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The `[short]` code.
    pub fn code(self) -> u16 {
        self as u16
    }
}

/// A cursor over a message body that checks every read against the bytes left.
#[derive(Debug, Clone)]
pub struct Reader {
    body: Bytes,
    position: usize,
}

impl Reader {
    /// A reader at the start of `body`.
    pub fn new(body: Bytes) -> Self {
        Self { body, position: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.body.len() - self.position
    }

    /// The unread rest, consuming it.
    pub fn take_rest(&mut self) -> Bytes {
        let rest = self.body.slice(self.position..);
        self.position = self.body.len();
        rest
    }

    /// `n` raw bytes, shared with the body (no copy).
    pub fn raw(&mut self, n: usize, what: &'static str) -> Result<Bytes> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(Error::Truncated {
                what,
                needed: n,
                remaining,
            });
        }
        let slice = self.body.slice(self.position..self.position + n);
        self.position += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.raw(N, what)?);
        Ok(out)
    }

    /// A `[byte]`.
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.array::<1>("[byte]")?[0])
    }

    /// A `[short]` (unsigned).
    pub fn short(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array("[short]")?))
    }

    /// A `[short]` read as the signed stream id or a signed field.
    pub fn signed_short(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array("[short]")?))
    }

    /// An `[int]`.
    pub fn int(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array("[int]")?))
    }

    /// A `[long]`.
    pub fn long(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array("[long]")?))
    }

    /// A `[uuid]`.
    pub fn uuid(&mut self) -> Result<Uuid> {
        self.array("[uuid]")
    }

    fn utf8(&mut self, n: usize, what: &'static str) -> Result<String> {
        let raw = self.raw(n, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| Error::InvalidUtf8 { what })
    }

    /// A `[string]`.
    pub fn string(&mut self) -> Result<String> {
        let n = self.short()?;
        self.utf8(usize::from(n), "[string]")
    }

    /// A `[long string]`.
    pub fn long_string(&mut self) -> Result<String> {
        let n = self.int()?;
        let n = usize::try_from(n).map_err(|_| Error::InvalidLength {
            what: "[long string]",
            length: i64::from(n),
        })?;
        self.utf8(n, "[long string]")
    }

    /// A `[short]` count followed by that many items, each at least `min_item_bytes` long.
    ///
    /// The `Vec` is sized for at most as many items as the remaining bytes can hold, so a
    /// hostile count cannot make us reserve memory the body does not back.
    pub fn short_list<T>(
        &mut self,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = usize::from(self.short()?);
        self.counted(n, min_item_bytes, &mut item)
    }

    /// `n` items, with the allocation bound described at [`Reader::short_list`].
    pub fn counted<T>(
        &mut self,
        n: usize,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let fits = self.remaining() / min_item_bytes.max(1);
        let mut out = Vec::with_capacity(n.min(fits));
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// A `[string list]`.
    pub fn string_list(&mut self) -> Result<Vec<String>> {
        self.short_list(2, Self::string)
    }

    /// A `[bytes]`; `None` is null (any negative length).
    pub fn bytes(&mut self) -> Result<Option<Bytes>> {
        let n = self.int()?;
        match usize::try_from(n) {
            Ok(n) => self.raw(n, "[bytes]").map(Some),
            Err(_) => Ok(None),
        }
    }

    /// A `[value]`: -1 is null, -2 unset, anything lower invalid.
    pub fn value(&mut self) -> Result<Value> {
        match self.int()? {
            -1 => Ok(Value::Null),
            -2 => Ok(Value::Unset),
            n if n < 0 => Err(Error::InvalidLength {
                what: "[value]",
                length: i64::from(n),
            }),
            n => Ok(Value::Set(self.raw(n.unsigned_abs() as usize, "[value]")?)),
        }
    }

    /// A `[short bytes]`.
    pub fn short_bytes(&mut self) -> Result<Bytes> {
        let n = self.short()?;
        self.raw(usize::from(n), "[short bytes]")
    }

    /// An `[inet]`: address size, address, port.
    pub fn inet(&mut self) -> Result<SocketAddr> {
        let ip = match self.byte()? {
            4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>("[inet]")?)),
            16 => IpAddr::V6(Ipv6Addr::from(self.array::<16>("[inet]")?)),
            n => {
                return Err(Error::InvalidLength {
                    what: "[inet]",
                    length: i64::from(n),
                });
            }
        };
        let port = self.int()?;
        let port = u16::try_from(port).map_err(|_| Error::UnknownValue {
            what: "port",
            value: port.to_string(),
        })?;
        Ok(SocketAddr::new(ip, port))
    }

    /// A `[consistency]`.
    pub fn consistency(&mut self) -> Result<Consistency> {
        let code = self.short()?;
        Consistency::from_code(code).ok_or_else(|| Error::UnknownValue {
            what: "consistency",
            value: code.to_string(),
        })
    }

    /// A `[string map]`; a repeated key keeps its last value.
    pub fn string_map(&mut self) -> Result<StringMap> {
        let pairs = self.short_list(4, |r| Ok((r.string()?, r.string()?)))?;
        Ok(pairs.into_iter().collect())
    }

    /// A `[string multimap]`.
    pub fn string_multimap(&mut self) -> Result<StringMultimap> {
        let pairs = self.short_list(4, |r| Ok((r.string()?, r.string_list()?)))?;
        Ok(pairs.into_iter().collect())
    }

    /// A `[bytes map]`.
    pub fn bytes_map(&mut self) -> Result<BytesMap> {
        let pairs = self.short_list(6, |r| Ok((r.string()?, r.bytes()?)))?;
        Ok(pairs.into_iter().collect())
    }
}

/// Writers for each notation. Lengths that do not fit their prefix are errors, never
/// silently truncated.
pub mod write {
    use super::*;

    fn short_len(len: usize, what: &'static str) -> Result<u16> {
        u16::try_from(len).map_err(|_| Error::TooLong { what, length: len })
    }

    fn int_len(len: usize, what: &'static str) -> Result<i32> {
        i32::try_from(len).map_err(|_| Error::TooLong { what, length: len })
    }

    /// A `[short]` count for a list or map.
    pub fn count(dst: &mut BytesMut, n: usize, what: &'static str) -> Result<()> {
        dst.put_u16(short_len(n, what)?);
        Ok(())
    }

    /// A `[string]`.
    pub fn string(dst: &mut BytesMut, s: &str) -> Result<()> {
        dst.put_u16(short_len(s.len(), "[string]")?);
        dst.put_slice(s.as_bytes());
        Ok(())
    }

    /// A `[long string]`.
    pub fn long_string(dst: &mut BytesMut, s: &str) -> Result<()> {
        dst.put_i32(int_len(s.len(), "[long string]")?);
        dst.put_slice(s.as_bytes());
        Ok(())
    }

    /// A `[string list]`.
    pub fn string_list(dst: &mut BytesMut, list: &[String]) -> Result<()> {
        count(dst, list.len(), "[string list]")?;
        list.iter().try_for_each(|s| string(dst, s))
    }

    /// A `[bytes]`; `None` writes null.
    pub fn bytes(dst: &mut BytesMut, b: Option<&[u8]>) -> Result<()> {
        match b {
            None => dst.put_i32(-1),
            Some(b) => {
                dst.put_i32(int_len(b.len(), "[bytes]")?);
                dst.put_slice(b);
            }
        }
        Ok(())
    }

    /// A `[value]`.
    pub fn value(dst: &mut BytesMut, v: &Value) -> Result<()> {
        match v {
            Value::Null => dst.put_i32(-1),
            Value::Unset => dst.put_i32(-2),
            Value::Set(b) => bytes(dst, Some(b))?,
        }
        Ok(())
    }

    /// A `[short bytes]`.
    pub fn short_bytes(dst: &mut BytesMut, b: &[u8]) -> Result<()> {
        dst.put_u16(short_len(b.len(), "[short bytes]")?);
        dst.put_slice(b);
        Ok(())
    }

    /// An `[inet]`.
    pub fn inet(dst: &mut BytesMut, addr: &SocketAddr) {
        match addr.ip() {
            IpAddr::V4(ip) => {
                dst.put_u8(4);
                dst.put_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                dst.put_u8(16);
                dst.put_slice(&ip.octets());
            }
        }
        dst.put_i32(i32::from(addr.port()));
    }

    /// A `[consistency]`.
    pub fn consistency(dst: &mut BytesMut, c: Consistency) {
        dst.put_u16(c.code());
    }

    /// A `[string map]`.
    pub fn string_map(dst: &mut BytesMut, map: &StringMap) -> Result<()> {
        count(dst, map.len(), "[string map]")?;
        map.iter().try_for_each(|(k, v)| {
            string(dst, k)?;
            string(dst, v)
        })
    }

    /// A `[string multimap]`.
    pub fn string_multimap(dst: &mut BytesMut, map: &StringMultimap) -> Result<()> {
        count(dst, map.len(), "[string multimap]")?;
        map.iter().try_for_each(|(k, v)| {
            string(dst, k)?;
            string_list(dst, v)
        })
    }

    /// A `[bytes map]`.
    pub fn bytes_map(dst: &mut BytesMut, map: &BytesMap) -> Result<()> {
        count(dst, map.len(), "[bytes map]")?;
        map.iter().try_for_each(|(k, v)| {
            string(dst, k)?;
            bytes(dst, v.as_deref())
        })
    }
}
