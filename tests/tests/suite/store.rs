//! Goal: the store keeps many logs under one root through its catalog:
//! create, open, metadata, archive, delete and list, across reopen and
//! crashes, the same on every storage (issue 6).
//! Method: each test runs on an in-memory root, a segmented directory on
//! SimFs and a JSONL directory on the real disk; listings are checked
//! against the set of logs that existed when their first page was read,
//! while logs are created and updated between pages.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use spool_backends::{
    DirStorage, JsonlConfig, LogFormat, MemoryStorage, SegmentedConfig, SimFs, StdFs,
};
use spool_engine::{
    Archived, CursorProblem, Error, ListQuery, LogId, ManualClock, Order, Seq, SortKey, Storage,
    Store, StoreConfig,
};

pub(crate) fn id(s: &str) -> LogId {
    LogId::new(s).unwrap()
}

/// The storages every test runs on, with what reopening one needs.
pub(crate) fn storages(dir: &tempfile::TempDir) -> Vec<(&'static str, Arc<dyn Storage>)> {
    let sim: Arc<SimFs> = Arc::new(SimFs::new(1));
    vec![
        ("memory", Arc::new(MemoryStorage::new())),
        (
            "segmented on SimFs",
            Arc::new(
                DirStorage::new(
                    sim,
                    "/store",
                    LogFormat::Segmented(SegmentedConfig {
                        segment_bytes: 16 * 1024,
                        ..SegmentedConfig::default()
                    }),
                )
                .unwrap(),
            ),
        ),
        (
            "jsonl on disk",
            Arc::new(
                DirStorage::new(
                    Arc::new(StdFs),
                    dir.path().join("jsonl"),
                    LogFormat::Jsonl(JsonlConfig::owned()),
                )
                .unwrap(),
            ),
        ),
    ]
}

pub(crate) fn config() -> StoreConfig {
    StoreConfig {
        snapshot_every: 5,
        ..StoreConfig::default()
    }
}

pub(crate) async fn open(storage: &Arc<dyn Storage>, clock: &Arc<ManualClock>) -> Store {
    Store::open_with_clock(Arc::clone(storage), config(), clock.clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn logs_live_through_create_metadata_archive_delete_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    for (name, storage) in storages(&dir) {
        let clock = Arc::new(ManualClock::new(1_000));
        let store = open(&storage, &clock).await;
        let a = store
            .create(&id("a"), json!({"kind": "chat"}))
            .await
            .unwrap();
        a.append(&br#"{"n":1}"#[..]).await.unwrap();
        a.append(&br#"{"n":2}"#[..]).await.unwrap();
        clock.advance(5);
        store.create(&id("b"), json!({})).await.unwrap();
        assert!(
            matches!(
                store.create(&id("a"), json!({})).await,
                Err(Error::AlreadyExists { .. })
            ),
            "{name}"
        );
        assert!(matches!(
            store.create(&id("_catalog"), json!({})).await,
            Err(Error::InvalidLogId { .. })
        ));
        clock.advance(5);
        let info = store
            .update_metadata(&id("a"), json!({"kind": "task"}))
            .await
            .unwrap();
        assert_eq!((info.created_ms, info.updated_ms), (1_000, 1_010), "{name}");
        assert!(store.archive(&id("b")).await.unwrap().archived);
        assert!(matches!(store.info(&id("zz")), Err(Error::NotFound { .. })));
        assert!(matches!(
            store.open_log(&id("zz")).await,
            Err(Error::NotFound { .. })
        ));
        store.close().await.unwrap();

        let store = open(&storage, &clock).await;
        assert_eq!(store.len(), 2, "{name}");
        let info = store.info(&id("a")).unwrap();
        assert_eq!(info.metadata, json!({"kind": "task"}), "{name}");
        assert!(store.info(&id("b")).unwrap().archived, "{name}");
        let a = store.open_log(&id("a")).await.unwrap();
        let records = a.read_page(&a.first_cursor(), 10).await.unwrap().records;
        assert_eq!(records.len(), 2, "{name}: records survive reopen");
        assert!(!store.unarchive(&id("b")).await.unwrap().archived);

        // Delete removes the records: the same id starts empty again.
        store.delete(&id("a")).await.unwrap();
        assert!(
            matches!(store.info(&id("a")), Err(Error::NotFound { .. })),
            "{name}"
        );
        assert!(matches!(
            store.delete(&id("a")).await,
            Err(Error::NotFound { .. })
        ));
        let again = store.create(&id("a"), json!({})).await.unwrap();
        assert_eq!(
            again.next_seq(),
            Seq(0),
            "{name}: a deleted log's records are gone"
        );
        store.close().await.unwrap();
        let store = open(&storage, &clock).await;
        assert_eq!(store.len(), 2, "{name}");
        assert_eq!(store.open_log(&id("a")).await.unwrap().next_seq(), Seq(0));
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_snapshot_spares_the_replay() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    for i in 0..12 {
        store
            .create(&id(&format!("l{i}")), json!({"i": i}))
            .await
            .unwrap();
    }
    // snapshot_every = 5: snapshots at 5 and 10; no close, so 2 events
    // after the last one are replayed.
    drop(store);
    let store = open(&storage, &clock).await;
    let report = store.open_report();
    assert_eq!((report.from_snapshot, report.replayed), (10, 2));
    assert_eq!(store.len(), 12);
    store.close().await.unwrap();
    let store = open(&storage, &clock).await;
    assert_eq!(store.open_report().replayed, 0, "close wrote a snapshot");
}

/// Every page of `query`, concatenated.
fn all_pages(store: &Store, query: &ListQuery, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list(query, cursor.as_deref(), limit).unwrap();
        assert!(page.logs.len() <= limit);
        out.extend(page.logs.iter().map(|l| l.id.as_str().to_owned()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

#[tokio::test]
async fn listings_order_ties_by_id_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    for (name, storage) in storages(&dir) {
        let clock = Arc::new(ManualClock::new(7_000));
        let store = open(&storage, &clock).await;
        // 40 logs in four milliseconds: ten share each creation time.
        for i in 0..40 {
            if i % 10 == 0 {
                clock.advance(1);
            }
            let kind = if i % 3 == 0 { "a" } else { "b" };
            store
                .create(&id(&format!("log-{i:02}")), json!({"kind": kind}))
                .await
                .unwrap();
        }
        for i in (0..40).step_by(4) {
            store.archive(&id(&format!("log-{i:02}"))).await.unwrap();
        }
        let expect = |filter: &dyn Fn(usize) -> bool, descending: bool| {
            let mut ids: Vec<(usize, String)> = (0..40)
                .filter(|i| filter(*i))
                .map(|i| (i / 10, format!("log-{i:02}")))
                .collect();
            ids.sort();
            if descending {
                ids.reverse();
            }
            ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        };
        for order in [Order::Ascending, Order::Descending] {
            for limit in [1, 3, 7, 100] {
                let live = ListQuery {
                    order,
                    ..ListQuery::default()
                };
                assert_eq!(
                    all_pages(&store, &live, limit),
                    expect(&|i| i % 4 != 0, order == Order::Descending),
                    "{name} {order:?} {limit}"
                );
                let archived_a = ListQuery {
                    order,
                    archived: Archived::Only,
                    metadata: vec![("kind".into(), json!("a"))],
                    ..ListQuery::default()
                };
                assert_eq!(
                    all_pages(&store, &archived_a, limit),
                    expect(&|i| i % 4 == 0 && i % 3 == 0, order == Order::Descending),
                    "{name} {order:?} {limit}"
                );
            }
        }
        // A cursor only serves its own query, and garbage is refused.
        let first = store.list(&ListQuery::default(), None, 2).unwrap();
        let other = ListQuery {
            sort: SortKey::Updated,
            ..ListQuery::default()
        };
        assert!(matches!(
            store.list(&other, first.next.as_deref(), 2),
            Err(Error::InvalidCursor {
                problem: CursorProblem::OtherQuery
            })
        ));
        let mut bad = first.next.clone().unwrap();
        bad.push('A');
        assert!(matches!(
            store.list(&ListQuery::default(), Some(&bad), 2),
            Err(Error::InvalidCursor { .. })
        ));
        assert!(matches!(
            store.list(&ListQuery::default(), Some("v1.AAAA"), 2),
            Err(Error::InvalidCursor { .. })
        ));
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_listing_neither_skips_nor_repeats_while_logs_are_added_and_updated() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    for i in 0..60 {
        clock.advance(i64::from(i % 2 == 0));
        store
            .create(&id(&format!("x{i:02}")), json!({}))
            .await
            .unwrap();
    }
    for sort in [SortKey::Created, SortKey::Updated] {
        for order in [Order::Ascending, Order::Descending] {
            let query = ListQuery {
                sort,
                order,
                ..ListQuery::default()
            };
            let before: BTreeSet<String> = all_pages(&store, &query, 1000).into_iter().collect();
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut round = 0;
            loop {
                let page = store.list(&query, cursor.as_deref(), 4).unwrap();
                seen.extend(page.logs.iter().map(|l| l.id.as_str().to_owned()));
                // Between pages: a new log, and updates to logs on both
                // sides of the cursor (which move them in updated order).
                round += 1;
                clock.advance(1);
                store
                    .create(&id(&format!("new-{sort:?}-{order:?}-{round}")), json!({}))
                    .await
                    .unwrap();
                for victim in [round % 60, (round * 7 + 30) % 60] {
                    store
                        .update_metadata(&id(&format!("x{victim:02}")), json!({"round": round}))
                        .await
                        .unwrap();
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let unique: BTreeSet<String> = seen.iter().cloned().collect();
            assert_eq!(unique.len(), seen.len(), "{sort:?} {order:?}: repeated");
            assert_eq!(unique, before, "{sort:?} {order:?}: skipped or extra");
        }
    }
}

#[tokio::test]
async fn a_crash_leaves_the_catalog_and_the_logs_consistent() {
    let memory = MemoryStorage::new();
    let storage: Arc<dyn Storage> = Arc::new(memory.clone());
    let clock = Arc::new(ManualClock::new(0));
    let store = open(&storage, &clock).await;
    for i in 0..8 {
        let log = store
            .create(&id(&format!("c{i}")), json!({}))
            .await
            .unwrap();
        log.append(&b"x"[..]).await.unwrap();
    }
    store.delete(&id("c3")).await.unwrap();
    store.archive(&id("c4")).await.unwrap();
    memory.crash();
    drop(store);
    let store = open(&storage, &clock).await;
    // Catalog changes were durable when acknowledged.
    assert_eq!(store.len(), 7);
    assert!(store.info(&id("c4")).unwrap().archived);
    assert!(matches!(store.info(&id("c3")), Err(Error::NotFound { .. })));
    // No backend without an entry (the catalog's own aside).
    let held: Vec<String> = memory
        .log_ids()
        .iter()
        .map(|i| i.as_str().to_owned())
        .filter(|i| !i.starts_with('_'))
        .collect();
    assert_eq!(held, ["c0", "c1", "c2", "c4", "c5", "c6", "c7"]);
    // Unsynced appends were lost, the logs still open.
    let log = store.open_log(&id("c0")).await.unwrap();
    let got = log
        .read_page(&log.first_cursor(), 10)
        .await
        .unwrap()
        .records;
    assert!(got.len() <= 1);
}

/// Every record of `log`, through its pages.
pub(crate) async fn records_of(log: &spool_engine::Log) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = Some(log.first_cursor());
    while let Some(c) = cursor {
        let page = log.read_page(&c, 3).await.unwrap();
        for r in &page.records {
            assert_eq!(r.seq, Seq(out.len() as u64), "seqs are continuous");
            // Payloads are JSON strings, so every storage takes them.
            out.push(serde_json::from_slice::<String>(&r.payload).unwrap());
        }
        cursor = page.next;
    }
    out
}

pub(crate) async fn append_all(log: &spool_engine::Log, lines: &[&str]) {
    for line in lines {
        log.append(serde_json::to_vec(line).unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn forks_and_reverts_read_the_parent_prefix_without_copying_it() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    for (name, storage) in storages(&dir) {
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&storage, &clock).await;
        let main = store.create(&id("main"), json!({})).await.unwrap();
        append_all(&main, &["0", "1", "2", "3", "4"]).await;

        // A fork at the end continues the parent; a revert cuts it.
        let fork = store
            .fork(&id("main"), &id("fork"), Seq(5), json!({}))
            .await
            .unwrap();
        append_all(&fork, &["f5", "f6"]).await;
        let revert = store
            .fork(&id("main"), &id("revert"), Seq(2), json!({}))
            .await
            .unwrap();
        append_all(&revert, &["r2"]).await;
        // The parent goes on; its children do not see it.
        append_all(&main, &["5"]).await;
        // A fork of a fork, cutting inside the grandparent's prefix.
        let grand = store
            .fork(&id("fork"), &id("grand"), Seq(6), json!({}))
            .await
            .unwrap();
        append_all(&grand, &["g6"]).await;

        let expect: [(&str, &[&str]); 4] = [
            ("main", &["0", "1", "2", "3", "4", "5"]),
            ("fork", &["0", "1", "2", "3", "4", "f5", "f6"]),
            ("revert", &["0", "1", "r2"]),
            ("grand", &["0", "1", "2", "3", "4", "f5", "g6"]),
        ];
        for (log_id, want) in expect {
            let log = store.open_log(&id(log_id)).await.unwrap();
            assert_eq!(records_of(&log).await, want, "{name}: {log_id}");
        }
        // Backward pages cross the boundary too, and a tail from inside the
        // prefix reads through it and then follows the child's appends.
        let back = fork
            .read_page(&fork.last_cursor(), 4)
            .await
            .unwrap()
            .records;
        let seqs: Vec<u64> = back.iter().map(|r| r.seq.0).collect();
        assert_eq!(seqs, [6, 5, 4, 3], "{name}");
        let mut tail = Box::pin(grand.tail(Seq(4)));
        for want in ["4", "f5", "g6"] {
            let r = tail.next().await.unwrap().unwrap();
            assert_eq!(r.payload, serde_json::to_vec(want).unwrap(), "{name}");
        }
        append_all(&grand, &["g7"]).await;
        assert_eq!(tail.next().await.unwrap().unwrap().seq, Seq(7), "{name}");
        // An expected-seq append on a child names child seqs.
        assert!(matches!(
            revert.append_expecting(Seq(2), [&b"\"x\""[..]]).await,
            Err(Error::Conflict {
                expected: Seq(2),
                actual: Seq(3)
            })
        ));

        assert_eq!(store.info(&id("grand")).unwrap().base.unwrap().end, Seq(6));
        assert!(matches!(
            store
                .fork(&id("main"), &id("late"), Seq(99), json!({}))
                .await,
            Err(Error::SeqPastEnd { .. })
        ));
        assert!(matches!(
            store
                .fork(&id("nope"), &id("late"), Seq(0), json!({}))
                .await,
            Err(Error::NotFound { .. })
        ));
        // A parent with live forks stays.
        match store.delete(&id("fork")).await {
            Err(Error::HasChildren { children, .. }) => assert_eq!(children, "grand"),
            other => panic!("{name}: {other:?}"),
        }
        store.close().await.unwrap();

        // Lineage survives reopen.
        let store = open(&storage, &clock).await;
        let grand = store.open_log(&id("grand")).await.unwrap();
        assert_eq!(
            records_of(&grand).await,
            ["0", "1", "2", "3", "4", "f5", "g6", "g7"],
            "{name}"
        );
        store.delete(&id("grand")).await.unwrap();
        store.delete(&id("fork")).await.unwrap();
        assert!(matches!(
            store.delete(&id("main")).await,
            Err(Error::HasChildren { .. })
        ));
        store.delete(&id("revert")).await.unwrap();
        store.delete(&id("main")).await.unwrap();
        assert!(store.is_empty(), "{name}");
        store.close().await.unwrap();
    }
}
