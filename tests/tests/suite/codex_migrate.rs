//! Goal: spool migrates legacy threads to paginated exactly as `codex
//! migrate-rollouts --apply` does (issue 8 item 3; ROLLOUT-FORMAT.md §5.6):
//! byte for byte the file Codex 0.169 wrote for the same thread; a dry run
//! by default; the source byte-identical on every refusal.
//! Method: the genuine `appserver-legacy` home migrated in a copy and
//! compared with the genuine `migrated-appserver-legacy`; composed files for
//! the refusals.

use std::path::Path;

use spool_compat::{CodexHome, HistoryMode, MigrationStatus, migrate_home, migrate_thread};

use super::codex_import_support::{copy_history, place};
use super::jsonl_files::codex_corpus;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/examples");

#[tokio::test]
async fn a_migrated_thread_is_byte_for_byte_what_codex_0169_wrote() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let home = copy_history(&corpus.join("appserver-legacy"));
    let codex = CodexHome::new(home.path());
    let file = spool_compat::discover(home.path()).unwrap().remove(0);
    let before = std::fs::read(&file.path).unwrap();
    // Dry run: eligible, nothing written.
    let report = migrate_home(&codex, None, false).await.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].status, MigrationStatus::Eligible);
    assert_eq!(std::fs::read(&file.path).unwrap(), before);
    // Apply.
    let report = migrate_home(&codex, None, true).await.unwrap();
    assert_eq!(report[0].status, MigrationStatus::Migrated);
    let theirs = corpus
        .join("migrated-appserver-legacy")
        .join(file.path.strip_prefix(home.path()).unwrap());
    assert_eq!(
        String::from_utf8(std::fs::read(&file.path).unwrap()).unwrap(),
        String::from_utf8(std::fs::read(theirs).unwrap()).unwrap()
    );
    // Once paginated, always: nothing more to do.
    let report = migrate_home(&codex, None, true).await.unwrap();
    assert_eq!(report[0].status, MigrationStatus::AlreadyPaginated);
    let thread = codex.open_thread(&file.name.thread).await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Paginated);
    assert_eq!(spool_compat::check_ordinals(&thread).await.unwrap(), vec![]);
    assert!(
        !home
            .path()
            .join("thread-writer-locks")
            .join(format!("{}.lock", file.name.thread))
            .exists()
    );
}

#[tokio::test]
async fn what_spool_cannot_convert_exactly_fails_closed_and_the_source_stays() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    for (file, reason) in [
        ("unknown-history-mode.jsonl", "invalid_session_metadata"),
        ("torn-tail.jsonl", "damaged_lines"),
        ("unknown-future-types.jsonl", "damaged_lines"),
        ("missing-session-meta.jsonl", "malformed_session_meta"),
    ] {
        let bytes = std::fs::read(Path::new(EXAMPLES).join(file)).unwrap();
        let (id, path) = place(home.path(), &bytes);
        match migrate_thread(&codex, &id, true).await.unwrap() {
            MigrationStatus::Failed { reason: got, .. } => assert_eq!(got, reason, "{file}"),
            other => panic!("{file}: {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{file}");
    }
    // The composed legacy example holds a `web_search_end`, whose TurnItem
    // spool does not write yet: refused, naming it. Without it, the file
    // converts: every other event kind it holds is one the migration knows.
    let legacy = std::fs::read(Path::new(EXAMPLES).join("modern-legacy-full.jsonl")).unwrap();
    let (id, path) = place(home.path(), &legacy);
    match migrate_thread(&codex, &id, true).await.unwrap() {
        MigrationStatus::Failed {
            reason: "unsupported_record",
            message,
        } => {
            assert!(message.contains("web_search_end"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), legacy);
    let without: String = String::from_utf8(legacy.clone())
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"web_search_end\""))
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(&path, &without).unwrap();
    assert_eq!(
        migrate_thread(&codex, &id, true).await.unwrap(),
        MigrationStatus::Migrated
    );
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Paginated);
    assert_eq!(spool_compat::check_ordinals(&thread).await.unwrap(), vec![]);
    assert_eq!(thread.len(), without.lines().count() as u64);
    let paginated = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (id, _) = place(home.path(), &paginated);
    assert_eq!(
        migrate_thread(&codex, &id, true).await.unwrap(),
        MigrationStatus::AlreadyPaginated
    );
    // A held writer lock: refused, untouched.
    let (id, path) = place(home.path(), &legacy);
    let held = spool_compat::WriterLock::take(home.path(), &id).unwrap();
    assert!(migrate_thread(&codex, &id, true).await.is_err());
    drop(held);
    assert_eq!(std::fs::read(&path).unwrap(), legacy);
}
