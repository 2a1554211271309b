//! How far an acknowledged record has travelled towards the platter.

use std::time::Duration;

/// The durability an append waits for before it is acknowledged, chosen per
/// log (in [`LogConfig`](crate::LogConfig)) and per append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// Written to the backend (the OS page cache for file backends): survives
    /// the process being killed (promise P2), not power loss.
    #[default]
    Buffered,
    /// Made durable (fdatasync or the backend's equivalent) before the
    /// acknowledgement: survives power loss (promise P1). Appends waiting at the
    /// same time share one sync.
    Data,
    /// Like [`Durability::Data`], but the writer waits up to `max_delay` after
    /// the first such append for others to join, so one sync covers more
    /// appends. Latency is bounded by `max_delay` plus one write and sync.
    Group {
        /// Longest wait for more appends before writing.
        max_delay: Duration,
    },
}

impl Durability {
    /// Whether this level needs a data sync before acknowledging.
    #[must_use]
    pub fn needs_sync(self) -> bool {
        !matches!(self, Durability::Buffered)
    }

    /// The group-commit delay, if any.
    #[must_use]
    pub fn group_delay(self) -> Option<Duration> {
        match self {
            Durability::Group { max_delay } => Some(max_delay),
            _ => None,
        }
    }
}
