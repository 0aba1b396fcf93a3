use proptest::prelude::*;

use super::*;

fn frame(kind: FrameKind, verb: u16, id: u64, payload: Vec<u8>) -> Frame {
    Frame {
        kind,
        verb: Verb(verb),
        id,
        payload,
    }
}

fn bytes_of(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, f, DEFAULT_MAX_PAYLOAD).unwrap();
    out
}

fn any_kind() -> impl Strategy<Value = FrameKind> {
    prop_oneof![
        Just(FrameKind::Request),
        Just(FrameKind::Response),
        Just(FrameKind::OneWay),
        Just(FrameKind::Handshake),
    ]
}

fn any_frame() -> impl Strategy<Value = Frame> {
    (
        any_kind(),
        any::<u16>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(k, v, id, p)| frame(k, v, id, p))
}

#[test]
fn a_frame_round_trips() {
    let f = frame(FrameKind::Request, 7, 42, b"hello".to_vec());
    let bytes = bytes_of(&f);
    assert_eq!(bytes.len(), HEADER_LEN + 5);
    let (got, used) = FrameDecoder::default().decode(&bytes).unwrap().unwrap();
    assert_eq!((got, used), (f, bytes.len()));
}

#[test]
fn partial_frames_ask_for_more() {
    let bytes = bytes_of(&frame(FrameKind::OneWay, 1, 0, vec![9; 100]));
    let decoder = FrameDecoder::default();
    for cut in 0..bytes.len() {
        assert_eq!(decoder.decode(&bytes[..cut]), Ok(None), "cut at {cut}");
    }
}

#[test]
fn an_oversized_length_is_refused_from_the_header_alone() {
    let mut bytes = bytes_of(&frame(FrameKind::Request, 1, 1, vec![0; 10]));
    bytes[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = FrameDecoder::new(1024).decode(&bytes[..HEADER_LEN]);
    assert_eq!(
        err,
        Err(FrameError::TooLarge {
            len: u64::from(u32::MAX),
            max: 1024
        })
    );
}

#[test]
fn encoding_refuses_payloads_over_the_cap() {
    let mut out = Vec::new();
    let err = encode(&mut out, FrameKind::Request, Verb(1), 1, &[0; 11], 10);
    assert!(matches!(
        err,
        Err(FrameError::TooLarge { len: 11, max: 10 })
    ));
    assert!(out.is_empty());
}

#[test]
fn garbage_is_refused_after_one_byte() {
    let decoder = FrameDecoder::default();
    assert!(matches!(decoder.decode(b"G"), Err(FrameError::BadMagic(_))));
    assert!(matches!(
        decoder.decode(b"GET / HTTP/1.1\r\n\r\n"),
        Err(FrameError::BadMagic(_))
    ));
}

#[test]
fn another_version_or_flag_bits_are_refused() {
    let mut bytes = bytes_of(&frame(FrameKind::Request, 1, 1, vec![]));
    bytes[4] = 2;
    assert_eq!(
        FrameDecoder::default().decode(&bytes[..5]),
        Err(FrameError::UnsupportedVersion(2))
    );
    bytes[4] = PROTOCOL_VERSION;
    bytes[5] = 0x80;
    assert_eq!(
        FrameDecoder::default().decode(&bytes),
        Err(FrameError::BadFlags(0x80))
    );
}

#[test]
fn endpoints_round_trip_and_bad_handshakes_fail() {
    for ep in ["127.0.0.3:7000", "[::1]:7001"] {
        let ep: Endpoint = ep.parse().unwrap();
        assert_eq!(decode_endpoint(&encode_endpoint(ep)), Ok(ep));
    }
    for bad in [
        &[][..],
        &[4, 1, 2],
        &[5, 0, 0, 0, 0, 0, 0],
        &[4, 1, 2, 3, 4, 5, 6, 7],
    ] {
        assert_eq!(decode_endpoint(bad), Err(FrameError::BadHandshake));
    }
}

#[test]
fn message_kinds_map_to_frame_kinds() {
    let request = Message {
        verb: Verb(10),
        id: 5,
        payload: vec![],
    };
    assert_eq!(
        Frame::from_message(request.clone()).kind,
        FrameKind::Request
    );
    let one_way = Message {
        id: 0,
        ..request.clone()
    };
    assert_eq!(Frame::from_message(one_way).kind, FrameKind::OneWay);
    let reply = Message {
        verb: Verb::FAILURE,
        ..request.clone()
    };
    let f = Frame::from_message(reply.clone());
    assert_eq!(f.kind, FrameKind::Response);
    assert_eq!(f.into_message(), reply);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = FrameDecoder::new(64).decode(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        f in any_frame(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = bytes_of(&f);
        bytes.truncate(HEADER_LEN);
        bytes.extend_from_slice(&tail);
        let _ = FrameDecoder::new(128).decode(&bytes);
    }

    #[test]
    fn frame_streams_round_trip_at_any_split(
        frames in proptest::collection::vec(any_frame(), 0..6),
        step in 1usize..97,
    ) {
        let mut wire = Vec::new();
        for f in &frames {
            encode_frame(&mut wire, f, DEFAULT_MAX_PAYLOAD).unwrap();
        }
        // Feed the stream in `step`-byte reads, as a socket would.
        let decoder = FrameDecoder::default();
        let (mut buf, mut got) = (Vec::new(), Vec::new());
        for chunk in wire.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some((f, used)) = decoder.decode(&buf).unwrap() {
                got.push(f);
                buf.drain(..used);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn a_flipped_bit_never_yields_a_frame(f in any_frame(), bit in any::<usize>()) {
        let mut bytes = bytes_of(&f);
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Either an error or (a lengthened frame) a wait for more bytes.
        let result = FrameDecoder::default().decode(&bytes);
        prop_assert!(!matches!(result, Ok(Some(_))), "{:?}", result);
    }
}
