//! What the child process of the real-process suites writes, shared with the
//! tests that check it.

use bytes::Bytes;
use spool_engine::NewRecord;

/// Records per batch the child appends.
pub const BATCH: u64 = 3;

/// The record with seq `i`: its bytes depend only on `i`.
#[must_use]
pub fn record(i: u64) -> NewRecord {
    let len = usize::try_from(i * 29 % 700).unwrap_or(0);
    let byte = u8::try_from(i % 251).unwrap_or(0);
    NewRecord {
        timestamp_ms: 0,
        payload: Bytes::from(vec![byte; len]),
    }
}
