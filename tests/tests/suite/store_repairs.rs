//! Goal: the store's answers to what a review found (deleted-then-created
//! ids, failed removals, closed shared handles, checkpoints of a previous
//! life of an id, huge page limits, a reopened root with another default
//! backend, damaged snapshots).
//! Method: each case is driven on purpose, with a storage that fails its
//! next removal when told to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::json;
use spool_backends::{DirStorage, JsonlConfig, LogFormat, MemoryStorage, SegmentedConfig, StdFs};
use spool_engine::{
    Backend, CorruptKind, Error, ListQuery, LogId, MAX_LIST_LIMIT, ManualClock, Projection, Record,
    Result, Seq, Storage, Store, StoreConfig,
};

fn id(s: &str) -> LogId {
    LogId::new(s).unwrap()
}

/// A memory root whose next `remove` fails when armed.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStorage,
    fail_remove: AtomicBool,
}

#[async_trait]
impl Storage for Flaky {
    fn kinds(&self) -> &'static [&'static str] {
        self.inner.kinds()
    }
    async fn open(&self, id: &LogId, kind: Option<&str>) -> Result<Arc<dyn Backend>> {
        self.inner.open(id, kind).await
    }
    async fn remove(&self, id: &LogId) -> Result<()> {
        if self.fail_remove.swap(false, Ordering::AcqRel) {
            return Err(Error::io("remove", std::io::Error::other("injected")));
        }
        self.inner.remove(id).await
    }
    async fn get_blob(&self, name: &LogId) -> Result<Option<Bytes>> {
        self.inner.get_blob(name).await
    }
    async fn put_blob(&self, name: &LogId, bytes: Bytes) -> Result<()> {
        self.inner.put_blob(name, bytes).await
    }
}

async fn open(storage: &Arc<dyn Storage>) -> Store {
    Store::open_with_clock(
        Arc::clone(storage),
        StoreConfig::default(),
        Arc::new(ManualClock::new(0)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_failed_removal_is_finished_before_the_id_is_used_again_or_at_open() {
    let flaky = Arc::new(Flaky::default());
    let storage: Arc<dyn Storage> = flaky.clone();
    let store = open(&storage).await;
    let log = store.create(&id("a"), json!({})).await.unwrap();
    log.append(&b"old"[..]).await.unwrap();
    flaky.fail_remove.store(true, Ordering::Release);
    assert!(store.delete(&id("a")).await.is_err());
    // The delete is durable; the records are still there, pending.
    assert!(matches!(store.info(&id("a")), Err(Error::NotFound { .. })));
    // Creating the id again first finishes the removal: a fresh log.
    let again = store.create(&id("a"), json!({})).await.unwrap();
    assert_eq!(again.next_seq(), Seq(0));

    // The same at open: a pending removal is redone once, then recorded.
    store
        .create(&id("b"), json!({}))
        .await
        .unwrap()
        .append(&b"x"[..])
        .await
        .unwrap();
    flaky.fail_remove.store(true, Ordering::Release);
    assert!(store.delete(&id("b")).await.is_err());
    drop(store);
    let store = open(&storage).await;
    assert_eq!(store.open_report().removals_redone, 1);
    assert!(!flaky.inner.log_ids().contains(&id("b")));
    store.close().await.unwrap();
    let store = open(&storage).await;
    assert_eq!(
        store.open_report().removals_redone,
        0,
        "the removal was recorded"
    );
}

#[tokio::test]
async fn a_closed_shared_handle_is_replaced_not_handed_out() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let store = open(&storage).await;
    let log = store.create(&id("c"), json!({})).await.unwrap();
    log.close().await.unwrap();
    let reopened = store.open_log(&id("c")).await.unwrap();
    assert!(!reopened.is_closed());
    reopened.append(&b"1"[..]).await.unwrap();
}

#[derive(Debug)]
struct Count;

impl Projection for Count {
    type State = u64;
    fn name(&self) -> &'static str {
        "count"
    }
    fn apply(&self, state: &mut u64, _: &Record) -> Result<()> {
        *state += 1;
        Ok(())
    }
}

#[tokio::test]
async fn a_checkpoint_of_a_deleted_log_is_not_inherited_by_its_successor() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let store = open(&storage).await;
    let log = store.create(&id("p"), json!({})).await.unwrap();
    for _ in 0..5 {
        log.append(&b"r"[..]).await.unwrap();
    }
    let counted = store.project(&id("p"), Count).await.unwrap();
    counted.checkpoint().await.unwrap();
    store.delete(&id("p")).await.unwrap();
    let log = store.create(&id("p"), json!({})).await.unwrap();
    for _ in 0..7 {
        log.append(&b"r"[..]).await.unwrap();
    }
    let counted = store.project(&id("p"), Count).await.unwrap();
    assert_eq!(counted.state().await.unwrap(), 7);
}

#[tokio::test]
async fn a_huge_page_limit_is_clamped() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let store = open(&storage).await;
    for i in 0..3 {
        store
            .create(&id(&format!("l{i}")), json!({}))
            .await
            .unwrap();
    }
    for limit in [usize::MAX, 1 << 40] {
        let page = store.list(&ListQuery::default(), None, limit).unwrap();
        assert_eq!(page.logs.len(), 3);
    }
    assert_eq!(MAX_LIST_LIMIT, 10_000);
}

#[tokio::test]
async fn a_root_reopened_with_another_default_finds_every_log() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let segmented: Arc<dyn Storage> = Arc::new(
        DirStorage::new(
            Arc::new(StdFs),
            &root,
            LogFormat::Segmented(SegmentedConfig::default()),
        )
        .unwrap(),
    );
    let store = open(&segmented).await;
    store
        .create(&id("n"), json!({}))
        .await
        .unwrap()
        .append(&b"1"[..])
        .await
        .unwrap();
    assert_eq!(
        store.info(&id("n")).unwrap().backend.as_deref(),
        Some("segmented")
    );
    store.close().await.unwrap();
    let jsonl: Arc<dyn Storage> = Arc::new(
        DirStorage::new(
            Arc::new(StdFs),
            &root,
            LogFormat::Jsonl(JsonlConfig::owned()),
        )
        .unwrap(),
    );
    let store = open(&jsonl).await;
    assert_eq!(store.len(), 1, "the catalog is found where it is");
    let log = store.open_log(&id("n")).await.unwrap();
    assert_eq!(log.next_seq(), Seq(1));
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_damaged_snapshot_is_corrupt_not_a_hang_or_a_panic() {
    let base = |parent: &str| json!({"parent": parent, "end": 1});
    let info = |id: &str, base: Option<serde_json::Value>| {
        let mut v =
            json!({"id": id, "created_ms": 0, "updated_ms": 0, "archived": false, "metadata": {}});
        if let Some(b) = base {
            v["base"] = b;
        }
        v
    };
    let cases = [
        // A cycle of forks.
        json!({"version": 1, "next": 0, "live": [info("a", Some(base("b"))), info("b", Some(base("a")))], "deleted": []}),
        // A fork of a missing parent.
        json!({"version": 1, "next": 0, "live": [info("a", Some(base("zz")))], "deleted": []}),
        // One id twice.
        json!({"version": 1, "next": 0, "live": [info("a", None), info("a", None)], "deleted": []}),
        // Live and deleted at once.
        json!({"version": 1, "next": 0, "live": [info("a", None)], "deleted": ["a"]}),
        // A fork point no log can reach.
        json!({"version": 1, "next": 0, "live": [info("a", None), info("b", Some(json!({"parent": "a", "end": u64::MAX})))], "deleted": []}),
    ];
    for (i, snapshot) in cases.iter().enumerate() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        storage
            .put_blob(&id("_catalog-snapshot"), Bytes::from(snapshot.to_string()))
            .await
            .unwrap();
        let got = Store::open(Arc::clone(&storage), StoreConfig::default()).await;
        assert!(
            matches!(
                got,
                Err(Error::Corrupt {
                    kind: CorruptKind::BadField { .. },
                    ..
                })
            ),
            "case {i}: {got:?}"
        );
    }
}
