//! `spool ls` and `spool show` on a spool store: the catalog's listing
//! (with the imported Codex fields of rollout logs), a log's records a page
//! at a time through the engine's opaque cursors, and, for a Codex thread
//! imported into the store, the same turns and items views as on a
//! CODEX_HOME.
//!
//! Every view opens the store as a reader (`Store::open_read_only`): it
//! works beside a live writer (`spool append`, an embedding program) and
//! writes nothing, not even a recovery.
//!
//! The Codex views are spool-compat's, which read rollout files: the
//! thread is exported byte for byte into a private temporary CODEX_HOME
//! first (only its own files; every file of the store if its history chain
//! reaches another thread's, as a fork's does).

use serde_json::{Value, json};
use spool_compat::CodexHome;
use spool_engine::{Archived, ListQuery, LogId, Order, SortKey, Store};
use uuid::Uuid;

use crate::codex::{LsArgs, ShowArgs, SortArg};
use crate::failure::Failure;
use crate::target::{StoreAt, open_store_read_only};

/// `spool ls` on a store.
pub(crate) async fn ls(args: &LsArgs, at: &StoreAt) -> Result<(), Failure> {
    let store = open_store_read_only(at).await?;
    let query = ListQuery {
        sort: match args.sort {
            SortArg::Created => SortKey::Created,
            SortArg::Updated => SortKey::Updated,
        },
        order: Order::Descending,
        archived: if args.archived {
            Archived::Only
        } else {
            Archived::Exclude
        },
        metadata: Vec::new(),
    };
    let page = store.list(&query, args.cursor.as_deref(), args.limit);
    store.close().await?;
    let page = page?;
    let data: Vec<Value> = page
        .logs
        .iter()
        .map(|info| {
            let codex = &info.metadata["codex"];
            let mut entry = json!({
                "id": info.id.as_str(), "createdAt": info.created_ms, "updatedAt": info.updated_ms,
                "archived": info.archived, "backend": info.backend, "metadata": info.metadata,
            });
            if let Some(base) = &info.base {
                entry["forkedFrom"] = json!({"log": base.parent.as_str(), "end": base.end.0});
            }
            if codex["kind"] == "rollout" {
                entry["threadId"] = codex["thread"].clone();
                entry["historyMode"] = codex["history_mode"].clone();
                entry["path"] = codex["file"].clone();
            }
            entry
        })
        .collect();
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({"data": data, "nextCursor": page.next}))
                .unwrap_or_default()
        );
        return Ok(());
    }
    for entry in &data {
        let created = entry["createdAt"]
            .as_i64()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or_else(String::new, |t| {
                t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            });
        say!(
            "{}  {created}  {}",
            entry["id"].as_str().unwrap_or(""),
            entry["path"].as_str().unwrap_or("")
        );
    }
    if let Some(next) = page.next {
        say!("more: --cursor {next}");
    }
    Ok(())
}

/// The Codex thread `id` names in the store (a thread id, or the log id of
/// one of its rollout files), exported into a temporary CODEX_HOME; `None`
/// if `id` names a log that is not a Codex rollout.
pub(crate) async fn codex_thread(
    at: &StoreAt,
    id: &str,
) -> Result<Option<(tempfile::TempDir, CodexHome, Uuid)>, Failure> {
    let store = open_store_read_only(at).await?;
    let found = find_thread(&store, id);
    let exported = match found {
        Ok(Some(thread)) => export(&store, thread).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    store.close().await?;
    exported
}

/// The thread `id` names: itself, if some rollout log belongs to it; else
/// the thread of the log called `id`.
fn find_thread(store: &Store, id: &str) -> Result<Option<Uuid>, Failure> {
    if let Ok(thread) = Uuid::parse_str(id) {
        let query = ListQuery {
            archived: Archived::Include,
            ..ListQuery::default()
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = store.list(&query, cursor.as_deref(), spool_engine::MAX_LIST_LIMIT)?;
            let wanted = thread.to_string();
            if page
                .logs
                .iter()
                .any(|l| l.metadata["codex"]["thread"] == wanted.as_str())
            {
                return Ok(Some(thread));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    let log = LogId::new(id)?;
    let info = store.info(&log)?;
    let codex = &info.metadata["codex"];
    if codex["kind"] != "rollout" {
        return Ok(None);
    }
    Ok(codex["thread"]
        .as_str()
        .and_then(|t| Uuid::parse_str(t).ok()))
}

async fn export(
    store: &Store,
    thread: Uuid,
) -> Result<(tempfile::TempDir, CodexHome, Uuid), Failure> {
    let tmp = tempfile::tempdir()
        .map_err(|e| Failure::usage("io", format!("cannot make a temporary directory: {e}")))?;
    spool_compat::export_store(store, tmp.path(), Some(&[thread])).await?;
    let home = CodexHome::new(tmp.path());
    if let Err(e) = home.open_thread(&thread).await {
        if e.code() != "bad_lineage" && e.code() != "not_found" {
            return Err(e.into());
        }
        // Its history reaches another thread's files (a fork): all of them.
        let all = tempfile::tempdir()
            .map_err(|e| Failure::usage("io", format!("cannot make a temporary directory: {e}")))?;
        spool_compat::export_store(store, all.path(), None).await?;
        let home = CodexHome::new(all.path());
        return Ok((all, home, thread));
    }
    Ok((tmp, home, thread))
}

/// `spool show` of a store log's records, a page at a time.
pub(crate) async fn show_records(args: &ShowArgs, at: &StoreAt) -> Result<(), Failure> {
    let store = open_store_read_only(at).await?;
    let result = async {
        let log = store.open_log(&LogId::new(args.id.clone())?).await?;
        let cursor = match &args.cursor {
            Some(c) => c.parse()?,
            None if args.backward => log.last_cursor(),
            None => log.first_cursor(),
        };
        Ok::<_, Failure>(log.read_page(&cursor, args.limit).await?)
    }
    .await;
    store.close().await?;
    let page = result?;
    let next = page.next.as_ref().map(ToString::to_string);
    if args.json {
        let data: Vec<Value> = page
            .records
            .iter()
            .map(|r| {
                let record = serde_json::from_slice::<Value>(&r.payload).ok();
                json!({"seq": r.seq.0, "timestampMs": r.timestamp_ms, "record": record,
                       "bytes": r.payload.len()})
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({"data": data, "nextCursor": next}))
                .unwrap_or_default()
        );
        return Ok(());
    }
    for r in &page.records {
        say!("{}\t{}", r.seq.0, String::from_utf8_lossy(&r.payload));
    }
    if let Some(next) = next {
        say!("more: --cursor {next}");
    }
    Ok(())
}
