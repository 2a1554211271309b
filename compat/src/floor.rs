//! The history-mode floor: which modes and operations a caller supports
//! (ROLLOUT-FORMAT.md §5.3–§5.5, CODEX-0.169.md §3), as a value every
//! operation on a thread's content is checked against.
//!
//! A thread's mode comes from its rollout file's first session_meta, never
//! from Codex's SQLite cache. A mode other than `legacy` or `paginated`
//! fails closed under every floor, for every operation but listing (where
//! `full` shows the thread as unreadable and `codex-0.169` omits it, as
//! Codex without a database row does).

use std::fmt;
use std::str::FromStr;

use crate::error::{CodexError, Result};
use crate::line::HistoryMode;

/// What a caller supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Floor {
    /// spool's default: legacy and paginated fully supported (items of
    /// legacy threads are projected from their legacy events).
    #[default]
    Full,
    /// Exactly what Codex 0.169 allows (e.g. items of a legacy thread and
    /// revert of a legacy thread are refused).
    Codex0169,
    /// A release that knows the field but not paginated history: list and
    /// metadata reads of paginated threads only (§5.4).
    ReleaseN,
}

/// An operation on a thread, as the floor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Appear in a thread listing.
    List,
    /// Read the thread's metadata (`thread/read` without turns).
    ReadMetadata,
    /// Read the whole history (`thread/read` with turns).
    Read,
    /// Page through turns.
    Turns,
    /// Page through items.
    Items,
    /// Resume (reopen for writing).
    Resume,
    /// Append records.
    Append,
    /// Fork into a new thread.
    Fork,
    /// Revert to an earlier turn with a new segment (paginated's way).
    Revert,
    /// Roll back turns with a `thread_rolled_back` event (legacy's way).
    Rollback,
    /// Migrate legacy to paginated.
    Migrate,
    /// Create a new thread of this mode.
    Create,
}

impl Operation {
    /// The operation's name in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Operation::List => "list",
            Operation::ReadMetadata => "read metadata",
            Operation::Read => "read",
            Operation::Turns => "turns",
            Operation::Items => "items",
            Operation::Resume => "resume",
            Operation::Append => "append",
            Operation::Fork => "fork",
            Operation::Revert => "revert",
            Operation::Rollback => "rollback",
            Operation::Migrate => "migrate",
            Operation::Create => "create",
        }
    }
}

impl Floor {
    /// Every floor, for tables and tests.
    pub const ALL: [Floor; 3] = [Floor::Full, Floor::Codex0169, Floor::ReleaseN];

    /// Whether `operation` on thread `id` of `mode` is allowed; the error
    /// says which floor refused it and why.
    pub fn check(self, operation: Operation, mode: &HistoryMode, id: &str) -> Result<()> {
        let refuse = |mode: &'static str, detail: &'static str| {
            Err(CodexError::Unsupported {
                detail,
                floor: self.to_string(),
                operation: operation.name(),
                mode,
                id: id.to_owned(),
            })
        };
        match mode {
            HistoryMode::Unknown(value) => {
                if operation == Operation::List {
                    return Ok(());
                }
                Err(CodexError::UnknownHistoryMode {
                    path: id.into(),
                    value: value.to_string(),
                })
            }
            HistoryMode::Legacy => match (self, operation) {
                (_, Operation::Revert) => {
                    refuse("legacy", "thread/revert only supports paginated threads")
                }
                (Floor::Codex0169 | Floor::ReleaseN, Operation::Items) => {
                    refuse("legacy", "thread/items/list is not supported yet")
                }
                _ => Ok(()),
            },
            HistoryMode::Paginated => match (self, operation) {
                (_, Operation::Rollback) => refuse(
                    "paginated",
                    "paginated threads do not support thread/rollback",
                ),
                (Floor::ReleaseN, Operation::List | Operation::ReadMetadata) => Ok(()),
                (Floor::ReleaseN, _) => {
                    refuse("paginated", "paginated_threads is not supported yet")
                }
                _ => Ok(()),
            },
        }
    }

    /// Whether a listing shows a thread whose mode is unknown (marked
    /// unreadable): `full` does, so a user sees it without risking it;
    /// the others omit it, as Codex does.
    #[must_use]
    pub fn lists_unknown_modes(self) -> bool {
        self == Floor::Full
    }
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Floor::Full => "full",
            Floor::Codex0169 => "codex-0.169",
            Floor::ReleaseN => "release-n",
        })
    }
}

impl FromStr for Floor {
    type Err = CodexError;

    fn from_str(s: &str) -> Result<Floor> {
        Floor::ALL
            .into_iter()
            .find(|f| f.to_string() == s)
            .ok_or_else(|| {
                CodexError::Invalid(format!(
                    "unknown floor {s:?}: one of full, codex-0.169, release-n"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const OPS: [Operation; 12] = [
        Operation::List,
        Operation::ReadMetadata,
        Operation::Read,
        Operation::Turns,
        Operation::Items,
        Operation::Resume,
        Operation::Append,
        Operation::Fork,
        Operation::Revert,
        Operation::Rollback,
        Operation::Migrate,
        Operation::Create,
    ];

    /// The allowed operations of `floor` on `mode`, as a string of initials.
    fn allowed(floor: Floor, mode: &HistoryMode) -> Vec<&'static str> {
        OPS.iter()
            .filter(|op| floor.check(**op, mode, "t").is_ok())
            .map(|op| op.name())
            .collect()
    }

    #[test]
    fn the_operation_matrix_of_each_floor() {
        let legacy = HistoryMode::Legacy;
        let paginated = HistoryMode::Paginated;
        let all_but = |skip: &[&str]| -> Vec<&'static str> {
            OPS.iter()
                .map(|op| op.name())
                .filter(|n| !skip.contains(n))
                .collect()
        };
        assert_eq!(allowed(Floor::Full, &legacy), all_but(&["revert"]));
        assert_eq!(allowed(Floor::Full, &paginated), all_but(&["rollback"]));
        // §8 case 29 and CODEX-0.169.md §3: items and revert of legacy threads.
        assert_eq!(
            allowed(Floor::Codex0169, &legacy),
            all_but(&["items", "revert"])
        );
        assert_eq!(
            allowed(Floor::Codex0169, &paginated),
            all_but(&["rollback"])
        );
        // §8 case 28: release-N lists and reads metadata of paginated threads only.
        assert_eq!(
            allowed(Floor::ReleaseN, &paginated),
            vec!["list", "read metadata"]
        );
        let e = Floor::ReleaseN
            .check(Operation::Turns, &paginated, "t")
            .unwrap_err();
        assert_eq!(e.code(), "unsupported_by_floor");
        assert!(
            e.to_string()
                .contains("paginated_threads is not supported yet"),
            "{e}"
        );
        // Unknown modes fail closed everywhere but in a listing.
        for value in [
            Value::from(""),
            Value::from("Paginated"),
            Value::Null,
            Value::from(3),
            Value::from("quantum_v9"),
        ] {
            let mode = HistoryMode::Unknown(value);
            for floor in Floor::ALL {
                assert_eq!(allowed(floor, &mode), vec!["list"]);
                let e = floor.check(Operation::Read, &mode, "t").unwrap_err();
                assert_eq!(e.code(), "unknown_history_mode");
            }
        }
        assert!(Floor::Full.lists_unknown_modes());
        assert!(!Floor::Codex0169.lists_unknown_modes());
        for floor in Floor::ALL {
            assert_eq!(floor.to_string().parse::<Floor>().unwrap(), floor);
        }
        assert!("codex".parse::<Floor>().is_err());
    }
}
