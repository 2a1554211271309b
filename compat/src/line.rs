//! One line of a Codex rollout file, kept byte for byte, with a typed view.
//!
//! Codex has changed its rollout format at least six times (ROLLOUT-FORMAT.md
//! §2.13), and its own readers disagree on floats (§2.14: decoding text
//! straight into flattened structs under `arbitrary_precision` rejects valid
//! lines). So every line is decoded through a generic JSON value first, and
//! only then viewed: a modern envelope (`timestamp`, optional `ordinal`,
//! `type`, `payload`, optional `metadata`), or one of the older generations
//! (a bare session header, a bare response item, a `record_type: state`
//! line), or blank, or invalid. The bytes are never re-serialized: export
//! writes them back exactly as read.

use bytes::Bytes;
use serde_json::{Map, Value};

/// A rollout line: its exact bytes (without `\n`) and what they are.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutLine {
    bytes: Bytes,
    view: LineView,
}

/// What a line is.
#[derive(Clone, Debug, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every line is an envelope: boxing would add an allocation per line and save nothing"
)]
pub enum LineView {
    /// The modern envelope (2025-09-09 on).
    Envelope(Envelope),
    /// A pre-2025-09-09 header: a bare session meta object
    /// (`{"id", "timestamp", …}`). Codex since 2025-09-09 cannot read it.
    LegacyHeader {
        /// The thread id it names.
        id: String,
        /// Its timestamp.
        timestamp: String,
    },
    /// A pre-2025-09-09 bare response item (`{"type":"message", …}`).
    LegacyItem {
        /// Its `type`.
        item_type: String,
    },
    /// A 2025-07 `{"record_type":"state"}` line.
    LegacyState,
    /// Empty or whitespace only (Codex skips it).
    Blank,
    /// Anything else: not JSON, not an object, or an envelope with a field
    /// of the wrong kind (Codex counts it as a parse error and goes on).
    Invalid(Problem),
}

/// Why a line is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Not UTF-8 (Codex's full load fails on it, §3.6).
    NotUtf8,
    /// Not JSON.
    NotJson,
    /// JSON, but not an object.
    NotObject,
    /// An envelope without a string `timestamp`.
    Timestamp,
    /// An `ordinal` that is not a non-negative integer.
    Ordinal,
    /// A `payload` that is not an object.
    Payload,
    /// An object of no known shape.
    Unrecognized,
}

/// The modern envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// `timestamp`, as written.
    pub timestamp: String,
    /// `ordinal` (paginated files only).
    pub ordinal: Option<u64>,
    /// `type` and `payload`.
    pub item: Item,
    /// `metadata` (a `response_item` sibling).
    pub metadata: Option<Value>,
}

/// The item an envelope carries, by its `type` (§2.2). Payloads stay
/// generic JSON values; the typed views of later modules read them.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `session_meta`: the thread's header.
    SessionMeta(SessionMeta),
    /// `response_item`, with its payload `type` (`message`,
    /// `function_call`, …; unknown ones are kept).
    ResponseItem {
        /// The payload's `type`.
        kind: String,
        /// The payload.
        payload: Map<String, Value>,
    },
    /// `event_msg`, with its payload `type` (`user_message`,
    /// `item_completed`, `token_count`, …).
    EventMsg {
        /// The payload's `type`.
        kind: String,
        /// The payload.
        payload: Map<String, Value>,
    },
    /// `turn_context`.
    TurnContext(Map<String, Value>),
    /// `compacted`.
    Compacted(Map<String, Value>),
    /// `world_state`.
    WorldState(Map<String, Value>),
    /// `token_usage_record`.
    TokenUsageRecord(Map<String, Value>),
    /// Any other `type`: kept as read, never dropped (Codex skips it).
    Other {
        /// The envelope's `type`.
        kind: String,
        /// The payload.
        payload: Map<String, Value>,
    },
}

/// A thread's history mode, read from its `session_meta` (§5).
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryMode {
    /// `"legacy"`, or no `history_mode` at all.
    Legacy,
    /// `"paginated"`.
    Paginated,
    /// Anything else (`""`, `"Paginated"`, `null`, a number, a future
    /// name): every operation on the thread's content fails closed.
    Unknown(Value),
}

/// The header fields spool needs; the whole payload stays available.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionMeta {
    /// `id`: the thread id.
    pub id: Option<String>,
    /// `history_mode` (a camelCase `historyMode` is ignored, as Codex does).
    pub history_mode: HistoryMode,
    /// `forked_from_id`, for forks.
    pub forked_from_id: Option<String>,
    /// The whole payload.
    pub payload: Map<String, Value>,
}

impl RolloutLine {
    /// Views `bytes` (one line, without its `\n`).
    #[must_use]
    pub fn parse(bytes: Bytes) -> RolloutLine {
        let view = view(&bytes);
        RolloutLine { bytes, view }
    }

    /// The line's exact bytes.
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// What the line is.
    #[must_use]
    pub fn view(&self) -> &LineView {
        &self.view
    }

    /// The envelope, if the line is a modern one.
    #[must_use]
    pub fn envelope(&self) -> Option<&Envelope> {
        match &self.view {
            LineView::Envelope(envelope) => Some(envelope),
            _ => None,
        }
    }
}

fn view(bytes: &[u8]) -> LineView {
    if bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        return LineView::Blank;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return LineView::Invalid(Problem::NotUtf8);
    };
    // Through a generic value first (§2.14): decimals anywhere are fine.
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return LineView::Invalid(Problem::NotJson);
    };
    let Value::Object(mut object) = value else {
        return LineView::Invalid(Problem::NotObject);
    };
    if object.contains_key("type") && object.contains_key("payload") {
        return envelope(object).map_or_else(LineView::Invalid, LineView::Envelope);
    }
    if object.len() == 1 && object.get("record_type") == Some(&Value::from("state")) {
        return LineView::LegacyState;
    }
    if let (Some(Value::String(id)), Some(Value::String(timestamp))) =
        (object.get("id"), object.get("timestamp"))
        && !object.contains_key("type")
    {
        return LineView::LegacyHeader {
            id: id.clone(),
            timestamp: timestamp.clone(),
        };
    }
    if let Some(Value::String(item_type)) = object.remove("type") {
        return LineView::LegacyItem { item_type };
    }
    LineView::Invalid(Problem::Unrecognized)
}

fn envelope(mut object: Map<String, Value>) -> Result<Envelope, Problem> {
    let Some(Value::String(timestamp)) = object.remove("timestamp") else {
        return Err(Problem::Timestamp);
    };
    let ordinal = match object.remove("ordinal") {
        None => None,
        Some(value) => Some(value.as_u64().ok_or(Problem::Ordinal)?),
    };
    let Some(Value::String(kind)) = object.remove("type") else {
        return Err(Problem::Unrecognized);
    };
    let Some(Value::Object(payload)) = object.remove("payload") else {
        return Err(Problem::Payload);
    };
    let metadata = object.remove("metadata");
    let inner_type = |p: &Map<String, Value>| {
        p.get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let item = match kind.as_str() {
        "session_meta" => Item::SessionMeta(session_meta(payload)),
        "response_item" => Item::ResponseItem {
            kind: inner_type(&payload),
            payload,
        },
        "event_msg" => Item::EventMsg {
            kind: inner_type(&payload),
            payload,
        },
        "turn_context" => Item::TurnContext(payload),
        "compacted" => Item::Compacted(payload),
        "world_state" => Item::WorldState(payload),
        "token_usage_record" => Item::TokenUsageRecord(payload),
        _ => Item::Other { kind, payload },
    };
    Ok(Envelope {
        timestamp,
        ordinal,
        item,
        metadata,
    })
}

fn session_meta(payload: Map<String, Value>) -> SessionMeta {
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    let history_mode = match payload.get("history_mode") {
        None => HistoryMode::Legacy,
        Some(Value::String(mode)) if mode == "legacy" => HistoryMode::Legacy,
        Some(Value::String(mode)) if mode == "paginated" => HistoryMode::Paginated,
        Some(other) => HistoryMode::Unknown(other.clone()),
    };
    SessionMeta {
        id: text("id"),
        history_mode,
        forked_from_id: text("forked_from_id"),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> LineView {
        RolloutLine::parse(Bytes::copy_from_slice(text.as_bytes()))
            .view()
            .clone()
    }

    #[test]
    fn every_generation_and_every_damage_has_its_view() {
        assert!(matches!(
            parse(r#"{"timestamp":"t","ordinal":3,"type":"event_msg","payload":{"type":"token_count","info":{"used_percent":12.5}}}"#),
            LineView::Envelope(Envelope { ordinal: Some(3), item: Item::EventMsg { ref kind, .. }, .. }) if kind == "token_count"
        ));
        assert!(matches!(
            parse(r#"{"timestamp":"t","type":"hologram","payload":{}}"#),
            LineView::Envelope(Envelope { item: Item::Other { ref kind, .. }, .. }) if kind == "hologram"
        ));
        assert_eq!(
            parse(r#"{"id":"x","timestamp":"t","instructions":null}"#),
            LineView::LegacyHeader {
                id: "x".into(),
                timestamp: "t".into()
            }
        );
        assert_eq!(parse(r#"{"record_type":"state"}"#), LineView::LegacyState);
        assert_eq!(
            parse(r#"{"type":"message","role":"user"}"#),
            LineView::LegacyItem {
                item_type: "message".into()
            }
        );
        assert_eq!(parse(" \r"), LineView::Blank);
        assert_eq!(parse("not json"), LineView::Invalid(Problem::NotJson));
        assert_eq!(parse("[1]"), LineView::Invalid(Problem::NotObject));
        assert_eq!(
            parse(r#"{"type":"x","payload":{}}"#),
            LineView::Invalid(Problem::Timestamp)
        );
        for ordinal in ["-1", "\"7\"", "1.5"] {
            assert_eq!(
                parse(&format!(
                    r#"{{"timestamp":"t","ordinal":{ordinal},"type":"x","payload":{{}}}}"#
                )),
                LineView::Invalid(Problem::Ordinal),
                "{ordinal}"
            );
        }
        assert_eq!(
            parse(r#"{"timestamp":"t","type":"x","payload":[]}"#),
            LineView::Invalid(Problem::Payload)
        );
        assert_eq!(
            RolloutLine::parse(Bytes::from_static(b"{\"a\":\"\xff\"}")).view(),
            &LineView::Invalid(Problem::NotUtf8)
        );
    }

    #[test]
    fn history_modes_fail_closed_on_anything_unknown() {
        let mode = |m: &str| match parse(&format!(
            r#"{{"timestamp":"t","type":"session_meta","payload":{{"id":"a"{m}}}}}"#
        )) {
            LineView::Envelope(Envelope {
                item: Item::SessionMeta(meta),
                ..
            }) => meta.history_mode,
            other => panic!("{other:?}"),
        };
        assert_eq!(mode(""), HistoryMode::Legacy);
        assert_eq!(mode(r#","history_mode":"legacy""#), HistoryMode::Legacy);
        assert_eq!(
            mode(r#","history_mode":"paginated""#),
            HistoryMode::Paginated
        );
        // camelCase is not the field: absent, so legacy (as Codex does).
        assert_eq!(mode(r#","historyMode":"paginated""#), HistoryMode::Legacy);
        for unknown in [r#""""#, r#""Paginated""#, "null", "3", r#""quantum_v9""#] {
            assert!(
                matches!(
                    mode(&format!(r#","history_mode":{unknown}"#)),
                    HistoryMode::Unknown(_)
                ),
                "{unknown}"
            );
        }
    }
}
