//! A child process for the real-process suites (RELIABILITY.md R8, R10).
//!
//! `spool-test-child write DIR`: opens the segmented log in DIR as its writer
//! and appends deterministic batches forever, printing the acknowledged end
//! seq after each one, until killed.
//! `spool-test-child lock DIR MILLIS`: tries to open DIR as writer; prints
//! `writer` (and holds the lock MILLIS ms) or `locked`.
//! `spool-test-child sigbus DIR`: writes a log, reads a record of a sealed
//! (mapped) segment, then truncates that segment *as an outside process
//! would* and touches the record: the documented outcome is death by SIGBUS.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use spool_backends::{SegmentedBackend, SegmentedConfig, StdFs};
use spool_engine::{Backend, Error, NewRecord, ReadRange, Seq};
use spool_tests::child::{BATCH, record};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = SegmentedConfig {
        segment_bytes: 64 * 1024,
        ..SegmentedConfig::default()
    };
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let log = SegmentedBackend::open(Arc::new(StdFs), &args[2], config).expect("open");
            let mut stdout = std::io::stdout().lock();
            runtime.block_on(async {
                let mut next = log.next_seq();
                loop {
                    let batch: Vec<NewRecord> = (next.0..next.0 + BATCH).map(record).collect();
                    next = log.append(next, &batch).await.expect("append").end;
                    writeln!(stdout, "{}", next.0).unwrap();
                    stdout.flush().unwrap();
                }
            });
        }
        Some("lock") => {
            let hold: u64 = args[3].parse().unwrap();
            match SegmentedBackend::open(Arc::new(StdFs), &args[2], config) {
                Ok(_log) => {
                    println!("writer");
                    std::io::stdout().flush().unwrap();
                    std::thread::sleep(Duration::from_millis(hold));
                }
                Err(Error::Locked { .. }) => println!("locked"),
                Err(e) => println!("error {e}"),
            }
        }
        Some("sigbus") => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let log = SegmentedBackend::open(Arc::new(StdFs), &args[2], config).expect("open");
            runtime.block_on(async {
                let mut next = log.next_seq();
                while next.0 < 2_000 {
                    let batch: Vec<NewRecord> = (next.0..next.0 + BATCH).map(record).collect();
                    next = log.append(next, &batch).await.expect("append").end;
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
                let segment = std::path::Path::new(&args[2]).join("00000000000000000000.seg");
                // What no one may do to a live log: shrink a sealed segment.
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(segment)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                let sum: u64 = held[0].payload.iter().map(|b| u64::from(*b)).sum();
                println!("survived {sum}");
            });
        }
        _ => {
            eprintln!("usage: spool-test-child write DIR | lock DIR MILLIS");
            std::process::exit(2);
        }
    }
}
