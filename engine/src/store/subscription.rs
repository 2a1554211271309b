//! Store-wide subscriptions: one stream of what happens in a store (logs
//! created, changed, deleted, and records appended) for live consumers.
//!
//! Events go through a bounded broadcast channel: a writer never waits for
//! a consumer. A consumer that falls more than the channel's capacity
//! behind is told how many events it missed ([`StoreEvent::Lagged`]), never
//! silently skipped; it then re-reads what it needs from the logs, whose
//! seqs say where it was.

use tokio::sync::broadcast;

use super::LogInfo;
use crate::{LogId, SeqRange};

/// Something that happened in a store.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreEvent {
    /// A log was created (or forked).
    Created(LogInfo),
    /// A log's catalog entry changed (metadata, archive state).
    Changed(LogInfo),
    /// A log was deleted.
    Deleted(LogId),
    /// Records became visible in a log (appended through this store).
    Appended {
        /// The log.
        id: LogId,
        /// The new records' seqs.
        seqs: SeqRange,
    },
    /// This subscriber fell behind and missed this many events; re-read
    /// the logs it follows from the seqs it last saw.
    Lagged {
        /// Events missed.
        missed: u64,
    },
}

/// A live feed of a store's events, from the moment it was made.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<StoreEvent>,
}

impl Subscription {
    pub(crate) fn new(receiver: broadcast::Receiver<StoreEvent>) -> Subscription {
        Subscription { receiver }
    }

    /// The next event, or `None` once the store is gone.
    pub async fn next(&mut self) -> Option<StoreEvent> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(StoreEvent::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<StoreEvent> {
        match self.receiver.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                Some(StoreEvent::Lagged { missed })
            }
            Err(_) => None,
        }
    }
}
