//! `spool append`: JSON lines from stdin into a store's log or a Codex
//! thread, each seq printed once it is acknowledged (with `--sync data`,
//! once it is durable), so a script knows exactly what is safe.
//!
//! Lines are read on a blocking thread and appended in batches of what has
//! arrived (up to 1,024 lines or 4 MiB): one write, and with `--sync data`
//! one fsync, per batch, while a slow producer still gets each line
//! acknowledged as it comes. A line that is not JSON stops the run before
//! its batch is written; what was printed before stays acknowledged.

use std::io::{BufRead as _, Read as _};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value;
use spool_compat::{HistoryMode, NewLine, NewThread, ThreadWriter, WriterOptions};
use spool_engine::{Durability, LogId, Seq, StoreConfig};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::codex::FloorArg;
use crate::failure::Failure;
use crate::target::{Target, detect, open_store};

/// Most lines one batch takes.
const BATCH_LINES: usize = 1024;
/// Most bytes one batch takes (a larger single line is a batch of its own).
const BATCH_BYTES: usize = 4 << 20;
/// Longest line read from stdin.
const MAX_LINE_BYTES: usize = 8 << 20;

/// `spool append`.
#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// A spool store directory or a CODEX_HOME.
    pub(crate) path: PathBuf,
    /// The log id (a store) or thread id (a CODEX_HOME).
    pub(crate) id: String,
    /// Create the log (or a paginated Codex thread) if it does not exist.
    #[arg(long)]
    pub(crate) create: bool,
    /// When a seq is printed: once written (none) or once durable (data).
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) sync: SyncArg,
    /// Append only if the log's next seq is N (else exit 1, code conflict).
    #[arg(long, value_name = "N")]
    pub(crate) expect_seq: Option<u64>,
    /// What the caller supports (Codex threads).
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) floor: FloorArg,
}

/// `--sync`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SyncArg {
    /// Acknowledged once written (survives a killed process).
    None,
    /// Acknowledged once fsynced (survives power loss).
    Data,
}

/// One line from stdin, numbered from 1.
struct Line {
    number: u64,
    bytes: Vec<u8>,
}

/// `spool append`.
pub(crate) async fn append(args: &AppendArgs) -> Result<(), Failure> {
    let target = match detect(&args.path) {
        Ok(target) => target,
        // `--create` on a directory that is not there yet makes it a store.
        Err(_) if args.create && !args.path.exists() => {
            crate::init::create_store(&args.path, crate::target::BackendArg::Segmented).await?;
            Target::Store(args.path.clone())
        }
        Err(e) => return Err(e),
    };
    let lines = read_stdin();
    match target {
        Target::Store(dir) => to_store(args, &dir, lines).await,
        Target::Codex(home) => to_thread(args, &home, lines).await,
    }
}

/// Reads stdin on a blocking thread; the channel ends with the input, or
/// with an error for unreadable input.
fn read_stdin() -> mpsc::Receiver<Result<Line, Failure>> {
    let (tx, rx) = mpsc::channel(BATCH_LINES * 4);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut number = 0;
        loop {
            let mut bytes = Vec::new();
            let read = (&mut input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut bytes);
            number += 1;
            let item = match read {
                Ok(0) => return,
                Ok(_) if bytes.len() > MAX_LINE_BYTES => Err(Failure::usage(
                    "too_large",
                    format!(
                        "stdin line {number} is longer than {MAX_LINE_BYTES} bytes; nothing from it on was appended"
                    ),
                )),
                Ok(_) => {
                    if bytes.last() == Some(&b'\n') {
                        bytes.pop();
                    }
                    if bytes.is_empty() {
                        continue;
                    }
                    Ok(Line { number, bytes })
                }
                Err(e) => Err(Failure::usage(
                    "io",
                    format!("cannot read stdin at line {number}: {e}"),
                )),
            };
            let stop = item.is_err();
            if tx.blocking_send(item).is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// The lines of the next batch, and what stopped it short: waits for one
/// line, then takes what else has arrived. `None` at the end of the input.
/// The lines before a bad one are still appended (they are valid input),
/// then the run stops with the bad line's failure.
async fn next_batch(
    rx: &mut mpsc::Receiver<Result<Line, Failure>>,
) -> Option<(Vec<Line>, Option<Failure>)> {
    let first = rx.recv().await?;
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut next = Some(first);
    while let Some(line) = next.take() {
        match line.and_then(check_json) {
            Ok(line) => {
                bytes += line.bytes.len();
                batch.push(line);
            }
            Err(failure) => return Some((batch, Some(failure))),
        }
        if batch.len() < BATCH_LINES && bytes < BATCH_BYTES {
            next = rx.try_recv().ok();
        }
    }
    Some((batch, None))
}

/// Every record appended is one JSON value; the line number says which
/// line is not.
fn check_json(line: Line) -> Result<Line, Failure> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(&line.bytes) {
        Ok(_) => Ok(line),
        Err(e) => Err(Failure::usage(
            "invalid",
            format!(
                "stdin line {} is not JSON ({e}); the lines before it were appended, it and the lines after it were not",
                line.number
            ),
        )),
    }
}

fn print_seq(seq: u64) {
    say!("{seq}");
}

async fn to_store(
    args: &AppendArgs,
    dir: &std::path::Path,
    mut lines: mpsc::Receiver<Result<Line, Failure>>,
) -> Result<(), Failure> {
    let id = LogId::new(args.id.clone())?;
    let mut config = StoreConfig::default();
    config.log.durability = match args.sync {
        SyncArg::None => Durability::Buffered,
        SyncArg::Data => Durability::Data,
    };
    let store = open_store(dir, config).await?;
    let log = match store.open_log(&id).await {
        Ok(log) => log,
        Err(spool_engine::Error::NotFound { .. }) if args.create => {
            store.create(&id, serde_json::json!({})).await?
        }
        Err(spool_engine::Error::NotFound { .. }) => {
            store.close().await?;
            return Err(Failure::usage(
                "not_found",
                format!(
                    "no log {id} in {}; pass --create to create it",
                    dir.display()
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut expect = args.expect_seq.map(Seq);
    let result = async {
        while let Some((batch, stop)) = next_batch(&mut lines).await {
            if !batch.is_empty() {
                let payloads: Vec<Vec<u8>> = batch.into_iter().map(|l| l.bytes).collect();
                let range = match expect {
                    Some(next) => log.append_expecting(next, payloads).await?,
                    None => log.append_batch(payloads).await?,
                };
                // Every later batch must follow on: a writer that slipped in
                // between is a conflict too.
                expect = expect.map(|_| range.end);
                for seq in range.start.0..range.end.0 {
                    print_seq(seq);
                }
            }
            if let Some(failure) = stop {
                return Err(failure);
            }
        }
        Ok::<(), Failure>(())
    }
    .await;
    let closed = store.close().await;
    result?;
    Ok(closed?)
}

async fn to_thread(
    args: &AppendArgs,
    home: &spool_compat::CodexHome,
    mut lines: mpsc::Receiver<Result<Line, Failure>>,
) -> Result<(), Failure> {
    let id = Uuid::parse_str(&args.id).map_err(|e| {
        Failure::usage(
            "invalid",
            format!("{:?} is not a thread id (a UUID): {e}", args.id),
        )
    })?;
    let options = WriterOptions {
        floor: args.floor.into(),
        ..WriterOptions::default()
    };
    let mut writer = match ThreadWriter::open(home, &id, options.clone()).await {
        Ok(writer) => writer,
        Err(e) if e.code() == "not_found" && args.create => {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let thread = NewThread {
                id: Some(id),
                ..NewThread::new(HistoryMode::Paginated, &cwd)
            };
            ThreadWriter::create(home, &thread, options).await?
        }
        Err(e) => return Err(e.into()),
    };
    let mut expect = args.expect_seq;
    let result = async {
        while let Some((batch, stop)) = next_batch(&mut lines).await {
            let new: Vec<NewLine> = batch
                .iter()
                .map(rollout_line)
                .collect::<Result<_, Failure>>()?;
            if new.is_empty() {
                return stop.map_or(Ok(()), Err);
            }
            let next = writer.next_line();
            if let Some(expected) = expect
                && next != expected
            {
                return Err(Failure::found(
                    "conflict",
                    format!(
                        "thread {id} has {next} lines, not the {expected} --expect-seq names; nothing was appended"
                    ),
                ));
            }
            let range = writer.append(&new).await?;
            expect = expect.map(|_| range.end);
            if matches!(args.sync, SyncArg::Data) {
                writer.sync().await?;
            }
            for seq in range {
                print_seq(seq);
            }
            if let Some(failure) = stop {
                return Err(failure);
            }
        }
        Ok::<(), Failure>(())
    }
    .await;
    let closed = writer.close().await;
    result?;
    Ok(closed?)
}

/// A stdin line for a Codex thread: `{"type": ..., "payload": {...}}`,
/// with an optional `metadata`; the writer stamps the time (and, in a
/// paginated thread, the ordinal).
fn rollout_line(line: &Line) -> Result<NewLine, Failure> {
    let bad = |why: &str| {
        Failure::usage(
            "invalid",
            format!(
                "stdin line {}: {why}; a Codex line is {{\"type\": \"response_item\"|\"event_msg\"|..., \"payload\": {{...}}}} (the time and ordinal are added)",
                line.number
            ),
        )
    };
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&line.bytes) else {
        return Err(bad("not a JSON object"));
    };
    let Some(Value::String(kind)) = object.remove("type") else {
        return Err(bad("no string \"type\""));
    };
    if kind == "session_meta" {
        return Err(bad("session_meta is written by the writer itself"));
    }
    let payload = object
        .remove("payload")
        .ok_or_else(|| bad("no \"payload\""))?;
    let metadata = object.remove("metadata");
    if let Some(extra) = object.keys().next() {
        return Err(bad(&format!("unexpected field {extra:?}")));
    }
    let mut new = NewLine::new(&kind, payload)?;
    new.metadata = metadata;
    Ok(new)
}
