//! Goal: dropping an `append` future at any await point never tears a batch
//! and never wedges the log (RELIABILITY.md R16). Method: poll an atomic
//! batch append k times (k = 0, 1, 2, …), letting the writer run between
//! polls, drop it, then check that every batch in the log is whole and the
//! next operation completes.

use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use spool_engine::{Durability, LogConfig, Seq};

use crate::memory_log;

#[tokio::test]
async fn a_dropped_append_is_whole_or_absent_and_the_log_keeps_working() {
    for durability in [Durability::Buffered, Durability::Data] {
        let config = LogConfig {
            durability,
            ..LogConfig::default()
        };
        let (log, _) = memory_log(config);
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut completed = 0u64;
        for k in 0..8u8 {
            let batch = [vec![k, 0], vec![k, 1], vec![k, 2]];
            {
                let mut append = pin!(log.append_batch(batch));
                for _ in 0..k {
                    if let Poll::Ready(result) = append.as_mut().poll(&mut cx) {
                        result.unwrap();
                        completed += 1;
                        break;
                    }
                    // Let the writer task make progress between polls.
                    tokio::task::yield_now().await;
                }
            } // dropped here, possibly mid-flight
            let synced =
                tokio::time::timeout(Duration::from_secs(5), log.sync(Durability::Buffered))
                    .await
                    .expect("log wedged after a dropped append");
            synced.unwrap();
        }
        let page = log.read_page(&log.first_cursor(), 1_000).await.unwrap();
        assert_eq!(
            page.records.len() % 3,
            0,
            "a batch was torn: {:?}",
            page.records
        );
        for batch in page.records.chunks(3) {
            let k = batch[0].payload[0];
            for (i, r) in batch.iter().enumerate() {
                assert_eq!(
                    r.payload.as_ref(),
                    &[k, u8::try_from(i).unwrap()],
                    "torn or mixed batch"
                );
            }
        }
        // Batches that completed are certainly there; dropped ones may be.
        assert!(page.records.len() as u64 >= completed * 3);
        assert_eq!(
            log.append(&b"after"[..]).await.unwrap(),
            Seq(page.records.len() as u64)
        );
    }
}
