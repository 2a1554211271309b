//! The in-memory backend: a `Vec` of records behind a lock.
//!
//! It is the oracle of the differential tests, the backend of ephemeral logs,
//! and the simplest correct implementation of the [`Backend`] contract. Every
//! handle opened from the same [`MemoryBackend`] shares one record list, like
//! file handles on one file, so "close and reopen" and "two writers on one
//! log" can be exercised without a disk.
//!
//! Durability is simulated: records count as durable once synced at
//! [`Durability::Data`], and [`MemoryBackend::crash`] drops what was not, so
//! tests of promise P1 have something to observe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use spool_engine::{
    Backend, Capabilities, Durability, Error, NewRecord, PayloadRule, ReadRange, Record, Result,
    Seq, SeqRange, frame,
};

/// A log held in memory. Cheap to clone; clones are the same open handle.
#[derive(Clone, Debug)]
pub struct MemoryBackend {
    shared: Arc<Shared>,
    closed: Arc<AtomicBool>,
    payload: PayloadRule,
}

#[derive(Debug, Default)]
struct Shared {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    records: Vec<Record>,
    durable: usize,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new()
    }
}

impl MemoryBackend {
    /// An empty log that stores any payload.
    #[must_use]
    pub fn new() -> MemoryBackend {
        MemoryBackend::with_payload_rule(PayloadRule::Any)
    }

    /// An empty log that accepts only payloads fitting `rule`, so it can stand
    /// in for a stricter backend (JSONL) in differential tests.
    #[must_use]
    pub fn with_payload_rule(payload: PayloadRule) -> MemoryBackend {
        MemoryBackend {
            shared: Arc::default(),
            closed: Arc::new(AtomicBool::new(false)),
            payload,
        }
    }

    /// A new open handle on the same records, as reopening a file gives: it
    /// sees everything appended so far, durable or not.
    #[must_use]
    pub fn reopen(&self) -> MemoryBackend {
        MemoryBackend {
            shared: Arc::clone(&self.shared),
            closed: Arc::new(AtomicBool::new(false)),
            payload: self.payload,
        }
    }

    /// Simulates power loss: drops every record that was not synced at
    /// `Durability::Data`. Returns how many were lost.
    pub fn crash(&self) -> usize {
        let mut state = self.write_state();
        let lost = state.records.len() - state.durable;
        let durable = state.durable;
        state.records.truncate(durable);
        lost
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated:
        // every writer below finishes its change before anything can panic.
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }
}

fn seq_of(index: usize) -> Seq {
    Seq(index as u64)
}

#[async_trait]
impl Backend for MemoryBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            payload: self.payload,
            persists_timestamps: true,
            max_record_bytes: frame::PAYLOAD_MAX_BYTES,
            max_batch_bytes: usize::MAX,
        }
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        self.check_open()?;
        for record in records {
            self.payload.check(&record.payload)?;
        }
        let mut state = self.write_state();
        let next = seq_of(state.records.len());
        if next != expected_next {
            return Err(Error::Conflict {
                expected: expected_next,
                actual: next,
            });
        }
        state.records.reserve(records.len());
        for (i, record) in records.iter().enumerate() {
            state.records.push(Record {
                seq: Seq(next.0 + i as u64),
                timestamp_ms: record.timestamp_ms,
                payload: record.payload.clone(),
            });
        }
        Ok(SeqRange {
            start: next,
            end: seq_of(state.records.len()),
        })
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        self.check_open()?;
        let state = self.read_state();
        let end = usize::try_from(range.to.0)
            .unwrap_or(usize::MAX)
            .min(state.records.len());
        let Ok(start) = usize::try_from(range.from.0) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for record in state.records.get(start..end).unwrap_or_default() {
            if out.len() >= range.max_records || (!out.is_empty() && bytes >= range.max_bytes) {
                break;
            }
            bytes += record.payload.len();
            out.push(record.clone());
        }
        Ok(out)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        self.check_open()?;
        let mut state = self.write_state();
        if level.needs_sync() {
            state.durable = state.records.len();
        }
        Ok(seq_of(state.durable))
    }

    fn start_seq(&self) -> Seq {
        Seq::ZERO
    }

    fn next_seq(&self) -> Seq {
        seq_of(self.read_state().records.len())
    }

    fn durable_seq(&self) -> Seq {
        seq_of(self.read_state().durable)
    }

    async fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn rec(payload: &'static [u8]) -> NewRecord {
        NewRecord {
            timestamp_ms: 5,
            payload: Bytes::from_static(payload),
        }
    }

    #[tokio::test]
    async fn appends_are_atomic_and_checked_against_the_expected_end() {
        let m = MemoryBackend::new();
        let r = m.append(Seq(0), &[rec(b"a"), rec(b"b")]).await.unwrap();
        assert_eq!(
            r,
            SeqRange {
                start: Seq(0),
                end: Seq(2)
            }
        );
        let err = m.append(Seq(1), &[rec(b"c")]).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Conflict {
                expected: Seq(1),
                actual: Seq(2)
            }
        ));
        assert_eq!(m.next_seq(), Seq(2));
    }

    #[tokio::test]
    async fn reads_honour_range_and_limits_but_return_at_least_one() {
        let m = MemoryBackend::new();
        m.append(Seq(0), &[rec(b"aaaa"), rec(b"bbbb"), rec(b"cccc")])
            .await
            .unwrap();
        let read = |from, to, max_records, max_bytes| {
            m.read(ReadRange {
                from: Seq(from),
                to: Seq(to),
                max_records,
                max_bytes,
            })
        };
        assert_eq!(read(1, 3, 10, 1 << 20).await.unwrap().len(), 2);
        assert_eq!(read(0, 10, 2, 1 << 20).await.unwrap().len(), 2);
        assert_eq!(read(0, 10, 10, 1).await.unwrap().len(), 1);
        assert_eq!(read(0, 10, 10, 5).await.unwrap().len(), 2);
        assert!(read(3, 10, 10, 10).await.unwrap().is_empty());
        assert!(read(u64::MAX, u64::MAX, 10, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn crash_keeps_exactly_what_was_synced() {
        let m = MemoryBackend::new();
        m.append(Seq(0), &[rec(b"a")]).await.unwrap();
        assert_eq!(m.sync(Durability::Data).await.unwrap(), Seq(1));
        m.append(Seq(1), &[rec(b"b")]).await.unwrap();
        assert_eq!(m.sync(Durability::Buffered).await.unwrap(), Seq(1));
        assert_eq!(m.crash(), 1);
        assert_eq!(m.reopen().next_seq(), Seq(1));
    }

    #[tokio::test]
    async fn closed_handles_refuse_work_but_reopen_sees_the_records() {
        let m = MemoryBackend::new();
        m.append(Seq(0), &[rec(b"a")]).await.unwrap();
        m.close().await.unwrap();
        assert!(matches!(
            m.append(Seq(1), &[rec(b"b")]).await,
            Err(Error::Closed)
        ));
        assert!(matches!(m.close().await, Err(Error::Closed)));
        let again = m.reopen();
        assert_eq!(again.next_seq(), Seq(1));
    }

    #[tokio::test]
    async fn json_line_rule_is_enforced_before_storing() {
        let m = MemoryBackend::with_payload_rule(PayloadRule::JsonLine);
        let err = m
            .append(Seq(0), &[rec(b"{}"), rec(b"not json")])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }));
        assert_eq!(m.next_seq(), Seq(0));
    }
}
