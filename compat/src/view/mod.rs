//! Thread views: what a client sees of Codex history, in the JSON shape of
//! Codex's app-server v2 (`thread/list`, `thread/read` with
//! `includeTurns`, `thread/turns/list`, `thread/items/list`), so spool and
//! Codex can be compared field by field.
//!
//! Every view checks the caller's [`Floor`] first. Turns and items come
//! from [`turn::project`], a pure projection of the thread's lines; pages
//! use spool's opaque cursors (`tu1.` for turns, `it1.` for items), never
//! Codex's.

pub mod head;
pub mod item;
pub mod list;
pub mod turn;

use serde_json::{Value, json};

use crate::error::{CodexError, Result};
use crate::floor::{Floor, Operation};
use crate::home::CodexHome;
use crate::thread::Thread;
use crate::view::list::{DEFAULT_PAGE, MAX_PAGE, ThreadSummary};
use crate::view::turn::{ItemsView, Turn, project};

/// Direction of a turns or items page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageOrder {
    /// Oldest first.
    Ascending,
    /// Newest first.
    Descending,
}

/// A page request for turns or items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    /// Page size: 0 means 25; more than 100 is clamped.
    pub limit: usize,
    /// A cursor from the previous page.
    pub cursor: Option<String>,
    /// The order.
    pub order: PageOrder,
    /// The caller's floor.
    pub floor: Floor,
}

impl PageQuery {
    /// Codex's default for `thread/turns/list`: newest first.
    #[must_use]
    pub fn turns(floor: Floor) -> PageQuery {
        PageQuery {
            limit: 0,
            cursor: None,
            order: PageOrder::Descending,
            floor,
        }
    }

    /// Codex's default for `thread/items/list`: oldest first.
    #[must_use]
    pub fn items(floor: Floor) -> PageQuery {
        PageQuery {
            order: PageOrder::Ascending,
            ..PageQuery::turns(floor)
        }
    }
}

/// A page of turns or items as v2 JSON: `{"data", "nextCursor"}`.
pub type JsonPage = Value;

/// All turns of `thread`, after checking `operation` against `floor`.
pub async fn turns(thread: &Thread, floor: Floor, operation: Operation) -> Result<Vec<Turn>> {
    floor.check(operation, thread.mode(), &thread.id().to_string())?;
    for link in thread.chain() {
        link.segment.check_codex_load(floor)?;
    }
    let raw = thread.read_raw(0, thread.len()).await?;
    if floor != Floor::Full && *thread.mode() == crate::HistoryMode::Paginated {
        // Codex's projection judges every line's ordinal: parse them all.
        let mut lines: Vec<(u64, crate::RolloutLine)> = raw
            .into_iter()
            .map(|(seq, bytes)| (seq, crate::RolloutLine::parse(bytes)))
            .collect();
        lines.truncate(codex_projectable(&lines));
        return Ok(project(thread.mode(), &lines));
    }
    // Turns come from event_msg lines only: a line without those bytes
    // anywhere (nor a `\u` escape that could spell them) cannot be one, so
    // the bulk of a rollout (tool output, instructions, world state) is
    // never parsed.
    let event = memchr::memmem::Finder::new(b"event_msg");
    let escape = memchr::memmem::Finder::new(b"\\u");
    let lines: Vec<(u64, crate::RolloutLine)> = raw
        .into_iter()
        .filter(|(_, bytes)| event.find(bytes).is_some() || escape.find(bytes).is_some())
        .map(|(seq, bytes)| (seq, crate::RolloutLine::parse(bytes)))
        .collect();
    Ok(project(thread.mode(), &lines))
}

/// How many leading lines Codex's paginated projection accepts (§6.6, §8
/// cases 37–38): ordinals must run on from 0; an invalid line may explain a
/// gap of one ordinal each; a record without an ordinal, an ordinal lower
/// than expected, or a gap wider than the invalid lines before it freezes
/// the projection there (Codex shows the turns before it; spool's `full`
/// floor reports the deviation and projects everything).
#[must_use]
pub fn codex_projectable(lines: &[(u64, crate::RolloutLine)]) -> usize {
    let mut expected = 0u64;
    let mut rejected = 0u64;
    for (i, (_, line)) in lines.iter().enumerate() {
        match line.view() {
            crate::LineView::Blank => {}
            crate::LineView::Envelope(envelope) if crate::ordinal::is_record(line) => {
                let Some(ordinal) = envelope.ordinal else {
                    return i;
                };
                if ordinal < expected || ordinal > expected + rejected {
                    return i;
                }
                expected = ordinal + 1;
                rejected = 0;
            }
            _ => rejected += 1,
        }
    }
    lines.len()
}

/// `thread/read` with `includeTurns`: the thread and all its turns.
pub async fn read_thread(home: &CodexHome, thread: &Thread, floor: Floor) -> Result<Value> {
    let summary = summary_of(home, thread).await?;
    floor.check(
        Operation::ReadMetadata,
        thread.mode(),
        &thread.id().to_string(),
    )?;
    let turns = turns(thread, floor, Operation::Read).await?;
    let mut out = summary.to_json();
    out["turns"] = Value::Array(turns.iter().map(|t| t.to_json(ItemsView::Full)).collect());
    Ok(json!({ "thread": out }))
}

/// The listing entry of an open thread.
async fn summary_of(home: &CodexHome, thread: &Thread) -> Result<ThreadSummary> {
    let names = home.session_index().await?;
    let updated_ms = std::fs::metadata(&thread.files().current().path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let head = thread.read_lines(0, thread.len().min(210)).await?;
    let preview = head
        .iter()
        .filter_map(|(_, l)| l.envelope())
        .find_map(|e| head::preview(&e.item))
        .unwrap_or_default();
    Ok(ThreadSummary {
        files: thread.files().clone(),
        header: Some(thread.header().clone()),
        unreadable: None,
        preview,
        name: names.name(thread.id()).map(str::to_owned),
        updated_ms,
    })
}

/// `thread/turns/list`: a page of turns (summary items view).
pub async fn turns_page(thread: &Thread, query: &PageQuery) -> Result<JsonPage> {
    let turns = turns(thread, query.floor, Operation::Turns).await?;
    let values: Vec<Value> = turns
        .iter()
        .map(|t| t.to_json(ItemsView::Summary))
        .collect();
    page(&values, query, "tu1.")
}

/// `thread/items/list`: a page of items, each with its turn id.
pub async fn items_page(thread: &Thread, query: &PageQuery) -> Result<JsonPage> {
    let turns = turns(thread, query.floor, Operation::Items).await?;
    let values: Vec<Value> = turns
        .iter()
        .flat_map(|turn| {
            turn.items.iter().map(|item| {
                json!({
                    "turnId": turn.id,
                    "item": item.to_json(),
                    "startedAtMs": item.started_at_ms,
                    "completedAtMs": item.completed_at_ms,
                })
            })
        })
        .collect();
    page(&values, query, "it1.")
}

/// Cuts one page out of `values` (oldest first). A cursor is a position
/// in history order: ascending pages return from it on, descending pages
/// the entries before it. Appends keep every cursor's place; a rollback or
/// revert that shortens the history makes a cursor past its new end mean
/// the end (an empty ascending page), never an error.
fn page(values: &[Value], query: &PageQuery, prefix: &str) -> Result<JsonPage> {
    let limit = match query.limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let total = values.len();
    let at = match &query.cursor {
        None => None,
        Some(cursor) => Some(
            cursor
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
                .map(|n| n.min(total))
                .ok_or_else(|| CodexError::InvalidCursor {
                    cursor: cursor.clone(),
                })?,
        ),
    };
    let (data, next): (Vec<Value>, Option<usize>) = match query.order {
        PageOrder::Ascending => {
            let start = at.unwrap_or(0);
            let end = (start + limit).min(total);
            let data = values[start..end].to_vec();
            (data, (end < total).then_some(end))
        }
        PageOrder::Descending => {
            let end = at.unwrap_or(total);
            let start = end.saturating_sub(limit);
            let data = values[start..end].iter().rev().cloned().collect();
            (data, (start > 0).then_some(start))
        }
    };
    let next_cursor = next.map(|n| format!("{prefix}{n}"));
    Ok(json!({ "data": data, "nextCursor": next_cursor }))
}
