//! Goal: the store agrees with a plain model under any sequence of
//! creates, appends, forks (continuations and reverts), metadata updates,
//! archives, deletes, listings, reopens and crashes (issue 6).
//! Method: proptest generates op sequences over a small pool of ids (so
//! ids collide, forks nest, and deletes meet live forks), runs them on a
//! store over an in-memory root, over segmented logs on SimFs and on a
//! real JetStream stream (a fresh stream per case, one nats-server), and
//! compares every answer (success or the typed error) and every log's
//! records with a `BTreeMap` model. Appends are at `Durability::Data`, so a
//! crash (SimFs power loss, the memory root's, or a JetStream client that
//! vanishes without closing) loses nothing the model holds: the catalog and
//! the logs must come back exactly.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use spool_backends::{
    DirStorage, JetStreamStorage, LogFormat, MemoryStorage, SegmentedConfig, SimFs,
};
use spool_engine::{
    Archived, Clock, Durability, Error, ListQuery, LogConfig, LogId, ManualClock, Order, Seq,
    SortKey, Storage, Store, StoreConfig,
};

const IDS: usize = 5;

#[derive(Clone, Debug)]
enum Op {
    Create(usize, bool),
    Append(usize, u8),
    Fork {
        parent: usize,
        child: usize,
        cut: u8,
    },
    Update(usize, bool),
    Archive(usize),
    Unarchive(usize),
    Delete(usize),
    List {
        updated: bool,
        ascending: bool,
        archived: u8,
        limit: u8,
    },
    Reopen,
    Crash(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..IDS, any::<bool>()).prop_map(|(i, k)| Op::Create(i, k)),
        4 => (0..IDS, 1u8..4).prop_map(|(i, n)| Op::Append(i, n)),
        2 => (0..IDS, 0..IDS, any::<u8>()).prop_map(|(parent, child, cut)| Op::Fork { parent, child, cut }),
        1 => (0..IDS, any::<bool>()).prop_map(|(i, k)| Op::Update(i, k)),
        1 => (0..IDS).prop_map(Op::Archive),
        1 => (0..IDS).prop_map(Op::Unarchive),
        2 => (0..IDS).prop_map(Op::Delete),
        2 => (any::<bool>(), any::<bool>(), 0u8..3, 1u8..4)
            .prop_map(|(updated, ascending, archived, limit)| Op::List { updated, ascending, archived, limit }),
        1 => Just(Op::Reopen),
        1 => any::<u64>().prop_map(Op::Crash),
    ]
}

#[derive(Clone, Debug)]
struct Entry {
    records: Vec<String>,
    kind: bool,
    archived: bool,
    created: i64,
    updated: i64,
    parent: Option<usize>,
}

#[derive(Default, Debug)]
struct Model {
    logs: BTreeMap<usize, Entry>,
    next_record: u64,
}

impl Model {
    fn children(&self, i: usize) -> usize {
        self.logs.values().filter(|e| e.parent == Some(i)).count()
    }
}

fn name(i: usize) -> LogId {
    LogId::new(format!("log{i}")).unwrap()
}

/// The kind of an outcome, for comparing with the model.
fn outcome<T>(r: &spool_engine::Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(Error::AlreadyExists { .. }) => "exists",
        Err(Error::NotFound { .. }) => "missing",
        Err(Error::HasChildren { .. }) => "children",
        Err(Error::SeqPastEnd { .. }) => "past end",
        Err(_) => "other",
    }
}

enum Root {
    Memory(MemoryStorage),
    Sim(Arc<SimFs>),
    /// A server URL and the case's own stream.
    JetStream(String, String),
}

impl Root {
    async fn storage(&self) -> Arc<dyn Storage> {
        match self {
            Root::JetStream(url, stream) => Arc::new(JetStreamStorage::new(
                spool_tests::nats::connect(vec![url.clone()], stream, 1).await,
            )),
            Root::Memory(m) => Arc::new(m.clone()),
            Root::Sim(sim) => Arc::new(
                DirStorage::new(
                    sim.clone(),
                    "/store",
                    LogFormat::Segmented(SegmentedConfig {
                        segment_bytes: 4096,
                        ..SegmentedConfig::default()
                    }),
                )
                .unwrap(),
            ),
        }
    }

    fn crash(&self, seed: u64) {
        match self {
            Root::Memory(m) => m.crash(),
            Root::Sim(sim) => sim.crash(seed),
            // Acknowledged publishes are on the stream; the dropped store
            // is the crash.
            Root::JetStream(..) => {}
        }
    }
}

async fn open(root: &Root, clock: &Arc<ManualClock>) -> Store {
    let config = StoreConfig {
        log: LogConfig {
            durability: Durability::Data,
            ..LogConfig::default()
        },
        snapshot_every: 7,
        ..StoreConfig::default()
    };
    Store::open_with_clock(root.storage().await, config, clock.clone())
        .await
        .unwrap()
}

async fn records(store: &Store, i: usize) -> Vec<String> {
    let log = store.open_log(&name(i)).await.unwrap();
    let mut out = Vec::new();
    let mut cursor = Some(log.first_cursor());
    while let Some(c) = cursor {
        let page = log.read_page(&c, 4).await.unwrap();
        out.extend(
            page.records
                .iter()
                .map(|r| String::from_utf8(r.payload.to_vec()).unwrap()),
        );
        cursor = page.next;
    }
    out
}

#[allow(clippy::too_many_lines)]
async fn run(root: Root, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new(1_000));
    let mut store = open(&root, &clock).await;
    let mut model = Model::default();
    for op in ops {
        clock.advance(1);
        let now = clock.now_ms();
        match op {
            Op::Create(i, kind) => {
                let got = store.create(&name(i), json!({ "kind": kind })).await;
                let want = if model.logs.contains_key(&i) {
                    "exists"
                } else {
                    "ok"
                };
                prop_assert_eq!(outcome(&got), want, "{:?}", op);
                if got.is_ok() {
                    model.logs.insert(
                        i,
                        Entry {
                            records: vec![],
                            kind,
                            archived: false,
                            created: now,
                            updated: now,
                            parent: None,
                        },
                    );
                }
            }
            Op::Append(i, n) => {
                let Some(entry) = model.logs.get_mut(&i) else {
                    prop_assert_eq!(outcome(&store.open_log(&name(i)).await), "missing");
                    continue;
                };
                let log = store.open_log(&name(i)).await.unwrap();
                for _ in 0..n {
                    let payload = format!("r{}", model.next_record);
                    model.next_record += 1;
                    log.append(payload.clone().into_bytes()).await.unwrap();
                    entry.records.push(payload);
                }
            }
            Op::Fork { parent, child, cut } => {
                let parent_len = model.logs.get(&parent).map(|e| e.records.len());
                let end = parent_len.map_or(0, |n| usize::from(cut) % (n + 1));
                let got = store
                    .fork(
                        &name(parent),
                        &name(child),
                        Seq(end as u64),
                        json!({ "kind": false }),
                    )
                    .await;
                let want = match (parent_len, model.logs.contains_key(&child)) {
                    (None, _) => "missing",
                    (Some(_), true) => "exists",
                    (Some(_), false) => "ok",
                };
                prop_assert_eq!(outcome(&got), want, "{:?}", op);
                if got.is_ok() {
                    let records = model.logs[&parent].records[..end].to_vec();
                    model.logs.insert(
                        child,
                        Entry {
                            records,
                            kind: false,
                            archived: false,
                            created: now,
                            updated: now,
                            parent: Some(parent),
                        },
                    );
                }
            }
            Op::Update(i, kind) => {
                let got = store
                    .update_metadata(&name(i), json!({ "kind": kind }))
                    .await;
                prop_assert_eq!(
                    outcome(&got),
                    if model.logs.contains_key(&i) {
                        "ok"
                    } else {
                        "missing"
                    }
                );
                if let Some(e) = model.logs.get_mut(&i) {
                    e.kind = kind;
                    e.updated = now;
                }
            }
            Op::Archive(i) | Op::Unarchive(i) => {
                let archive = matches!(op, Op::Archive(_));
                let got = if archive {
                    store.archive(&name(i)).await
                } else {
                    store.unarchive(&name(i)).await
                };
                prop_assert_eq!(
                    outcome(&got),
                    if model.logs.contains_key(&i) {
                        "ok"
                    } else {
                        "missing"
                    }
                );
                if let Some(e) = model.logs.get_mut(&i) {
                    e.archived = archive;
                    e.updated = now;
                }
            }
            Op::Delete(i) => {
                let got = store.delete(&name(i)).await;
                let want = match model.logs.contains_key(&i) {
                    false => "missing",
                    true if model.children(i) > 0 => "children",
                    true => "ok",
                };
                prop_assert_eq!(outcome(&got), want, "{:?}", op);
                if got.is_ok() {
                    model.logs.remove(&i);
                }
            }
            Op::List {
                updated,
                ascending,
                archived,
                limit,
            } => {
                let query = ListQuery {
                    sort: if updated {
                        SortKey::Updated
                    } else {
                        SortKey::Created
                    },
                    order: if ascending {
                        Order::Ascending
                    } else {
                        Order::Descending
                    },
                    archived: [Archived::Exclude, Archived::Only, Archived::Include]
                        [usize::from(archived)],
                    metadata: vec![],
                };
                let mut got = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let page = store
                        .list(&query, cursor.as_deref(), usize::from(limit))
                        .unwrap();
                    got.extend(page.logs.iter().map(|l| l.id.clone()));
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                let mut want: Vec<(i64, LogId)> = model
                    .logs
                    .iter()
                    .filter(|(_, e)| match archived {
                        0 => !e.archived,
                        1 => e.archived,
                        _ => true,
                    })
                    .map(|(i, e)| (if updated { e.updated } else { e.created }, name(*i)))
                    .collect();
                want.sort();
                if !ascending {
                    want.reverse();
                }
                let want: Vec<LogId> = want.into_iter().map(|(_, id)| id).collect();
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::Reopen => {
                store.close().await.unwrap();
                store = open(&root, &clock).await;
            }
            Op::Crash(seed) => {
                root.crash(seed);
                drop(store);
                store = open(&root, &clock).await;
            }
        }
        // Every live log holds exactly the model's records.
        for (&i, entry) in &model.logs {
            prop_assert_eq!(
                &records(&store, i).await,
                &entry.records,
                "log{} after {:?}",
                i,
                op
            );
        }
        prop_assert_eq!(store.len(), model.logs.len());
    }
    store.close().await.unwrap();
    Ok(())
}

fn check(cases: u32, make: impl Fn() -> Root) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run(make(), ops))
        })
        .unwrap();
}

#[test]
fn the_store_on_memory_matches_the_model() {
    check(1_000, || Root::Memory(MemoryStorage::new()));
}

#[test]
fn the_store_on_segmented_sim_fs_matches_the_model_through_crashes() {
    check(300, || Root::Sim(Arc::new(SimFs::new(7))));
}

#[test]
fn the_store_on_jetstream_matches_the_model_through_client_crashes() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CASE: AtomicU64 = AtomicU64::new(0);
    let Some(server) = spool_tests::nats::NatsServer::start("store model on JetStream", None)
    else {
        return;
    };
    check(100, || {
        let case = CASE.fetch_add(1, Ordering::Relaxed);
        Root::JetStream(server.url(), format!("store-model-{case}"))
    });
}
