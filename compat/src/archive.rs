//! Archiving a thread as Codex does (ROLLOUT-FORMAT.md §1.4; §8 cases 52
//! and 53): under the thread's writer lock, every file of the thread moves
//! flat into `archived_sessions/` with its name unchanged; unarchiving moves
//! each back to `sessions/YYYY/MM/DD/` from its name's date and touches its
//! mtime (so it sorts as recently updated). A failure part-way renames the
//! moved files back. Nothing is rewritten: only renames.

use std::path::PathBuf;
use std::time::SystemTime;

use spool_backends::StdFs;
use spool_engine::Vfs;
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::home::CodexHome;
use crate::lock::WriterLock;

impl CodexHome {
    /// Moves every file of thread `id` into `archived_sessions/`. Returns
    /// the new paths. Fails with `Conflict` if a writer holds the thread.
    pub fn archive(&self, id: &Uuid) -> Result<Vec<PathBuf>> {
        let _lock = WriterLock::take(self.root(), id)?;
        let files = self.thread_files(id)?;
        let dir = self.root().join("archived_sessions");
        let moves = files
            .files
            .iter()
            .filter(|f| !f.archived)
            .map(|f| (f.path.clone(), dir.join(f.name.to_string())))
            .collect();
        self.move_all(moves, false)
    }

    /// Moves every archived file of thread `id` back to its dated
    /// directory, touching its mtime. Returns the new paths.
    pub fn unarchive(&self, id: &Uuid) -> Result<Vec<PathBuf>> {
        let _lock = WriterLock::take(self.root(), id)?;
        let files = self.thread_files(id)?;
        let moves = files
            .files
            .iter()
            .filter(|f| f.archived)
            .map(|f| {
                let t = f.name.time;
                let dir = self
                    .root()
                    .join("sessions")
                    .join(format!("{:04}", t.year))
                    .join(format!("{:02}", t.month))
                    .join(format!("{:02}", t.day));
                (f.path.clone(), dir.join(f.name.to_string()))
            })
            .collect();
        self.move_all(moves, true)
    }

    /// Renames each `(from, to)`, never over an existing file; on a failure
    /// renames back what moved, then reports it.
    fn move_all(&self, moves: Vec<(PathBuf, PathBuf)>, touch: bool) -> Result<Vec<PathBuf>> {
        let mut done: Vec<(PathBuf, PathBuf)> = Vec::new();
        for (from, to) in moves {
            let step = (|| {
                let dir = to.parent().unwrap_or(self.root());
                std::fs::create_dir_all(dir)
                    .map_err(|e| CodexError::io("create directory", dir, e))?;
                if to.exists() {
                    return Err(CodexError::Invalid(format!(
                        "{} already exists; spool never overwrites a rollout",
                        to.display()
                    )));
                }
                StdFs
                    .rename(&from, &to)
                    .map_err(|e| CodexError::io("move rollout", &from, e))?;
                if touch {
                    let file = std::fs::File::options()
                        .append(true)
                        .open(&to)
                        .map_err(|e| CodexError::io("open", &to, e))?;
                    file.set_modified(SystemTime::now())
                        .map_err(|e| CodexError::io("touch", &to, e))?;
                }
                Ok(())
            })();
            if let Err(error) = step {
                for (from, to) in done.iter().rev() {
                    let _ = StdFs.rename(to, from);
                }
                return Err(error);
            }
            done.push((from, to));
        }
        for (from, to) in &done {
            for dir in [from.parent(), to.parent()].into_iter().flatten() {
                StdFs
                    .sync_dir(dir)
                    .map_err(|e| CodexError::io("sync directory", dir, e))?;
            }
        }
        Ok(done.into_iter().map(|(_, to)| to).collect())
    }
}
