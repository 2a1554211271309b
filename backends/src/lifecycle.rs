//! The lifecycle every file backend shares: the one writer's cross-process
//! lock (P8), read-only handles for readers beside it, close, and the
//! poison of P7 (after a failed write or fsync, every later write or sync
//! fails until reopen; nothing is retried).
//!
//! One copy, so the JSONL and segmented backends cannot drift apart on
//! what a poisoned or closed log answers.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use spool_engine::{Error, Result, Vfs, VfsLock};

/// Takes the writer lock at `path`: `Locked` if another writer holds it.
pub(crate) fn take_lock(vfs: &dyn Vfs, path: &Path) -> Result<Box<dyn VfsLock>> {
    vfs.lock(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                object: path.display().to_string(),
            }
        } else {
            Error::io("lock log", e)
        }
    })
}

/// Closed, read-only and poisoned state of one open log.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    /// Names the log in `ReadOnly` errors.
    object: String,
    closed: AtomicBool,
    poisoned: Mutex<Option<Error>>,
    /// `None` for readers; dropped (released) at close.
    lock: Mutex<Option<Box<dyn VfsLock>>>,
    read_only: bool,
}

impl Lifecycle {
    /// The state of a log opened as the writer (`lock` held) or as a reader.
    pub(crate) fn new(object: &Path, lock: Option<Box<dyn VfsLock>>) -> Lifecycle {
        Lifecycle {
            object: object.display().to_string(),
            closed: AtomicBool::new(false),
            poisoned: Mutex::new(None),
            read_only: lock.is_none(),
            lock: Mutex::new(lock),
        }
    }

    /// Whether this handle is a reader's.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    /// `Closed` once closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// `Closed`, `ReadOnly` or `Poisoned` unless writes may proceed.
    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.read_only {
            return Err(Error::ReadOnly {
                object: self.object.clone(),
            });
        }
        match self.poisoned() {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Records the first failure (later ones keep it) and returns `error`.
    pub(crate) fn poison(&self, error: Error) -> Error {
        let mut slot = self.poisoned.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(error.clone());
        }
        error
    }

    /// The failure that poisoned the log, if any.
    pub(crate) fn poisoned(&self) -> Option<Error> {
        self.poisoned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks the log closed; `Closed` if it already was.
    pub(crate) fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Lets the next writer in (at close).
    pub(crate) fn release_lock(&self) {
        self.lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// The directory holding `path` (`.` for a bare name), whose fsync makes
/// `path`'s entry durable; `None` for a root, which no directory holds.
pub(crate) fn parent_dir(path: &Path) -> Option<&Path> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => Some(parent),
        Some(_) => Some(Path::new(".")),
        None => None,
    }
}

/// Creates `dir` and its missing parents, each entry made durable (the
/// directory holding it fsynced), `dir`'s own entry always, even when it
/// already existed (a process may have died between creating it and
/// syncing its parent): a log acknowledged as durable must not vanish with
/// its directory in a power loss.
pub fn create_dir_durably(vfs: &dyn Vfs, dir: &Path) -> Result<()> {
    let mut entries = vec![dir];
    let mut at = dir;
    while let Some(parent) = at.parent().filter(|p| !p.as_os_str().is_empty()) {
        match vfs.list(parent) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => entries.push(parent),
            _ => break,
        }
        at = parent;
    }
    vfs.create_dir_all(dir)
        .map_err(|e| Error::io("create directory", e))?;
    // Outermost first, so each entry is synced in a directory that is.
    for parent in entries.iter().rev().filter_map(|e| parent_dir(e)) {
        vfs.sync_dir(parent)
            .map_err(|e| Error::io("sync directory", e))?;
    }
    Ok(())
}
