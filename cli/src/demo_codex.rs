//! The Codex half of `spool demo`: a small CODEX_HOME written with spool's
//! own Codex writer (a legacy thread, a paginated one, a fork of it, then a
//! revert of it), imported into a spool store, verified, exported back and compared
//! byte for byte, with the reverted thread's turns shown as Codex shows
//! them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use spool_backends::{DirStorage, LogFormat, SegmentedConfig, StdFs};
use spool_compat::{
    CodexError, CodexHome, Fixture, Floor, HistoryMode, ImportOutcome, Operation, ThreadWriter,
    WriterOptions,
};
use spool_engine::{Store, StoreConfig};

/// What the Codex half did.
#[derive(Debug, Serialize)]
pub(crate) struct CodexSummary {
    /// The CODEX_HOME written.
    pub(crate) home: String,
    /// Each thread and its history mode.
    pub(crate) threads: BTreeMap<String, String>,
    /// Rollout files (and the session index) imported into the store.
    pub(crate) imported_files: usize,
    /// Logs of the store checked by `verify` (every checksum, seq and tail).
    pub(crate) verified_logs: usize,
    /// Records in them.
    pub(crate) verified_records: u64,
    /// What verify found (none, or the demo fails).
    pub(crate) verify_findings: usize,
    /// Whether every file came back byte for byte from the store.
    pub(crate) round_trip_identical: bool,
    /// The reverted thread's turns after the revert: `status: first user text`.
    pub(crate) reverted_turns: Vec<String>,
    /// Whether every paginated thread's ordinals are what Codex expects.
    pub(crate) ordinals_ok: bool,
}

/// Runs the Codex half in `base` (created if needed).
pub(crate) async fn run(base: &Path) -> Result<CodexSummary, CodexError> {
    let home_dir = base.join("codex-home");
    let home = CodexHome::new(&home_dir);
    let options = WriterOptions::default;
    let (legacy, _) = Fixture::new(HistoryMode::Legacy)
        .turn("List the files.", "README.md and src/.")
        .turn("Add a --verbose flag.", "Done: --verbose prints each step.")
        .with_token_usage()
        .write(&home)
        .await?;
    let (paginated, _) = Fixture::new(HistoryMode::Paginated)
        .turn(
            "Write a test for the parser.",
            "Added parser_rejects_empty_input.",
        )
        .turn("Now make it pass.", "The parser now rejects empty input.")
        .turn("Rename it.", "Renamed to rejects_empty.")
        .write(&home)
        .await?;
    // A fork of the whole thread, then a revert of the thread to its first
    // turn (the header and six lines): new files, nothing rewritten.
    let fork = ThreadWriter::fork(&home, &paginated, None, options()).await?;
    let fork_id = *fork.id();
    fork.close().await?;
    ThreadWriter::revert(&home, &paginated, 7, options())
        .await?
        .close()
        .await?;

    let mut threads = BTreeMap::new();
    let mut ordinals_ok = true;
    for files in home.threads()? {
        let thread = home.open_thread(&files.id).await?;
        let mode = match thread.mode() {
            HistoryMode::Paginated => "paginated",
            _ => "legacy",
        };
        ordinals_ok &= spool_compat::check_ordinals(&thread).await?.is_empty();
        let role = if files.id == legacy {
            "legacy"
        } else if files.id == fork_id {
            "fork"
        } else {
            "reverted"
        };
        threads.insert(files.id.to_string(), format!("{mode} ({role})"));
    }

    // Into a spool store (segmented logs) and back out.
    let storage = DirStorage::new(
        Arc::new(StdFs),
        base.join("store"),
        LogFormat::Segmented(SegmentedConfig::default()),
    )?;
    let store = Store::open(Arc::new(storage), StoreConfig::default()).await?;
    let report = spool_compat::import_home(&home, &store, None).await?;
    let imported_files = report
        .files
        .iter()
        .filter(|f| matches!(f.outcome, ImportOutcome::Created { .. }))
        .count();
    let export_dir = base.join("exported");
    spool_compat::export_store(&store, &export_dir, None).await?;
    store.close().await?;
    let (verified_logs, verified_records, verify_findings) = verify_store(&base.join("store"))?;
    let mut round_trip_identical = true;
    for file in home.files()? {
        let relative = file.path.strip_prefix(&home_dir).unwrap_or(&file.path);
        let back = std::fs::read(export_dir.join(relative)).ok();
        round_trip_identical &= back.as_deref() == std::fs::read(&file.path).ok().as_deref();
    }

    let reverted = home.open_thread(&paginated).await?;
    let turns = spool_compat::view::turns(&reverted, Floor::Full, Operation::Turns).await?;
    let reverted_turns = turns
        .iter()
        .map(|t| {
            let json = t.to_json(spool_compat::ItemsView::Summary);
            format!(
                "{}: {}",
                json["status"].as_str().unwrap_or("?"),
                json["items"][0]["content"][0]["text"]
                    .as_str()
                    .unwrap_or("")
            )
        })
        .collect();
    Ok(CodexSummary {
        home: home_dir.display().to_string(),
        threads,
        imported_files,
        verified_logs,
        verified_records,
        verify_findings,
        round_trip_identical,
        reverted_turns,
        ordinals_ok,
    })
}

/// What `spool verify` does to a store: every byte of every log, checksums
/// included. Returns the logs, their records and the findings.
fn verify_store(store: &Path) -> Result<(usize, u64, usize), CodexError> {
    let (mut logs, mut records, mut findings) = (0, 0, 0);
    let listing = |e| CodexError::io("list the store's logs", store, e);
    for entry in std::fs::read_dir(store.join("logs")).map_err(listing)? {
        let check = spool_backends::segmented::verify(&StdFs, &entry.map_err(listing)?.path())?;
        logs += 1;
        records += check.records();
        findings += check.findings.len();
    }
    Ok((logs, records, findings))
}
