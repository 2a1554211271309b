//! The catalog: which logs a store holds, as an event log of its own
//! (created, metadata updated, archived, unarchived, deleted), materialized
//! in memory with the history a listing cursor needs.
//!
//! Every state an entry has had since the store opened is kept as a
//! version stamped with the catalog seq of its event, so a listing can read
//! the catalog *as of* the seq its first page saw: logs added or updated
//! between pages then neither skip nor repeat (Codex's own listing loses
//! threads created in the same second as a page boundary). What the store
//! loaded from a snapshot has one version each; cursors older than that
//! are expired.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::{CorruptKind, Error, LogId, Result, Seq};

/// What the store knows of one log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogInfo {
    /// Its id.
    pub id: LogId,
    /// When it was created (ms since the epoch, the store's clock).
    pub created_ms: i64,
    /// When its catalog entry last changed (metadata, archive state).
    pub updated_ms: i64,
    /// Whether it is archived.
    pub archived: bool,
    /// The caller's metadata (any JSON; an object for field filters).
    pub metadata: serde_json::Value,
    /// Where the log forks from, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
    /// The backend kind its records live in (`None`: the storage's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

/// A fork's origin: the child's seqs below `end` are the parent's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// The log forked from.
    pub parent: LogId,
    /// The first seq that is the child's own (exclusive end of the prefix).
    pub end: Seq,
}

/// One change to the catalog, as stored in the catalog log (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum CatalogEvent {
    Created {
        id: LogId,
        at_ms: i64,
        metadata: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<Base>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backend: Option<String>,
    },
    MetadataUpdated {
        id: LogId,
        at_ms: i64,
        metadata: serde_json::Value,
    },
    Archived {
        id: LogId,
        at_ms: i64,
    },
    Unarchived {
        id: LogId,
        at_ms: i64,
    },
    Deleted {
        id: LogId,
        at_ms: i64,
    },
    /// A deleted log's records are gone from the storage (no removal to
    /// redo at the next open).
    Removed {
        id: LogId,
    },
}

impl CatalogEvent {
    pub(crate) fn id(&self) -> &LogId {
        match self {
            CatalogEvent::Created { id, .. }
            | CatalogEvent::MetadataUpdated { id, .. }
            | CatalogEvent::Archived { id, .. }
            | CatalogEvent::Unarchived { id, .. }
            | CatalogEvent::Deleted { id, .. }
            | CatalogEvent::Removed { id } => id,
        }
    }
}

/// An entry's state from the catalog seq `seq` on (`None`: deleted).
#[derive(Clone, Debug)]
struct Version {
    seq: u64,
    /// The catalog seq of the `Created` event of this life of the id, so a
    /// log deleted and created again is never taken for its predecessor.
    incarnation: u64,
    info: Option<LogInfo>,
}

/// The catalog's current state and recent history.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    versions: HashMap<LogId, Vec<Version>>,
    /// Live forks of each live log.
    children: HashMap<LogId, BTreeSet<LogId>>,
    /// Live entries by (created, id) and (updated, id).
    by_created: BTreeSet<(i64, LogId)>,
    by_updated: BTreeSet<(i64, LogId)>,
    /// The entry each event since `horizon` changed, by catalog seq.
    changes: BTreeMap<u64, LogId>,
    /// As-of reads below this seq are expired (history before it was
    /// loaded from a snapshot).
    horizon: u64,
    /// The next catalog seq.
    next: u64,
    /// Deleted logs whose records may still be in the storage.
    pending_removal: BTreeSet<LogId>,
}

/// What a snapshot holds: the catalog as of `next`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) version: u32,
    pub(crate) next: u64,
    pub(crate) live: Vec<LogInfo>,
    /// Deleted ids whose removal was not yet confirmed (redone at open).
    pub(crate) deleted: Vec<LogId>,
    /// The catalog seq each live log was created at, in `live`'s order.
    #[serde(default)]
    pub(crate) incarnations: Vec<u64>,
}

/// The snapshot format this build writes and reads.
pub(crate) const SNAPSHOT_VERSION: u32 = 1;

/// The largest seq a fork may start at (far beyond any real log; keeps the
/// lineage's seq arithmetic from overflowing on a damaged catalog).
const MAX_SEQ: u64 = 1 << 62;

impl Catalog {
    /// The catalog a snapshot describes, after checking that it is one:
    /// unique ids, live parents, no cycles, seqs within bounds.
    pub(crate) fn from_snapshot(snapshot: Snapshot) -> Result<Catalog> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "catalog snapshot",
                found: snapshot.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        let damage = || catalog_damage(snapshot.next);
        let live: HashMap<&LogId, &LogInfo> = snapshot.live.iter().map(|i| (&i.id, i)).collect();
        let deleted: BTreeSet<&LogId> = snapshot.deleted.iter().collect();
        if live.len() != snapshot.live.len()
            || deleted.len() != snapshot.deleted.len()
            || deleted.iter().any(|id| live.contains_key(id))
        {
            return Err(damage());
        }
        for info in &snapshot.live {
            // Walk up the parents: each must be live, and the walk must end.
            let mut at = info;
            for _ in 0..=live.len() {
                let Some(base) = &at.base else { break };
                if base.end.0 > MAX_SEQ {
                    return Err(damage());
                }
                at = live.get(&base.parent).ok_or_else(damage)?;
            }
            if at.base.is_some() {
                return Err(damage());
            }
        }
        let mut catalog = Catalog {
            horizon: snapshot.next,
            next: snapshot.next,
            ..Catalog::default()
        };
        let stamp = snapshot.next.saturating_sub(1);
        let incarnations = snapshot
            .incarnations
            .iter()
            .copied()
            .chain(std::iter::repeat(0));
        for (info, incarnation) in snapshot.live.into_iter().zip(incarnations) {
            catalog.index(&info);
            catalog.versions.insert(
                info.id.clone(),
                vec![Version {
                    seq: stamp,
                    incarnation,
                    info: Some(info),
                }],
            );
        }
        catalog.pending_removal = snapshot.deleted.into_iter().collect();
        Ok(catalog)
    }

    /// The snapshot of the current state.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut live: Vec<(LogInfo, u64)> = self
            .versions
            .values()
            .filter_map(|v| v.last())
            .filter_map(|v| v.info.clone().map(|info| (info, v.incarnation)))
            .collect();
        live.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        Snapshot {
            version: SNAPSHOT_VERSION,
            next: self.next,
            incarnations: live.iter().map(|(_, inc)| *inc).collect(),
            live: live.into_iter().map(|(info, _)| info).collect(),
            deleted: self.pending_removal.iter().cloned().collect(),
        }
    }

    /// The next catalog seq.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// The oldest catalog seq an as-of read may name.
    pub(crate) fn horizon(&self) -> u64 {
        self.horizon
    }

    /// A live log's current state.
    pub(crate) fn get(&self, id: &LogId) -> Option<&LogInfo> {
        self.versions.get(id)?.last()?.info.as_ref()
    }

    /// Ids whose current state is deleted.
    pub(crate) fn deleted(&self) -> Vec<LogId> {
        self.pending_removal.iter().cloned().collect()
    }

    /// Whether `id` was deleted and its records may still be stored.
    pub(crate) fn removal_pending(&self, id: &LogId) -> bool {
        self.pending_removal.contains(id)
    }

    /// The catalog seq of the live log `id`'s creation.
    pub(crate) fn incarnation(&self, id: &LogId) -> Option<u64> {
        let last = self.versions.get(id)?.last()?;
        last.info.as_ref().map(|_| last.incarnation)
    }

    /// Number of live logs.
    pub(crate) fn len(&self) -> usize {
        self.by_created.len()
    }

    /// Checks that `event` may follow the current state (the store calls it
    /// before writing the event; replay calls it through `apply`).
    pub(crate) fn check(&self, event: &CatalogEvent) -> Result<()> {
        let live = self.get(event.id()).is_some();
        match event {
            CatalogEvent::Created {
                base: Some(base), ..
            } if self.get(&base.parent).is_none() => {
                return Err(Error::NotFound {
                    id: base.parent.as_str().to_owned(),
                });
            }
            CatalogEvent::Deleted { id, .. } => {
                if let Some(children) = self.children.get(id).filter(|c| !c.is_empty()) {
                    let names: Vec<&str> = children.iter().map(LogId::as_str).collect();
                    return Err(Error::HasChildren {
                        id: id.as_str().to_owned(),
                        children: names.join(", "),
                    });
                }
            }
            _ => {}
        }
        let ok = match event {
            CatalogEvent::Created { .. } => !live,
            CatalogEvent::Removed { id } => self.pending_removal.contains(id),
            _ => live,
        };
        if ok {
            Ok(())
        } else if live {
            Err(Error::AlreadyExists {
                id: event.id().as_str().to_owned(),
            })
        } else {
            Err(Error::NotFound {
                id: event.id().as_str().to_owned(),
            })
        }
    }

    /// Applies the event stored at catalog seq `seq` (the next one).
    pub(crate) fn apply(&mut self, seq: u64, event: CatalogEvent) -> Result<()> {
        if seq != self.next {
            return Err(catalog_damage(seq));
        }
        self.check(&event).map_err(|_| catalog_damage(seq))?;
        let id = event.id().clone();
        match &event {
            CatalogEvent::Removed { .. } => {
                // Nothing a reader sees changes.
                self.pending_removal.remove(&id);
                self.next = seq + 1;
                return Ok(());
            }
            CatalogEvent::Deleted { .. } => {
                self.pending_removal.insert(id.clone());
            }
            CatalogEvent::Created { base, .. }
                if base.as_ref().is_some_and(|b| b.end.0 > MAX_SEQ) =>
            {
                return Err(catalog_damage(seq));
            }
            _ => {}
        }
        let incarnation = match &event {
            CatalogEvent::Created { .. } => seq,
            _ => self.incarnation(&id).unwrap_or(seq),
        };
        let before = self.get(&id).cloned();
        let after = match (event, before.clone()) {
            (
                CatalogEvent::Created {
                    id,
                    at_ms,
                    metadata,
                    base,
                    backend,
                },
                _,
            ) => Some(LogInfo {
                id,
                created_ms: at_ms,
                updated_ms: at_ms,
                archived: false,
                metadata,
                base,
                backend,
            }),
            (
                CatalogEvent::MetadataUpdated {
                    at_ms, metadata, ..
                },
                Some(info),
            ) => Some(LogInfo {
                updated_ms: at_ms,
                metadata,
                ..info
            }),
            (CatalogEvent::Archived { at_ms, .. }, Some(info)) => Some(LogInfo {
                updated_ms: at_ms,
                archived: true,
                ..info
            }),
            (CatalogEvent::Unarchived { at_ms, .. }, Some(info)) => Some(LogInfo {
                updated_ms: at_ms,
                archived: false,
                ..info
            }),
            (CatalogEvent::Deleted { .. }, Some(_)) => None,
            // `check` ruled these out (and `Removed` returned above).
            (_, None) | (CatalogEvent::Removed { .. }, _) => return Err(catalog_damage(seq)),
        };
        if let Some(info) = &before {
            self.unindex(info);
        }
        if let Some(info) = &after {
            self.index(info);
        }
        self.versions.entry(id.clone()).or_default().push(Version {
            seq,
            incarnation,
            info: after,
        });
        self.changes.insert(seq, id);
        self.next = seq + 1;
        Ok(())
    }

    fn index(&mut self, info: &LogInfo) {
        self.by_created.insert((info.created_ms, info.id.clone()));
        self.by_updated.insert((info.updated_ms, info.id.clone()));
        if let Some(base) = &info.base {
            self.children
                .entry(base.parent.clone())
                .or_default()
                .insert(info.id.clone());
        }
    }

    fn unindex(&mut self, info: &LogInfo) {
        self.by_created.remove(&(info.created_ms, info.id.clone()));
        self.by_updated.remove(&(info.updated_ms, info.id.clone()));
        if let Some(base) = &info.base
            && let Some(children) = self.children.get_mut(&base.parent)
        {
            children.remove(&info.id);
        }
    }

    /// Live entries by (created, id) or (updated, id), current state.
    pub(crate) fn index_by(&self, updated: bool) -> &BTreeSet<(i64, LogId)> {
        if updated {
            &self.by_updated
        } else {
            &self.by_created
        }
    }

    /// The ids changed by events at or after `seq`.
    pub(crate) fn changed_since(&self, seq: u64) -> BTreeSet<&LogId> {
        self.changes.range(seq..).map(|(_, id)| id).collect()
    }

    /// The state of `id` as the catalog stood before seq `as_of`, if that
    /// is the same life of the id as now (a log deleted and created again
    /// since is another log).
    pub(crate) fn state_at(&self, id: &LogId, as_of: u64) -> Option<&LogInfo> {
        let now = self.incarnation(id)?;
        let then = self
            .versions
            .get(id)?
            .iter()
            .rev()
            .find(|v| v.seq < as_of)?;
        then.info.as_ref().filter(|_| then.incarnation == now)
    }
}

/// An event the catalog cannot follow: only damage (or another writer that
/// ignored the lock) puts one there.
fn catalog_damage(seq: u64) -> Error {
    Error::Corrupt {
        object: "store catalog".to_owned(),
        offset: seq,
        kind: CorruptKind::BadField {
            field: "catalog event",
            value: seq,
        },
    }
}
