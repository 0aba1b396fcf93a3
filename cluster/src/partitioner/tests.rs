use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The drivers' vectors (`Murmur3Token.from_key`), tail bytes of every kind.
#[test]
fn tokens_match_the_driver_vectors() {
    let fox = b"The quick brown fox jumps over the lazy dog".to_vec();
    let cases: Vec<(Vec<u8>, i64)> = vec![
        (vec![], 0),
        (hex("00000001"), -4069959284402364209),
        (hex("00000000"), -3485513579396041028),
        (hex("0000002a"), -7160136740246525330),
        (hex("ffffffff"), 7297452126230313552),
        (hex("0000000000000001"), 6292367497774912474),
        (b"a".to_vec(), -8839064797231613815),
        (b"abc".to_vec(), -5434086359492102041),
        (b"hello".to_vec(), -3758069500696749310),
        (fox, -2068352364225029268),
        (hex("ff"), -4442228696663692417),
        (hex("80"), -5284281814142962636),
        (hex("000102030405060708090a0b0c0d0e0f"), 4920504430128807728),
        (
            hex("000102030405060708090a0b0c0d0e0f10"),
            6662781046685680142,
        ),
        (hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfe"), -7737243313669454511),
        (hex("00000000000000000000000000000001"), 2589554819249504804),
    ];
    for (key, token) in cases {
        assert_eq!(murmur3_token(&key), Token(token), "key {key:02x?}");
    }
}

#[test]
fn composite_keys_match_the_driver_vectors() {
    let k = composite_key(&[&hex("00000001"), b"a"]).unwrap();
    assert_eq!(k, hex("0004000000010000016100"));
    assert_eq!(murmur3_token(&k), Token(6516349416904725244));
    let k = composite_key(&[b"k1", &hex("00000002")]).unwrap();
    assert_eq!(k, hex("00026b310000040000000200"));
    assert_eq!(murmur3_token(&k), Token(-1698844508770507404));
    assert_eq!(composite_key(&[b"solo"]).unwrap(), b"solo".to_vec());
    let long = vec![0u8; 70_000];
    assert_eq!(composite_key(&[&long, b"x"]), Err(KeyTooLong(70_000)));
}

proptest! {
    /// Where Cassandra's quirk cannot matter (no tail byte at or above 0x80),
    /// the token is standard Murmur3's h1: checked against the murmur3 crate.
    #[test]
    fn agrees_with_standard_murmur3_when_tail_bytes_are_small(
        body in proptest::collection::vec(any::<u8>(), 0..64),
        tail in proptest::collection::vec(0u8..0x80, 0..16),
    ) {
        let blocks = body.len() / 16 * 16;
        let mut key = body[..blocks].to_vec();
        key.extend_from_slice(&tail);
        let standard = murmur3::murmur3_x64_128(&mut std::io::Cursor::new(&key), 0).unwrap();
        let h1 = standard as u64 as i64;
        let expected = if h1 == i64::MIN { i64::MAX } else { h1 };
        prop_assert_eq!(murmur3_token(&key), Token(expected));
    }
}
