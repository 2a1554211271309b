//! Listing a CODEX_HOME's threads (ROLLOUT-FORMAT.md §4.2–§4.5), with
//! spool's cursors instead of Codex's filesystem-scan limits.
//!
//! Each thread is read from the head of its files only (`head.rs`). What is
//! listed follows Codex's visibility rules under the `codex-0.169` and
//! `release-n` floors (a readable header and a preview within the head;
//! unknown modes omitted); under `full` every thread with a header is
//! listed, preview or not, and one whose header has an unknown mode is
//! shown with the raw mode and marked unreadable, so a user sees it without
//! risking it (a file with no header at all is not a thread to anyone). Where Codex's filesystem scan loses
//! threads, spool does not: its cursor is the full sort key plus the
//! thread id (no same-second tie-skip, §8 case 40), it is opaque (Codex's
//! RFC 3339 cursor strings are refused, cases 42–43), and there is no scan
//! cap (case 47).

use std::time::UNIX_EPOCH;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::floor::Floor;
use crate::header::{Header, find_header, find_header_lenient};
use crate::home::{CodexHome, ThreadFiles};
use crate::line::HistoryMode;
use crate::name::NameTime;
use crate::session_index::SessionIndex;
use crate::view::head::read_head;

/// Default page size (Codex's).
pub const DEFAULT_PAGE: usize = 25;
/// Largest page size (Codex's).
pub const MAX_PAGE: usize = 100;

/// The order of a listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortBy {
    /// By the first file's name timestamp (Codex's `created_at`).
    #[default]
    Created,
    /// By the current file's mtime (Codex's `updated_at`).
    Updated,
}

/// What to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadQuery {
    /// Page size: 0 means the default (25); more than 100 is clamped.
    pub limit: usize,
    /// A `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// The order (newest first).
    pub sort: SortBy,
    /// Archived threads instead of live ones.
    pub archived: bool,
    /// The caller's floor.
    pub floor: Floor,
    /// Only threads of these model providers (empty: any). A header
    /// without a provider matches only if the list holds
    /// `default_provider`, as in Codex (§4.2, §8 case 46).
    pub model_providers: Vec<String>,
    /// The configured default provider (Codex's is `openai`).
    pub default_provider: Option<String>,
}

/// A listed thread.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadSummary {
    /// Its files.
    pub files: ThreadFiles,
    /// The header, if readable.
    pub header: Option<Header>,
    /// The raw `history_mode` of an unreadable header (unknown modes).
    pub unreadable: Option<String>,
    /// The preview (empty when none was found in the head).
    pub preview: String,
    /// The thread's name in session_index.jsonl.
    pub name: Option<String>,
    /// The current file's mtime, in ms since the epoch.
    pub updated_ms: i64,
}

/// A page of threads.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadPage {
    /// The threads, newest first.
    pub data: Vec<ThreadSummary>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl ThreadSummary {
    /// The thread id.
    #[must_use]
    pub fn id(&self) -> &Uuid {
        &self.files.id
    }

    fn key(&self, sort: SortBy) -> i64 {
        match sort {
            SortBy::Created => name_seconds(self.files.files[0].name.time),
            SortBy::Updated => self.updated_ms,
        }
    }

    /// The thread in app-server v2's `Thread` shape (fields a rollout file
    /// determines; `turns` empty), plus `unreadable` for an unknown mode.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let meta = self.header.as_ref().map(|h| &h.meta);
        let text = |key: &str| {
            meta.and_then(|m| m.payload.get(key))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let id = self.id().to_string();
        let mode = match (meta.map(|m| &m.history_mode), &self.unreadable) {
            (Some(HistoryMode::Paginated), _) => Value::from("paginated"),
            (Some(_), _) => Value::from("legacy"),
            (None, Some(raw)) => serde_json::from_str(raw).unwrap_or(Value::Null),
            (None, None) => Value::Null,
        };
        let git = meta
            .and_then(|m| m.payload.get("git"))
            .map_or(Value::Null, |g| {
                json!({
                    "sha": g.get("commit_hash").cloned().unwrap_or(Value::Null),
                    "branch": g.get("branch").cloned().unwrap_or(Value::Null),
                    "originUrl": g.get("repository_url").cloned().unwrap_or(Value::Null),
                })
            });
        let created = meta
            .and_then(|m| m.text("timestamp"))
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map_or(Value::Null, |t| Value::from(t.as_second()));
        let mut out = json!({
            "id": id,
            "sessionId": meta.and_then(|m| m.text("session_id")).map_or_else(|| Value::from(id.clone()), Value::from),
            "forkedFromId": text("forked_from_id"),
            "parentThreadId": text("parent_thread_id"),
            "preview": self.preview,
            "ephemeral": false,
            "historyMode": mode,
            "modelProvider": text("model_provider"),
            "createdAt": created,
            "updatedAt": self.updated_ms.div_euclid(1000),
            "path": self.files.current().path.display().to_string(),
            "cwd": text("cwd"),
            "cliVersion": text("cli_version"),
            "originator": text("originator"),
            "source": v2_source(meta.and_then(|m| m.payload.get("source"))),
            "gitInfo": git,
            "name": self.name,
            "turns": [],
        });
        if let (Some(raw), Value::Object(map)) = (&self.unreadable, &mut out) {
            map.insert(
                "unreadable".into(),
                Value::from(format!("unknown history_mode {raw}")),
            );
        }
        out
    }
}

/// A header's `source` as app-server v2 names it: `mcp` is `appServer`,
/// unknown strings are `unknown`, `subagent` is `subAgent`; a missing
/// source is Codex's default, `vscode` (§2.4).
fn v2_source(source: Option<&Value>) -> Value {
    match source {
        None => Value::from("vscode"),
        Some(Value::String(s)) => Value::from(match s.as_str() {
            "cli" | "vscode" | "exec" | "unknown" => s.as_str(),
            "mcp" | "app_server" => "appServer",
            _ => "unknown",
        }),
        Some(Value::Object(map)) => match map.iter().next() {
            Some((key, inner)) if key == "subagent" => json!({ "subAgent": inner }),
            Some((key, inner)) if key == "custom" => json!({ "custom": inner }),
            _ => Value::from("unknown"),
        },
        Some(_) => Value::from("unknown"),
    }
}

/// Seconds since the epoch of a file-name time read as UTC (as Codex does).
fn name_seconds(t: NameTime) -> i64 {
    jiff::civil::date(
        i16::try_from(t.year).unwrap_or(i16::MAX),
        i8::try_from(t.month).unwrap_or(1),
        i8::try_from(t.day).unwrap_or(1),
    )
    .at(
        i8::try_from(t.hour).unwrap_or(0),
        i8::try_from(t.minute).unwrap_or(0),
        i8::try_from(t.second).unwrap_or(0),
        0,
    )
    .to_zoned(jiff::tz::TimeZone::UTC)
    .map_or(0, |z| z.timestamp().as_second())
}

/// Lists one page of `home`'s threads.
pub async fn list_threads(home: &CodexHome, query: &ThreadQuery) -> Result<ThreadPage> {
    let limit = match query.limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let names = home.session_index().await?;
    // Keys first (file names, or one stat each), so a page reads the heads
    // of its own threads only, however many threads the home holds.
    let mut keyed: Vec<(i64, ThreadFiles)> = home
        .threads()?
        .into_iter()
        .filter(|files| files.archived() == query.archived)
        .map(|files| (sort_key(&files, query.sort), files))
        .collect();
    // Newest first; ties broken by id, so no two entries share a key.
    keyed.sort_by(|(ka, a), (kb, b)| (kb, b.id).cmp(&(ka, a.id)));
    let start = after.map_or(0, |(key, id)| {
        keyed.partition_point(|(k, files)| (*k, files.id) >= (key, id))
    });
    let mut data = Vec::with_capacity(limit + 1);
    for (_, files) in keyed.into_iter().skip(start) {
        if let Some(summary) = summarize(home, files, &names, query.floor)
            && provider_matches(&summary, query)
        {
            data.push(summary);
            if data.len() > limit {
                break;
            }
        }
    }
    let next_cursor = if data.len() > limit {
        data.truncate(limit);
        data.last()
            .map(|last| format!("th1.{}.{}", last.key(query.sort), last.id()))
    } else {
        None
    };
    Ok(ThreadPage { data, next_cursor })
}

fn provider_matches(summary: &ThreadSummary, query: &ThreadQuery) -> bool {
    if query.model_providers.is_empty() {
        return true;
    }
    let provider = summary
        .header
        .as_ref()
        .and_then(|h| h.meta.text("model_provider"));
    match provider {
        Some(p) => query.model_providers.iter().any(|m| m == p),
        None => query
            .default_provider
            .as_ref()
            .is_some_and(|d| query.model_providers.contains(d)),
    }
}

/// The sort key of a thread: its first file's name time (seconds, read as
/// UTC), or its current file's mtime (ms).
fn sort_key(files: &ThreadFiles, sort: SortBy) -> i64 {
    match sort {
        SortBy::Created => name_seconds(files.files[0].name.time),
        SortBy::Updated => mtime_ms(&files.current().path),
    }
}

fn mtime_ms(path: &std::path::Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads the summary of one thread, or `None` if `floor` does not list it.
fn summarize(
    home: &CodexHome,
    files: ThreadFiles,
    names: &SessionIndex,
    floor: Floor,
) -> Option<ThreadSummary> {
    let current = files.current().clone();
    // A file that cannot be read now (Codex's compression worker may have
    // just replaced it, or its permissions deny us) is skipped, as Codex's
    // scan skips it; opening the thread by id reports the error.
    let Ok(head) = read_head(
        &current.path,
        current.name.compressed,
        home.config().jsonl.max_line_bytes,
    ) else {
        return None;
    };
    let updated_ms = mtime_ms(&current.path);
    let (header, unreadable) = match find_header_lenient(&current.path, &head.lines) {
        Ok(header) => (Some(header), None),
        Err(CodexError::UnknownHistoryMode { value, .. }) => (None, Some(value)),
        Err(_) => (None, None),
    };
    // A revert segment or paginated fork starts with its base's history:
    // its preview is the first one along the chain, root first.
    let preview = match &header {
        Some(h) => chain_preview(home, h, head.preview.clone()).unwrap_or(head.preview),
        None => head.preview,
    };
    let codex_visible = header.is_some() && preview.is_some();
    let listed = match floor {
        Floor::Full => header.is_some() || unreadable.is_some(),
        Floor::Codex0169 | Floor::ReleaseN => codex_visible,
    };
    if !listed {
        return None;
    }
    Some(ThreadSummary {
        name: names.name(&files.id).map(str::to_owned),
        files,
        header,
        unreadable,
        preview: preview.unwrap_or_default(),
        updated_ms,
    })
}

/// The preview of the history `header` begins: the root-most base's,
/// else `own`. Follows at most 64 `history_base` links.
fn chain_preview(home: &CodexHome, header: &Header, own: Option<String>) -> Result<Option<String>> {
    let mut previews = vec![own];
    let mut base = header.meta.history_base();
    for _ in 0..64 {
        let Some(link) = base.take() else { break };
        let Some(file) = Uuid::parse_str(&link.rollout)
            .ok()
            .map(|id| home.rollout_file(&id))
            .transpose()?
            .flatten()
        else {
            break;
        };
        let head = read_head(
            &file.path,
            file.name.compressed,
            home.config().jsonl.max_line_bytes,
        )?;
        base = find_header(&file.path, &head.lines)
            .ok()
            .and_then(|h| h.meta.history_base());
        previews.push(head.preview);
    }
    Ok(previews.into_iter().rev().flatten().next())
}

fn parse_cursor(cursor: &str) -> Result<(i64, Uuid)> {
    let invalid = || CodexError::InvalidCursor {
        cursor: cursor.to_owned(),
    };
    let rest = cursor.strip_prefix("th1.").ok_or_else(invalid)?;
    let (key, id) = rest.split_once('.').ok_or_else(invalid)?;
    let key = key.parse::<i64>().map_err(|_| invalid())?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok((key, id))
}
