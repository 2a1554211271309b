//! Goal: many appenders share one backend write (group commit), seqs stay
//! dense and unique, and durability requests share syncs.
//! Method: a counting, gated backend wrapper; paused tokio time for delays.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use spool_backends::MemoryBackend;
use spool_engine::{Durability, Error, Log, LogConfig, LogId, Seq};
use spool_tests::faulty::{Faults, Faulty};
use tokio::sync::Semaphore;

/// Waits until each of `total` single-record appends is either held at the
/// gate (in the writer's first round) or queued behind it.
async fn wait_until_all_waiting(log: &Log, backend: &Faulty, total: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while log.queue_len() + backend.records_at_gate() < total {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("appenders never all queued up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_appenders_get_dense_unique_seqs_in_fewer_backend_calls() {
    let gate = Arc::new(Semaphore::new(0));
    let backend = Arc::new(
        Faulty::new(Arc::new(MemoryBackend::new()), Faults::default()).with_gate(gate.clone()),
    );
    let log = Log::open(
        LogId::new("g").unwrap(),
        backend.clone(),
        LogConfig::default(),
    )
    .unwrap();

    let tasks: Vec<_> = (0..64u32)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(Bytes::from(i.to_le_bytes().to_vec())).await })
        })
        .collect();
    // The writer holds its first round at the gate (however many requests it
    // took); wait until every other request is queued behind it, then let
    // everything through.
    wait_until_all_waiting(&log, &backend, 64).await;
    gate.add_permits(1_000);

    let mut seqs = BTreeSet::new();
    for task in tasks {
        seqs.insert(task.await.unwrap().unwrap());
    }
    let want: BTreeSet<Seq> = (0..64).map(Seq).collect();
    assert_eq!(seqs, want, "seqs must be exactly 0..64");
    assert_eq!(backend.appended_records(), 64);
    assert!(
        backend.append_calls() < 64,
        "group commit made {} backend calls for 64 appends",
        backend.append_calls()
    );
    // One round held at the gate, one for everything queued behind it.
    assert_eq!(backend.append_calls(), 2);

    // Every record is the one its appender sent.
    let page = log.read_page(&log.first_cursor(), 100).await.unwrap();
    let payloads: BTreeSet<Vec<u8>> = page.records.iter().map(|r| r.payload.to_vec()).collect();
    assert_eq!(payloads.len(), 64);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_durability_appends_queued_together_share_one_sync() {
    let gate = Arc::new(Semaphore::new(0));
    let backend = Arc::new(
        Faulty::new(Arc::new(MemoryBackend::new()), Faults::default()).with_gate(gate.clone()),
    );
    let config = LogConfig {
        durability: Durability::Data,
        ..LogConfig::default()
    };
    let log = Log::open(LogId::new("g").unwrap(), backend.clone(), config).unwrap();
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(vec![i]).await })
        })
        .collect();
    wait_until_all_waiting(&log, &backend, 16).await;
    gate.add_permits(1_000);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(backend.append_calls(), 2);
    assert_eq!(
        backend.sync_calls(),
        2,
        "one sync per round, not per append"
    );
    assert_eq!(log.durable_seq(), Seq(16));
}

#[tokio::test(start_paused = true)]
async fn group_durability_waits_for_company_within_its_delay() {
    let backend = Arc::new(Faulty::new(
        Arc::new(MemoryBackend::new()),
        Faults::default(),
    ));
    let delay = Duration::from_millis(50);
    let config = LogConfig {
        durability: Durability::Group { max_delay: delay },
        ..LogConfig::default()
    };
    let log = Log::open(LogId::new("g").unwrap(), backend.clone(), config).unwrap();
    let started = tokio::time::Instant::now();
    let first = tokio::spawn({
        let log = log.clone();
        async move { log.append(&b"a"[..]).await }
    });
    // Arrives 10 ms into the first one's delay: joins the same commit.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = log.append(&b"b"[..]).await.unwrap();
    assert_eq!(first.await.unwrap().unwrap(), Seq(0));
    assert_eq!(second, Seq(1));
    assert_eq!(backend.append_calls(), 1, "both appends in one commit");
    assert_eq!(backend.sync_calls(), 1);
    let waited = started.elapsed();
    assert!(waited >= delay && waited < delay * 2, "waited {waited:?}");
    assert_eq!(log.durable_seq(), Seq(2));
}

/// A request the backend refuses (without writing) fails alone: the other
/// requests of its round are committed one by one, and the log stays healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_fails_alone_and_the_rest_of_its_round_commits() {
    let gate = Arc::new(Semaphore::new(0));
    let backend = Arc::new(
        Faulty::new(
            Arc::new(MemoryBackend::new()),
            Faults {
                reject_payload: Some(b"bad".to_vec()),
                ..Faults::default()
            },
        )
        .with_gate(gate.clone()),
    );
    let log = Log::open(
        LogId::new("g").unwrap(),
        backend.clone(),
        LogConfig::default(),
    )
    .unwrap();
    let spawn = |payload: &'static [u8]| {
        let log = log.clone();
        tokio::spawn(async move { log.append(payload).await })
    };
    // The first round holds "first" alone at the gate; the other three
    // queue up behind it and form the second round together.
    let first = spawn(b"first");
    wait_until_all_waiting(&log, &backend, 1).await;
    let rest = [spawn(b"b"), spawn(b"bad"), spawn(b"c")];
    wait_until_all_waiting(&log, &backend, 4).await;
    gate.add_permits(1_000);

    let mut seqs = BTreeSet::from([first.await.unwrap().unwrap()]);
    let [b, bad, c] = rest;
    seqs.insert(b.await.unwrap().unwrap());
    seqs.insert(c.await.unwrap().unwrap());
    let refused = bad.await.unwrap().unwrap_err();
    assert!(
        matches!(refused, Error::InvalidPayload { .. }),
        "{refused:?}"
    );
    assert_eq!(seqs, (0..3).map(Seq).collect::<BTreeSet<_>>());
    // Round one, the refused round of three, then each of the three alone.
    assert_eq!(backend.append_calls(), 5);
    assert_eq!(log.append(&b"after"[..]).await.unwrap(), Seq(3));
    let page = log.read_page(&log.first_cursor(), 10).await.unwrap();
    assert!(page.records.iter().all(|r| r.payload.as_ref() != b"bad"));
    assert_eq!(page.records.len(), 4);
}

/// Another writer moving the end (the backend answers `Conflict`) does not
/// fail appends without an expectation: the writer learns the end and
/// retries, up to its bound. Expectations are judged against the new end.
#[tokio::test]
async fn foreign_appends_are_retried_for_plain_appends_and_judged_for_expectations() {
    let (log, backend, _) = spool_tests::faulty::faulty_log(Faults {
        foreign_appends: 3,
        ..Faults::default()
    });
    // Three conflicts in a row (each leaves a foreign record), then it lands.
    assert_eq!(log.append(&b"mine"[..]).await.unwrap(), Seq(3));
    assert_eq!(log.next_seq(), Seq(4));

    backend.set_faults(Faults {
        foreign_appends: 1,
        ..Faults::default()
    });
    let err = log
        .append_expecting(Seq(4), [&b"expects 4"[..]])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Conflict {
                expected: Seq(4),
                actual: Seq(5)
            }
        ),
        "{err:?}"
    );

    // A writer that never stops moving the end wins: after the retry bound
    // the append reports the conflict, and the log is still usable.
    backend.set_faults(Faults {
        foreign_appends: 100,
        ..Faults::default()
    });
    let err = log.append(&b"outrun"[..]).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    backend.set_faults(Faults::default());
    let seq = log.append(&b"later"[..]).await.unwrap();
    let page = log
        .read_page(&log.cursor_at(seq, spool_engine::Direction::Forward), 1)
        .await
        .unwrap();
    assert_eq!(page.records[0].payload.as_ref(), b"later");
}
