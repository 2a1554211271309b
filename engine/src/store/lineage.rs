//! A log that begins with another log's prefix: forks and reverts without
//! copying a record.
//!
//! A child created with base `(parent, end)` reads seqs below `end` from
//! the parent and keeps only its own records, from `end` on, in a backend
//! of its own whose seqs start at 0: this wrapper shifts them by `end`, so
//! readers, pages, cursors and tails of the child see one log with
//! continuous seqs. The parent's prefix is immutable (records never
//! change), so reading it needs no coordination with the parent's writer;
//! forks of forks nest wrappers.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    Backend, Capabilities, Durability, Error, NewRecord, ReadRange, Record, Result, Seq, SeqRange,
};

/// The child's view: the parent's `[start, base)`, then its own records.
///
/// Public so that layouts with lineage of their own (Codex's `history_base`
/// segments and forks, in spool-compat) compose logs the way the store does.
pub struct Lineage {
    parent: Arc<dyn Backend>,
    base: Seq,
    own: Arc<dyn Backend>,
}

impl fmt::Debug for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lineage")
            .field("base", &self.base)
            .field("own", &self.own)
            .finish_non_exhaustive()
    }
}

impl Lineage {
    /// `parent`'s records below `base`, then `own`'s records shifted to
    /// start at `base`. Appends go to `own`.
    #[must_use]
    pub fn new(parent: Arc<dyn Backend>, base: Seq, own: Arc<dyn Backend>) -> Lineage {
        Lineage { parent, base, own }
    }

    fn shift(&self, seq: Seq) -> Seq {
        Seq(seq.0 + self.base.0)
    }

    fn unshift(&self, seq: Seq) -> Seq {
        Seq(seq.0.saturating_sub(self.base.0))
    }

    /// Maps the own backend's errors into the child's seqs.
    fn lift(&self, error: Error) -> Error {
        match error {
            Error::Conflict { expected, actual } => Error::Conflict {
                expected: self.shift(expected),
                actual: self.shift(actual),
            },
            other => other,
        }
    }
}

#[async_trait]
impl Backend for Lineage {
    fn capabilities(&self) -> Capabilities {
        let own = self.own.capabilities();
        // The parent is only read through a lineage, so its write bounds do
        // not apply.
        Capabilities {
            persists_timestamps: own.persists_timestamps
                && self.parent.capabilities().persists_timestamps,
            ..own
        }
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        if expected_next < self.base {
            return Err(Error::Conflict {
                expected: expected_next,
                actual: self.next_seq(),
            });
        }
        let range = self
            .own
            .append(self.unshift(expected_next), records)
            .await
            .map_err(|e| self.lift(e))?;
        Ok(SeqRange {
            start: self.shift(range.start),
            end: self.shift(range.end),
        })
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        if range.from < self.base {
            out = self
                .parent
                .read(ReadRange {
                    to: range.to.min(self.base),
                    ..range
                })
                .await?;
            bytes = out.iter().map(|r| r.payload.len()).sum();
            let reached_base = out.last().is_some_and(|r| r.seq.0 + 1 == self.base.0);
            let room = out.len() < range.max_records && bytes < range.max_bytes;
            if !(reached_base && room && range.to > self.base) {
                return Ok(out);
            }
        }
        let from = range.from.max(self.base);
        let own = self
            .own
            .read(ReadRange {
                from: self.unshift(from),
                to: self.unshift(range.to.max(self.base)),
                max_records: range.max_records - out.len(),
                max_bytes: range.max_bytes.saturating_sub(bytes).max(1),
            })
            .await
            .map_err(|e| self.lift(e))?;
        out.extend(own.into_iter().map(|mut r| {
            r.seq = self.shift(r.seq);
            r
        }));
        Ok(out)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        Ok(self.shift(self.own.sync(level).await.map_err(|e| self.lift(e))?))
    }

    fn start_seq(&self) -> Seq {
        self.parent.start_seq()
    }

    fn next_seq(&self) -> Seq {
        self.shift(self.own.next_seq())
    }

    fn durable_seq(&self) -> Seq {
        self.shift(self.own.durable_seq())
    }

    async fn close(&self) -> Result<()> {
        // The parent belongs to its own log handle.
        self.own.close().await
    }
}
