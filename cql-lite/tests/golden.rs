//! Real frames, byte for byte: the handshake the Python driver and cqlsh perform
//! (clients.md §1) and the worked examples of cassandra.md §2.19.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use bytes::{Bytes, BytesMut};
use cql_lite::*;

/// Parses fixture text: hex byte pairs, `"ascii text"`, `|` as a visual separator.
fn fixture(text: &str) -> Bytes {
    let mut out = Vec::new();
    for (i, part) in text.split('"').enumerate() {
        if i % 2 == 1 {
            out.extend_from_slice(part.as_bytes());
            continue;
        }
        for token in part.split_whitespace().filter(|t| *t != "|") {
            out.push(u8::from_str_radix(token, 16).unwrap());
        }
    }
    Bytes::from(out)
}

fn one_frame(wire: &Bytes) -> Frame {
    let mut buf = BytesMut::from(&wire[..]);
    let frame = FrameDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty(), "fixture holds exactly one frame");
    frame
}

/// The request decodes to `expected` and `expected` encodes to exactly the fixture.
fn check_request(wire: &str, expected: RequestMessage) {
    let wire = fixture(wire);
    let options = CodecOptions::default();
    assert_eq!(
        RequestMessage::decode(&one_frame(&wire), &options).unwrap(),
        expected
    );
    assert_eq!(expected.encode(&options).unwrap().to_bytes().unwrap(), wire);
}

fn check_response(wire: &str, expected: ResponseMessage) {
    let wire = fixture(wire);
    let options = CodecOptions::default();
    assert_eq!(
        ResponseMessage::decode(&one_frame(&wire), &options).unwrap(),
        expected
    );
    assert_eq!(expected.encode(&options).unwrap().to_bytes().unwrap(), wire);
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn driver_probes_newer_versions_and_gets_the_downgrade_error() {
    let mut decoder = FrameDecoder::new();
    for (version, probe) in [
        (66u8, "42 00 00 00 05 00 00 00 00"),
        (5, "05 00 00 00 05 00 00 00 00"),
    ] {
        let mut buf = BytesMut::from(&fixture(probe)[..]);
        let err = decoder.decode(&mut buf).unwrap_err();
        assert_eq!(err, Error::UnsupportedVersion { version, stream: 0 });
        let answer = unsupported_version_frame(version, err.stream().unwrap());
        let message = format!(
            "Invalid or unsupported protocol version ({version}); supported versions are (3/v3, 4/v4)"
        );
        let mut expected = fixture("84 00 00 00 00").to_vec();
        expected.extend_from_slice(&(6 + message.len() as u32).to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 0x0A, 0, message.len() as u8]);
        expected.extend_from_slice(message.as_bytes());
        assert_eq!(answer.to_bytes().unwrap(), expected);
        // The driver reads it as a v4 ERROR, code Protocol error.
        let decoded = ResponseMessage::decode(&answer, &CodecOptions::default()).unwrap();
        assert_eq!(
            decoded.response,
            Response::Error(ErrorResponse::new(ErrorKind::ProtocolError, message))
        );
    }
}

#[test]
fn options_and_supported() {
    check_request(
        "04 00 00 00 05 00 00 00 00",
        RequestMessage::new(0, Request::Options),
    );
    let supported = [
        ("COMPRESSION", strings(&[])),
        ("CQL_VERSION", strings(&["3.4.5"])),
        ("PROTOCOL_VERSIONS", strings(&["3/v3", "4/v4"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    check_response(
        r#"84 00 00 00 06 00 00 00 48 | 00 03
           00 0B "COMPRESSION" 00 00
           00 0B "CQL_VERSION" 00 01 00 05 "3.4.5"
           00 11 "PROTOCOL_VERSIONS" 00 02 00 04 "3/v3" 00 04 "4/v4""#,
        ResponseMessage::new(0, Response::Supported(supported)),
    );
}

#[test]
fn python_driver_startup_and_ready() {
    let options = [
        ("CQL_VERSION", "3.4.5"),
        ("DRIVER_NAME", "Apache Cassandra Python Driver"),
        ("DRIVER_VERSION", "3.30.1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    check_request(
        r#"04 00 00 01 01 00 00 00 5B | 00 03
           00 0B "CQL_VERSION" 00 05 "3.4.5"
           00 0B "DRIVER_NAME" 00 1E "Apache Cassandra Python Driver"
           00 0E "DRIVER_VERSION" 00 06 "3.30.1""#,
        RequestMessage::new(1, Request::Startup(options)),
    );
    check_response(
        "84 00 00 01 02 00 00 00 00",
        ResponseMessage::new(1, Response::Ready),
    );
}

#[test]
fn register_for_all_events() {
    check_request(
        r#"04 00 00 02 0B 00 00 00 31 | 00 03
           00 0F "TOPOLOGY_CHANGE" 00 0D "STATUS_CHANGE" 00 0D "SCHEMA_CHANGE""#,
        RequestMessage::new(
            2,
            Request::Register(vec![
                EventType::TopologyChange,
                EventType::StatusChange,
                EventType::SchemaChange,
            ]),
        ),
    );
}

#[test]
fn worked_examples() {
    let startup = [("CQL_VERSION".to_owned(), "3.0.0".to_owned())]
        .into_iter()
        .collect();
    check_request(
        r#"04 00 00 01 01 00 00 00 16 | 00 01 00 0B "CQL_VERSION" 00 05 "3.0.0""#,
        RequestMessage::new(1, Request::Startup(startup)),
    );
    let mut parameters = QueryParameters::new(Consistency::LocalQuorum);
    parameters.page_size = Some(100);
    check_request(
        r#"04 00 00 03 07 00 00 00 20 | 00 00 00 15 "SELECT k, v FROM ks.t" | 00 06 | 04 | 00 00 00 64"#,
        RequestMessage::new(
            3,
            Request::Query {
                query: "SELECT k, v FROM ks.t".into(),
                parameters,
            },
        ),
    );
    let system_local = "SELECT * FROM system.local WHERE key='local'";
    check_request(
        &format!(r#"04 00 00 04 07 00 00 00 33 | 00 00 00 2C "{system_local}" 00 01 00"#),
        RequestMessage::new(
            4,
            Request::Query {
                query: system_local.into(),
                parameters: QueryParameters::new(Consistency::One),
            },
        ),
    );
    check_response(
        "84 00 00 05 08 00 00 00 04 | 00 00 00 01",
        ResponseMessage::new(5, Response::Result(QueryResult::Void)),
    );
}

#[test]
fn rows_with_a_global_table_spec() {
    let spec = |name: &str, column_type| ColumnSpec {
        keyspace: "ks".into(),
        table: "t".into(),
        name: name.into(),
        column_type,
    };
    let rows = Rows {
        metadata: RowsMetadata::with_specs(vec![
            spec("k", ColumnType::Int),
            spec("v", ColumnType::Varchar),
        ]),
        rows: vec![vec![
            Some(Bytes::from_static(&[0, 0, 0, 1])),
            Some(Bytes::from_static(b"a")),
        ]],
    };
    check_response(
        r#"84 00 00 03 08 00 00 00 2E | 00 00 00 02
           00 00 00 01  00 00 00 02
           00 02 6B 73  00 01 74
           00 01 6B 00 09   00 01 76 00 0D
           00 00 00 01
           00 00 00 04 00 00 00 01   00 00 00 01 61"#,
        ResponseMessage::new(3, Response::Result(QueryResult::Rows(rows))),
    );
}

#[test]
fn unavailable_error_tail() {
    let message = "Cannot achieve consistency level QUORUM";
    check_response(
        &format!(
            r#"84 00 00 04 00 00 00 00 37 | 00 00 10 00 | 00 27 "{message}" | 00 04 | 00 00 00 02 | 00 00 00 01"#
        ),
        ResponseMessage::new(
            4,
            Response::Error(ErrorResponse::new(
                ErrorKind::Unavailable {
                    consistency: Consistency::Quorum,
                    required: 2,
                    alive: 1,
                },
                message,
            )),
        ),
    );
}

#[test]
fn warnings_and_tracing_precede_the_body() {
    let mut message = ResponseMessage::new(7, Response::Result(QueryResult::Void));
    message.tracing_id = Some([0x11; 16]);
    message.warnings = vec!["Batch too large".into()];
    check_response(
        r#"84 0A 00 07 08 00 00 00 27
           11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11
           00 01 00 0F "Batch too large"
           00 00 00 01"#,
        message,
    );
}

#[test]
fn lz4_body_layout() {
    let lz4 = CodecOptions {
        compression: Compression::Lz4,
        ..CodecOptions::default()
    };
    let query = RequestMessage::new(
        9,
        Request::Query {
            query: "SELECT * FROM system_schema.tables".repeat(4),
            parameters: QueryParameters::new(Consistency::One),
        },
    );
    let frame = query.encode(&lz4).unwrap();
    assert!(frame.flags.contains(Flags::COMPRESSION));
    let plain = query.encode(&CodecOptions::default()).unwrap();
    // 4-byte big-endian uncompressed length, then an LZ4 block of the plain body.
    assert_eq!(&frame.body[..4], &(plain.body.len() as u32).to_be_bytes());
    assert_eq!(
        lz4_flex::block::decompress(&frame.body[4..], plain.body.len()).unwrap(),
        plain.body
    );
    assert_eq!(RequestMessage::decode(&frame, &lz4).unwrap(), query);
}
