//! Archiving a thread as Codex does (ROLLOUT-FORMAT.md §1.4; §8 cases 52
//! and 53): under the thread's writer lock, every file of the thread moves
//! flat into `archived_sessions/` with its name unchanged; unarchiving moves
//! each back to `sessions/YYYY/MM/DD/` from its name's date and touches its
//! mtime (so it sorts as recently updated). A plain file's hidden `.zst`
//! twin moves with it. A failure part-way renames the moved files back.
//! Nothing is rewritten: only renames, with the file names unchanged.

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
            .flat_map(with_twin)
            .map(|path| {
                let to = dir.join(path.file_name().unwrap_or_default());
                (path, to)
            })
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
            .flat_map(|f| {
                let t = f.name.time;
                let dir = self
                    .root()
                    .join("sessions")
                    .join(format!("{:04}", t.year))
                    .join(format!("{:02}", t.month))
                    .join(format!("{:02}", t.day));
                with_twin(f).into_iter().map(move |path| {
                    let to = dir.join(path.file_name().unwrap_or_default());
                    (path, to)
                })
            })
            .collect();
        self.move_all(moves, true)
    }

    /// Renames each `(from, to)`, never over an existing file; on a failure
    /// renames back what moved, then reports it. A failed directory sync
    /// after every move is reported without undoing the moves (they are
    /// done; only their durability is unknown).
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
                // Moved: from here on a failure must move it back too.
                done.push((from.clone(), to.clone()));
                if touch {
                    let file =
                        std::fs::File::open(&to).map_err(|e| CodexError::io("open", &to, e))?;
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

/// A file's path, and its hidden `.zst` twin if one exists: the twin
/// belongs to the thread too and must move with it, or it would surface
/// as the thread's file where it was left.
fn with_twin(file: &crate::name::RolloutFile) -> Vec<PathBuf> {
    let mut paths = vec![file.path.clone()];
    if !file.name.compressed {
        let mut twin = file.path.clone().into_os_string();
        twin.push(".zst");
        let twin = PathBuf::from(twin);
        if twin.exists() {
            paths.push(twin);
        }
    }
    paths
}
