//! `spool append`: JSON lines from stdin into a store's log or a Codex
//! thread, each seq printed once it is acknowledged (with `--sync data`,
//! once it is durable), so a script knows exactly what is safe.
//!
//! Lines come in batches of what has arrived (input.rs): one write, and
//! with `--sync data` one fsync, per batch, while a slow producer still
//! gets each line acknowledged as it comes. A line that is not JSON stops
//! the run after the lines before it; what was printed stays acknowledged.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value;
use spool_compat::{HistoryMode, NewLine, NewThread, ThreadWriter, WriterOptions};
use spool_engine::{Durability, LogId, Seq, StoreConfig};
use uuid::Uuid;

use crate::codex::FloorArg;
use crate::failure::Failure;
use crate::input::{Input, Line};
use crate::target::{Target, detect, open_store};

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

/// `spool append`.
pub(crate) async fn append(args: &AppendArgs) -> Result<(), Failure> {
    let target = match detect(&args.path) {
        Ok(target) => target,
        // `--create` on a directory that is not there yet makes it a store.
        Err(_) if args.create && !args.path.exists() => {
            crate::init::create_store(&args.path, crate::target::BackendArg::Segmented).await?;
            Target::Store(crate::target::StoreAt::Dir(args.path.clone()))
        }
        Err(e) => return Err(e),
    };
    let lines = Input::stdin();
    match target {
        Target::Store(at) => to_store(args, &at, lines).await,
        Target::Codex(home) => to_thread(args, &home, lines).await,
    }
}

fn print_seq(seq: u64) {
    say!("{seq}");
}

async fn to_store(
    args: &AppendArgs,
    at: &crate::target::StoreAt,
    mut lines: Input,
) -> Result<(), Failure> {
    let id = LogId::new(args.id.clone())?;
    let mut config = StoreConfig::default();
    config.log.durability = match args.sync {
        SyncArg::None => Durability::Buffered,
        SyncArg::Data => Durability::Data,
    };
    let store = if args.create {
        crate::target::open_store_creating(at, config).await?
    } else {
        open_store(at, config).await?
    };
    let log = match store.open_log(&id).await {
        Ok(log) => log,
        Err(spool_engine::Error::NotFound { .. }) if args.create => {
            store.create(&id, serde_json::json!({})).await?
        }
        Err(spool_engine::Error::NotFound { .. }) => {
            store.close().await?;
            return Err(Failure::usage(
                "not_found",
                format!("no log {id} in {at}; pass --create to create it"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut expect = args.expect_seq.map(Seq);
    let result = async {
        while let Some((batch, stop)) = lines.batch().await {
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
        // No input still answers the question --expect-seq asks.
        match expect {
            Some(n) if log.next_seq() != n => Err(spool_engine::Error::Conflict {
                expected: n,
                actual: log.next_seq(),
            }
            .into()),
            _ => Ok::<(), Failure>(()),
        }
    }
    .await;
    let closed = store.close().await;
    result?;
    Ok(closed?)
}

async fn to_thread(
    args: &AppendArgs,
    home: &spool_compat::CodexHome,
    mut lines: Input,
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
        while let Some((batch, stop)) = lines.batch().await {
            // The lines before one that is not a Codex line are appended.
            let mut new = Vec::with_capacity(batch.len());
            let mut stop = stop;
            for line in &batch {
                match rollout_line(line) {
                    Ok(line) => new.push(line),
                    Err(failure) => {
                        stop = Some(failure);
                        break;
                    }
                }
            }
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
        match expect {
            Some(expected) if writer.next_line() != expected => Err(Failure::found(
                "conflict",
                format!(
                    "thread {id} has {} lines, not the {expected} --expect-seq names",
                    writer.next_line()
                ),
            )),
            _ => Ok::<(), Failure>(()),
        }
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
