//! Legacy → paginated migration, as `codex migrate-rollouts` does it
//! (ROLLOUT-FORMAT.md §5.6; CODEX-0.169.md §2 "Migration"), byte for byte.
//!
//! The file is rewritten in place, under the thread's writer lock: every
//! line gets its `ordinal` (0, 1, …) right after its `timestamp`; the header
//! says `"history_mode":"paginated"`; the legacy UI events become
//! `item_completed` TurnItems (`user_message` → UserMessage,
//! `agent_message` → AgentMessage, `agent_reasoning` and
//! `agent_reasoning_raw_content` → Reasoning, `patch_apply_end` → FileChange
//! keeping its `call_id`, `context_compacted` → ContextCompaction; the turn
//! is the enclosing `task_started`'s, or the latest `turn_context`'s in older
//! files), with Codex's synthetic ids (`item-1`, `item-2`, …
//! per file) and `completed_at_ms` = the line's timestamp; records Codex
//! retired are dropped; a legacy fork's embedded parent header is dropped,
//! its history staying a full copy. Every other line keeps its bytes.
//!
//! A dry run (the default) only reports. `apply` writes the result to a
//! sibling temporary file, syncs it, checks the source did not change
//! meanwhile, and renames it over the source: the source is byte-identical
//! on any failure. What spool cannot convert exactly as Codex does (an
//! unknown mode, damaged or blank lines, legacy events without a known
//! TurnItem, a compressed file, lines over 16 MiB) fails closed with the
//! reason.
//!
//! In a home with Codex's state database, the thread's `threads` row is
//! promoted to `paginated` too (`state_db.rs`): Codex refuses a thread
//! whose row and file disagree. Nothing else of Codex's SQLite is touched;
//! its projection is rebuilt by Codex on `thread/resume`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::home::CodexHome;
use crate::line::{HistoryMode, Item, LineView, RolloutLine};
use crate::lock::WriterLock;

/// Codex's bound on a line it migrates.
pub const MAX_MIGRATED_LINE: usize = 16 << 20;

/// Records Codex's migration drops (§2.7).
const RETIRED_EVENTS: &[&str] = &[
    "guardian_assessment",
    "thread_name_updated",
    "undo_completed",
];

/// What a migration found, per thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrationStatus {
    /// Legacy, convertible (dry run).
    Eligible,
    /// Converted (apply).
    Migrated,
    /// Already paginated: nothing to do.
    AlreadyPaginated,
    /// Not converted; the file is untouched.
    Failed {
        /// Codex's failure reason where it has one (`invalid_session_metadata`),
        /// else spool's.
        reason: &'static str,
        /// What exactly, and where.
        message: String,
    },
}

/// One thread's migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The thread.
    pub thread: Uuid,
    /// Its file.
    pub path: PathBuf,
    /// What happened.
    pub status: MigrationStatus,
}

/// Migrates (with `apply`) or inspects every thread of `home`, or only
/// `threads`.
pub async fn migrate_home(
    home: &CodexHome,
    threads: Option<&[Uuid]>,
    apply: bool,
) -> Result<Vec<Migration>> {
    migrate_home_with(home, threads, apply, None).await
}

/// [`migrate_home`], calling `progress` after each thread of the home.
pub async fn migrate_home_with(
    home: &CodexHome,
    threads: Option<&[Uuid]>,
    apply: bool,
    progress: Option<crate::ProgressFn>,
) -> Result<Vec<Migration>> {
    let mut out = Vec::new();
    let all = home.threads()?;
    let total = all.len();
    for (i, files) in all.into_iter().enumerate() {
        if let Some(progress) = &progress {
            progress(crate::ImportProgress { done: i, total });
        }
        if threads.is_some_and(|t| !t.contains(&files.id)) {
            continue;
        }
        let path = files.current().path.clone();
        let status = match migrate_thread(home, &files.id, apply).await {
            Ok(status) => status,
            Err(e) => MigrationStatus::Failed {
                reason: e.code(),
                message: e.to_string(),
            },
        };
        out.push(Migration {
            thread: files.id,
            path,
            status,
        });
    }
    Ok(out)
}

/// Migrates (with `apply`) or inspects one thread.
pub async fn migrate_thread(home: &CodexHome, id: &Uuid, apply: bool) -> Result<MigrationStatus> {
    let _lock = if apply {
        Some(WriterLock::take(home.root(), id)?)
    } else {
        None
    };
    let files = home.thread_files(id)?;
    let file = files.current().clone();
    let fail =
        |reason: &'static str, message: String| Ok(MigrationStatus::Failed { reason, message });
    if file.name.compressed {
        return fail(
            "compressed",
            format!(
                "{} is compressed; resume or decompress it first",
                file.path.display()
            ),
        );
    }
    // The source's size and mtime before anything is read: the rename
    // happens only if they are the same after the conversion.
    let before =
        std::fs::metadata(&file.path).map_err(|e| CodexError::io("stat", &file.path, e))?;
    let segment = home.open_segment(file.clone())?;
    let header = match segment.header().await {
        Ok(header) => header,
        Err(CodexError::UnknownHistoryMode { value, path }) => {
            return fail(
                "invalid_session_metadata",
                format!(
                    "{}: invalid session metadata history_mode: {value}",
                    path.display()
                ),
            );
        }
        Err(e) => return fail("malformed_session_meta", e.to_string()),
    };
    if header.meta.history_mode == HistoryMode::Paginated {
        // A run that installed the file but could not promote Codex's row
        // finishes here.
        if apply {
            crate::state_db::promote_to_paginated(home, id)?;
        }
        return Ok(MigrationStatus::AlreadyPaginated);
    }
    if segment.backend().report().torn_tail.is_some()
        || !segment.backend().invalid_lines().is_empty()
    {
        return fail(
            "damaged_lines",
            format!(
                "{} has damaged or unfinished lines; spool migrates only files whose every line it can carry over",
                file.path.display()
            ),
        );
    }
    let lines = segment.read_lines(0, segment.lines()).await?;
    let thread = header.meta.id.clone().unwrap_or_else(|| id.to_string());
    let converted = match convert(&lines, header.seq, &thread) {
        Ok(bytes) => bytes,
        Err(message) => {
            return fail(
                "unsupported_record",
                format!("{}: {message}", file.path.display()),
            );
        }
    };
    if !apply {
        return Ok(MigrationStatus::Eligible);
    }
    let read = segment
        .backend()
        .offset_of(spool_engine::Seq(segment.lines()))
        .unwrap_or(0);
    if read != before.len() {
        return fail(
            "changed",
            format!(
                "{} changed while it was read; run again",
                file.path.display()
            ),
        );
    }
    replace(&file.path, &before, &converted)?;
    // Codex's state row must agree, or Codex refuses the thread.
    crate::state_db::promote_to_paginated(home, id)?;
    Ok(MigrationStatus::Migrated)
}

/// The migrated file's bytes, or why not.
fn convert(
    lines: &[RolloutLine],
    header_seq: u64,
    thread: &str,
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut ordinal = 0u64;
    let mut next_item = 0u64;
    let mut turn: Option<String> = None;
    for (seq, line) in lines.iter().enumerate() {
        if line.bytes().len() > MAX_MIGRATED_LINE {
            return Err(format!("line {} is over 16 MiB", seq + 1));
        }
        let LineView::Envelope(envelope) = line.view() else {
            return Err(format!("line {} is not a rollout record", seq + 1));
        };
        let bytes: Vec<u8> = match &envelope.item {
            Item::SessionMeta(_) if seq as u64 == header_seq => {
                let paginated = header_line(line)
                    .ok_or_else(|| format!("line {} could not be re-encoded", seq + 1))?;
                with_ordinal(&paginated, ordinal)?
            }
            // A legacy fork's copy of its parent's header, or a metadata
            // update: Codex drops the copied parent header.
            Item::SessionMeta(meta) if meta.id.as_deref() != Some(thread) => continue,
            Item::ResponseItem { kind, .. } if kind == "ghost_snapshot" => continue,
            Item::EventMsg { kind, .. } if RETIRED_EVENTS.contains(&kind.as_str()) => continue,
            Item::TurnContext(payload) => {
                // Files from before task_started was persisted (2026-03)
                // name their turns here.
                if let Some(id) = payload.get("turn_id").and_then(Value::as_str) {
                    turn = Some(id.to_owned());
                }
                with_ordinal(line.bytes(), ordinal)?
            }
            Item::EventMsg { kind, payload } => {
                if kind == "task_started" || kind == "turn_started" {
                    turn = payload
                        .get("turn_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
                match turn_item(kind, payload, &mut next_item)? {
                    Some(item) => {
                        let completed_ms = envelope
                            .timestamp
                            .parse::<jiff::Timestamp>()
                            .map(jiff::Timestamp::as_millisecond)
                            .map_err(|e| {
                                format!("line {}: timestamp {}: {e}", seq + 1, envelope.timestamp)
                            })?;
                        let event_turn = payload
                            .get("turn_id")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| turn.clone())
                            .ok_or_else(|| {
                                format!("line {}: a {kind} event outside any turn", seq + 1)
                            })?;
                        let mut event = Map::new();
                        event.insert("type".into(), json!("item_completed"));
                        event.insert("thread_id".into(), json!(thread));
                        event.insert("turn_id".into(), json!(event_turn));
                        event.insert("item".into(), item);
                        event.insert("completed_at_ms".into(), json!(completed_ms));
                        crate::json::envelope(
                            &envelope.timestamp,
                            Some(ordinal),
                            "event_msg",
                            &event,
                            None,
                        )
                        .map_err(|e| e.to_string())?
                    }
                    None => with_ordinal(line.bytes(), ordinal)?,
                }
            }
            _ => with_ordinal(line.bytes(), ordinal)?,
        };
        // Whatever the path, what is written must be one JSON value.
        if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
            return Err(format!(
                "line {} would not be valid JSON once migrated",
                seq + 1
            ));
        }
        out.extend_from_slice(&bytes);
        out.push(b'\n');
        ordinal += 1;
    }
    Ok(out)
}

/// The header line with `history_mode` set to `paginated`: the value
/// replaced where it is, or the field put where Codex's struct writes it.
fn header_line(line: &RolloutLine) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(line.bytes()).ok()?;
    if let Some(i) = text.find("\"history_mode\":\"legacy\"") {
        let mut out = text.to_owned();
        out.replace_range(
            i..i + "\"history_mode\":\"legacy\"".len(),
            "\"history_mode\":\"paginated\"",
        );
        return Some(out.into_bytes());
    }
    // Absent: re-encode the header with the field before the ones Codex's
    // SessionMeta writes after it.
    let mut value: Value = serde_json::from_slice(line.bytes()).ok()?;
    let payload = value.get_mut("payload")?.as_object_mut()?;
    let mut rebuilt = Map::new();
    let mut placed = false;
    for (key, field) in std::mem::take(payload) {
        if !placed
            && matches!(
                key.as_str(),
                "history_base"
                    | "subagent_history_start_ordinal"
                    | "multi_agent_version"
                    | "context_window"
                    | "git"
            )
        {
            rebuilt.insert("history_mode".into(), json!("paginated"));
            placed = true;
        }
        rebuilt.insert(key, field);
    }
    if !placed {
        rebuilt.insert("history_mode".into(), json!("paginated"));
    }
    *payload = rebuilt;
    serde_json::to_vec(&value).ok()
}

/// `line` with `"ordinal":N` after its timestamp, its other bytes as they
/// are (numbers included, whatever their digits).
fn with_ordinal(line: &[u8], ordinal: u64) -> std::result::Result<Vec<u8>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "a line is not UTF-8".to_owned())?;
    let rest = text
        .strip_prefix("{\"timestamp\":\"")
        .ok_or_else(|| "a line does not start with its timestamp".to_owned())?;
    let end = rest
        .find('"')
        .ok_or_else(|| "a line's timestamp does not end".to_owned())?;
    if rest[..end].contains('\\') {
        return Err(
            "a line's timestamp holds an escape; spool migrates only plain timestamps".to_owned(),
        );
    }
    let cut = "{\"timestamp\":\"".len() + end + 1;
    let mut out = String::with_capacity(text.len() + 24);
    out.push_str(&text[..cut]);
    out.push_str(",\"ordinal\":");
    out.push_str(&ordinal.to_string());
    let after = &text[cut..];
    if after.starts_with(",\"ordinal\":") {
        return Err("a legacy line already carries an ordinal".to_owned());
    }
    out.push_str(after);
    Ok(out.into_bytes())
}

/// The TurnItem a legacy UI event becomes, `None` for events both modes
/// keep, or why it cannot be converted.
fn turn_item(
    kind: &str,
    p: &Map<String, Value>,
    next: &mut u64,
) -> std::result::Result<Option<Value>, String> {
    let mut id = || {
        *next += 1;
        format!("item-{next}")
    };
    let get = |key: &str| p.get(key).cloned().unwrap_or(Value::Null);
    Ok(Some(match kind {
        "user_message" => {
            let mut content = vec![
                json!({"type": "text", "text": get("message"), "text_elements": p.get("text_elements").cloned().unwrap_or_else(|| json!([]))}),
            ];
            for url in p
                .get("images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                content.push(json!({"type": "image", "image_url": url}));
            }
            for path in p
                .get("local_images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                content.push(json!({"type": "local_image", "path": path}));
            }
            for (key, kind, field) in [
                ("audio", "audio", "audio_url"),
                ("local_audio", "local_audio", "path"),
            ] {
                for value in p.get(key).and_then(Value::as_array).into_iter().flatten() {
                    content.push(json!({"type": kind, field: value}));
                }
            }
            json!({"type": "UserMessage", "id": id(), "content": content})
        }
        "agent_message" => {
            let mut item = Map::new();
            item.insert("type".into(), json!("AgentMessage"));
            item.insert("id".into(), json!(id()));
            item.insert(
                "content".into(),
                json!([{"type": "Text", "text": get("message")}]),
            );
            if let Some(phase) = p.get("phase").filter(|v| !v.is_null()) {
                item.insert("phase".into(), phase.clone());
            }
            if let Some(citation) = p.get("memory_citation").filter(|v| !v.is_null()) {
                item.insert("memory_citation".into(), citation.clone());
            }
            Value::Object(item)
        }
        "agent_reasoning" => {
            json!({"type": "Reasoning", "id": id(), "summary_text": [get("text")], "raw_content": []})
        }
        "agent_reasoning_raw_content" => {
            json!({"type": "Reasoning", "id": id(), "summary_text": [], "raw_content": [get("text")]})
        }
        "patch_apply_end" => {
            let mut item = Map::new();
            item.insert("type".into(), json!("FileChange"));
            item.insert("id".into(), get("call_id"));
            item.insert("changes".into(), get("changes"));
            item.insert("status".into(), get("status"));
            for key in ["stdout", "stderr"] {
                if let Some(text) = p
                    .get(key)
                    .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                {
                    item.insert(key.into(), text.clone());
                }
            }
            Value::Object(item)
        }
        "context_compacted" => json!({"type": "ContextCompaction", "id": id()}),
        k if crate::policy::LEGACY_EVENTS.contains(&k) => {
            return Err(format!(
                "a legacy `{k}` event has no TurnItem spool can write as Codex does"
            ));
        }
        _ => return Ok(None),
    }))
}

/// Writes `bytes` to a sibling temporary file, syncs it, and renames it
/// over `path` unless `path` changed meanwhile; the directory is synced.
fn replace(path: &Path, before: &std::fs::Metadata, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.paginated.tmp"));
    let written = (|| {
        // Owner-only while it is written; the source's mode once complete.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| CodexError::io("create", &tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| CodexError::io("write", &tmp, e))?;
        file.set_permissions(before.permissions())
            .map_err(|e| CodexError::io("copy permissions", &tmp, e))?;
        let now = std::fs::metadata(path).map_err(|e| CodexError::io("stat", path, e))?;
        if now.len() != before.len() || now.modified().ok() != before.modified().ok() {
            return Err(CodexError::Invalid(format!(
                "{} changed while it was migrated; nothing was replaced, run again",
                path.display()
            )));
        }
        std::fs::rename(&tmp, path).map_err(|e| CodexError::io("install migrated rollout", path, e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    spool_engine::Vfs::sync_dir(&spool_backends::StdFs, dir).map_err(|e| {
        CodexError::io(
            "sync the directory after installing the migrated rollout (the file is migrated; its rename may not survive a power loss)",
            dir,
            e,
        )
    })
}
