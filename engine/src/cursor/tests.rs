//! Cursor properties: round trips through the string form, and every
//! tampered, truncated, foreign or past-the-end cursor is a typed error.

use proptest::prelude::*;

use super::*;

fn log(name: &str) -> LogId {
    LogId::new(name).unwrap()
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Forward), Just(Direction::Backward)]
}

#[test]
fn string_form_is_versioned_and_url_safe() {
    let c = Cursor::new(&log("a"), Direction::Forward, Seq(5)).with_hint(77);
    let s = c.to_string();
    assert!(s.starts_with("v1."), "{s}");
    assert_eq!(s.len(), 3 + BASE64_LEN);
    assert!(
        s[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let back: Cursor = s.parse().unwrap();
    assert_eq!(back, c);
    assert_eq!(back.hint(), 77);
    assert_eq!(back.seq(), Seq(5));
    assert_eq!(back.direction(), Direction::Forward);
}

#[test]
fn other_versions_are_unsupported_not_malformed() {
    let c = Cursor::new(&log("a"), Direction::Forward, Seq(5)).to_string();
    let v2 = c.replacen("v1.", "v2.", 1);
    assert!(matches!(
        v2.parse::<Cursor>(),
        Err(Error::UnsupportedVersion {
            what: "cursor",
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn malformed_strings_are_rejected() {
    for bad in [
        "",
        "v1",
        "v1.",
        "x1.AAAA",
        "v.AAAA",
        "v1.!!!!",
        "v-1.AA",
        &"v1.".repeat(30),
    ] {
        assert!(
            matches!(
                bad.parse::<Cursor>(),
                Err(Error::InvalidCursor { .. } | Error::UnsupportedVersion { .. })
            ),
            "{bad:?}"
        );
    }
    // Right length, wrong alphabet.
    let bad = format!("v1.{}", "*".repeat(BASE64_LEN));
    assert!(matches!(
        bad.parse::<Cursor>(),
        Err(Error::InvalidCursor {
            problem: CursorProblem::Malformed
        })
    ));
}

#[test]
fn foreign_and_past_the_end_cursors_are_rejected_on_use() {
    let a = log("a");
    let c = Cursor::new(&a, Direction::Forward, Seq(10));
    assert!(c.check(&a, Seq(10)).is_ok());
    assert!(matches!(
        c.check(&a, Seq(9)),
        Err(Error::SeqPastEnd {
            seq: Seq(10),
            end: Seq(9)
        })
    ));
    assert!(matches!(
        c.check(&log("b"), Seq(100)),
        Err(Error::ForeignCursor { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn round_trips(name in "[a-z0-9_-]{1,20}", dir in direction(), seq: u64, hint: u64) {
        let c = Cursor::new(&log(&name), dir, Seq(seq)).with_hint(hint);
        let back: Cursor = c.to_string().parse().unwrap();
        prop_assert_eq!(back, c);
        prop_assert!(back.belongs_to(&log(&name)));
    }

    #[test]
    fn every_truncation_is_rejected(seq: u64, hint: u64, dir in direction()) {
        let s = Cursor::new(&log("t"), dir, Seq(seq)).with_hint(hint).to_string();
        for cut in 0..s.len() {
            let err = s[..cut].parse::<Cursor>().unwrap_err();
            prop_assert!(matches!(err, Error::InvalidCursor { .. }), "cut {}: {:?}", cut, err);
            if cut > 3 {
                prop_assert!(matches!(err, Error::InvalidCursor { problem: CursorProblem::Truncated }), "cut {}: {:?}", cut, err);
            }
        }
    }

    #[test]
    fn every_single_character_change_is_rejected(seq: u64, hint: u64, dir in direction(), pick: u8) {
        let s = Cursor::new(&log("t"), dir, Seq(seq)).with_hint(hint).to_string();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for at in 3..s.len() {
            let mut bytes = s.clone().into_bytes();
            let replacement = alphabet[usize::from(pick) % alphabet.len()];
            if bytes[at] == replacement {
                continue;
            }
            bytes[at] = replacement;
            let tampered = String::from_utf8(bytes).unwrap();
            // 30 bytes are exactly 40 base64 characters with no padding
            // bits, so every character change flips bits of the body or of
            // its CRC: the cursor is Tampered (or Malformed if a field it
            // decodes is out of range), never accepted.
            prop_assert!(
                matches!(tampered.parse::<Cursor>(), Err(Error::InvalidCursor { .. })),
                "change at {} accepted: {}", at, tampered
            );
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,80}") {
        let _ = s.parse::<Cursor>();
    }
}
