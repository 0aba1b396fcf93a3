use super::*;
use proptest::prelude::*;
use storage::{Cell, DeletionTime, RangeTombstone, Row};

fn key(token: i64, k: &[u8]) -> DecoratedKey {
    DecoratedKey::new(Token(token), k.to_vec())
}

fn sample_mutation() -> Mutation {
    let mut m = Mutation::new(TableId(7), key(-5, b"pk"));
    m.partition_deletion = Some(DeletionTime::new(3, 100));
    m.range_tombstones.push(RangeTombstone {
        range: ClusteringRange::new(
            Bound::Inclusive(ClusteringKey::new(b"a".to_vec())),
            Bound::Exclusive(ClusteringKey::new(b"c".to_vec())),
        ),
        deletion: DeletionTime::new(4, 101),
    });
    m.with_row(Row::new(ClusteringKey::new(b"x".to_vec())).with_cell(
        ColumnId(1),
        None,
        Cell::live(9, b"v".to_vec()),
    ))
}

fn sample_read() -> ReadRequest {
    ReadRequest {
        table: TableId(u128::MAX - 3),
        read: PartitionRead {
            key: key(i64::MIN + 1, b"key"),
            slices: vec![
                ClusteringRange::new(
                    Bound::Unbounded,
                    Bound::Exclusive(ClusteringKey::new(vec![1])),
                ),
                ClusteringRange::new(
                    Bound::Inclusive(ClusteringKey::new(vec![3])),
                    Bound::Unbounded,
                ),
            ],
            columns: ColumnFilter::Only(vec![ColumnId(1), ColumnId(300)]),
            reversed: true,
            row_limit: Some(10),
            now: 1_700_000_000,
            include_tombstones: true,
        },
        digest: true,
        max_tombstones: 100_000,
    }
}

fn sample_range() -> RangeReadRequest {
    RangeReadRequest {
        table: TableId(42),
        range: KeyRange {
            start: PartitionBound::Exclusive(PartitionPosition::Token(Token(-9))),
            end: PartitionBound::Inclusive(PartitionPosition::Key(key(77, b"k"))),
        },
        resume_after: Some((key(3, b"r"), ClusteringKey::new(vec![5, 6]))),
        columns: ColumnFilter::All,
        now: 5,
        row_limit: None,
        max_tombstones: 1,
    }
}

#[test]
fn mutation_requests_round_trip() {
    let req = MutationRequest {
        mutation: sample_mutation(),
    };
    assert_eq!(MutationRequest::decode(&req.encode()).unwrap(), req);
}

#[test]
fn read_requests_round_trip() {
    let req = sample_read();
    let bytes = req.encode();
    let back = ReadRequest::decode(&bytes).unwrap();
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.read.key, req.read.key);
    assert_eq!(back.read.slices, req.read.slices);
    assert_eq!(back.read.columns, req.read.columns);
    assert!(back.digest && back.read.reversed && back.read.include_tombstones);
    assert_eq!(back.read.row_limit, Some(10));
    assert_eq!(back.read.now, 1_700_000_000);
}

#[test]
fn range_requests_round_trip() {
    let req = sample_range();
    let bytes = req.encode();
    let back = RangeReadRequest::decode(&bytes).unwrap();
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.range, req.range);
    assert_eq!(back.resume_after, req.resume_after);
    assert_eq!(back.row_limit, None);
}

#[test]
fn responses_round_trip() {
    let ack = encode_mutation_response(&Ok(()));
    assert_eq!(decode_mutation_response(&ack).unwrap(), Ok(()));
    let err = ReplicaError {
        kind: ReplicaErrorKind::Overloaded,
        message: "full".into(),
    };
    let bytes = encode_mutation_response(&Err(err.clone()));
    assert_eq!(decode_mutation_response(&bytes).unwrap(), Err(err));
    for reply in [
        ReadReply::Data(Box::new(sample_mutation())),
        ReadReply::Digest([7; 16]),
    ] {
        let resp = ReadResponse {
            reply,
            hit_limit: true,
            tombstones_scanned: 12,
        };
        let bytes = encode_read_response(&Ok(resp.clone()));
        assert_eq!(decode_read_response(&bytes).unwrap(), Ok(resp));
    }
    let resp = RangeReadResponse {
        partitions: vec![sample_mutation(), Mutation::new(TableId(7), key(9, b"z"))],
        hit_limit: true,
        last_partial: true,
        tombstones_scanned: 0,
    };
    let bytes = encode_range_response(&Ok(resp.clone()));
    assert_eq!(decode_range_response(&bytes).unwrap(), Ok(resp));
}

#[test]
fn unknown_versions_and_trailing_bytes_are_refused() {
    let mut bytes = sample_read().encode();
    bytes[0] = 2;
    let err = ReadRequest::decode(&bytes).unwrap_err();
    assert!(err.reason.contains("unknown wire version 2"), "{err}");
    let mut bytes = sample_range().encode();
    bytes.push(0);
    assert!(RangeReadRequest::decode(&bytes).is_err());
}

#[test]
fn unsorted_column_filters_are_refused() {
    let mut req = sample_read();
    req.read.columns = ColumnFilter::Only(vec![ColumnId(5), ColumnId(2)]);
    assert!(ReadRequest::decode(&req.encode()).is_err());
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = MutationRequest::decode(&bytes);
        let _ = ReadRequest::decode(&bytes);
        let _ = RangeReadRequest::decode(&bytes);
        let _ = decode_mutation_response(&bytes);
        let _ = decode_read_response(&bytes);
        let _ = decode_range_response(&bytes);
    }

    #[test]
    fn garbled_payloads_never_panic(
        which in 0usize..4,
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let bytes = match which {
            0 => sample_read().encode(),
            1 => sample_range().encode(),
            2 => MutationRequest { mutation: sample_mutation() }.encode(),
            _ => encode_read_response(&Ok(ReadResponse {
                reply: ReadReply::Data(Box::new(sample_mutation())),
                hit_limit: false,
                tombstones_scanned: 3,
            })),
        };
        let n = cut.index(bytes.len());
        let short = &bytes[..n];
        let truncated_fails = match which {
            0 => ReadRequest::decode(short).is_err(),
            1 => RangeReadRequest::decode(short).is_err(),
            2 => MutationRequest::decode(short).is_err(),
            _ => decode_read_response(short).is_err(),
        };
        prop_assert!(truncated_fails);
        let mut garbled = bytes.clone();
        let i = flip.0.index(garbled.len());
        garbled[i] ^= flip.1 | 1;
        let _ = ReadRequest::decode(&garbled);
        let _ = RangeReadRequest::decode(&garbled);
        let _ = MutationRequest::decode(&garbled);
        let _ = decode_read_response(&garbled);
        let _ = decode_range_response(&garbled);
    }
}

#[test]
fn every_error_kind_round_trips_and_old_codes_keep_their_meaning() {
    use ReplicaErrorKind::*;
    for (kind, code) in [
        (Overloaded, 0),
        (Storage, 1),
        (TooManyTombstones, 2),
        (Malformed, 3),
        (UnknownTable, 4),
    ] {
        let err = ReplicaError {
            kind,
            message: "m".into(),
        };
        let bytes = encode_mutation_response(&Err(err.clone()));
        // version, status 1 (error), then the kind's code.
        assert_eq!(bytes[..3], [WIRE_VERSION, 1, code], "{kind:?}");
        assert_eq!(decode_mutation_response(&bytes).unwrap(), Err(err));
    }
    let unknown = [WIRE_VERSION, 1, 5, 0];
    assert!(decode_mutation_response(&unknown).is_err());
}
