//! Codex's full load of a rollout, counted as Codex counts it
//! (ROLLOUT-FORMAT.md §3.6; §8 cases 1, 4–15, 16, 21, 27, 48): which lines
//! become items, which are parse errors, and which thread id the file
//! names. spool keeps every line whatever this says; the count is how a
//! user (and the test suite) checks that spool and Codex agree on what a
//! file holds.

use std::path::Path;

use serde_json::Value;

use crate::error::{CodexError, Result};
use crate::header::codex_accepts;
use crate::line::{HistoryMode, Item, LineView, RolloutLine};
use crate::policy::{LEGACY_EVENTS, SHARED_EVENTS};

/// Event types Codex decodes that it persists or once persisted (§2.7);
/// others fail Codex's decoder and count as parse errors.
const OTHER_EVENTS: &[&str] = &[
    "item_completed",
    "turn_started",
    "turn_complete",
    "exec_command_end",
    "error",
    "warning",
    "view_image_tool_call",
    "undo_completed",
    "thread_name_updated",
    "guardian_assessment",
    "dynamic_tool_call_request",
    "dynamic_tool_call_response",
    "collab_agent_spawn_end",
    "collab_agent_interaction_end",
    "collab_waiting_end",
    "collab_close_end",
];

/// Whether Codex's typed decoder reads this item (§3.6 step 6): unknown
/// envelope types and unknown event types fail it, an unknown response
/// item does not (it is `Other`), a turn context needs an absolute cwd,
/// and a session_meta needs a known mode and Codex's required fields.
#[must_use]
pub fn item_decodes(item: &Item) -> bool {
    match item {
        Item::SessionMeta(meta) => {
            !matches!(meta.history_mode, HistoryMode::Unknown(_)) && codex_accepts(meta)
        }
        Item::ResponseItem { .. }
        | Item::Compacted(_)
        | Item::WorldState(_)
        | Item::TokenUsageRecord(_) => true,
        Item::EventMsg { kind, .. } => {
            LEGACY_EVENTS.contains(&kind.as_str())
                || SHARED_EVENTS.contains(&kind.as_str())
                || OTHER_EVENTS.contains(&kind.as_str())
        }
        // A turn context's cwd must be absolute (§2.9, case 13).
        Item::TurnContext(payload) => payload
            .get("cwd")
            .and_then(Value::as_str)
            .is_some_and(|cwd| cwd.starts_with('/')),
        Item::Other { kind, .. } => matches!(
            kind.as_str(),
            "inter_agent_communication" | "inter_agent_communication_metadata"
        ),
    }
}

/// What Codex's full load makes of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Lines that became items.
    pub items: usize,
    /// Lines counted as parse errors.
    pub parse_errors: usize,
    /// The id of the first accepted session_meta.
    pub thread_id: Option<String>,
}

/// Loads `lines` (a whole file, in order) as Codex does: blank lines are
/// skipped; `ghost_snapshot` response items are dropped silently; an
/// unknown history mode before the header fails the load; lines Codex
/// cannot decode are counted. A file with no non-blank line is Codex's
/// `empty session file`.
pub fn codex_load(path: &Path, lines: &[RolloutLine]) -> Result<Load> {
    let mut load = Load::default();
    let mut any = false;
    for line in lines {
        let envelope = match line.view() {
            LineView::Blank => continue,
            LineView::Envelope(envelope) => envelope,
            _ => {
                any = true;
                load.parse_errors += 1;
                continue;
            }
        };
        any = true;
        let decodes = match &envelope.item {
            Item::SessionMeta(meta) => {
                if let HistoryMode::Unknown(value) = &meta.history_mode {
                    if load.thread_id.is_none() {
                        return Err(CodexError::UnknownHistoryMode {
                            path: path.to_owned(),
                            value: value.to_string(),
                        });
                    }
                    false
                } else if codex_accepts(meta) {
                    if load.thread_id.is_none() {
                        load.thread_id.clone_from(&meta.id);
                    }
                    true
                } else {
                    false
                }
            }
            Item::ResponseItem { kind, .. } if kind == "ghost_snapshot" => continue,
            other => item_decodes(other),
        };
        if decodes {
            load.items += 1;
        } else {
            load.parse_errors += 1;
        }
    }
    if !any {
        return Err(CodexError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(load)
}
