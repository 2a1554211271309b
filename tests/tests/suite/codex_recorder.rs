//! Goal: the recorder and session bundles keep what they acknowledge and
//! surface every failure (issue 8 items 5 and 6): records queue without
//! waiting for the disk, flush and shutdown acknowledge, a persistence
//! error stops the recorder and reaches the caller, a full disk (SimFs) and
//! a denied directory (injected through the Vfs: CI runs as root) are typed
//! errors or a reported fallback, and a disabled bundle writes nothing.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use spool_backends::{DirStorage, Fault, FaultMode, LogFormat, SegmentedConfig, SimFs};
use spool_compat::{
    BundleConfig, BundleFallback, CodexError, CodexHome, HistoryMode, NewLine, NewThread, Recorder,
    RecorderOptions, SessionBundle, SideLog, export_store,
};
use spool_engine::{Durability, OpenMode, Store, StoreConfig, Vfs, VfsFile, VfsLock};
use uuid::Uuid;

fn user(text: &str) -> NewLine {
    NewLine::new(
        "event_msg",
        json!({"type":"item_completed","thread_id":"t","turn_id":"u","item":{"type":"UserMessage","id":"i","content":[{"type":"text","text":text,"text_elements":[]}]},"completed_at_ms":0}),
    )
    .unwrap()
}

#[tokio::test]
async fn a_codex_recorder_queues_flushes_and_resumes_where_it_stopped() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let recorder = Recorder::create(
        &codex,
        &NewThread::new(HistoryMode::Paginated, "/w"),
        RecorderOptions::default(),
    )
    .await
    .unwrap();
    let id = *recorder.id();
    for n in 0..10 {
        recorder
            .record(vec![user(&format!("line {n}"))])
            .await
            .unwrap();
    }
    recorder.flush().await.unwrap();
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(
        thread.len(),
        11,
        "header and ten lines, all written at flush"
    );
    recorder.shutdown().await.unwrap();
    // Resume continues the ordinals.
    let recorder = Recorder::resume(&codex, &id, RecorderOptions::default())
        .await
        .unwrap();
    recorder.record(vec![user("again")]).await.unwrap();
    recorder.shutdown().await.unwrap();
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(thread.len(), 12);
    assert_eq!(spool_compat::check_ordinals(&thread).await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_full_queue_is_busy_and_a_bad_line_is_refused_at_once() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let options = RecorderOptions {
        capacity: 1,
        ..RecorderOptions::default()
    };
    let recorder = Recorder::create(
        &codex,
        &NewThread::new(HistoryMode::Paginated, "/w"),
        options,
    )
    .await
    .unwrap();
    // The writer task has not run yet (one-thread runtime, no await): the
    // queue of one fills and the next try is refused, not blocked.
    recorder.try_record(vec![user("a")]).unwrap();
    assert!(matches!(
        recorder.try_record(vec![user("b")]),
        Err(CodexError::Busy { capacity: 1 })
    ));
    // A line the mode does not persist is the caller's error at once; the
    // recorder goes on.
    let legacy_event =
        NewLine::new("event_msg", json!({"type":"user_message","message":"x"})).unwrap();
    let error = recorder
        .record(vec![user("ok"), legacy_event])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid");
    recorder.record(vec![user("c")]).await.unwrap();
    recorder.shutdown().await.unwrap();
    let thread = codex
        .open_thread(&codex.threads().unwrap()[0].id)
        .await
        .unwrap();
    assert_eq!(
        thread.len(),
        3,
        "the header, `a` and `c`: nothing of the refused batch"
    );
}

#[tokio::test]
async fn a_store_recorder_survives_a_full_disk_and_exports_as_a_codex_rollout() {
    let fs = Arc::new(SimFs::new(7));
    let storage = DirStorage::new(
        fs.clone(),
        "/store",
        LogFormat::Segmented(SegmentedConfig::default()),
    )
    .unwrap();
    let store = Store::open(Arc::new(storage), StoreConfig::default())
        .await
        .unwrap();
    let options = RecorderOptions {
        flush: Durability::Data,
        ..RecorderOptions::default()
    };
    let recorder = Recorder::create_in_store(
        &store,
        &NewThread::new(HistoryMode::Paginated, "/w"),
        options,
    )
    .await
    .unwrap();
    let id = *recorder.id();
    recorder
        .record(vec![user("kept 1"), user("kept 2")])
        .await
        .unwrap();
    recorder.flush().await.unwrap();
    // The disk fills.
    fs.fail_after(0, Fault::NoSpace, FaultMode::Persistent);
    recorder.record(vec![user("lost")]).await.unwrap();
    let error = recorder.flush().await.unwrap_err();
    assert!(matches!(error.code(), "no_space" | "io"), "{error}");
    assert!(recorder.record(vec![user("refused")]).await.is_err());
    assert!(recorder.shutdown().await.is_err());
    // Space comes back; a reopened store holds what was flushed.
    fs.clear_faults();
    store.close().await.ok();
    let storage = DirStorage::new(
        fs.clone(),
        "/store",
        LogFormat::Segmented(SegmentedConfig::default()),
    )
    .unwrap();
    let store = Store::open(Arc::new(storage), StoreConfig::default())
        .await
        .unwrap();
    let log = store
        .open_log(&spool_engine::LogId::new(id.to_string()).unwrap())
        .await
        .unwrap();
    assert_eq!(log.next_seq().0, 3, "header and the two flushed lines");
    // And the store writes it out as a rollout Codex's rules read.
    let out = tempfile::tempdir().unwrap();
    export_store(&store, out.path(), None).await.unwrap();
    let thread = CodexHome::new(out.path()).open_thread(&id).await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Paginated);
    assert_eq!(thread.len(), 3);
    assert_eq!(spool_compat::check_ordinals(&thread).await.unwrap(), vec![]);
}

/// A Vfs whose every directory creation and write-open is denied, as a
/// read-only mount or a foreign owner would deny them.
#[derive(Debug)]
struct Denied;

fn denied(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{}: permission denied", path.display()),
    )
}

impl Vfs for Denied {
    fn open(&self, path: &Path, _mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        Err(denied(path))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        Err(denied(path))
    }
    fn rename(&self, from: &Path, _to: &Path) -> io::Result<()> {
        Err(denied(from))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Err(denied(dir))
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        Err(denied(dir))
    }
    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        Err(denied(dir))
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        Err(denied(dir))
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        Err(denied(path))
    }
}

#[tokio::test]
async fn bundles_are_opt_in_and_their_failures_are_typed_or_reported() {
    let session = Uuid::now_v7();
    let root = tempfile::tempdir().unwrap();
    let config = |root: Option<PathBuf>, vfs: Arc<dyn Vfs>, fallback| BundleConfig {
        root,
        vfs,
        fallback,
        segments: SegmentedConfig::default(),
    };
    // Disabled: nothing on disk, appends are no-ops that say so.
    let off = SessionBundle::open(
        &config(None, Arc::new(spool_backends::StdFs), BundleFallback::Fail),
        &session,
    )
    .await
    .unwrap();
    assert!(!off.is_enabled());
    assert_eq!(off.append(SideLog::Debug, "x").await.unwrap(), None);
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    // Enabled: one directory per session, five logs, kept across opens.
    let on_config = config(
        Some(root.path().to_owned()),
        Arc::new(spool_backends::StdFs),
        BundleFallback::Fail,
    );
    let on = SessionBundle::open(&on_config, &session).await.unwrap();
    for (n, side) in SideLog::ALL.into_iter().enumerate() {
        assert_eq!(
            on.append(side, format!("{{\"n\":{n}}}"))
                .await
                .unwrap()
                .map(|s| s.0),
            Some(0)
        );
    }
    on.close().await.unwrap();
    assert!(root.path().join(session.to_string()).is_dir());
    let again = SessionBundle::open(&on_config, &session).await.unwrap();
    assert_eq!(
        again.log(SideLog::Api).await.unwrap().unwrap().next_seq().0,
        1
    );
    again.close().await.unwrap();
    // Permission denied: a typed error, or a reported fallback.
    let error = SessionBundle::open(
        &config(
            Some("/denied".into()),
            Arc::new(Denied),
            BundleFallback::Fail,
        ),
        &session,
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "permission_denied", "{error}");
    let fallback = SessionBundle::open(
        &config(
            Some("/denied".into()),
            Arc::new(Denied),
            BundleFallback::Disable,
        ),
        &session,
    )
    .await
    .unwrap();
    assert!(!fallback.is_enabled());
    assert_eq!(
        fallback.degraded().map(CodexError::code),
        Some("permission_denied")
    );
    assert_eq!(
        fallback.append(SideLog::Transcript, "{}").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_full_disk_fails_a_bundle_append_typed_and_keeps_what_came_before() {
    let session = Uuid::now_v7();
    let fs = Arc::new(SimFs::new(11));
    let sim = BundleConfig {
        root: Some("/bundles".into()),
        vfs: fs.clone(),
        fallback: BundleFallback::Fail,
        segments: SegmentedConfig::default(),
    };
    let bundle = SessionBundle::open(&sim, &session).await.unwrap();
    bundle
        .append(SideLog::Api, "{\"request\":1}")
        .await
        .unwrap();
    bundle
        .log(SideLog::Api)
        .await
        .unwrap()
        .unwrap()
        .sync(Durability::Data)
        .await
        .unwrap();
    fs.fail_after(0, Fault::NoSpace, FaultMode::Persistent);
    let log = bundle.log(SideLog::Api).await.unwrap().unwrap();
    let full = log
        .append_with(Durability::Data, ["{\"request\":2}"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            full,
            spool_engine::Error::NoSpace { .. } | spool_engine::Error::Io { .. }
        ),
        "{full}"
    );
    fs.clear_faults();
    drop(log);
    // The poisoned log's store closes (its error, if any, is the fault's).
    let _ = bundle.close().await;
    let reopened = SessionBundle::open(&sim, &session).await.unwrap();
    let api = reopened.log(SideLog::Api).await.unwrap().unwrap();
    let page = api.read_page(&api.first_cursor(), 10).await.unwrap();
    assert_eq!(page.records[0].payload, "{\"request\":1}");
}

/// A Vfs over SimFs that starts denying new files and directories when
/// told, as a directory whose permissions change under a running program.
#[derive(Debug)]
struct DenyLater {
    inner: Arc<SimFs>,
    deny: std::sync::atomic::AtomicBool,
}

impl DenyLater {
    fn check(&self, path: &Path) -> io::Result<()> {
        if self.deny.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(denied(path));
        }
        Ok(())
    }
}

impl Vfs for DenyLater {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        self.check(path)?;
        self.inner.open(path, mode)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.check(path)?;
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(from)?;
        self.inner.rename(from, to)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.check(dir)?;
        self.inner.create_dir_all(dir)
    }
    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(dir)?;
        self.inner.remove_dir(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        self.check(path)?;
        self.inner.lock(path)
    }
}

#[tokio::test]
async fn a_recorder_on_a_denied_directory_fails_typed_and_the_store_stays_usable() {
    let vfs = Arc::new(DenyLater {
        inner: Arc::new(SimFs::new(3)),
        deny: std::sync::atomic::AtomicBool::new(false),
    });
    let storage = DirStorage::new(
        vfs.clone(),
        "/store",
        LogFormat::Segmented(SegmentedConfig::default()),
    )
    .unwrap();
    let store = Store::open(Arc::new(storage), StoreConfig::default())
        .await
        .unwrap();
    let first = Recorder::create_in_store(
        &store,
        &NewThread::new(HistoryMode::Legacy, "/w"),
        RecorderOptions::default(),
    )
    .await
    .unwrap();
    let first_id = *first.id();
    first
        .record(vec![
            NewLine::new("event_msg", json!({"type":"user_message","message":"hi"})).unwrap(),
        ])
        .await
        .unwrap();
    first.shutdown().await.unwrap();
    // The directory turns read-only: a new thread cannot be made, typed.
    vfs.deny.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = Recorder::create_in_store(
        &store,
        &NewThread::new(HistoryMode::Legacy, "/w"),
        RecorderOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "permission_denied", "{error}");
    // The thread recorded before is whole.
    vfs.deny.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = tempfile::tempdir().unwrap();
    let written = export_store(&store, out.path(), None).await.unwrap();
    assert!(!written.is_empty());
    assert_eq!(
        written.len(),
        1,
        "no empty thread was left by the failed create: {written:?}"
    );
    let home = CodexHome::new(out.path());
    assert_eq!(home.open_thread(&first_id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_store_thread_is_never_created_twice_and_resumes_where_it_stopped() {
    let root = tempfile::tempdir().unwrap();
    let storage = DirStorage::new(
        Arc::new(spool_backends::StdFs),
        root.path(),
        LogFormat::Segmented(SegmentedConfig::default()),
    )
    .unwrap();
    let store = Store::open(Arc::new(storage), StoreConfig::default())
        .await
        .unwrap();
    let mut thread = NewThread::new(HistoryMode::Paginated, "/w");
    thread.id = Some(Uuid::now_v7());
    let recorder = Recorder::create_in_store(&store, &thread, RecorderOptions::default())
        .await
        .unwrap();
    recorder.record(vec![user("one")]).await.unwrap();
    recorder.shutdown().await.unwrap();
    // The same id again: refused, and the thread there is untouched.
    assert!(
        Recorder::create_in_store(&store, &thread, RecorderOptions::default())
            .await
            .is_err()
    );
    let id = thread.id.unwrap();
    let recorder = Recorder::resume_in_store(&store, &id, RecorderOptions::default())
        .await
        .unwrap();
    recorder.record(vec![user("two")]).await.unwrap();
    recorder.shutdown().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    export_store(&store, out.path(), None).await.unwrap();
    let thread = CodexHome::new(out.path()).open_thread(&id).await.unwrap();
    assert_eq!(thread.len(), 3);
    assert_eq!(spool_compat::check_ordinals(&thread).await.unwrap(), vec![]);
}
