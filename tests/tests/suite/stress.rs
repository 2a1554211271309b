//! Goal: readers racing the writer never see a half-written record, a
//! record past the published end, or seqs out of order (RELIABILITY.md R9
//! (c), F14).
//! Method: one writer appends batches of self-checking records (their seq
//! and a CRC of their bytes inside the payload) to a segmented log with
//! small segments, so segments roll and seal under the readers, for
//! `SPOOL_STRESS_SECS` (default 10) seconds; two readers page forward from
//! random seqs and two follow the log with `tail`. Every record is checked:
//! checksum, seq, contiguity, and that it was visible when read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use spool_backends::{SegmentedBackend, SegmentedConfig, SimRng, StdFs};
use spool_engine::{Direction, Log, LogConfig, LogId, Record, Seq, crc32};

/// A payload that proves its own integrity: seq, length, CRC, then bytes.
fn payload(seq: u64) -> Bytes {
    let len = u32::try_from(seq * 7919 % 3000).unwrap();
    let body: Vec<u8> = (0..u64::from(len))
        .map(|i| u8::try_from((seq + i) % 256).unwrap())
        .collect();
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&crc32(&[&body]).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    Bytes::from(out)
}

fn check(record: &Record, who: &str) {
    let p = &record.payload;
    assert!(p.len() >= 16, "{who}: short payload at {}", record.seq);
    let seq = u64::from_le_bytes(p[..8].try_into().unwrap());
    let crc = u32::from_le_bytes(p[8..12].try_into().unwrap());
    let len = u32::from_le_bytes(p[12..16].try_into().unwrap()) as usize;
    assert_eq!(seq, record.seq.0, "{who}: payload of another seq");
    assert_eq!(p.len(), 16 + len, "{who}: torn payload at {}", record.seq);
    assert_eq!(
        crc32(&[&p[16..]]),
        crc,
        "{who}: bad bytes at {}",
        record.seq
    );
}

#[test]
fn one_writer_and_four_readers_never_disagree() {
    let secs: u64 = std::env::var("SPOOL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = SegmentedBackend::open(
        Arc::new(StdFs),
        dir.path(),
        SegmentedConfig {
            segment_bytes: 256 * 1024,
            ..SegmentedConfig::default()
        },
    )
    .unwrap();
    let checked = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let log = Log::open(
            LogId::new("stress").unwrap(),
            Arc::new(backend),
            LogConfig::default(),
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(secs);

        let writer = {
            let log = log.clone();
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut rng = SimRng::new(9);
                let mut next = 0u64;
                while Instant::now() < deadline {
                    let n = rng.below(64) + 1;
                    let batch: Vec<Bytes> = (next..next + n).map(payload).collect();
                    let range = log.append_batch(batch).await.unwrap();
                    assert_eq!(range.start, Seq(next));
                    next = range.end.0;
                }
                stop.store(true, Ordering::Release);
                next
            })
        };

        let mut readers = Vec::new();
        for r in 0..2u64 {
            let (log, stop, checked) = (log.clone(), Arc::clone(&stop), Arc::clone(&checked));
            readers.push(tokio::spawn(pager(log, stop, checked, r)));
        }
        for t in 0..2u64 {
            let (log, stop, checked) = (log.clone(), Arc::clone(&stop), Arc::clone(&checked));
            readers.push(tokio::spawn(tailer(log, stop, checked, t)));
        }
        let written = writer.await.unwrap();
        for (i, reader) in readers.into_iter().enumerate() {
            reader.await.unwrap_or_else(|e| panic!("reader {i}: {e}"));
        }
        assert!(written > 1_000, "the writer wrote only {written} records");
        log.close().await.unwrap();
    });
    let checked = checked.load(Ordering::Relaxed);
    assert!(checked > 10_000, "readers checked only {checked} records");
    println!("R9c: {checked} records checked by 4 readers in {secs} s, 0 violations");
}

/// Pages forward from random seqs until the writer stops.
async fn pager(log: Log, stop: Arc<AtomicBool>, checked: Arc<AtomicU64>, r: u64) {
    let who = format!("pager {r}");
    let mut rng = SimRng::new(100 + r);
    while !stop.load(Ordering::Acquire) {
        let end = log.next_seq();
        let from = Seq(rng.below(end.0 + 1));
        let page = log
            .read_page(&log.cursor_at(from, Direction::Forward), 500)
            .await
            .unwrap();
        let visible = log.next_seq();
        let mut expect = from;
        for record in &page.records {
            assert_eq!(record.seq, expect, "{who}: not contiguous");
            assert!(record.seq < visible, "{who}: read past the published end");
            check(record, &who);
            expect = Seq(expect.0 + 1);
        }
        checked.fetch_add(page.records.len() as u64, Ordering::Relaxed);
    }
}

/// Follows the log from seq 0 until the writer stops and it has all.
async fn tailer(log: Log, stop: Arc<AtomicBool>, checked: Arc<AtomicU64>, t: u64) {
    let who = format!("tailer {t}");
    let mut tail = Box::pin(log.tail(Seq(0)));
    let mut expect = 0u64;
    loop {
        match tokio::time::timeout(Duration::from_millis(200), tail.next()).await {
            Ok(Some(record)) => {
                let record = record.unwrap();
                assert_eq!(record.seq, Seq(expect), "{who}: not contiguous");
                assert!(
                    record.seq < log.next_seq(),
                    "{who}: read past the published end"
                );
                check(&record, &who);
                expect += 1;
                checked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => break,
            Err(_) if stop.load(Ordering::Acquire) && expect == log.next_seq().0 => break,
            Err(_) => {}
        }
    }
}
