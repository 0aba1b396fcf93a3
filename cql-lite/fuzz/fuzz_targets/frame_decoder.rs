//! Any bytes, in any chunking, given to the server's decoding path: `FrameDecoder` and
//! then `RequestMessage::decode`, with and without LZ4 negotiated. Never a panic, and a
//! request that decodes re-encodes to bytes that decode to the same request.
#![no_main]

use bytes::BytesMut;
use cql_lite::{CodecOptions, Compression, FrameDecoder, RequestMessage};
use libfuzzer_sys::fuzz_target;

/// Small, so that the limit paths are reached too.
const MAX: u32 = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, as sockets deliver bytes in arbitrary pieces.
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    for compression in [Compression::None, Compression::Lz4] {
        let options = CodecOptions {
            compression,
            max_frame_length: MAX,
        };
        decode_all(data, chunk, &options);
    }
});

fn decode_all(data: &[u8], chunk: usize, options: &CodecOptions) {
    let mut decoder = FrameDecoder::with_max_frame_length(MAX);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Ok(message) = RequestMessage::decode(&frame, options) {
                        round_trip(&message, options);
                    }
                }
                Ok(None) => break,
                Err(error) if error.is_fatal() => return,
                Err(_) => {}
            }
        }
    }
}

fn round_trip(message: &RequestMessage, options: &CodecOptions) {
    let frame = message.encode(options).expect("a decoded request re-encodes");
    let again = RequestMessage::decode(&frame, options).expect("a re-encoded request decodes");
    assert_eq!(&again, message);
}
