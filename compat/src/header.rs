//! Which line is a rollout's header, by Codex's rules (ROLLOUT-FORMAT.md
//! §3.6, "header reader"), and whether Codex would accept a session_meta.
//!
//! The header is the first session_meta Codex can decode. Blank lines,
//! damaged lines and records that are not items (event_msg, turn_context,
//! compacted, world_state, …) may come before it; an item (a response_item
//! or inter-agent message) may not. An unknown history mode in a
//! session_meta met before the header fails the whole file closed (§5.3);
//! after the header, such a line is only a bad line (§8 case 27).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{CodexError, Result};
use crate::line::{HistoryMode, Item, LineView, RolloutLine, SessionMeta};

/// A rollout's header: its first acceptable session_meta.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The line's index in the file (0-based; its seq).
    pub seq: u64,
    /// The line's `ordinal`, if any.
    pub ordinal: Option<u64>,
    /// The envelope's `timestamp`.
    pub timestamp: String,
    /// The session_meta.
    pub meta: SessionMeta,
}

/// Finds the header among `lines` (the file's lines in order, from the
/// first), as Codex's header reader does.
pub fn find_header<'a>(
    path: &Path,
    lines: impl IntoIterator<Item = &'a RolloutLine>,
) -> Result<Header> {
    for (seq, line) in lines.into_iter().enumerate() {
        if let Some(found) = header_step(path, seq as u64, line) {
            return found;
        }
    }
    Err(CodexError::Empty {
        path: path.to_owned(),
    })
}

/// One step of the header reader: what line `seq` decides, or `None` to
/// read on. Lets a caller stream a file without holding its lines.
pub fn header_step(path: &Path, seq: u64, line: &RolloutLine) -> Option<Result<Header>> {
    let LineView::Envelope(envelope) = line.view() else {
        return None;
    };
    match &envelope.item {
        Item::SessionMeta(meta) => {
            if let HistoryMode::Unknown(value) = &meta.history_mode {
                return Some(Err(CodexError::UnknownHistoryMode {
                    path: path.to_owned(),
                    value: value.to_string(),
                }));
            }
            codex_accepts(meta).then(|| {
                Ok(Header {
                    seq,
                    ordinal: envelope.ordinal,
                    timestamp: envelope.timestamp.clone(),
                    meta: meta.clone(),
                })
            })
        }
        Item::ResponseItem { .. } => Some(Err(CodexError::NoSessionMeta {
            path: path.to_owned(),
            line: seq + 1,
        })),
        Item::Other { kind, .. } if kind == "inter_agent_communication" => {
            Some(Err(CodexError::NoSessionMeta {
                path: path.to_owned(),
                line: seq + 1,
            }))
        }
        _ => None,
    }
}

/// Finds the header as Codex's listing does (§4.2): the first acceptable
/// session_meta among `lines`, skipping anything else (items included); an
/// unknown history mode met first still fails closed.
pub fn find_header_lenient<'a>(
    path: &Path,
    lines: impl IntoIterator<Item = &'a RolloutLine>,
) -> Result<Header> {
    for (seq, line) in lines.into_iter().enumerate() {
        let Some(envelope) = line.envelope() else {
            continue;
        };
        let Item::SessionMeta(meta) = &envelope.item else {
            continue;
        };
        if let HistoryMode::Unknown(value) = &meta.history_mode {
            return Err(CodexError::UnknownHistoryMode {
                path: path.to_owned(),
                value: value.to_string(),
            });
        }
        if codex_accepts(meta) {
            return Ok(Header {
                seq: seq as u64,
                ordinal: envelope.ordinal,
                timestamp: envelope.timestamp.clone(),
                meta: meta.clone(),
            });
        }
    }
    Err(CodexError::Empty {
        path: path.to_owned(),
    })
}

/// Whether Codex decodes this session_meta payload (§2.3, §2.4): the
/// required fields are strings (`cwd` may be relative here, §8 case 13),
/// and `source`, if an object, is a variant Codex knows (an unknown plain
/// string is fine: it reads as `unknown`, §8 case 14).
#[must_use]
pub fn codex_accepts(meta: &SessionMeta) -> bool {
    let p = &meta.payload;
    let text = |key: &str| matches!(p.get(key), Some(Value::String(_)));
    ["id", "timestamp", "cwd", "originator", "cli_version"]
        .iter()
        .all(|key| text(key))
        && source_decodes(p)
        && !matches!(p.get("history_base"), Some(base) if base_fields(base).is_none())
}

fn source_decodes(p: &Map<String, Value>) -> bool {
    match p.get("source") {
        None | Some(Value::String(_)) => true,
        Some(Value::Object(variant)) => {
            variant.len() == 1
                && variant
                    .keys()
                    .all(|k| matches!(k.as_str(), "custom" | "internal" | "subagent"))
        }
        Some(_) => false,
    }
}

/// A header's `history_base`: the rollout it continues and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryBase {
    /// The rollout id continued (Codex names the field `thread_id`, but it
    /// is a rollout id: a revert segment's, or a thread's first file's).
    pub rollout: String,
    /// The first ordinal that is this rollout's own.
    pub end_ordinal_exclusive: u64,
    /// Where the base's prefix ends, in bytes of the base file.
    pub end_byte_offset: u64,
}

impl SessionMeta {
    /// The header's `history_base`, if it has a well-formed one.
    #[must_use]
    pub fn history_base(&self) -> Option<HistoryBase> {
        self.payload.get("history_base").and_then(base_fields)
    }

    /// `forked_from_ordinal_exclusive` (paginated forks).
    #[must_use]
    pub fn forked_from_ordinal_exclusive(&self) -> Option<u64> {
        self.payload
            .get("forked_from_ordinal_exclusive")
            .and_then(Value::as_u64)
    }

    /// `subagent_history_start_ordinal`.
    #[must_use]
    pub fn subagent_history_start_ordinal(&self) -> Option<u64> {
        self.payload
            .get("subagent_history_start_ordinal")
            .and_then(Value::as_u64)
    }

    /// A string field of the payload.
    #[must_use]
    pub fn text(&self, key: &str) -> Option<&str> {
        self.payload.get(key).and_then(Value::as_str)
    }
}

fn base_fields(base: &Value) -> Option<HistoryBase> {
    Some(HistoryBase {
        rollout: base.get("thread_id")?.as_str()?.to_owned(),
        end_ordinal_exclusive: base.get("end_ordinal_exclusive")?.as_u64()?,
        end_byte_offset: base.get("end_byte_offset")?.as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn lines(text: &str) -> Vec<RolloutLine> {
        text.lines()
            .map(|l| RolloutLine::parse(Bytes::copy_from_slice(l.as_bytes())))
            .collect()
    }

    const META: &str = r#"{"timestamp":"t","type":"session_meta","payload":{"id":"a","timestamp":"t","cwd":"rel","originator":"o","cli_version":"1"}}"#;

    #[test]
    fn the_header_is_the_first_session_meta_codex_decodes() {
        let path = Path::new("r.jsonl");
        // §8 case 22: events before the header are skipped.
        let event = r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count"}}"#;
        let found = find_header(path, &lines(&format!("\n{event}\ngarbage\n{META}"))).unwrap();
        assert_eq!(found.seq, 3);
        assert_eq!(found.meta.id.as_deref(), Some("a"));
        // §8 case 21: an item first.
        let item = r#"{"timestamp":"t","type":"response_item","payload":{"type":"message"}}"#;
        assert!(matches!(
            find_header(path, &lines(&format!("{item}\n{META}"))),
            Err(CodexError::NoSessionMeta { line: 1, .. })
        ));
        // §8 case 10 and 48: nothing readable.
        assert!(matches!(
            find_header(path, &lines("  \n{\"record_type\":\"state\"}")),
            Err(CodexError::Empty { .. })
        ));
        // §8 case 14: an unknown source object makes the line unreadable;
        // an unknown source string is fine.
        let future = META.replace(
            "\"cli_version\"",
            "\"source\":{\"future\":{}},\"cli_version\"",
        );
        assert!(matches!(
            find_header(path, &lines(&future)),
            Err(CodexError::Empty { .. })
        ));
        let odd = META.replace(
            "\"cli_version\"",
            "\"source\":\"future_client\",\"cli_version\"",
        );
        assert!(find_header(path, &lines(&odd)).is_ok());
        // §8 case 26: an unknown mode before the header fails closed.
        let unknown = META.replace(
            "\"cli_version\"",
            "\"history_mode\":\"segmented_v3\",\"cli_version\"",
        );
        assert!(matches!(
            find_header(path, &lines(&format!("{unknown}\n{META}"))),
            Err(CodexError::UnknownHistoryMode { ref value, .. }) if value == "\"segmented_v3\""
        ));
        // §8 case 27: after the header it is just another line.
        assert_eq!(
            find_header(path, &lines(&format!("{META}\n{unknown}")))
                .unwrap()
                .seq,
            0
        );
    }
}
