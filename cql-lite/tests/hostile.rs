//! Hostile input: random bytes, random bodies and mutated valid frames never make the
//! decoders panic, and never make them hold much more memory than the input itself.
//!
//! A counting allocator measures the peak of live heap bytes on the decoding thread, so
//! "bounded allocation" is checked, not assumed.
#![expect(
    unsafe_code,
    reason = "a counting global allocator measures peak heap use; the crate itself forbids unsafe"
)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use cql_lite::*;
use proptest::collection::vec;
use proptest::prelude::*;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping
// touches only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size(), 0);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(0, layout.size());
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size, layout.size());
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Max frame length in these tests; it also caps a decompressed body.
const MAX: u32 = 64 * 1024;

/// Runs `f` and returns the peak of heap bytes it held beyond what was live before.
fn peak_heap(f: impl FnOnce()) -> usize {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

/// The most a decode of `input_len` bytes may hold: a generous constant factor of the
/// input (decoded structures are wider than their encoding) plus a decompression buffer.
fn budget(input_len: usize) -> usize {
    48 * input_len + MAX as usize + 16 * 1024
}

fn options() -> CodecOptions {
    CodecOptions {
        compression: Compression::Lz4,
        max_frame_length: MAX,
    }
}

/// Decodes everything in `chunks`, continuing past recoverable errors like a server would.
fn drain(chunks: &[Vec<u8>]) {
    let mut decoder = FrameDecoder::with_max_frame_length(MAX);
    let mut buf = BytesMut::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) if frame.is_response => {
                    let _ = ResponseMessage::decode(&frame, &options());
                }
                Ok(Some(frame)) => {
                    let _ = RequestMessage::decode(&frame, &options());
                }
                Ok(None) => break,
                Err(e) if e.is_fatal() => return,
                Err(_) => {}
            }
        }
    }
}

fn frame_with(first: u8, flags: u8, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut wire = vec![first, flags, 0, 1, opcode];
    wire.extend_from_slice(&(body.len() as u32).to_be_bytes());
    wire.extend_from_slice(body);
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes(chunks in vec(vec(any::<u8>(), 0..256), 0..8)) {
        let total: usize = chunks.iter().map(Vec::len).sum();
        let peak = peak_heap(|| drain(&chunks));
        prop_assert!(peak <= budget(total), "peak {} for {} bytes", peak, total);
    }

    #[test]
    fn random_bodies_behind_valid_headers(
        direction in prop_oneof![Just(0x04u8), Just(0x84u8)],
        flags in any::<u8>(),
        opcode in 0u8..0x12,
        body in vec(any::<u8>(), 0..512),
    ) {
        let wire = frame_with(direction, flags, opcode, &body);
        let peak = peak_heap(|| drain(std::slice::from_ref(&wire)));
        prop_assert!(peak <= budget(wire.len()), "peak {} for {} bytes", peak, wire.len());
    }

    #[test]
    fn mutated_requests(
        message in support::request_message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let wire = message.encode(&CodecOptions::default()).unwrap().to_bytes().unwrap();
        let wire = mutate(&wire, &edits, cut);
        let chunks = [wire.to_vec()];
        let peak = peak_heap(|| drain(&chunks));
        prop_assert!(peak <= budget(wire.len()), "peak {} for {} bytes", peak, wire.len());
    }

    #[test]
    fn mutated_responses(
        message in support::response_message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let wire = message.encode(&CodecOptions::default()).unwrap().to_bytes().unwrap();
        let wire = mutate(&wire, &edits, cut);
        let chunks = [wire.to_vec()];
        let peak = peak_heap(|| drain(&chunks));
        prop_assert!(peak <= budget(wire.len()), "peak {} for {} bytes", peak, wire.len());
    }
}

/// Overwrites bytes of the body (the header stays valid so the body decoders run), then
/// keeps a prefix of the body and fixes the length so truncation is seen by the body reader.
fn mutate(wire: &Bytes, edits: &[(prop::sample::Index, u8)], cut: prop::sample::Index) -> Bytes {
    let body_len = wire.len() - HEADER_LENGTH;
    let mut out = wire.to_vec();
    if body_len > 0 {
        for (at, byte) in edits {
            out[HEADER_LENGTH + at.index(body_len)] = *byte;
        }
    }
    let keep = if body_len == 0 {
        0
    } else {
        cut.index(body_len + 1)
    };
    out.truncate(HEADER_LENGTH + keep);
    out[5..9].copy_from_slice(&(keep as u32).to_be_bytes());
    Bytes::from(out)
}

#[test]
fn hostile_counts_do_not_reserve_memory() {
    // A [string multimap] claiming 65535 entries, a Rows result claiming 2^31 - 1 rows of
    // 2^31 - 1 columns, and a [long string] claiming 2 GiB, each in a few bytes.
    let bodies: [(u8, &[u8]); 3] = [
        (0x06, &[0xFF, 0xFF, 0x00]),
        (
            0x08,
            &[
                0, 0, 0, 2, 0, 0, 0, 4, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0,
            ],
        ),
        (0x07, &[0x7F, 0xFF, 0xFF, 0xFF, b'x']),
    ];
    for (opcode, body) in bodies {
        let direction = if opcode == 0x07 { 0x04 } else { 0x84 };
        let wire = frame_with(direction, 0, opcode, body);
        let peak = peak_heap(|| drain(std::slice::from_ref(&wire)));
        assert!(peak <= 4096, "opcode {opcode:#x}: peak {peak}");
    }
}

#[test]
fn lz4_bomb_is_capped() {
    // Announces 4 GiB uncompressed; refused before allocating.
    let wire = frame_with(0x04, 0x01, 0x07, &[0xFF, 0xFF, 0xFF, 0xFF, 0x00]);
    let peak = peak_heap(|| drain(std::slice::from_ref(&wire)));
    assert!(peak <= 4096, "peak {peak}");
}

#[test]
fn announced_huge_frame_is_refused_without_buffering() {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(&frame_with(0x04, 0, 0x07, &[])[..]);
    buf[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    let mut result = None;
    let peak = peak_heap(|| result = Some(decoder.decode(&mut buf)));
    assert_eq!(
        result.unwrap().unwrap_err(),
        Error::FrameTooLarge {
            stream: 1,
            length: u32::MAX,
            max: DEFAULT_MAX_FRAME_LENGTH
        }
    );
    assert!(peak <= 1024, "peak {peak}");
}
