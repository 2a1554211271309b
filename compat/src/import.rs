//! Import: a CODEX_HOME into a spool store, every line byte for byte
//! (issue 8 item 1).
//!
//! Each rollout file becomes one store log, its id the file's rollout id
//! (two files of one home with the same id are both refused and reported;
//! the same file found again in another home is the same log), its records the file's lines, its metadata (`codex`) where the file
//! lives and what its header says: enough to write the file back exactly
//! ([`export_store`](crate::export_store)). `session_index.jsonl` becomes the
//! log `codex-session-index`. A torn last line is not a line: it is kept in
//! the metadata (base64) so that export gives the file back as it was.
//!
//! Import is incremental and idempotent: a log that is a prefix of its file
//! gets the rest appended; a file that is a prefix of its log is already
//! in; anything else is divergent and both are left untouched, the report
//! naming the first differing seq and both lengths. A crash mid-import
//! leaves a log that is a prefix of its file (appends are atomic batches),
//! which the next run completes. The source is only ever read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use spool_backends::JsonlBackend;
use spool_engine::{Backend, Durability, Log, LogId, ReadRange, Seq, Store};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::header::find_header_lenient;
use crate::home::CodexHome;
use crate::line::{HistoryMode, RolloutLine};

/// The store log holding `session_index.jsonl`.
pub const SESSION_INDEX_LOG: &str = "codex-session-index";

/// Records appended per batch while importing.
const BATCH_RECORDS: usize = 512;
/// Bytes appended per batch while importing.
const BATCH_BYTES: usize = 4 << 20;

/// What happened to one file.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportOutcome {
    /// A new log with all `lines`.
    Created {
        /// Lines imported.
        lines: u64,
    },
    /// The log was a prefix of the file: lines `[from, to)` appended.
    Appended {
        /// The first line appended.
        from: u64,
        /// One past the last.
        to: u64,
    },
    /// Nothing new (the file is the log, or a prefix of it).
    UpToDate,
    /// The log and the file differ at `first_difference`: both untouched.
    Divergent {
        /// The first seq whose bytes differ.
        first_difference: u64,
        /// Lines in the store's log.
        store_lines: u64,
        /// Lines in the file.
        file_lines: u64,
    },
    /// The file could not be imported (the run went on).
    Failed {
        /// The error's stable code.
        code: &'static str,
        /// What went wrong, where, and what to do.
        message: String,
    },
}

impl ImportOutcome {
    fn failed(error: &CodexError) -> ImportOutcome {
        ImportOutcome::Failed {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// One file's import.
#[derive(Clone, Debug, PartialEq)]
pub struct FileImport {
    /// The file.
    pub path: PathBuf,
    /// The store log it went to.
    pub log: String,
    /// What happened.
    pub outcome: ImportOutcome,
    /// Lines that are not one JSON value (kept, reported).
    pub invalid_lines: usize,
    /// The length of a torn last line (kept in the metadata), if any.
    pub torn_tail: Option<u64>,
}

/// An import's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// Every file, in the order imported.
    pub files: Vec<FileImport>,
}

impl ImportReport {
    /// Files whose log and source differ.
    #[must_use]
    pub fn divergent(&self) -> Vec<&FileImport> {
        self.files
            .iter()
            .filter(|f| matches!(f.outcome, ImportOutcome::Divergent { .. }))
            .collect()
    }
}

/// Progress of a long import, export or migration, after each file,
/// log or thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    /// Files (logs, threads) done.
    pub done: usize,
    /// Files (logs, threads) in the run.
    pub total: usize,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(ImportProgress) + Send + Sync>;

/// Imports every rollout file (live and archived) and the session index of
/// `home` into `store`. Per-file problems are in the report; only a store
/// that fails as a whole stops the run.
pub async fn import_home(
    home: &CodexHome,
    store: &Store,
    progress: Option<ProgressFn>,
) -> Result<ImportReport> {
    // Never follow a symlink out of the source tree (issue 8 item 7):
    // discover() already skips symlinked files and dated directories.
    for top in ["sessions", "archived_sessions", "session_index.jsonl"] {
        let path = home.root().join(top);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CodexError::Invalid(format!(
                "{} is a symlink; import reads only inside {}: import the directory it points to instead",
                path.display(),
                home.root().display()
            )));
        }
    }
    let files = home.files()?;
    let index = home.root().join("session_index.jsonl");
    let total = files.len() + usize::from(index.exists());
    let mut report = ImportReport::default();
    // A rollout id names one file in a home; two files with one id (an
    // interrupted archive left a copy in each place) cannot both be its
    // log: neither is imported, both are reported.
    let mut seen: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for file in &files {
        *seen.entry(file.name.rollout).or_default() += 1;
    }
    for (done, file) in files.into_iter().enumerate() {
        let log = file.name.rollout.to_string();
        if seen[&file.name.rollout] > 1 {
            let error = CodexError::Invalid(format!(
                "{} shares its rollout id with another file of the home; keep one of them (archived or not), then import again",
                file.path.display()
            ));
            report.files.push(failed(&file.path, &log, &error));
            if let Some(progress) = &progress {
                progress(ImportProgress {
                    done: done + 1,
                    total,
                });
            }
            continue;
        }
        let path = file.path.clone();
        let relative = path
            .strip_prefix(home.root())
            .map_err(|_| CodexError::Invalid(format!("{} is outside the home", path.display())))?
            .to_owned();
        let entry = match home.open_segment(file.clone()) {
            Ok(segment) => {
                let backend = segment.backend().clone();
                let header = find_header_lenient(
                    &path,
                    &segment.read_lines(0, segment.lines().min(64)).await?,
                );
                let meta = json!({
                    "codex": {
                        "kind": "rollout",
                        "file": relative.to_string_lossy(),
                        "thread": file.name.thread.to_string(),
                        "rollout": file.name.rollout.to_string(),
                        "archived": file.archived,
                        "compressed": file.name.compressed,
                        "history_mode": match header.as_ref().map(|h| &h.meta.history_mode) {
                            Ok(HistoryMode::Legacy) => json!("legacy"),
                            Ok(HistoryMode::Paginated) => json!("paginated"),
                            Ok(HistoryMode::Unknown(v)) => v.clone(),
                            Err(CodexError::UnknownHistoryMode { value, .. }) => {
                                serde_json::from_str(value).unwrap_or(Value::Null)
                            }
                            Err(_) => Value::Null,
                        },
                        "history_base": header.as_ref().ok().and_then(|h| h.meta.payload.get("history_base").cloned()),
                        "forked_from_id": header.as_ref().ok().and_then(|h| h.meta.forked_from_id.clone()),
                    }
                });
                import_lines(store, &log, &path, &backend, meta).await
            }
            Err(e) => failed(&path, &log, &e),
        };
        report.files.push(entry);
        if let Some(progress) = &progress {
            progress(ImportProgress {
                done: done + 1,
                total,
            });
        }
    }
    if index.exists() {
        let entry = match JsonlBackend::open_read_only(
            Arc::new(spool_backends::StdFs),
            &index,
            home.config().jsonl.clone(),
        ) {
            Ok(backend) => {
                let meta =
                    json!({"codex": {"kind": "session_index", "file": "session_index.jsonl"}});
                import_lines(store, SESSION_INDEX_LOG, &index, &backend, meta).await
            }
            Err(e) => failed(&index, SESSION_INDEX_LOG, &e.into()),
        };
        report.files.push(entry);
        if let Some(progress) = &progress {
            progress(ImportProgress { done: total, total });
        }
    }
    Ok(report)
}

fn failed(path: &Path, log: &str, error: &CodexError) -> FileImport {
    FileImport {
        path: path.to_owned(),
        log: log.to_owned(),
        outcome: ImportOutcome::failed(error),
        invalid_lines: 0,
        torn_tail: None,
    }
}

/// Imports the lines of one source log into store log `log`.
async fn import_lines(
    store: &Store,
    log: &str,
    path: &Path,
    source: &JsonlBackend,
    mut meta: Value,
) -> FileImport {
    let tail = source.report().torn_tail;
    let mut entry = FileImport {
        path: path.to_owned(),
        log: log.to_owned(),
        outcome: ImportOutcome::UpToDate,
        invalid_lines: source.invalid_lines().len(),
        torn_tail: tail.map(|t| t.len),
    };
    let outcome = async {
        let tail_bytes = match tail {
            Some(t) => Some(source.read_bytes(t.offset, t.len)?),
            None => None,
        };
        meta["codex"]["torn_tail"] = tail_bytes.as_ref().map_or(Value::Null, |b| {
            Value::from(base64::engine::general_purpose::STANDARD.encode(b))
        });
        let id = LogId::new(log)?;
        let file_lines = source.next_seq().0;
        let Ok(info) = store.info(&id) else {
            let target = store.create(&id, meta).await?;
            copy(source, &target, 0, file_lines).await?;
            return Ok(ImportOutcome::Created { lines: file_lines });
        };
        let target = store.open_log(&id).await?;
        let store_lines = target.next_seq().0;
        if let Some(first_difference) =
            first_difference(source, &target, file_lines.min(store_lines)).await?
        {
            return Ok(ImportOutcome::Divergent {
                first_difference,
                store_lines,
                file_lines,
            });
        }
        let outcome = if store_lines < file_lines {
            copy(source, &target, store_lines, file_lines).await?;
            ImportOutcome::Appended {
                from: store_lines,
                to: file_lines,
            }
        } else {
            ImportOutcome::UpToDate
        };
        // Where the file is now (archived or not) and its tail, if newer.
        if store_lines <= file_lines && info.metadata != meta {
            store.update_metadata(&id, meta).await?;
        }
        Ok::<_, CodexError>(outcome)
    }
    .await;
    entry.outcome = outcome.unwrap_or_else(|e| ImportOutcome::failed(&e));
    entry
}

/// One bounded batch of the source's records from `from` (below `to`): what
/// import compares and copies at a time, so memory stays bounded.
async fn batch(source: &JsonlBackend, from: u64, to: u64) -> Result<Vec<spool_engine::Record>> {
    Ok(source
        .read(ReadRange {
            from: Seq(from),
            to: Seq(to),
            max_records: BATCH_RECORDS,
            max_bytes: BATCH_BYTES,
        })
        .await?)
}

/// The first seq below `end` where the source and the log differ.
async fn first_difference(source: &JsonlBackend, target: &Log, end: u64) -> Result<Option<u64>> {
    let mut next = 0;
    while next < end {
        let theirs = batch(source, next, end).await?;
        if theirs.is_empty() {
            return Ok(Some(next));
        }
        let ours = read_log(target, next, theirs.len()).await?;
        for (a, b) in theirs.iter().zip(&ours) {
            if a.seq != b.seq || a.payload != b.payload {
                return Ok(Some(a.seq.0));
            }
        }
        if ours.len() < theirs.len() {
            return Ok(Some(next + ours.len() as u64));
        }
        next += theirs.len() as u64;
    }
    Ok(None)
}

/// Up to `count` records of `log` from seq `from`, across pages.
async fn read_log(log: &Log, from: u64, count: usize) -> Result<Vec<spool_engine::Record>> {
    let mut out = Vec::with_capacity(count);
    let mut cursor = log.cursor_at(Seq(from), spool_engine::Direction::Forward);
    while out.len() < count {
        let page = log.read_page(&cursor, count - out.len()).await?;
        out.extend(page.records);
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    out.truncate(count);
    Ok(out)
}

/// Appends the source's lines `[from, to)` to `target`, in batches, and
/// makes them durable.
async fn copy(source: &JsonlBackend, target: &Log, from: u64, to: u64) -> Result<()> {
    let mut next = from;
    while next < to {
        let records = batch(source, next, to).await?;
        if records.is_empty() {
            break;
        }
        next += records.len() as u64;
        let payloads: Vec<Bytes> = records.into_iter().map(|r| r.payload).collect();
        target
            .append_expecting(Seq(next - payloads.len() as u64), payloads)
            .await?;
    }
    target.sync(Durability::Data).await?;
    Ok(())
}

/// The rollout line views of a store log's first records (for callers that
/// want a header without the file).
pub async fn first_lines(log: &Log, limit: usize) -> Result<Vec<RolloutLine>> {
    let page = log.read_page(&log.first_cursor(), limit).await?;
    Ok(page
        .records
        .into_iter()
        .map(|r| RolloutLine::parse(r.payload))
        .collect())
}
