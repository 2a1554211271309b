//! A CODEX_HOME, opened as spool's view of Codex history: threads found
//! the way Codex finds them, each opened as a spool log.
//!
//! A CODEX_HOME is not a spool [`Store`](spool_engine::Store) on disk: a
//! store keeps a catalog log and snapshots of its own, and writing those
//! into a Codex home would add files Codex does not know. The home's own
//! layout is the catalog instead: [`discover`] finds the rollout files,
//! each file's name gives its thread and rollout ids, and each header
//! gives the thread's mode and lineage. Nothing here writes a byte: every
//! file is opened read-only (the writer, `writer.rs`, is separate).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spool_backends::JsonlConfig;
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::name::{RolloutFile, discover};
use crate::segment::Segment;
use crate::session_index::SessionIndex;
use crate::thread::Thread;

/// How a CODEX_HOME is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodexHomeConfig {
    /// How rollout files are read (default: [`JsonlConfig::foreign`]:
    /// lenient lines, no sidecar written beside Codex's files).
    pub jsonl: JsonlConfig,
    /// The largest decompressed `.jsonl.zst` held in memory. Default 1 GiB.
    pub max_decompressed_bytes: u64,
}

impl Default for CodexHomeConfig {
    fn default() -> Self {
        CodexHomeConfig {
            jsonl: JsonlConfig::foreign(),
            max_decompressed_bytes: 1 << 30,
        }
    }
}

/// A CODEX_HOME.
#[derive(Clone, Debug)]
pub struct CodexHome {
    root: PathBuf,
    config: CodexHomeConfig,
}

/// The files of one thread, as found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadFiles {
    /// The thread id.
    pub id: Uuid,
    /// Its rollout files, oldest first by (name timestamp, rollout id):
    /// the last is the current one (Codex's lookup by id, §4.6).
    pub files: Vec<RolloutFile>,
}

impl ThreadFiles {
    /// The current rollout file: the newest segment.
    #[must_use]
    pub fn current(&self) -> &RolloutFile {
        // Never empty: built from at least one file.
        &self.files[self.files.len() - 1]
    }

    /// Whether the thread is archived (its current file is).
    #[must_use]
    pub fn archived(&self) -> bool {
        self.current().archived
    }
}

impl CodexHome {
    /// The home at `root` with the default configuration. Reads nothing yet.
    pub fn new(root: impl Into<PathBuf>) -> CodexHome {
        CodexHome::with_config(root, CodexHomeConfig::default())
    }

    /// The home at `root`, read per `config`.
    pub fn with_config(root: impl Into<PathBuf>, config: CodexHomeConfig) -> CodexHome {
        CodexHome {
            root: root.into(),
            config,
        }
    }

    /// The home's directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &CodexHomeConfig {
        &self.config
    }

    /// Every rollout file Codex would see.
    pub fn files(&self) -> Result<Vec<RolloutFile>> {
        discover(&self.root).map_err(|e| CodexError::io("scan CODEX_HOME", &self.root, e))
    }

    /// Every thread with its files, by thread id.
    pub fn threads(&self) -> Result<Vec<ThreadFiles>> {
        let mut by_id: BTreeMap<Uuid, Vec<RolloutFile>> = BTreeMap::new();
        for file in self.files()? {
            by_id.entry(file.name.thread).or_default().push(file);
        }
        Ok(by_id
            .into_iter()
            .map(|(id, mut files)| {
                files.sort_by_key(|f| (f.name.time, f.name.rollout));
                ThreadFiles { id, files }
            })
            .collect())
    }

    /// The files of thread `id`.
    pub fn thread_files(&self, id: &Uuid) -> Result<ThreadFiles> {
        let mut files: Vec<RolloutFile> = self
            .files()?
            .into_iter()
            .filter(|f| f.name.thread == *id)
            .collect();
        if files.is_empty() {
            return Err(CodexError::NotFound {
                id: id.to_string(),
                home: self.root.clone(),
            });
        }
        files.sort_by_key(|f| (f.name.time, f.name.rollout));
        Ok(ThreadFiles { id: *id, files })
    }

    /// The file whose rollout id is `rollout` (a `history_base` target).
    pub fn rollout_file(&self, rollout: &Uuid) -> Result<Option<RolloutFile>> {
        Ok(self
            .files()?
            .into_iter()
            .filter(|f| f.name.rollout == *rollout)
            .max_by_key(|f| f.name.time))
    }

    /// Opens one rollout file read-only.
    pub fn open_segment(&self, file: RolloutFile) -> Result<Segment> {
        Segment::open(file, &self.config.jsonl, self.config.max_decompressed_bytes)
    }

    /// Opens thread `id`: its current file, with every segment its
    /// `history_base` chain reaches, as one log.
    pub async fn open_thread(&self, id: &Uuid) -> Result<Thread> {
        Thread::open(self, self.thread_files(id)?).await
    }

    /// The names in `session_index.jsonl`.
    pub async fn session_index(&self) -> Result<SessionIndex> {
        Ok(SessionIndex::read(&self.root.join("session_index.jsonl")).await?)
    }
}
