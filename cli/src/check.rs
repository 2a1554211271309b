//! `spool verify`, `spool repair` and `spool stat`: one pass over every
//! byte of a store's logs (or a CODEX_HOME's rollout files), reported as
//! findings (file, byte offset, what is wrong, what repair does) and vital
//! statistics.
//!
//! The checks themselves live in spool-backends (`segmented::verify`,
//! `jsonl::verify`, and their `repair`) and spool-compat (the Codex
//! readers); this module walks a PATH, prints, and picks the exit code:
//! 0 clean, 1 damage found (or left), 2 usage or I/O error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde_json::{Value, json};
use spool_backends::{Finding, JsonlConfig, LogCheck, Problem, Remedy, StdFs};
use spool_compat::{CodexHome, Floor, HistoryMode};
use spool_engine::Vfs;

use crate::failure::Failure;
use crate::progress::Progress;
use crate::target::{LogFiles, Target, detect, lock_held, store_logs};

/// `spool verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// A spool store directory or a CODEX_HOME.
    pub(crate) path: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `spool repair`.
#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// A spool store directory.
    pub(crate) path: PathBuf,
    /// Also cut logs at damage before their durable point (the bytes cut,
    /// and any segments after, are kept beside the log).
    #[arg(long)]
    pub(crate) salvage: bool,
    /// Only say what would be done.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `spool stat`.
#[derive(Debug, Args)]
pub(crate) struct StatArgs {
    /// A spool store directory or a CODEX_HOME.
    pub(crate) path: PathBuf,
    /// Print the statistics as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// One finding as printed.
struct Row {
    file: PathBuf,
    offset: Option<u64>,
    line: Option<u64>,
    problem: &'static str,
    message: String,
    remedy: &'static str,
}

impl Row {
    fn to_json(&self) -> Value {
        json!({"file": self.file.display().to_string(), "offset": self.offset, "line": self.line,
               "problem": self.problem, "message": self.message, "remedy": self.remedy})
    }

    fn print(&self) {
        let place = match (self.line, self.offset) {
            (Some(line), _) => format!("{}:{line}", self.file.display()),
            (None, Some(offset)) => format!("{} @{offset}", self.file.display()),
            (None, None) => self.file.display().to_string(),
        };
        say!(
            "{place}: {}: {} [{}]",
            self.problem,
            self.message,
            remedy_text(self.remedy)
        );
    }
}

fn remedy_text(remedy: &str) -> &'static str {
    match remedy {
        "truncate" => "spool repair cuts it, saving the bytes",
        "salvage" => "only spool repair --salvage cuts here, saving the bytes and later segments",
        "rewrite_index" => "spool repair rewrites it",
        "remove_segment" => "spool repair removes it",
        "set_aside" => "spool repair (or open) renames it <segment>.cut-0 and keeps it",
        "codex_skips" => "Codex skips it; spool reads as Codex does",
        "codex_ends_line" => "a resume (Codex's or spool append's) ends it with a newline",
        _ => "nothing spool can repair",
    }
}

fn row(f: &Finding) -> Row {
    let (problem, message) = match &f.problem {
        Problem::TornTail { bytes } => (
            "torn_tail",
            format!(
                "{bytes} bytes after the last complete batch were never acknowledged as durable"
            ),
        ),
        Problem::Corrupt(kind) => ("corrupt", kind.to_string()),
        Problem::SeqGap { expected, found } => (
            "seq_gap",
            format!(
                "this segment starts at seq {found}, the one before ends at {expected}: a segment is missing"
            ),
        ),
        Problem::TornSegment => (
            "torn_segment",
            "a segment whose creation never completed (it holds no records)".to_owned(),
        ),
        Problem::UnsupportedVersion(v) => (
            "unsupported_version",
            format!("format version {v} is newer than this spool reads"),
        ),
        Problem::FollowsLostRecords => (
            "follows_lost_records",
            "this segment follows one that lost its tail before its seal was confirmed durable; its records were never acknowledged as durable".to_owned(),
        ),
        Problem::IndexMissing => ("index_missing", "the sparse index is missing".to_owned()),
        Problem::IndexStale => (
            "index_stale",
            "the sparse index is damaged or does not match its segment".to_owned(),
        ),
    };
    let remedy = match f.remedy {
        Remedy::Truncate { .. } => "truncate",
        Remedy::Salvage { .. } => "salvage",
        Remedy::RewriteIndex => "rewrite_index",
        Remedy::RemoveSegment => "remove_segment",
        Remedy::SetAside => "set_aside",
        Remedy::None => "none",
    };
    Row {
        file: f.file.clone(),
        offset: Some(f.offset),
        line: None,
        problem,
        message,
        remedy,
    }
}

/// Verifies one log of a store.
fn check_log(files: &LogFiles) -> Result<LogCheck, Failure> {
    let vfs: Arc<dyn Vfs> = Arc::new(StdFs);
    Ok(match files {
        LogFiles::Segmented(dir) => spool_backends::segmented::verify(vfs.as_ref(), dir)?,
        LogFiles::Jsonl(path) => spool_backends::jsonl::verify(&vfs, path, &JsonlConfig::owned())?,
    })
}

/// One log of a store, verified.
struct Checked {
    name: String,
    files: LogFiles,
    check: LogCheck,
    /// Whether a writer held it meanwhile (its tail may have been a write
    /// in flight).
    live: bool,
}

/// Every log of the store at `dir`, verified.
fn check_store(dir: &Path, quiet: bool) -> Result<Vec<Checked>, Failure> {
    let logs = store_logs(dir)?;
    let progress = Progress::new("logs", quiet);
    progress.set_len(logs.len());
    let mut out = Vec::with_capacity(logs.len());
    for (name, files) in logs {
        progress.step(&name);
        let check = check_log(&files)?;
        let live = match &files {
            LogFiles::Segmented(d) => lock_held(&d.join(spool_backends::segmented::LOCK_FILE)),
            LogFiles::Jsonl(f) => lock_held(f),
        };
        out.push(Checked {
            name,
            files,
            check,
            live,
        });
    }
    Ok(out)
}

fn log_json(c: &Checked) -> Value {
    let (name, check) = (&c.name, &c.check);
    let backend = match c.files {
        LogFiles::Segmented(_) => "segmented",
        LogFiles::Jsonl(_) => "jsonl",
    };
    let sealed = check.segments.iter().filter(|s| s.sealed).count();
    let indexed = check
        .segments
        .iter()
        .filter(|s| s.sealed && s.index_ok)
        .count();
    json!({
        "log": name, "path": check.path.display().to_string(), "backend": backend,
        "records": check.records(), "firstSeq": check.first_seq.0, "endSeq": check.end_seq.0,
        "bytes": check.bytes, "segments": check.segments.len(),
        "sealedSegments": sealed, "sealedIndexesOk": indexed,
        "oldestMs": check.oldest_ms, "newestMs": check.newest_ms,
        "writerActive": c.live,
        "findings": check.findings.iter().map(|f| row(f).to_json()).collect::<Vec<_>>(),
    })
}

/// `spool verify`.
pub(crate) async fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let (rows, report) = match detect(&args.path)? {
        Target::Store(at) => {
            let dir = at.dir("spool verify")?;
            let checks = check_store(dir, args.json)?;
            let rows: Vec<Row> = checks
                .iter()
                .flat_map(|c| c.check.findings.iter().map(row))
                .collect();
            let logs: Vec<Value> = checks.iter().map(log_json).collect();
            let records: u64 = checks.iter().map(|c| c.check.records()).sum();
            if !args.json {
                let live = checks.iter().filter(|c| c.live).count();
                if live > 0 {
                    say!(
                        "note: {live} log(s) had a writer while verifying; a tail being written may show as torn"
                    );
                }
                say!(
                    "{} logs, {records} records checked in {}",
                    checks.len(),
                    dir.display()
                );
            }
            (
                rows,
                json!({"path": dir.display().to_string(), "kind": "store", "logs": logs}),
            )
        }
        Target::Codex(home) => {
            let (rows, notes, stats) = check_codex(&home, args.json).await?;
            if !args.json {
                for note in &notes {
                    say!("note: {note}");
                }
                say!(
                    "{} threads, {} files, {} lines checked in {}",
                    stats.threads,
                    stats.files,
                    stats.lines,
                    home.root().display()
                );
            }
            (
                rows,
                json!({"path": home.root().display().to_string(), "kind": "codex_home",
                       "threads": stats.threads, "files": stats.files, "lines": stats.lines, "notes": notes}),
            )
        }
    };
    finish(args.json, &rows, report)
}

/// Prints the findings (and with `--json` the report) and picks the exit.
fn finish(json: bool, rows: &[Row], mut report: Value) -> Result<(), Failure> {
    let damage = rows.len();
    if json {
        report["findings"] = Value::Array(rows.iter().map(Row::to_json).collect());
        report["clean"] = Value::Bool(damage == 0);
        say!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for r in rows {
            r.print();
        }
        if damage == 0 {
            say!("clean");
        }
    }
    if damage > 0 {
        return Err(Failure::reported(
            "damage",
            format!(
                "{damage} finding(s); see the report (spool repair --dry-run says what it would do)"
            ),
        ));
    }
    Ok(())
}

/// What a CODEX_HOME holds, counted while checking it.
#[derive(Default)]
struct CodexStats {
    threads: usize,
    files: usize,
    lines: u64,
    bytes: u64,
    legacy: usize,
    paginated: usize,
    unknown: usize,
    oldest: Option<String>,
    newest: Option<String>,
}

/// Checks every rollout file and thread of `home` the way Codex reads
/// them: torn last lines, lines that are not JSON, loads Codex refuses,
/// headers, history chains; ordinal deviations (which Codex accepts) are
/// notes.
async fn check_codex(
    home: &CodexHome,
    quiet: bool,
) -> Result<(Vec<Row>, Vec<String>, CodexStats), Failure> {
    let threads = home.threads()?;
    let progress = Progress::new("threads", quiet);
    progress.set_len(threads.len());
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut stats = CodexStats {
        threads: threads.len(),
        ..CodexStats::default()
    };
    for thread in &threads {
        progress.step("");
        for file in &thread.files {
            stats.files += 1;
            let time = file.name.time.to_string();
            if stats.oldest.as_ref().is_none_or(|o| time < *o) {
                stats.oldest = Some(time.clone());
            }
            if stats.newest.as_ref().is_none_or(|n| time > *n) {
                stats.newest = Some(time);
            }
            stats.bytes += std::fs::metadata(&file.path).map_or(0, |m| m.len());
            check_rollout(home, file, &mut rows, &mut stats).await;
        }
        let current = thread
            .files
            .last()
            .map(|f| f.path.clone())
            .unwrap_or_default();
        match home.open_thread(&thread.id).await {
            Ok(t) => match spool_compat::check_ordinals(&t).await {
                Ok(deviations) => notes.extend(deviations.iter().map(|d| {
                    format!(
                        "{}:{}: ordinal {:?} where {} was expected ({:?}; Codex accepts it)",
                        d.path.display(),
                        d.line,
                        d.found,
                        d.expected,
                        d.kind
                    )
                })),
                Err(e) => rows.push(codex_row(current, &e)),
            },
            Err(e) => {
                // A file-level problem already reported is not repeated.
                if !rows
                    .iter()
                    .any(|r| r.file == current && r.problem == e.code())
                {
                    rows.push(codex_row(current, &e));
                }
            }
        }
    }
    drop(progress);
    Ok((rows, notes, stats))
}

fn codex_row(file: PathBuf, e: &spool_compat::CodexError) -> Row {
    Row {
        file,
        offset: None,
        line: None,
        problem: e.code(),
        message: e.to_string(),
        remedy: "none",
    }
}

/// One rollout file: what its read-only open, Codex's load and its header
/// say.
async fn check_rollout(
    home: &CodexHome,
    file: &spool_compat::RolloutFile,
    rows: &mut Vec<Row>,
    stats: &mut CodexStats,
) {
    let segment = match home.open_segment(file.clone()) {
        Ok(segment) => segment,
        Err(e) => return rows.push(codex_row(file.path.clone(), &e)),
    };
    stats.lines += segment.lines();
    let backend = segment.backend();
    if let Some(tail) = backend.report().torn_tail {
        rows.push(Row {
            file: file.path.clone(),
            offset: Some(tail.offset),
            line: Some(segment.lines() + 1),
            problem: "torn_tail",
            message: format!("the last {} bytes are a line without its newline", tail.len),
            remedy: "codex_ends_line",
        });
    }
    for bad in backend.invalid_lines() {
        rows.push(Row {
            file: file.path.clone(),
            offset: Some(bad.offset),
            line: Some(bad.line),
            problem: "invalid_line",
            message: format!("{} bytes: {}", bad.len, bad.fault),
            remedy: "codex_skips",
        });
    }
    if let Err(e) = segment.check_codex_load(Floor::Full) {
        rows.push(codex_row(file.path.clone(), &e));
    }
    match segment.header().await {
        Ok(header) => match header.meta.history_mode {
            HistoryMode::Legacy => stats.legacy += 1,
            HistoryMode::Paginated => stats.paginated += 1,
            HistoryMode::Unknown(_) => {
                stats.unknown += 1;
                let e = Floor::Full.check(
                    spool_compat::Operation::Read,
                    &header.meta.history_mode,
                    &file.name.thread.to_string(),
                );
                if let Err(e) = e {
                    rows.push(codex_row(file.path.clone(), &e));
                }
            }
        },
        Err(e) => {
            if e.code() == "unknown_history_mode" {
                stats.unknown += 1;
            }
            rows.push(codex_row(file.path.clone(), &e));
        }
    }
}

/// `spool repair`.
pub(crate) fn repair(args: &RepairArgs) -> Result<(), Failure> {
    let dir = match detect(&args.path)? {
        Target::Store(at) => at.dir("spool repair")?.to_path_buf(),
        Target::Codex(_) => {
            return Err(Failure::usage(
                "not_a_store",
                format!(
                    "{} is a CODEX_HOME: spool does not rewrite Codex's files; a torn last line is ended by the next resume (Codex's or spool append's), and spool verify reports the rest",
                    args.path.display()
                ),
            ));
        }
    };
    let checks = check_store(&dir, args.json)?;
    if args.dry_run {
        let rows: Vec<Row> = checks
            .iter()
            .flat_map(|c| c.check.findings.iter().map(row))
            .collect();
        let blocked = checks
            .iter()
            .filter(|c| !c.check.repairable_without_salvage())
            .count();
        if !args.json && blocked > 0 && !args.salvage {
            say!("{blocked} log(s) need --salvage");
        }
        return finish(
            args.json,
            &rows,
            json!({"path": dir.display().to_string(), "dryRun": true}),
        );
    }
    let mut repaired = Vec::new();
    let mut failed: Option<Failure> = None;
    let mut left = Vec::new();
    for checked in &checks {
        if checked.check.findings.is_empty() {
            continue;
        }
        match repair_log(checked, args) {
            Ok((done, remaining)) => {
                repaired.push(done);
                left.extend(remaining);
            }
            // The first failure is the command's error (main prints it);
            // any later one is said here.
            Err(failure) if failed.is_some() => eprintln!("spool: {failure}"),
            Err(failure) => failed = Some(failure),
        }
    }
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"path": dir.display().to_string(), "repaired": repaired,
                "left": left.iter().map(Row::to_json).collect::<Vec<_>>(),
                "error": failed.as_ref().map(|f| json!({"code": f.code, "message": f.message}))})
            )
            .unwrap_or_default()
        );
    } else if repaired.is_empty() && failed.is_none() {
        say!("clean: nothing to repair");
    }
    if let Some(mut failure) = failed {
        failure.reported = args.json;
        return Err(failure);
    }
    if !left.is_empty() {
        return Err(Failure::reported(
            "damage",
            format!("{} finding(s) remain after repair", left.len()),
        ));
    }
    Ok(())
}

/// Repairs one log; returns what was done (as JSON) and what is left.
fn repair_log(checked: &Checked, args: &RepairArgs) -> Result<(Value, Vec<Row>), Failure> {
    let name = &checked.name;
    let vfs: Arc<dyn Vfs> = Arc::new(StdFs);
    // Damage no salvage may cut (a frame of a newer format) gets no
    // salvage advice.
    let salvageable = checked
        .check
        .findings
        .iter()
        .all(|f| f.remedy != Remedy::None);
    let report = match &checked.files {
        LogFiles::Segmented(path) => {
            spool_backends::segmented::repair(vfs.as_ref(), path, args.salvage)
        }
        LogFiles::Jsonl(path) => {
            spool_backends::jsonl::repair(&vfs, path, &JsonlConfig::owned(), args.salvage)
        }
    };
    let report = report.map_err(|e| {
        let mut failure = Failure::from(e);
        failure.message = if failure.code == "corrupt" && !args.salvage && salvageable {
            format!(
                "{name}: {}; nothing was changed; spool repair --salvage cuts the log there, keeping the cut bytes beside it",
                failure.message
            )
        } else {
            format!("{name}: {}", failure.message)
        };
        failure
    })?;
    if !args.json {
        say!(
            "{name}: repaired ({} finding(s)); records {} -> {}",
            report.before.findings.len(),
            report.before.records(),
            report.after.records()
        );
        for p in &report.saved {
            say!("  cut bytes saved to {}", p.display());
        }
        for p in &report.set_aside {
            say!("  later segment set aside as {}", p.display());
        }
    }
    let paths = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
    };
    let done = json!({"log": name, "recordsBefore": report.before.records(),
        "recordsAfter": report.after.records(), "saved": paths(&report.saved),
        "setAside": paths(&report.set_aside), "indexesWritten": report.indexes_written});
    Ok((done, report.after.findings.iter().map(row).collect()))
}

/// `spool stat`.
pub(crate) async fn stat(args: &StatArgs) -> Result<(), Failure> {
    match detect(&args.path)? {
        Target::Store(at) => {
            let dir = at.dir("spool stat")?;
            let checks = check_store(dir, args.json)?;
            let logs: Vec<Value> = checks.iter().map(log_json).collect();
            let total = |f: fn(&LogCheck) -> u64| checks.iter().map(|c| f(&c.check)).sum::<u64>();
            let findings: usize = checks.iter().map(|c| c.check.findings.len()).sum();
            if args.json {
                let mut logs = logs;
                for log in &mut logs {
                    let n = log["findings"].as_array().map_or(0, Vec::len);
                    log["findings"] = json!(n);
                }
                say!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"path": dir.display().to_string(), "kind": "store",
                        "logs": logs.len(), "records": total(LogCheck::records), "bytes": total(|c| c.bytes),
                        "findings": findings, "perLog": logs}))
                    .unwrap_or_default()
                );
                return Ok(());
            }
            say!(
                "{}: {} logs, {} records, {} bytes, {findings} finding(s)",
                dir.display(),
                checks.len(),
                total(LogCheck::records),
                total(|c| c.bytes)
            );
            for log in &logs {
                say!(
                    "  {:<40} {:>6} {:>9} records  seqs {}..{}  {:>10} bytes  {} segment(s), indexes {}/{}  {} finding(s)",
                    log["log"].as_str().unwrap_or(""),
                    log["backend"].as_str().unwrap_or(""),
                    log["records"],
                    log["firstSeq"],
                    log["endSeq"],
                    log["bytes"],
                    log["segments"],
                    log["sealedIndexesOk"],
                    log["sealedSegments"],
                    log["findings"].as_array().map_or(0, Vec::len)
                );
            }
            Ok(())
        }
        Target::Codex(home) => {
            let (rows, _, s) = check_codex(&home, args.json).await?;
            let value = json!({"path": home.root().display().to_string(), "kind": "codex_home",
                "threads": s.threads, "files": s.files, "lines": s.lines, "bytes": s.bytes,
                "legacy": s.legacy, "paginated": s.paginated, "unknownMode": s.unknown,
                "oldest": s.oldest, "newest": s.newest, "findings": rows.len()});
            if args.json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else {
                say!(
                    "{}: {} threads ({} legacy, {} paginated, {} unknown mode), {} files, {} lines, {} bytes, {} .. {}, {} finding(s)",
                    home.root().display(),
                    s.threads,
                    s.legacy,
                    s.paginated,
                    s.unknown,
                    s.files,
                    s.lines,
                    s.bytes,
                    s.oldest.as_deref().unwrap_or("-"),
                    s.newest.as_deref().unwrap_or("-"),
                    rows.len()
                );
            }
            Ok(())
        }
    }
}
