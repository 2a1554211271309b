//! The commands on Codex history: `ls`, `show`, `actions` on a CODEX_HOME,
//! `import` and `export` between a CODEX_HOME and a spool store, and
//! `migrate`. Each is a thin layer over spool-compat: parse, call, print
//! (text for people, `--json` for programs, in Codex app-server field names).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use spool_compat::{
    Floor, ImportOutcome, MigrationStatus, PageOrder, PageQuery, SortBy, ThreadQuery,
};
use uuid::Uuid;

use crate::failure::Failure;
use crate::progress::Progress;
use crate::target::{StoreAt, Target, codex_home, detect, open_store, open_store_creating};

/// The floor, as a flag.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FloorArg {
    /// Legacy and paginated fully supported (spool's default).
    Full,
    /// Exactly what Codex 0.169 allows.
    #[value(name = "codex-0.169")]
    Codex0169,
    /// A release that knows the field but not paginated history.
    #[value(name = "release-n")]
    ReleaseN,
}

impl From<FloorArg> for Floor {
    fn from(f: FloorArg) -> Floor {
        match f {
            FloorArg::Full => Floor::Full,
            FloorArg::Codex0169 => Floor::Codex0169,
            FloorArg::ReleaseN => Floor::ReleaseN,
        }
    }
}

/// `spool ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// A CODEX_HOME or a spool store directory.
    pub(crate) path: PathBuf,
    /// Threads per page (default 25, at most 100).
    #[arg(long, default_value_t = 25)]
    pub(crate) limit: usize,
    /// A nextCursor from an earlier page.
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// List archived threads instead.
    #[arg(long)]
    pub(crate) archived: bool,
    /// Sort by creation or by last update (newest first).
    #[arg(long, value_enum, default_value = "created")]
    pub(crate) sort: SortArg,
    /// What the caller supports.
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) floor: FloorArg,
    /// Print `{"data": [...], "nextCursor": ...}`.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The listing order.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SortArg {
    /// By the name timestamp of the thread's first file.
    Created,
    /// By the mtime of its current file.
    Updated,
}

/// `spool show`.
#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "clap flags: each is one switch of the command line"
)]
pub(crate) struct ShowArgs {
    /// A CODEX_HOME or a spool store directory.
    pub(crate) path: PathBuf,
    /// The thread id (in a store: a thread id or a log id).
    pub(crate) id: String,
    /// Print the raw lines of the history (a store log's records).
    #[arg(long, conflicts_with_all = ["items", "turns"])]
    pub(crate) records: bool,
    /// Print the turns (the default).
    #[arg(long, conflicts_with = "items")]
    pub(crate) turns: bool,
    /// Print a page of items instead of the turns.
    #[arg(long)]
    pub(crate) items: bool,
    /// Turns or items per page (default 25, at most 100).
    #[arg(long, default_value_t = 25)]
    pub(crate) limit: usize,
    /// A nextCursor from an earlier page.
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// Newest first (turns default), instead of oldest first.
    #[arg(long)]
    pub(crate) backward: bool,
    /// What the caller supports.
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) floor: FloorArg,
    /// Print JSON in Codex app-server v2's shape.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `spool actions`.
#[derive(Debug, Args)]
pub(crate) struct ActionsArgs {
    /// A CODEX_HOME or a spool store directory.
    pub(crate) path: PathBuf,
    /// The thread id (in a store: a thread id or a log id).
    pub(crate) id: String,
    /// One action per line, or one JSON array.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub(crate) format: ActionFormat,
}

/// How actions are printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ActionFormat {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
}

/// `spool import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CODEX_HOME to read (never written).
    pub(crate) codex_home: PathBuf,
    /// The spool store directory (created if needed).
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `spool export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The spool store directory.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The CODEX_HOME to write into (no file is overwritten).
    pub(crate) codex_home: PathBuf,
    /// Only these threads (repeatable).
    #[arg(long = "thread")]
    pub(crate) threads: Vec<Uuid>,
}

/// `spool migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The CODEX_HOME.
    pub(crate) codex_home: PathBuf,
    /// Rewrite the files (the default is a dry run).
    #[arg(long)]
    pub(crate) apply: bool,
    /// Only these threads (repeatable).
    #[arg(long = "thread")]
    pub(crate) threads: Vec<Uuid>,
    /// Print the statuses as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A thread id argument.
fn thread_id(id: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(id).map_err(|e| {
        Failure::usage(
            "invalid",
            format!("{id:?} is not a thread id (a UUID): {e}"),
        )
    })
}

fn print_json(value: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// `spool ls`.
pub(crate) async fn ls(args: &LsArgs) -> Result<(), Failure> {
    let home = match detect(&args.path)? {
        Target::Codex(home) => home,
        Target::Store(at) => return crate::store_view::ls(args, &at).await,
    };
    let query = ThreadQuery {
        limit: args.limit,
        cursor: args.cursor.clone(),
        sort: match args.sort {
            SortArg::Created => SortBy::Created,
            SortArg::Updated => SortBy::Updated,
        },
        archived: args.archived,
        floor: args.floor.into(),
        ..ThreadQuery::default()
    };
    let page = spool_compat::list_threads(&home, &query).await?;
    if args.json {
        let data: Vec<Value> = page
            .data
            .iter()
            .map(spool_compat::ThreadSummary::to_json)
            .collect();
        print_json(&json!({"data": data, "nextCursor": page.next_cursor}));
        return Ok(());
    }
    for thread in &page.data {
        let entry = thread.to_json();
        let preview: String = thread.preview.chars().take(60).collect();
        say!(
            "{}  {:<9}  {}  {}",
            thread.id(),
            entry["historyMode"].as_str().unwrap_or("?"),
            thread.files.files[0].name.time,
            preview
        );
    }
    if let Some(next) = page.next_cursor {
        say!("more: --cursor {next}");
    }
    Ok(())
}

/// `spool show`.
pub(crate) async fn show(args: &ShowArgs) -> Result<(), Failure> {
    let (home, id, _exported) = match detect(&args.path)? {
        Target::Codex(home) => (home, thread_id(&args.id)?, None),
        Target::Store(at) if args.records => {
            return crate::store_view::show_records(args, &at).await;
        }
        Target::Store(at) => match crate::store_view::codex_thread(&at, &args.id).await? {
            Some((tmp, home, id)) => (home, id, Some(tmp)),
            // Not a Codex thread: its records are what there is to show.
            None => return crate::store_view::show_records(args, &at).await,
        },
    };
    let thread = home.open_thread(&id).await?;
    let floor: Floor = args.floor.into();
    if args.records {
        floor.check(
            spool_compat::Operation::Read,
            thread.mode(),
            &id.to_string(),
        )?;
        for (_, line) in thread.read_lines(0, thread.len()).await? {
            say!("{}", String::from_utf8_lossy(line.bytes()));
        }
        return Ok(());
    }
    let order = if args.backward {
        PageOrder::Descending
    } else {
        PageOrder::Ascending
    };
    let query = PageQuery {
        limit: args.limit,
        cursor: args.cursor.clone(),
        order,
        floor,
    };
    if args.items {
        let page = spool_compat::items_page(&thread, &query).await?;
        if args.json {
            print_json(&page);
        } else {
            for entry in page["data"].as_array().into_iter().flatten() {
                say!(
                    "{}  {}",
                    entry["turnId"].as_str().unwrap_or(""),
                    summary(&entry["item"])
                );
            }
        }
        return Ok(());
    }
    if args.json {
        let read = spool_compat::read_thread(&home, &thread, floor).await?;
        print_json(&read);
        return Ok(());
    }
    let turns = spool_compat::view::turns(&thread, floor, spool_compat::Operation::Turns).await?;
    for turn in &turns {
        let value = turn.to_json(spool_compat::ItemsView::Full);
        say!(
            "turn {}  {}",
            turn.id,
            value["status"].as_str().unwrap_or("")
        );
        for item in value["items"].as_array().into_iter().flatten() {
            say!("  {}", summary(item));
        }
    }
    Ok(())
}

/// One line for an item: its type and its text or command.
fn summary(item: &Value) -> String {
    let kind = item["type"].as_str().unwrap_or("?");
    let text = match kind {
        "userMessage" => item["content"][0]["text"].as_str().unwrap_or("").to_owned(),
        "agentMessage" => item["text"].as_str().unwrap_or("").to_owned(),
        "reasoning" => item["summary"][0].as_str().unwrap_or("").to_owned(),
        "commandExecution" => item["command"].as_str().unwrap_or("").to_owned(),
        "fileChange" => item["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["path"].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let text: String = text.replace('\n', " ").chars().take(80).collect();
    format!("{kind}: {text}")
}

/// `spool actions`.
pub(crate) async fn actions(args: &ActionsArgs) -> Result<(), Failure> {
    let (home, id, _exported) = match detect(&args.path)? {
        Target::Codex(home) => (home, thread_id(&args.id)?, None),
        Target::Store(at) => match crate::store_view::codex_thread(&at, &args.id).await? {
            Some((tmp, home, id)) => (home, id, Some(tmp)),
            None => {
                return Err(Failure::usage(
                    "not_found",
                    format!("{} names no Codex thread in the store {at}", args.id),
                ));
            }
        },
    };
    let thread = home.open_thread(&id).await?;
    let actions = spool_compat::export_actions(&thread).await?;
    match args.format {
        ActionFormat::Jsonl => {
            for action in &actions {
                say!("{}", serde_json::to_string(action).unwrap_or_default());
            }
        }
        ActionFormat::Json => print_json(&Value::Array(actions)),
    }
    Ok(())
}

/// `spool import`.
pub(crate) async fn import(args: &ImportArgs) -> Result<(), Failure> {
    let home = codex_home(&args.codex_home)?;
    let at = StoreAt::parse(&args.store)?;
    let store = open_store_creating(&at, spool_engine::StoreConfig::default()).await?;
    let progress = Progress::new("files", args.json);
    let report = spool_compat::import_home(&home, &store, progress.callback()).await;
    drop(progress);
    let report = report?;
    store.close().await?;
    let mut problems = 0;
    let rows: Vec<Value> = report
        .files
        .iter()
        .map(|f| {
            let (status, detail) = match &f.outcome {
                ImportOutcome::Created { lines } => ("created", json!({"lines": lines})),
                ImportOutcome::Appended { from, to } => ("appended", json!({"from": from, "to": to})),
                ImportOutcome::UpToDate => ("up_to_date", json!({})),
                ImportOutcome::Divergent {
                    first_difference,
                    store_lines,
                    file_lines,
                } => {
                    problems += 1;
                    (
                        "divergent",
                        json!({"firstDifference": first_difference, "storeLines": store_lines, "fileLines": file_lines}),
                    )
                }
                ImportOutcome::Failed { code, message } => {
                    problems += 1;
                    ("failed", json!({"code": code, "message": message}))
                }
            };
            json!({"file": f.path.display().to_string(), "log": f.log, "status": status, "detail": detail,
                   "invalidLines": f.invalid_lines, "tornTail": f.torn_tail})
        })
        .collect();
    if args.json {
        print_json(&json!({"files": rows}));
    } else {
        for row in &rows {
            say!(
                "{:<10} {}  {}",
                row["status"].as_str().unwrap_or(""),
                row["file"].as_str().unwrap_or(""),
                row["detail"]
            );
        }
    }
    if problems > 0 {
        return Err(Failure::reported(
            "divergent",
            format!(
                "{problems} file(s) were not imported (divergent or failed); see the report above"
            ),
        ));
    }
    Ok(())
}

/// `spool export`.
pub(crate) async fn export(args: &ExportArgs) -> Result<(), Failure> {
    let at = StoreAt::parse(&args.store)?;
    if matches!(&at, StoreAt::Dir(dir) if !dir.join("logs").is_dir()) {
        return Err(Failure::usage(
            "not_found",
            format!(
                "{} is not a spool store (no logs/); import into it first",
                args.store.display()
            ),
        ));
    }
    let store = open_store(&at, spool_engine::StoreConfig::default()).await?;
    let threads = (!args.threads.is_empty()).then_some(&args.threads[..]);
    let progress = Progress::new("logs", false);
    let written =
        spool_compat::export_store_with(&store, &args.codex_home, threads, progress.callback())
            .await;
    drop(progress);
    store.close().await?;
    for path in written? {
        say!("{}", path.display());
    }
    Ok(())
}

/// `spool migrate`.
pub(crate) async fn migrate(args: &MigrateArgs) -> Result<(), Failure> {
    let home = codex_home(&args.codex_home)?;
    let threads = (!args.threads.is_empty()).then_some(&args.threads[..]);
    let progress = Progress::new("threads", args.json);
    let report =
        spool_compat::migrate_home_with(&home, threads, args.apply, progress.callback()).await;
    drop(progress);
    let report = report?;
    let mut failed = 0;
    let rows: Vec<Value> = report
        .iter()
        .map(|m| {
            let (status, reason, message) = match &m.status {
                MigrationStatus::Eligible => ("eligible", None, None),
                MigrationStatus::Migrated => ("migrated", None, None),
                MigrationStatus::AlreadyPaginated => ("already_paginated", None, None),
                MigrationStatus::Failed { reason, message } => {
                    failed += 1;
                    ("failed", Some(*reason), Some(message.clone()))
                }
            };
            json!({"threadId": m.thread.to_string(), "path": m.path.display().to_string(), "status": status,
                   "failureReason": reason, "message": message})
        })
        .collect();
    if args.json {
        print_json(&json!({"threads": rows}));
    } else {
        for row in &rows {
            say!(
                "{}  {}",
                row["threadId"].as_str().unwrap_or(""),
                row["status"].as_str().unwrap_or("")
            );
            if let Some(message) = row["message"].as_str() {
                say!("  {message}");
            }
        }
    }
    if failed > 0 {
        return Err(Failure::reported(
            "migration_failed",
            format!("{failed} thread(s) could not be migrated; their files are untouched"),
        ));
    }
    Ok(())
}
