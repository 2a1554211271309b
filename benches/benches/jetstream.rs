//! Criterion benches of the JetStream backend through the public `Log`
//! API, on one `nats-server` and on a 3-node loopback cluster with a
//! replicated stream (R=3), both started by the bench (8 MiB `max_payload`,
//! so a batch of 1,024 workload records is one message). Fixed-seed mixed
//! workload, the same as the local backends'. Groups: appends at batch
//! 1/64/1024 (each acknowledged by a quorum: JetStream has no weaker ack),
//! a full scan by a fresh reader, and a page of 100 at a random cursor.
//! docs/benchmarks.md says what bounds them: one round trip per batch
//! (publish, then the quorum's ack) and one per message read.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spool_backends::{JetStream, JetStreamBackend, JetStreamConfig, SimRng};
use spool_benches::harness::runtime;
use spool_benches::{SEED, mixed_payloads};
use spool_engine::{Direction, Log, LogConfig, LogId, Seq};
use spool_tests::nats::{NatsCluster, NatsServer, connect_with};

/// Records in the log the read groups use.
const READ_RECORDS: usize = 10_240;
const MAX_PAYLOAD: usize = 8 << 20;

/// The servers of one setup, alive as long as it is measured.
#[expect(
    dead_code,
    reason = "held so that the servers outlive the measurements"
)]
enum Servers {
    One(NatsServer),
    Three(NatsCluster),
}

fn start(replicas: usize) -> Option<(Servers, Vec<String>)> {
    if replicas == 1 {
        let server = NatsServer::start("the JetStream benches", Some(MAX_PAYLOAD))?;
        let urls = vec![server.url()];
        Some((Servers::One(server), urls))
    } else {
        let cluster = NatsCluster::start("the JetStream benches", 3, Some(MAX_PAYLOAD))?;
        let urls = cluster.urls();
        Some((Servers::Three(cluster), urls))
    }
}

async fn open(js: &JetStream, id: &str) -> Log {
    let backend = JetStreamBackend::open(js, &LogId::new(id).unwrap())
        .await
        .unwrap();
    Log::open(
        LogId::new(id).unwrap(),
        Arc::new(backend),
        LogConfig::default(),
    )
    .unwrap()
}

fn setup(c: &mut Criterion, replicas: usize) {
    let Some((_servers, urls)) = start(replicas) else {
        return;
    };
    let rt = runtime();
    let mut config = JetStreamConfig::new(urls, "bench");
    config.replicas = replicas;
    let js = rt.block_on(connect_with(config));
    let name = if replicas == 1 { "single" } else { "r3" };
    let payloads = mixed_payloads(READ_RECORDS, SEED);
    let mut logs = 0u64;

    let mut group = c.benchmark_group(format!("jetstream_{name}/append"));
    for batch in [1usize, 64, 1024] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                logs += 1;
                let (js, payloads) = (js.clone(), payloads.clone());
                let id = format!("append-{logs}");
                rt.block_on(async move {
                    let log = open(&js, &id).await;
                    let mut took = Duration::ZERO;
                    for i in 0..iters as usize {
                        let start = (i * batch) % (READ_RECORDS - batch);
                        let chunk = payloads[start..start + batch].to_vec();
                        let began = Instant::now();
                        log.append_batch(chunk).await.unwrap();
                        took += began.elapsed();
                    }
                    log.close().await.unwrap();
                    took
                })
            });
        });
    }
    group.finish();

    let read_js = js.clone();
    let total: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    rt.block_on(async {
        let log = open(&read_js, "reads").await;
        for chunk in payloads.chunks(1024) {
            log.append_batch(chunk.to_vec()).await.unwrap();
        }
        log.close().await.unwrap();
    });
    let mut group = c.benchmark_group(format!("jetstream_{name}/read"));
    group.throughput(Throughput::Bytes(total));
    group.bench_function("scan", |b| {
        b.iter(|| {
            rt.block_on(async {
                // A fresh reader each time: nothing remembered from the last.
                let log = open(&read_js, "reads").await;
                let mut cursor = Some(log.first_cursor());
                let mut n = 0;
                while let Some(at) = cursor {
                    let page = log.read_page(&at, 1_000).await.unwrap();
                    n += page.records.len();
                    cursor = page.next;
                }
                assert_eq!(n, READ_RECORDS);
                log.close().await.unwrap();
            });
        });
    });
    group.throughput(Throughput::Elements(100));
    let reader = rt.block_on(open(&read_js, "reads"));
    let mut rng = SimRng::new(SEED);
    group.bench_function("page_100_random", |b| {
        b.iter(|| {
            let at = Seq(rng.below((READ_RECORDS - 100) as u64));
            let page = rt
                .block_on(reader.read_page(&reader.cursor_at(at, Direction::Forward), 100))
                .unwrap();
            assert_eq!(page.records.len(), 100);
        });
    });
    group.finish();
    rt.block_on(reader.close()).unwrap();
}

fn single(c: &mut Criterion) {
    setup(c, 1);
}

fn replicated(c: &mut Criterion) {
    setup(c, 3);
}

criterion_group!(benches, single, replicated);
criterion_main!(benches);
