//! The model every backend is checked against: a plain `Vec` of what was
//! acknowledged, and the pages a correct log must return from it.

use bytes::Bytes;
use spool_engine::{Direction, Record, Seq};

/// What a correct log holds: every acknowledged record, in order.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Acknowledged records; index = seq.
    pub records: Vec<Record>,
}

impl Model {
    /// The next seq a correct log hands out.
    #[must_use]
    pub fn next_seq(&self) -> Seq {
        Seq(self.records.len() as u64)
    }

    /// Records a correct append of `payloads` at `timestamp_ms` adds.
    pub fn push(&mut self, timestamp_ms: i64, payloads: &[Bytes]) {
        for payload in payloads {
            let seq = self.next_seq();
            self.records.push(Record {
                seq,
                timestamp_ms,
                payload: payload.clone(),
            });
        }
    }

    /// What a backend that keeps no timestamps reports after a reopen.
    pub fn forget_timestamps(&mut self) {
        for record in &mut self.records {
            record.timestamp_ms = 0;
        }
    }

    /// The page a correct log returns for a cursor at `seq` with `limit`
    /// (already clamped to at least 1) and a page byte bound of `max_bytes`,
    /// and the seq of the next cursor. Forward pages take records while
    /// fewer than `limit` and fewer than `max_bytes` payload bytes are in;
    /// backward pages here hold exactly `limit` records (byte-bounded
    /// backward pages are checked by their length: see the conformance run).
    #[must_use]
    pub fn page(
        &self,
        direction: Direction,
        seq: Seq,
        limit: usize,
        max_bytes: usize,
    ) -> (Vec<Record>, Option<Seq>) {
        let len = self.records.len();
        let at = usize::try_from(seq.0).unwrap().min(len);
        match direction {
            Direction::Forward => {
                let mut end = at;
                let mut bytes = 0;
                while end < len && end - at < limit && (end == at || bytes < max_bytes) {
                    bytes += self.records[end].payload.len();
                    end += 1;
                }
                let records = self.records[at..end].to_vec();
                let next = (end < len && end > at).then_some(Seq(end as u64));
                (records, next)
            }
            Direction::Backward => {
                let start = at.saturating_sub(limit);
                let mut records = self.records[start..at].to_vec();
                records.reverse();
                let next = (start > 0 && at > start).then_some(Seq(start as u64));
                (records, next)
            }
        }
    }
}
