//! A thread's turns, projected from its history the way Codex 0.169 shows
//! them (ROLLOUT-FORMAT.md §4.7, §6.6; CODEX-0.169.md §3).
//!
//! A turn runs from `task_started` to `task_complete` (failed when that
//! carries an `error`) or `turn_aborted` (interrupted). Its items come
//! from `item_completed` events in paginated threads, and from the legacy
//! UI events in legacy threads (with Codex's synthetic `item-N` ids); each
//! mode ignores the other's records, as Codex does. `thread_rolled_back`
//! drops the newest turns. The projection is a pure function of the lines,
//! so it needs none of Codex's SQLite files: spool reads the file, where
//! Codex shows 0 turns until a resume rebuilds its projection.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::line::{HistoryMode, Item, LineView, RolloutLine};
use crate::view::item::{from_legacy_event, from_turn_item};

/// One item of a turn.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnItem {
    /// The v2 ThreadItem, without timing fields.
    pub item: Value,
    /// `started_at_ms` of its event (paginated), or null.
    pub started_at_ms: Value,
    /// `completed_at_ms` of its event (paginated), or null.
    pub completed_at_ms: Value,
    /// The history seq of the line it came from.
    pub seq: u64,
}

impl TurnItem {
    /// The item with `startedAtMs` and `completedAtMs`, as a turn shows it.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut item = self.item.clone();
        if let Value::Object(map) = &mut item {
            map.insert("startedAtMs".into(), self.started_at_ms.clone());
            map.insert("completedAtMs".into(), self.completed_at_ms.clone());
        }
        item
    }

    fn kind(&self) -> &str {
        self.item.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

/// A turn's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnStatus {
    /// Started, not finished.
    InProgress,
    /// Finished.
    Completed,
    /// Finished with an error.
    Failed,
    /// Aborted.
    Interrupted,
}

impl TurnStatus {
    fn name(self) -> &'static str {
        match self {
            TurnStatus::InProgress => "inProgress",
            TurnStatus::Completed => "completed",
            TurnStatus::Failed => "failed",
            TurnStatus::Interrupted => "interrupted",
        }
    }
}

/// Which items a turn shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemsView {
    /// Every item.
    Full,
    /// The first user message and the final agent message.
    Summary,
    /// None.
    NotLoaded,
}

impl ItemsView {
    fn name(self) -> &'static str {
        match self {
            ItemsView::Full => "full",
            ItemsView::Summary => "summary",
            ItemsView::NotLoaded => "notLoaded",
        }
    }
}

/// One turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// `turn_id`.
    pub id: String,
    /// `root_turn_id` (null when the file has none).
    pub root_turn_id: Value,
    /// Its items, in history order.
    pub items: Vec<TurnItem>,
    /// Its state.
    pub status: TurnStatus,
    /// The error of a failed turn, in v2 shape.
    pub error: Value,
    /// `started_at` (epoch seconds).
    pub started_at: Value,
    /// `completed_at` (epoch seconds).
    pub completed_at: Value,
    /// `duration_ms`.
    pub duration_ms: Value,
    /// The history seq of its first line.
    pub seq: u64,
}

impl Turn {
    /// The turn as app-server v2 serves it.
    #[must_use]
    pub fn to_json(&self, view: ItemsView) -> Value {
        let items: Vec<Value> = match view {
            ItemsView::Full => self.items.iter().map(TurnItem::to_json).collect(),
            ItemsView::Summary => self.summary().into_iter().map(TurnItem::to_json).collect(),
            ItemsView::NotLoaded => Vec::new(),
        };
        json!({
            "id": self.id,
            "rootTurnId": self.root_turn_id,
            "items": items,
            "itemsView": view.name(),
            "status": self.status.name(),
            "error": self.error,
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
            "durationMs": self.duration_ms,
        })
    }

    /// The first user message and the last agent message.
    #[must_use]
    pub fn summary(&self) -> Vec<&TurnItem> {
        let first = self.items.iter().find(|i| i.kind() == "userMessage");
        let last = self.items.iter().rev().find(|i| i.kind() == "agentMessage");
        first.into_iter().chain(last).collect()
    }

    fn new(id: String, seq: u64) -> Turn {
        Turn {
            id,
            root_turn_id: Value::Null,
            items: Vec::new(),
            status: TurnStatus::InProgress,
            error: Value::Null,
            started_at: Value::Null,
            completed_at: Value::Null,
            duration_ms: Value::Null,
            seq,
        }
    }
}

/// Projects `lines` (a whole history, each with its seq) of a thread in
/// `mode` into turns.
#[must_use]
pub fn project(mode: &HistoryMode, lines: &[(u64, RolloutLine)]) -> Vec<Turn> {
    let mut projection = Projection {
        paginated: *mode == HistoryMode::Paginated,
        turns: Vec::new(),
        by_id: HashMap::new(),
        next_item: 0,
    };
    for (seq, line) in lines {
        if let LineView::Envelope(envelope) = line.view()
            && let Item::EventMsg { kind, payload } = &envelope.item
        {
            projection.event(*seq, kind, payload);
        }
    }
    projection.turns
}

struct Projection {
    paginated: bool,
    turns: Vec<Turn>,
    by_id: HashMap<String, usize>,
    next_item: u64,
}

impl Projection {
    fn event(&mut self, seq: u64, kind: &str, payload: &Map<String, Value>) {
        let get = |key: &str| payload.get(key).cloned().unwrap_or(Value::Null);
        let turn_id = payload.get("turn_id").and_then(Value::as_str);
        match kind {
            "task_started" | "turn_started" => {
                let Some(id) = turn_id else { return };
                let index = self.turn(id, seq);
                let turn = &mut self.turns[index];
                turn.root_turn_id = get("root_turn_id");
                turn.started_at = get("started_at");
            }
            "task_complete" | "turn_complete" => {
                let Some(index) = turn_id.and_then(|id| self.by_id.get(id).copied()) else {
                    return;
                };
                let turn = &mut self.turns[index];
                turn.completed_at = get("completed_at");
                turn.duration_ms = get("duration_ms");
                match payload.get("error") {
                    Some(error @ Value::Object(_)) => {
                        turn.status = TurnStatus::Failed;
                        turn.error = json!({
                            "message": error.get("message").cloned().unwrap_or(Value::Null),
                            "codexErrorInfo": error.get("codex_error_info").cloned().unwrap_or(Value::Null),
                            "additionalDetails": Value::Null,
                            "misalignment": Value::Null,
                        });
                    }
                    _ => turn.status = TurnStatus::Completed,
                }
            }
            "turn_aborted" => {
                if let Some(index) = turn_id.and_then(|id| self.by_id.get(id).copied()) {
                    let turn = &mut self.turns[index];
                    turn.status = TurnStatus::Interrupted;
                    turn.completed_at = get("completed_at");
                    turn.duration_ms = get("duration_ms");
                }
            }
            "thread_rolled_back" => {
                let n = payload
                    .get("num_turns")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let keep = self
                    .turns
                    .len()
                    .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
                for dropped in self.turns.drain(keep..) {
                    self.by_id.remove(&dropped.id);
                }
            }
            "item_completed" if self.paginated => {
                let (Some(id), Some(Value::Object(item))) = (turn_id, payload.get("item")) else {
                    return;
                };
                let index = self.turn(id, seq);
                self.turns[index].items.push(TurnItem {
                    item: from_turn_item(item),
                    started_at_ms: get("started_at_ms"),
                    completed_at_ms: get("completed_at_ms"),
                    seq,
                });
            }
            _ if !self.paginated => {
                let mut counter = self.next_item;
                let item = from_legacy_event(payload, &mut || {
                    counter += 1;
                    format!("item-{counter}")
                });
                self.next_item = counter;
                let Some(item) = item else { return };
                let Some(index) = self.current() else { return };
                self.turns[index].items.push(TurnItem {
                    item,
                    started_at_ms: Value::Null,
                    completed_at_ms: Value::Null,
                    seq,
                });
            }
            _ => {}
        }
    }

    /// The turn `id`, made if new.
    fn turn(&mut self, id: &str, seq: u64) -> usize {
        if let Some(index) = self.by_id.get(id) {
            return *index;
        }
        self.turns.push(Turn::new(id.to_owned(), seq));
        self.by_id.insert(id.to_owned(), self.turns.len() - 1);
        self.turns.len() - 1
    }

    /// The turn legacy events belong to: the newest.
    fn current(&self) -> Option<usize> {
        self.turns.len().checked_sub(1)
    }
}
