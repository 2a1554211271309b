//! Codex's cross-process writer lock: an exclusive, non-blocking advisory
//! lock on `CODEX_HOME/thread-writer-locks/<thread-id>.lock`, taken before
//! creating, resuming, archiving, deleting or reverting a thread, and
//! deleted on release (ROLLOUT-FORMAT.md §1.8). spool takes the same lock
//! through the same `flock`, so a spool writer and a Codex 0.169 writer
//! exclude each other.
//!
//! Deleting on release has a race: a taker may open the file, the holder
//! unlink and unlock it, and the taker then lock the unlinked inode while a
//! third party creates and locks a fresh file at the path. So a lock only
//! counts once the locked file is still the one at the path (same device
//! and inode); otherwise it is dropped and taken again.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::error::{CodexError, Result};

/// Attempts before giving up on a lock file that keeps being replaced.
const ATTEMPTS: usize = 16;

/// A held writer lock; dropping it deletes the lock file and releases it.
#[derive(Debug)]
pub struct WriterLock {
    path: PathBuf,
    file: Option<File>,
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
        let conflict = || CodexError::Conflict {
            id: thread.to_string(),
            lock: path.clone(),
        };
        for _ in 0..ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| CodexError::io("open writer lock", &path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(conflict()),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(CodexError::io("take writer lock", &path, e));
                }
            }
            let held = file
                .metadata()
                .map_err(|e| CodexError::io("stat writer lock", &path, e))?;
            match std::fs::metadata(&path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(WriterLock {
                        path,
                        file: Some(file),
                    });
                }
                // Unlinked or replaced under us: this lock guards nothing.
                _ => {}
            }
        }
        Err(conflict())
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Codex deletes lock files on release (and sweeps stale ones): a
        // failure here leaves a stale, unlocked file, which is harmless.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}
