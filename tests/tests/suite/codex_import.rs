//! Goal: a CODEX_HOME imports into a spool store and exports back byte for
//! byte; import is idempotent and incremental, divergence leaves both sides
//! untouched with an exact report, and neither direction follows a symlink
//! out of its tree (issue 8 items 1, 2 and 7).
//! Method: every genuine corpus home through a segmented store on disk and
//! back; temporary homes edited between imports for the incremental,
//! divergent and torn cases.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use spool_backends::{DirStorage, LogFormat, SegmentedConfig, StdFs};
use spool_compat::{CodexHome, ImportOutcome, ImportProgress, export_store, import_home};
use spool_engine::{Store, StoreConfig};
use uuid::Uuid;

use super::codex_import_support::{copy_history, history, place};
use super::jsonl_files::codex_corpus;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/examples");

async fn store(root: &Path) -> Store {
    let storage = DirStorage::new(
        Arc::new(StdFs),
        root,
        LogFormat::Segmented(SegmentedConfig::default()),
    )
    .unwrap();
    Store::open(Arc::new(storage), StoreConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_corpus_home_imports_and_exports_byte_for_byte_and_twice_adds_nothing() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut homes = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let original = home.unwrap().path();
        if !original.is_dir() {
            continue;
        }
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let codex = CodexHome::new(&original);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let progress: spool_compat::ProgressFn =
            Arc::new(move |p: ImportProgress| seen.lock().unwrap().push(p));
        let report = import_home(&codex, &store, Some(progress)).await.unwrap();
        assert!(
            report
                .files
                .iter()
                .all(|f| matches!(f.outcome, ImportOutcome::Created { .. })),
            "{report:?}"
        );
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), report.files.len());
        assert!(calls.windows(2).all(|w| w[0].done < w[1].done));
        assert_eq!(
            calls.last().map(|p| (p.done, p.total)),
            Some((report.files.len(), report.files.len()))
        );
        // Twice: nothing new, nothing changed.
        let logs = store.len();
        let again = import_home(&codex, &store, None).await.unwrap();
        assert!(
            again
                .files
                .iter()
                .all(|f| f.outcome == ImportOutcome::UpToDate),
            "{again:?}"
        );
        assert_eq!(store.len(), logs);
        // Export: the same files, byte for byte.
        let out = tempfile::tempdir().unwrap();
        export_store(&store, out.path(), None).await.unwrap();
        assert_eq!(
            history(out.path()),
            history(&original),
            "{}",
            original.display()
        );
        // Owner-only.
        for file in spool_compat::discover(out.path()).unwrap() {
            assert_eq!(
                std::fs::metadata(&file.path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // The store survives a reopen with everything in it.
        store.close().await.unwrap();
        let reopened = self::store(root.path()).await;
        let out = tempfile::tempdir().unwrap();
        export_store(&reopened, out.path(), None).await.unwrap();
        assert_eq!(history(out.path()), history(&original));
        homes += 1;
    }
    assert_eq!(homes, 6);
}

#[tokio::test]
async fn imports_are_incremental_divergence_is_reported_and_torn_tails_come_back() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = store(root.path()).await;
    let codex = CodexHome::new(home.path());
    let text =
        std::fs::read_to_string(Path::new(EXAMPLES).join("modern-legacy-full.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first: String = lines[..20].iter().flat_map(|l| [*l, "\n"]).collect();
    let (_, path) = place(home.path(), first.as_bytes());
    // A torn tail too.
    let torn = std::fs::read(Path::new(EXAMPLES).join("torn-tail.jsonl")).unwrap();
    let (_, torn_path) = place(home.path(), &torn);
    let report = import_home(&codex, &store, None).await.unwrap();
    let torn_entry = report.files.iter().find(|f| f.path == torn_path).unwrap();
    assert!(torn_entry.torn_tail.is_some());
    // More lines arrive: only they are appended.
    std::fs::write(&path, &text).unwrap();
    let report = import_home(&codex, &store, None).await.unwrap();
    let entry = report.files.iter().find(|f| f.path == path).unwrap();
    assert_eq!(
        entry.outcome,
        ImportOutcome::Appended {
            from: 20,
            to: lines.len() as u64
        }
    );
    let out = tempfile::tempdir().unwrap();
    export_store(&store, out.path(), None).await.unwrap();
    assert_eq!(
        history(out.path()),
        history(home.path()),
        "torn tail included"
    );
    // The torn line is finished by a writer: its fragment becomes a line
    // and new lines follow; the log is a prefix, the rest appended.
    let mut finished = torn.clone();
    finished.extend_from_slice(
        b"\n{\"timestamp\":\"t\",\"type\":\"event_msg\",\"payload\":{\"type\":\"token_count\"}}\n",
    );
    std::fs::write(&torn_path, &finished).unwrap();
    let report = import_home(&codex, &store, None).await.unwrap();
    let entry = report.files.iter().find(|f| f.path == torn_path).unwrap();
    assert!(
        matches!(entry.outcome, ImportOutcome::Appended { .. }),
        "{entry:?}"
    );
    // A line rewritten in the source: divergent, both untouched.
    let before_store = {
        let out = tempfile::tempdir().unwrap();
        export_store(&store, out.path(), None).await.unwrap();
        history(out.path())
    };
    let edited = text.replacen("Add a --verbose flag", "Add a --quiet flag", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    let report = import_home(&codex, &store, None).await.unwrap();
    let entry = report.files.iter().find(|f| f.path == path).unwrap();
    let first_changed = text
        .lines()
        .zip(edited.lines())
        .position(|(a, b)| a != b)
        .unwrap() as u64;
    assert_eq!(
        entry.outcome,
        ImportOutcome::Divergent {
            first_difference: first_changed,
            store_lines: lines.len() as u64,
            file_lines: lines.len() as u64
        }
    );
    assert_eq!(report.divergent().len(), 1);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        edited,
        "the source is never rewritten"
    );
    let out = tempfile::tempdir().unwrap();
    export_store(&store, out.path(), None).await.unwrap();
    assert_eq!(history(out.path()), before_store, "the store is untouched");
    // A source shorter than its log (a prefix) is already in.
    std::fs::write(&path, &first).unwrap();
    let report = import_home(&codex, &store, None).await.unwrap();
    let entry = report.files.iter().find(|f| f.path == path).unwrap();
    assert_eq!(entry.outcome, ImportOutcome::UpToDate);
}

#[tokio::test]
async fn a_log_left_short_by_a_crash_is_completed_by_the_next_import() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = store(root.path()).await;
    let text = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (_, path) = place(home.path(), &text);
    let codex = CodexHome::new(home.path());
    import_home(&codex, &store, None).await.unwrap();
    // What a crash between two import batches leaves: a prefix of the file
    // in the log. Rebuilt here by importing a prefix into a fresh store.
    let root2 = tempfile::tempdir().unwrap();
    let crashed = self::store(root2.path()).await;
    let prefix: Vec<u8> = text
        .split_inclusive(|b| *b == b'\n')
        .take(7)
        .flatten()
        .copied()
        .collect();
    std::fs::write(&path, &prefix).unwrap();
    import_home(&codex, &crashed, None).await.unwrap();
    crashed.close().await.unwrap();
    std::fs::write(&path, &text).unwrap();
    let crashed = self::store(root2.path()).await;
    let report = import_home(&codex, &crashed, None).await.unwrap();
    assert_eq!(
        report.files[0].outcome,
        ImportOutcome::Appended { from: 7, to: 15 }
    );
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    export_store(&store, a.path(), None).await.unwrap();
    export_store(&crashed, b.path(), None).await.unwrap();
    assert_eq!(history(a.path()), history(b.path()));
}

#[tokio::test]
async fn exports_choose_threads_and_never_leave_the_target() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let source = copy_history(&corpus.join("lifecycle-paginated"));
    let root = tempfile::tempdir().unwrap();
    let store = store(root.path()).await;
    import_home(&CodexHome::new(source.path()), &store, None)
        .await
        .unwrap();
    // One thread: its two files, and only its names from the index.
    let thread: Uuid = "01a1fe9d-66fc-79a3-877e-06b8b86e4bfb".parse().unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = export_store(&store, out.path(), Some(&[thread]))
        .await
        .unwrap();
    assert_eq!(written.len(), 3);
    let index = std::fs::read_to_string(out.path().join("session_index.jsonl")).unwrap();
    assert_eq!(index.lines().count(), 1);
    assert!(index.contains(&thread.to_string()));
    // Never over an existing file.
    assert!(
        export_store(&store, out.path(), Some(&[thread]))
            .await
            .is_err()
    );
    // Never through a symlink out of the target.
    let outside = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), target.path().join("sessions")).unwrap();
    assert!(export_store(&store, target.path(), None).await.is_err());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // Never reading through a symlink out of the source.
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        source.path().join("sessions"),
        linked.path().join("sessions"),
    )
    .unwrap();
    assert!(
        import_home(&CodexHome::new(linked.path()), &store, None)
            .await
            .is_err()
    );
    // Metadata that points outside is refused, nothing written.
    let id = spool_engine::LogId::new("01a1fe9d-6983-70d1-b246-38107adaa214").unwrap();
    let mut meta = store.info(&id).unwrap().metadata;
    meta["codex"]["file"] = serde_json::json!(
        "../../escape/rollout-2026-11-21T14-58-11-01a1fe9d-6983-70d1-b246-38107adaa214.jsonl"
    );
    store.update_metadata(&id, meta).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    assert!(export_store(&store, out.path(), None).await.is_err());
    assert!(!out.path().parent().unwrap().join("escape").exists());
}

#[tokio::test]
async fn two_files_with_one_rollout_id_are_both_refused_and_reported() {
    let home = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (_, path) = place(home.path(), &bytes);
    // An interrupted archive left a copy in archived_sessions/ too.
    let archived = home.path().join("archived_sessions");
    std::fs::create_dir_all(&archived).unwrap();
    std::fs::write(archived.join(path.file_name().unwrap()), &bytes).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = store(root.path()).await;
    let report = import_home(&CodexHome::new(home.path()), &store, None)
        .await
        .unwrap();
    assert_eq!(report.files.len(), 2);
    assert!(report.files.iter().all(|f| matches!(
        &f.outcome,
        ImportOutcome::Failed { message, .. } if message.contains("shares its rollout id")
    )));
    assert_eq!(store.len(), 0);
}
