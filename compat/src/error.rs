//! What can go wrong reading or writing Codex history, as one typed error.
//!
//! Every variant names the file (and line or byte offset where there is
//! one) and says what to do, and carries a stable [`code`](CodexError::code)
//! for machine-readable output (`spool … --json`). Outcomes that Codex
//! itself reports keep Codex's wording inside the message, so a user can
//! search for either.

use std::path::PathBuf;
use std::sync::Arc;

/// Results of spool-compat.
pub type Result<T, E = CodexError> = std::result::Result<T, E>;

/// An error reading or writing Codex history.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodexError {
    /// The log layer below failed (I/O, a lock, a closed log, …).
    #[error(transparent)]
    Spool(#[from] spool_engine::Error),

    /// A file system operation on the CODEX_HOME failed.
    #[error("I/O error during {op} on {path}: {source}; check the path and its permissions")]
    Io {
        /// What spool was doing.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// No rollout file names this thread.
    #[error("no rollout found for thread id {id} in {home}; check the id, or `spool ls` the home")]
    NotFound {
        /// The thread asked for.
        id: String,
        /// The CODEX_HOME searched.
        home: PathBuf,
    },

    /// The thread's header names a history mode spool does not know:
    /// every operation on its content fails closed (never read as legacy).
    #[error(
        "{path}: invalid session metadata history_mode: {value}; spool reads only \"legacy\" and \"paginated\" and will not guess: use the Codex version that wrote it"
    )]
    UnknownHistoryMode {
        /// The rollout file.
        path: PathBuf,
        /// The value found, as JSON text.
        value: String,
    },

    /// An item line comes before any session_meta.
    #[error(
        "rollout at {path} does not start with session metadata (line {line} is an item); it cannot be resumed or listed"
    )]
    NoSessionMeta {
        /// The rollout file.
        path: PathBuf,
        /// The 1-based line of the first item.
        line: u64,
    },

    /// No session_meta line at all (blank, garbage, or a pre-2025-09 file).
    #[error(
        "rollout at {path} is empty: no session metadata line Codex can read (blank, damaged, or written before 2025-09-09)"
    )]
    Empty {
        /// The rollout file.
        path: PathBuf,
    },

    /// The floor the caller declared does not support this operation on
    /// this thread's mode.
    #[error(
        "{operation} is not supported on {mode} thread {id} under the {floor} floor ({detail}); choose a floor that supports it, or migrate the thread"
    )]
    Unsupported {
        /// Why, in Codex's words where Codex refuses the same way.
        detail: &'static str,
        /// The floor.
        floor: String,
        /// The operation refused.
        operation: &'static str,
        /// The thread's mode.
        mode: &'static str,
        /// The thread.
        id: String,
    },

    /// A paginated rollout's last record carries no ordinal: Codex refuses
    /// to continue it, and so does spool.
    #[error(
        "final paginated rollout record at {path} (line {line}) is missing an ordinal; the file was edited or written by a program that is not Codex: repair it before appending"
    )]
    MissingOrdinal {
        /// The rollout file.
        path: PathBuf,
        /// The 1-based line of that record.
        line: u64,
    },

    /// A paginated sub-agent rollout ends before its own history starts.
    #[error(
        "paginated subagent rollout {path} is incomplete: its history starts at ordinal {start} but the last record has {last:?}"
    )]
    IncompleteSubagent {
        /// The rollout file.
        path: PathBuf,
        /// `subagent_history_start_ordinal`.
        start: u64,
        /// The last ordinal found.
        last: Option<u64>,
    },

    /// A `history_base` names a rollout that is not in the home.
    #[error(
        "{path}: history_base names rollout {base}, which is not in {home}; restore that file (it may have been deleted or moved)"
    )]
    MissingBase {
        /// The rollout file whose header has the base.
        path: PathBuf,
        /// The rollout id it names.
        base: String,
        /// The CODEX_HOME.
        home: PathBuf,
    },

    /// A `history_base` byte offset is not where a line of the base starts.
    #[error(
        "{path}: history_base.end_byte_offset {offset} is not a line boundary of {base_path} ({len} bytes of complete lines); the base file changed after the fork"
    )]
    BaseOffset {
        /// The rollout file whose header has the base.
        path: PathBuf,
        /// The base rollout.
        base_path: PathBuf,
        /// `end_byte_offset`.
        offset: u64,
        /// The bytes of complete lines in the base.
        len: u64,
    },

    /// The lines before the cut disagree with `end_ordinal_exclusive`.
    #[error(
        "{path}: history_base cuts {base_path} after {lines} lines (ordinal {next_ordinal:?} next) at byte {offset}, but end_ordinal_exclusive is {end_ordinal_exclusive}; the base file changed after the fork"
    )]
    LineageMismatch {
        /// The rollout file whose header has the base.
        path: PathBuf,
        /// The base rollout.
        base_path: PathBuf,
        /// `end_byte_offset`.
        offset: u64,
        /// The cut, in lines of the composed history.
        lines: u64,
        /// The ordinal after the last one before the cut, if any.
        next_ordinal: Option<u64>,
        /// `end_ordinal_exclusive`.
        end_ordinal_exclusive: u64,
    },

    /// `history_base` links loop back on themselves.
    #[error("{path}: the history_base chain loops; the headers were edited by hand")]
    LineageCycle {
        /// A rollout file on the loop.
        path: PathBuf,
    },

    /// Another process holds the thread's writer lock.
    #[error("Conflict: thread {id} already has an active writer (lock {lock}); close it first")]
    Conflict {
        /// The thread.
        id: String,
        /// The lock file.
        lock: PathBuf,
    },

    /// A `.zst` rollout that does not decompress.
    #[error("{path} is not a readable zstd file: {reason}; restore it from a backup")]
    Zstd {
        /// The compressed file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },

    /// A decompressed rollout above the size limit.
    #[error(
        "{path} decompresses to more than {max} bytes; raise CodexHomeConfig::max_decompressed_bytes to read it"
    )]
    TooLarge {
        /// The compressed file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },

    /// A rollout holds bytes that are not UTF-8: Codex 0.169 fails its
    /// full load on them, and so does spool under the floors that mirror
    /// Codex (`full` reads on and reports the line).
    #[error(
        "{path}: stream did not contain valid UTF-8 (line at byte {offset}); Codex cannot load this thread: read it with the full floor, which skips the line"
    )]
    InvalidUtf8 {
        /// The rollout file.
        path: PathBuf,
        /// Where the offending line starts.
        offset: u64,
    },

    /// A recorder's queue is full (`try_record`): the writer is behind.
    #[error("the recorder's queue of {capacity} batches is full; wait (record) or flush")]
    Busy {
        /// The queue's capacity.
        capacity: usize,
    },

    /// A recorder that failed before, or was shut down.
    #[error("the recorder stopped: {0}")]
    Stopped(String),

    /// A cursor that is not one spool gave out (Codex's own cursor strings
    /// included: spool's cursors are opaque).
    #[error("invalid cursor: {cursor}; pass back a nextCursor from an earlier page, or none")]
    InvalidCursor {
        /// The cursor given.
        cursor: String,
    },

    /// A request spool will not write (a mode other than legacy/paginated,
    /// a line that is not an object, …).
    #[error("{0}")]
    Invalid(String),
}

impl CodexError {
    /// A stable, machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            CodexError::Spool(e) => match e {
                spool_engine::Error::Corrupt { .. } => "corrupt",
                spool_engine::Error::Locked { .. } => "locked",
                spool_engine::Error::Conflict { .. } => "conflict",
                spool_engine::Error::NotFound { .. } => "not_found",
                spool_engine::Error::NoSpace { .. } => "no_space",
                spool_engine::Error::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::PermissionDenied =>
                {
                    "permission_denied"
                }
                _ => "io",
            },
            CodexError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                "permission_denied"
            }
            CodexError::Io { .. } | CodexError::Zstd { .. } => "io",
            CodexError::NotFound { .. } => "not_found",
            CodexError::UnknownHistoryMode { .. } => "unknown_history_mode",
            CodexError::NoSessionMeta { .. } | CodexError::Empty { .. } => "no_session_meta",
            CodexError::Unsupported { .. } => "unsupported_by_floor",
            CodexError::MissingOrdinal { .. } | CodexError::IncompleteSubagent { .. } => {
                "bad_ordinals"
            }
            CodexError::MissingBase { .. }
            | CodexError::BaseOffset { .. }
            | CodexError::LineageMismatch { .. }
            | CodexError::LineageCycle { .. } => "bad_lineage",
            CodexError::Conflict { .. } => "conflict",
            CodexError::TooLarge { .. } => "too_large",
            CodexError::InvalidCursor { .. } => "invalid_cursor",
            CodexError::Busy { .. } => "busy",
            CodexError::Stopped(_) => "stopped",
            CodexError::InvalidUtf8 { .. } => "invalid_utf8",
            CodexError::Invalid(_) => "invalid",
        }
    }

    /// An I/O failure of `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CodexError::Io {
            op,
            path: path.into(),
            source: Arc::new(source),
        }
    }
}
