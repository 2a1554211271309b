//! Writing Codex threads as Codex does (ROLLOUT-FORMAT.md §3.2–§3.3, §4.7;
//! CODEX-0.169.md §2).
//!
//! A [`ThreadWriter`] holds Codex's writer lock for its thread and extends
//! the thread's current rollout file: in legacy mode without ordinals, in
//! paginated mode with ordinals continuing from the last record (Codex's
//! reverse scan; a last record without one is refused). A file that ends
//! mid-line first gets one `\n`, so the fragment stays its own (invalid)
//! line. A `.zst`-only thread is decompressed to its plain name first. The
//! session_meta line is never rewritten, and the mode never changes: what
//! a mode does not persist is refused ([`policy`](crate::policy)). New
//! threads, paginated forks and revert segments are created with Codex's
//! file names, header field order and serialization ([`json`](crate::json)).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};
use spool_backends::{JsonlBackend, StdFs};
use spool_engine::{Backend, Clock, NewRecord, SystemClock, Vfs};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::floor::{Floor, Operation};
use crate::home::CodexHome;
use crate::json;
use crate::line::{HistoryMode, LineView, RolloutLine};
use crate::lock::WriterLock;
use crate::name::{RolloutFile, RolloutName};
use crate::ordinal::next_ordinal_after;
use crate::policy;

/// How a writer stamps and names what it writes.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Where timestamps come from.
    pub clock: Arc<dyn Clock>,
    /// The zone of file names and dated directories (Codex: local time).
    pub zone: TimeZone,
    /// The floor the caller declared.
    pub floor: Floor,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            clock: Arc::new(SystemClock),
            zone: TimeZone::system(),
            floor: Floor::Full,
        }
    }
}

/// One line to append: an envelope `type`, its payload, and (for
/// response items) an optional sibling `metadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLine {
    /// The envelope `type` (`response_item`, `event_msg`, …).
    pub kind: String,
    /// The payload object, keys in the order they are to be written.
    pub payload: Map<String, Value>,
    /// The sibling `metadata`.
    pub metadata: Option<Value>,
}

impl NewLine {
    /// A line of `kind` with `payload` (must be a JSON object).
    pub fn new(kind: &str, payload: Value) -> Result<NewLine> {
        let Value::Object(payload) = payload else {
            return Err(CodexError::Invalid(format!(
                "the payload of a `{kind}` line must be a JSON object"
            )));
        };
        Ok(NewLine {
            kind: kind.to_owned(),
            payload,
            metadata: None,
        })
    }
}

/// What a new thread's header says.
#[derive(Clone, Debug, PartialEq)]
pub struct NewThread {
    /// The thread id (default: a fresh UUIDv7, as Codex makes).
    pub id: Option<Uuid>,
    /// `legacy` or `paginated`.
    pub mode: HistoryMode,
    /// `cwd`.
    pub cwd: String,
    /// `originator`.
    pub originator: String,
    /// `cli_version`.
    pub cli_version: String,
    /// `source` (`"cli"`, `"exec"`, `{"subagent":…}`, …).
    pub source: Value,
    /// `model_provider` (nullable, always written).
    pub model_provider: Option<String>,
    /// `base_instructions` (nullable, always written).
    pub base_instructions: Option<Value>,
    /// `session_id`, if it differs from the id (a sub-agent's).
    pub session_id: Option<Uuid>,
    /// `parent_thread_id`.
    pub parent_thread_id: Option<Uuid>,
    /// `git`.
    pub git: Option<Value>,
    /// More header fields, written before `history_mode`.
    pub extra: Vec<(String, Value)>,
}

impl NewThread {
    /// A thread of `mode` in `cwd`, with spool as originator.
    #[must_use]
    pub fn new(mode: HistoryMode, cwd: &str) -> NewThread {
        NewThread {
            id: None,
            mode,
            cwd: cwd.to_owned(),
            originator: "spool".into(),
            cli_version: env!("CARGO_PKG_VERSION").into(),
            source: Value::from("cli"),
            model_provider: None,
            base_instructions: None,
            session_id: None,
            parent_thread_id: None,
            git: None,
            extra: Vec::new(),
        }
    }
}

/// A rollout file about to be written.
pub(crate) struct NewFile {
    pub(crate) thread: Uuid,
    pub(crate) rollout: Uuid,
    pub(crate) mode: HistoryMode,
    /// The session_meta payload.
    pub(crate) payload: Map<String, Value>,
    /// The session_meta's ordinal (paginated).
    pub(crate) ordinal: u64,
    /// Lines copied after it (a legacy fork's copy of its parent).
    pub(crate) copied: Vec<Bytes>,
}

/// The writer of one thread.
#[derive(Debug)]
pub struct ThreadWriter {
    id: Uuid,
    path: PathBuf,
    mode: HistoryMode,
    backend: JsonlBackend,
    next_ordinal: Option<u64>,
    options: WriterOptions,
    _lock: WriterLock,
}

impl ThreadWriter {
    /// Resumes thread `id` for appending (Codex's resume): takes the writer
    /// lock, decompresses a `.zst`-only current file, ends a torn last line
    /// with `\n`, and finds the next ordinal.
    pub async fn open(home: &CodexHome, id: &Uuid, options: WriterOptions) -> Result<ThreadWriter> {
        let lock = WriterLock::take(home.root(), id)?;
        let files = home.thread_files(id)?;
        let current = files.current().clone();
        // Every check runs on a read-only view first (a `.zst` read from
        // memory): a refused resume leaves the home untouched (CODEX-0.169.md
        // §3).
        let segment = home.open_segment(current.clone())?;
        segment.check_codex_load(options.floor)?;
        let header = segment.header().await?;
        let mode = header.meta.history_mode.clone();
        options
            .floor
            .check(Operation::Resume, &mode, &id.to_string())?;
        options
            .floor
            .check(Operation::Append, &mode, &id.to_string())?;
        first_line_is_header(&segment, header.seq).await?;
        let next_ordinal = if mode == HistoryMode::Paginated {
            let base = header
                .meta
                .history_base()
                .map_or(0, |b| b.end_ordinal_exclusive);
            // The torn tail the writer's open will end with `\n`, as a line.
            let max = home.config().jsonl.max_line_bytes as u64;
            let tail = segment.torn_tail(max)?.map(RolloutLine::parse);
            let subagent = header.meta.subagent_history_start_ordinal();
            Some(next_ordinal_after(&segment, tail.as_ref(), base, subagent).await?)
        } else {
            None
        };
        // Now the file may change.
        let path = if current.name.compressed {
            decompress_in_place(&current, home.config().max_decompressed_bytes)?
        } else {
            current.path.clone()
        };
        let backend = JsonlBackend::open(Arc::new(StdFs), &path, home.config().jsonl.clone())?;
        Ok(ThreadWriter {
            id: *id,
            path,
            mode,
            backend,
            next_ordinal,
            options,
            _lock: lock,
        })
    }

    /// Creates a new thread: its file (named by the local wall clock, in
    /// `sessions/YYYY/MM/DD/`) with its session_meta line.
    pub async fn create(
        home: &CodexHome,
        thread: &NewThread,
        options: WriterOptions,
    ) -> Result<ThreadWriter> {
        let id = thread.id.unwrap_or_else(Uuid::now_v7);
        options
            .floor
            .check(Operation::Create, &thread.mode, &id.to_string())?;
        let lock = WriterLock::take(home.root(), &id)?;
        if home.thread_files(&id).is_ok() {
            return Err(CodexError::Invalid(format!(
                "thread {id} already exists in {}; resume it instead",
                home.root().display()
            )));
        }
        let now = options.clock.now_ms();
        let payload = header_payload(thread, id, &json::timestamp(now));
        let file = NewFile {
            thread: id,
            rollout: id,
            mode: thread.mode.clone(),
            payload,
            ordinal: 0,
            copied: Vec::new(),
        };
        Self::start_file(home, file, options, lock).await
    }

    /// Writes a new file whose first line is the session_meta of `file`
    /// (with its `ordinal` in paginated mode), followed by `file.copied`,
    /// in one write. If that write fails, the new file is removed.
    pub(crate) async fn start_file(
        home: &CodexHome,
        file: NewFile,
        options: WriterOptions,
        lock: WriterLock,
    ) -> Result<ThreadWriter> {
        let now = options.clock.now_ms();
        let time = json::name_time(now, &options.zone);
        let name = RolloutName {
            time,
            thread: file.thread,
            rollout: file.rollout,
            compressed: false,
        };
        let path = home
            .root()
            .join("sessions")
            .join(format!("{:04}", time.year))
            .join(format!("{:02}", time.month))
            .join(format!("{:02}", time.day))
            .join(name.to_string());
        if path.exists() {
            return Err(CodexError::Invalid(format!(
                "{} already exists; spool never overwrites a rollout",
                path.display()
            )));
        }
        let paginated = file.mode == HistoryMode::Paginated;
        let line = json::envelope(
            &json::timestamp(now),
            paginated.then_some(file.ordinal),
            "session_meta",
            &file.payload,
            None,
        )?;
        let records: Vec<NewRecord> = std::iter::once(Bytes::from(line))
            .chain(file.copied)
            .map(|payload| NewRecord {
                timestamp_ms: now,
                payload,
            })
            .collect();
        let backend = JsonlBackend::open(Arc::new(StdFs), &path, home.config().jsonl.clone())?;
        if let Err(e) = backend.append(backend.next_seq(), &records).await {
            let _ = backend.close().await;
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        let next_ordinal =
            if paginated {
                Some(file.ordinal.checked_add(1).ok_or_else(|| {
                    CodexError::Invalid("no ordinal is left after u64::MAX".into())
                })?)
            } else {
                None
            };
        Ok(ThreadWriter {
            id: file.thread,
            path,
            mode: file.mode,
            backend,
            next_ordinal,
            options,
            _lock: lock,
        })
    }

    /// The thread id.
    #[must_use]
    pub fn id(&self) -> &Uuid {
        &self.id
    }

    /// The file written.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The thread's mode.
    #[must_use]
    pub fn mode(&self) -> &HistoryMode {
        &self.mode
    }

    /// The line index (in the current file) the next appended line gets.
    #[must_use]
    pub fn next_line(&self) -> u64 {
        self.backend.next_seq().0
    }

    /// The ordinal the next line gets (paginated only).
    #[must_use]
    pub fn next_ordinal(&self) -> Option<u64> {
        self.next_ordinal
    }

    /// Appends `lines` as one write (all or none), each stamped now and,
    /// in paginated mode, given the next ordinals. Returns the file's line
    /// indexes of the new lines.
    pub async fn append(&mut self, lines: &[NewLine]) -> Result<std::ops::Range<u64>> {
        let now = self.options.clock.now_ms();
        let (records, next) = encode(&self.mode, self.next_ordinal, now, lines)?;
        let range = self
            .backend
            .append(self.backend.next_seq(), &records)
            .await?;
        self.next_ordinal = next;
        Ok(range.start.0..range.end.0)
    }

    /// Makes everything appended durable (Codex itself never fsyncs).
    pub async fn sync(&self) -> Result<()> {
        self.backend.sync(spool_engine::Durability::Data).await?;
        Ok(())
    }

    /// Closes the file and releases the lock.
    pub async fn close(self) -> Result<()> {
        self.backend.close().await?;
        Ok(())
    }
}

/// `lines` as the records a thread of `mode` stores, stamped `now_ms`, with
/// ordinals from `next` (paginated); also the ordinal after them. Checks
/// each line against the mode's policy first: all or nothing.
pub(crate) fn encode(
    mode: &HistoryMode,
    next: Option<u64>,
    now_ms: i64,
    lines: &[NewLine],
) -> Result<(Vec<NewRecord>, Option<u64>)> {
    let mut records = Vec::with_capacity(lines.len());
    let mut ordinal = next;
    let timestamp = json::timestamp(now_ms);
    for line in lines {
        policy::check(mode, &line.kind, &line.payload)?;
        if line.metadata.is_some() && line.kind != "response_item" {
            return Err(CodexError::Invalid(format!(
                "only response_item lines carry metadata, not `{}`",
                line.kind
            )));
        }
        let bytes = json::envelope(
            &timestamp,
            ordinal,
            &line.kind,
            &line.payload,
            line.metadata.as_ref(),
        )?;
        records.push(NewRecord {
            timestamp_ms: now_ms,
            payload: Bytes::from(bytes),
        });
        ordinal =
            match ordinal {
                Some(o) => Some(o.checked_add(1).ok_or_else(|| {
                    CodexError::Invalid("no ordinal is left after u64::MAX".into())
                })?),
                None => None,
            };
    }
    Ok((records, ordinal))
}

/// A new thread's session_meta payload, in Codex 0.169's field order.
pub(crate) fn header_payload(thread: &NewThread, id: Uuid, timestamp: &str) -> Map<String, Value> {
    let mut p = Map::new();
    let session = thread.session_id.unwrap_or(id);
    p.insert("session_id".into(), Value::from(session.to_string()));
    p.insert("id".into(), Value::from(id.to_string()));
    if let Some(parent) = thread.parent_thread_id {
        p.insert("parent_thread_id".into(), Value::from(parent.to_string()));
    }
    p.insert("timestamp".into(), Value::from(timestamp));
    p.insert("cwd".into(), Value::from(thread.cwd.as_str()));
    p.insert("originator".into(), Value::from(thread.originator.as_str()));
    p.insert(
        "cli_version".into(),
        Value::from(thread.cli_version.as_str()),
    );
    p.insert("source".into(), thread.source.clone());
    p.insert(
        "model_provider".into(),
        thread
            .model_provider
            .clone()
            .map_or(Value::Null, Value::from),
    );
    p.insert(
        "base_instructions".into(),
        thread.base_instructions.clone().unwrap_or(Value::Null),
    );
    for (key, value) in &thread.extra {
        p.insert(key.clone(), value.clone());
    }
    let mode = match &thread.mode {
        HistoryMode::Paginated => "paginated",
        _ => "legacy",
    };
    p.insert("history_mode".into(), Value::from(mode));
    if let Some(git) = &thread.git {
        p.insert("git".into(), git.clone());
    }
    p
}

/// Codex's resume reads the first non-blank line and needs it to be the
/// session_meta (§3.3): records before the header refuse the resume even
/// where the header reader would skip them.
async fn first_line_is_header(segment: &crate::segment::Segment, header_seq: u64) -> Result<()> {
    let mut from = 0;
    while from < header_seq {
        let to = (from + 64).min(header_seq);
        for (i, line) in segment.read_lines(from, to).await?.iter().enumerate() {
            if !matches!(line.view(), LineView::Blank) {
                return Err(CodexError::NoSessionMeta {
                    path: segment.path().to_owned(),
                    line: from + i as u64 + 1,
                });
            }
        }
        from = to;
    }
    Ok(())
}

/// Turns a `.zst`-only rollout back into its plain file, as Codex does
/// before appending: decompress (at most `max` bytes) into a temporary
/// file beside it, link it to the plain name without clobbering, then
/// remove the temporary and the `.zst`. The new file's mtime is now. On
/// any failure the temporary is removed and the `.zst` is left as it was.
pub(crate) fn decompress_in_place(file: &RolloutFile, max: u64) -> Result<PathBuf> {
    let zst = &file.path;
    let plain = zst.with_extension("");
    let dir = zst.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.spool-decompress.tmp",
        plain.file_name().unwrap_or_default().to_string_lossy()
    ));
    let written = write_decompressed(zst, &tmp, max);
    let linked = written.and_then(|()| {
        std::fs::hard_link(&tmp, &plain)
            .map_err(|e| CodexError::io("install decompressed rollout", &plain, e))
    });
    let _ = std::fs::remove_file(&tmp);
    linked?;
    // The plain file now hides the `.zst` for every reader; removing the
    // `.zst` finishes what Codex does, and failing to is reported.
    std::fs::remove_file(zst).map_err(|e| CodexError::io("remove compressed rollout", zst, e))?;
    StdFs
        .sync_dir(dir)
        .map_err(|e| CodexError::io("sync directory", dir, e))?;
    Ok(plain)
}

fn write_decompressed(zst: &Path, tmp: &Path, max: u64) -> Result<()> {
    let zstd_error = |e: std::io::Error| CodexError::Zstd {
        path: zst.to_owned(),
        reason: e.to_string(),
    };
    let input = std::fs::File::open(zst).map_err(|e| CodexError::io("open", zst, e))?;
    let decoder = zstd::stream::read::Decoder::new(input).map_err(zstd_error)?;
    let mut output = std::fs::File::create(tmp).map_err(|e| CodexError::io("create", tmp, e))?;
    let copied = std::io::copy(
        &mut std::io::Read::take(decoder, max.saturating_add(1)),
        &mut output,
    )
    .map_err(zstd_error)?;
    if copied > max {
        return Err(CodexError::TooLarge {
            path: zst.to_owned(),
            max,
        });
    }
    output
        .sync_all()
        .map_err(|e| CodexError::io("sync", tmp, e))
}
