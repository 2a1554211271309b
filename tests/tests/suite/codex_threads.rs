//! Goal: a CODEX_HOME reads as spool logs with Codex's outcomes: every
//! thread of every genuine home opens, reads back byte for byte, follows
//! its `history_base` lineage (revert segments and paginated forks) with
//! ordinals that match, `.zst` files read like their plain twins, and the
//! §8 cases about headers, modes, ordinals and forks give Codex's result
//! (ROLLOUT-FORMAT.md §3.3, §3.6, §4.7, §5; CODEX-0.169.md §2–§3).
//! Method: the genuine corpus read in place (never copied into the repo);
//! temporary homes built from the composed examples and from edited
//! copies of corpus files for the damage cases.

use std::path::{Path, PathBuf};

use spool_compat::{
    CodexError, CodexHome, Deviation, Fork, HistoryMode, LineView, check_ordinals, next_ordinal,
};
use uuid::Uuid;

use super::jsonl_files::codex_corpus;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/examples");
const ROOT: &str = "01a1fe9d-66fc-79a3-877e-06b8b86e4bfb";
const SEGMENT: &str = "01a1fe9d-694a-7440-b213-3fa19dc46cb5";
const FORK: &str = "01a1fe9d-6983-70d1-b246-38107adaa214";

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

/// Puts `bytes` into `home` as the rollout of `thread` (and `rollout`).
fn place(home: &Path, time: &str, thread: &str, rollout: Option<&str>, bytes: &[u8]) -> PathBuf {
    let name = match rollout {
        Some(r) => format!("rollout-{time}-{thread}_{r}.jsonl"),
        None => format!("rollout-{time}-{thread}.jsonl"),
    };
    let dir = home.join("sessions/2026/08/13");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(EXAMPLES).join(name)).unwrap()
}

/// Copies a corpus home's rollout files into a temporary home.
fn copy_home(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for file in spool_compat::discover(from).unwrap() {
        let target = to.path().join(file.path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file.path, &target).unwrap();
        let mut perms = std::fs::metadata(&target).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&target, perms).unwrap();
    }
    to
}

/// The bytes of a thread's history, line by line with `\n`.
async fn history_bytes(home: &CodexHome, id: &Uuid) -> Vec<u8> {
    let thread = home.open_thread(id).await.unwrap();
    let mut out = Vec::new();
    for (_, line) in thread.read_lines(0, thread.len()).await.unwrap() {
        out.extend_from_slice(line.bytes());
        out.push(b'\n');
    }
    out
}

#[tokio::test]
async fn every_genuine_thread_opens_reads_back_and_has_codexs_ordinals() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut threads = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let home = CodexHome::new(home.unwrap().path());
        for files in home.threads().unwrap() {
            let thread = home.open_thread(&files.id).await.unwrap();
            threads += 1;
            // Each link's lines are its file's bytes, up to the cut.
            for link in thread.chain() {
                let file = std::fs::read(link.segment.path()).unwrap();
                let lines = thread
                    .read_lines(link.start, link.start + link.lines)
                    .await
                    .unwrap();
                let mut rebuilt = Vec::new();
                for (_, line) in &lines {
                    rebuilt.extend_from_slice(line.bytes());
                    rebuilt.push(b'\n');
                }
                assert!(
                    file.starts_with(&rebuilt),
                    "{}",
                    link.segment.path().display()
                );
                assert_eq!(lines.len() as u64, link.lines);
            }
            // Genuine paginated histories carry exactly base + seq.
            assert_eq!(
                check_ordinals(&thread).await.unwrap(),
                vec![],
                "{}",
                files.id
            );
            // The spool log over the thread pages through the same lines.
            let page = thread
                .log()
                .read_page(&thread.log().first_cursor(), 1000)
                .await
                .unwrap();
            assert_eq!(page.records.len() as u64, thread.len());
        }
    }
    assert_eq!(threads, 7, "threads across the corpus homes");
}

#[tokio::test]
async fn revert_segments_and_paginated_forks_compose_through_history_base() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let home = CodexHome::new(corpus.join("lifecycle-paginated"));
    // The reverted thread: the first file cut at byte 85373 (59 lines, the
    // reverted turn stays in the file but out of the history), then the
    // new segment's 2 lines, ordinals 59 and 60.
    let thread = home.open_thread(&uuid(ROOT)).await.unwrap();
    let chain: Vec<(u64, u64, u64)> = thread
        .chain()
        .iter()
        .map(|l| (l.start, l.lines, l.ordinal_base))
        .collect();
    assert_eq!(chain, vec![(0, 59, 0), (59, 2, 59)]);
    assert_eq!(thread.len(), 61);
    assert_eq!(
        thread.chain()[0].segment.lines(),
        68,
        "the file keeps every line"
    );
    assert_eq!(thread.files().files.len(), 2);
    assert_eq!(
        thread.files().current().name.rollout,
        uuid(SEGMENT),
        "the newest segment is current"
    );
    assert_eq!(thread.fork(), None);
    // The fork: its own 11 lines after the parent's 61, through the
    // parent's segment (history_base names the segment's rollout id).
    let fork = home.open_thread(&uuid(FORK)).await.unwrap();
    let chain: Vec<(u64, u64)> = fork.chain().iter().map(|l| (l.start, l.lines)).collect();
    assert_eq!(chain, vec![(0, 59), (59, 2), (61, 11)]);
    assert_eq!(
        fork.fork(),
        Some(Fork::Reference {
            parent: ROOT.into(),
            ordinal_exclusive: Some(61)
        })
    );
    assert_eq!(*fork.mode(), HistoryMode::Paginated);
    // The fork's history begins with exactly the parent's history.
    let parent = history_bytes(&home, &uuid(ROOT)).await;
    let child = history_bytes(&home, &uuid(FORK)).await;
    assert!(child.starts_with(&parent));
    assert!(child.len() > parent.len());
    // Where each line lives.
    let (link, local) = fork.locate(60).unwrap();
    assert_eq!(
        (link.segment.file().name.rollout, local),
        (uuid(SEGMENT), 1)
    );
    assert!(fork.locate(72).is_none());
}

#[tokio::test]
async fn a_lineage_that_disagrees_is_a_typed_error_naming_both() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let original = corpus.join("lifecycle-paginated");
    let edit = |from: &str, to: &str| {
        let home = copy_home(&original);
        let files = spool_compat::discover(home.path()).unwrap();
        let segment = files
            .iter()
            .find(|f| f.name.rollout == uuid(SEGMENT))
            .unwrap();
        let text = std::fs::read_to_string(&segment.path).unwrap();
        assert!(text.contains(from));
        std::fs::write(&segment.path, text.replacen(from, to, 1)).unwrap();
        home
    };
    let rt = |home: &tempfile::TempDir| {
        let home = CodexHome::new(home.path());
        async move { home.open_thread(&uuid(ROOT)).await.map(|_| ()) }
    };
    // The ordinal says 58 where 59 lines come before the byte offset.
    let home = edit(
        "\"end_ordinal_exclusive\":59",
        "\"end_ordinal_exclusive\":58",
    );
    match rt(&home).await {
        Err(CodexError::LineageMismatch {
            lines: 59,
            end_ordinal_exclusive: 58,
            offset: 85373,
            next_ordinal: Some(59),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // A byte offset inside a line.
    let home = edit("\"end_byte_offset\":85373", "\"end_byte_offset\":85370");
    assert!(matches!(
        rt(&home).await,
        Err(CodexError::BaseOffset { offset: 85370, .. })
    ));
    // The base file is gone.
    let home = copy_home(&original);
    for f in spool_compat::discover(home.path()).unwrap() {
        if f.name.rollout == uuid(ROOT) {
            std::fs::remove_file(&f.path).unwrap();
        }
    }
    let error = rt(&home).await.unwrap_err();
    assert!(matches!(error, CodexError::MissingBase { ref base, .. } if base == ROOT));
    assert_eq!(error.code(), "bad_lineage");
}

#[tokio::test]
async fn a_zst_rollout_reads_like_its_plain_twin_and_the_plain_file_wins() {
    let home = tempfile::tempdir().unwrap();
    let plain = example("paginated-mode.jsonl");
    let id = "019f2b00-1111-7222-8333-444455556666";
    let path = place(home.path(), "2026-08-13T12-00-00", id, None, &plain);
    let zst = path.with_extension("jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    let codex = CodexHome::new(home.path());
    // Both present (§8 case 50): the plain file is the one read.
    let thread = codex.open_thread(&uuid(id)).await.unwrap();
    assert_eq!(thread.files().files.len(), 1);
    assert!(!thread.files().current().name.compressed);
    let from_plain = history_bytes(&codex, &uuid(id)).await;
    assert_eq!(from_plain, plain);
    // Only the .zst: decompressed into memory, read the same, the file
    // left as it was.
    std::fs::remove_file(&path).unwrap();
    let before = std::fs::read(&zst).unwrap();
    let thread = codex.open_thread(&uuid(id)).await.unwrap();
    assert!(thread.files().current().name.compressed);
    assert_eq!(history_bytes(&codex, &uuid(id)).await, plain);
    assert_eq!(check_ordinals(&thread).await.unwrap(), vec![]);
    assert_eq!(std::fs::read(&zst).unwrap(), before);
    assert!(!path.exists());
    // Garbage and oversized images are typed errors.
    std::fs::write(&zst, b"not zstd").unwrap();
    assert!(matches!(
        codex.open_thread(&uuid(id)).await,
        Err(CodexError::Zstd { .. })
    ));
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    let small = CodexHome::with_config(
        home.path(),
        spool_compat::CodexHomeConfig {
            max_decompressed_bytes: 100,
            ..Default::default()
        },
    );
    assert!(matches!(
        small.open_thread(&uuid(id)).await,
        Err(CodexError::TooLarge { max: 100, .. })
    ));
}

#[tokio::test]
async fn headers_and_modes_give_codexs_outcomes() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let open = |file: &str| {
        let id = Uuid::now_v7();
        place(
            home.path(),
            "2026-08-13T10-00-00",
            &id.to_string(),
            None,
            &example(file),
        );
        let codex = codex.clone();
        async move { codex.open_thread(&id).await }
    };
    // §8 case 1 and 25: the legacy example; an absent mode is legacy.
    let thread = open("modern-legacy-full.jsonl").await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Legacy);
    assert_eq!(
        thread.header().meta.id.as_deref(),
        Some("019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b")
    );
    assert_eq!(thread.len(), 33);
    // §8 case 26: unknown modes fail closed, naming the value.
    match open("unknown-history-mode.jsonl").await {
        Err(e @ CodexError::UnknownHistoryMode { .. }) => {
            assert_eq!(e.code(), "unknown_history_mode");
            assert!(e.to_string().contains("segmented_v3"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // §8 case 21, 10, 48.
    assert!(matches!(
        open("missing-session-meta.jsonl").await,
        Err(CodexError::NoSessionMeta { line: 1, .. })
    ));
    assert!(matches!(
        open("blank-only.jsonl").await,
        Err(CodexError::Empty { .. })
    ));
    assert!(matches!(
        open("legacy-v2-state-lines-2025-08.jsonl").await,
        Err(CodexError::Empty { .. })
    ));
    // §8 case 16 and 18: a torn tail is not a line of the history; an
    // invalid UTF-8 fragment is reported, not fatal (the recommended
    // result), and no byte is written.
    let thread = open("torn-tail.jsonl").await.unwrap();
    assert!(
        thread.chain()[0]
            .segment
            .backend()
            .report()
            .torn_tail
            .is_some()
    );
    let thread = open("torn-tail-invalid-utf8.jsonl").await.unwrap();
    assert!(
        thread.chain()[0]
            .segment
            .backend()
            .report()
            .torn_tail
            .is_some()
    );
    // §8 case 23: a legacy fork is recognised, its copy of the parent found.
    place(
        home.path(),
        "2026-08-13T11-15-02",
        "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b",
        None,
        &example("modern-legacy-full.jsonl"),
    );
    let fork_id = "019f2f00-9999-7888-8777-666655554444";
    place(
        home.path(),
        "2026-08-13T15-00-00",
        fork_id,
        None,
        &example("fork-legacy.jsonl"),
    );
    let fork = codex.open_thread(&uuid(fork_id)).await.unwrap();
    assert_eq!(fork.header().meta.id.as_deref(), Some(fork_id));
    assert_eq!(
        fork.fork(),
        Some(Fork::Copy {
            parent: "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b".into()
        })
    );
    assert_eq!(fork.copied_prefix(&codex).await.unwrap(), Some((1, 7)));
    // Unknown thread.
    assert!(matches!(
        codex.open_thread(&Uuid::now_v7()).await,
        Err(CodexError::NotFound { .. })
    ));
}

#[tokio::test]
async fn ordinal_deviations_are_reported_and_accepted() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let id = "019f2e00-1234-7567-89ab-cdef01234567";
    place(
        home.path(),
        "2026-08-13T13-00-00",
        id,
        None,
        &example("paginated-duplicate-ordinal.jsonl"),
    );
    // §8 case 37: the file reads (8 lines); the reused 5 is reported.
    let thread = codex.open_thread(&uuid(id)).await.unwrap();
    assert_eq!(thread.len(), 8);
    let deviations = check_ordinals(&thread).await.unwrap();
    let kinds: Vec<(u64, u64, Option<u64>, Deviation)> = deviations
        .iter()
        .map(|d| (d.line, d.expected, d.found, d.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (7, 6, Some(5), Deviation::Duplicated),
            (8, 7, Some(6), Deviation::Behind)
        ]
    );
    // CODEX-0.169.md §3: shifted and only-on-the-last-line are accepted too.
    let paginated = String::from_utf8(example("paginated-mode.jsonl")).unwrap();
    let shifted: String = paginated
        .lines()
        .enumerate()
        .map(|(i, l)| {
            l.replacen(
                &format!("\"ordinal\":{i},"),
                &format!("\"ordinal\":{},", i + 10),
                1,
            ) + "\n"
        })
        .collect();
    let sid = "019f2b00-1111-7222-8333-444455556666";
    let path = place(
        home.path(),
        "2026-08-13T12-00-00",
        sid,
        None,
        shifted.as_bytes(),
    );
    let thread = codex.open_thread(&uuid(sid)).await.unwrap();
    let deviations = check_ordinals(&thread).await.unwrap();
    assert_eq!(deviations.len(), 15);
    assert!(deviations.iter().all(|d| d.kind == Deviation::Ahead));
    let segment = &thread.chain()[0].segment;
    assert_eq!(next_ordinal(segment, 0, None).await.unwrap(), 25);
    let last_only: String = paginated
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 14 {
                l.to_owned() + "\n"
            } else {
                l.replacen(&format!("\"ordinal\":{i},"), "", 1) + "\n"
            }
        })
        .collect();
    std::fs::write(&path, &last_only).unwrap();
    let thread = codex.open_thread(&uuid(sid)).await.unwrap();
    let missing = check_ordinals(&thread).await.unwrap();
    assert_eq!(missing.len(), 14);
    assert!(missing.iter().all(|d| d.kind == Deviation::Missing));
    assert_eq!(
        next_ordinal(&thread.chain()[0].segment, 0, None)
            .await
            .unwrap(),
        15
    );
    // §8 case 35: a last record without an ordinal refuses continuation.
    let stripped: String = paginated
        .lines()
        .map(|l| l.replacen("\"ordinal\":", "\"x\":", 1) + "\n")
        .collect();
    std::fs::write(&path, &stripped).unwrap();
    let thread = codex.open_thread(&uuid(sid)).await;
    // With no ordinal on the header either, the file still reads.
    let thread = thread.unwrap();
    assert!(matches!(
        next_ordinal(&thread.chain()[0].segment, 0, None).await,
        Err(CodexError::MissingOrdinal { line: 15, .. })
    ));
    assert!(thread.read_lines(0, 1).await.is_ok());
}

#[tokio::test]
async fn writers_continue_ordinals_as_codex_does() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let paginated = String::from_utf8(example("paginated-mode.jsonl")).unwrap();
    let sid = "019f2b00-1111-7222-8333-444455556666";
    let path = place(home.path(), "2026-08-13T12-00-00", sid, None, b"");
    // §8 case 33 (gap 0, 4 continues at 5) and 36 (sub-agent incomplete).
    let gap = format!(
        "{}\n{}\n",
        paginated.lines().next().unwrap(),
        paginated
            .lines()
            .nth(1)
            .unwrap()
            .replacen("\"ordinal\":1,", "\"ordinal\":4,", 1)
    );
    std::fs::write(&path, &gap).unwrap();
    let thread = codex.open_thread(&uuid(sid)).await.unwrap();
    let segment = &thread.chain()[0].segment;
    assert_eq!(next_ordinal(segment, 0, None).await.unwrap(), 5);
    assert_eq!(next_ordinal(segment, 0, Some(5)).await.unwrap(), 5);
    assert!(matches!(
        next_ordinal(segment, 0, Some(6)).await,
        Err(CodexError::IncompleteSubagent {
            start: 6,
            last: Some(4),
            ..
        })
    ));
    // A legacy thread's ordinals mean nothing: nothing to report.
    let lid = Uuid::now_v7();
    let legacy_with_ordinals: String = String::from_utf8(example("modern-legacy-full.jsonl"))
        .unwrap()
        .lines()
        .map(|l| l.replacen("{\"timestamp\":\"", "{\"ordinal\":99,\"timestamp\":\"", 1) + "\n")
        .collect();
    place(
        home.path(),
        "2026-08-13T09-00-00",
        &lid.to_string(),
        None,
        legacy_with_ordinals.as_bytes(),
    );
    let thread = codex.open_thread(&lid).await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Legacy);
    assert_eq!(check_ordinals(&thread).await.unwrap(), vec![]);
    assert!(matches!(
        thread.read_lines(0, 1).await.unwrap()[0].1.view(),
        LineView::Envelope(_)
    ));
}

#[tokio::test]
async fn codexs_projection_freezes_where_codex_does_and_full_reads_on() {
    use spool_compat::{Floor, Operation};
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let id = "019f2e00-1234-7567-89ab-cdef01234567";
    place(
        home.path(),
        "2026-08-13T13-00-00",
        id,
        None,
        &example("paginated-duplicate-ordinal.jsonl"),
    );
    let thread = codex.open_thread(&uuid(id)).await.unwrap();
    // §8 case 37: Codex's projection stops at the reused ordinal 5: the
    // second turn never shows; spool's full floor reads on.
    let codex_turns = spool_compat::view::turns(&thread, Floor::Codex0169, Operation::Turns)
        .await
        .unwrap();
    let full_turns = spool_compat::view::turns(&thread, Floor::Full, Operation::Turns)
        .await
        .unwrap();
    assert_eq!(codex_turns.len(), 1);
    assert_eq!(full_turns.len(), 2);
    // §8 case 38: one invalid line covers a gap of one ordinal, not two.
    let paginated = String::from_utf8(example("paginated-mode.jsonl")).unwrap();
    let lines: Vec<&str> = paginated.lines().collect();
    let with_gap = |gap: u64| -> String {
        let mut out = format!("{}\n{}\nnot json\n", lines[0], lines[1]);
        for (i, line) in lines.iter().enumerate().skip(2) {
            let shifted = line.replacen(
                &format!("\"ordinal\":{i},"),
                &format!("\"ordinal\":{},", i as u64 + gap - 1),
                1,
            );
            out.push_str(&shifted);
            out.push('\n');
        }
        out
    };
    let rows = |text: String| {
        let parsed: Vec<(u64, spool_compat::RolloutLine)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                (
                    i as u64,
                    spool_compat::RolloutLine::parse(l.to_owned().into()),
                )
            })
            .collect();
        (spool_compat::view::codex_projectable(&parsed), parsed.len())
    };
    // (`with_gap(n)`: the line after the invalid one carries expected + n - 1.)
    let (accepted, total) = rows(with_gap(1));
    assert_eq!(accepted, total, "no gap at all");
    let (accepted, total) = rows(with_gap(2));
    assert_eq!(
        accepted, total,
        "a gap of one after one invalid line is covered"
    );
    let (accepted, _) = rows(with_gap(3));
    assert_eq!(
        accepted, 3,
        "a gap of two after one invalid line freezes the projection"
    );
}

#[tokio::test]
async fn later_headers_of_the_same_id_update_memory_mode_but_never_clear_git() {
    // §8 case 24 and 23.
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let id = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
    place(
        home.path(),
        "2026-08-13T11-15-02",
        id,
        None,
        &example("modern-legacy-full.jsonl"),
    );
    let thread = codex.open_thread(&uuid(id)).await.unwrap();
    let meta = thread.metadata().await.unwrap();
    assert_eq!(meta["memory_mode"], "disabled");
    assert!(meta["git"].is_object(), "git from the first header stays");
    assert!(thread.header().meta.payload.get("memory_mode").is_none());
    // A legacy fork's copied parent header is not the fork's metadata.
    let fork_id = "019f2f00-9999-7888-8777-666655554444";
    place(
        home.path(),
        "2026-08-13T15-00-00",
        fork_id,
        None,
        &example("fork-legacy.jsonl"),
    );
    let fork = codex.open_thread(&uuid(fork_id)).await.unwrap();
    assert_eq!(fork.metadata().await.unwrap()["id"], fork_id);
}

#[tokio::test]
async fn every_corpus_file_and_session_index_reads_back_byte_for_byte() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut files = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let home_path = home.unwrap().path();
        let codex = CodexHome::new(&home_path);
        for file in codex.files().unwrap() {
            let original = std::fs::read(&file.path).unwrap();
            let segment = codex.open_segment(file).unwrap();
            let mut rebuilt = Vec::new();
            for line in segment.read_lines(0, segment.lines()).await.unwrap() {
                rebuilt.extend_from_slice(line.bytes());
                rebuilt.push(b'\n');
            }
            assert_eq!(rebuilt, original, "{}", segment.path().display());
            files += 1;
        }
        let index = home_path.join("session_index.jsonl");
        if index.exists() {
            let original = std::fs::read(&index).unwrap();
            let backend = spool_backends::JsonlBackend::open_read_only(
                std::sync::Arc::new(spool_backends::StdFs),
                &index,
                spool_backends::JsonlConfig::foreign(),
            )
            .unwrap();
            let records = spool_engine::Backend::read(
                &backend,
                spool_engine::ReadRange::all_from(spool_engine::Seq(0)),
            )
            .await
            .unwrap();
            let rebuilt: Vec<u8> = records
                .iter()
                .flat_map(|r| r.payload.iter().copied().chain([b'\n']))
                .collect();
            assert_eq!(rebuilt, original);
            files += 1;
        }
    }
    assert_eq!(files, 9);
}

#[tokio::test]
async fn every_corpus_home_exports_byte_for_byte() {
    // Issue 7, done when: every rollout file and session_index.jsonl of
    // every corpus home round-trips byte-identically through open, read
    // and export.
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut compared = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let original = home.unwrap().path();
        if !original.is_dir() {
            continue;
        }
        let codex = CodexHome::new(&original);
        let out = tempfile::tempdir().unwrap();
        for thread in codex.threads().unwrap() {
            for path in codex.export_thread(&thread.id, out.path()).await.unwrap() {
                let relative = path.strip_prefix(out.path()).unwrap();
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    std::fs::read(original.join(relative)).unwrap(),
                    "{}",
                    relative.display()
                );
                compared += 1;
            }
        }
        if codex.export_session_index(out.path()).await.unwrap() {
            assert_eq!(
                std::fs::read(out.path().join("session_index.jsonl")).unwrap(),
                std::fs::read(original.join("session_index.jsonl")).unwrap()
            );
            compared += 1;
        }
        // Never over an existing file.
        let first = codex.threads().unwrap().remove(0);
        assert!(codex.export_thread(&first.id, out.path()).await.is_err());
    }
    assert_eq!(compared, 9);
}

#[tokio::test]
async fn exports_keep_torn_tails_and_write_zst_threads_plain() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let torn = example("torn-tail-invalid-utf8.jsonl");
    let id = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
    let path = place(home.path(), "2026-08-13T11-15-02", id, None, &torn);
    let out = tempfile::tempdir().unwrap();
    let written = codex.export_thread(&uuid(id), out.path()).await.unwrap();
    assert_eq!(std::fs::read(&written[0]).unwrap(), torn);
    // Compressed only: exported as the plain file.
    let plain = example("paginated-mode.jsonl");
    std::fs::write(
        path.with_extension("jsonl.zst"),
        zstd::encode_all(&plain[..], 3).unwrap(),
    )
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = codex.export_thread(&uuid(id), out.path()).await.unwrap();
    assert!(written[0].to_string_lossy().ends_with(".jsonl"));
    assert_eq!(std::fs::read(&written[0]).unwrap(), plain);
}
