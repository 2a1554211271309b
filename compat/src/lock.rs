//! Codex's cross-process writer lock: an exclusive, non-blocking advisory
//! lock on `CODEX_HOME/thread-writer-locks/<thread-id>.lock`, taken before
//! creating, resuming, archiving, deleting or reverting a thread, and
//! deleted on release (ROLLOUT-FORMAT.md §1.8). spool takes the same lock
//! through the same `flock`, so a spool writer and a Codex 0.169 writer
//! exclude each other.

use std::path::{Path, PathBuf};

use spool_backends::StdFs;
use spool_engine::{Vfs, VfsLock};
use uuid::Uuid;

use crate::error::{CodexError, Result};

/// A held writer lock; dropping it deletes the lock file and releases it.
#[derive(Debug)]
pub struct WriterLock {
    path: PathBuf,
    lock: Option<Box<dyn VfsLock>>,
}

impl WriterLock {
    /// The lock file of `thread` in `codex_home`.
    #[must_use]
    pub fn path(codex_home: &Path, thread: &Uuid) -> PathBuf {
        codex_home
            .join("thread-writer-locks")
            .join(format!("{thread}.lock"))
    }

    /// Takes the lock, or fails with `Conflict` if another writer holds it.
    pub fn take(codex_home: &Path, thread: &Uuid) -> Result<WriterLock> {
        let path = WriterLock::path(codex_home, thread);
        let dir = codex_home.join("thread-writer-locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| CodexError::io("create lock directory", &dir, e))?;
        match StdFs.lock(&path) {
            Ok(lock) => Ok(WriterLock {
                path,
                lock: Some(lock),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(CodexError::Conflict {
                id: thread.to_string(),
                lock: path,
            }),
            Err(e) => Err(CodexError::io("take writer lock", path, e)),
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Codex deletes lock files on release (and sweeps stale ones): a
        // failure here leaves a stale, unlocked file, which is harmless.
        let _ = std::fs::remove_file(&self.path);
        drop(self.lock.take());
    }
}
