//! How a command fails: one line saying what, where and what to do, a
//! stable code for `--json` (`{"error": {"code", "message"}}`), and an exit
//! code (1: the work found a problem, 2: usage or I/O error).

use std::fmt;

/// A command's failure.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The stable code (`unknown_history_mode`, `not_found`, `divergent`, …).
    pub(crate) code: &'static str,
    /// What failed, where, and what to do.
    pub(crate) message: String,
    /// The process exit code.
    pub(crate) exit: u8,
    /// Whether the command already printed its report (with `--json`, the
    /// report then stands for the error: one JSON document per run).
    pub(crate) reported: bool,
}

impl Failure {
    /// A usage or I/O failure (exit 2).
    pub(crate) fn usage(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            exit: 2,
            reported: false,
        }
    }

    /// The work found a problem (exit 1).
    pub(crate) fn found(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            exit: 1,
            reported: false,
        }
    }

    /// The work found a problem its printed report already shows (exit 1).
    pub(crate) fn reported(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            reported: true,
            ..Failure::found(code, message)
        }
    }

    /// The failure as `--json` prints it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<spool_compat::CodexError> for Failure {
    fn from(e: spool_compat::CodexError) -> Failure {
        let exit = match e.code() {
            "unknown_history_mode"
            | "unsupported_by_floor"
            | "bad_ordinals"
            | "bad_lineage"
            | "corrupt"
            | "conflict"
            | "invalid_utf8" => 1,
            _ => 2,
        };
        Failure {
            code: e.code(),
            message: e.to_string(),
            exit,
            reported: false,
        }
    }
}

impl From<spool_engine::Error> for Failure {
    fn from(e: spool_engine::Error) -> Failure {
        spool_compat::CodexError::from(e).into()
    }
}
