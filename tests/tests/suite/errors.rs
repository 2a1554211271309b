//! Goal: every `Error` variant has a real trigger, and its message says what
//! to do next. Method: one test per variant, through the public API.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use spool_backends::MemoryBackend;
use spool_engine::{
    CorruptKind, Cursor, CursorProblem, Direction, Durability, Error, Log, LogConfig, LogId,
    PayloadRule, Seq, frame,
};
use spool_tests::faulty::{Faults, Faulty};

use crate::memory_log;

#[test]
fn io_errors_are_classified_by_kind_not_text() {
    let full = Error::io(
        "append",
        io::Error::new(io::ErrorKind::StorageFull, "whatever text"),
    );
    assert!(matches!(full, Error::NoSpace { op: "append", .. }));
    let other = Error::io("sync", io::Error::other("No space left on device"));
    assert!(
        matches!(other, Error::Io { op: "sync", .. }),
        "text must not decide the kind"
    );
    assert!(other.to_string().contains("reopen"));
    assert!(full.poisons() && other.poisons());
    assert!(std::error::Error::source(&other).is_some());
}

#[test]
fn corrupt_frames_name_the_object_and_offset() {
    let mut bytes = Vec::new();
    let f = frame::Frame {
        seq: Seq(0),
        timestamp_ms: 0,
        codec: spool_engine::CodecKind::Raw,
        batch_continues: false,
        payload: b"abc",
    };
    frame::encode_into(&mut bytes, &f).unwrap();
    bytes[33] ^= 1;
    let kind = frame::decode(&bytes, 1024).unwrap_err();
    assert!(matches!(kind, CorruptKind::Checksum { .. }));
    let err = Error::Corrupt {
        object: "00000000.seg".into(),
        offset: 4096,
        kind,
    };
    let text = err.to_string();
    assert!(
        text.contains("00000000.seg") && text.contains("4096") && text.contains("salvage"),
        "{text}"
    );
}

#[tokio::test]
async fn a_backend_returning_wrong_seqs_is_corrupt_not_data() {
    let memory = Arc::new(MemoryBackend::new());
    let faulty = Arc::new(Faulty::new(memory, Faults::default()));
    let log = Log::open(
        LogId::new("c").unwrap(),
        faulty.clone(),
        LogConfig::default(),
    )
    .unwrap();
    log.append_batch([&b"a"[..], b"b"]).await.unwrap();
    faulty.set_faults(Faults {
        shift_read_seqs: 1,
        ..Faults::default()
    });
    let err = log.read_page(&log.first_cursor(), 10).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                kind: CorruptKind::SeqMismatch {
                    expected: Seq(0),
                    found: Seq(1)
                },
                ..
            }
        ),
        "{err:?}"
    );
}

/// A backend that returns nothing for a range the log says exists is a
/// typed error in every reader, never an empty page or a paging loop.
#[tokio::test]
async fn a_backend_that_returns_nothing_is_corrupt_in_every_reader() {
    let (log, faulty, _) = spool_tests::faulty::faulty_log(Faults::default());
    log.append_batch([&b"a"[..], b"b", b"c"]).await.unwrap();
    faulty.set_faults(Faults {
        empty_reads: true,
        ..Faults::default()
    });
    let is_missing = |err: &Error| {
        matches!(
            err,
            Error::Corrupt {
                kind: CorruptKind::Truncated { .. },
                ..
            }
        )
    };
    let forward = log.read_page(&log.first_cursor(), 10).await.unwrap_err();
    assert!(is_missing(&forward), "{forward:?}");
    let backward = tokio::time::timeout(
        Duration::from_secs(5),
        log.read_page(&log.last_cursor(), 10),
    )
    .await
    .expect("backward paging must not loop")
    .unwrap_err();
    assert!(is_missing(&backward), "{backward:?}");
    let mut tail = Box::pin(log.tail(Seq(0)));
    let tailed = futures::StreamExt::next(&mut tail)
        .await
        .unwrap()
        .unwrap_err();
    assert!(is_missing(&tailed), "{tailed:?}");
}

/// Retention that lands between a reader's look at the start and its
/// backend read makes a shorter page (or an empty one), never `Corrupt`.
#[tokio::test]
async fn retention_racing_a_reader_shortens_its_page_and_is_not_corrupt() {
    let (log, faulty, _) = spool_tests::faulty::faulty_log(Faults::default());
    let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i]).collect();
    log.append_batch(payloads).await.unwrap();
    faulty.set_faults(Faults {
        retain_during_read: Some(4),
        ..Faults::default()
    });
    let page = log.read_page(&log.first_cursor(), 6).await.unwrap();
    let seqs: Vec<u64> = page.records.iter().map(|r| r.seq.0).collect();
    assert_eq!(seqs, vec![4, 5, 6, 7, 8, 9]);
    assert!(page.next.is_none());
    // A backward page wholly below the new start is empty and ends paging.
    let below = log
        .read_page(&log.cursor_at(Seq(3), Direction::Backward), 3)
        .await
        .unwrap();
    assert!(
        below.records.is_empty() && below.next.is_none(),
        "{below:?}"
    );
    // A backend that really skips records is still caught: the start does
    // not explain a gap above it.
    faulty.set_faults(Faults {
        shift_read_seqs: 1,
        ..Faults::default()
    });
    let err = log
        .read_page(&log.cursor_at(Seq(5), Direction::Forward), 2)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
}

#[test]
fn unsupported_cursor_version() {
    let c = Cursor::new(&LogId::new("a").unwrap(), Direction::Forward, Seq(0)).to_string();
    let err = c.replacen("v1.", "v9.", 1).parse::<Cursor>().unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedVersion {
            found: 9,
            supported: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("upgrade"));
}

#[tokio::test]
async fn record_and_batch_limits() {
    let config = LogConfig {
        max_record_bytes: 3,
        max_batch_records: 2,
        ..LogConfig::default()
    };
    let (log, _) = memory_log(config);
    assert!(matches!(
        log.append(&b"abcd"[..]).await,
        Err(Error::RecordTooLarge { len: 4, max: 3 })
    ));
    assert!(matches!(
        log.append_batch([&b"a"[..], b"b", b"c"]).await,
        Err(Error::BatchTooLarge { records: 3, max: 2 })
    ));
    assert_eq!(log.next_seq(), Seq(0), "nothing was written");
}

#[tokio::test]
async fn invalid_payload_for_a_json_line_backend() {
    let backend = Arc::new(MemoryBackend::with_payload_rule(PayloadRule::JsonLine));
    let log = Log::open(LogId::new("j").unwrap(), backend, LogConfig::default()).unwrap();
    for bad in [&b"{\"a\":\n1}"[..], b"nope"] {
        assert!(matches!(
            log.append(bad).await,
            Err(Error::InvalidPayload { .. })
        ));
    }
    // An atomic batch with one bad record writes none of them.
    assert!(log.append_batch([&b"{}"[..], b"{"]).await.is_err());
    assert_eq!(log.next_seq(), Seq(0));
}

#[tokio::test]
async fn conflict_between_two_writers_on_one_log() {
    let (first, memory) = memory_log(LogConfig::default());
    let second = Log::open(
        LogId::new("t").unwrap(),
        Arc::new(memory.reopen()),
        LogConfig::default(),
    )
    .unwrap();
    first.append(&b"a"[..]).await.unwrap();
    // The second writer still believes the log is empty: the backend refuses.
    let err = second
        .append_expecting(Seq(0), [&b"b"[..]])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Conflict {
                expected: Seq(0),
                actual: Seq(1)
            }
        ),
        "{err:?}"
    );
    // An append without expectation learns the new end and lands after it.
    assert_eq!(second.append(&b"c"[..]).await.unwrap(), Seq(1));
    assert!(err.to_string().contains("retry"));
}

#[tokio::test]
async fn invalid_foreign_and_past_the_end_cursors() {
    let (log, _) = memory_log(LogConfig::default());
    log.append(&b"a"[..]).await.unwrap();
    let good = log.first_cursor().to_string();
    let tampered = {
        let mut b = good.clone().into_bytes();
        b[10] = if b[10] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    assert!(matches!(
        tampered.parse::<Cursor>(),
        Err(Error::InvalidCursor {
            problem: CursorProblem::Tampered
        })
    ));
    assert!(matches!(
        good[..good.len() - 5].parse::<Cursor>(),
        Err(Error::InvalidCursor {
            problem: CursorProblem::Truncated
        })
    ));
    let foreign = Cursor::new(&LogId::new("other").unwrap(), Direction::Forward, Seq(0));
    assert!(matches!(
        log.read_page(&foreign, 10).await,
        Err(Error::ForeignCursor { .. })
    ));
    let past = log.cursor_at(Seq(2), Direction::Backward);
    assert!(matches!(
        log.read_page(&past, 10).await,
        Err(Error::SeqPastEnd {
            seq: Seq(2),
            end: Seq(1)
        })
    ));
}

#[tokio::test]
async fn codec_errors_name_the_codec() {
    let (log, _) = memory_log(LogConfig::default());
    log.append(&b"not json"[..]).await.unwrap();
    let typed = spool_engine::TypedLog::<u32>::new(log.clone());
    let err = typed.read_page(&log.first_cursor(), 10).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Codec {
            codec: spool_engine::CodecKind::Json,
            op: "decode",
            ..
        }
    ));
}

#[tokio::test]
async fn invalid_config_is_refused_at_open_and_at_append() {
    let bad = LogConfig {
        max_commit_records: 0,
        ..LogConfig::default()
    };
    let err = Log::open(
        LogId::new("x").unwrap(),
        Arc::new(MemoryBackend::new()),
        bad,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "max_commit_records",
            ..
        }
    ));
    let (log, _) = memory_log(LogConfig::default());
    let long = Durability::Group {
        max_delay: Duration::from_mins(1),
    };
    assert!(matches!(
        log.append_with(long, [&b"a"[..]]).await,
        Err(Error::InvalidConfig {
            field: "durability",
            ..
        })
    ));
}

#[test]
fn invalid_log_id() {
    let err = LogId::new("a/b").unwrap_err();
    assert!(matches!(err, Error::InvalidLogId { .. }));
    assert!(err.to_string().contains("A-Z"));
}

#[tokio::test]
async fn closed_log_refuses_everything_but_reads_through_reopen() {
    let (log, memory) = memory_log(LogConfig::default());
    log.append(&b"a"[..]).await.unwrap();
    log.close().await.unwrap();
    assert!(matches!(log.append(&b"b"[..]).await, Err(Error::Closed)));
    assert!(matches!(
        log.sync(Durability::Data).await,
        Err(Error::Closed)
    ));
    assert!(matches!(log.close().await, Err(Error::Closed)));
    let again = Log::open(
        LogId::new("t").unwrap(),
        Arc::new(memory.reopen()),
        LogConfig::default(),
    )
    .unwrap();
    assert_eq!(again.next_seq(), Seq(1));
}
