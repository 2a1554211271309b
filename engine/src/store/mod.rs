//! The store: many logs under one root, found by id through a catalog.
//!
//! The catalog is itself an event-sourced log (`_catalog`): every create,
//! metadata update, archive, unarchive and delete is one JSON event,
//! appended at `Durability::Data` before the store acts on it, and the
//! materialized state is kept in memory. A snapshot of that state (a blob,
//! `_catalog-snapshot`) is written every `snapshot_every` events and at
//! close, so opening a store replays only the events after it.
//!
//! Crash order, so that the catalog and the logs never disagree for long:
//! a log's `Created` event is durable before its backend is made (a crash
//! between leaves an entry whose backend `Storage::open` creates empty on
//! first use: no orphan, no lost log); a `Deleted` event is durable before
//! the backend is removed (a crash between is repaired at the next open,
//! which redoes the removal of every deleted id).
//!
//! Ids starting with `_` are the store's own; callers get `InvalidLogId`.

mod catalog;
mod lineage;
mod listing;
mod projection;
mod storage;
mod subscription;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;

pub use catalog::{Base, LogInfo};
pub use listing::{Archived, ListPage, ListQuery, MAX_LIST_LIMIT, Order, SortKey};
pub use projection::{Projected, Projection};
pub use storage::Storage;
pub use subscription::{StoreEvent, Subscription};

use crate::{
    Backend, Clock, CorruptKind, Direction, Durability, Error, Log, LogConfig, LogId, Result, Seq,
    SystemClock,
};
use catalog::{Catalog, CatalogEvent, Snapshot};
pub use lineage::Lineage;

/// The catalog log's id.
const CATALOG: &str = "_catalog";
/// The catalog snapshot blob's name.
const SNAPSHOT: &str = "_catalog-snapshot";
/// Largest snapshot blob read at open (checked before allocating).
const SNAPSHOT_MAX_BYTES: usize = 1 << 30;

/// Configuration of a [`Store`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The configuration of every log the store opens (the catalog's own
    /// appends are always `Durability::Data`).
    pub log: LogConfig,
    /// Catalog events between snapshots. Default: 10,000.
    pub snapshot_every: u64,
    /// Events a subscriber may fall behind before it is told it lagged.
    /// Default: 4,096.
    pub subscription_capacity: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            log: LogConfig::default(),
            snapshot_every: 10_000,
            subscription_capacity: 4_096,
        }
    }
}

/// What opening a store read, for operators and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOpenReport {
    /// Catalog events the snapshot covered (not replayed).
    pub from_snapshot: u64,
    /// Catalog events replayed after the snapshot.
    pub replayed: u64,
    /// Deleted logs whose removal was redone.
    pub removals_redone: u64,
}

/// Many logs under one root. Cheap to clone; clones share the store.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    storage: Arc<dyn Storage>,
    config: StoreConfig,
    clock: Arc<dyn Clock>,
    catalog_log: Log,
    catalog: RwLock<Catalog>,
    /// Serializes catalog changes: check, append, apply.
    changes: tokio::sync::Mutex<()>,
    /// Open handles, shared by every caller of `open_log`.
    open: Mutex<HashMap<LogId, Log>>,
    /// Serializes the opening of backends.
    opening: tokio::sync::Mutex<()>,
    /// The catalog seq the last snapshot covers.
    snapshot_next: AtomicU64,
    report: StoreOpenReport,
    events: tokio::sync::broadcast::Sender<StoreEvent>,
    /// False for [`Store::open_read_only`]: close takes no snapshot.
    writable: bool,
}

impl Store {
    /// Opens the store in `storage` (an empty storage is an empty store),
    /// with timestamps from the system clock.
    pub async fn open(storage: Arc<dyn Storage>, config: StoreConfig) -> Result<Store> {
        Store::open_with_clock(storage, config, Arc::new(SystemClock)).await
    }

    /// Opens the store with an explicit [`Clock`].
    pub async fn open_with_clock(
        storage: Arc<dyn Storage>,
        config: StoreConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        Store::open_as(storage, config, clock, true).await
    }

    /// Opens the store in a read-only `storage` (one whose backends are
    /// readers beside another process's writer, such as
    /// `DirStorage::read_only`): the catalog as it was written when opened,
    /// logs to read. Nothing is repaired or written: removals a crash
    /// interrupted are not redone, no snapshot is taken, and every change
    /// (create, append, metadata) fails with `ReadOnly`.
    pub async fn open_read_only(storage: Arc<dyn Storage>, config: StoreConfig) -> Result<Store> {
        Store::open_as(storage, config, Arc::new(SystemClock), false).await
    }

    async fn open_as(
        storage: Arc<dyn Storage>,
        config: StoreConfig,
        clock: Arc<dyn Clock>,
        writable: bool,
    ) -> Result<Store> {
        config.log.validate()?;
        if config.subscription_capacity == 0 {
            return Err(Error::InvalidConfig {
                field: "subscription_capacity",
                reason: "must be at least 1".into(),
            });
        }
        let id = reserved(CATALOG);
        let backend = storage.open(&id, None).await?;
        let catalog_log = Log::open_with_clock(
            id,
            backend,
            LogConfig {
                durability: Durability::Data,
                ..config.log.clone()
            },
            Arc::clone(&clock),
        )?;
        let mut catalog = match storage.get_blob(&reserved(SNAPSHOT)).await? {
            Some(bytes) => Catalog::from_snapshot(decode_snapshot(&bytes)?)?,
            None => Catalog::default(),
        };
        let end = catalog_log.next_seq();
        if catalog.next() > end.0 {
            // The snapshot covers events the catalog log no longer has.
            return Err(Error::Corrupt {
                object: "store catalog".to_owned(),
                offset: end.0,
                kind: CorruptKind::Truncated {
                    needed: catalog.next(),
                    available: end.0,
                },
            });
        }
        let snapshot_next = catalog.next();
        replay(&catalog_log, &mut catalog, end).await?;
        let deleted = catalog.deleted();
        let report = StoreOpenReport {
            from_snapshot: snapshot_next,
            replayed: catalog.next() - snapshot_next,
            removals_redone: if writable { deleted.len() as u64 } else { 0 },
        };
        let store = Store {
            inner: Arc::new(Inner {
                storage,
                clock,
                catalog_log,
                catalog: RwLock::new(catalog),
                changes: tokio::sync::Mutex::new(()),
                open: Mutex::new(HashMap::new()),
                opening: tokio::sync::Mutex::new(()),
                snapshot_next: AtomicU64::new(snapshot_next),
                report,
                events: tokio::sync::broadcast::channel(config.subscription_capacity).0,
                writable,
                config,
            }),
        };
        if !writable {
            return Ok(store);
        }
        // A crash (or a failed removal) may have come between a delete's
        // event and the removal of its records: finish them.
        if !deleted.is_empty() {
            let guard = store.inner.changes.lock().await;
            for id in deleted {
                store.remove_records(&guard, &id).await?;
            }
        }
        store.snapshot_if_due().await?;
        Ok(store)
    }

    /// Creates log `id` with `metadata` in the storage's default backend,
    /// and opens it.
    pub async fn create(&self, id: &LogId, metadata: serde_json::Value) -> Result<Log> {
        self.create_in(id, None, metadata).await
    }

    /// Creates log `id` in backend `kind` (one of the storage's
    /// [`kinds`](Storage::kinds), e.g. `"jsonl"` beside segmented logs), and
    /// opens it. The choice is recorded in the catalog.
    pub async fn create_in(
        &self,
        id: &LogId,
        kind: Option<&str>,
        metadata: serde_json::Value,
    ) -> Result<Log> {
        check_not_reserved(id)?;
        // The default is recorded too, so a root reopened with another
        // default still finds every log where it is.
        let kind = storage::resolve_kind(self.inner.storage.as_ref(), kind)?
            .or_else(|| self.inner.storage.kinds().first().copied());
        self.create_entry(CatalogEvent::Created {
            id: id.clone(),
            at_ms: self.inner.clock.now_ms(),
            metadata,
            base: None,
            backend: kind.map(str::to_owned),
        })
        .await?;
        self.open_log(id).await
    }

    /// Creates log `child` whose seqs below `end` are `parent`'s records,
    /// without copying them; its own appends start at `end`. A fork at the
    /// parent's end continues it; a fork at an earlier seq is a revert (the
    /// parent's later records stay where they are). Forks of forks work.
    /// The parent's prefix is synced first, so no crash can take it from
    /// under the child; a parent with live forks cannot be deleted.
    pub async fn fork(
        &self,
        parent: &LogId,
        child: &LogId,
        end: Seq,
        metadata: serde_json::Value,
    ) -> Result<Log> {
        check_not_reserved(child)?;
        let parent_log = self.open_log(parent).await?;
        let parent_end = parent_log.next_seq();
        if end > parent_end {
            return Err(Error::SeqPastEnd {
                seq: end,
                end: parent_end,
            });
        }
        parent_log.sync(Durability::Data).await?;
        // The child's own records live in the parent's kind of backend.
        let backend = self.info(parent)?.backend;
        self.create_entry(CatalogEvent::Created {
            id: child.clone(),
            at_ms: self.inner.clock.now_ms(),
            metadata,
            base: Some(Base {
                parent: parent.clone(),
                end,
            }),
            backend,
        })
        .await?;
        self.open_log(child).await
    }

    /// Opens log `id` (the same handle for every caller while it is open).
    pub async fn open_log(&self, id: &LogId) -> Result<Log> {
        let info = self.info(id)?;
        let incarnation = self.read_catalog().incarnation(id);
        if let Some(log) = self.cached(id) {
            return Ok(log);
        }
        // The parent first (its own open takes the opening lock itself).
        let parent = match &info.base {
            Some(base) => Some((Box::pin(self.open_log(&base.parent)).await?, base.end)),
            None => None,
        };
        // One open at a time: a second backend on the same log would be
        // refused by its writer lock.
        let _opening = self.inner.opening.lock().await;
        if let Some(log) = self.cached(id) {
            return Ok(log);
        }
        // Deleted (or deleted and created again) while this call waited:
        // never open a backend for a log the catalog no longer has.
        if self.read_catalog().incarnation(id) != incarnation {
            return Err(Error::NotFound {
                id: id.as_str().to_owned(),
            });
        }
        let own = self.inner.storage.open(id, info.backend.as_deref()).await?;
        let backend: Arc<dyn Backend> = match parent {
            None => own,
            Some((parent, end)) => Arc::new(Lineage::new(parent.backend(), end, own)),
        };
        let log = Log::open_with_clock(
            id.clone(),
            backend,
            self.inner.config.log.clone(),
            Arc::clone(&self.inner.clock),
        )?;
        // Under the lock, so no caller can append before the watch starts.
        let mut open = self.open_handles();
        self.announce_appends(&log);
        open.insert(id.clone(), log.clone());
        Ok(log)
    }

    /// The shared handle of `id`, unless a caller closed it (then it is
    /// dropped, and the next open makes a new one).
    fn cached(&self, id: &LogId) -> Option<Log> {
        let mut open = self.open_handles();
        match open.get(id) {
            Some(log) if log.is_closed() => {
                open.remove(id);
                None
            }
            other => other.cloned(),
        }
    }

    /// The catalog seq of live log `id`'s creation (projections key their
    /// checkpoints with it).
    pub(crate) fn incarnation(&self, id: &LogId) -> Option<u64> {
        self.read_catalog().incarnation(id)
    }

    /// A live feed of this store's events from now on (see
    /// [`StoreEvent`]). Appends are seen for logs opened through this store.
    pub fn subscribe(&self) -> Subscription {
        Subscription::new(self.inner.events.subscribe())
    }

    /// Publishes each advance of `log`'s visible end until it closes. The
    /// task holds only the log's watch and the sender, never the writer.
    fn announce_appends(&self, log: &Log) {
        let mut visible = log.visible_watch();
        let events = self.inner.events.clone();
        let id = log.id().clone();
        // Read now, not in the task: appends may come before it first runs.
        let mut seen = *visible.borrow_and_update();
        crate::rt::spawn(async move {
            while visible.changed().await.is_ok() {
                let end = *visible.borrow_and_update();
                if end > seen {
                    // No subscriber is fine: nobody is listening.
                    let _ = events.send(StoreEvent::Appended {
                        id: id.clone(),
                        seqs: crate::SeqRange { start: seen, end },
                    });
                    seen = end;
                }
            }
        });
    }

    /// What the catalog holds for live log `id`.
    pub fn info(&self, id: &LogId) -> Result<LogInfo> {
        self.read_catalog()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                id: id.as_str().to_owned(),
            })
    }

    /// Replaces log `id`'s metadata.
    pub async fn update_metadata(
        &self,
        id: &LogId,
        metadata: serde_json::Value,
    ) -> Result<LogInfo> {
        self.change(CatalogEvent::MetadataUpdated {
            id: id.clone(),
            at_ms: self.inner.clock.now_ms(),
            metadata,
        })
        .await?;
        self.info(id)
    }

    /// Marks log `id` archived (listings exclude it by default).
    pub async fn archive(&self, id: &LogId) -> Result<LogInfo> {
        self.change(CatalogEvent::Archived {
            id: id.clone(),
            at_ms: self.inner.clock.now_ms(),
        })
        .await?;
        self.info(id)
    }

    /// Marks log `id` live again.
    pub async fn unarchive(&self, id: &LogId) -> Result<LogInfo> {
        self.change(CatalogEvent::Unarchived {
            id: id.clone(),
            at_ms: self.inner.clock.now_ms(),
        })
        .await?;
        self.info(id)
    }

    /// Deletes log `id` and its records. Open handles to it are closed.
    /// The whole delete holds the catalog's lock, so no create of the same
    /// id can slip in before the records are gone.
    pub async fn delete(&self, id: &LogId) -> Result<()> {
        let guard = self.inner.changes.lock().await;
        self.append_event(
            &guard,
            CatalogEvent::Deleted {
                id: id.clone(),
                at_ms: self.inner.clock.now_ms(),
            },
        )
        .await?;
        {
            // No open of the id may run meanwhile either.
            let _opening = self.inner.opening.lock().await;
            let handle = self.open_handles().remove(id);
            if let Some(log) = handle {
                // Already closed by a caller is fine; the removal follows.
                let _ = log.close().await;
            }
            self.remove_records(&guard, id).await?;
        }
        drop(guard);
        self.snapshot_if_due().await
    }

    /// One page of the store's logs (see [`ListQuery`]); pass the previous
    /// page's `next` to continue.
    pub fn list(&self, query: &ListQuery, cursor: Option<&str>, limit: usize) -> Result<ListPage> {
        listing::list(&self.read_catalog(), query, cursor, limit)
    }

    /// What opening the store read.
    #[must_use]
    pub fn open_report(&self) -> StoreOpenReport {
        self.inner.report
    }

    /// Number of live logs.
    pub fn len(&self) -> usize {
        self.read_catalog().len()
    }

    /// Whether the store has no live logs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes a catalog snapshot now, so the next open replays nothing.
    pub async fn checkpoint(&self) -> Result<()> {
        let _guard = self.inner.changes.lock().await;
        self.write_snapshot().await
    }

    /// Closes every open log and the catalog, after a final snapshot.
    pub async fn close(&self) -> Result<()> {
        let handles: Vec<Log> = self.open_handles().drain().map(|(_, log)| log).collect();
        let mut first_error = None;
        for log in handles {
            if let Err(e) = log.close().await
                && !matches!(e, Error::Closed)
            {
                first_error.get_or_insert(e);
            }
        }
        let _guard = self.inner.changes.lock().await;
        if self.inner.writable
            && self.read_catalog().next() != self.inner.snapshot_next.load(Ordering::Acquire)
        {
            self.write_snapshot().await?;
        }
        self.inner.catalog_log.close().await?;
        first_error.map_or(Ok(()), Err)
    }

    /// Checks, appends and applies one catalog event.
    async fn change(&self, event: CatalogEvent) -> Result<()> {
        let guard = self.inner.changes.lock().await;
        self.append_event(&guard, event).await?;
        drop(guard);
        self.snapshot_if_due().await
    }

    /// Checks, appends and applies one catalog event; the caller holds the
    /// `changes` lock (`_held` proves it).
    async fn append_event(
        &self,
        _held: &tokio::sync::MutexGuard<'_, ()>,
        event: CatalogEvent,
    ) -> Result<()> {
        self.read_catalog().check(&event)?;
        let payload = serde_json::to_vec(&event).map_err(|e| Error::Codec {
            codec: crate::CodecKind::Json,
            op: "encode",
            message: e.to_string(),
        })?;
        // Expecting the end this store has applied: if another process
        // appended to the catalog since (two writers of a store on a remote
        // stream, which has no writer lock), the event is refused with
        // `Conflict` instead of landing after events this store never
        // checked it against. Reopening the store reads them.
        let expected = Seq(self.read_catalog().next());
        let seq = self
            .inner
            .catalog_log
            .append_expecting(expected, [Bytes::from(payload)])
            .await?
            .start;
        let id = event.id().clone();
        let announce = match &event {
            CatalogEvent::Removed { .. } => None,
            CatalogEvent::Created { .. } => Some(true),
            _ => Some(false),
        };
        self.write_catalog().apply(seq.0, event)?;
        let info = self.read_catalog().get(&id).cloned();
        // No subscriber is fine: nobody is listening.
        let _ = match (announce, info) {
            (None, _) => Ok(0),
            (Some(true), Some(info)) => self.inner.events.send(StoreEvent::Created(info)),
            (Some(false), Some(info)) => self.inner.events.send(StoreEvent::Changed(info)),
            (Some(_), None) => self.inner.events.send(StoreEvent::Deleted(id)),
        };
        Ok(())
    }

    /// Removes a deleted log's records and records that they are gone.
    async fn remove_records(
        &self,
        held: &tokio::sync::MutexGuard<'_, ()>,
        id: &LogId,
    ) -> Result<()> {
        self.inner.storage.remove(id).await?;
        self.append_event(held, CatalogEvent::Removed { id: id.clone() })
            .await
    }

    /// Appends a `Created` event, first finishing the removal of an earlier
    /// log of the same id if a failure or crash left it pending.
    async fn create_entry(&self, event: CatalogEvent) -> Result<()> {
        let guard = self.inner.changes.lock().await;
        let id = event.id().clone();
        if self.read_catalog().removal_pending(&id) {
            self.remove_records(&guard, &id).await?;
        }
        self.append_event(&guard, event).await?;
        drop(guard);
        self.snapshot_if_due().await
    }

    async fn snapshot_if_due(&self) -> Result<()> {
        let due = self.read_catalog().next()
            >= self.inner.snapshot_next.load(Ordering::Acquire) + self.inner.config.snapshot_every;
        if due {
            self.checkpoint().await?;
        }
        Ok(())
    }

    async fn write_snapshot(&self) -> Result<()> {
        let snapshot = self.read_catalog().snapshot();
        let next = snapshot.next;
        let bytes = serde_json::to_vec(&snapshot).map_err(|e| Error::Codec {
            codec: crate::CodecKind::Json,
            op: "encode",
            message: e.to_string(),
        })?;
        self.inner
            .storage
            .put_blob(&reserved(SNAPSHOT), Bytes::from(bytes))
            .await?;
        self.inner.snapshot_next.store(next, Ordering::Release);
        Ok(())
    }

    fn read_catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_catalog(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.inner
            .catalog
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn open_handles(&self) -> std::sync::MutexGuard<'_, HashMap<LogId, Log>> {
        self.inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Applies the catalog events from the catalog's next seq to `end`.
async fn replay(log: &Log, catalog: &mut Catalog, end: Seq) -> Result<()> {
    let mut cursor = Some(log.cursor_at(Seq(catalog.next()), Direction::Forward));
    while let Some(at) = cursor.filter(|c| c.seq() < end) {
        let page = log.read_page(&at, 10_000).await?;
        cursor = page.next;
        for record in page.records {
            let event: CatalogEvent =
                serde_json::from_slice(&record.payload).map_err(|_| Error::Corrupt {
                    object: "store catalog".to_owned(),
                    offset: record.seq.0,
                    kind: CorruptKind::BadField {
                        field: "catalog event",
                        value: record.seq.0,
                    },
                })?;
            catalog.apply(record.seq.0, event)?;
        }
    }
    Ok(())
}

fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot> {
    if bytes.len() > SNAPSHOT_MAX_BYTES {
        return Err(snapshot_damage(bytes.len()));
    }
    serde_json::from_slice(bytes).map_err(|_| snapshot_damage(bytes.len()))
}

fn snapshot_damage(len: usize) -> Error {
    Error::Corrupt {
        object: "store catalog snapshot".to_owned(),
        offset: 0,
        kind: CorruptKind::BadField {
            field: "snapshot length",
            value: len as u64,
        },
    }
}

/// A reserved id (a constant known to follow the naming rule).
fn reserved(name: &str) -> LogId {
    LogId::new(name).unwrap_or_else(|_| unreachable!("reserved ids follow the naming rule"))
}

fn check_not_reserved(id: &LogId) -> Result<()> {
    if id.as_str().starts_with('_') {
        return Err(Error::InvalidLogId {
            id: id.as_str().to_owned(),
            reason: "ids starting with '_' are reserved for the store",
        });
    }
    Ok(())
}
