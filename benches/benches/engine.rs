//! Criterion benches of the engine's hot paths: CRC, frame encode/decode,
//! codecs, and the in-memory log through the public `Log` API. Every group
//! sets its throughput and uses the fixed-seed mixed workload; each has a raw
//! baseline (a plain copy) to read the ratios against.

// A bench that hits an error must stop loudly; missing docs on criterion's
// generated items are not ours to write.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use spool_backends::MemoryBackend;
use spool_benches::{BenchEvent, SEED, mixed_events, mixed_payloads};
use spool_engine::{Codec, CodecKind, Json, Log, LogConfig, LogId, MsgPack, Seq, crc32, frame};

const RECORDS: usize = 1_024;

fn total_bytes(payloads: &[Bytes]) -> u64 {
    payloads.iter().map(|p| p.len() as u64).sum()
}

fn json_frame(i: usize, payload: &[u8]) -> frame::Frame<'_> {
    frame::Frame {
        seq: Seq(i as u64),
        timestamp_ms: 0,
        codec: CodecKind::Json,
        batch_continues: false,
        payload,
    }
}

fn checksum(c: &mut Criterion) {
    let mut group = c.benchmark_group("crc32");
    for size in [64usize, 4 << 10, 1 << 20] {
        let data = vec![0xA5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}B"), |b| {
            b.iter(|| crc32(&[black_box(&data)]));
        });
    }
    group.finish();
}

fn frames(c: &mut Criterion) {
    let payloads = mixed_payloads(RECORDS, SEED);
    let mut encoded = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        frame::encode_into(&mut encoded, &json_frame(i, p)).unwrap();
    }
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Bytes(total_bytes(&payloads)));
    group.bench_function("raw_copy_baseline", |b| {
        let mut out = Vec::with_capacity(encoded.len());
        b.iter(|| {
            out.clear();
            for p in &payloads {
                out.extend_from_slice(p);
            }
            black_box(out.len())
        });
    });
    group.bench_function("encode_mixed", |b| {
        let mut out = Vec::with_capacity(encoded.len());
        b.iter(|| {
            out.clear();
            for (i, p) in payloads.iter().enumerate() {
                frame::encode_into(&mut out, &json_frame(i, p)).unwrap();
            }
            black_box(out.len())
        });
    });
    group.bench_function("decode_mixed", |b| {
        b.iter(|| {
            let (frames, damage) = frame::decode_all(black_box(&encoded), 1 << 20);
            assert!(damage.is_none());
            black_box(frames.len())
        });
    });
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let events = mixed_events(RECORDS, SEED);
    let json: Vec<Bytes> = events
        .iter()
        .map(|e| <Json as Codec<BenchEvent>>::encode(e).unwrap())
        .collect();
    let msgpack: Vec<Bytes> = events
        .iter()
        .map(|e| <MsgPack as Codec<BenchEvent>>::encode(e).unwrap())
        .collect();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("json_encode", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| <Json as Codec<BenchEvent>>::encode(e).unwrap().len())
                .sum::<usize>()
        });
    });
    group.bench_function("json_decode", |b| {
        b.iter(|| {
            json.iter()
                .map(|p| <Json as Codec<BenchEvent>>::decode(p).unwrap().n)
                .sum::<u64>()
        });
    });
    group.bench_function("msgpack_encode", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| <MsgPack as Codec<BenchEvent>>::encode(e).unwrap().len())
                .sum::<usize>()
        });
    });
    group.bench_function("msgpack_decode", |b| {
        b.iter(|| {
            msgpack
                .iter()
                .map(|p| <MsgPack as Codec<BenchEvent>>::decode(p).unwrap().n)
                .sum::<u64>()
        });
    });
    group.finish();
}

fn memory_log(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let payloads = mixed_payloads(RECORDS, SEED);
    let open = || {
        let _guard = runtime.enter();
        Log::open(
            LogId::new("bench").unwrap(),
            Arc::new(MemoryBackend::new()),
            LogConfig::default(),
        )
        .unwrap()
    };
    let mut group = c.benchmark_group("memory_log");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("append_batch_1024", |b| {
        b.iter_batched(
            open,
            |log| {
                runtime
                    .block_on(async { log.append_batch(payloads.iter().cloned()).await.unwrap() })
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("append_batch_1", |b| {
        b.iter_batched(
            open,
            |log| {
                runtime.block_on(async {
                    for p in &payloads {
                        log.append(p.clone()).await.unwrap();
                    }
                });
            },
            BatchSize::SmallInput,
        );
    });
    let full = open();
    runtime
        .block_on(full.append_batch(payloads.iter().cloned()))
        .unwrap();
    group.bench_function("scan_pages_of_100", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut n = 0;
                let mut cursor = Some(full.first_cursor());
                while let Some(c) = cursor {
                    let page = full.read_page(&c, 100).await.unwrap();
                    n += page.records.len();
                    cursor = page.next;
                }
                assert_eq!(n, RECORDS);
            });
        });
    });
    group.finish();
}

criterion_group!(benches, checksum, frames, codecs, memory_log);
criterion_main!(benches);
