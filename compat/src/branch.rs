//! Forks and reverts, written as Codex writes them (ROLLOUT-FORMAT.md §4.7,
//! CODEX-0.169.md §2).
//!
//! Paginated threads branch by reference: the new file's header carries a
//! `history_base` naming the rollout that holds the last kept line, the
//! ordinal after it and the byte offset where its prefix ends; only new
//! records follow. A revert is a new segment of the same thread
//! (`rollout-<ts>-<thread>_<segment>.jsonl`); a fork is a new thread with
//! `forked_from_id` and `forked_from_ordinal_exclusive`. Legacy forks are
//! copies: the fork's header, then the parent's lines verbatim, its header
//! included.

use serde_json::{Map, Value};
use spool_engine::{LineFault, Seq};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::floor::Operation;
use crate::home::CodexHome;
use crate::json;
use crate::line::HistoryMode;
use crate::lock::WriterLock;
use crate::ordinal::is_record;
use crate::thread::Thread;
use crate::writer::{NewFile, ThreadWriter, WriterOptions, decompress_in_place};

/// Where a branch cuts its source: the `history_base` fields.
struct Cut {
    rollout: Uuid,
    end_ordinal_exclusive: u64,
    end_byte_offset: u64,
}

impl ThreadWriter {
    /// Forks thread `parent` after its first `keep` history lines (all of
    /// them if `None`) into a new thread, and returns its writer.
    pub async fn fork(
        home: &CodexHome,
        parent: &Uuid,
        keep: Option<u64>,
        options: WriterOptions,
    ) -> Result<ThreadWriter> {
        let source = home.open_thread(parent).await?;
        let mode = source.mode().clone();
        options
            .floor
            .check(Operation::Fork, &mode, &parent.to_string())?;
        let keep = keep.unwrap_or(source.len());
        let id = Uuid::now_v7();
        let lock = WriterLock::take(home.root(), &id)?;
        let timestamp = json::timestamp(options.clock.now_ms());
        if mode == HistoryMode::Paginated {
            let source = materialized(home, source, keep, None).await?;
            let cut = cut(&source, keep).await?;
            let file = NewFile {
                thread: id,
                rollout: id,
                mode,
                payload: branch_header(&source, id, Some(&cut), &timestamp, true),
                ordinal: cut.end_ordinal_exclusive,
                copied: Vec::new(),
            };
            return Self::start_file(home, file, options, lock).await;
        }
        let copied = copy_of(&source, keep).await?;
        let file = NewFile {
            thread: id,
            rollout: id,
            mode,
            payload: branch_header(&source, id, None, &timestamp, true),
            ordinal: 0,
            copied,
        };
        Self::start_file(home, file, options, lock).await
    }

    /// Reverts thread `thread` to its first `keep` history lines with a new
    /// segment file (paginated threads), and returns the segment's writer.
    pub async fn revert(
        home: &CodexHome,
        thread: &Uuid,
        keep: u64,
        options: WriterOptions,
    ) -> Result<ThreadWriter> {
        let lock = WriterLock::take(home.root(), thread)?;
        let source = home.open_thread(thread).await?;
        let mode = source.mode().clone();
        options
            .floor
            .check(Operation::Revert, &mode, &thread.to_string())?;
        let source = materialized(home, source, keep, Some(thread)).await?;
        let cut = cut(&source, keep).await?;
        let timestamp = json::timestamp(options.clock.now_ms());
        let file = NewFile {
            thread: *thread,
            rollout: Uuid::now_v7(),
            mode,
            payload: branch_header(&source, *thread, Some(&cut), &timestamp, false),
            ordinal: cut.end_ordinal_exclusive,
            copied: Vec::new(),
        };
        Self::start_file(home, file, options, lock).await
    }
}

/// A legacy fork's copy of the first `keep` history lines: the lines Codex
/// decodes, byte for byte (Codex copies decoded items, so damaged and
/// blank lines are not copied). A line too long to read refuses the fork
/// before anything is written.
async fn copy_of(source: &Thread, keep: u64) -> Result<Vec<bytes::Bytes>> {
    if keep > source.len() {
        return Err(CodexError::Invalid(format!(
            "cannot keep {keep} lines of a history of {}",
            source.len()
        )));
    }
    let mut copied = Vec::new();
    for (seq, line) in source.read_lines(0, keep).await? {
        if let Some((link, local)) = source.locate(seq)
            && link.segment.backend().line_fault(Seq(local)) == Some(LineFault::TooLong)
        {
            return Err(CodexError::Invalid(format!(
                "line {} of {} is longer than the line bound; raise max_line_bytes to fork it",
                local + 1,
                link.segment.path().display()
            )));
        }
        if is_record(&line) {
            copied.push(line.bytes().clone());
        }
    }
    Ok(copied)
}

/// The source with the file holding its cut decompressed, if it was a
/// `.zst`: a `history_base` addresses bytes of a plain file (§4.7). The
/// file's thread is locked while it changes (`locked` is already held).
async fn materialized(
    home: &CodexHome,
    source: Thread,
    keep: u64,
    locked: Option<&Uuid>,
) -> Result<Thread> {
    let Some((link, _)) = source.locate(keep.saturating_sub(1)) else {
        return Ok(source);
    };
    let file = link.segment.file().clone();
    if !file.name.compressed {
        return Ok(source);
    }
    let _lock = if locked == Some(&file.name.thread) {
        None
    } else {
        Some(WriterLock::take(home.root(), &file.name.thread)?)
    };
    decompress_in_place(&file, home.config().max_decompressed_bytes)?;
    home.open_thread(source.id()).await
}

/// The `history_base` that keeps the first `keep` lines of `source`.
async fn cut(source: &Thread, keep: u64) -> Result<Cut> {
    if keep == 0 || keep > source.len() {
        return Err(CodexError::Invalid(format!(
            "a branch keeps 1 to {} lines of thread {}, not {keep}",
            source.len(),
            source.id()
        )));
    }
    let (link, local) = source
        .locate(keep - 1)
        .ok_or_else(|| CodexError::Invalid(format!("line {keep} is not in the history")))?;
    let end_byte_offset = link
        .segment
        .backend()
        .offset_of(Seq(local + 1))
        .ok_or_else(|| CodexError::Invalid(format!("line {keep} has no end offset")))?;
    // One past the last ordinal kept, as a writer would continue (§3.3).
    let mut last = None;
    let mut to = keep;
    while to > 0 && last.is_none() {
        let from = to.saturating_sub(64);
        last = source
            .read_lines(from, to)
            .await?
            .iter()
            .rev()
            .find(|(_, line)| is_record(line))
            .and_then(|(_, line)| line.envelope().and_then(|e| e.ordinal));
        to = from;
    }
    let end_ordinal_exclusive = match last {
        Some(o) => o.checked_add(1),
        None => link.ordinal_base.checked_add(local + 1),
    }
    .ok_or_else(|| CodexError::Invalid("no ordinal is left after u64::MAX".into()))?;
    Ok(Cut {
        rollout: link.segment.file().name.rollout,
        end_ordinal_exclusive,
        end_byte_offset,
    })
}

/// A branch's session_meta: the source's current header with new ids and
/// timestamp, fork fields after `id` (`fork`), and `history_base` after
/// `history_mode`.
fn branch_header(
    source: &Thread,
    id: Uuid,
    cut: Option<&Cut>,
    timestamp: &str,
    fork: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in &source.header().meta.payload {
        match key.as_str() {
            "forked_from_id" | "forked_from_ordinal_exclusive" if fork => {}
            "history_base" => {}
            "session_id" if fork => {
                out.insert(key.clone(), Value::from(id.to_string()));
            }
            "id" => {
                out.insert(key.clone(), Value::from(id.to_string()));
                if fork {
                    out.insert(
                        "forked_from_id".into(),
                        Value::from(source.id().to_string()),
                    );
                    if let Some(cut) = cut {
                        out.insert(
                            "forked_from_ordinal_exclusive".into(),
                            Value::from(cut.end_ordinal_exclusive),
                        );
                    }
                }
            }
            "timestamp" => {
                out.insert(key.clone(), Value::from(timestamp));
            }
            "history_mode" => {
                out.insert(key.clone(), value.clone());
                if let Some(cut) = cut {
                    let mut base = Map::new();
                    base.insert("thread_id".into(), Value::from(cut.rollout.to_string()));
                    base.insert(
                        "end_ordinal_exclusive".into(),
                        Value::from(cut.end_ordinal_exclusive),
                    );
                    base.insert("end_byte_offset".into(), Value::from(cut.end_byte_offset));
                    out.insert("history_base".into(), Value::Object(base));
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}
