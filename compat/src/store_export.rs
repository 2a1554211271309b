//! Export: a spool store's Codex history back into a CODEX_HOME layout
//! (issue 8 item 2): every imported rollout at its place (dated directory
//! or `archived_sessions/`, its file name), rebuilt from its log's records
//! and its kept torn tail, so an imported file comes back byte for byte;
//! `session_index.jsonl` likewise. Revert segments and forks are files like
//! any other, with their headers as written, which is how Codex writes them.
//!
//! Safety (issue 8 item 7): every path comes from the store's metadata and
//! is checked before use: relative, only normal components, under
//! `sessions/` or `archived_sessions/`, a file name Codex's grammar accepts
//! naming the log's own rollout id. Directories are created one by one and
//! an existing symlink on the way is refused, so nothing is written outside
//! the target; files are created new (never over anything, a symlink
//! included) and owner-only, and a file whose write fails is removed. The
//! directory checks are path-based: a directory swapped for a symlink
//! between the check and the create by another local user is not caught
//! (an `openat`-based walk would be; noted in docs/codex.md).
//!
//! Codex's SQLite files are not written: Codex rebuilds its `threads` rows
//! by scanning, and its paginated projection on `thread/resume`, and spool
//! would otherwise have to track every schema migration of a cache it does
//! not own (docs/codex.md says so).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use spool_engine::{Archived, ListQuery, Log, LogId, Store};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::import::{ImportProgress, ProgressFn, SESSION_INDEX_LOG};
use crate::name::RolloutName;

/// Writes the Codex history in `store` into the CODEX_HOME at `dest`: all
/// threads, or only `threads`. Returns the files written.
pub async fn export_store(
    store: &Store,
    dest: &Path,
    threads: Option<&[Uuid]>,
) -> Result<Vec<PathBuf>> {
    export_store_with(store, dest, threads, None).await
}

/// [`export_store`], calling `progress` after each of the store's logs
/// (its `total` is the number of logs in the store).
pub async fn export_store_with(
    store: &Store,
    dest: &Path,
    threads: Option<&[Uuid]>,
    progress: Option<ProgressFn>,
) -> Result<Vec<PathBuf>> {
    let total = store.len();
    let mut done = 0;
    let query = ListQuery {
        archived: Archived::Include,
        ..ListQuery::default()
    };
    // The target itself is the caller's to name (it may be reached through
    // a symlink); everything below it is checked.
    std::fs::create_dir_all(dest)
        .map_err(|e| CodexError::io("create target directory", dest, e))?;
    let mut written = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list(&query, cursor.as_deref(), spool_engine::MAX_LIST_LIMIT)?;
        for info in &page.logs {
            done += 1;
            if let Some(progress) = &progress {
                progress(ImportProgress { done, total });
            }
            let codex = &info.metadata["codex"];
            if codex["kind"] != "rollout" {
                continue;
            }
            let thread = codex["thread"]
                .as_str()
                .and_then(|t| Uuid::parse_str(t).ok());
            if let Some(wanted) = threads
                && !thread.is_some_and(|t| wanted.contains(&t))
            {
                continue;
            }
            let relative = checked_rollout_path(&info.id, codex)?;
            let log = store.open_log(&info.id).await?;
            let bytes = log_bytes(&log, codex, None).await?;
            written.push(write_new(dest, &relative, &bytes)?);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let index = LogId::new(SESSION_INDEX_LOG)?;
    if let Ok(info) = store.info(&index) {
        let log = store.open_log(&index).await?;
        let bytes = log_bytes(&log, &info.metadata["codex"], threads).await?;
        written.push(write_new(dest, Path::new("session_index.jsonl"), &bytes)?);
    }
    Ok(written)
}

/// The file of a rollout log, checked: relative, normal components, under
/// `sessions/` or `archived_sessions/`, named by Codex's grammar with this
/// log's rollout id.
fn checked_rollout_path(id: &LogId, codex: &Value) -> Result<PathBuf> {
    let bad = |why: &str| {
        CodexError::Invalid(format!(
            "log {id}: its codex.file {} {why}; the store's metadata was edited or damaged",
            codex["file"]
        ))
    };
    let file = PathBuf::from(codex["file"].as_str().ok_or_else(|| bad("is missing"))?);
    if !file.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(bad("is not a plain relative path"));
    }
    let top = file.components().next();
    if !matches!(top, Some(Component::Normal(t)) if t == "sessions" || t == "archived_sessions") {
        return Err(bad("is not under sessions/ or archived_sessions/"));
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(RolloutName::parse)
        .ok_or_else(|| bad("is not a rollout file name"))?;
    if name.rollout.to_string() != id.as_str() {
        return Err(bad("names another rollout"));
    }
    // A compressed source comes back plain (Codex reads plain first).
    Ok(if name.compressed {
        file.with_extension("")
    } else {
        file
    })
}

/// A log's records as lines, then its kept torn tail; for the session
/// index with `threads`, only those threads' lines.
async fn log_bytes(log: &Log, codex: &Value, threads: Option<&[Uuid]>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut cursor = log.first_cursor();
    loop {
        let page = log.read_page(&cursor, 4096).await?;
        for record in &page.records {
            if let Some(wanted) = threads {
                let id = serde_json::from_slice::<Value>(&record.payload)
                    .ok()
                    .and_then(|v| v["id"].as_str().and_then(|t| Uuid::parse_str(t).ok()));
                if !id.is_some_and(|t| wanted.contains(&t)) {
                    continue;
                }
            }
            bytes.extend_from_slice(&record.payload);
            bytes.push(b'\n');
        }
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    if threads.is_none()
        && let Some(tail) = codex["torn_tail"].as_str()
    {
        let tail = base64::engine::general_purpose::STANDARD
            .decode(tail)
            .map_err(|e| {
                CodexError::Invalid(format!("log {}: bad codex.torn_tail: {e}", log.id()))
            })?;
        bytes.extend_from_slice(&tail);
    }
    Ok(bytes)
}

/// Creates `dest/relative` with `bytes`: directories one by one (0700),
/// refusing a symlink or a file on the way; the file new (0600), never
/// over anything; synced.
fn write_new(dest: &Path, relative: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let mut dir = dest.to_owned();
    if let Some(parent) = relative.parent() {
        for component in parent.components() {
            dir.push(component);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(CodexError::Invalid(format!(
                        "{} is not a directory (a symlink or a file); export writes only inside {}",
                        dir.display(),
                        dest.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&dir)
                        .map_err(|e| CodexError::io("create directory", &dir, e))?;
                }
                Err(e) => return Err(CodexError::io("inspect directory", &dir, e)),
            }
        }
    }
    let path = dest.join(relative);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| CodexError::io("create exported file", &path, e))?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        // No partial file left behind to block the next run.
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(CodexError::io("write exported file", &path, e));
    }
    Ok(path)
}
