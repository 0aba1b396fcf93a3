//! Every request and response survives encode → bytes → frame decoder → decode, with and
//! without LZ4, and the header flags agree with the body prefix.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

mod support;

use bytes::BytesMut;
use cql_lite::{CodecOptions, Flags, Frame, FrameDecoder, RequestMessage, ResponseMessage};
use proptest::prelude::*;

/// Pushes `frame` through bytes and the decoder, one byte chunk of `split` at a time.
fn through_the_wire(frame: &Frame, split: usize) -> Frame {
    let wire = frame.to_bytes().unwrap();
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let (head, tail) = wire.split_at(split.min(wire.len()));
    buf.extend_from_slice(head);
    if !tail.is_empty() {
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(tail);
    }
    let decoded = decoder.decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    decoded
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn requests_round_trip(
        message in support::request_message(),
        options in support::codec_options(),
        split in 0usize..64,
    ) {
        let frame = message.encode(&options).unwrap();
        prop_assert!(!frame.is_response);
        prop_assert_eq!(frame.flags.contains(Flags::TRACING), message.tracing);
        prop_assert_eq!(frame.flags.contains(Flags::CUSTOM_PAYLOAD), message.custom_payload.is_some());
        let decoded = RequestMessage::decode(&through_the_wire(&frame, split), &options).unwrap();
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn responses_round_trip(
        message in support::response_message(),
        options in support::codec_options(),
        split in 0usize..64,
    ) {
        let frame = message.encode(&options).unwrap();
        prop_assert!(frame.is_response);
        prop_assert_eq!(frame.flags.contains(Flags::TRACING), message.tracing_id.is_some());
        prop_assert_eq!(frame.flags.contains(Flags::WARNING), !message.warnings.is_empty());
        prop_assert_eq!(
            frame.flags.contains(Flags::COMPRESSION),
            options.compression == cql_lite::Compression::Lz4
        );
        let decoded = ResponseMessage::decode(&through_the_wire(&frame, split), &options).unwrap();
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn bodies_ignore_trailing_bytes(message in support::response_message(), extra in proptest::collection::vec(any::<u8>(), 1..8)) {
        // Later minor versions may append fields; a v4 decoder must not choke on them.
        let options = CodecOptions::default();
        let mut frame = message.encode(&options).unwrap();
        let mut body = BytesMut::from(&frame.body[..]);
        body.extend_from_slice(&extra);
        frame.body = body.freeze();
        prop_assert_eq!(ResponseMessage::decode(&frame, &options).unwrap(), message);
    }
}

#[test]
fn compressed_frame_without_negotiation_is_refused() {
    let lz4 = CodecOptions {
        compression: cql_lite::Compression::Lz4,
        ..CodecOptions::default()
    };
    let message = ResponseMessage::new(1, cql_lite::Response::Ready);
    let frame = message.encode(&lz4).unwrap();
    assert_eq!(
        ResponseMessage::decode(&frame, &CodecOptions::default()).unwrap_err(),
        cql_lite::Error::CompressionNotNegotiated
    );
}

#[test]
fn startup_and_options_are_never_compressed() {
    let lz4 = CodecOptions {
        compression: cql_lite::Compression::Lz4,
        ..CodecOptions::default()
    };
    for request in [
        cql_lite::Request::Options,
        cql_lite::Request::Startup(Default::default()),
    ] {
        let frame = RequestMessage::new(0, request).encode(&lz4).unwrap();
        assert!(!frame.flags.contains(Flags::COMPRESSION));
    }
}

#[test]
fn direction_is_checked() {
    let options = CodecOptions::default();
    let response = ResponseMessage::new(1, cql_lite::Response::Ready)
        .encode(&options)
        .unwrap();
    assert!(RequestMessage::decode(&response, &options).is_err());
    let request = RequestMessage::new(1, cql_lite::Request::Options)
        .encode(&options)
        .unwrap();
    assert!(ResponseMessage::decode(&request, &options).is_err());
}
