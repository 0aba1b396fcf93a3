//! Little-endian binary helpers shared by the commit log, the mutation codec and SSTables.
//!
//! [`Reader`] never panics on short or hostile input: every read is bounds-checked
//! and returns a [`DecodeError`] that the caller turns into `Corrupt` or `Malformed`.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes};

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bounds-checked cursor over encoded bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.saturating_add(n);
        let Some(s) = self.buf.get(self.pos..end) else {
            return Err(self.short(n));
        };
        self.pos = end;
        Ok(s)
    }

    // Errors are built out of line so the hot paths stay small.
    #[cold]
    #[inline(never)]
    fn short(&self, n: usize) -> DecodeError {
        DecodeError(format!(
            "needs {n} bytes at offset {} but only {} remain",
            self.pos,
            self.remaining()
        ))
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// One byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.short(1)),
        }
    }

    /// A little-endian u32.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A little-endian i64.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A little-endian i32.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// A LEB128 unsigned varint (at most 10 bytes).
    #[inline]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        // Lengths, counts and column ids are nearly always one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64, DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let mut v: u64 = 0;
        for (i, &b) in rest.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(v);
            }
        }
        if rest.len() < 10 {
            self.pos = self.buf.len();
            return Err(self.short(1));
        }
        self.pos += 10;
        Err(DecodeError("varint longer than 10 bytes".into()))
    }

    /// A zigzag-encoded signed varint.
    #[inline]
    pub fn varint_i64(&mut self) -> Result<i64, DecodeError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A varint that must fit a length in the remaining input.
    #[inline]
    pub fn len(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(self.too_long(n)),
        }
    }

    #[cold]
    #[inline(never)]
    fn too_long(&self, n: u64) -> DecodeError {
        DecodeError(format!(
            "length {n} exceeds the {} bytes left",
            self.remaining()
        ))
    }

    /// A varint-length-prefixed byte string, copied out.
    pub fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let n = self.len()?;
        Ok(Bytes::copy_from_slice(self.take(n)?))
    }

    /// A varint-length-prefixed byte string, borrowed.
    #[inline(always)]
    pub fn slice(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len()?;
        self.take(n)
    }
}

/// Writes a LEB128 varint.
pub fn put_varint(out: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Writes a zigzag signed varint.
pub fn put_varint_i64(out: &mut impl BufMut, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Writes a varint-length-prefixed byte string.
pub fn put_bytes(out: &mut impl BufMut, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.put_slice(b);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests cut and corrupt buffers on purpose
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, u);
            put_varint_i64(&mut out, i);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.varint().unwrap(), u);
            prop_assert_eq!(r.varint_i64().unwrap(), i);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            while r.bytes().is_ok() && !r.is_empty() {}
            let mut r = Reader::new(&bytes);
            let _ = (r.varint(), r.u64(), r.slice(), r.i32());
        }
    }

    #[test]
    fn truncated_varints_are_errors_wherever_they_stop() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut]);
            assert!(r.varint().is_err(), "cut at {cut}");
        }
        let mut r = Reader::new(&[0x7f, 0x80, 0x01, 0x05]);
        assert_eq!(
            (r.varint().unwrap(), r.varint().unwrap(), r.u8().unwrap()),
            (0x7f, 0x80, 5)
        );
        assert!(r.u8().is_err() && r.is_empty());
    }

    #[test]
    fn hostile_lengths_are_errors() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert!(Reader::new(&out).bytes().is_err());
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
    }
}
