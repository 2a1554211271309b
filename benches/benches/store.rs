//! Criterion benches of the store (issue 6): a page of 25 out of 10,000
//! logs (target ≤ 5 ms), opening a store of 10,000 logs from its snapshot
//! and by replaying its catalog, and a fork's cost against the parent's
//! length (it copies nothing, so it must not grow with it). In-memory
//! storage, so the numbers are the store's own work.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use spool_backends::MemoryStorage;
use spool_benches::harness::runtime;
use spool_engine::{ListQuery, LogId, Order, Seq, SortKey, Storage, Store, StoreConfig};

const LOGS: usize = 10_000;

fn id(i: usize) -> LogId {
    LogId::new(format!("thread-{i:05}")).unwrap()
}

/// A store of `LOGS` logs (some archived, a metadata field on each).
async fn filled(storage: &Arc<dyn Storage>, config: StoreConfig) -> Store {
    let store = Store::open(Arc::clone(storage), config).await.unwrap();
    for i in 0..LOGS {
        let kind = if i % 2 == 0 { "chat" } else { "task" };
        store.create(&id(i), json!({ "kind": kind })).await.unwrap();
        if i % 10 == 0 {
            store.archive(&id(i)).await.unwrap();
        }
    }
    store
}

fn listing(c: &mut Criterion) {
    let rt = runtime();
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let store = rt.block_on(filled(&storage, StoreConfig::default()));
    let mut group = c.benchmark_group("store_list_25_of_10000");
    group.throughput(Throughput::Elements(25));
    for (name, query) in [
        ("created_desc", ListQuery::default()),
        (
            "updated_asc",
            ListQuery {
                sort: SortKey::Updated,
                order: Order::Ascending,
                ..ListQuery::default()
            },
        ),
        (
            "metadata_filter",
            ListQuery {
                metadata: vec![("kind".into(), json!("task"))],
                ..ListQuery::default()
            },
        ),
    ] {
        group.bench_function(format!("first_page_{name}"), |b| {
            b.iter(|| assert_eq!(store.list(&query, None, 25).unwrap().logs.len(), 25));
        });
        // A page deep in the listing, reached through its cursor.
        let mut cursor = None;
        for _ in 0..200 {
            cursor = store.list(&query, cursor.as_deref(), 25).unwrap().next;
        }
        group.bench_function(format!("page_200_{name}"), |b| {
            b.iter(|| {
                let page = store.list(&query, cursor.as_deref(), 25).unwrap();
                assert!(!page.logs.is_empty());
            });
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("store_open_10000_logs");
    group.throughput(Throughput::Elements(LOGS as u64));
    group.sample_size(10);
    // From a snapshot: closed cleanly, nothing to replay.
    let snapshotted: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    rt.block_on(async {
        filled(&snapshotted, StoreConfig::default())
            .await
            .close()
            .await
            .unwrap();
    });
    group.bench_function("from_snapshot", |b| {
        b.iter(|| {
            let store = rt
                .block_on(Store::open(
                    Arc::clone(&snapshotted),
                    StoreConfig::default(),
                ))
                .unwrap();
            assert_eq!(store.len(), LOGS);
        });
    });
    // By replay: no snapshot was ever written.
    let replayed: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let never = StoreConfig {
        snapshot_every: u64::MAX / 2,
        ..StoreConfig::default()
    };
    rt.block_on(async { drop(filled(&replayed, never.clone()).await) });
    group.bench_function("by_replay", |b| {
        b.iter(|| {
            let store = rt
                .block_on(Store::open(Arc::clone(&replayed), never.clone()))
                .unwrap();
            assert_eq!(store.len(), LOGS);
        });
    });
    group.finish();
}

fn fork(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("store_fork");
    group.throughput(Throughput::Elements(1));
    for records in [100usize, 100_000] {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let store = rt
            .block_on(Store::open(Arc::clone(&storage), StoreConfig::default()))
            .unwrap();
        let parent = rt
            .block_on(store.create(&LogId::new("parent").unwrap(), json!({})))
            .unwrap();
        rt.block_on(async {
            let payloads: Vec<Vec<u8>> = (0..records).map(|i| i.to_string().into_bytes()).collect();
            for chunk in payloads.chunks(10_000) {
                parent.append_batch(chunk.iter().cloned()).await.unwrap();
            }
        });
        let mut n = 0u64;
        group.bench_function(format!("parent_of_{records}_records"), |b| {
            b.iter(|| {
                n += 1;
                let child = LogId::new(format!("child-{n}")).unwrap();
                let log = rt
                    .block_on(store.fork(
                        &LogId::new("parent").unwrap(),
                        &child,
                        Seq(records as u64 / 2),
                        json!({}),
                    ))
                    .unwrap();
                assert_eq!(log.next_seq(), Seq(records as u64 / 2));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, listing, open, fork);
criterion_main!(benches);
