//! Goal: `tail` yields what exists, then follows a live writer, in order and
//! without gaps, and never holds the writer back.
//! Method: readers started before the appends; a tail that is never polled
//! while thousands of records go through a tiny queue.

use std::time::Duration;

use futures::StreamExt;
use spool_engine::{Error, LogConfig, Seq};

use crate::memory_log;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_started_before_n_appends_sees_exactly_n_in_order() {
    const N: u64 = 500;
    let (log, _) = memory_log(LogConfig::default());
    // The first record exists before the reader starts; the reader reports
    // when it has it, and only then do the other N - 1 appends begin, so
    // they all happen while the reader is live.
    log.append(0u64.to_le_bytes().to_vec()).await.unwrap();
    let (started, has_first) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn({
        let mut stream = Box::pin(log.tail(Seq(0)));
        async move {
            let first = stream.next().await.unwrap();
            started.send(()).unwrap();
            let mut got = vec![first];
            got.extend(
                stream
                    .take(usize::try_from(N - 1).unwrap())
                    .collect::<Vec<_>>()
                    .await,
            );
            got
        }
    });
    has_first.await.unwrap();
    let writer = tokio::spawn({
        let log = log.clone();
        async move {
            for i in 1..N {
                log.append(i.to_le_bytes().to_vec()).await.unwrap();
            }
        }
    });
    writer.await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("tail stalled")
        .unwrap();
    assert_eq!(got.len() as u64, N);
    for (i, record) in got.into_iter().enumerate() {
        let record = record.unwrap();
        assert_eq!(record.seq, Seq(i as u64));
        assert_eq!(record.payload.as_ref(), &(i as u64).to_le_bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_catches_up_then_follows_and_ends_when_the_log_closes() {
    let (log, _) = memory_log(LogConfig::default());
    log.append_batch([&b"a"[..], b"b", b"c"]).await.unwrap();
    let mut stream = Box::pin(log.tail(Seq(1)));
    assert_eq!(stream.next().await.unwrap().unwrap().payload.as_ref(), b"b");
    assert_eq!(stream.next().await.unwrap().unwrap().payload.as_ref(), b"c");
    log.append(&b"d"[..]).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().seq, Seq(3));
    log.close().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "tail must end when the log closes: {end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpolled_and_dropped_tails_do_not_block_the_writer() {
    let config = LogConfig {
        queue_depth: 2,
        ..LogConfig::default()
    };
    let (log, _) = memory_log(config);
    let idle = log.tail(Seq(0)); // never polled
    drop(log.tail(Seq(0))); // dropped at once
    let mut polled_once = Box::pin(log.tail(Seq(0)));
    log.append(&b"x"[..]).await.unwrap();
    assert!(polled_once.next().await.is_some());
    tokio::time::timeout(Duration::from_secs(10), async {
        for i in 0..5_000u32 {
            log.append(i.to_le_bytes().to_vec()).await.unwrap();
        }
    })
    .await
    .expect("writer was blocked by a tail");
    assert_eq!(log.next_seq(), Seq(5_001));
    drop(idle);
}

#[tokio::test]
async fn tail_past_the_end_is_a_typed_error() {
    let (log, _) = memory_log(LogConfig::default());
    log.append(&b"a"[..]).await.unwrap();
    let mut stream = Box::pin(log.tail(Seq(5)));
    match stream.next().await {
        Some(Err(Error::SeqPastEnd {
            seq: Seq(5),
            end: Seq(1),
        })) => {}
        other => panic!("{other:?}"),
    }
    assert!(stream.next().await.is_none());
}

/// A tail that is behind when the log closes gets what it had already
/// read, then one `Err(Closed)`: never a silent end that looks like "caught
/// up". The caller reopens the log and tails on from the last seq it got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_behind_at_close_gets_closed_after_what_it_read_never_a_silent_end() {
    let (log, _) = memory_log(LogConfig::default());
    let records: Vec<Vec<u8>> = (0..3_000u64).map(|i| i.to_le_bytes().to_vec()).collect();
    log.append_batch(records).await.unwrap();
    let mut stream = Box::pin(log.tail(Seq(0)));
    // The first page is read and buffered, the rest of the log is not.
    assert_eq!(stream.next().await.unwrap().unwrap().seq, Seq(0));
    log.close().await.unwrap();
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>())
        .await
        .expect("tail stalled after close");
    let (last, delivered) = rest.split_last().unwrap();
    assert!(matches!(last, Err(Error::Closed)), "{last:?}");
    for (i, record) in delivered.iter().enumerate() {
        assert_eq!(record.as_ref().unwrap().seq, Seq(i as u64 + 1));
    }
    assert!(
        delivered.len() < 2_999,
        "this test means to close the log before the tail caught up"
    );
}
