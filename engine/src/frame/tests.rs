//! Frame codec properties (RELIABILITY.md R1, and R2–R4 at frame level):
//! round trips at the edge sizes, and every single-byte corruption,
//! truncation and zero-fill of a frame rejected.

use proptest::prelude::*;

use super::*;

fn frame(seq: u64, timestamp_ms: i64, codec: CodecKind, payload: &[u8]) -> Frame<'_> {
    Frame {
        seq: Seq(seq),
        timestamp_ms,
        codec,
        batch_continues: false,
        payload,
    }
}

fn frame_bytes(seq: u64, ts: i64, codec: CodecKind, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, &frame(seq, ts, codec, payload)).unwrap();
    out
}

fn codec() -> impl Strategy<Value = CodecKind> {
    prop_oneof![
        Just(CodecKind::Raw),
        Just(CodecKind::Json),
        Just(CodecKind::MsgPack)
    ]
}

#[test]
fn round_trips_at_edge_sizes() {
    for len in [0, 1, 4095, 4096, 4097, 64 * 1024] {
        let payload: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i * 31 % 251).unwrap())
            .collect();
        let bytes = frame_bytes(7, -3, CodecKind::Json, &payload);
        assert_eq!(bytes.len(), encoded_len(len));
        let (frame, used) = decode(&bytes, 64 * 1024).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(frame.seq, Seq(7));
        assert_eq!(frame.timestamp_ms, -3);
        assert_eq!(frame.codec, CodecKind::Json);
        assert_eq!(frame.payload, &payload[..]);
        assert_eq!(frame.encoded_len(), used);
    }
}

#[test]
fn the_magic_is_never_zero_and_the_header_is_pinned() {
    assert!(MAGIC.iter().all(|b| *b != 0));
    assert_eq!(HEADER_LEN, 32);
    let bytes = frame_bytes(1, 2, CodecKind::Raw, b"x");
    assert_eq!(&bytes[..4], &MAGIC);
    assert_eq!(&bytes[4..8], &1u32.to_le_bytes());
    assert_eq!(&bytes[8..16], &1u64.to_le_bytes());
    assert_eq!(&bytes[16..24], &2i64.to_le_bytes());
    assert_eq!(bytes[24], 0);
    assert_eq!(&bytes[25..28], &[0, 0, 0]);
    let mut continued = frame(1, 2, CodecKind::Raw, b"x");
    continued.batch_continues = true;
    let mut out = Vec::new();
    encode_into(&mut out, &continued).unwrap();
    assert_eq!(out[25], FLAG_BATCH_CONTINUES);
    assert!(decode(&out, 8).unwrap().0.batch_continues);
}

#[test]
fn a_declared_length_over_the_bound_is_rejected_before_reading_it() {
    let mut bytes = frame_bytes(0, 0, CodecKind::Raw, b"abc");
    assert_eq!(
        decode(&bytes, 2),
        Err(CorruptKind::TooLarge { len: 3, max: 2 })
    );
    // A huge declared length on a short buffer is a bound error, not an allocation.
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode(&bytes, usize::MAX),
        Err(CorruptKind::TooLarge { max, .. }) if max == PAYLOAD_MAX_BYTES as u64
    ));
}

#[test]
fn unknown_codec_flags_and_reserved_are_rejected_even_with_a_valid_checksum() {
    let payload = b"p";
    for (at, value, field) in [
        (24usize, 9u8, "codec"),
        (25, 2, "flags"),
        (26, 1, "reserved"),
    ] {
        let mut bytes = frame_bytes(0, 0, CodecKind::Raw, payload);
        bytes[at] = value;
        let crc = crc32(&[&bytes[..28], payload]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(decode(&bytes, 16), Err(CorruptKind::BadField { field: f, .. }) if f == field),
            "{field}"
        );
    }
}

/// Deterministic payload bytes from a seed (cheap: the R1 run below makes
/// 100,000 of them).
fn filled(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn a_payload_exactly_at_the_bound_round_trips_and_one_byte_more_is_refused() {
    let max = 100_000;
    let at = filled(max, 9);
    let bytes = frame_bytes(1, 2, CodecKind::Raw, &at);
    assert_eq!(decode(&bytes, max).unwrap().0.payload, &at[..]);
    let over = filled(max + 1, 9);
    let bytes = frame_bytes(1, 2, CodecKind::Raw, &over);
    assert!(matches!(
        decode(&bytes, max),
        Err(CorruptKind::TooLarge { len, max: m }) if len == max as u64 + 1 && m == max as u64
    ));
}

proptest! {
    // R1's CI target: 100,000 cases, weighted to the edge sizes.
    #![proptest_config(ProptestConfig::with_cases(100_000))]

    #[test]
    fn r1_decode_inverts_encode_at_the_edge_sizes(
        seq: u64,
        ts: i64,
        codec in codec(),
        continues: bool,
        len in prop_oneof![
            2 => Just(0usize), 2 => Just(1usize), 1 => Just(4095usize), 1 => Just(4096usize),
            1 => Just(4097usize), 4 => 0usize..600,
        ],
        big: bool,
        seed: u64,
    ) {
        // One case in ~128 is a 64 KiB payload (kept rare: it dominates the run).
        let len = if big && seed % 64 == 0 { 64 * 1024 } else { len };
        let payload = filled(len, seed);
        let mut f = frame(seq, ts, codec, &payload);
        f.batch_continues = continues;
        let mut bytes = Vec::new();
        encode_into(&mut bytes, &f).unwrap();
        let (back, used) = decode(&bytes, 64 * 1024).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back, f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(seq: u64, ts: i64, codec in codec(), payload in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let bytes = frame_bytes(seq, ts, codec, &payload);
        let (frame, used) = decode(&bytes, 4096).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(frame, Frame { seq: Seq(seq), timestamp_ms: ts, codec, batch_continues: false, payload: &payload });
    }

    #[test]
    fn concatenated_frames_decode_to_the_same_list(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)
    ) {
        let mut buf = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            let mut f = frame(i as u64, i64::try_from(i).unwrap(), CodecKind::Raw, p);
            f.batch_continues = i % 3 != 0;
            encode_into(&mut buf, &f).unwrap();
        }
        let (frames, damage) = decode_all(&buf, 300);
        prop_assert_eq!(damage, None);
        prop_assert_eq!(frames.len(), payloads.len());
        for (i, (f, p)) in frames.iter().zip(&payloads).enumerate() {
            prop_assert_eq!(f.payload, &p[..]);
            prop_assert_eq!(f.batch_continues, i % 3 != 0);
        }
    }

    #[test]
    fn every_single_byte_corruption_is_rejected(
        payload in proptest::collection::vec(any::<u8>(), 0..96),
        xor in 1u8..=255,
    ) {
        let bytes = frame_bytes(42, 1_700_000_000_000, CodecKind::Json, &payload);
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= xor;
            prop_assert!(decode(&bad, 1 << 20).is_err(), "corruption at {} with {:#x} accepted", at, xor);
        }
    }

    #[test]
    fn every_truncation_is_rejected_as_truncated(payload in proptest::collection::vec(any::<u8>(), 0..96)) {
        let bytes = frame_bytes(3, 4, CodecKind::MsgPack, &payload);
        for cut in 0..bytes.len() {
            let err = decode(&bytes[..cut], 1 << 20).unwrap_err();
            prop_assert!(matches!(err, CorruptKind::Truncated { .. }), "cut at {} gave {:?}", cut, err);
        }
    }

    #[test]
    fn every_zero_fill_of_a_suffix_is_rejected(payload in proptest::collection::vec(1u8..=255, 0..96)) {
        // Payload bytes are non-zero so that every fill changes the frame.
        let bytes = frame_bytes(u64::MAX, i64::MIN, CodecKind::Raw, &payload);
        for from in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[from..].fill(0);
            if bad != bytes {
                prop_assert!(decode(&bad, 1 << 20).is_err(), "zero fill from {} accepted", from);
            }
        }
    }

    #[test]
    fn zeros_and_garbage_are_never_frames(len in 0usize..256, garbage in proptest::collection::vec(any::<u8>(), 0..256)) {
        let zeros = vec![0u8; len];
        prop_assert!(decode(&zeros, 1 << 20).is_err());
        let (frames, _) = decode_all(&zeros, 1 << 20);
        prop_assert!(frames.is_empty());
        // Garbage only decodes if it happens to carry the magic and a matching CRC.
        if garbage.get(..4) != Some(&MAGIC[..]) {
            prop_assert!(decode(&garbage, 1 << 20).is_err());
        }
    }
}
