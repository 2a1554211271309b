//! Small Codex threads for people who test tools on Codex history: the job
//! of Codex's own `create_fake_rollout` family, on spool's writer, so a
//! fixture is byte-for-byte what Codex would write for the same thread.
//!
//! ```no_run
//! # async fn demo() -> spool_compat::Result<()> {
//! use spool_compat::{CodexHome, Fixture, HistoryMode};
//! let home = CodexHome::new("/tmp/codex-home");
//! let (id, path) = Fixture::new(HistoryMode::Paginated)
//!     .turn("list the files", "Here they are.")
//!     .with_token_usage()
//!     .write(&home)
//!     .await?;
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::Result;
use crate::home::CodexHome;
use crate::line::HistoryMode;
use crate::writer::{NewLine, NewThread, ThreadWriter, WriterOptions};

/// One user turn of a fixture.
#[derive(Clone, Debug, PartialEq)]
struct FixtureTurn {
    user: String,
    text_elements: Value,
    reply: String,
}

/// A thread to write.
#[derive(Clone, Debug)]
pub struct Fixture {
    thread: NewThread,
    turns: Vec<FixtureTurn>,
    token_usage: bool,
    options: WriterOptions,
}

impl Fixture {
    /// A minimal thread of `mode` (legacy or paginated) in `/tmp/project`,
    /// from the `cli` source with the `openai` provider.
    #[must_use]
    pub fn new(mode: HistoryMode) -> Fixture {
        let mut thread = NewThread::new(mode, "/tmp/project");
        thread.originator = "codex_cli_rs".into();
        thread.cli_version = "0.169.0".into();
        thread.model_provider = Some("openai".into());
        Fixture {
            thread,
            turns: Vec::new(),
            token_usage: false,
            options: WriterOptions::default(),
        }
    }

    /// Uses this thread id.
    #[must_use]
    pub fn id(mut self, id: Uuid) -> Fixture {
        self.thread.id = Some(id);
        self
    }

    /// An explicit `source` (`"exec"`, `{"subagent":"review"}`, …).
    #[must_use]
    pub fn source(mut self, source: Value) -> Fixture {
        self.thread.source = source;
        self
    }

    /// A sub-agent thread: its `session_id` and `parent_thread_id`.
    #[must_use]
    pub fn parent(mut self, session_id: Uuid, parent_thread_id: Uuid) -> Fixture {
        self.thread.session_id = Some(session_id);
        self.thread.parent_thread_id = Some(parent_thread_id);
        self
    }

    /// Writer options (clock, zone, floor).
    #[must_use]
    pub fn options(mut self, options: WriterOptions) -> Fixture {
        self.options = options;
        self
    }

    /// A completed turn: the user says `user`, the agent answers `reply`.
    #[must_use]
    pub fn turn(mut self, user: &str, reply: &str) -> Fixture {
        self.turns.push(FixtureTurn {
            user: user.into(),
            text_elements: json!([]),
            reply: reply.into(),
        });
        self
    }

    /// Text elements (`[{"byte_range":{"start","end"},"placeholder"}]`) on
    /// the last turn's user message.
    #[must_use]
    pub fn text_elements(mut self, elements: Value) -> Fixture {
        if let Some(turn) = self.turns.last_mut() {
            turn.text_elements = elements;
        }
        self
    }

    /// A `token_count` event in every turn.
    #[must_use]
    pub fn with_token_usage(mut self) -> Fixture {
        self.token_usage = true;
        self
    }

    /// Writes the thread into `home`; returns its id and file.
    pub async fn write(self, home: &CodexHome) -> Result<(Uuid, PathBuf)> {
        let mut writer = ThreadWriter::create(home, &self.thread, self.options.clone()).await?;
        let id = *writer.id();
        let paginated = self.thread.mode == HistoryMode::Paginated;
        for (n, turn) in self.turns.iter().enumerate() {
            let turn_id = Uuid::now_v7().to_string();
            let lines = turn_lines(
                &id.to_string(),
                &turn_id,
                n,
                turn,
                paginated,
                self.token_usage,
            )?;
            writer.append(&lines).await?;
        }
        let path = writer.path().to_owned();
        writer.close().await?;
        Ok((id, path))
    }
}

/// The lines of one turn, in the order Codex writes them.
fn turn_lines(
    thread: &str,
    turn_id: &str,
    n: usize,
    turn: &FixtureTurn,
    paginated: bool,
    token_usage: bool,
) -> Result<Vec<NewLine>> {
    let started = 1_786_612_502 + 10 * n as u64;
    let ms = started * 1000;
    let mut lines = vec![
        NewLine::new(
            "event_msg",
            json!({"type": "task_started", "turn_id": turn_id, "root_turn_id": turn_id, "started_at": started, "model_context_window": 258_400, "collaboration_mode_kind": "default"}),
        )?,
        NewLine::new(
            "response_item",
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": turn.user}]}),
        )?,
    ];
    if paginated {
        lines.push(NewLine::new(
            "event_msg",
            json!({"type": "item_completed", "thread_id": thread, "turn_id": turn_id, "item": {"type": "UserMessage", "id": Uuid::now_v7().to_string(), "content": [{"type": "text", "text": turn.user, "text_elements": turn.text_elements}]}, "started_at_ms": ms, "completed_at_ms": ms}),
        )?);
    } else {
        lines.push(NewLine::new(
            "event_msg",
            json!({"type": "user_message", "message": turn.user, "images": [], "local_images": [], "audio": [], "local_audio": [], "text_elements": turn.text_elements}),
        )?);
    }
    lines.push(NewLine::new(
        "response_item",
        json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": turn.reply}], "phase": "final_answer"}),
    )?);
    if paginated {
        lines.push(NewLine::new(
            "event_msg",
            json!({"type": "item_completed", "thread_id": thread, "turn_id": turn_id, "item": {"type": "AgentMessage", "id": format!("msg_{}", Uuid::now_v7().simple()), "content": [{"type": "Text", "text": turn.reply}], "phase": "final_answer"}, "started_at_ms": ms + 1, "completed_at_ms": ms + 1}),
        )?);
    } else {
        lines.push(NewLine::new(
            "event_msg",
            json!({"type": "agent_message", "message": turn.reply, "phase": "final_answer", "memory_citation": null}),
        )?);
    }
    if token_usage {
        let usage = json!({"input_tokens": 1234, "cached_input_tokens": 1000, "cache_write_input_tokens": 0, "output_tokens": 56, "reasoning_output_tokens": 12, "total_tokens": 1290});
        lines.push(NewLine::new(
            "event_msg",
            json!({"type": "token_count", "info": {"total_token_usage": usage, "last_token_usage": usage, "model_context_window": 258_400}, "rate_limits": null}),
        )?);
    }
    lines.push(NewLine::new(
        "event_msg",
        json!({"type": "task_complete", "root_turn_id": turn_id, "turn_id": turn_id, "last_agent_message": turn.reply, "started_at": started, "completed_at": started + 1, "duration_ms": 1000}),
    )?);
    Ok(lines)
}
