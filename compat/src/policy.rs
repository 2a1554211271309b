//! What Codex writes into a rollout, by history mode (ROLLOUT-FORMAT.md
//! §3.1, §2.7; CODEX-0.169.md §2): the writer refuses anything else, so
//! that a file spool extends reads to Codex exactly like one Codex wrote.
//!
//! Codex's recorder drops what its policy does not persist; spool's writer
//! returns a typed error instead, because a caller asking to store a line
//! that would be dropped has a bug it should hear about.

use serde_json::{Map, Value};

use crate::error::{CodexError, Result};
use crate::line::HistoryMode;

/// Event types only legacy threads persist (paginated ones carry the same
/// history as `item_completed` items).
pub const LEGACY_EVENTS: &[&str] = &[
    "user_message",
    "agent_message",
    "agent_reasoning",
    "agent_reasoning_raw_content",
    "entered_review_mode",
    "exited_review_mode",
    "patch_apply_end",
    "context_compacted",
    "mcp_tool_call_end",
    "web_search_end",
    "image_generation_end",
    "sub_agent_activity",
];

/// Event types both modes persist.
pub const SHARED_EVENTS: &[&str] = &[
    "token_count",
    "thread_goal_updated",
    "thread_rolled_back",
    "turn_aborted",
    "task_started",
    "task_complete",
    "thread_settings_applied",
];

/// Envelope types written in both modes (session_meta is the writer's own).
pub const ITEM_TYPES: &[&str] = &[
    "response_item",
    "event_msg",
    "compacted",
    "turn_context",
    "world_state",
    "token_usage_record",
    "inter_agent_communication",
    "inter_agent_communication_metadata",
];

/// Response items Codex never persists.
const NEVER_RESPONSES: &[&str] = &["additional_tools", "compaction_trigger", "ghost_snapshot"];

/// Checks that a thread of `mode` may carry a line of `kind` with
/// `payload`, as Codex would write it.
pub fn check(mode: &HistoryMode, kind: &str, payload: &Map<String, Value>) -> Result<()> {
    let refuse = |why: String| Err(CodexError::Invalid(why));
    let inner = payload.get("type").and_then(Value::as_str).unwrap_or("");
    let paginated = match mode {
        HistoryMode::Legacy => false,
        HistoryMode::Paginated => true,
        HistoryMode::Unknown(value) => {
            return refuse(format!(
                "history_mode {value} is not one spool writes; only \"legacy\" and \"paginated\""
            ));
        }
    };
    if !ITEM_TYPES.contains(&kind) {
        return refuse(format!(
            "Codex does not write `{kind}` lines; one of {ITEM_TYPES:?} (session_meta is written by the writer itself)"
        ));
    }
    match kind {
        "response_item" if NEVER_RESPONSES.contains(&inner) => {
            refuse(format!("Codex never persists a `{inner}` response item"))
        }
        "event_msg" if SHARED_EVENTS.contains(&inner) => Ok(()),
        "event_msg" if LEGACY_EVENTS.contains(&inner) && paginated => refuse(format!(
            "a paginated thread does not persist `{inner}` events: record an `item_completed` item instead"
        )),
        "event_msg" if LEGACY_EVENTS.contains(&inner) => Ok(()),
        "event_msg" if inner == "item_completed" => {
            let item = payload
                .get("item")
                .and_then(|i| i.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if paginated || item == "Plan" {
                Ok(())
            } else {
                refuse(format!(
                    "a legacy thread persists `item_completed` only for Plan items, not `{item}`: record the legacy event instead"
                ))
            }
        }
        "event_msg" => refuse(format!("Codex does not persist `{inner}` events")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn each_mode_writes_what_codex_writes() {
        let user = payload(r#"{"type":"user_message","message":"hi"}"#);
        let item = payload(r#"{"type":"item_completed","item":{"type":"UserMessage"}}"#);
        let plan = payload(r#"{"type":"item_completed","item":{"type":"Plan"}}"#);
        let tokens = payload(r#"{"type":"token_count","info":null}"#);
        let legacy = HistoryMode::Legacy;
        let paginated = HistoryMode::Paginated;
        assert!(check(&legacy, "event_msg", &user).is_ok());
        assert!(check(&paginated, "event_msg", &user).is_err());
        assert!(check(&paginated, "event_msg", &item).is_ok());
        assert!(check(&legacy, "event_msg", &item).is_err());
        assert!(check(&legacy, "event_msg", &plan).is_ok());
        assert!(check(&legacy, "event_msg", &tokens).is_ok());
        assert!(check(&paginated, "event_msg", &tokens).is_ok());
        let delta = payload(r#"{"type":"agent_message_delta"}"#);
        assert!(check(&legacy, "event_msg", &delta).is_err());
        assert!(check(&legacy, "session_meta", &Map::new()).is_err());
        assert!(check(&legacy, "hologram", &Map::new()).is_err());
        let ghost = payload(r#"{"type":"ghost_snapshot"}"#);
        assert!(check(&legacy, "response_item", &ghost).is_err());
        let message = payload(r#"{"type":"message","role":"user","content":[]}"#);
        assert!(check(&paginated, "response_item", &message).is_ok());
        assert!(
            check(
                &HistoryMode::Unknown(Value::Null),
                "response_item",
                &message
            )
            .is_err()
        );
    }
}
