//! The head of a rollout file, read the way Codex's listing reads it
//! (ROLLOUT-FORMAT.md §4.2): up to 10 non-blank lines, extended by up to
//! 200 more while the header has been seen but no preview found. Only the
//! head is read (a plain file through a buffered reader, a `.zst` through a
//! streaming decoder), so listing costs the same for a 100 MB rollout as
//! for a small one.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use bytes::Bytes;
use serde_json::Value;

use crate::error::{CodexError, Result};
use crate::line::{Item, LineView, RolloutLine};

/// Non-blank lines always read.
const HEAD_LINES: usize = 10;
/// More lines read while looking for a preview.
const EXTRA_LINES: usize = 200;

/// What the head of a file says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    /// The complete, non-blank lines read, in order.
    pub lines: Vec<RolloutLine>,
    /// The preview: the first user message (or goal), if found.
    pub preview: Option<String>,
}

/// Reads the head of the rollout at `path`; lines longer than
/// `max_line_bytes` are skipped unread.
pub fn read_head(path: &Path, compressed: bool, max_line_bytes: usize) -> Result<Head> {
    let file = std::fs::File::open(path).map_err(|e| CodexError::io("open", path, e))?;
    let reader: Box<dyn Read> = if compressed {
        Box::new(
            zstd::stream::read::Decoder::new(file).map_err(|e| CodexError::Zstd {
                path: path.to_owned(),
                reason: e.to_string(),
            })?,
        )
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::new(reader);
    let mut head = Head::default();
    let mut header_seen = false;
    let mut limit = HEAD_LINES;
    while head.lines.len() < limit {
        let Some(bytes) = next_line(&mut reader, max_line_bytes)
            .map_err(|e| CodexError::io("read rollout head", path, e))?
        else {
            break;
        };
        let line = RolloutLine::parse(bytes);
        if matches!(line.view(), LineView::Blank) {
            continue;
        }
        if let Some(envelope) = line.envelope() {
            if matches!(envelope.item, Item::SessionMeta(_)) {
                header_seen = true;
            }
            if head.preview.is_none() {
                head.preview = preview(&envelope.item);
            }
        }
        head.lines.push(line);
        if head.lines.len() == HEAD_LINES && header_seen && head.preview.is_none() {
            limit = HEAD_LINES + EXTRA_LINES;
        }
        if head.preview.is_some() && head.lines.len() >= HEAD_LINES {
            break;
        }
    }
    Ok(head)
}

/// The next complete line (without `\n`); a final fragment is not a line;
/// an over-long line is skipped (returned empty, so it reads as blank).
fn next_line(reader: &mut impl BufRead, max: usize) -> std::io::Result<Option<Bytes>> {
    let mut line = Vec::new();
    let mut skipping = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let (chunk, end) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if !skipping {
            if line.len() + chunk.len() > max {
                skipping = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let consumed = end.unwrap_or(buf.len());
        reader.consume(consumed);
        if end.is_some() {
            return Ok(Some(Bytes::from(line)));
        }
    }
}

/// The preview a line gives, by Codex's rules: a `user_message` event
/// (without the `## My request for Codex:` prefix; `[Image]` for an
/// image-only message), an `item_completed` UserMessage, or a non-empty
/// goal objective.
#[must_use]
pub fn preview(item: &Item) -> Option<String> {
    let Item::EventMsg { kind, payload } = item else {
        return None;
    };
    match kind.as_str() {
        "user_message" => {
            let message = payload.get("message").and_then(Value::as_str).unwrap_or("");
            let message = message
                .strip_prefix("## My request for Codex:")
                .map_or(message, str::trim_start);
            if !message.is_empty() {
                return Some(message.to_owned());
            }
            let has = |key: &str| {
                payload
                    .get(key)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            };
            if has("images") || has("local_images") {
                Some("[Image]".into())
            } else if has("audio") || has("local_audio") {
                Some("[Audio]".into())
            } else {
                None
            }
        }
        "item_completed" => {
            let item = payload.get("item")?;
            if item.get("type").and_then(Value::as_str) != Some("UserMessage") {
                return None;
            }
            let text: Vec<&str> = item
                .get("content")
                .and_then(Value::as_array)?
                .iter()
                .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .collect();
            let text = text.join("\n");
            (!text.is_empty()).then_some(text)
        }
        "thread_goal_updated" => {
            let objective = payload
                .get("goal")
                .and_then(|g| g.get("objective"))
                .or_else(|| payload.get("objective"))
                .and_then(Value::as_str)?;
            (!objective.trim().is_empty()).then(|| objective.to_owned())
        }
        _ => None,
    }
}
