//! The unit of storage: a record with its seq, timestamp and payload bytes.

use bytes::Bytes;

use crate::Seq;

/// One stored record. The payload is opaque bytes; typed events go through a
/// [`Codec`](crate::Codec) on top.
///
/// `payload` is a [`Bytes`], so a backend can hand out a view into a buffer or a
/// mapping it already verified without copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record's position in its log.
    pub seq: Seq,
    /// Milliseconds since the Unix epoch, as the log's [`Clock`](crate::Clock)
    /// read it when the record was appended. Not necessarily monotonic: a
    /// clock that jumps back gives an earlier timestamp to a later seq, and the
    /// seq order is what counts. Backends that cannot persist it (JSONL) report
    /// 0 after a reopen; see [`Capabilities`](crate::Capabilities).
    pub timestamp_ms: i64,
    /// The bytes exactly as appended.
    pub payload: Bytes,
}

/// A record on its way in: the writer gives it a seq when it is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The bytes to store.
    pub payload: Bytes,
}
