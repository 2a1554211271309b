//! A child process for the real-process suites (RELIABILITY.md R8, R10,
//! R11, R17).
//!
//! - `write DIR`: opens the segmented log in DIR as its writer and appends
//!   deterministic batches forever, printing the acknowledged end seq after
//!   each one, until killed.
//! - `lock DIR MILLIS`: tries to open DIR as writer; prints `writer` (and
//!   holds the lock MILLIS ms) or `locked`.
//! - `sigbus DIR`: writes a log, reads a record of a sealed (mapped) segment,
//!   then truncates that segment *as an outside process would* and touches
//!   the record: the documented outcome is death by SIGBUS.
//! - `golden DIR`: writes the format-v1 golden log of
//!   `tests/fixtures/segmented-v1` (see `tests/fixtures/regenerate.sh`) and
//!   prints its records as `seq timestamp_ms hex(payload)` lines.
//! - `jetstream-race URLS STREAM LOG NAME N REPLICAS`: appends to a JetStream
//!   log (URLS comma-separated, the stream made with REPLICAS) with
//!   `append_expecting`, one record (`NAME-i`) per seq it believes is next,
//!   until it has won N seqs; prints `won SEQ` for each, and learns the true
//!   end from every `Conflict`.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use spool_backends::{JsonlBackend, JsonlConfig, SegmentedBackend, SegmentedConfig, StdFs};
use spool_engine::{Backend, Durability, Error, NewRecord, ReadRange, Seq};
use spool_tests::child::{BATCH, record};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(2).cloned().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.get(1).map(String::as_str) {
        Some("write") => runtime.block_on(write_forever(&dir)),
        Some("lock") => lock(&dir, args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0)),
        Some("jsonl-lock") => {
            jsonl_lock(&dir, args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0));
        }
        Some("sigbus") => runtime.block_on(sigbus(&dir)),
        Some("golden") => runtime.block_on(golden(&dir)),
        Some("jetstream-race") => runtime.block_on(jetstream_race(&args[2..])),
        _ => {
            eprintln!(
                "usage: spool-test-child write DIR | lock DIR MILLIS | jsonl-lock FILE MILLIS | sigbus DIR | golden DIR | jetstream-race URLS STREAM LOG NAME N REPLICAS"
            );
            std::process::exit(2);
        }
    }
}

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 64 * 1024,
        ..SegmentedConfig::default()
    }
}

async fn append_batch(log: &SegmentedBackend, next: Seq) -> Seq {
    let batch: Vec<NewRecord> = (next.0..next.0 + BATCH).map(record).collect();
    log.append(next, &batch).await.expect("append").end
}

async fn write_forever(dir: &str) {
    let log = SegmentedBackend::open(Arc::new(StdFs), dir, config()).expect("open");
    let mut stdout = std::io::stdout().lock();
    // Recovery is done: the parent may now aim its kill at the appends.
    writeln!(stdout, "ready").unwrap();
    stdout.flush().unwrap();
    let mut next = log.next_seq();
    loop {
        next = append_batch(&log, next).await;
        writeln!(stdout, "{}", next.0).unwrap();
        stdout.flush().unwrap();
    }
}

fn lock(dir: &str, hold_ms: u64) {
    match SegmentedBackend::open(Arc::new(StdFs), dir, config()) {
        Ok(_log) => {
            println!("writer");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_millis(hold_ms));
        }
        Err(Error::Locked { .. }) => println!("locked"),
        Err(e) => println!("error {e}"),
    }
}

/// Like `lock`, for a JSONL file: its writer locks the file itself.
fn jsonl_lock(file: &str, hold_ms: u64) {
    match JsonlBackend::open(Arc::new(StdFs), file, JsonlConfig::owned()) {
        Ok(_log) => {
            println!("writer");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_millis(hold_ms));
        }
        Err(Error::Locked { .. }) => println!("locked"),
        Err(e) => println!("error {e}"),
    }
}

async fn sigbus(dir: &str) {
    let log = SegmentedBackend::open(Arc::new(StdFs), dir, config()).expect("open");
    let mut next = log.next_seq();
    while next.0 < 2_000 {
        next = append_batch(&log, next).await;
    }
    let held = log
        .read(ReadRange {
            from: Seq(1),
            to: Seq(2),
            max_records: 1,
            max_bytes: usize::MAX,
        })
        .await
        .expect("read");
    let segment = std::path::Path::new(dir).join("00000000000000000000.seg");
    // What no one may do to a live log: shrink a sealed segment.
    std::fs::OpenOptions::new()
        .write(true)
        .open(segment)
        .unwrap()
        .set_len(0)
        .unwrap();
    let sum: u64 = held[0].payload.iter().map(|b| u64::from(*b)).sum();
    println!("survived {sum}");
}

async fn golden(dir: &str) {
    let config = SegmentedConfig {
        segment_bytes: 4096,
        ..SegmentedConfig::default()
    };
    let log = SegmentedBackend::open(Arc::new(StdFs), dir, config).expect("open");
    let mut out = String::new();
    for start in (0..120u64).step_by(4) {
        let batch: Vec<NewRecord> = (start..start + 4)
            .map(|i| NewRecord {
                timestamp_ms: 1_700_000_000_000 + i64::try_from(i).unwrap(),
                ..record(i)
            })
            .collect();
        log.append(Seq(start), &batch).await.expect("append");
        for (i, r) in (start..).zip(&batch) {
            let _ = write!(out, "{i} {} ", r.timestamp_ms);
            for b in &r.payload {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\n');
        }
    }
    log.sync(Durability::Data).await.expect("sync");
    log.close().await.expect("close");
    print!("{out}");
}

async fn jetstream_race(args: &[String]) {
    let [urls, stream, log, name, n, replicas] = args else {
        panic!("jetstream-race URLS STREAM LOG NAME N REPLICAS");
    };
    let n: usize = n.parse().unwrap();
    let urls = urls.split(',').map(str::to_owned).collect();
    let js = spool_tests::nats::connect(urls, stream, replicas.parse().unwrap()).await;
    let id = spool_engine::LogId::new(log.as_str()).unwrap();
    let backend = spool_backends::JetStreamBackend::open(&js, &id)
        .await
        .unwrap();
    let log =
        spool_engine::Log::open(id, Arc::new(backend), spool_engine::LogConfig::default()).unwrap();
    let mut next = log.next_seq();
    let mut won = 0;
    let mut out = std::io::stdout().lock();
    while won < n {
        let payload = bytes::Bytes::from(format!("{name}-{won}"));
        match log.append_expecting(next, vec![payload]).await {
            Ok(range) => {
                writeln!(out, "won {}", range.start.0).unwrap();
                out.flush().unwrap();
                won += 1;
                next = range.end;
            }
            Err(Error::Conflict { actual, .. }) => next = actual,
            Err(e) => panic!("{name}: {e}"),
        }
    }
    log.close().await.unwrap();
}
