//! `TypedLog<E, C>`: a log of typed events, encoded by a [`Codec`].
//!
//! It is a thin view: the records underneath are ordinary byte records, so a
//! typed log and a raw reader of the same log always agree.

use std::marker::PhantomData;

use futures::{Stream, StreamExt};

use crate::{Codec, Cursor, Json, Log, Result, Seq, SeqRange};

/// A decoded event with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<E> {
    /// The record's seq.
    pub seq: Seq,
    /// The record's timestamp.
    pub timestamp_ms: i64,
    /// The decoded value.
    pub value: E,
}

/// One page of typed events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage<E> {
    /// Events in the page's direction.
    pub events: Vec<Event<E>>,
    /// Where the following page starts, if anywhere.
    pub next: Option<Cursor>,
}

/// A typed view of a [`Log`]: events of type `E` encoded with codec `C`
/// (JSON by default).
#[derive(Debug)]
pub struct TypedLog<E, C = Json> {
    log: Log,
    _types: PhantomData<Marker<E, C>>,
}

/// Keeps `TypedLog` `Send + Sync` whatever `E` and `C` are: it stores none.
type Marker<E, C> = fn(E, C) -> (E, C);

impl<E, C> Clone for TypedLog<E, C> {
    fn clone(&self) -> Self {
        TypedLog {
            log: self.log.clone(),
            _types: PhantomData,
        }
    }
}

impl<E, C: Codec<E>> TypedLog<E, C> {
    /// Views `log` as a log of `E` values.
    #[must_use]
    pub fn new(log: Log) -> Self {
        TypedLog {
            log,
            _types: PhantomData,
        }
    }

    /// The raw log underneath.
    #[must_use]
    pub fn raw(&self) -> &Log {
        &self.log
    }

    /// Encodes and appends one event.
    pub async fn append(&self, event: &E) -> Result<Seq> {
        self.log.append(C::encode(event)?).await
    }

    /// Encodes and appends events atomically.
    pub async fn append_batch(&self, events: &[E]) -> Result<SeqRange> {
        let payloads = events.iter().map(C::encode).collect::<Result<Vec<_>>>()?;
        self.log.append_batch(payloads).await
    }

    /// Encodes and appends events only if the log ends at `next_seq`.
    pub async fn append_expecting(&self, next_seq: Seq, events: &[E]) -> Result<SeqRange> {
        let payloads = events.iter().map(C::encode).collect::<Result<Vec<_>>>()?;
        self.log.append_expecting(next_seq, payloads).await
    }

    /// Reads and decodes one page. A record that does not decode is an
    /// [`Error::Codec`](crate::Error::Codec) naming the codec.
    pub async fn read_page(&self, cursor: &Cursor, limit: usize) -> Result<EventPage<E>> {
        let page = self.log.read_page(cursor, limit).await?;
        let events = page
            .records
            .into_iter()
            .map(|r| {
                Ok(Event {
                    seq: r.seq,
                    timestamp_ms: r.timestamp_ms,
                    value: C::decode(&r.payload)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EventPage {
            events,
            next: page.next,
        })
    }

    /// Decoded events from `from` on, following new ones live.
    pub fn tail(&self, from: Seq) -> impl Stream<Item = Result<Event<E>>> + Send + 'static
    where
        E: Send + 'static,
    {
        self.log.tail(from).map(|item| {
            item.and_then(|r| {
                Ok(Event {
                    seq: r.seq,
                    timestamp_ms: r.timestamp_ms,
                    value: C::decode(&r.payload)?,
                })
            })
        })
    }
}
