//! Criterion benches of the segmented backend through the public `Log` API,
//! each next to the raw limit measured in the same run (`spool_benches::raw`:
//! length + CRC frames through a `BufWriter`, pread/scan reads). Fixed-seed
//! mixed workload; files under `BENCH_DIR` (default: the system temp dir).
//! `SPOOL_BENCH_OPEN_MIB` sets the log size of the open-after-crash bench
//! (default 1024); `SPOOL_BENCH_CURRENT_THREAD=1` runs spool on a
//! current-thread runtime instead of two workers. docs/benchmarks.md says
//! how each group is set up and what bounds it.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spool_backends::{SegmentedBackend, SegmentedConfig, SimRng, StdFs};
use spool_benches::harness::{
    BatchEnd, batches, bench_dir, fresh_timed, percentiles, runtime, write_batches,
};
use spool_benches::raw::{self, RawLog};
use spool_benches::{SEED, mixed_payloads};
use spool_engine::{Backend, Direction, Durability, Log, LogConfig, LogId, NewRecord, Seq};

const RECORDS: usize = 1_024;

fn open_log(rt: &tokio::runtime::Runtime, dir: &tempfile::TempDir, durability: Durability) -> Log {
    let _guard = rt.enter();
    let backend = SegmentedBackend::open(
        Arc::new(StdFs),
        dir.path().join("log"),
        SegmentedConfig::default(),
    )
    .unwrap();
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

/// A new raw log in its own directory (kept alive with it), started the
/// way spool starts a segment: the file created durably (file and directory
/// fsynced), then one record. Both sides thus enter the timed appends from
/// the same file-system state (on ext4, an fsync leaves journal work behind
/// that slows the writes after it), and what is measured is an append to a
/// live log, not the first write of a file's life.
fn fresh_raw() -> (tempfile::TempDir, RawLog) {
    let dir = bench_dir();
    let mut log = RawLog::create(&dir.path().join("raw")).unwrap();
    log.sync().unwrap();
    std::fs::File::open(dir.path()).unwrap().sync_all().unwrap();
    log.append(WARM_UP).unwrap();
    log.flush().unwrap();
    (dir, log)
}

/// Closes a raw log as spool's close does: durably (untimed).
fn close_raw((dir, mut log): (tempfile::TempDir, RawLog)) {
    log.sync().unwrap();
    drop(dir);
}

/// A new spool log in its own directory (kept alive with it), holding one
/// record, like [`fresh_raw`].
fn fresh_log(rt: &tokio::runtime::Runtime, durability: Durability) -> (tempfile::TempDir, Log) {
    let dir = bench_dir();
    let log = open_log(rt, &dir, durability);
    rt.block_on(log.append(WARM_UP)).unwrap();
    (dir, log)
}

/// The record every fresh log starts with.
const WARM_UP: &[u8] = b"{\"warm\":\"up\"}";

/// Closes a spool log (waiting for its final sync), then removes its files.
fn close_log(rt: &tokio::runtime::Runtime, (dir, log): (tempfile::TempDir, Log)) {
    rt.block_on(log.close()).unwrap();
    drop(dir);
}

/// Times appends the way an async application makes them: from a task on
/// the runtime, so the hand-off to the log's writer task and back stays on
/// one worker thread. Each sample is one task that runs `iters` rounds on
/// fresh logs (setup and close untimed); `block_on` from outside the
/// runtime, as the other spool rows do, also pays for waking a worker.
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
    let total = rt
        .block_on(rt.spawn(async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let backend = SegmentedBackend::open(
                    Arc::new(StdFs),
                    root.join(format!("log-{i}")),
                    SegmentedConfig::default(),
                )
                .unwrap();
                let log = Log::open(
                    LogId::new("bench").unwrap(),
                    Arc::new(backend),
                    LogConfig {
                        durability,
                        ..LogConfig::default()
                    },
                )
                .unwrap();
                log.append(WARM_UP).await.unwrap();
                let inputs = batches(&payloads, batch);
                let started = Instant::now();
                for batch in inputs {
                    log.append_batch(batch).await.unwrap();
                }
                total += started.elapsed();
                log.close().await.unwrap();
                std::fs::remove_dir_all(root.join(format!("log-{i}"))).unwrap();
            }
            total
        }))
        .unwrap();
    drop(dir);
    total
}

/// The segmented backend alone, from a task: append 64 and sync, per
/// fresh log (open and close untimed).
fn backend_fsync_timed(rt: &tokio::runtime::Runtime, iters: u64, payloads: &[Bytes]) -> Duration {
    let records: Vec<NewRecord> = payloads
        .iter()
        .map(|p| NewRecord {
            timestamp_ms: 0,
            payload: p.clone(),
        })
        .collect();
    let dir = bench_dir();
    let root = dir.path().to_path_buf();
    rt.block_on(rt.spawn(async move {
        let mut total = Duration::ZERO;
        for i in 0..iters {
            let path = root.join(format!("log-{i}"));
            let backend =
                SegmentedBackend::open(Arc::new(StdFs), &path, SegmentedConfig::default()).unwrap();
            let started = Instant::now();
            let mut next = Seq(0);
            for chunk in records.chunks(64) {
                next = backend.append(next, chunk).await.unwrap().end;
                backend.sync(Durability::Data).await.unwrap();
            }
            total += started.elapsed();
            backend.close().await.unwrap();
            std::fs::remove_dir_all(&path).unwrap();
        }
        total
    }))
    .unwrap()
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let payloads = mixed_payloads(RECORDS, SEED);
    let mut group = c.benchmark_group("append_no_sync");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for batch in [1usize, 64, 1024] {
        group.bench_function(format!("raw_batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                fresh_timed(
                    iters,
                    fresh_raw,
                    |(_, log)| write_batches(log, &payloads, batch, BatchEnd::Flush),
                    close_raw,
                )
            });
        });
        group.bench_function(format!("spool_batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                fresh_timed(
                    iters,
                    || {
                        (
                            fresh_log(&rt, Durability::Buffered),
                            batches(&payloads, batch),
                        )
                    },
                    |((_, log), batches)| {
                        rt.block_on(async {
                            for batch in batches.drain(..) {
                                log.append_batch(batch).await.unwrap();
                            }
                        });
                    },
                    |(state, _)| close_log(&rt, state),
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

    let mut group = c.benchmark_group("append_fsync_per_batch_64");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            fresh_timed(
                iters,
                fresh_raw,
                |(_, log)| write_batches(log, &payloads, 64, BatchEnd::Sync),
                close_raw,
            )
        });
    });
    // The backend alone (no `Log`, no writer task), from a task: what the
    // format and the fsync cost, by difference with the rows around it.
    group.bench_function("backend_in_task", |b| {
        b.iter_custom(|iters| backend_fsync_timed(&rt, iters, &payloads));
    });
    // From a task on the runtime, as for the no-fsync rows (this row sat
    // in the no-fsync group by mistake until 2026-12-02).
    group.bench_function("spool_in_task", |b| {
        b.iter_custom(|iters| in_task_timed(&rt, iters, Durability::Data, &payloads, 64));
    });
    group.bench_function("spool", |b| {
        b.iter_custom(|iters| {
            fresh_timed(
                iters,
                || (fresh_log(&rt, Durability::Data), batches(&payloads, 64)),
                |((_, log), batches)| {
                    rt.block_on(async {
                        for batch in batches.drain(..) {
                            log.append_batch(batch).await.unwrap();
                        }
                    });
                },
                |(state, _)| close_log(&rt, state),
            )
        });
    });
    group.finish();
}

/// The segmented backend alone, without the log's writer task: what the
/// hand-off to the writer costs, by difference with `spool_batch_1024`.
fn backend_append(c: &mut Criterion) {
    let rt = runtime();
    let payloads = mixed_payloads(RECORDS, SEED);
    let mut group = c.benchmark_group("append_no_sync");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("backend_batch_1024", |b| {
        b.iter_custom(|iters| {
            fresh_timed(
                iters,
                || {
                    let dir = bench_dir();
                    let backend = SegmentedBackend::open(
                        Arc::new(StdFs),
                        dir.path().join("log"),
                        SegmentedConfig::default(),
                    )
                    .unwrap();
                    let records: Vec<NewRecord> = payloads
                        .iter()
                        .map(|p| NewRecord {
                            timestamp_ms: 0,
                            payload: p.clone(),
                        })
                        .collect();
                    (dir, backend, records)
                },
                |(_, backend, records)| {
                    rt.block_on(backend.append(Seq(0), records)).unwrap();
                },
                |(dir, backend, _)| {
                    rt.block_on(backend.close()).unwrap();
                    drop(dir);
                },
            )
        });
    });
    group.finish();
}

/// Appends of 1,024 records to one live log per sample: `iters` batches in
/// a row to the same log, segment rolls (and the fsync that seals a full
/// segment) included, against one growing raw file. The steady state of a
/// long-lived log, where the fresh-log groups above measure a new one.
fn live_appends(c: &mut Criterion) {
    let rt = runtime();
    let payloads = mixed_payloads(RECORDS, SEED);
    let mut group = c.benchmark_group("append_no_sync_live_log");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("raw_batch_1024", |b| {
        b.iter_custom(|iters| {
            let (dir, mut log) = fresh_raw();
            let started = Instant::now();
            for _ in 0..iters {
                write_batches(&mut log, &payloads, payloads.len(), BatchEnd::Flush);
            }
            let elapsed = started.elapsed();
            close_raw((dir, log));
            elapsed
        });
    });
    group.bench_function("spool_batch_1024", |b| {
        b.iter_custom(|iters| {
            let state = fresh_log(&rt, Durability::Buffered);
            let inputs: Vec<Vec<Bytes>> = (0..iters).map(|_| payloads.clone()).collect();
            let started = Instant::now();
            rt.block_on(async {
                for batch in inputs {
                    state.1.append_batch(batch).await.unwrap();
                }
            });
            let elapsed = started.elapsed();
            close_log(&rt, state);
            elapsed
        });
    });
    group.finish();
}

/// 16 tasks appending single records: spool's group commit against one raw
/// write + fdatasync per record (Data), and against raw per-record flushes.
fn group_commit(c: &mut Criterion) {
    let rt = runtime();
    let n = 256usize;
    let payloads = mixed_payloads(n, SEED);
    for (name, durability) in [
        ("data", Durability::Data),
        ("buffered", Durability::Buffered),
    ] {
        let mut group = c.benchmark_group(format!("16_tasks_single_appends_{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("raw_per_record", |b| {
            b.iter_custom(|iters| {
                fresh_timed(
                    iters,
                    fresh_raw,
                    |(_, log)| {
                        let end = if durability == Durability::Data {
                            BatchEnd::Sync
                        } else {
                            BatchEnd::Flush
                        };
                        write_batches(log, &payloads, 1, end);
                    },
                    close_raw,
                )
            });
        });
        group.bench_function("spool", |b| {
            b.iter_custom(|iters| {
                fresh_timed(
                    iters,
                    || fresh_log(&rt, durability),
                    |(_, log)| {
                        rt.block_on(async {
                            let tasks: Vec<_> = (0..16)
                                .map(|t| {
                                    let log = log.clone();
                                    let mine: Vec<Bytes> =
                                        payloads.iter().skip(t).step_by(16).cloned().collect();
                                    tokio::spawn(async move {
                                        for p in mine {
                                            log.append(p).await.unwrap();
                                        }
                                    })
                                })
                                .collect();
                            for t in tasks {
                                t.await.unwrap();
                            }
                        });
                    },
                    |state| close_log(&rt, state),
                )
            });
        });
        group.finish();
    }
}

fn reads(c: &mut Criterion) {
    let rt = runtime();
    let n = 20_000usize;
    let payloads = mixed_payloads(n, SEED);
    let dir = bench_dir();
    let raw_path = dir.path().join("raw");
    let mut rawlog = RawLog::create(&raw_path).unwrap();
    write_batches(&mut rawlog, &payloads, payloads.len(), BatchEnd::Sync);
    let raw_offsets = raw::offsets(&raw_path).unwrap();
    let raw_file = std::fs::File::open(&raw_path).unwrap();
    let log = open_log(&rt, &dir, Durability::Buffered);
    rt.block_on(async {
        for chunk in payloads.chunks(1024) {
            log.append_batch(chunk.iter().cloned()).await.unwrap();
        }
        log.sync(Durability::Data).await.unwrap();
    });

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("raw", |b| {
        b.iter(|| assert_eq!(raw::scan(&raw_path).unwrap().len(), n));
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
                assert_eq!(count, n);
            });
        });
    });
    group.finish();

    let mut group = c.benchmark_group("page_of_100_at_random_seq");
    group.throughput(Throughput::Elements(100));
    let mut rng = SimRng::new(SEED);
    group.bench_function("raw", |b| {
        b.iter(|| {
            let at = rng.below((n - 100) as u64) as usize;
            assert_eq!(
                raw::read_span(&raw_file, raw_offsets[at], raw_offsets[at + 100])
                    .unwrap()
                    .len(),
                100
            );
        });
    });
    group.bench_function("spool", |b| {
        b.iter(|| {
            let at = rng.below((n - 100) as u64);
            let cursor = log.cursor_at(Seq(at), Direction::Forward);
            assert_eq!(
                rt.block_on(log.read_page(&cursor, 100))
                    .unwrap()
                    .records
                    .len(),
                100
            );
        });
    });
    group.finish();

    page_latency(&rt, &log, &raw_file, &raw_offsets, n);
}

/// Criterion reports means; the page target is on the tail. Times 10,000
/// pages one by one, each at a random seq, and prints the percentiles.
fn page_latency(
    rt: &tokio::runtime::Runtime,
    log: &Log,
    raw_file: &std::fs::File,
    raw_offsets: &[u64],
    n: usize,
) {
    // Criterion reports means; the target is on the tail. Time 10,000 pages
    // one by one, each at a random seq, and print the percentiles.
    let mut rng = SimRng::new(SEED ^ 1);
    let samples = 10_000;
    let mut raw_times = Vec::with_capacity(samples);
    let mut spool_times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let at = rng.below((n - 100) as u64);
        let started = Instant::now();
        let pages = raw::read_span(
            raw_file,
            raw_offsets[at as usize],
            raw_offsets[at as usize + 100],
        )
        .unwrap();
        raw_times.push(started.elapsed());
        assert_eq!(pages.len(), 100);
        let cursor = log.cursor_at(Seq(at), Direction::Forward);
        let started = Instant::now();
        let page = rt.block_on(log.read_page(&cursor, 100)).unwrap();
        spool_times.push(started.elapsed());
        assert_eq!(page.records.len(), 100);
    }
    let (raw_p, spool_p) = (percentiles(&mut raw_times), percentiles(&mut spool_times));
    eprintln!(
        "page_of_100_at_random_seq latency over {samples} pages: \
         raw p50 {:?} p99 {:?} p99.9 {:?}; spool p50 {:?} p99 {:?} p99.9 {:?}; \
         spool/raw p99 = {:.2}",
        raw_p[0],
        raw_p[1],
        raw_p[2],
        spool_p[0],
        spool_p[1],
        spool_p[2],
        spool_p[1].as_secs_f64() / raw_p[1].as_secs_f64()
    );
}

/// Open after a crash: a log of `SPOOL_BENCH_OPEN_MIB` MiB abandoned without
/// close; each iteration opens it (recovering the active segment) and drops it.
fn open_after_crash(c: &mut Criterion) {
    let mib: u64 = std::env::var("SPOOL_BENCH_OPEN_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = bench_dir();
    let path: PathBuf = dir.path().join("log");
    let rt = runtime();
    let payloads = mixed_payloads(4096, SEED);
    rt.block_on(async {
        let b = SegmentedBackend::open(Arc::new(StdFs), &path, SegmentedConfig::default()).unwrap();
        let mut written = 0u64;
        let mut next = Seq(0);
        while written < mib << 20 {
            let batch: Vec<NewRecord> = payloads
                .iter()
                .map(|p| NewRecord {
                    timestamp_ms: 0,
                    payload: p.clone(),
                })
                .collect();
            written += batch
                .iter()
                .map(|r| r.payload.len() as u64 + 32)
                .sum::<u64>();
            next = b.append(next, &batch).await.unwrap().end;
        }
        // Abandoned without close: the next open recovers.
    });
    let mut group = c.benchmark_group("open_after_crash");
    group.throughput(Throughput::Bytes(mib << 20));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("{mib}_MiB"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let log =
                    SegmentedBackend::open(Arc::new(StdFs), &path, SegmentedConfig::default())
                        .unwrap();
                total += started.elapsed();
                assert!(log.next_seq().0 > 0);
                drop(log);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    appends,
    live_appends,
    backend_append,
    group_commit,
    reads,
    open_after_crash
);
criterion_main!(benches);
