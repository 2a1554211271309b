//! Goal: the log's writer protocol keeps its promises under any
//! interleaving of appenders, expected-seq appenders, syncs and a tailer
//! (RELIABILITY.md R9 (b)).
//! Method: shuttle's PCT scheduler runs the scenario 10,000 times (depth
//! 3), each time choosing which task runs at every await; the engine's
//! spawn and yield go to shuttle under `--cfg spool_shuttle` (this binary
//! is empty otherwise). Checked: seqs are dense and unique across all
//! acknowledged appends, each appender's seqs rise, a conflicting expected
//! append stores nothing, the log reads back exactly what was acknowledged,
//! and the tailer sees a contiguous prefix of it.
#![cfg(spool_shuttle)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use futures::StreamExt;
use shuttle::future::{block_on, spawn};
use spool_backends::MemoryBackend;
use spool_engine::{Durability, Error, Log, LogConfig, LogId, ReadRange, Seq};

fn scenario() {
    block_on(async {
        let backend = MemoryBackend::new();
        let log = Log::open(
            LogId::new("shuttle").unwrap(),
            Arc::new(backend.clone()),
            LogConfig::default(),
        )
        .unwrap();
        let appenders: Vec<_> = (0..2u8)
            .map(|a| {
                let log = log.clone();
                spawn(async move {
                    let mut seqs = Vec::new();
                    for i in 0..2u8 {
                        let payload = vec![a, i];
                        let seq = if i == 1 {
                            log.append_with(Durability::Data, [payload])
                                .await
                                .unwrap()
                                .start
                        } else {
                            log.append(payload).await.unwrap()
                        };
                        seqs.push((seq, vec![a, i]));
                    }
                    seqs
                })
            })
            .collect();
        // An expected-seq appender that always expects seq 0: it wins only
        // if it runs first, and a loss stores nothing.
        let expecting = {
            let log = log.clone();
            spawn(async move {
                match log.append_expecting(Seq(0), [vec![9u8]]).await {
                    Ok(range) => Some(range.start),
                    Err(Error::Conflict { .. }) => None,
                    Err(e) => panic!("{e}"),
                }
            })
        };
        let tailer = {
            let log = log.clone();
            spawn(async move {
                let mut tail = Box::pin(log.tail(Seq(0)));
                let mut got = Vec::new();
                while got.len() < 2 {
                    got.push(tail.next().await.unwrap().unwrap());
                }
                got
            })
        };
        let mut acked = Vec::new();
        for a in appenders {
            let seqs = a.await.unwrap();
            assert!(
                seqs.windows(2).all(|w| w[0].0 < w[1].0),
                "an appender's seqs rise"
            );
            acked.extend(seqs);
        }
        if let Some(seq) = expecting.await.unwrap() {
            assert_eq!(seq, Seq(0));
            acked.push((seq, vec![9]));
        }
        acked.sort();
        let seqs: Vec<u64> = acked.iter().map(|(s, _)| s.0).collect();
        assert_eq!(
            seqs,
            (0..acked.len() as u64).collect::<Vec<_>>(),
            "dense and unique"
        );
        assert_eq!(log.next_seq(), Seq(acked.len() as u64));
        let stored = spool_engine::Backend::read(&backend, ReadRange::all_from(Seq(0)))
            .await
            .unwrap();
        let stored: Vec<(Seq, Vec<u8>)> = stored
            .into_iter()
            .map(|r| (r.seq, r.payload.to_vec()))
            .collect();
        assert_eq!(stored, acked, "the log holds exactly what was acknowledged");
        let tailed = tailer.await.unwrap();
        for (record, (seq, payload)) in tailed.iter().zip(&acked) {
            assert_eq!(
                (record.seq, record.payload.to_vec()),
                (*seq, payload.clone())
            );
        }
        log.close().await.unwrap();
    });
}

#[test]
fn the_writer_protocol_holds_under_pct_schedules() {
    shuttle::check_pct(scenario, 10_000, 3);
}
