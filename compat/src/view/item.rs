//! Codex's persisted turn items, as app-server v2 `ThreadItem`s.
//!
//! Paginated threads persist `item_completed` events whose `item` is a
//! TurnItem (PascalCase `type`, snake_case fields, §2.8); legacy threads
//! persist legacy UI events (`user_message`, `agent_message`,
//! `agent_reasoning`, `patch_apply_end`, `context_compacted`, §2.7). Codex's
//! app-server shows both as v2 ThreadItems (camelCase `type` and fields:
//! `userMessage`, `agentMessage`, `reasoning`, `commandExecution`,
//! `fileChange`, `contextCompaction`, …). This module is that mapping, field
//! for field as Codex 0.169 serves it (checked against the real app-server
//! by the interop suite), so the two can be compared value by value.

use serde_json::{Map, Value, json};

/// The v2 item for a TurnItem, without timing fields.
#[must_use]
pub fn from_turn_item(item: &Map<String, Value>) -> Value {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    let get = |key: &str| item.get(key).cloned().unwrap_or(Value::Null);
    match kind {
        "UserMessage" => json!({
            "type": "userMessage",
            "id": get("id"),
            "clientId": get("client_id"),
            "content": user_content(item.get("content")),
        }),
        "AgentMessage" => {
            let text: String = item
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .collect();
            json!({
                "type": "agentMessage",
                "moderation": Value::Null,
                "id": get("id"),
                "text": text,
                "phase": get("phase"),
                "memoryCitation": get("memory_citation"),
                "delivery": Value::Null,
                "questions": Value::Null,
            })
        }
        "Reasoning" => json!({
            "type": "reasoning",
            "id": get("id"),
            "summary": item.get("summary_text").cloned().unwrap_or_else(|| json!([])),
            "content": item.get("raw_content").cloned().unwrap_or_else(|| json!([])),
        }),
        "CommandExecution" => command_execution(item),
        "FileChange" => json!({
            "type": "fileChange",
            "id": get("id"),
            "changes": changes(item.get("changes")),
            "status": get("status"),
        }),
        "ContextCompaction" => json!({"type": "contextCompaction", "id": get("id")}),
        _ => generic(kind, item),
    }
}

/// Any other TurnItem: its fields in camelCase, its type in lowerCamel.
fn generic(kind: &str, item: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), Value::from(lower_camel(kind)));
    for (key, value) in item {
        if key != "type" {
            out.insert(camel(key), value.clone());
        }
    }
    Value::Object(out)
}

fn command_execution(item: &Map<String, Value>) -> Value {
    let get = |key: &str| item.get(key).cloned().unwrap_or(Value::Null);
    let command = match item.get("command") {
        Some(Value::Array(args)) => Value::from(shell_join(
            &args.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
        )),
        other => other.cloned().unwrap_or(Value::Null),
    };
    let cwd = match item.get("cwd") {
        Some(Value::String(cwd)) => Value::from(cwd.strip_prefix("file://").unwrap_or(cwd)),
        other => other.cloned().unwrap_or(Value::Null),
    };
    let cwd_text = cwd.as_str().map(str::to_owned);
    let actions: Vec<Value> = item
        .get("parsed_cmd")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|action| {
            let mut out = Map::new();
            for (key, value) in action {
                match key.as_str() {
                    "type" => {
                        out.insert(
                            "type".into(),
                            Value::from(camel(value.as_str().unwrap_or(""))),
                        );
                    }
                    "cmd" => {
                        out.insert("command".into(), value.clone());
                    }
                    _ => {
                        out.insert(camel(key), value.clone());
                    }
                }
            }
            // A read's path is shown resolved against the command's cwd.
            if out.get("type").and_then(Value::as_str) == Some("read")
                && let (Some(Value::String(path)), Some(cwd)) = (out.get("path"), &cwd_text)
                && !path.starts_with('/')
            {
                let joined = format!("{}/{path}", cwd.trim_end_matches('/'));
                out.insert("path".into(), Value::from(joined));
            }
            Value::Object(out)
        })
        .collect();
    let duration_ms = item.get("duration").and_then(|d| {
        let secs = d.get("secs")?.as_u64()?;
        let nanos = d.get("nanos")?.as_u64()?;
        Some(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000))
    });
    json!({
        "type": "commandExecution",
        "id": get("id"),
        "pluginId": get("plugin_id"),
        "scriptPath": get("script_path"),
        "command": command,
        "cwd": cwd,
        "processId": get("process_id"),
        "source": item.get("source").and_then(Value::as_str).map(camel),
        "status": get("status"),
        "commandActions": actions,
        "aggregatedOutput": get("aggregated_output"),
        "exitCode": get("exit_code"),
        "durationMs": duration_ms,
    })
}

/// A user message's inputs as v2 shows them: text elements in camelCase.
fn user_content(content: Option<&Value>) -> Value {
    let Some(Value::Array(inputs)) = content else {
        return json!([]);
    };
    Value::Array(
        inputs
            .iter()
            .map(|input| {
                let mut input = input.clone();
                if let Some(map) = input.as_object_mut()
                    && let Some(elements) = map.get("text_elements")
                {
                    let elements = text_elements(Some(elements));
                    map.insert("text_elements".into(), elements);
                }
                input
            })
            .collect(),
    )
}

/// Text elements (`[{byte_range, placeholder}]`) as v2's
/// `[{byteRange, placeholder}]`.
fn text_elements(elements: Option<&Value>) -> Value {
    let Some(Value::Array(elements)) = elements else {
        return json!([]);
    };
    Value::Array(
        elements
            .iter()
            .map(|element| match element {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(key, value)| (camel(key), value.clone()))
                        .collect(),
                ),
                other => other.clone(),
            })
            .collect(),
    )
}

/// `{path: change}` (a patch's changes) as v2's `[{path, kind, diff}]`.
fn changes(changes: Option<&Value>) -> Value {
    let Some(Value::Object(changes)) = changes else {
        return json!([]);
    };
    Value::Array(
        changes
            .iter()
            .map(|(path, change)| {
                let kind = change.get("type").and_then(Value::as_str).unwrap_or("");
                let (kind, diff) = match kind {
                    "update" => (
                        json!({"type": "update", "move_path": change.get("move_path").cloned().unwrap_or(Value::Null)}),
                        change.get("unified_diff"),
                    ),
                    other => (json!({"type": other}), change.get("content")),
                };
                json!({"path": path, "kind": kind, "diff": diff.cloned().unwrap_or_else(|| Value::from(""))})
            })
            .collect(),
    )
}

/// The v2 item for a legacy UI event, if it makes one. `next_id` gives the
/// synthetic ids Codex assigns (`item-1`, `item-2`, … per thread).
pub fn from_legacy_event(
    event: &Map<String, Value>,
    next_id: &mut impl FnMut() -> String,
) -> Option<Value> {
    let kind = event.get("type").and_then(Value::as_str)?;
    let get = |key: &str| event.get(key).cloned().unwrap_or(Value::Null);
    Some(match kind {
        "user_message" => {
            let mut content = vec![json!({
                "type": "text",
                "text": get("message"),
                "text_elements": text_elements(event.get("text_elements")),
            })];
            for image in event
                .get("images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                content.push(json!({"type": "image", "url": image}));
            }
            for path in event
                .get("local_images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                content.push(json!({"type": "localImage", "path": path}));
            }
            json!({"type": "userMessage", "id": next_id(), "clientId": get("client_id"), "content": content})
        }
        "agent_message" => json!({
            "type": "agentMessage",
            "moderation": Value::Null,
            "id": next_id(),
            "text": get("message"),
            "phase": get("phase"),
            "memoryCitation": get("memory_citation"),
            "delivery": Value::Null,
            "questions": Value::Null,
        }),
        "agent_reasoning" => json!({
            "type": "reasoning",
            "id": next_id(),
            "summary": [get("text")],
            "content": [],
        }),
        "patch_apply_end" => json!({
            "type": "fileChange",
            "id": get("call_id"),
            "changes": changes(event.get("changes")),
            "status": get("status"),
        }),
        "context_compacted" => json!({"type": "contextCompaction", "id": next_id()}),
        _ => return None,
    })
}

/// `snake_case` → `camelCase`.
#[must_use]
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `PascalCase` → `camelCase`.
fn lower_camel(pascal: &str) -> String {
    let mut chars = pascal.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// Joins `args` into one shell command line, quoting as Python's
/// `shlex.quote` (and Codex's `shlex` join) does.
#[must_use]
pub fn shell_join(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            let safe = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
            if safe {
                (*arg).to_owned()
            } else {
                format!("'{}'", arg.replace('\'', "'\"'\"'"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_commands_convert_as_codex_shows_them() {
        assert_eq!(camel("unified_exec_startup"), "unifiedExecStartup");
        assert_eq!(camel("list_files"), "listFiles");
        assert_eq!(lower_camel("WebSearch"), "webSearch");
        assert_eq!(
            shell_join(&["/bin/bash", "-lc", "ls -1"]),
            "/bin/bash -lc 'ls -1'"
        );
        assert_eq!(shell_join(&["echo", "it's"]), "echo 'it'\"'\"'s'");
        assert_eq!(shell_join(&["a", ""]), "a ''");
    }
}
