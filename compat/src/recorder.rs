//! A recorder shaped like Codex's `RolloutRecorder` (issue 8 item 6): a
//! thread is created or resumed, items are recorded through a bounded
//! channel without waiting for the disk, `flush` waits until everything
//! recorded before it is written, and `shutdown` drains, closes and
//! acknowledges. One task owns the writer, as in Codex (§1.8).
//!
//! Two targets: a Codex home (through [`ThreadWriter`]: Codex's format,
//! names and lock), or a spool store (a log per thread holding the same
//! line bytes, with the metadata import gives, so `export_store` writes it
//! out as a Codex rollout).
//!
//! Errors are never swallowed: the first persistence error stops the
//! recorder; it is returned by the `flush` or `shutdown` that follows and
//! by every later `record`, with nothing written after it (fail-stop, as
//! spool's logs poison themselves).

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use spool_engine::{Durability, Log, LogId, Store};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::home::CodexHome;
use crate::json;
use crate::line::HistoryMode;
use crate::name::RolloutName;
use crate::writer::{NewLine, NewThread, ThreadWriter, WriterOptions, encode, header_payload};

/// How a recorder writes.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// The writer's clock, zone and floor.
    pub writer: WriterOptions,
    /// Batches the queue holds before `record` waits (Codex: 256).
    pub capacity: usize,
    /// What `flush` guarantees: `Buffered` is Codex's (written to the OS),
    /// `Data` also fsyncs.
    pub flush: Durability,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            writer: WriterOptions::default(),
            capacity: 256,
            flush: Durability::Buffered,
        }
    }
}

enum Command {
    Record(Vec<NewLine>),
    Flush(oneshot::Sender<Result<()>>),
    Shutdown(oneshot::Sender<Result<()>>),
}

/// Where a recorder writes.
enum Sink {
    Codex(ThreadWriter),
    Store {
        log: Log,
        mode: HistoryMode,
        next: Option<u64>,
        options: WriterOptions,
    },
}

impl Sink {
    async fn write(&mut self, lines: &[NewLine]) -> Result<()> {
        match self {
            Sink::Codex(writer) => writer.append(lines).await.map(|_| ()),
            Sink::Store {
                log,
                mode,
                next,
                options,
            } => {
                let (records, after) = encode(mode, *next, options.clock.now_ms(), lines)?;
                let payloads: Vec<bytes::Bytes> = records.into_iter().map(|r| r.payload).collect();
                log.append_expecting(log.next_seq(), payloads).await?;
                *next = after;
                Ok(())
            }
        }
    }

    async fn sync(&mut self, level: Durability) -> Result<()> {
        if !level.needs_sync() {
            return Ok(());
        }
        match self {
            Sink::Codex(writer) => writer.sync().await,
            Sink::Store { log, .. } => Ok(log.sync(level).await.map(|_| ())?),
        }
    }

    async fn close(self) -> Result<()> {
        match self {
            Sink::Codex(writer) => writer.close().await,
            // The store owns the log's handle; make it durable and leave it.
            Sink::Store { log, .. } => Ok(log.sync(Durability::Data).await.map(|_| ())?),
        }
    }
}

/// A running recorder.
#[derive(Debug)]
pub struct Recorder {
    id: Uuid,
    mode: HistoryMode,
    tx: mpsc::Sender<Command>,
    capacity: usize,
    failed: Arc<Mutex<Option<CodexError>>>,
}

impl Recorder {
    /// Creates thread `thread` in a Codex home and records into it.
    pub async fn create(
        home: &CodexHome,
        thread: &NewThread,
        options: RecorderOptions,
    ) -> Result<Recorder> {
        let writer = ThreadWriter::create(home, thread, options.writer.clone()).await?;
        let id = *writer.id();
        let mode = writer.mode().clone();
        Ok(Recorder::start(id, mode, Sink::Codex(writer), &options))
    }

    /// Resumes thread `id` of a Codex home and records into it.
    pub async fn resume(home: &CodexHome, id: &Uuid, options: RecorderOptions) -> Result<Recorder> {
        let writer = ThreadWriter::open(home, id, options.writer.clone()).await?;
        let mode = writer.mode().clone();
        Ok(Recorder::start(*id, mode, Sink::Codex(writer), &options))
    }

    /// Creates thread `thread` as a log of `store` (id: the thread id,
    /// metadata: as an import of its rollout file would have it) and
    /// records into it.
    pub async fn create_in_store(
        store: &Store,
        thread: &NewThread,
        options: RecorderOptions,
    ) -> Result<Recorder> {
        let id = thread.id.unwrap_or_else(Uuid::now_v7);
        let writer = &options.writer;
        writer
            .floor
            .check(crate::Operation::Create, &thread.mode, &id.to_string())?;
        let now = writer.clock.now_ms();
        let time = json::name_time(now, &writer.zone);
        let name = RolloutName {
            time,
            thread: id,
            rollout: id,
            compressed: false,
        };
        let file = format!(
            "sessions/{:04}/{:02}/{:02}/{name}",
            time.year, time.month, time.day
        );
        let paginated = thread.mode == HistoryMode::Paginated;
        let metadata = json!({"codex": {
            "kind": "rollout",
            "file": file,
            "thread": id.to_string(),
            "rollout": id.to_string(),
            "archived": false,
            "compressed": false,
            "history_mode": if paginated { "paginated" } else { "legacy" },
            "history_base": Value::Null,
            "forked_from_id": Value::Null,
            "torn_tail": Value::Null,
        }});
        let log_id = LogId::new(id.to_string())?;
        let header = header_payload(thread, id, &json::timestamp(now));
        let line = json::envelope(
            &json::timestamp(now),
            paginated.then_some(0),
            "session_meta",
            &header,
            None,
        )?;
        if store.info(&log_id).is_ok() {
            return Err(CodexError::Invalid(format!(
                "thread {id} is already in the store; resume it instead"
            )));
        }
        let made = async {
            let log = store.create(&log_id, metadata).await?;
            log.append_expecting(log.next_seq(), [line]).await?;
            Ok::<Log, spool_engine::Error>(log)
        }
        .await;
        let log = match made {
            Ok(log) => log,
            // Someone else made it meanwhile: theirs, never ours to undo.
            Err(error @ spool_engine::Error::AlreadyExists { .. }) => return Err(error.into()),
            Err(error) => {
                // The entry is ours and has no header: undo it (best effort;
                // the error is what the caller needs).
                let _ = store.delete(&log_id).await;
                return Err(error.into());
            }
        };
        let sink = Sink::Store {
            log,
            mode: thread.mode.clone(),
            next: paginated.then_some(1),
            options: options.writer.clone(),
        };
        Ok(Recorder::start(id, thread.mode.clone(), sink, &options))
    }

    /// Resumes thread `id`, a log of `store` (made by `create_in_store` or
    /// an import), and records into it: its mode from its header, its next
    /// ordinal from its last record, as a Codex resume finds them.
    pub async fn resume_in_store(
        store: &Store,
        id: &Uuid,
        options: RecorderOptions,
    ) -> Result<Recorder> {
        let log = store.open_log(&LogId::new(id.to_string())?).await?;
        let path = std::path::PathBuf::from(format!("store log {id}"));
        let head = crate::import::first_lines(&log, 64).await?;
        let header = crate::header::find_header(&path, &head)?;
        let mode = header.meta.history_mode.clone();
        options
            .writer
            .floor
            .check(crate::Operation::Resume, &mode, &id.to_string())?;
        let next = if mode == HistoryMode::Paginated {
            let page = log.read_page(&log.last_cursor(), 256).await?;
            let last = page
                .records
                .iter()
                .map(|r| crate::line::RolloutLine::parse(r.payload.clone()))
                .find(crate::ordinal::is_record);
            match last.and_then(|l| l.envelope().and_then(|e| e.ordinal)) {
                Some(o) => Some(o.checked_add(1).ok_or_else(|| {
                    CodexError::Invalid("no ordinal is left after u64::MAX".into())
                })?),
                None => {
                    return Err(CodexError::MissingOrdinal {
                        path,
                        line: log.next_seq().0,
                    });
                }
            }
        } else {
            None
        };
        let sink = Sink::Store {
            log,
            mode: mode.clone(),
            next,
            options: options.writer.clone(),
        };
        Ok(Recorder::start(*id, mode, sink, &options))
    }

    fn start(id: Uuid, mode: HistoryMode, sink: Sink, options: &RecorderOptions) -> Recorder {
        // Tokio's channels take at most usize::MAX >> 3 permits.
        let capacity = options.capacity.clamp(1, 1 << 20);
        let (tx, rx) = mpsc::channel(capacity);
        let failed = Arc::new(Mutex::new(None));
        tokio::spawn(run(sink, rx, Arc::clone(&failed), options.flush));
        Recorder {
            id,
            mode,
            tx,
            capacity,
            failed,
        }
    }

    /// The thread id.
    #[must_use]
    pub fn id(&self) -> &Uuid {
        &self.id
    }

    fn check(&self) -> Result<()> {
        match &*self.failed.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Checks `lines` against the thread's mode now, so a bad line is the
    /// caller's error at once and never stops the recorder.
    fn validate(&self, lines: &[NewLine]) -> Result<()> {
        encode(
            &self.mode,
            Some(0).filter(|_| self.mode == HistoryMode::Paginated),
            0,
            lines,
        )
        .map(|_| ())
    }

    /// Queues `lines` (one write, all or none); waits only for room in the
    /// queue, never for the disk. Lines the thread's mode does not persist
    /// are refused here, before anything is queued.
    pub async fn record(&self, lines: Vec<NewLine>) -> Result<()> {
        self.check()?;
        self.validate(&lines)?;
        self.tx
            .send(Command::Record(lines))
            .await
            .map_err(|_| CodexError::Stopped("the recorder's writer has ended".into()))
    }

    /// Queues `lines` without waiting: `Busy` if the queue is full.
    pub fn try_record(&self, lines: Vec<NewLine>) -> Result<()> {
        self.check()?;
        self.validate(&lines)?;
        self.tx
            .try_send(Command::Record(lines))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => CodexError::Busy {
                    capacity: self.capacity,
                },
                mpsc::error::TrySendError::Closed(_) => {
                    CodexError::Stopped("the recorder's writer has ended".into())
                }
            })
    }

    /// Waits until everything recorded before is written (and synced, if
    /// the options say so); returns the first persistence error, if any.
    pub async fn flush(&self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Command::Flush(ack))
            .await
            .map_err(|_| CodexError::Stopped("the recorder's writer has ended".into()))?;
        done.await
            .map_err(|_| CodexError::Stopped("the recorder's writer has ended".into()))?
    }

    /// Writes everything recorded, closes, and acknowledges; returns the
    /// first persistence error, if any.
    pub async fn shutdown(self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(ack))
            .await
            .map_err(|_| CodexError::Stopped("the recorder's writer has ended".into()))?;
        done.await
            .map_err(|_| CodexError::Stopped("the recorder's writer has ended".into()))?
    }
}

/// The writer task: one owner of the sink.
async fn run(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Command>,
    failed: Arc<Mutex<Option<CodexError>>>,
    flush: Durability,
) {
    let current = |failed: &Arc<Mutex<Option<CodexError>>>| {
        failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    while let Some(command) = rx.recv().await {
        match command {
            Command::Record(lines) => {
                if current(&failed).is_some() {
                    continue;
                }
                if let Err(error) = sink.write(&lines).await {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                }
            }
            Command::Flush(ack) => {
                let result = match current(&failed) {
                    Some(error) => Err(error),
                    None => sink.sync(flush).await,
                };
                if let Err(error) = &result {
                    failed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert_with(|| error.clone());
                }
                let _ = ack.send(result);
            }
            Command::Shutdown(ack) => {
                let result = match current(&failed) {
                    Some(error) => {
                        let _ = sink.close().await;
                        Err(error)
                    }
                    None => sink.close().await,
                };
                let _ = ack.send(result);
                return;
            }
        }
    }
    // Every handle dropped without a shutdown: close anyway.
    let _ = sink.close().await;
}
