//! Where a store's logs live: the seam between the store and its backends.
//!
//! A [`Storage`] opens backends by log id and keeps a few named blobs (the
//! catalog's snapshot, projection checkpoints). It says nothing about files,
//! so a directory of segmented logs, an in-memory root and, later, a
//! JetStream stream prefix all fit behind it.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Backend, Error, LogId, Result};

/// A place logs live, by id.
///
/// Contract (the store's tests check it on every implementation):
/// - `open` gives the backend of `id`, creating an empty one of kind
///   `kind` (one of [`kinds`](Storage::kinds); `None` for the storage's
///   default) if there is none; the same id always names the same records
///   until `remove`. An unknown kind is `InvalidConfig`.
/// - `remove` deletes a log's records for good; removing what is not there
///   is not an error (the store redoes removals a crash interrupted).
/// - `put_blob` replaces a blob atomically and durably: after a crash the
///   blob is the old or the new bytes, never a mix; `get_blob` gives the
///   bytes last put, or `None`.
#[async_trait]
pub trait Storage: Send + Sync + Debug + 'static {
    /// The backend kinds this storage can make, its default first.
    fn kinds(&self) -> &'static [&'static str];

    /// Opens (creating if needed, of `kind`) the backend of log `id`.
    async fn open(&self, id: &LogId, kind: Option<&str>) -> Result<Arc<dyn Backend>>;

    /// Deletes log `id` and its records; absent is fine.
    async fn remove(&self, id: &LogId) -> Result<()>;

    /// The bytes of blob `name`, if it exists.
    async fn get_blob(&self, name: &LogId) -> Result<Option<Bytes>>;

    /// Replaces blob `name` with `bytes`, atomically and durably.
    async fn put_blob(&self, name: &LogId, bytes: Bytes) -> Result<()>;
}

/// Checks `kind` against what `storage` makes, giving the one to use.
pub(crate) fn resolve_kind<'a>(
    storage: &dyn Storage,
    kind: Option<&'a str>,
) -> Result<Option<&'a str>> {
    match kind {
        Some(kind) if !storage.kinds().contains(&kind) => Err(Error::InvalidConfig {
            field: "backend",
            reason: format!("{kind:?} is not one of {:?}", storage.kinds()),
        }),
        other => Ok(other),
    }
}
