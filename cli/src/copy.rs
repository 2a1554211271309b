//! `spool copy SRC DST`: every log of one store into another, between a
//! directory and a JetStream stream in either direction (or two of a kind),
//! resumable and verified by checksums.
//!
//! Logs go parents first, so a fork is made as a fork at the same point.
//! Each log is copied from where the destination's copy ends, so a copy cut
//! short (killed, a server gone) is finished by running it again. What the
//! destination already holds is first checked against the source: a CRC-32
//! chain over every record's seq and payload (each record read is itself
//! CRC-checked by its backend). A log whose copy differs is reported as
//! divergent and left alone (exit 1). After copying, the chain is compared
//! again over the whole log. Metadata, the archived flag and record
//! timestamps are copied; catalog times are the destination's clock.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};
use spool_engine::{
    Archived, Direction, Durability, Error, ListQuery, Log, LogInfo, NewRecord, Seq, Store,
    StoreConfig,
};

use crate::failure::Failure;
use crate::progress::Progress;
use crate::target::{StoreAt, Target, detect, is_store, open_store_creating, open_store_read_only};

/// Records read per page while copying and checking.
const PAGE: usize = 1024;
/// A copied batch stops growing past this many bytes of frames, so it fits
/// a JetStream message (1 MiB by default) with room to spare.
const BATCH_BYTES: usize = 512 << 10;

/// `spool copy`.
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The source store: a directory or nats://HOST:PORT[,…]/STREAM.
    pub(crate) src: PathBuf,
    /// The destination store (made if missing): a directory or a nats:// URL.
    pub(crate) dst: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What became of one log.
enum Outcome {
    Copied { records: u64, total: u64 },
    Divergent(String),
}

/// `spool copy`.
pub(crate) async fn copy(args: &CopyArgs) -> Result<(), Failure> {
    let src_at = match detect(&args.src)? {
        Target::Store(at) => at,
        Target::Codex(_) => {
            return Err(Failure::usage(
                "not_a_store",
                format!(
                    "{} is a CODEX_HOME; import it instead: spool import {} --store {}",
                    args.src.display(),
                    args.src.display(),
                    args.dst.display()
                ),
            ));
        }
    };
    let dst_at = StoreAt::parse(&args.dst)?;
    if let StoreAt::Dir(dir) = &dst_at
        && !is_store(dir)
    {
        crate::init::create_store(dir, crate::target::BackendArg::Segmented).await?;
    }
    let src = open_store_read_only(&src_at).await?;
    let dst = open_store_creating(&dst_at, StoreConfig::default()).await?;
    let logs = parents_first(all_logs(&src)?);
    let progress = Progress::new("logs", args.json);
    progress.set_len(logs.len());
    let mut rows = Vec::new();
    let mut divergent = 0;
    let mut differs = std::collections::HashSet::new();
    for info in &logs {
        progress.step(info.id.as_str());
        // A fork's records below its fork point are its parent's: when the
        // parent's copy differs, so does the fork's.
        let outcome = match &info.base {
            Some(base) if differs.contains(&base.parent) => Ok(Outcome::Divergent(format!(
                "forked from {}, whose copy differs",
                base.parent
            ))),
            _ => copy_log(&src, &dst, info).await,
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                src.close().await?;
                dst.close().await?;
                // What was done before the failure is kept, and reported.
                report(args, &src_at, &dst_at, &rows);
                return Err(e);
            }
        };
        if matches!(outcome, Outcome::Divergent(_)) {
            differs.insert(info.id.clone());
        }
        let row = match &outcome {
            Outcome::Copied { records, total } => {
                json!({"id": info.id.as_str(), "status": "copied", "copied": records, "records": total})
            }
            Outcome::Divergent(why) => {
                divergent += 1;
                json!({"id": info.id.as_str(), "status": "divergent", "reason": why})
            }
        };
        rows.push(row);
    }
    drop(progress);
    src.close().await?;
    dst.close().await?;
    report(args, &src_at, &dst_at, &rows);
    if divergent > 0 {
        return Err(Failure::reported(
            "divergent",
            format!(
                "{divergent} log(s) differ between {src_at} and {dst_at}; nothing of them was copied"
            ),
        ));
    }
    Ok(())
}

fn report(args: &CopyArgs, src: &StoreAt, dst: &StoreAt, rows: &[Value]) {
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"from": src.to_string(), "to": dst.to_string(), "logs": rows})
            )
            .unwrap_or_default()
        );
        return;
    }
    for row in rows {
        let id = row["id"].as_str().unwrap_or_default();
        if row["status"] == "copied" {
            say!(
                "{id}: {} record(s) copied, {} in all, checksums match",
                row["copied"],
                row["records"]
            );
        } else {
            say!(
                "{id}: DIVERGENT: {}",
                row["reason"].as_str().unwrap_or_default()
            );
        }
    }
    say!("{} log(s) from {src} to {dst}", rows.len());
}

/// Every log of the store, archived ones included.
fn all_logs(store: &Store) -> Result<Vec<LogInfo>, Failure> {
    let query = ListQuery {
        archived: Archived::Include,
        ..ListQuery::default()
    };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list(&query, cursor.as_deref(), spool_engine::MAX_LIST_LIMIT)?;
        out.extend(page.logs);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Orders logs so that each fork comes after the log it forks from.
fn parents_first(mut logs: Vec<LogInfo>) -> Vec<LogInfo> {
    logs.sort_by(|a, b| a.id.cmp(&b.id));
    let mut placed = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(logs.len());
    while !logs.is_empty() {
        let before = logs.len();
        let mut rest = Vec::new();
        for info in logs {
            let ready = info
                .base
                .as_ref()
                .is_none_or(|b| placed.contains(&b.parent));
            if ready {
                placed.insert(info.id.clone());
                out.push(info);
            } else {
                rest.push(info);
            }
        }
        // A parent missing from the listing (deleted under a live fork
        // cannot happen; damage could): copy the rest anyway, to fail there.
        if rest.len() == before {
            out.extend(rest);
            break;
        }
        logs = rest;
    }
    out
}

/// Makes the log in `dst` like the one in `src` and copies what it lacks.
async fn copy_log(src: &Store, dst: &Store, info: &LogInfo) -> Result<Outcome, Failure> {
    let id = &info.id;
    match dst.info(id) {
        Ok(have) if have.base != info.base => {
            return Ok(Outcome::Divergent(format!(
                "forked from {:?} in the source, {:?} in the destination",
                info.base, have.base
            )));
        }
        Ok(_) => {}
        Err(Error::NotFound { .. }) => {
            match &info.base {
                Some(base) => {
                    dst.fork(&base.parent, id, base.end, info.metadata.clone())
                        .await?
                }
                None => dst.create(id, info.metadata.clone()).await?,
            };
        }
        Err(e) => return Err(e.into()),
    }
    let from = info.base.as_ref().map_or(Seq(0), |b| b.end);
    let (source, copy) = (src.open_log(id).await?, dst.open_log(id).await?);
    let (end, had) = (source.next_seq(), copy.next_seq());
    if had > end {
        return Ok(Outcome::Divergent(format!(
            "the destination holds {} records, the source {}",
            had.0, end.0
        )));
    }
    if chain(&copy, from, had).await? != chain(&source, from, had).await? {
        return Ok(Outcome::Divergent(format!(
            "the destination's first {} records differ from the source's",
            had.0
        )));
    }
    append_missing(&source, &copy, had, end).await?;
    copy.sync(Durability::Data).await?;
    if chain(&copy, from, end).await? != chain(&source, from, end).await? {
        return Ok(Outcome::Divergent(
            "the copy does not read back as the source (checksums differ)".into(),
        ));
    }
    // The copy matches: now its catalog entry may follow the source's.
    if dst.info(id)?.metadata != info.metadata {
        dst.update_metadata(id, info.metadata.clone()).await?;
    }
    let (live, archived) = (dst.info(id)?.archived, info.archived);
    if archived && !live {
        dst.archive(id).await?;
    } else if !archived && live {
        dst.unarchive(id).await?;
    }
    Ok(Outcome::Copied {
        records: end.0 - had.0,
        total: end.0,
    })
}

/// Appends the source's records `[from, end)` to the copy, with their
/// timestamps, in batches that fit a JetStream message.
async fn append_missing(source: &Log, copy: &Log, from: Seq, end: Seq) -> Result<(), Failure> {
    // Batches also fit the destination's message bound (a JetStream store).
    let max_bytes = BATCH_BYTES.min(copy.capabilities().max_batch_bytes);
    let mut next = from;
    while next < end {
        let page = source
            .read_page(&source.cursor_at(next, Direction::Forward), PAGE)
            .await?;
        let mut batch: Vec<NewRecord> = Vec::new();
        let mut bytes = 0;
        for record in page.records.into_iter().filter(|r| r.seq < end) {
            let size = spool_engine::frame::encoded_len(record.payload.len());
            if !batch.is_empty() && bytes + size > max_bytes {
                next = copy
                    .append_records_expecting(next, std::mem::take(&mut batch))
                    .await?
                    .end;
                bytes = 0;
            }
            bytes += size;
            batch.push(NewRecord {
                timestamp_ms: record.timestamp_ms,
                payload: record.payload,
            });
        }
        if batch.is_empty() {
            break;
        }
        next = copy.append_records_expecting(next, batch).await?.end;
    }
    Ok(())
}

/// A CRC-32 chain over the seq and payload of every record in `[from, end)`.
async fn chain(log: &Log, from: Seq, end: Seq) -> Result<u32, Failure> {
    let mut crc = 0u32;
    let mut cursor = Some(log.cursor_at(from, Direction::Forward));
    while let Some(at) = cursor.take() {
        if at.seq() >= end {
            break;
        }
        let page = log.read_page(&at, PAGE).await?;
        for record in page.records.iter().filter(|r| r.seq < end) {
            let own = spool_engine::crc32(&[&record.seq.0.to_le_bytes(), &record.payload]);
            crc = spool_engine::crc32(&[&crc.to_le_bytes(), &own.to_le_bytes()]);
        }
        cursor = page.next;
    }
    Ok(crc)
}
