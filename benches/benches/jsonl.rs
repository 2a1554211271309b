//! Criterion benches of the JSONL backend through the public `Log` API,
//! next to the plain JSONL baselines of the same run
//! (`spool_benches::plain`): a `BufWriter` flushed per batch, the
//! Codex-style writer (serialize, write and flush per line), a `BufReader`
//! scan, a memchr line index, and pread pages from that index. Fixed-seed
//! mixed workload; files under `BENCH_DIR`. docs/benchmarks.md says what
//! bounds each number.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spool_backends::{JsonlBackend, JsonlConfig, SimRng, StdFs};
use spool_benches::harness::{
    BatchEnd, batches, bench_dir, fresh_timed, percentiles, runtime, write_batches,
};
use spool_benches::plain::{self, PlainJsonl};
use spool_benches::{SEED, mixed_events, mixed_payloads};
use spool_engine::{Direction, Durability, Log, LogConfig, LogId, Seq};

const RECORDS: usize = 1_024;
const READ_RECORDS: usize = 20_000;

fn open_log(path: &Path, config: JsonlConfig, durability: Durability) -> Log {
    let backend = JsonlBackend::open(Arc::new(StdFs), path, config).unwrap();
    Log::open(
        LogId::new("bench").unwrap(),
        Arc::new(backend),
        LogConfig {
            durability,
            ..LogConfig::default()
        },
    )
    .unwrap()
}

/// Appends from a task on the runtime (as an async application does), one
/// fresh log per iteration; setup and close untimed.
fn in_task_timed(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    durability: Durability,
    payloads: &[Bytes],
    batch: usize,
) -> Duration {
    let payloads = payloads.to_vec();
    let dir = bench_dir();
    let root = dir.path().to_path_buf();
    rt.block_on(rt.spawn(async move {
        let mut total = Duration::ZERO;
        for i in 0..iters {
            let path = root.join(format!("{i}.jsonl"));
            let log = open_log(&path, JsonlConfig::owned(), durability);
            let inputs = batches(&payloads, batch);
            let started = Instant::now();
            for batch in inputs {
                log.append_batch(batch).await.unwrap();
            }
            total += started.elapsed();
            log.close().await.unwrap();
            std::fs::remove_file(&path).unwrap();
        }
        total
    }))
    .unwrap()
}

fn fresh_plain() -> (tempfile::TempDir, PlainJsonl) {
    let dir = bench_dir();
    let file = PlainJsonl::create(&dir.path().join("plain.jsonl")).unwrap();
    (dir, file)
}

fn close_plain((dir, mut file): (tempfile::TempDir, PlainJsonl)) {
    file.sync().unwrap();
    drop(dir);
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let payloads = mixed_payloads(RECORDS, SEED);
    let events = mixed_events(RECORDS, SEED);
    let mut group = c.benchmark_group("jsonl_append_no_sync");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("codex_style", |b| {
        b.iter_custom(|iters| {
            fresh_timed(
                iters,
                fresh_plain,
                |(_, file)| {
                    for event in &events {
                        file.append_codex_style(event).unwrap();
                    }
                },
                close_plain,
            )
        });
    });
    for batch in [1usize, 64, 1024] {
        group.bench_function(format!("plain_batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                fresh_timed(
                    iters,
                    fresh_plain,
                    |(_, file)| write_batches(file, &payloads, batch, BatchEnd::Flush),
                    close_plain,
                )
            });
        });
        group.bench_function(format!("spool_in_task_batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                in_task_timed(&rt, iters, Durability::Buffered, &payloads, batch)
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("jsonl_append_fsync_per_batch_64");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("plain", |b| {
        b.iter_custom(|iters| {
            fresh_timed(
                iters,
                fresh_plain,
                |(_, file)| write_batches(file, &payloads, 64, BatchEnd::Sync),
                close_plain,
            )
        });
    });
    group.bench_function("spool_in_task", |b| {
        b.iter_custom(|iters| in_task_timed(&rt, iters, Durability::Data, &payloads, 64));
    });
    group.finish();
}

fn reads(c: &mut Criterion) {
    let rt = runtime();
    let payloads = mixed_payloads(READ_RECORDS, SEED);
    let dir = bench_dir();
    let plain_path = dir.path().join("plain.jsonl");
    let mut file = PlainJsonl::create(&plain_path).unwrap();
    write_batches(&mut file, &payloads, payloads.len(), BatchEnd::Sync);
    drop(file);
    // The same bytes, as spool's log (no sidecar: open scans).
    let path = dir.path().join("log.jsonl");
    std::fs::copy(&plain_path, &path).unwrap();
    let scanning = JsonlConfig {
        sidecar: spool_backends::SidecarIndex::None,
        ..JsonlConfig::owned()
    };
    let with_sidecar = JsonlConfig {
        sidecar_min_bytes: 0,
        ..JsonlConfig::owned()
    };
    // Write the sidecar once.
    drop(JsonlBackend::open(Arc::new(StdFs), &path, with_sidecar.clone()).unwrap());

    let mut group = c.benchmark_group("jsonl_open");
    group.throughput(Throughput::Elements(READ_RECORDS as u64));
    group.bench_function("plain_index", |b| {
        b.iter(|| assert_eq!(plain::index(&plain_path).unwrap().len(), READ_RECORDS + 1));
    });
    for (name, config) in [("spool_scan", &scanning), ("spool_sidecar", &with_sidecar)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let log =
                    JsonlBackend::open_read_only(Arc::new(StdFs), &path, config.clone()).unwrap();
                assert_eq!(
                    spool_engine::Backend::next_seq(&log),
                    Seq(READ_RECORDS as u64)
                );
            });
        });
    }
    group.finish();

    let log = {
        let _guard = rt.enter();
        open_log(&path, with_sidecar, Durability::Buffered)
    };
    let mut group = c.benchmark_group("jsonl_scan");
    group.throughput(Throughput::Elements(READ_RECORDS as u64));
    group.bench_function("plain_bufreader", |b| {
        b.iter(|| assert_eq!(plain::scan(&plain_path).unwrap().len(), READ_RECORDS));
    });
    group.bench_function("spool", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut count = 0;
                let mut cursor = Some(log.first_cursor());
                while let Some(c) = cursor {
                    let page = log.read_page(&c, 10_000).await.unwrap();
                    count += page.records.len();
                    cursor = page.next;
                }
                assert_eq!(count, READ_RECORDS);
            });
        });
    });
    group.finish();

    let starts = plain::index(&plain_path).unwrap();
    let plain_file = std::fs::File::open(&plain_path).unwrap();
    let mut group = c.benchmark_group("jsonl_page_of_100_at_random_seq");
    group.throughput(Throughput::Elements(100));
    let mut rng = SimRng::new(SEED);
    group.bench_function("plain_pread", |b| {
        b.iter(|| {
            let at = rng.below((READ_RECORDS - 100) as u64) as usize;
            let lines = plain::read_lines(&plain_file, starts[at], starts[at + 100]).unwrap();
            assert_eq!(lines.len(), 100);
        });
    });
    group.bench_function("spool", |b| {
        b.iter(|| {
            let at = rng.below((READ_RECORDS - 100) as u64);
            let cursor = log.cursor_at(Seq(at), Direction::Forward);
            let page = rt.block_on(log.read_page(&cursor, 100)).unwrap();
            assert_eq!(page.records.len(), 100);
        });
    });
    group.finish();

    page_latency(&rt, &log, &plain_file, &starts);
    rt.block_on(log.close()).unwrap();
}

/// Criterion reports means; the tail matters for pages. Times 10,000 pages
/// one at a time, each at a random seq, and prints p50 and p99.
fn page_latency(
    rt: &tokio::runtime::Runtime,
    log: &Log,
    plain_file: &std::fs::File,
    starts: &[u64],
) {
    let mut rng = SimRng::new(SEED ^ 1);
    let (mut plain_times, mut spool_times) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let at = rng.below((READ_RECORDS - 100) as u64);
        let i = at as usize;
        let started = Instant::now();
        let lines = plain::read_lines(plain_file, starts[i], starts[i + 100]).unwrap();
        plain_times.push(started.elapsed());
        assert_eq!(lines.len(), 100);
        let cursor = log.cursor_at(Seq(at), Direction::Forward);
        let started = Instant::now();
        let page = rt.block_on(log.read_page(&cursor, 100)).unwrap();
        spool_times.push(started.elapsed());
        assert_eq!(page.records.len(), 100);
    }
    let (p, s) = (percentiles(&mut plain_times), percentiles(&mut spool_times));
    eprintln!(
        "jsonl page of 100 latency over 10,000 pages: plain p50 {:?} p99 {:?}; \
         spool p50 {:?} p99 {:?}; spool/plain p99 = {:.2}",
        p[0],
        p[1],
        s[0],
        s[1],
        s[1].as_secs_f64() / p[1].as_secs_f64()
    );
}

criterion_group!(benches, appends, reads);
criterion_main!(benches);
