//! Goal: the store's live side: projections that catch up from durable
//! checkpoints, subscriptions that never block writers and report lag,
//! shared handles under concurrent opens, one writer per store, and a
//! backend kind per log (issue 6).
//! Method: as in `store.rs`, on the storages it provides.

use std::sync::Arc;

use serde_json::json;
use spool_backends::{DirStorage, LogFormat, MemoryStorage, SegmentedConfig, StdFs};
use spool_engine::{Error, ManualClock, Seq, Storage, Store, StoreConfig};

use super::store::{append_all, config, id, open, records_of, storages};

/// The projection of the issue: records counted by their `kind` field.
#[derive(Debug)]
struct KindCounts;

impl spool_engine::Projection for KindCounts {
    type State = std::collections::BTreeMap<String, u64>;

    fn name(&self) -> &'static str {
        "kind-counts"
    }

    fn apply(
        &self,
        state: &mut Self::State,
        record: &spool_engine::Record,
    ) -> spool_engine::Result<()> {
        let value: serde_json::Value =
            serde_json::from_slice(&record.payload).map_err(|e| Error::Codec {
                codec: spool_engine::CodecKind::Json,
                op: "decode",
                message: e.to_string(),
            })?;
        let kind = value["kind"].as_str().unwrap_or("none").to_owned();
        *state.entry(kind).or_default() += 1;
        Ok(())
    }
}

async fn append_kinds(log: &spool_engine::Log, kinds: &[&str]) {
    for kind in kinds {
        log.append(serde_json::to_vec(&json!({ "kind": kind })).unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_projection_catches_up_from_its_checkpoint_only() {
    let dir = tempfile::tempdir().unwrap();
    for (name, storage) in storages(&dir) {
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&storage, &clock).await;
        let log = store.create(&id("events"), json!({})).await.unwrap();
        append_kinds(&log, &["msg", "tool", "msg"]).await;
        let counts = store.project(&id("events"), KindCounts).await.unwrap();
        let want = |pairs: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
        };
        assert_eq!(
            counts.state().await.unwrap(),
            want(&[("msg", 2), ("tool", 1)]),
            "{name}"
        );
        // A lagging projection is caught up on read.
        append_kinds(&log, &["tool", "error"]).await;
        assert_eq!(
            counts.state().await.unwrap(),
            want(&[("error", 1), ("msg", 2), ("tool", 2)]),
            "{name}"
        );
        counts.checkpoint().await.unwrap();
        append_kinds(&log, &["msg"]).await;
        store.close().await.unwrap();

        // Reopened: the state comes from the checkpoint (position 5), and
        // only the one record after it is folded.
        let store = open(&storage, &clock).await;
        let counts = store.project(&id("events"), KindCounts).await.unwrap();
        assert_eq!(counts.position().await, Seq(6), "{name}");
        assert_eq!(
            counts.state().await.unwrap(),
            want(&[("error", 1), ("msg", 3), ("tool", 2)]),
            "{name}"
        );
        store.close().await.unwrap();
    }
}

/// Counts records, and counts how many it was asked to fold.
#[derive(Debug, Default)]
struct Folds(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl spool_engine::Projection for Folds {
    type State = u64;

    fn name(&self) -> &'static str {
        "folds"
    }

    fn apply(&self, state: &mut u64, _: &spool_engine::Record) -> spool_engine::Result<()> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *state += 1;
        Ok(())
    }
}

#[tokio::test]
async fn a_checkpoint_never_counts_records_a_crash_took() {
    let memory = MemoryStorage::new();
    let storage: Arc<dyn Storage> = Arc::new(memory.clone());
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    let log = store.create(&id("l"), json!({})).await.unwrap();
    append_kinds(&log, &["a", "b", "c"]).await;
    let folds = store.project(&id("l"), Folds::default()).await.unwrap();
    // The checkpoint syncs the log first: the three records are durable.
    folds.checkpoint().await.unwrap();
    append_kinds(&log, &["d"]).await; // never synced
    memory.crash();
    drop(store);
    let store = open(&storage, &clock).await;
    let applied = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let folds = store
        .project(&id("l"), Folds(Arc::clone(&applied)))
        .await
        .unwrap();
    assert_eq!(folds.state().await.unwrap(), 3);
    assert_eq!(
        applied.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "nothing refolded"
    );
}

#[tokio::test]
async fn subscribers_see_the_store_live_and_are_told_when_they_lag() {
    use spool_engine::StoreEvent;
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    let mut sub = store.subscribe();
    let log = store.create(&id("s"), json!({})).await.unwrap();
    assert!(matches!(sub.next().await, Some(StoreEvent::Created(info)) if info.id == id("s")));
    append_kinds(&log, &["a", "b", "c"]).await;
    // Appends arrive as contiguous ranges covering every new record.
    let mut covered = 0;
    while covered < 3 {
        match sub.next().await {
            Some(StoreEvent::Appended { id: log_id, seqs }) => {
                assert_eq!(log_id, id("s"));
                assert_eq!(seqs.start, Seq(covered));
                covered = seqs.end.0;
            }
            other => panic!("{other:?}"),
        }
    }
    store
        .update_metadata(&id("s"), json!({"x": 1}))
        .await
        .unwrap();
    assert!(
        matches!(sub.next().await, Some(StoreEvent::Changed(info)) if info.metadata == json!({"x": 1}))
    );

    // A slow subscriber: the writer never waits for it, and it learns it
    // lagged instead of silently missing events.
    let small = Store::open_with_clock(
        Arc::new(MemoryStorage::new()),
        StoreConfig {
            subscription_capacity: 4,
            ..config()
        },
        clock.clone(),
    )
    .await
    .unwrap();
    let mut slow = small.subscribe();
    for i in 0..20 {
        small
            .create(&id(&format!("n{i}")), json!({}))
            .await
            .unwrap();
    }
    match slow.next().await {
        Some(StoreEvent::Lagged { missed }) => assert_eq!(missed, 16),
        other => panic!("{other:?}"),
    }
    // Then it goes on with what is still buffered, and what comes next.
    let mut rest = Vec::new();
    while let Some(event) = slow.try_next() {
        rest.push(event);
    }
    assert_eq!(rest.len(), 4);
    small.delete(&id("n0")).await.unwrap();
    assert!(matches!(slow.next().await, Some(StoreEvent::Deleted(gone)) if gone == id("n0")));
    store.close().await.unwrap();
    small.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_of_one_log_share_one_handle() {
    let dir = tempfile::tempdir().unwrap();
    for (name, storage) in storages(&dir) {
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&storage, &clock).await;
        store
            .create(&id("p"), json!({}))
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        store.close().await.unwrap();
        let store = open(&storage, &clock).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.open_log(&id("p")).await })
            })
            .collect();
        let mut logs = Vec::new();
        for task in tasks {
            logs.push(
                task.await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{name}: {e}")),
            );
        }
        logs[0].append(&b"1"[..]).await.unwrap();
        for log in &logs {
            assert_eq!(log.next_seq(), Seq(1), "{name}: one handle");
        }
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_second_writer_of_a_store_is_locked_out_and_expected_seqs_hold_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let storage = || -> Arc<dyn Storage> {
        Arc::new(
            DirStorage::new(
                Arc::new(StdFs),
                dir.path().join("store"),
                LogFormat::Segmented(SegmentedConfig::default()),
            )
            .unwrap(),
        )
    };
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage(), &clock).await;
    let log = store.create(&id("t"), json!({})).await.unwrap();
    append_all(&log, &["a", "b"]).await;
    // A second store on the same root (another process, or this one) is
    // refused by the catalog's writer lock before it reads anything.
    let second = Store::open_with_clock(storage(), config(), clock.clone()).await;
    assert!(matches!(second, Err(Error::Locked { .. })), "{second:?}");
    // A reader beside the writer: the catalog and the records as written,
    // no lock taken, nothing written, every change refused.
    let reader_storage = Arc::new(
        DirStorage::read_only(
            Arc::new(StdFs),
            dir.path().join("store"),
            LogFormat::Segmented(SegmentedConfig::default()),
        )
        .unwrap(),
    );
    let reader = Store::open_read_only(reader_storage, config())
        .await
        .unwrap();
    assert_eq!(reader.info(&id("t")).unwrap().id, id("t"));
    assert_eq!(
        records_of(&reader.open_log(&id("t")).await.unwrap()).await,
        ["a", "b"]
    );
    assert!(matches!(
        reader.create(&id("u"), json!({})).await,
        Err(Error::ReadOnly { .. })
    ));
    reader.close().await.unwrap();
    // The writer never noticed.
    append_all(&log, &["b2"]).await;
    store.close().await.unwrap();

    // Optimistic concurrency survives a reopen: the expected seq is the
    // log's, not the handle's.
    let store = open(&storage(), &clock).await;
    let log = store.open_log(&id("t")).await.unwrap();
    assert!(matches!(
        log.append_expecting(Seq(1), [&b"\"late\""[..]]).await,
        Err(Error::Conflict {
            expected: Seq(1),
            actual: Seq(3)
        })
    ));
    log.append_expecting(Seq(3), [&b"\"c\""[..]]).await.unwrap();
    assert_eq!(records_of(&log).await, ["a", "b", "b2", "c"]);
    store.close().await.unwrap();
}

#[tokio::test]
async fn each_log_lives_in_the_backend_it_was_created_in() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mixed");
    let storage: Arc<dyn Storage> = Arc::new(
        DirStorage::new(
            Arc::new(StdFs),
            &root,
            LogFormat::Segmented(SegmentedConfig::default()),
        )
        .unwrap(),
    );
    assert_eq!(storage.kinds(), ["segmented", "jsonl"]);
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    let native = store.create(&id("native"), json!({})).await.unwrap();
    let lines = store
        .create_in(&id("lines"), Some("jsonl"), json!({}))
        .await
        .unwrap();
    append_all(&native, &["n"]).await;
    append_all(&lines, &["a", "b"]).await;
    // A fork's own records live where its parent's do.
    let fork = store
        .fork(&id("lines"), &id("fork"), Seq(1), json!({}))
        .await
        .unwrap();
    append_all(&fork, &["f"]).await;
    assert!(matches!(
        store.create_in(&id("x"), Some("sqlite"), json!({})).await,
        Err(Error::InvalidConfig {
            field: "backend",
            ..
        })
    ));
    store.close().await.unwrap();
    assert!(root.join("logs/native").is_dir());
    assert_eq!(
        std::fs::read(root.join("logs/lines.jsonl")).unwrap(),
        b"\"a\"\n\"b\"\n"
    );
    assert_eq!(
        std::fs::read(root.join("logs/fork.jsonl")).unwrap(),
        b"\"f\"\n"
    );

    let store = open(&storage, &clock).await;
    assert_eq!(
        store.info(&id("lines")).unwrap().backend.as_deref(),
        Some("jsonl")
    );
    let fork = store.open_log(&id("fork")).await.unwrap();
    assert_eq!(records_of(&fork).await, ["a", "f"]);
    store.delete(&id("fork")).await.unwrap();
    store.delete(&id("lines")).await.unwrap();
    assert!(!root.join("logs/lines.jsonl").exists());
    store.close().await.unwrap();
}
