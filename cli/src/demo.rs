//! `spool demo`: the main job on the embedded default, start to finish:
//! the engine's half here (a ledger on a segmented log), then the Codex
//! half (`demo_codex.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use spool_backends::{SegmentedBackend, SegmentedConfig, StdFs};
use spool_engine::{Error, Json, Log, LogConfig, LogId, Seq, TypedLog};

/// Options of `spool demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Events to append in all.
    #[arg(long, default_value_t = 10_000)]
    events: u32,
    /// Concurrent appending tasks (their appends share group commits).
    #[arg(long, default_value_t = 16)]
    writers: u32,
    /// Records per page when paging.
    #[arg(long, default_value_t = 5)]
    page: usize,
    /// Print a JSON summary instead of prose.
    #[arg(long)]
    json: bool,
    /// Keep the log in this directory (default: a temporary one, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The engine refused something.
    #[error(transparent)]
    Engine(#[from] Error),
    /// A demo task panicked or was cancelled.
    #[error("a demo task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The Codex half failed.
    #[error(transparent)]
    Codex(#[from] spool_compat::CodexError),
    /// The live read model saw something other than what was appended.
    #[error(
        "the live read model disagrees with what was appended ({seen} of {appended} events seen); this is a bug, please report it"
    )]
    Mismatch {
        /// Events the tail delivered.
        seen: u64,
        /// Events appended.
        appended: u64,
    },
}

/// The demo's event type: a tiny ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LedgerEvent {
    Deposited { account: String, cents: u64 },
    Withdrawn { account: String, cents: u64 },
}

impl LedgerEvent {
    fn apply(&self, balances: &mut BTreeMap<String, i64>) {
        match self {
            LedgerEvent::Deposited { account, cents } => {
                *balances.entry(account.clone()).or_default() += i64::try_from(*cents).unwrap_or(0);
            }
            LedgerEvent::Withdrawn { account, cents } => {
                *balances.entry(account.clone()).or_default() -= i64::try_from(*cents).unwrap_or(0);
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct Summary {
    events: u64,
    writers: u32,
    append_seconds: f64,
    appends_per_second: f64,
    tail_events: u64,
    balances_match: bool,
    first_page: Vec<String>,
    next_cursor: Option<String>,
    newest_page: Vec<String>,
    conflict: String,
    reopened_events: u64,
    segments: usize,
    dir: Option<String>,
    codex: Option<crate::demo_codex::CodexSummary>,
}

pub(crate) async fn run(args: &DemoArgs) -> Result<(), DemoError> {
    let writers = args.writers.max(1);
    // The embedded default: spool's own segmented format on local disk.
    let scratch = match &args.dir {
        Some(_) => None,
        None => {
            Some(tempfile::tempdir().map_err(|e| Error::io("create a temporary directory", e))?)
        }
    };
    let dir = args
        .dir
        .clone()
        .or_else(|| scratch.as_ref().map(|d| d.path().join("ledger")))
        .unwrap_or_default();
    let open = || SegmentedBackend::open(Arc::new(StdFs), &dir, SegmentedConfig::default());
    let log = Log::open(
        LogId::new("ledger")?,
        Arc::new(open()?),
        LogConfig::default(),
    )?;
    let ledger = TypedLog::<LedgerEvent, Json>::new(log.clone());

    // A live read model: a tail that starts before any append and folds
    // every event into balances as it is acknowledged.
    let total = u64::from(args.events);
    let tail = tokio::spawn({
        let events = ledger.tail(Seq::ZERO);
        async move {
            let mut balances = BTreeMap::new();
            let mut seen = 0u64;
            let mut events = Box::pin(events.take(usize::try_from(total).unwrap_or(usize::MAX)));
            while let Some(event) = events.next().await {
                event?.value.apply(&mut balances);
                seen += 1;
            }
            Ok::<_, Error>((seen, balances))
        }
    });

    let started = Instant::now();
    let expected = append_from_writers(&ledger, args.events, writers).await?;
    let append_seconds = started.elapsed().as_secs_f64();
    let (tail_events, balances) = tail.await??;

    // Pages: the oldest events through a forward cursor, then the newest
    // through a backward one. Cursors are opaque strings a client can hold.
    let first = ledger.read_page(&log.first_cursor(), args.page).await?;
    let newest = ledger.read_page(&log.last_cursor(), args.page).await?;
    let show = |events: &[spool_engine::Event<LedgerEvent>]| {
        events
            .iter()
            .map(|e| format!("#{} {:?}", e.seq, e.value))
            .collect::<Vec<_>>()
    };

    // Optimistic concurrency: an append that expects a stale end is refused.
    let stale = Seq(log.next_seq().0.saturating_sub(1));
    let conflict = match log.append_expecting(stale, [&b"{}"[..]]).await {
        Err(e @ Error::Conflict { .. }) => e.to_string(),
        other => format!("unexpected: {other:?}"),
    };

    let summary = Summary {
        events: log.next_seq().0,
        writers,
        append_seconds,
        appends_per_second: f64::from(args.events) / append_seconds.max(1e-9),
        tail_events,
        balances_match: balances == expected,
        first_page: show(&first.events),
        next_cursor: first.next.map(|c| c.to_string()),
        newest_page: show(&newest.events),
        conflict,
        reopened_events: 0,
        segments: 0,
        dir: None,
        codex: None,
    };
    log.close().await?;
    // Durable: the same records come back from disk.
    let reopened = open()?;
    let mut summary = summary;
    summary.reopened_events = spool_engine::Backend::next_seq(&reopened).0;
    summary.segments = reopened.segment_count();
    summary.dir = args.dir.as_ref().map(|d| d.display().to_string());
    drop(reopened);
    // The Codex half, beside the ledger (`<dir>.codex` when kept).
    let codex_base = match &args.dir {
        Some(d) => d.with_extension("codex"),
        None => dir.with_file_name("codex"),
    };
    let codex = crate::demo_codex::run(&codex_base).await?;
    let codex_ok = codex.round_trip_identical && codex.ordinals_ok && codex.verify_findings == 0;
    summary.codex = Some(codex);
    print(&summary, args.json);
    if !codex_ok {
        return Err(DemoError::Mismatch {
            seen: 0,
            appended: 0,
        });
    }
    if summary.balances_match && summary.tail_events == total && summary.reopened_events == total {
        Ok(())
    } else {
        Err(DemoError::Mismatch {
            seen: summary.tail_events,
            appended: total,
        })
    }
}

/// Appends `events` ledger events from `writers` concurrent tasks (their
/// appends share group commits) and returns the balances they appended.
async fn append_from_writers(
    ledger: &TypedLog<LedgerEvent, Json>,
    events: u32,
    writers: u32,
) -> Result<BTreeMap<String, i64>, DemoError> {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let ledger = ledger.clone();
        let count = events / writers + u32::from(w < events % writers);
        tasks.push(tokio::spawn(async move {
            let mut expected = BTreeMap::new();
            for i in 0..count {
                let account = format!("acct-{}", (w + i) % 7);
                let event = if i % 4 == 3 {
                    LedgerEvent::Withdrawn {
                        account,
                        cents: u64::from(i % 50),
                    }
                } else {
                    LedgerEvent::Deposited {
                        account,
                        cents: u64::from(i % 100),
                    }
                };
                event.apply(&mut expected);
                ledger.append(&event).await?;
            }
            Ok::<_, Error>(expected)
        }));
    }
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for task in tasks {
        let part = task.await??;
        for (account, cents) in part {
            *expected.entry(account).or_default() += cents;
        }
    }
    Ok(expected)
}

fn print(summary: &Summary, json: bool) {
    if json {
        match serde_json::to_string_pretty(summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("spool: cannot print the summary: {e}"),
        }
        return;
    }
    println!(
        "appended {} ledger events from {} concurrent writers in {:.3} s ({:.0} appends/s, group-committed)",
        summary.events, summary.writers, summary.append_seconds, summary.appends_per_second
    );
    println!(
        "live tail folded {} events into balances: {}",
        summary.tail_events,
        if summary.balances_match {
            "they match every writer's own tally"
        } else {
            "MISMATCH"
        }
    );
    println!("oldest page:");
    for line in &summary.first_page {
        println!("  {line}");
    }
    if let Some(cursor) = &summary.next_cursor {
        println!("  next page cursor: {cursor}");
    }
    println!("newest page (backward cursor):");
    for line in &summary.newest_page {
        println!("  {line}");
    }
    println!("stale expected-seq append refused: {}", summary.conflict);
    if let Some(codex) = &summary.codex {
        println!(
            "codex home written with spool's Codex writer: {}",
            codex.home
        );
        for (id, what) in &codex.threads {
            println!("  thread {id}: {what}");
        }
        println!(
            "imported {} files into a spool store; exported back byte for byte: {}; ordinals as Codex expects: {}",
            codex.imported_files, codex.round_trip_identical, codex.ordinals_ok
        );
        println!(
            "verified the store: {} logs, {} records, every checksum, seq and tail: {} finding(s)",
            codex.verified_logs, codex.verified_records, codex.verify_findings
        );
        println!("turns of the reverted thread:");
        for turn in &codex.reverted_turns {
            println!("  {turn}");
        }
    }
    println!(
        "closed and reopened from disk: {} events in {} segment file(s){}",
        summary.reopened_events,
        summary.segments,
        summary
            .dir
            .as_deref()
            .map(|d| format!(" in {d}"))
            .unwrap_or_default()
    );
}
