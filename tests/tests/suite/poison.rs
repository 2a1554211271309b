//! Goal: fail-stop (promise P7). After a failed write or sync, every later
//! append and sync fails until reopen, records acknowledged before stay
//! readable, and a reopened log works.
//! Method: a backend wrapper that fails the n-th append or sync.

use std::io::ErrorKind;
use std::sync::Arc;

use spool_backends::MemoryBackend;
use spool_engine::{Durability, Error, Log, LogConfig, LogId, Seq};
use spool_tests::faulty::Faults;

fn faulty_log(faults: Faults) -> (Log, MemoryBackend) {
    let (log, _, memory) = spool_tests::faulty::faulty_log(faults);
    (log, memory)
}

async fn assert_poisoned(log: &Log) {
    for _ in 0..3 {
        assert!(matches!(
            log.append(&b"z"[..]).await,
            Err(Error::Poisoned { .. })
        ));
        assert!(matches!(
            log.sync(Durability::Data).await,
            Err(Error::Poisoned { .. })
        ));
        assert!(matches!(
            log.append_with(Durability::Data, [&b"z"[..]]).await,
            Err(Error::Poisoned { .. })
        ));
    }
}

#[tokio::test]
async fn a_failed_sync_poisons_and_is_never_retried() {
    let (log, backend, memory) = spool_tests::faulty::faulty_log(Faults {
        fail_sync: Some((1, ErrorKind::Other)),
        ..Faults::default()
    });
    log.append_with(Durability::Data, [&b"a"[..]])
        .await
        .unwrap();
    log.append(&b"b"[..]).await.unwrap();
    let err = log.sync(Durability::Data).await.unwrap_err();
    assert!(matches!(err, Error::Io { op: "sync", .. }), "{err:?}");
    assert_poisoned(&log).await;
    // The failed sync was the second and last to reach the backend: nothing
    // after it, not even the syncs `assert_poisoned` asked for, retried it.
    assert_eq!(backend.sync_calls(), 2);
    // What was acknowledged before the failure is still readable.
    let page = log.read_page(&log.first_cursor(), 10).await.unwrap();
    assert_eq!(page.records.len(), 2);
    assert_eq!(page.records[0].payload.as_ref(), b"a");
    // Closing a poisoned log reports the poison.
    assert!(matches!(log.close().await, Err(Error::Poisoned { .. })));

    // Reopen: works again and sees every record the backend stored.
    let log = Log::open(
        LogId::new("p").unwrap(),
        Arc::new(memory.reopen()),
        LogConfig::default(),
    )
    .unwrap();
    assert_eq!(log.append(&b"c"[..]).await.unwrap(), Seq(2));
    log.sync(Durability::Data).await.unwrap();
}

#[tokio::test]
async fn a_failed_write_poisons_and_a_full_device_is_named() {
    let (log, _) = faulty_log(Faults {
        fail_append: Some((1, ErrorKind::StorageFull)),
        ..Faults::default()
    });
    log.append(&b"a"[..]).await.unwrap();
    let err = log.append(&b"b"[..]).await.unwrap_err();
    assert!(
        matches!(err, Error::NoSpace { op: "append", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("free space"), "{err}");
    assert_poisoned(&log).await;
    let page = log.read_page(&log.first_cursor(), 10).await.unwrap();
    assert_eq!(page.records.len(), 1, "the failed append is not visible");
}

#[tokio::test]
async fn a_sync_failure_fails_every_append_that_waited_for_it() {
    let (log, _) = faulty_log(Faults {
        fail_sync: Some((0, ErrorKind::Other)),
        ..Faults::default()
    });
    let err = log
        .append_with(Durability::Data, [&b"a"[..], b"b"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    // Written but never acknowledged: readers do not see it.
    assert_eq!(log.next_seq(), Seq(0));
    assert_poisoned(&log).await;
}

#[tokio::test]
async fn rejections_before_writing_do_not_poison() {
    let config = LogConfig {
        max_record_bytes: 4,
        ..LogConfig::default()
    };
    let log = Log::open(
        LogId::new("p").unwrap(),
        Arc::new(MemoryBackend::new()),
        config,
    )
    .unwrap();
    assert!(matches!(
        log.append(&b"too long"[..]).await,
        Err(Error::RecordTooLarge { .. })
    ));
    assert!(matches!(
        log.append_expecting(Seq(9), [&b"a"[..]]).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(log.append(&b"ok"[..]).await.unwrap(), Seq(0));
}

#[tokio::test]
async fn records_whose_sync_failed_never_become_visible_later() {
    // Regression (review of issue 3): a later round (here the close) used to
    // publish the written end, exposing the failed append's records.
    let (log, _) = faulty_log(Faults {
        fail_sync: Some((0, ErrorKind::Other)),
        ..Faults::default()
    });
    assert!(
        log.append_with(Durability::Data, [&b"a"[..], b"b"])
            .await
            .is_err()
    );
    assert!(log.close().await.is_err());
    assert_eq!(log.next_seq(), Seq(0));
}
