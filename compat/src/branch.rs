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
use spool_engine::{Backend, NewRecord, Seq};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::floor::Operation;
use crate::home::CodexHome;
use crate::json;
use crate::line::HistoryMode;
use crate::lock::WriterLock;
use crate::thread::Thread;
use crate::writer::{ThreadWriter, WriterOptions};

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
            let cut = cut(&source, keep).await?;
            let payload = branch_header(&source, id, Some(&cut), &timestamp, true);
            let ordinal = cut.end_ordinal_exclusive;
            return Self::start_file(home, (id, id), &mode, payload, ordinal, options, lock).await;
        }
        if keep > source.len() {
            return Err(CodexError::Invalid(format!(
                "cannot keep {keep} lines of a history of {}",
                source.len()
            )));
        }
        let payload = branch_header(&source, id, None, &timestamp, true);
        let mut writer = Self::start_file(home, (id, id), &mode, payload, 0, options, lock).await?;
        let lines = source.read_lines(0, keep).await?;
        let now = writer.options().clock.now_ms();
        let records: Vec<NewRecord> = lines
            .into_iter()
            .map(|(_, line)| NewRecord {
                timestamp_ms: now,
                payload: line.bytes().clone(),
            })
            .collect();
        writer.append_raw(&records).await?;
        Ok(writer)
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
        let cut = cut(&source, keep).await?;
        let timestamp = json::timestamp(options.clock.now_ms());
        let payload = branch_header(&source, *thread, Some(&cut), &timestamp, false);
        let segment = Uuid::now_v7();
        let ordinal = cut.end_ordinal_exclusive;
        Self::start_file(
            home,
            (*thread, segment),
            &mode,
            payload,
            ordinal,
            options,
            lock,
        )
        .await
    }

    /// Appends lines as they are (a legacy fork's copy).
    async fn append_raw(&mut self, records: &[NewRecord]) -> Result<()> {
        let backend = self.backend();
        backend.append(backend.next_seq(), records).await?;
        Ok(())
    }
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
    let last = source.read_lines(keep - 1, keep).await?;
    let end_ordinal_exclusive = last
        .first()
        .and_then(|(_, line)| line.envelope())
        .and_then(|e| e.ordinal)
        .map_or(link.ordinal_base + local + 1, |o| o + 1);
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
            "forked_from_id" | "forked_from_ordinal_exclusive" | "history_base" => {}
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
