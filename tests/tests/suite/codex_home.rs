//! Goal: spool finds exactly the rollout files Codex finds in a CODEX_HOME
//! (ROLLOUT-FORMAT.md §1.2, §1.3, §1.5; §8 cases 48–50).
//! Method: homes built in temporary directories with files in every
//! historic place and name, compared with the list Codex's rules give;
//! then every genuine corpus home.

use std::path::Path;

use spool_compat::{RolloutName, discover};

use super::jsonl_files::codex_corpus;

const A: &str = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
const B: &str = "019f2b00-1111-7222-8333-444455556666";
const OLD: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";

fn touch(home: &Path, relative: &str) {
    let path = home.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"{}\n").unwrap();
}

#[test]
fn discovery_sees_what_codex_sees() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let seen = [
        format!("sessions/2026/08/13/rollout-2026-08-13T11-12-13-{A}.jsonl"),
        // A reverted thread's second file: same thread, its own rollout id.
        format!("sessions/2026/08/13/rollout-2026-08-13T11-20-00-{A}_{B}.jsonl"),
        // Compressed and alone: seen.
        format!("sessions/2026/08/12/rollout-2026-08-12T09-00-00-{B}.jsonl.zst"),
        // Case 48: the 2025-08 layout is discovered (it has no header, but
        // that is the reader's business).
        format!("sessions/2025/08/30/rollout-2025-08-30T19-32-43-{OLD}.jsonl"),
        format!("archived_sessions/rollout-2026-07-01T08-00-00-{B}.jsonl"),
    ];
    let hidden = [
        // Case 50: the plain file hides its `.zst` sibling.
        format!("sessions/2026/08/13/rollout-2026-08-13T11-12-13-{A}.jsonl.zst"),
        // Case 48: the flat 2025-05 layouts are not walked.
        format!("sessions/rollout-2025-05-07-{OLD}.jsonl"),
        format!("sessions/rollout-2025-06-01T10-00-00-{OLD}.jsonl"),
        // Not dated directories, not rollout names.
        format!("sessions/2026/8/13/rollout-2026-08-13T11-12-13-{B}.jsonl"),
        format!("sessions/misc/01/01/rollout-2026-08-13T11-12-13-{B}.jsonl"),
        "sessions/2026/08/13/notes.jsonl".to_owned(),
        format!("sessions/2026/08/13/rollout-2026-08-13T11-12-13-{A}.jsonl.tmp"),
        // Archives are flat: a dated archive path is not walked.
        format!("archived_sessions/2026/07/01/rollout-2026-07-01T08-00-00-{A}.jsonl"),
    ];
    for file in seen.iter().chain(&hidden) {
        touch(h, file);
    }
    let found: Vec<String> = discover(h)
        .unwrap()
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(h)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut want: Vec<String> = seen.to_vec();
    want.sort();
    assert_eq!(found, want);
    let archived: Vec<bool> = discover(h).unwrap().iter().map(|f| f.archived).collect();
    assert_eq!(archived.iter().filter(|a| **a).count(), 1);
}

#[test]
fn every_corpus_rollout_is_discovered_with_its_thread() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut total = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let home = home.unwrap().path();
        if !home.is_dir() {
            continue;
        }
        for file in discover(&home).unwrap() {
            // The name round-trips, and the file's first line names the
            // same thread as its file name.
            let name = file.path.file_name().unwrap().to_str().unwrap();
            assert_eq!(RolloutName::parse(name).unwrap().to_string(), name);
            let text = std::fs::read_to_string(&file.path).unwrap();
            let first: serde_json::Value =
                serde_json::from_str(text.lines().next().unwrap()).unwrap();
            assert_eq!(
                first["payload"]["id"].as_str().unwrap(),
                file.name.thread.to_string(),
                "{}",
                file.path.display()
            );
            total += 1;
        }
    }
    assert_eq!(total, 8);
}

#[tokio::test]
async fn session_index_names_resolve_as_codex_resolves_them() {
    use spool_compat::SessionIndex;
    // §8 case 54: the latest name wins, the malformed last line is ignored,
    // an older name finds nothing.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codex/examples/session_index.jsonl");
    let before = std::fs::read(&path).unwrap();
    let index = SessionIndex::read(&path).await.unwrap();
    let a = uuid::Uuid::parse_str(A).unwrap();
    assert_eq!(index.name(&a), Some("CLI flags"));
    assert_eq!(index.lookup("CLI flags"), vec![a]);
    assert_eq!(index.lookup("verbose flag"), Vec::<uuid::Uuid>::new());
    assert_eq!(
        index.name(&uuid::Uuid::parse_str(B).unwrap()),
        Some("CI failure")
    );
    assert_eq!(index.skipped(), 1);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "reading changed nothing"
    );
    let missing = SessionIndex::read(&path.with_file_name("absent.jsonl"))
        .await
        .unwrap();
    assert_eq!(missing, SessionIndex::default());

    // The genuine index names a thread whose rollout is in the same home.
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let home = corpus.join("lifecycle-paginated");
    let index = SessionIndex::read(&home.join("session_index.jsonl"))
        .await
        .unwrap();
    assert_eq!(index.skipped(), 0);
    let threads: Vec<uuid::Uuid> = discover(&home)
        .unwrap()
        .iter()
        .map(|f| f.name.thread)
        .collect();
    let named = threads.iter().filter(|t| index.name(t).is_some()).count();
    assert!(named >= 1, "no thread of the home is named");
}
