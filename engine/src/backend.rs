//! The storage seam of a log: what every backend (memory, JSONL, segmented,
//! and later a replicated JetStream stream) implements.
//!
//! Nothing here assumes a local file: no paths, no file handles, no byte
//! offsets in the contract. Positions are seqs; atomicity, durability and
//! optimistic concurrency are stated as properties a remote log can give too.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::{Durability, Error, NewRecord, Record, Result, Seq, SeqRange};

/// What a backend can store and keep. The [`Log`](crate::Log) checks payloads
/// against it before they reach the writer, and the conformance suite
/// generates inputs that fit it; the properties checked are the same for all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Which payloads are storable.
    pub payload: PayloadRule,
    /// Whether record timestamps survive a reopen (JSONL keeps only the line).
    pub persists_timestamps: bool,
    /// The backend's own payload bound (the log's limit also applies).
    pub max_record_bytes: usize,
    /// The largest atomic batch the backend stores in one `append`, counted
    /// as the batch's encoded frames ([`batch_bytes`]): a remote log has a
    /// message size limit (JetStream's `max_payload`), a file has none
    /// (`usize::MAX`). The log refuses a larger append with
    /// [`Error::BatchBytesTooLarge`] and never merges appends past it.
    pub max_batch_bytes: usize,
}

/// The bytes `records` occupy as frames: what [`Capabilities::max_batch_bytes`]
/// bounds.
#[must_use]
pub fn batch_bytes(records: &[NewRecord]) -> usize {
    records
        .iter()
        .map(|r| crate::frame::encoded_len(r.payload.len()))
        .sum()
}

/// Which payloads a backend can store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadRule {
    /// Any bytes.
    Any,
    /// Exactly one JSON value, without a `\n` byte (a JSONL line).
    JsonLine,
}

impl PayloadRule {
    /// Checks one payload, so nothing unstorable reaches the writer.
    pub fn check(self, payload: &[u8]) -> Result<()> {
        match self {
            PayloadRule::Any => Ok(()),
            PayloadRule::JsonLine => {
                if let Some(at) = memchr::memchr(b'\n', payload) {
                    return Err(Error::InvalidPayload {
                        reason: format!("a JSONL record may not contain a newline (byte {at})"),
                    });
                }
                // serde_json skips over strings it ignores without checking
                // their UTF-8, and a JSONL reader (Codex's included) rejects
                // invalid UTF-8: check the encoding first.
                let text = std::str::from_utf8(payload).map_err(|e| Error::InvalidPayload {
                    reason: format!("a JSONL record must be UTF-8: {e}"),
                })?;
                serde_json::from_str::<serde::de::IgnoredAny>(text)
                    .map(|_| ())
                    .map_err(|e| Error::InvalidPayload {
                        reason: format!("a JSONL record must be one JSON value: {e}"),
                    })
            }
        }
    }
}

/// Which records a read wants: from `from` up to (not including) `to`, at most
/// `max_records` of them, stopping once `max_bytes` of payload are collected
/// (but always at least one record when one is available).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRange {
    /// First seq wanted.
    pub from: Seq,
    /// Exclusive upper bound; the backend also stops at its own end.
    pub to: Seq,
    /// Record bound.
    pub max_records: usize,
    /// Payload byte bound.
    pub max_bytes: usize,
}

impl ReadRange {
    /// Every record from `from` to the backend's end, without bounds: for
    /// callers that know the log is small (tests, tools), never a server.
    #[must_use]
    pub fn all_from(from: Seq) -> ReadRange {
        ReadRange {
            from,
            to: Seq(u64::MAX),
            max_records: usize::MAX,
            max_bytes: usize::MAX,
        }
    }
}

/// A log's storage. One [`Log`](crate::Log) writer task calls the write
/// methods one at a time; reads may run concurrently with each other and with
/// the writer, so every method takes `&self`.
///
/// Contract (the conformance suite checks it):
/// - `append` is atomic: all of `records` get the seqs `[expected_next,
///   expected_next + n)`, or none of them is stored. If the backend's end is
///   not `expected_next` (another writer got there first) it returns
///   [`Error::Conflict`] and stores nothing. Records are visible to `read` once
///   `append` returns.
/// - `read` returns records in seq order starting exactly at `range.from`,
///   with the payload bytes that were appended (verified against their
///   checksum where the backend stores one, promise P4).
/// - `sync(level)` returns once every appended record reached `level`, and
///   returns the seq up to which records are durable (`durable_seq`).
/// - After `close`, every method returns [`Error::Closed`].
/// - An error from `append` or `sync` may leave the backend unsure what is
///   stored; the log poisons itself and never retries (promise P7).
#[async_trait]
pub trait Backend: Send + Sync + Debug + 'static {
    /// What this backend can store.
    fn capabilities(&self) -> Capabilities;

    /// Appends `records` atomically as `[expected_next, expected_next + n)`.
    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange>;

    /// Reads records in `range`.
    async fn read(&self, range: ReadRange) -> Result<Vec<Record>>;

    /// Makes appended records reach `level` (`Group` is treated as `Data`).
    async fn sync(&self, level: Durability) -> Result<Seq>;

    /// The first seq the backend holds (0 for a log without a base).
    fn start_seq(&self) -> Seq;

    /// The seq the next appended record gets.
    fn next_seq(&self) -> Seq;

    /// Records below this seq are durable (survive power loss).
    fn durable_seq(&self) -> Seq;

    /// Flushes and releases the backend; later calls return `Closed`.
    async fn close(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_rule_rejects_newlines_and_non_json() {
        let rule = PayloadRule::JsonLine;
        rule.check(br#"{"a":1}"#).unwrap();
        rule.check(b"42").unwrap();
        for bad in [&b"{\"a\":\n1}"[..], b"{", b"", b"1 2", b"\xff", b"\"\xff\""] {
            assert!(
                matches!(rule.check(bad), Err(Error::InvalidPayload { .. })),
                "{bad:?}"
            );
        }
        PayloadRule::Any.check(b"\n\xff").unwrap();
    }
}
