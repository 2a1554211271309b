//! An in-memory root for a [`Store`](spool_engine::Store): each log is a
//! [`MemoryBackend`], each blob a buffer. For tests, ephemeral stores, and
//! as the store's model-test oracle; [`MemoryStorage::crash`] drops what
//! was never synced, like power loss.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use spool_engine::{Backend, LogId, Result, Storage};

use crate::MemoryBackend;

/// Logs and blobs in memory. Cheap to clone; clones share the root.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    inner: Arc<Mutex<Root>>,
}

#[derive(Debug, Default)]
struct Root {
    logs: HashMap<LogId, MemoryBackend>,
    blobs: HashMap<LogId, Bytes>,
}

impl MemoryStorage {
    /// An empty root.
    #[must_use]
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Simulates power loss for every log: records not synced at
    /// `Durability::Data` are gone. Blobs are durable once put. Open handles
    /// keep working on what is left; a store should be reopened.
    pub fn crash(&self) {
        for log in self.root().logs.values() {
            log.crash();
        }
    }

    /// The ids of the logs held (the catalog included), sorted.
    #[must_use]
    pub fn log_ids(&self) -> Vec<LogId> {
        let mut ids: Vec<LogId> = self.root().logs.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn root(&self) -> std::sync::MutexGuard<'_, Root> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    fn kinds(&self) -> &'static [&'static str] {
        &["memory"]
    }

    async fn open(&self, id: &LogId, _kind: Option<&str>) -> Result<Arc<dyn Backend>> {
        let mut root = self.root();
        let log = root.logs.entry(id.clone()).or_default();
        Ok(Arc::new(log.reopen()))
    }

    async fn remove(&self, id: &LogId) -> Result<()> {
        self.root().logs.remove(id);
        Ok(())
    }

    async fn get_blob(&self, name: &LogId) -> Result<Option<Bytes>> {
        Ok(self.root().blobs.get(name).cloned())
    }

    async fn put_blob(&self, name: &LogId, bytes: Bytes) -> Result<()> {
        self.root().blobs.insert(name.clone(), bytes);
        Ok(())
    }
}
