//! Goal: listing a CODEX_HOME shows what Codex shows, without the losses
//! of Codex's filesystem scan; archive and unarchive move files as Codex
//! does (ROLLOUT-FORMAT.md §4.2–§4.5, §1.4; §8 cases 26, 40–45, 47, 48,
//! 52–54).
//! Method: homes of small composed rollouts in temporary directories,
//! listed page by page under the `codex-0.169` and `full` floors.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use spool_compat::{CodexError, CodexHome, Floor, SortBy, ThreadQuery, WriterLock, list_threads};
use uuid::Uuid;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/examples");

/// Writes a minimal legacy rollout for `id` named at `time`, with a user
/// message after `filler` other lines (none if `message` is `None`).
fn thread_file(
    home: &Path,
    time: &str,
    id: &Uuid,
    filler: usize,
    message: Option<&str>,
) -> PathBuf {
    let day = &time[..10].replace('-', "/");
    let dir = home.join("sessions").join(day);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("rollout-{time}-{id}.jsonl"));
    let mut text = format!(
        "{{\"timestamp\":\"2026-08-13T09:00:00.000Z\",\"type\":\"session_meta\",\"payload\":{{\"id\":\"{id}\",\"timestamp\":\"2026-08-13T09:00:00.000Z\",\"cwd\":\"/w\",\"originator\":\"t\",\"cli_version\":\"0\",\"source\":\"cli\",\"model_provider\":\"openai\",\"history_mode\":\"legacy\"}}}}\n"
    );
    for _ in 0..filler {
        text.push_str("{\"timestamp\":\"2026-08-13T09:00:00.001Z\",\"type\":\"event_msg\",\"payload\":{\"type\":\"token_count\",\"info\":null}}\n");
    }
    if let Some(message) = message {
        writeln!(
            text,
            "{{\"timestamp\":\"2026-08-13T09:00:01.000Z\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"user_message\",\"message\":\"{message}\",\"local_images\":[],\"local_audio\":[],\"text_elements\":[]}}}}"
        )
        .unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x019f_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn query(limit: usize, cursor: Option<String>) -> ThreadQuery {
    ThreadQuery {
        limit,
        cursor,
        floor: Floor::Codex0169,
        ..ThreadQuery::default()
    }
}

fn ids(page: &spool_compat::ThreadPage) -> Vec<Uuid> {
    page.data.iter().map(|s| *s.id()).collect()
}

#[tokio::test]
async fn same_second_threads_are_never_skipped_and_pages_are_stable() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    // §8 case 40: three files in one second; Codex's second page is empty.
    for n in 1..=3 {
        thread_file(home.path(), "2026-08-13T11-00-00", &id(n), 0, Some("hi"));
    }
    thread_file(home.path(), "2026-08-13T10-00-00", &id(9), 0, Some("older"));
    let first = list_threads(&codex, &query(2, None)).await.unwrap();
    assert_eq!(ids(&first), vec![id(3), id(2)], "highest ids first");
    // §8 case 41: a thread created after page 1 does not disturb page 2.
    thread_file(home.path(), "2026-08-13T12-00-00", &id(7), 0, Some("new"));
    let second = list_threads(&codex, &query(2, first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(ids(&second), vec![id(1), id(9)]);
    assert_eq!(second.next_cursor, None);
    // §8 case 42–43: Codex's cursor strings are not spool's.
    for codex_cursor in [
        "2025-01-05T12:00:00Z",
        "2025-01-05T12-00-00",
        "2026-08-13T10:00:09.011Z|019f2b00-1111-7222-8333-444455556666",
        "not-a-cursor",
    ] {
        let error = list_threads(&codex, &query(2, Some(codex_cursor.into())))
            .await
            .unwrap_err();
        assert!(
            matches!(error, CodexError::InvalidCursor { .. }),
            "{codex_cursor}"
        );
        assert_eq!(error.code(), "invalid_cursor");
    }
    // Page sizes: 25 by default, at most 100.
    assert_eq!(
        list_threads(&codex, &query(0, None))
            .await
            .unwrap()
            .data
            .len(),
        5
    );
    // Sorted by update time: the newest write first.
    let touched = thread_file(
        home.path(),
        "2026-08-13T09-00-00",
        &id(4),
        0,
        Some("oldest name, newest write"),
    );
    let later = std::time::SystemTime::now() + std::time::Duration::from_mins(1);
    std::fs::File::options()
        .append(true)
        .open(&touched)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let by_update = ThreadQuery {
        sort: SortBy::Updated,
        ..query(1, None)
    };
    assert_eq!(
        ids(&list_threads(&codex, &by_update).await.unwrap()),
        vec![id(4)]
    );
}

#[tokio::test]
async fn there_is_no_scan_cap() {
    // §8 case 47: Codex stops at 10,000 files per request; spool lists all.
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let total = 10_050;
    for n in 0..total {
        let time = format!(
            "2026-08-01T{:02}-{:02}-{:02}",
            n / 3600,
            n / 60 % 60,
            n % 60
        );
        thread_file(home.path(), &time, &id(n as u128), 0, Some("x"));
    }
    let mut seen = HashSet::new();
    let mut cursor = None;
    loop {
        let page = list_threads(&codex, &query(1000, cursor)).await.unwrap();
        assert!(page.data.len() <= 100, "clamped to 100");
        for s in &page.data {
            assert!(seen.insert(*s.id()), "no repeats");
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), total);
}

#[tokio::test]
async fn visibility_follows_codex_under_its_floor_and_shows_everything_under_full() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let late = id(1);
    let silent = id(2);
    let unknown = id(3);
    let normal = id(4);
    // §8 case 44: the first user message at line 250.
    thread_file(home.path(), "2026-08-13T11-00-01", &late, 248, Some("late"));
    // §8 case 45: no user message at all.
    thread_file(home.path(), "2026-08-13T11-00-02", &silent, 3, None);
    // §8 case 26: an unknown mode.
    let mode = std::fs::read(Path::new(EXAMPLES).join("unknown-history-mode.jsonl")).unwrap();
    let dir = home.path().join("sessions/2026/08/13");
    std::fs::write(
        dir.join(format!("rollout-2026-08-13T11-00-03-{unknown}.jsonl")),
        mode,
    )
    .unwrap();
    // The last line Codex's head summary reads: line 210.
    thread_file(
        home.path(),
        "2026-08-13T11-00-04",
        &normal,
        208,
        Some("just in"),
    );
    // §8 case 48: the 2025-08 file has no header: never listed.
    let dir = home.path().join("sessions/2025/08/30");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rollout-2025-08-30T19-32-43-0b1937c0-d7b8-4ded-921b-af28b5a132de.jsonl"),
        std::fs::read(Path::new(EXAMPLES).join("legacy-v2-state-lines-2025-08.jsonl")).unwrap(),
    )
    .unwrap();
    let page = list_threads(&codex, &query(100, None)).await.unwrap();
    assert_eq!(ids(&page), vec![normal]);
    assert_eq!(page.data[0].preview, "just in");
    // The late thread is still there by id (§8 case 44: resumable).
    assert!(codex.open_thread(&late).await.is_ok());
    let full = ThreadQuery {
        floor: Floor::Full,
        ..query(100, None)
    };
    let page = list_threads(&codex, &full).await.unwrap();
    assert_eq!(ids(&page), vec![normal, unknown, silent, late]);
    let unknown_entry = page.data[1].to_json();
    assert_eq!(unknown_entry["historyMode"], "segmented_v3");
    assert!(
        unknown_entry["unreadable"]
            .as_str()
            .unwrap()
            .contains("segmented_v3")
    );
    assert_eq!(page.data[2].preview, "");
}

#[tokio::test]
async fn archive_and_unarchive_move_every_file_and_respect_the_writer_lock() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let thread = id(5);
    let path = thread_file(
        home.path(),
        "2026-08-13T11-12-13",
        &thread,
        0,
        Some("hello"),
    );
    // A second segment of the same thread moves with it.
    let segment = path.with_file_name(format!(
        "rollout-2026-08-13T11-20-00-{thread}_{}.jsonl",
        id(6)
    ));
    std::fs::copy(&path, &segment).unwrap();
    // §8 case 53: a live writer: Conflict, nothing moved.
    let held = WriterLock::take(home.path(), &thread).unwrap();
    assert!(matches!(
        codex.archive(&thread),
        Err(CodexError::Conflict { .. })
    ));
    assert!(path.exists() && segment.exists());
    drop(held);
    // §8 case 52.
    let moved = codex.archive(&thread).unwrap();
    assert_eq!(moved.len(), 2);
    assert!(!path.exists() && !segment.exists());
    let archived = home
        .path()
        .join("archived_sessions")
        .join(path.file_name().unwrap());
    assert!(archived.exists());
    assert!(
        list_threads(&codex, &query(10, None))
            .await
            .unwrap()
            .data
            .is_empty()
    );
    let archived_query = ThreadQuery {
        archived: true,
        ..query(10, None)
    };
    assert_eq!(
        ids(&list_threads(&codex, &archived_query).await.unwrap()),
        vec![thread]
    );
    let before = std::fs::metadata(&archived).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let back = codex.unarchive(&thread).unwrap();
    assert_eq!(back.len(), 2);
    assert!(
        path.exists() && segment.exists(),
        "back in sessions/2026/08/13"
    );
    assert!(
        std::fs::metadata(&path).unwrap().modified().unwrap() > before,
        "mtime touched"
    );
    assert!(!WriterLock::path(home.path(), &thread).exists());
}

#[tokio::test]
async fn names_come_from_the_session_index() {
    // §8 case 54 through the listing: the latest name wins.
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let thread: Uuid = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b".parse().unwrap();
    thread_file(
        home.path(),
        "2026-08-13T11-15-02",
        &thread,
        0,
        Some("flags"),
    );
    std::fs::write(
        home.path().join("session_index.jsonl"),
        std::fs::read(Path::new(EXAMPLES).join("session_index.jsonl")).unwrap(),
    )
    .unwrap();
    let page = list_threads(&codex, &query(10, None)).await.unwrap();
    assert_eq!(page.data[0].name.as_deref(), Some("CLI flags"));
    assert_eq!(page.data[0].to_json()["name"], "CLI flags");
    // §8 case 15: a header without session_id is accepted; session_id = id.
    assert_eq!(page.data[0].to_json()["sessionId"], thread.to_string());
}

#[tokio::test]
async fn provider_filters_match_headers_without_a_provider_as_codex_does() {
    // §8 case 46.
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    thread_file(
        home.path(),
        "2026-08-13T11-00-01",
        &id(1),
        0,
        Some("with provider"),
    );
    let bare = thread_file(
        home.path(),
        "2026-08-13T11-00-02",
        &id(2),
        0,
        Some("no provider"),
    );
    let text = std::fs::read_to_string(&bare).unwrap();
    std::fs::write(
        &bare,
        text.replacen(",\"model_provider\":\"openai\"", "", 1),
    )
    .unwrap();
    let filtered = |providers: &[&str]| {
        let q = ThreadQuery {
            model_providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            default_provider: Some("openai".into()),
            ..query(10, None)
        };
        let codex = codex.clone();
        async move {
            let mut got = ids(&list_threads(&codex, &q).await.unwrap());
            got.sort();
            got
        }
    };
    assert_eq!(filtered(&["openai"]).await, vec![id(1), id(2)]);
    assert_eq!(filtered(&["other"]).await, Vec::<Uuid>::new());
    assert_eq!(filtered(&[]).await, vec![id(1), id(2)]);
}
