//! A spool log on a JetStream stream: one subject per log, one message per
//! atomic batch (see `message`).
//!
//! Dense seqs and single-writer safety come from the stream, not from a
//! lock: every publish carries `Nats-Expected-Last-Subject-Sequence`, the
//! stream seq of the log's last message as this backend knows it, and the
//! stream's leader refuses it if anything else was appended since. Two
//! writers on two machines therefore never fork a log: the loser gets
//! `Conflict` with the log's true end (learnt from the leader), and the
//! `Log` writer retries or answers the expectation, as it does locally.
//!
//! Finding a seq does not scan: the backend remembers where each batch it
//! has seen lies (`known`, bounded), and otherwise binary-searches the
//! stream with "next message on this subject at or after stream seq N"
//! gets, O(log messages) round trips. The last messages read are kept
//! (`recent`, up to 8 MiB): messages never change, and a reader paging
//! through a batch of 1,024 records would otherwise fetch it once a page.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use spool_engine::{
    Backend, Capabilities, CorruptKind, Durability, Error, LogId, NewRecord, PayloadRule,
    ReadRange, Record, Result, Seq, SeqRange, frame,
};

use super::connection::JetStream;
use super::message::{self, Span, Stored};

/// Batches whose stream position a backend remembers; past this the memory
/// is dropped and rebuilt by the reads that follow.
const KNOWN_MAX: usize = 1 << 16;
/// Bytes of recently read messages a backend keeps (bodies, and a
/// [`RECENT_ENTRY_BYTES`] allowance for each one's headers and subject).
const RECENT_MAX_BYTES: usize = 8 << 20;
/// What a kept message costs beyond its body.
const RECENT_ENTRY_BYTES: usize = 512;

/// A log stored on a JetStream stream.
#[derive(Clone, Debug)]
pub struct JetStreamBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    js: JetStream,
    subject: String,
    writable: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The seq the next batch gets.
    next: Seq,
    /// The stream seq of the log's last message (0: none).
    last: u64,
    /// The stream seq of its first message when the leader was last asked
    /// (0: none): older messages on the subject belong to a removed log.
    floor: u64,
    closed: bool,
    /// First seq of a batch -> (its stream seq, its record count).
    known: BTreeMap<u64, (u64, u64)>,
    /// Messages read lately by stream seq, their order (oldest first), and
    /// what they cost.
    recent: HashMap<u64, Stored>,
    recent_order: VecDeque<u64>,
    recent_bytes: usize,
}

impl State {
    fn learn(&mut self, span: Span, sequence: u64) {
        if self.known.len() >= KNOWN_MAX {
            self.known.clear();
        }
        self.known.insert(span.first.0, (sequence, span.count));
    }

    /// Keeps `message` among the recent ones, dropping the oldest past the
    /// byte bound.
    fn keep(&mut self, message: &Stored) {
        if self.recent.contains_key(&message.sequence) {
            return;
        }
        self.recent_bytes += message.payload.len() + RECENT_ENTRY_BYTES;
        self.recent.insert(message.sequence, message.clone());
        self.recent_order.push_back(message.sequence);
        while self.recent_bytes > RECENT_MAX_BYTES
            && let Some(old) = self.recent_order.pop_front()
            && let Some(old) = self.recent.remove(&old)
        {
            self.recent_bytes -= old.payload.len() + RECENT_ENTRY_BYTES;
        }
    }

    fn recent(&self, sequence: u64) -> Option<Stored> {
        self.recent.get(&sequence).cloned()
    }

    /// Forgets every message position and body (the log was removed and
    /// made again: stream seqs of the old one mean nothing now).
    fn forget(&mut self) {
        self.known.clear();
        self.recent.clear();
        self.recent_order.clear();
        self.recent_bytes = 0;
    }
}

impl JetStreamBackend {
    /// Opens log `id` on the stream (an absent log is empty) as its writer.
    pub async fn open(js: &JetStream, id: &LogId) -> Result<JetStreamBackend> {
        JetStreamBackend::open_as(js, id, true).await
    }

    /// Opens log `id` for reading only: appends and syncs are `ReadOnly`,
    /// and [`refresh`](Self::refresh) picks up what writers added.
    pub async fn open_read_only(js: &JetStream, id: &LogId) -> Result<JetStreamBackend> {
        JetStreamBackend::open_as(js, id, false).await
    }

    async fn open_as(js: &JetStream, id: &LogId, writable: bool) -> Result<JetStreamBackend> {
        let backend = JetStreamBackend {
            inner: Arc::new(Inner {
                js: js.clone(),
                subject: js.log_subject(id),
                writable,
                state: Mutex::new(State::default()),
            }),
        };
        backend.refresh().await?;
        Ok(backend)
    }

    /// Learns the log's end from the stream leader (what other writers
    /// appended becomes readable) and returns the next seq.
    pub async fn refresh(&self) -> Result<Seq> {
        let floor = self.inner.js.first_on(&self.inner.subject).await?;
        let end = self.fetch_end().await?;
        let mut state = self.state();
        if state.closed {
            return Err(Error::Closed);
        }
        if floor != state.floor {
            // The log was removed (its subject purged) and perhaps made
            // again: nothing remembered of the old one applies.
            state.forget();
            state.floor = floor;
            state.next = end.0;
            state.last = end.1;
        } else if end.1 > state.last {
            // The end only moves forward: a stale answer never hides records.
            state.next = end.0;
            state.last = end.1;
        }
        Ok(state.next)
    }

    /// The log's end as the leader has it: (next seq, last stream seq).
    async fn fetch_end(&self) -> Result<(Seq, u64)> {
        let js = &self.inner.js;
        match js.last_on(&self.inner.subject).await? {
            None => Ok((Seq(0), 0)),
            Some(last) => {
                let span = message::span(js.stream(), &self.inner.subject, &last)?;
                self.state().learn(span, last.sequence);
                Ok((span.end(), last.sequence))
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn open_state(&self) -> Result<MutexGuard<'_, State>> {
        let state = self.state();
        if state.closed {
            return Err(Error::Closed);
        }
        Ok(state)
    }

    fn read_only(&self) -> Error {
        Error::ReadOnly {
            object: format!(
                "nats stream {} subject {}",
                self.inner.js.stream(),
                self.inner.subject
            ),
        }
    }

    /// The batch holding `seq`, with its span.
    async fn locate(&self, seq: Seq) -> Result<(Stored, Span)> {
        let js = &self.inner.js;
        let (mut lo, mut hi) = {
            let state = self.open_state()?;
            let below = state.known.range(..=seq.0).next_back();
            if let Some((&first, &(sequence, count))) = below
                && seq.0 < first + count
            {
                if let Some(message) = state.recent(sequence) {
                    let span = Span {
                        first: Seq(first),
                        count,
                    };
                    return Ok((message, span));
                }
                (sequence, sequence)
            } else {
                let lo = below.map_or(1, |(_, &(sequence, _))| sequence + 1);
                let hi = state
                    .known
                    .range(seq.0..)
                    .next()
                    .map_or(state.last, |(_, &(sequence, _))| sequence.saturating_sub(1));
                (lo, hi)
            }
        };
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let floor = self.state().floor;
            let Some(probe) = js.next_on(&self.inner.subject, mid, floor).await? else {
                hi = mid - 1;
                continue;
            };
            let span = message::span(js.stream(), &self.inner.subject, &probe)?;
            self.state().learn(span, probe.sequence);
            if span.holds(seq) {
                self.state().keep(&probe);
                return Ok((probe, span));
            }
            if seq < span.first {
                hi = mid - 1;
            } else {
                lo = probe.sequence + 1;
            }
        }
        Err(Error::Corrupt {
            object: format!("nats stream {} subject {}", js.stream(), self.inner.subject),
            offset: 0,
            kind: CorruptKind::ForeignMessage {
                what: "no message holds a seq below the log's end (purged or deleted?)",
            },
        })
    }

    /// The message after `after` on the log's subject, which must start at
    /// `expected`: the log's batches are dense.
    async fn following(&self, after: &Stored, expected: Seq) -> Result<(Stored, Span)> {
        let js = &self.inner.js;
        {
            let state = self.state();
            if let Some(&(sequence, count)) = state.known.get(&expected.0)
                && let Some(message) = state.recent(sequence)
            {
                return Ok((
                    message,
                    Span {
                        first: expected,
                        count,
                    },
                ));
            }
        }
        let floor = self.state().floor;
        let missing = |what| Error::Corrupt {
            object: message::place(js.stream(), after),
            offset: 0,
            kind: CorruptKind::ForeignMessage { what },
        };
        let next = js
            .next_on(&self.inner.subject, after.sequence + 1, floor)
            .await?
            .ok_or_else(|| missing("the log's messages end before its last batch"))?;
        let span = message::span(js.stream(), &self.inner.subject, &next)?;
        if span.first != expected {
            return Err(Error::Corrupt {
                object: message::place(js.stream(), &next),
                offset: 0,
                kind: CorruptKind::SeqMismatch {
                    expected,
                    found: span.first,
                },
            });
        }
        let mut state = self.state();
        state.learn(span, next.sequence);
        state.keep(&next);
        Ok((next, span))
    }
}

#[async_trait]
impl Backend for JetStreamBackend {
    fn capabilities(&self) -> Capabilities {
        let max_batch_bytes = self.inner.js.max_batch_bytes();
        Capabilities {
            payload: PayloadRule::Any,
            persists_timestamps: true,
            max_record_bytes: max_batch_bytes.saturating_sub(frame::HEADER_LEN),
            max_batch_bytes,
        }
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        if !self.inner.writable {
            return Err(self.read_only());
        }
        let (next, last) = {
            let state = self.open_state()?;
            (state.next, state.last)
        };
        if expected_next != next {
            return Err(Error::Conflict {
                expected: expected_next,
                actual: next,
            });
        }
        if records.is_empty() {
            return Ok(SeqRange {
                start: next,
                end: next,
            });
        }
        let js = &self.inner.js;
        let body = message::encode(next, records)?;
        if body.len() > js.max_batch_bytes() {
            return Err(Error::BatchBytesTooLarge {
                bytes: body.len(),
                max: js.max_batch_bytes(),
            });
        }
        let headers = message::headers(js.stream(), &self.inner.subject, next, records.len(), last);
        let published = js
            .publish(&self.inner.subject, headers, Bytes::from(body))
            .await?;
        // Refused, or answered as a duplicate of another writer's publish
        // after the same message (message::expecting): another writer
        // appended since this backend last looked. Nothing of ours was
        // stored; learn the true end for the retry.
        let Some(ack) = published.filter(|ack| !ack.duplicate) else {
            let (actual, last) = self.fetch_end().await?;
            let mut state = self.open_state()?;
            state.next = actual;
            state.last = last;
            return Err(Error::Conflict {
                expected: expected_next,
                actual,
            });
        };
        let span = Span {
            first: next,
            count: records.len() as u64,
        };
        // Stored: record it even if the backend was closed meanwhile.
        let mut state = self.state();
        state.next = span.end();
        state.last = ack.sequence;
        state.learn(span, ack.sequence);
        Ok(SeqRange {
            start: next,
            end: span.end(),
        })
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        let end = self.open_state()?.next;
        let to = range.to.min(end);
        let mut out = Vec::new();
        if range.from >= to || range.max_records == 0 {
            return Ok(out);
        }
        let js = &self.inner.js;
        // The body is in memory already and decoding never allocates: the
        // format's own bound, not this server's message size, which may be
        // smaller than the one the log was written under.
        let max_payload = frame::PAYLOAD_MAX_BYTES;
        let (mut message, mut span) = self.locate(range.from).await?;
        let mut bytes = 0usize;
        loop {
            for record in message::records(js.stream(), &message, span, max_payload)? {
                if record.seq < range.from {
                    continue;
                }
                // As every backend: stop once the bound is reached, so the
                // record that crosses it is still in.
                let full =
                    out.len() >= range.max_records || (!out.is_empty() && bytes >= range.max_bytes);
                if record.seq >= to || full {
                    return Ok(out);
                }
                bytes += record.payload.len();
                out.push(record);
            }
            if span.end() >= to {
                return Ok(out);
            }
            (message, span) = self.following(&message, span.end()).await?;
        }
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        if !self.inner.writable && level.needs_sync() {
            return Err(self.read_only());
        }
        // Every acknowledged batch is stored on a quorum of replicas, under
        // the servers' own fsync policy (docs/jetstream.md): nothing to add.
        Ok(self.open_state()?.next)
    }

    fn start_seq(&self) -> Seq {
        Seq(0)
    }

    fn next_seq(&self) -> Seq {
        self.state().next
    }

    fn durable_seq(&self) -> Seq {
        self.state().next
    }

    async fn close(&self) -> Result<()> {
        self.state().closed = true;
        Ok(())
    }
}
