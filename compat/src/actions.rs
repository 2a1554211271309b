//! Action export v1: what an agent did in a thread, as a stable, versioned
//! list of completed actions (issue 8 item 4; the schema is
//! docs/action-export-v1.schema.json, the guide docs/codex.md).
//!
//! Every action has the same keys, in this order: `schema_version` (1),
//! `session_id`, `turn_id`, `timestamp` (the envelope timestamp of the line
//! that completed it), `action_type` (`turn_started`, `turn_completed`,
//! `turn_aborted`, `command`, `file_change`, `tool_call`, `mcp_tool_call`,
//! `web_search`), `tool_name`, `command`, `changed_paths`, `status`,
//! `exit_code`; a value not known is `null`. Actions are taken from the
//! records both history modes keep alike (turn events and response items;
//! a patch's paths from its own text), never from the legacy UI events or
//! the `item_completed` items that a migration rewrites, so a legacy thread
//! and its migrated twin export the same actions. No reasoning, no
//! message text, no prompts.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::line::{Item, LineView};
use crate::thread::Thread;
use crate::view::item::shell_join;

/// The schema version this module writes.
pub const ACTION_SCHEMA_VERSION: u64 = 1;

/// Function tools that run a shell command.
const COMMAND_TOOLS: &[&str] = &[
    "exec_command",
    "shell",
    "shell_command",
    "container.exec",
    "local_shell",
];

/// The completed actions of `thread`, in history order.
pub async fn export_actions(thread: &Thread) -> Result<Vec<Value>> {
    let meta = &thread.header().meta;
    let mut export = Exporter {
        session: meta
            .text("session_id")
            .or(meta.id.as_deref())
            .map_or(Value::Null, Value::from),
        turn: Value::Null,
        calls: HashMap::new(),
        out: Vec::new(),
    };
    for (_, line) in thread.read_lines(0, thread.len()).await? {
        let LineView::Envelope(envelope) = line.view() else {
            continue;
        };
        let at = envelope.timestamp.as_str();
        match &envelope.item {
            Item::EventMsg { kind, payload } => export.event(at, kind, payload),
            Item::ResponseItem { kind, payload } => export.response(at, kind, payload),
            _ => {}
        }
    }
    Ok(export.out)
}

/// The state of one export: the turn being read and the calls awaiting
/// their output.
struct Exporter {
    session: Value,
    turn: Value,
    calls: HashMap<String, (String, Map<String, Value>)>,
    out: Vec<Value>,
}

impl Exporter {
    /// One action, every key in v1's order.
    fn emit(&mut self, turn: &Value, at: &str, kind: &str, fields: [Value; 5]) {
        let [tool, command, paths, status, exit] = fields;
        self.out.push(json!({
            "schema_version": ACTION_SCHEMA_VERSION,
            "session_id": self.session,
            "turn_id": turn,
            "timestamp": at,
            "action_type": kind,
            "tool_name": tool,
            "command": command,
            "changed_paths": paths,
            "status": status,
            "exit_code": exit,
        }));
    }

    fn event(&mut self, at: &str, kind: &str, payload: &Map<String, Value>) {
        let id = payload
            .get("turn_id")
            .filter(|t| t.is_string())
            .cloned()
            .unwrap_or(Value::Null);
        let status = match kind {
            "task_started" | "turn_started" => {
                self.turn = id.clone();
                ("turn_started", "started")
            }
            "task_complete" | "turn_complete" => {
                let failed = payload.get("error").is_some_and(Value::is_object);
                (
                    "turn_completed",
                    if failed { "failed" } else { "completed" },
                )
            }
            "turn_aborted" => ("turn_aborted", "interrupted"),
            _ => return,
        };
        let none = Value::Null;
        self.emit(
            &id,
            at,
            status.0,
            [
                none.clone(),
                none.clone(),
                none.clone(),
                json!(status.1),
                none,
            ],
        );
    }

    fn response(&mut self, at: &str, kind: &str, payload: &Map<String, Value>) {
        let call_id = payload
            .get("call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let turn = self.turn.clone();
        match kind {
            "function_call" | "custom_tool_call" => {
                if let Some(call_id) = call_id {
                    self.calls
                        .insert(call_id, (kind.to_owned(), payload.clone()));
                }
            }
            "function_call_output" | "custom_tool_call_output" => {
                let Some((call_kind, call)) = call_id.and_then(|c| self.calls.remove(&c)) else {
                    return;
                };
                let output = output_text(payload.get("output"));
                let (action, fields) = completed_call(&call_kind, &call, &output);
                self.emit(&turn, at, action, fields);
            }
            "local_shell_call"
                if payload.get("status").and_then(Value::as_str) == Some("completed") =>
            {
                let command = payload
                    .get("action")
                    .and_then(|a| a.get("command"))
                    .and_then(Value::as_array)
                    .map_or(Value::Null, |args| {
                        Value::from(shell_join(
                            &args.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
                        ))
                    });
                self.emit(
                    &turn,
                    at,
                    "command",
                    [
                        json!("local_shell"),
                        command,
                        Value::Null,
                        json!("completed"),
                        Value::Null,
                    ],
                );
            }
            "web_search_call"
                if matches!(
                    payload.get("status").and_then(Value::as_str),
                    Some("completed" | "failed")
                ) =>
            {
                let query = payload
                    .get("action")
                    .and_then(|a| a.get("query").or_else(|| a.get("url")))
                    .filter(|q| q.is_string())
                    .cloned()
                    .unwrap_or(Value::Null);
                let status = payload.get("status").cloned().unwrap_or(Value::Null);
                self.emit(
                    &turn,
                    at,
                    "web_search",
                    [json!("web_search"), query, Value::Null, status, Value::Null],
                );
            }
            _ => {}
        }
    }
}

/// A tool call's output as text (a string, or the text parts of a list).
fn output_text(output: Option<&Value>) -> String {
    match output {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The action a completed call makes: its type and its
/// `[tool_name, command, changed_paths, status, exit_code]`.
fn completed_call(
    kind: &str,
    call: &Map<String, Value>,
    output: &str,
) -> (&'static str, [Value; 5]) {
    let name = call.get("name").and_then(Value::as_str).unwrap_or("");
    let namespace = call.get("namespace").and_then(Value::as_str);
    let tool = match namespace {
        Some(ns) => format!("{ns}.{name}"),
        None => name.to_owned(),
    };
    let exit = exit_code(output);
    let status = |failed: bool| json!(if failed { "failed" } else { "completed" });
    if kind == "custom_tool_call" && name == "apply_patch" {
        let input = call.get("input").and_then(Value::as_str).unwrap_or("");
        let failed =
            output.starts_with("apply_patch verification failed") || exit.is_some_and(|c| c != 0);
        let paths: Vec<Value> = patch_paths(input).into_iter().map(Value::from).collect();
        return (
            "file_change",
            [
                json!(tool),
                Value::Null,
                Value::Array(paths),
                status(failed),
                exit.map_or(Value::Null, Value::from),
            ],
        );
    }
    if kind == "function_call" && COMMAND_TOOLS.contains(&name) {
        let args: Value = call
            .get("arguments")
            .and_then(Value::as_str)
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or(Value::Null);
        let command = match args.get("cmd").or_else(|| args.get("command")) {
            Some(Value::String(cmd)) => Value::from(cmd.as_str()),
            Some(Value::Array(parts)) => Value::from(shell_join(
                &parts.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            )),
            _ => Value::Null,
        };
        let failed = exit.is_some_and(|c| c != 0);
        return (
            "command",
            [
                json!(tool),
                command,
                Value::Null,
                status(failed),
                exit.map_or(Value::Null, Value::from),
            ],
        );
    }
    let action = if name.starts_with("mcp__") || namespace.is_some_and(|ns| ns.starts_with("mcp")) {
        "mcp_tool_call"
    } else {
        "tool_call"
    };
    (
        action,
        [
            json!(tool),
            Value::Null,
            Value::Null,
            status(false),
            exit.map_or(Value::Null, Value::from),
        ],
    )
}

/// The exit code a tool output reports (`Process exited with code N`,
/// `Exit code: N`), if it does.
fn exit_code(output: &str) -> Option<i64> {
    output.lines().take(8).find_map(|line| {
        line.strip_prefix("Process exited with code ")
            .or_else(|| line.strip_prefix("Exit code: "))
            .and_then(|n| n.trim().parse().ok())
    })
}

/// The files an apply_patch text names (added, updated, deleted, moved to),
/// in order, each once.
fn patch_paths(patch: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in patch.lines() {
        let path = [
            "*** Add File: ",
            "*** Update File: ",
            "*** Delete File: ",
            "*** Move to: ",
        ]
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix));
        if let Some(path) = path.map(str::trim)
            && !out.iter().any(|p| p == path)
        {
            out.push(path.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_patch_paths_are_read_from_tool_text() {
        assert_eq!(
            exit_code("Chunk ID: x\nWall time: 0\nProcess exited with code 2\n"),
            Some(2)
        );
        assert_eq!(exit_code("Exit code: 0\nWall time: 0 seconds\n"), Some(0));
        assert_eq!(exit_code("no code here"), None);
        assert_eq!(
            patch_paths(
                "*** Begin Patch\n*** Update File: a.txt\n*** Move to: b.txt\n*** Add File: c\n*** Update File: a.txt\n*** End Patch"
            ),
            vec!["a.txt", "b.txt", "c"]
        );
    }
}
