//! Session bundles (issue 8 item 5): one directory per session holding its
//! transcript and its side logs (debug lines, raw API request/response
//! records, approval events, metadata events) as spool logs, so everything
//! a session produced lives, and is verified, in one place.
//!
//! Opt-in: a disabled bundle touches nothing on disk, and every append to
//! it is a no-op that says so (`Ok(None)`). A bundle that cannot be made
//! (permissions, a full disk) is a typed error, or, if the caller chose
//! `BundleFallback::Disable`, a disabled bundle that keeps the reason
//! ([`SessionBundle::degraded`]) so the caller can report it.
//!
//! Layout: `<root>/<session id>/`, a spool store (segmented logs) with the
//! logs `transcript`, `debug`, `api`, `approvals` and `metadata`. All file
//! access goes through the given `Vfs`, so the failure paths are tested
//! with injected faults (CI runs as root, where permissions deny nothing).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use spool_backends::{DirStorage, LogFormat, SegmentedConfig};
use spool_engine::{Log, LogId, Seq, Store, StoreConfig, Vfs};
use uuid::Uuid;

use crate::error::{CodexError, Result};

/// One log of a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SideLog {
    /// The session's transcript (rollout lines).
    Transcript,
    /// Debug log lines.
    Debug,
    /// Raw API request and response records.
    Api,
    /// Approval events.
    Approvals,
    /// Metadata events.
    Metadata,
}

impl SideLog {
    /// Every side log.
    pub const ALL: [SideLog; 5] = [
        SideLog::Transcript,
        SideLog::Debug,
        SideLog::Api,
        SideLog::Approvals,
        SideLog::Metadata,
    ];

    /// Its log id in the bundle's store.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SideLog::Transcript => "transcript",
            SideLog::Debug => "debug",
            SideLog::Api => "api",
            SideLog::Approvals => "approvals",
            SideLog::Metadata => "metadata",
        }
    }
}

/// What to do when a bundle cannot be made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BundleFallback {
    /// Return the error. Default.
    #[default]
    Fail,
    /// Go on without a bundle, keeping the reason.
    Disable,
}

/// Where and whether bundles are kept.
#[derive(Clone, Debug)]
pub struct BundleConfig {
    /// The directory holding one bundle per session; `None` disables
    /// bundles.
    pub root: Option<PathBuf>,
    /// The file system (`StdFs` in production).
    pub vfs: Arc<dyn Vfs>,
    /// What to do when a bundle cannot be made.
    pub fallback: BundleFallback,
    /// The segmented logs' configuration.
    pub segments: SegmentedConfig,
}

/// A session's bundle (possibly disabled).
#[derive(Debug)]
pub struct SessionBundle {
    store: Option<Store>,
    degraded: Option<CodexError>,
}

impl SessionBundle {
    /// Opens (creating if needed) the bundle of `session`.
    pub async fn open(config: &BundleConfig, session: &Uuid) -> Result<SessionBundle> {
        let Some(root) = &config.root else {
            return Ok(SessionBundle {
                store: None,
                degraded: None,
            });
        };
        match make(config, &root.join(session.to_string())).await {
            Ok(store) => Ok(SessionBundle {
                store: Some(store),
                degraded: None,
            }),
            Err(error) if config.fallback == BundleFallback::Disable => Ok(SessionBundle {
                store: None,
                degraded: Some(error),
            }),
            Err(error) => Err(error),
        }
    }

    /// Whether the bundle writes anything.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// Why a requested bundle was disabled, if it was.
    #[must_use]
    pub fn degraded(&self) -> Option<&CodexError> {
        self.degraded.as_ref()
    }

    /// The log `side`, if the bundle is enabled.
    pub async fn log(&self, side: SideLog) -> Result<Option<Log>> {
        match &self.store {
            Some(store) => Ok(Some(store.open_log(&LogId::new(side.name())?).await?)),
            None => Ok(None),
        }
    }

    /// Appends `payload` to `side`: its seq, or `None` for a disabled
    /// bundle. A failure (a full disk) is the log's typed error; what was
    /// appended before stays.
    pub async fn append(&self, side: SideLog, payload: impl Into<Bytes>) -> Result<Option<Seq>> {
        let Some(log) = self.log(side).await? else {
            return Ok(None);
        };
        Ok(Some(log.append(payload).await?))
    }

    /// Closes the bundle's store.
    pub async fn close(self) -> Result<()> {
        if let Some(store) = self.store {
            store.close().await?;
        }
        Ok(())
    }
}

/// Makes the bundle's store at `dir` with its five logs.
async fn make(config: &BundleConfig, dir: &std::path::Path) -> Result<Store> {
    let storage = DirStorage::new(
        Arc::clone(&config.vfs),
        dir,
        LogFormat::Segmented(config.segments.clone()),
    )?;
    let store = Store::open(Arc::new(storage), StoreConfig::default()).await?;
    for side in SideLog::ALL {
        let id = LogId::new(side.name())?;
        if store.info(&id).is_err() {
            store.create(&id, json!({"bundle": side.name()})).await?;
        }
    }
    Ok(store)
}
