//! `Log`: the public handle over one backend.
//!
//! Appenders send requests to the log's writer task through a bounded queue
//! and wait for its answer; readers go straight to the backend, bounded by the
//! *visible* end that the writer publishes after each acknowledged commit.
//! Handles are cheap to clone and may be used from many tasks at once.

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::tail::tail_stream;
use crate::writer::{AppendRequest, Command, Health, Limits, Writer};
use crate::{
    Backend, Clock, Cursor, Direction, Durability, Error, LogConfig, LogId, NewRecord, ReadRange,
    Record, Result, Seq, SeqRange, SystemClock,
};

/// One page of records and the cursor of the page after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Records in the page's direction: ascending seqs going forward,
    /// descending going backward.
    pub records: Vec<Record>,
    /// Where the following page starts, or `None` if this page reached the
    /// end of the log (forward: its visible end when read; backward: its start).
    pub next: Option<Cursor>,
}

/// A handle to an open log. See the crate docs for the promises it keeps,
/// and README.md for a complete example over the in-memory backend.
#[derive(Clone, Debug)]
pub struct Log {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: LogId,
    config: LogConfig,
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    queue: mpsc::Sender<Command>,
    visible: watch::Receiver<Seq>,
    health: Arc<Health>,
}

impl Log {
    /// Opens a log over `backend`, with timestamps from the system clock.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: the log's writer is a tokio task.
    pub fn open(id: LogId, backend: Arc<dyn Backend>, config: LogConfig) -> Result<Log> {
        Log::open_with_clock(id, backend, config, Arc::new(SystemClock))
    }

    /// Opens a log with an explicit [`Clock`] (tests use a `ManualClock`).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`Log::open`].
    pub fn open_with_clock(
        id: LogId,
        backend: Arc<dyn Backend>,
        config: LogConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Log> {
        config.validate()?;
        let next = backend.next_seq();
        let (queue, receiver) = mpsc::channel(config.queue_depth);
        let (visible_tx, visible) = watch::channel(next);
        let health = Arc::new(Health::default());
        let writer = Writer {
            backend: Arc::clone(&backend),
            clock: Arc::clone(&clock),
            health: Arc::clone(&health),
            visible: visible_tx,
            limits: Limits {
                max_commit_records: config.max_commit_records,
                max_commit_bytes: config.max_commit_bytes,
                max_batch_bytes: backend.capabilities().max_batch_bytes,
            },
            next,
            last_round: 0,
        };
        crate::rt::spawn(writer.run(receiver));
        Ok(Log {
            inner: Arc::new(Inner {
                id,
                config,
                backend,
                clock,
                queue,
                visible,
                health,
            }),
        })
    }

    /// Whether the log was closed (its writer has stopped).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.queue.is_closed()
    }

    /// The visible end, as it changes (the store's subscriptions follow it).
    pub(crate) fn visible_watch(&self) -> watch::Receiver<Seq> {
        self.inner.visible.clone()
    }

    /// The backend under the log (the store's lineage reads a parent's
    /// prefix through it).
    pub(crate) fn backend(&self) -> Arc<dyn Backend> {
        Arc::clone(&self.inner.backend)
    }

    /// The log's id.
    #[must_use]
    pub fn id(&self) -> &LogId {
        &self.inner.id
    }

    /// What the log's backend can store (its payload rule and bounds).
    pub fn capabilities(&self) -> crate::Capabilities {
        self.inner.backend.capabilities()
    }

    /// The log's configuration.
    #[must_use]
    pub fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// The first seq of the log.
    #[must_use]
    pub fn start_seq(&self) -> Seq {
        self.inner.backend.start_seq()
    }

    /// The seq after the last acknowledged record: what readers can see.
    #[must_use]
    pub fn next_seq(&self) -> Seq {
        *self.inner.visible.borrow()
    }

    /// Requests waiting in the writer's queue: how far appenders are ahead of
    /// the backend (at most `queue_depth`).
    #[must_use]
    pub fn queue_len(&self) -> usize {
        self.inner.queue.max_capacity() - self.inner.queue.capacity()
    }

    /// Records below this seq are durable (promise P1).
    #[must_use]
    pub fn durable_seq(&self) -> Seq {
        self.inner.backend.durable_seq()
    }

    /// Appends one record at the log's default durability; returns its seq
    /// once acknowledged.
    pub async fn append(&self, payload: impl Into<Bytes>) -> Result<Seq> {
        let range = self
            .submit(vec![payload.into()], None, self.inner.config.durability)
            .await?;
        Ok(range.start)
    }

    /// Appends records atomically: all get consecutive seqs, or none is stored.
    pub async fn append_batch<I, P>(&self, payloads: I) -> Result<SeqRange>
    where
        I: IntoIterator<Item = P>,
        P: Into<Bytes>,
    {
        let payloads = payloads.into_iter().map(Into::into).collect();
        self.submit(payloads, None, self.inner.config.durability)
            .await
    }

    /// Appends records atomically only if the log's next seq is `next_seq`
    /// when the writer gets to them (optimistic concurrency); otherwise
    /// [`Error::Conflict`] and nothing is written.
    pub async fn append_expecting<I, P>(&self, next_seq: Seq, payloads: I) -> Result<SeqRange>
    where
        I: IntoIterator<Item = P>,
        P: Into<Bytes>,
    {
        let payloads = payloads.into_iter().map(Into::into).collect();
        self.submit(payloads, Some(next_seq), self.inner.config.durability)
            .await
    }

    /// Appends records atomically at the given durability.
    pub async fn append_with<I, P>(&self, durability: Durability, payloads: I) -> Result<SeqRange>
    where
        I: IntoIterator<Item = P>,
        P: Into<Bytes>,
    {
        if let Some(delay) = durability.group_delay() {
            crate::config::check_group_delay(delay)?;
        }
        let payloads = payloads.into_iter().map(Into::into).collect();
        self.submit(payloads, None, durability).await
    }

    /// Appends records that carry their own timestamps, atomically, only if
    /// the log's next seq is `next_seq` (as [`append_expecting`](Self::append_expecting)):
    /// a copy or a replay keeps the source's timestamps instead of the
    /// log's clock.
    pub async fn append_records_expecting(
        &self,
        next_seq: Seq,
        records: Vec<NewRecord>,
    ) -> Result<SeqRange> {
        self.submit_records(records, Some(next_seq), self.inner.config.durability)
            .await
    }

    /// Makes every record appended before this call reach `level`; returns
    /// the seq up to which records are durable (for `Buffered`: written).
    pub async fn sync(&self, level: Durability) -> Result<Seq> {
        self.inner.health.check()?;
        let (reply, answer) = oneshot::channel();
        self.send(Command::Sync { level, reply }).await?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Flushes what is queued, closes the backend and reports any error.
    /// Later calls on any handle of this log return [`Error::Closed`].
    pub async fn close(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Close { reply }).await?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// A forward cursor at the first record.
    #[must_use]
    pub fn first_cursor(&self) -> Cursor {
        Cursor::new(&self.inner.id, Direction::Forward, self.start_seq())
    }

    /// A backward cursor at the current end (its first page holds the newest
    /// records; later appends do not shift it).
    #[must_use]
    pub fn last_cursor(&self) -> Cursor {
        Cursor::new(&self.inner.id, Direction::Backward, self.next_seq())
    }

    /// A cursor at `seq` in `direction` (checked when used).
    #[must_use]
    pub fn cursor_at(&self, seq: Seq, direction: Direction) -> Cursor {
        Cursor::new(&self.inner.id, direction, seq)
    }

    /// Reads the page at `cursor`: up to `limit` records (at most
    /// `max_page_records`, and fewer once `max_page_bytes` is reached).
    /// A cursor from another log, or past the end, is a typed error.
    pub async fn read_page(&self, cursor: &Cursor, limit: usize) -> Result<Page> {
        let end = self.next_seq();
        cursor.check(&self.inner.id, end)?;
        let start = self.start_seq();
        let limit = limit.clamp(1, self.inner.config.max_page_records);
        let limit_u64 = limit as u64;
        match cursor.direction() {
            Direction::Forward => {
                let from = cursor.seq().max(start);
                let records = self.read_range(from, end, limit).await?;
                let next = records
                    .last()
                    .map(|r| Seq(r.seq.0 + 1))
                    .filter(|after| *after < end)
                    .map(|after| self.cursor_at(after, Direction::Forward));
                Ok(Page { records, next })
            }
            Direction::Backward => {
                let to = cursor.seq();
                let from = to.saturating_sub(limit_u64).max(start);
                let mut records = self.read_range(from, to, limit).await?;
                // A byte-bounded read may stop before `to`: read again nearer
                // the cursor until the page ends right below it, so pages stay
                // contiguous. Each pass keeps at most as many records as the
                // last, and a read returns at least one, so this ends.
                while let Some(last) = records.last()
                    && last.seq.0 + 1 < to.0
                {
                    let kept = records.len() as u64;
                    records = self.read_range(to.saturating_sub(kept), to, limit).await?;
                }
                records.reverse();
                let lowest = records.last().map_or(to, |r| r.seq);
                let next = (lowest > start).then(|| self.cursor_at(lowest, Direction::Backward));
                Ok(Page { records, next })
            }
        }
    }

    /// Every record from `from` on, then each new record as it is
    /// acknowledged, until the log is closed. Dropping the stream never blocks
    /// the writer. A `from` past the end yields one [`Error::SeqPastEnd`].
    pub fn tail(&self, from: Seq) -> impl Stream<Item = Result<Record>> + Send + 'static {
        tail_stream(
            Arc::clone(&self.inner.backend),
            self.inner.visible.clone(),
            from,
            self.inner.config.max_page_records.min(1024),
            self.inner.config.max_page_bytes,
        )
    }

    async fn read_range(&self, from: Seq, to: Seq, max_records: usize) -> Result<Vec<Record>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let records = self
            .inner
            .backend
            .read(ReadRange {
                from,
                to,
                max_records,
                max_bytes: self.inner.config.max_page_bytes,
            })
            .await?;
        // Retention may have dropped records below `from` after the caller
        // read the start: the backend then reads from its new start. That is
        // a shorter page, not damage, when the new start explains the gap.
        let start = self.start_seq();
        if records.is_empty() && to <= start {
            return Ok(records);
        }
        let from = match records.first() {
            Some(first) if first.seq > from && first.seq <= start => first.seq,
            Some(_) => from,
            None => from.max(start),
        };
        check_read(&records, from, to)?;
        Ok(records)
    }

    async fn submit(
        &self,
        payloads: Vec<Bytes>,
        expect: Option<Seq>,
        durability: Durability,
    ) -> Result<SeqRange> {
        let timestamp_ms = self.inner.clock.now_ms();
        let records = payloads
            .into_iter()
            .map(|payload| NewRecord {
                timestamp_ms,
                payload,
            })
            .collect();
        self.submit_records(records, expect, durability).await
    }

    async fn submit_records(
        &self,
        records: Vec<NewRecord>,
        expect: Option<Seq>,
        durability: Durability,
    ) -> Result<SeqRange> {
        self.inner.health.check()?;
        let config = &self.inner.config;
        if records.len() > config.max_batch_records {
            return Err(Error::BatchTooLarge {
                records: records.len(),
                max: config.max_batch_records,
            });
        }
        let caps = self.inner.backend.capabilities();
        let max = config.max_record_bytes.min(caps.max_record_bytes);
        for payload in records.iter().map(|r| &r.payload) {
            if payload.len() > max {
                return Err(Error::RecordTooLarge {
                    len: payload.len(),
                    max,
                });
            }
            caps.payload.check(payload)?;
        }
        let bytes = crate::batch_bytes(&records);
        if bytes > caps.max_batch_bytes {
            return Err(Error::BatchBytesTooLarge {
                bytes,
                max: caps.max_batch_bytes,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Append(AppendRequest {
            records,
            expect,
            durability,
            reply,
        }))
        .await?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn send(&self, command: Command) -> Result<()> {
        self.inner
            .queue
            .send(command)
            .await
            .map_err(|_| Error::Closed)
    }
}

/// Checks what a backend returned against what was asked: dense seqs from
/// `from`, below `to`, and at least one record if the range is not empty
/// (so that no paging loop can spin on a backend that lost data). A backend
/// bug must not reach the caller as data.
pub(crate) fn check_read(records: &[Record], from: Seq, to: Seq) -> Result<()> {
    if records.is_empty() && from < to {
        return Err(Error::Corrupt {
            object: "backend read".into(),
            offset: from.0,
            kind: crate::CorruptKind::Truncated {
                needed: to.0,
                available: from.0,
            },
        });
    }
    for (i, record) in records.iter().enumerate() {
        let expected = Seq(from.0 + i as u64);
        if record.seq != expected || record.seq >= to {
            return Err(Error::Corrupt {
                object: "backend read".into(),
                offset: expected.0,
                kind: crate::CorruptKind::SeqMismatch {
                    expected,
                    found: record.seq,
                },
            });
        }
    }
    Ok(())
}
