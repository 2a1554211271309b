//! Goal: spool writes Codex threads the way Codex does, so a file spool
//! created or extended reads to Codex like one Codex wrote (ROLLOUT-FORMAT.md
//! §3.2–§3.3, §4.7, §1.5, §1.8; §8 cases 2, 3, 17, 19, 33–35, 39, 51, 53).
//! Method: threads created, resumed, forked and reverted in temporary
//! homes with a fixed clock and zone; the revert and fork headers checked
//! against the ones the real Codex 0.169 wrote for the same cut (corpus
//! `lifecycle-paginated`); every genuine and example line re-encoded.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use spool_compat::{
    CodexError, CodexHome, Floor, Fork, HistoryMode, LineView, NewLine, NewThread, RolloutLine,
    ThreadWriter, TimeZone, WriterLock, WriterOptions, check_ordinals,
};
use spool_engine::ManualClock;
use uuid::Uuid;

use super::codex_import_support::place;
use super::jsonl_files::codex_corpus;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/examples");
/// 2026-08-13T09:15:02.417Z.
const NOW: i64 = 1_786_612_502_417;

fn options() -> WriterOptions {
    options_at(NOW)
}

fn options_at(now: i64) -> WriterOptions {
    WriterOptions {
        clock: Arc::new(ManualClock::new(now)),
        zone: TimeZone::fixed(spool_compat::json::utc_offset_hours(2)),
        floor: Floor::Full,
    }
}

fn line(kind: &str, payload: Value) -> NewLine {
    NewLine::new(kind, payload).unwrap()
}

fn user_item(text: &str) -> NewLine {
    line(
        "event_msg",
        json!({"type":"item_completed","thread_id":"t","turn_id":"u","item":{"type":"UserMessage","id":"i","content":[{"type":"text","text":text,"text_elements":[]}]},"completed_at_ms":0}),
    )
}

fn user_event(text: &str) -> NewLine {
    line(
        "event_msg",
        json!({"type":"user_message","message":text,"local_images":[],"local_audio":[],"text_elements":[]}),
    )
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_terminator('\n')
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn new_threads_are_named_stamped_and_serialized_as_codex_writes_them() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let mut writer = ThreadWriter::create(
        &codex,
        &NewThread::new(HistoryMode::Legacy, "/work"),
        options(),
    )
    .await
    .unwrap();
    let id = *writer.id();
    // Local wall clock (UTC+2) in the name and the dated directory.
    let expected = home.path().join(format!(
        "sessions/2026/08/13/rollout-2026-08-13T11-15-02-{id}.jsonl"
    ));
    assert_eq!(writer.path(), expected);
    assert!(
        WriterLock::path(home.path(), &id).exists(),
        "the lock is held"
    );
    writer.append(&[user_event("hi")]).await.unwrap();
    writer.close().await.unwrap();
    assert!(
        !WriterLock::path(home.path(), &id).exists(),
        "released and removed"
    );
    // §8 case 3 and 39: `timestamp,type,payload`, 3 fraction digits and Z,
    // one `\n` each, no ordinal in legacy mode.
    let bytes = std::fs::read(&expected).unwrap();
    assert!(bytes.ends_with(b"}\n") && !bytes.ends_with(b"\n\n"));
    let lines = file_lines(&expected);
    assert_eq!(
        lines[1],
        r#"{"timestamp":"2026-08-13T09:15:02.417Z","type":"event_msg","payload":{"type":"user_message","message":"hi","local_images":[],"local_audio":[],"text_elements":[]}}"#
    );
    assert!(lines[0].starts_with(&format!(
        r#"{{"timestamp":"2026-08-13T09:15:02.417Z","type":"session_meta","payload":{{"session_id":"{id}","id":"{id}","timestamp":"2026-08-13T09:15:02.417Z","cwd":"/work","#
    )));
    assert!(
        lines[0].ends_with(
            r#""model_provider":null,"base_instructions":null,"history_mode":"legacy"}}"#
        )
    );
    // The thread reads back as what it is.
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(*thread.mode(), HistoryMode::Legacy);
    assert_eq!(thread.len(), 2);
    // A paginated thread: header ordinal 0, records continue.
    let mut writer = ThreadWriter::create(
        &codex,
        &NewThread::new(HistoryMode::Paginated, "/work"),
        options(),
    )
    .await
    .unwrap();
    let pid = *writer.id();
    assert_eq!(writer.next_ordinal(), Some(1));
    writer
        .append(&[user_item("a"), user_item("b")])
        .await
        .unwrap();
    writer.close().await.unwrap();
    let writer = ThreadWriter::open(&codex, &pid, options()).await.unwrap();
    assert_eq!(writer.next_ordinal(), Some(3));
    let thread = codex.open_thread(&pid).await.unwrap();
    assert_eq!(check_ordinals(&thread).await.unwrap(), vec![]);
    assert!(
        file_lines(writer.path())[2].starts_with(
            r#"{"timestamp":"2026-08-13T09:15:02.417Z","ordinal":2,"type":"event_msg""#
        )
    );
}

#[tokio::test]
async fn each_mode_refuses_what_codex_would_not_write_and_never_changes() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let mut legacy = ThreadWriter::create(
        &codex,
        &NewThread::new(HistoryMode::Legacy, "/w"),
        options(),
    )
    .await
    .unwrap();
    let mut paginated = ThreadWriter::create(
        &codex,
        &NewThread::new(HistoryMode::Paginated, "/w"),
        options(),
    )
    .await
    .unwrap();
    let before = std::fs::read(paginated.path()).unwrap();
    for bad in [
        user_event("legacy event"),
        line("session_meta", json!({"id":"x"})),
        line("hologram", json!({})),
    ] {
        assert!(matches!(
            paginated.append(&[user_item("ok"), bad]).await,
            Err(CodexError::Invalid(_))
        ));
    }
    assert_eq!(
        std::fs::read(paginated.path()).unwrap(),
        before,
        "all or nothing"
    );
    assert_eq!(paginated.next_ordinal(), Some(1));
    assert!(legacy.append(&[user_item("paginated item")]).await.is_err());
    assert!(NewLine::new("event_msg", json!([1])).is_err());
    // §8 case 20: a thread never persisted has no file: not found.
    assert!(matches!(
        ThreadWriter::open(&codex, &Uuid::now_v7(), options()).await,
        Err(CodexError::NotFound { .. })
    ));
    // Unknown modes are never written.
    let mut odd = NewThread::new(HistoryMode::Unknown(json!("quantum_v9")), "/w");
    odd.id = Some(Uuid::now_v7());
    assert!(ThreadWriter::create(&codex, &odd, options()).await.is_err());
}

#[tokio::test]
async fn appends_end_a_torn_line_first_and_continue_ordinals() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    // §8 case 17: the fragment becomes its own line; 7 + 1 + 1 lines.
    let torn = std::fs::read(Path::new(EXAMPLES).join("torn-tail.jsonl")).unwrap();
    let (id, path) = place(home.path(), &torn);
    let mut writer = ThreadWriter::open(&codex, &id, options()).await.unwrap();
    writer
        .append(&[user_event("after the crash")])
        .await
        .unwrap();
    writer.close().await.unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..torn.len()], &torn[..]);
    assert_eq!(after[torn.len()], b'\n');
    let lines: Vec<RolloutLine> = file_lines(&path)
        .into_iter()
        .map(|l| RolloutLine::parse(l.into()))
        .collect();
    assert_eq!(lines.len(), 9);
    let invalid = lines
        .iter()
        .filter(|l| matches!(l.view(), LineView::Invalid(_)))
        .count();
    assert_eq!(invalid, 1);
    // §8 case 19 and 34: a valid last line without `\n` gets exactly one,
    // stays parseable, and its ordinal counts.
    let paginated =
        std::fs::read_to_string(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let unterminated = paginated.trim_end_matches('\n').to_owned();
    let (id, path) = place(home.path(), unterminated.as_bytes());
    let mut writer = ThreadWriter::open(&codex, &id, options()).await.unwrap();
    assert_eq!(writer.next_ordinal(), Some(15));
    writer.append(&[user_item("next")]).await.unwrap();
    writer.close().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&paginated));
    assert_eq!(text.matches('\n').count(), 16);
    // §8 case 34: an invalid unterminated tail consumed no ordinal.
    let cut: String = paginated
        .lines()
        .take(5)
        .flat_map(|l| [l, "\n"])
        .collect::<String>()
        + r#"{"timestamp":"2026-08-13T12:00:09.000Z","ordinal":5,"type":"event_"#;
    let (id, _) = place(home.path(), cut.as_bytes());
    let writer = ThreadWriter::open(&codex, &id, options()).await.unwrap();
    assert_eq!(writer.next_ordinal(), Some(5));
    drop(writer);
    // §8 case 35: ordinals stripped: refused, file untouched.
    let stripped: String = paginated
        .lines()
        .map(|l| l.replacen("\"ordinal\":", "\"o\":", 1) + "\n")
        .collect();
    let (id, path) = place(home.path(), stripped.as_bytes());
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::MissingOrdinal { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), stripped);
    // Unknown modes: refused, file untouched (CODEX-0.169.md §3).
    let unknown = std::fs::read(Path::new(EXAMPLES).join("unknown-history-mode.jsonl")).unwrap();
    let (id, path) = place(home.path(), &unknown);
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::UnknownHistoryMode { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), unknown);
    assert!(!WriterLock::path(home.path(), &id).exists());
}

#[tokio::test]
async fn a_zst_only_thread_is_decompressed_before_appending_and_the_lock_excludes() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let plain = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (id, path) = place(home.path(), &plain);
    let zst = path.with_extension("jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    // §8 case 53: another writer holds Codex's lock: Conflict, nothing moved.
    let held = WriterLock::take(home.path(), &id).unwrap();
    let error = ThreadWriter::open(&codex, &id, options())
        .await
        .unwrap_err();
    assert!(matches!(error, CodexError::Conflict { .. }), "{error}");
    assert!(error.to_string().contains("already has an active writer"));
    assert!(zst.exists() && !path.exists());
    drop(held);
    // §8 case 51: decompressed to the plain name, .zst removed, appended.
    let mut writer = ThreadWriter::open(&codex, &id, options()).await.unwrap();
    assert_eq!(writer.path(), path);
    assert!(!zst.exists());
    writer.append(&[user_item("warm again")]).await.unwrap();
    writer.close().await.unwrap();
    let after = std::fs::read(&path).unwrap();
    assert!(after.starts_with(&plain));
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(thread.len(), 16);
    assert_eq!(check_ordinals(&thread).await.unwrap(), vec![]);
}

/// Copies the named corpus files of `lifecycle-paginated` into a new home.
fn lifecycle_copy(corpus: &Path, which: &[&str]) -> tempfile::TempDir {
    let from = corpus.join("lifecycle-paginated/sessions/2026/11/21");
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().join("sessions/2026/11/21");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if which.iter().any(|w| {
            name.contains(w) && !name.contains(&format!("{w}_")) || name.contains(&format!("_{w}"))
        }) {
            std::fs::write(dir.join(&name), std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
    to
}

fn history_base(path: &Path) -> (Value, Option<u64>) {
    let first = file_lines(path).remove(0);
    let value: Value = serde_json::from_str(&first).unwrap();
    (
        value["payload"]["history_base"].clone(),
        value["ordinal"].as_u64(),
    )
}

#[tokio::test]
async fn reverts_and_forks_cut_where_codex_0169_cut() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let root = Uuid::parse_str("01a1fe9d-66fc-79a3-877e-06b8b86e4bfb").unwrap();
    // A day after the corpus was written, so the new files are the newest.
    let options = || options_at(1_795_400_000_000);
    // The root file alone; Codex reverted it keeping 59 lines.
    let home = lifecycle_copy(&corpus, &["01a1fe9d-66fc-79a3-877e-06b8b86e4bfb"]);
    let codex = CodexHome::new(home.path());
    assert_eq!(codex.threads().unwrap().len(), 1);
    let writer = ThreadWriter::revert(&codex, &root, 59, options())
        .await
        .unwrap();
    let segment_path = writer.path().to_owned();
    writer.close().await.unwrap();
    assert!(
        segment_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains(&format!("{root}_"))
    );
    assert_eq!(
        history_base(&segment_path),
        (
            json!({"thread_id":root.to_string(),"end_ordinal_exclusive":59,"end_byte_offset":85373}),
            Some(59)
        )
    );
    let thread = codex.open_thread(&root).await.unwrap();
    assert_eq!(thread.len(), 60);
    assert_eq!(thread.files().current().path, segment_path);
    // Fork the genuine reverted thread (both of Codex's files): the header
    // matches what Codex wrote for its fork.
    let home = lifecycle_copy(
        &corpus,
        &[
            "01a1fe9d-66fc-79a3-877e-06b8b86e4bfb",
            "01a1fe9d-694a-7440-b213-3fa19dc46cb5",
        ],
    );
    let codex = CodexHome::new(home.path());
    let writer = ThreadWriter::fork(&codex, &root, None, options())
        .await
        .unwrap();
    let fork_id = *writer.id();
    let fork_path = writer.path().to_owned();
    writer.close().await.unwrap();
    assert_eq!(
        history_base(&fork_path),
        (
            json!({"thread_id":"01a1fe9d-694a-7440-b213-3fa19dc46cb5","end_ordinal_exclusive":61,"end_byte_offset":23204}),
            Some(61)
        )
    );
    let header: Value = serde_json::from_str(&file_lines(&fork_path)[0]).unwrap();
    let keys: Vec<&str> = header["payload"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .take(5)
        .collect();
    assert_eq!(
        keys,
        [
            "account_scoped",
            "session_id",
            "id",
            "forked_from_id",
            "forked_from_ordinal_exclusive"
        ]
    );
    let fork = codex.open_thread(&fork_id).await.unwrap();
    assert_eq!(fork.len(), 62);
    assert_eq!(
        fork.fork(),
        Some(Fork::Reference {
            parent: root.to_string(),
            ordinal_exclusive: Some(61)
        })
    );
    // Codex 0.169 refuses to revert legacy threads; so does its floor.
    let legacy = std::fs::read(Path::new(EXAMPLES).join("modern-legacy-full.jsonl")).unwrap();
    let (lid, _) = place(home.path(), &legacy);
    let codex_floor = WriterOptions {
        floor: Floor::Codex0169,
        ..options()
    };
    assert!(matches!(
        ThreadWriter::revert(&codex, &lid, 3, codex_floor).await,
        Err(CodexError::Unsupported { .. })
    ));
    // A release-N caller may not resume a paginated thread.
    let release_n = WriterOptions {
        floor: Floor::ReleaseN,
        ..options()
    };
    assert!(matches!(
        ThreadWriter::open(&codex, &root, release_n).await,
        Err(CodexError::Unsupported { .. })
    ));
}

#[tokio::test]
async fn legacy_forks_copy_the_parent_and_are_recognised() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let legacy = std::fs::read(Path::new(EXAMPLES).join("modern-legacy-full.jsonl")).unwrap();
    let (parent, _) = place(home.path(), &legacy);
    let writer = ThreadWriter::fork(&codex, &parent, Some(10), options())
        .await
        .unwrap();
    let id = *writer.id();
    writer.close().await.unwrap();
    let fork = codex.open_thread(&id).await.unwrap();
    assert_eq!(fork.len(), 11);
    assert_eq!(fork.header().meta.id, Some(id.to_string()));
    assert_eq!(
        fork.fork(),
        Some(Fork::Copy {
            parent: parent.to_string()
        })
    );
    assert_eq!(fork.copied_prefix(&codex).await.unwrap(), Some((1, 10)));
}

#[tokio::test]
async fn every_line_re_encodes_to_its_own_bytes() {
    // §8 case 2: decode then re-encode is byte-identical (key order,
    // compactness, floats), for the examples and the genuine corpus.
    let mut files: Vec<std::path::PathBuf> = ["modern-legacy-full.jsonl", "paginated-mode.jsonl"]
        .iter()
        .map(|f| Path::new(EXAMPLES).join(f))
        .collect();
    if let Some(corpus) = codex_corpus() {
        for home in std::fs::read_dir(&corpus).unwrap() {
            files.extend(
                spool_compat::discover(&home.unwrap().path())
                    .unwrap()
                    .into_iter()
                    .map(|f| f.path),
            );
        }
    }
    let mut lines = 0;
    for file in &files {
        for text in file_lines(file) {
            let value: Value = serde_json::from_str(&text).unwrap();
            if has_float(&value) && !file.starts_with(EXAMPLES) {
                continue;
            }
            assert_eq!(
                serde_json::to_string(&value).unwrap(),
                text,
                "{}",
                file.display()
            );
            lines += 1;
        }
    }
    assert!(lines > 48);
}

/// Whether `value` holds a non-integer number. Codex keeps numbers as
/// their original text (serde_json `arbitrary_precision`), so a float it
/// copied from elsewhere (`1795273084.8196099`) may not be the shortest
/// form serde_json prints; spool keeps every stored line's bytes and never
/// re-encodes one, so only lines without floats can be compared here.
fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

#[tokio::test]
async fn a_refused_resume_leaves_every_byte_and_file_as_it_was() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    // A `.zst`-only thread with an unknown mode: refused before the `.zst`
    // is decompressed.
    let unknown = std::fs::read(Path::new(EXAMPLES).join("unknown-history-mode.jsonl")).unwrap();
    let (id, path) = place(home.path(), &unknown);
    let zst = path.with_extension("jsonl.zst");
    let packed = zstd::encode_all(&unknown[..], 3).unwrap();
    std::fs::write(&zst, &packed).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::UnknownHistoryMode { .. })
    ));
    assert_eq!(std::fs::read(&zst).unwrap(), packed);
    assert!(!path.exists());
    // A torn tail after records without ordinals: refused before the
    // writer would end the tail with `\n`.
    let paginated =
        std::fs::read_to_string(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let stripped: String = paginated
        .lines()
        .map(|l| l.replacen("\"ordinal\":", "\"o\":", 1) + "\n")
        .collect::<String>()
        + "{\"timestamp\":\"t\",\"type\":\"event_";
    let (id, path) = place(home.path(), stripped.as_bytes());
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::MissingOrdinal { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), stripped);
    // A valid final line without `\n` and without an ordinal is the last
    // record Codex would see once the line is ended: refused too.
    let unterminated_bare = paginated.clone()
        + r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":null}}"#;
    let (id, path) = place(home.path(), unterminated_bare.as_bytes());
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::MissingOrdinal { line: 16, .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), unterminated_bare);
    // An event type Codex cannot decode is not a record: skipped.
    let future = paginated.clone()
        + "{\"timestamp\":\"t\",\"type\":\"event_msg\",\"payload\":{\"type\":\"future_event\"}}\n";
    let (id, _) = place(home.path(), future.as_bytes());
    let writer = ThreadWriter::open(&codex, &id, options()).await.unwrap();
    assert_eq!(writer.next_ordinal(), Some(15));
    drop(writer);
    // A paginated resume needs the header on the first non-blank line.
    let mut lines: Vec<&str> = paginated.lines().collect();
    lines.swap(0, 1);
    let swapped: String = lines.iter().flat_map(|l| [*l, "\n"]).collect();
    let (id, path) = place(home.path(), swapped.as_bytes());
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::NoSessionMeta { line: 1, .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), swapped);
    // The last ordinal is u64::MAX: nothing can follow; no panic.
    let last = paginated.lines().last().unwrap().replacen(
        "\"ordinal\":14,",
        &format!("\"ordinal\":{},", u64::MAX),
        1,
    );
    let full: String = paginated
        .lines()
        .take(14)
        .flat_map(|l| [l, "\n"])
        .collect::<String>()
        + &last
        + "\n";
    let (id, _) = place(home.path(), full.as_bytes());
    assert!(matches!(
        ThreadWriter::open(&codex, &id, options()).await,
        Err(CodexError::Invalid(_))
    ));
    let thread = codex.open_thread(&id).await.unwrap();
    assert_eq!(check_ordinals(&thread).await.unwrap().len(), 1);
}

#[tokio::test]
async fn decompression_before_append_is_bounded_and_leaves_no_temporary() {
    let home = tempfile::tempdir().unwrap();
    let plain = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (id, path) = place(home.path(), &plain);
    let zst = path.with_extension("jsonl.zst");
    let packed = zstd::encode_all(&plain[..], 3).unwrap();
    std::fs::write(&zst, &packed).unwrap();
    std::fs::remove_file(&path).unwrap();
    // The read-only checks see the image under the default bound; the
    // decompression to disk has its own bound.
    let small = CodexHome::with_config(
        home.path(),
        spool_compat::CodexHomeConfig {
            max_decompressed_bytes: 100,
            ..Default::default()
        },
    );
    assert!(matches!(
        ThreadWriter::open(&small, &id, options()).await,
        Err(CodexError::TooLarge { .. })
    ));
    assert_eq!(std::fs::read(&zst).unwrap(), packed);
    let dir: Vec<String> = std::fs::read_dir(zst.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dir.len(), 1, "only the .zst: {dir:?}");
}

#[tokio::test]
async fn branches_copy_only_records_and_reverts_keep_fork_fields() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    // A legacy parent with a blank line and a damaged line in its history.
    let legacy =
        std::fs::read_to_string(Path::new(EXAMPLES).join("modern-legacy-full.jsonl")).unwrap();
    let mut lines: Vec<&str> = legacy.lines().collect();
    lines.insert(3, "");
    lines.insert(5, "{\"timestamp\":\"t\",\"type\":\"event_");
    let damaged: String = lines.iter().flat_map(|l| [*l, "\n"]).collect();
    let (parent, _) = place(home.path(), damaged.as_bytes());
    let writer = ThreadWriter::fork(&codex, &parent, Some(10), options())
        .await
        .unwrap();
    let fork_path = writer.path().to_owned();
    writer.close().await.unwrap();
    let copied = file_lines(&fork_path);
    assert_eq!(
        copied.len(),
        1 + 8,
        "the header, then the 8 records among 10 lines"
    );
    assert!(
        copied
            .iter()
            .all(|l| !l.is_empty() && serde_json::from_str::<Value>(l).is_ok())
    );
    // Fork a paginated thread, then revert the fork: still a fork.
    let paginated = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (source, _) = place(home.path(), &paginated);
    let later = || options_at(NOW + 60_000);
    let writer = ThreadWriter::fork(&codex, &source, Some(10), later())
        .await
        .unwrap();
    let fork = *writer.id();
    writer.close().await.unwrap();
    let writer = ThreadWriter::revert(&codex, &fork, 11, options_at(NOW + 120_000))
        .await
        .unwrap();
    writer.close().await.unwrap();
    let thread = codex.open_thread(&fork).await.unwrap();
    assert_eq!(thread.chain().len(), 3);
    assert_eq!(
        thread.fork(),
        Some(Fork::Reference {
            parent: source.to_string(),
            ordinal_exclusive: Some(10)
        })
    );
    assert_eq!(check_ordinals(&thread).await.unwrap(), vec![]);
}

#[tokio::test]
async fn archive_moves_a_hidden_zst_twin_with_its_plain_file() {
    let home = tempfile::tempdir().unwrap();
    let codex = CodexHome::new(home.path());
    let plain = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    let (id, path) = place(home.path(), &plain);
    let zst = path.with_extension("jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    let moved = codex.archive(&id).unwrap();
    assert_eq!(moved.len(), 2);
    assert!(!path.exists() && !zst.exists());
    let archived = home.path().join("archived_sessions");
    assert!(archived.join(path.file_name().unwrap()).exists());
    assert!(archived.join(zst.file_name().unwrap()).exists());
    assert!(codex.thread_files(&id).unwrap().archived());
    codex.unarchive(&id).unwrap();
    assert!(path.exists() && zst.exists());
}
