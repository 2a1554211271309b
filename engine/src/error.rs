//! The one error type of the engine and of every backend.
//!
//! Each variant is something a caller can act on, and its `Display` says what
//! happened and what to do next. I/O errors are classified by
//! [`std::io::ErrorKind`], never by their text.

use std::io;
use std::sync::Arc;

use crate::{CodecKind, LogId, Seq};

/// A specialised `Result` for spool operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in spool.
/// `Error` is `Clone` (I/O errors are shared behind an `Arc`) because one
/// failed group commit answers every append that was part of it.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage below failed an operation. The log is poisoned if this
    /// happened while writing or syncing.
    #[error(
        "I/O error during {op}: {source}; check the device and permissions, then reopen the log"
    )]
    Io {
        /// What spool was doing.
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<io::Error>,
    },

    /// The device is full. Nothing acknowledged is lost; the log is poisoned.
    #[error("no space left on the device during {op}; free space, then reopen the log")]
    NoSpace {
        /// What spool was doing.
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<io::Error>,
    },

    /// Stored bytes failed verification before the durable end of the log.
    /// Nothing was truncated; open in salvage mode or run `spool repair
    /// --salvage` to cut the log here.
    #[error(
        "corrupt data in {object} at byte offset {offset}: {kind}; run `spool verify` for a full report, or repair with --salvage to cut the log here"
    )]
    Corrupt {
        /// The file, segment or stream that holds the damage.
        object: String,
        /// Byte offset of the damaged frame or line inside `object`.
        offset: u64,
        /// What was wrong.
        kind: CorruptKind,
    },

    /// Data written by a format version this build does not read.
    #[error("{what} has format version {found}, this build reads up to {supported}; upgrade spool")]
    UnsupportedVersion {
        /// What carried the version (a cursor, a segment, …).
        what: &'static str,
        /// The version found.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },

    /// A record is larger than the log's `max_record_bytes`. Nothing was written.
    #[error(
        "record of {len} bytes exceeds the limit of {max} bytes; split it or raise LogConfig::max_record_bytes"
    )]
    RecordTooLarge {
        /// The record's payload length.
        len: usize,
        /// The configured limit.
        max: usize,
    },

    /// An atomic batch has more records than the log allows. Nothing was written.
    #[error(
        "batch of {records} records exceeds the limit of {max}; split it or raise LogConfig::max_batch_records"
    )]
    BatchTooLarge {
        /// Records in the batch.
        records: usize,
        /// The configured limit.
        max: usize,
    },

    /// An atomic batch is larger than the backend stores in one piece (a
    /// JetStream message is bounded by the server's `max_payload`). Nothing
    /// was written.
    #[error(
        "batch of {bytes} bytes (as frames) exceeds the backend's limit of {max} bytes for one atomic append; split it into smaller appends"
    )]
    BatchBytesTooLarge {
        /// The batch's size as encoded frames.
        bytes: usize,
        /// The backend's `Capabilities::max_batch_bytes`.
        max: usize,
    },

    /// The payload is not something this backend can store (for example a
    /// JSONL log needs one JSON value without a newline). Nothing was written.
    #[error("payload rejected by the backend: {reason}")]
    InvalidPayload {
        /// Why it was rejected.
        reason: String,
    },

    /// An expected-seq append found the log somewhere else: another append
    /// (maybe from another writer) got there first. Nothing was written.
    #[error(
        "append expected the log to end at seq {expected} but it ends at {actual}; re-read the log and retry"
    )]
    Conflict {
        /// The next seq the caller expected.
        expected: Seq,
        /// The log's actual next seq.
        actual: Seq,
    },

    /// A cursor string could not be decoded.
    #[error("invalid cursor: {problem}; start again from a cursor the log handed out")]
    InvalidCursor {
        /// What was wrong with it.
        problem: CursorProblem,
    },

    /// A cursor was handed out by a different log.
    #[error("cursor belongs to another log, not {log}; use a cursor from this log")]
    ForeignCursor {
        /// The log it was presented to.
        log: LogId,
    },

    /// A seq (from a cursor or a `tail` start) lies past the end of the log.
    #[error("seq {seq} is past the end of the log (next seq {end}); start at or before {end}")]
    SeqPastEnd {
        /// The seq asked for.
        seq: Seq,
        /// The log's next seq when it was checked.
        end: Seq,
    },

    /// A typed event could not be encoded or decoded.
    #[error("{codec} {op} failed: {message}")]
    Codec {
        /// The codec in use.
        codec: CodecKind,
        /// `"encode"` or `"decode"`.
        op: &'static str,
        /// The codec's own message.
        message: String,
    },

    /// A configuration value is out of range.
    #[error("invalid configuration: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },

    /// A log id breaks the naming rule (1–128 characters of `[A-Za-z0-9_-]`).
    #[error("invalid log id {id:?}: {reason}; use 1-128 characters of A-Z, a-z, 0-9, '_' and '-'")]
    InvalidLogId {
        /// The rejected id, shortened if very long.
        id: String,
        /// What rule it broke.
        reason: &'static str,
    },

    /// An earlier write or sync failed, so the log refuses writes: retrying an
    /// fsync after a failure can report success for lost data. Records
    /// acknowledged before the failure stay readable.
    #[error("log is poisoned by an earlier failed {cause}; reopen the log to recover")]
    Poisoned {
        /// The failed operation and its error.
        cause: String,
    },

    /// Another writer holds the log (promise P8): only one process may write
    /// a log at a time.
    #[error(
        "{object} is locked by another writer; stop that writer first, or open the log read-only"
    )]
    Locked {
        /// The log's lock file or location.
        object: String,
    },

    /// The log was opened read-only (as a reader beside another process's
    /// writer); it cannot append or sync.
    #[error("{object} is open read-only; open it as the writer to append")]
    ReadOnly {
        /// The log's location.
        object: String,
    },

    /// The log (or backend) was closed.
    #[error("log is closed; open it again to continue")]
    Closed,

    /// A store has no log of this id (or it was deleted).
    #[error("no log {id} in the store; list the store to see its logs")]
    NotFound {
        /// The id asked for.
        id: String,
    },

    /// A log that other logs are forked from cannot be deleted: their
    /// prefixes are its records.
    #[error("log {id} has forks ({children}); delete them first")]
    HasChildren {
        /// The log asked to be deleted.
        id: String,
        /// Its live children, comma-separated.
        children: String,
    },

    /// A store already has a live log of this id.
    #[error("log {id} already exists in the store; open it, or pick another id")]
    AlreadyExists {
        /// The id asked for.
        id: String,
    },
}

impl Error {
    /// Wraps an I/O error, telling a full device apart so callers can act on it.
    #[must_use]
    pub fn io(op: &'static str, source: io::Error) -> Error {
        if source.kind() == io::ErrorKind::StorageFull {
            Error::NoSpace {
                op,
                source: Arc::new(source),
            }
        } else {
            Error::Io {
                op,
                source: Arc::new(source),
            }
        }
    }

    /// Whether this error, hit while writing or syncing, leaves the log in an
    /// unknown state so that it must be poisoned (fail-stop, promise P7).
    /// Rejections that happen before anything is written do not poison.
    #[must_use]
    pub fn poisons(&self) -> bool {
        matches!(
            self,
            Error::Io { .. } | Error::NoSpace { .. } | Error::Corrupt { .. }
        )
    }
}

/// What was wrong with damaged bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptKind {
    /// Fewer bytes than the header or its declared length need.
    #[error("truncated frame (needs {needed} bytes, {available} present)")]
    Truncated {
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// The frame does not start with the frame magic (zero fill lands here).
    #[error("bad frame magic {found:#010x}")]
    BadMagic {
        /// The four bytes found, read little-endian.
        found: u32,
    },
    /// The declared payload length exceeds the bound.
    #[error("declared length {len} exceeds the bound {max}")]
    TooLarge {
        /// Declared length.
        len: u64,
        /// The bound in force.
        max: u64,
    },
    /// Stored and computed checksums differ.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The checksum in the frame.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
    /// A field that must be zero (reserved) or known (codec, flags) is not.
    #[error("invalid header field {field} = {value}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A record's seq is not the one its position implies.
    #[error("seq {found} where {expected} was expected")]
    SeqMismatch {
        /// The seq position implies.
        expected: Seq,
        /// The seq stored.
        found: Seq,
    },
    /// A message of a remote log is not a batch spool wrote: its headers
    /// are missing or disagree with its frames, or the message that should
    /// hold a seq is gone.
    #[error("not a spool batch message: {what}")]
    ForeignMessage {
        /// What was wrong with it.
        what: &'static str,
    },
    /// A line of a JSONL log is not one JSON value (strict mode).
    #[error("line {line} ({len} bytes) is {fault}")]
    InvalidLine {
        /// The line number, 1-based as editors count (the record's seq is
        /// `line - 1`).
        line: u64,
        /// The line's length without its `\n`.
        len: u64,
        /// What is wrong with it.
        fault: LineFault,
    },
}

/// Why a JSONL line is not a JSON record. Each has one defined outcome in
/// the JSONL backend (docs/format.md, "JSONL logs").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LineFault {
    /// Empty, or only spaces, tabs and `\r`.
    #[error("blank")]
    Blank,
    /// Not valid UTF-8.
    #[error("not valid UTF-8")]
    InvalidUtf8,
    /// Holds NUL bytes: zero fill, as a crash leaves in unwritten blocks.
    #[error("zero-filled (NUL bytes)")]
    Nul,
    /// UTF-8, but not exactly one JSON value (a BOM lands here too).
    #[error("not one JSON value")]
    NotJson,
    /// Longer than the configured line bound; never read into memory.
    #[error("longer than the line bound")]
    TooLong,
}

/// What was wrong with a cursor string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorProblem {
    /// Not of the form `v<N>.<base64url>`, bad base64, or bad field values.
    #[error("not a spool cursor")]
    Malformed,
    /// Shorter than a cursor of its version.
    #[error("cursor is truncated")]
    Truncated,
    /// The cursor's checksum does not match its contents.
    #[error("cursor was altered (checksum mismatch)")]
    Tampered,
    /// A listing cursor presented with another query (sort, direction or
    /// filters) than the one that made it.
    #[error("cursor belongs to another query")]
    OtherQuery,
    /// A listing cursor older than the history the store keeps (it was made
    /// before the store was last opened).
    #[error("cursor has expired")]
    Expired,
}
