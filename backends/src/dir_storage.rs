//! A directory as the root of a [`Store`](spool_engine::Store): one
//! segmented log directory (or one JSONL file) per log under `logs/`, and
//! blobs (the catalog snapshot, checkpoints) as files replaced by an
//! atomic rename. Everything goes through the `Vfs`, so the store's crash
//! tests run it on `SimFs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use spool_engine::{Backend, Error, LogId, OpenMode, Result, Storage, Vfs};

use crate::{JsonlBackend, JsonlConfig, SegmentedBackend, SegmentedConfig};

/// Which backend a directory store keeps its logs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// spool's segmented format: `logs/<id>/`.
    Segmented(SegmentedConfig),
    /// A JSONL file per log: `logs/<id>.jsonl`.
    Jsonl(JsonlConfig),
}

/// Largest blob read back (checked before allocating).
const BLOB_MAX_BYTES: u64 = 1 << 30;

/// The kinds a directory store makes, by the name the catalog records.
const SEGMENTED: &str = "segmented";
const JSONL: &str = "jsonl";

/// Logs and blobs under one directory.
#[derive(Clone, Debug)]
pub struct DirStorage {
    vfs: Arc<dyn Vfs>,
    root: PathBuf,
    segmented: SegmentedConfig,
    jsonl: JsonlConfig,
    /// The kind of new logs that do not name one.
    default_jsonl: bool,
    /// Opens logs as a reader beside another process's writer; writes
    /// nothing (see [`DirStorage::read_only`]).
    read_only: bool,
}

impl DirStorage {
    /// A root at `root` (created if missing) whose logs are `default`
    /// unless created in the other kind (`Store::create_in`), which then
    /// uses its default configuration (see [`DirStorage::with`]).
    pub fn new(vfs: Arc<dyn Vfs>, root: impl Into<PathBuf>, default: LogFormat) -> Result<Self> {
        let root = root.into();
        crate::lifecycle::create_dir_durably(vfs.as_ref(), &root.join("logs"))?;
        Ok(DirStorage::assemble(vfs, root, default, false))
    }

    fn assemble(vfs: Arc<dyn Vfs>, root: PathBuf, default: LogFormat, read_only: bool) -> Self {
        let storage = DirStorage {
            vfs,
            root,
            segmented: SegmentedConfig::default(),
            jsonl: JsonlConfig::owned(),
            default_jsonl: matches!(default, LogFormat::Jsonl(_)),
            read_only,
        };
        storage.with(default)
    }

    /// The existing root at `root`, for reading beside a writer in another
    /// process: logs are opened read-only (no lock, no recovery, nothing
    /// written; they show what was written when opened), and `remove` and
    /// `put_blob` are `ReadOnly`. For [`Store::open_read_only`](spool_engine::Store::open_read_only).
    pub fn read_only(
        vfs: Arc<dyn Vfs>,
        root: impl Into<PathBuf>,
        default: LogFormat,
    ) -> Result<Self> {
        let root = root.into();
        vfs.list(&root.join("logs"))
            .map_err(|e| Error::io("open store directory", e))?;
        Ok(DirStorage::assemble(vfs, root, default, true))
    }

    fn refuse_writes(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                object: self.root.display().to_string(),
            });
        }
        Ok(())
    }

    /// Sets the configuration of one kind of log.
    #[must_use]
    pub fn with(mut self, format: LogFormat) -> Self {
        match format {
            LogFormat::Segmented(config) => self.segmented = config,
            LogFormat::Jsonl(config) => self.jsonl = config,
        }
        self
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn segmented_path(&self, id: &LogId) -> PathBuf {
        self.root.join("logs").join(id.as_str())
    }

    fn jsonl_path(&self, id: &LogId) -> PathBuf {
        self.root
            .join("logs")
            .join(format!("{}.jsonl", id.as_str()))
    }

    fn blob_path(&self, name: &LogId) -> PathBuf {
        self.root.join(format!("{}.blob", name.as_str()))
    }

    /// Whether `id` exists as a JSONL file (`Some(true)`) or a segmented
    /// directory (`Some(false)`).
    fn existing_kind(&self, id: &LogId) -> Option<bool> {
        if self.vfs.open(&self.jsonl_path(id), OpenMode::Read).is_ok() {
            Some(true)
        } else if self.vfs.list(&self.segmented_path(id)).is_ok() {
            Some(false)
        } else {
            None
        }
    }

    /// Removes a segmented log's directory, if there is one.
    fn remove_segmented(&self, path: &Path) -> Result<()> {
        let vfs = self.vfs.as_ref();
        match vfs.list(path) {
            Ok(names) => {
                for name in names {
                    remove_if_there(vfs, &path.join(name))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("list log directory", e)),
        }
        vfs.sync_dir(path)
            .map_err(|e| Error::io("sync log directory", e))?;
        match vfs.remove_dir(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove log directory", e))
            }
            _ => Ok(()),
        }
    }
}

/// Removes `path`; already gone is fine (a removal is redone after a crash).
fn remove_if_there(vfs: &dyn Vfs, path: &Path) -> Result<()> {
    match vfs.remove(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove log file", e)),
        _ => Ok(()),
    }
}

#[async_trait]
impl Storage for DirStorage {
    fn kinds(&self) -> &'static [&'static str] {
        if self.default_jsonl {
            &[JSONL, SEGMENTED]
        } else {
            &[SEGMENTED, JSONL]
        }
    }

    async fn open(&self, id: &LogId, kind: Option<&str>) -> Result<Arc<dyn Backend>> {
        let jsonl = match kind {
            // Unnamed (the catalog itself, or a log recorded before kinds
            // were): where it already is, else the default.
            None => self.existing_kind(id).unwrap_or(self.default_jsonl),
            Some(JSONL) => true,
            Some(SEGMENTED) => false,
            Some(other) => {
                return Err(Error::InvalidConfig {
                    field: "backend",
                    reason: format!("{other:?} is not one of {:?}", self.kinds()),
                });
            }
        };
        let vfs = Arc::clone(&self.vfs);
        let (segmented, jsonl_config) = (self.segmented.clone(), self.jsonl.clone());
        let path = if jsonl {
            self.jsonl_path(id)
        } else {
            self.segmented_path(id)
        };
        let read_only = self.read_only;
        // Opening recovers the log: blocking I/O, off the async workers.
        tokio::task::spawn_blocking(move || -> Result<Arc<dyn Backend>> {
            Ok(match (jsonl, read_only) {
                (true, false) => Arc::new(JsonlBackend::open(vfs, path, jsonl_config)?),
                (true, true) => Arc::new(JsonlBackend::open_read_only(vfs, path, jsonl_config)?),
                (false, false) => Arc::new(SegmentedBackend::open(vfs, path, segmented)?),
                (false, true) => Arc::new(SegmentedBackend::open_read_only(vfs, path, segmented)?),
            })
        })
        .await
        .map_err(|e| Error::io("open log", std::io::Error::other(e.to_string())))?
    }

    async fn remove(&self, id: &LogId) -> Result<()> {
        self.refuse_writes()?;
        // Whichever kind it was: removing what is not there is fine.
        self.remove_segmented(&self.segmented_path(id))?;
        let path = self.jsonl_path(id);
        let sidecar = crate::jsonl::sidecar_path(&path, &self.jsonl);
        for file in std::iter::once(path).chain(sidecar) {
            remove_if_there(self.vfs.as_ref(), &file)?;
        }
        self.vfs
            .sync_dir(&self.root.join("logs"))
            .map_err(|e| Error::io("sync store directory", e))
    }

    async fn get_blob(&self, name: &LogId) -> Result<Option<Bytes>> {
        let file = match self.vfs.open(&self.blob_path(name), OpenMode::Read) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open blob", e)),
        };
        let len = file.len().map_err(|e| Error::io("stat blob", e))?;
        if len > BLOB_MAX_BYTES {
            return Err(Error::io(
                "read blob",
                std::io::Error::other(format!(
                    "blob {} is {len} bytes, over the 1 GiB bound",
                    name.as_str()
                )),
            ));
        }
        let bytes = file
            .read_vec_at(usize::try_from(len).unwrap_or(usize::MAX), 0)
            .map_err(|e| Error::io("read blob", e))?;
        Ok(Some(Bytes::from(bytes)))
    }

    async fn put_blob(&self, name: &LogId, bytes: Bytes) -> Result<()> {
        self.refuse_writes()?;
        // Write aside, make it durable, then rename over the old one and
        // make the rename durable: a crash leaves the old or the new blob.
        let path = self.blob_path(name);
        let tmp = self.root.join(format!("{}.blob.tmp", name.as_str()));
        let vfs = self.vfs.as_ref();
        let file = vfs
            .open(&tmp, OpenMode::Create)
            .map_err(|e| Error::io("create blob", e))?;
        file.set_len(0)
            .and_then(|()| file.write_all_at(&bytes, 0))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("write blob", e))?;
        drop(file);
        vfs.rename(&tmp, &path)
            .map_err(|e| Error::io("replace blob", e))?;
        vfs.sync_dir(&self.root)
            .map_err(|e| Error::io("sync store directory", e))
    }
}
