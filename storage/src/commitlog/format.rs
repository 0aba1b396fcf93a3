//! The on-disk layout of commit-log segments: file names, the segment header
//! and the record frame. Byte-by-byte description in `docs/design/commitlog.md`.
//!
//! Every checksum mixes in the segment id, so that when a segment file is
//! recycled the records of its previous life fail validation and read as the
//! end of the log instead of being replayed twice.
#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

/// Identifies a Basalt commit-log segment.
pub(super) const MAGIC: [u8; 8] = *b"BSLTCLOG";
/// The segment format written by this build.
pub(super) const FORMAT_VERSION: u32 = 1;
/// Bytes before the first record.
pub(super) const HEADER_LEN: u64 = 32;
/// Length and header checksum before each payload.
pub(super) const FRAME_HEADER_LEN: usize = 8;
/// The payload checksum after each payload.
pub(super) const FRAME_TRAILER_LEN: usize = 4;
/// Zero bytes written after the last record of each write: a clean end marker.
pub(super) const END_MARKER_LEN: usize = FRAME_HEADER_LEN;

const NAME_PREFIX: &str = "commitlog-";
const NAME_SUFFIX: &str = ".log";

/// The file name of segment `id`; fixed width so names sort like ids.
pub(super) fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{NAME_PREFIX}{id:020}{NAME_SUFFIX}"))
}

/// The id in a segment file name, or `None` for other files.
pub(super) fn parse_segment_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix(NAME_PREFIX)?.strip_suffix(NAME_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The 32-byte segment header.
pub(super) fn encode_header(id: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    // 12..16: flags, zero in version 1.
    h[16..24].copy_from_slice(&id.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    // 28..32: reserved, zero.
    h
}

/// What a segment's first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Header {
    /// A valid header with this segment id.
    Valid(u64),
    /// Shorter than a header or all zeros: a file whose creation was cut short.
    Blank,
    /// Anything else.
    Invalid(String),
}

/// The `N` bytes at `at`, or zeros past the end (callers pass a whole header,
/// so that never happens; zeros then fail the checks that follow).
fn le_bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(le_bytes(b, at))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(le_bytes(b, at))
}

/// Validates a segment header (`bytes` may be shorter than a header).
pub(super) fn decode_header(bytes: &[u8]) -> Header {
    let Some(h) = bytes.get(..HEADER_LEN as usize) else {
        return if bytes.iter().all(|b| *b == 0) {
            Header::Blank
        } else {
            Header::Invalid(format!("only {} bytes, shorter than a header", bytes.len()))
        };
    };
    if h.iter().all(|b| *b == 0) {
        return Header::Blank;
    }
    if h.get(0..8) != Some(&MAGIC[..]) {
        return Header::Invalid("bad magic".into());
    }
    if le_u32(h, 24) != crc32c::crc32c(h.get(0..24).unwrap_or_default()) {
        return Header::Invalid("header checksum mismatch".into());
    }
    let version = le_u32(h, 8);
    if version != FORMAT_VERSION {
        return Header::Invalid(format!("unknown segment format version {version}"));
    }
    Header::Valid(le_u64(h, 16))
}

/// Total bytes a record with this payload occupies.
pub(super) fn frame_len(payload_len: usize) -> usize {
    FRAME_HEADER_LEN + payload_len + FRAME_TRAILER_LEN
}

fn header_crc(segment_id: u64, len: u32) -> u32 {
    let crc = crc32c::crc32c(&segment_id.to_le_bytes());
    crc32c::crc32c_append(crc, &len.to_le_bytes())
}

/// Appends one framed record to `out`. `payload.len()` must fit a u32 (the
/// caller limits payloads to half a segment).
pub(super) fn encode_frame(out: &mut Vec<u8>, segment_id: u64, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("payloads are limited to half a segment");
    let hcrc = header_crc(segment_id, len);
    out.reserve(frame_len(payload.len()));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(payload);
    let pcrc = crc32c::crc32c_append(hcrc, payload);
    out.extend_from_slice(&pcrc.to_le_bytes());
}

/// What sits at an offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame<'a> {
    /// A record whose checksums hold; the next frame starts `len` bytes later.
    Record { payload: &'a [u8], len: usize },
    /// A zero length: the segment ends here.
    End,
    /// Not a valid record: torn, corrupt, or left from the file's previous life.
    Bad(&'static str),
}

/// Reads the frame at `at` of a segment whose id is `segment_id`.
pub(super) fn read_frame(seg: &[u8], at: usize, segment_id: u64) -> Frame<'_> {
    let Some(head) = seg.get(at..).and_then(|s| s.get(..FRAME_HEADER_LEN)) else {
        let rest = seg.get(at..).unwrap_or_default();
        return if rest.iter().all(|b| *b == 0) {
            Frame::End
        } else {
            Frame::Bad("truncated frame header")
        };
    };
    let len = le_u32(head, 0);
    if len == 0 {
        return Frame::End;
    }
    let hcrc = header_crc(segment_id, len);
    if le_u32(head, 4) != hcrc {
        return Frame::Bad("frame header checksum mismatch");
    }
    let start = at + FRAME_HEADER_LEN;
    let total = frame_len(len as usize);
    let Some(body) = seg.get(start..at + total) else {
        return Frame::Bad("record runs past the end of the segment");
    };
    let (payload, trailer) = body.split_at(len as usize);
    if le_u32(trailer, 0) != crc32c::crc32c_append(hcrc, payload) {
        return Frame::Bad("record checksum mismatch");
    }
    Frame::Record {
        payload,
        len: total,
    }
}

/// The first offset at or after `from` where a valid record starts, if any:
/// used to tell a torn tail (nothing valid follows) from corruption in the
/// middle of the log (valid records follow).
pub(super) fn find_valid_frame(seg: &[u8], from: usize, segment_id: u64) -> Option<usize> {
    let end = seg.iter().rposition(|b| *b != 0)? + 1;
    let last = end.checked_sub(frame_len(1))?;
    (from..=last).find(|&at| {
        // Cheap filters first: most offsets hold lengths that cannot fit.
        let len = le_u32(seg, at) as usize;
        len != 0
            && len <= seg.len() - at - frame_len(0)
            && matches!(read_frame(seg, at, segment_id), Frame::Record { .. })
    })
}

/// Offset one past the last non-zero byte (0 if all zeros).
pub(super) fn used_len(seg: &[u8]) -> usize {
    seg.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests cut and corrupt buffers on purpose
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_like_ids() {
        let dir = Path::new("/x");
        let p = segment_path(dir, 42);
        assert_eq!(parse_segment_name(&p), Some(42));
        assert!(segment_path(dir, 9) < segment_path(dir, 10));
        assert_eq!(parse_segment_name(Path::new("/x/commitlog-1.log")), None);
        assert_eq!(parse_segment_name(Path::new("/x/other")), None);
    }

    #[test]
    fn headers_validate() {
        let h = encode_header(7);
        assert_eq!(decode_header(&h), Header::Valid(7));
        assert_eq!(decode_header(&[0; 32]), Header::Blank);
        assert_eq!(decode_header(&[0; 5]), Header::Blank);
        assert!(matches!(decode_header(&h[..20]), Header::Invalid(_)));
        for i in 0..28 {
            let mut bad = h;
            bad[i] ^= 4;
            assert!(
                matches!(decode_header(&bad), Header::Invalid(_)),
                "byte {i}"
            );
        }
    }

    #[test]
    fn frames_validate_only_under_their_segment_id() {
        let mut seg = vec![];
        encode_frame(&mut seg, 3, b"hello");
        encode_frame(&mut seg, 3, b"!");
        seg.extend_from_slice(&[0; 8]);
        let Frame::Record { payload, len } = read_frame(&seg, 0, 3) else {
            panic!("first frame")
        };
        assert_eq!((payload, len), (&b"hello"[..], 17));
        assert!(matches!(read_frame(&seg, 17, 3), Frame::Record { .. }));
        assert_eq!(read_frame(&seg, 30, 3), Frame::End);
        assert_eq!(read_frame(&seg, seg.len(), 3), Frame::End);
        assert!(matches!(read_frame(&seg, 0, 4), Frame::Bad(_)));
        for i in 0..17 {
            let mut bad = seg.clone();
            bad[i] ^= 0x10;
            assert!(matches!(read_frame(&bad, 0, 3), Frame::Bad(_)), "byte {i}");
            assert_eq!(find_valid_frame(&bad, 1, 3), Some(17));
        }
        assert_eq!(find_valid_frame(&seg, 18, 3), None);
        assert!(matches!(read_frame(&seg[..20], 17, 3), Frame::Bad(_)));
    }
}
