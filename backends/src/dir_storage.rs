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

/// Logs and blobs under one directory.
#[derive(Clone, Debug)]
pub struct DirStorage {
    vfs: Arc<dyn Vfs>,
    root: PathBuf,
    format: LogFormat,
}

impl DirStorage {
    /// A root at `root` (created if missing) keeping logs in `format`.
    pub fn new(vfs: Arc<dyn Vfs>, root: impl Into<PathBuf>, format: LogFormat) -> Result<Self> {
        let root = root.into();
        vfs.create_dir_all(&root.join("logs"))
            .map_err(|e| Error::io("create store directory", e))?;
        Ok(DirStorage { vfs, root, format })
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn log_path(&self, id: &LogId) -> PathBuf {
        match self.format {
            LogFormat::Segmented(_) => self.root.join("logs").join(id.as_str()),
            LogFormat::Jsonl(_) => self
                .root
                .join("logs")
                .join(format!("{}.jsonl", id.as_str())),
        }
    }

    fn blob_path(&self, name: &LogId) -> PathBuf {
        self.root.join(format!("{}.blob", name.as_str()))
    }
}

#[async_trait]
impl Storage for DirStorage {
    async fn open(&self, id: &LogId) -> Result<Arc<dyn Backend>> {
        let (vfs, path, format) = (
            Arc::clone(&self.vfs),
            self.log_path(id),
            self.format.clone(),
        );
        // Opening recovers the log: blocking I/O, off the async workers.
        tokio::task::spawn_blocking(move || -> Result<Arc<dyn Backend>> {
            Ok(match format {
                LogFormat::Segmented(config) => {
                    Arc::new(SegmentedBackend::open(vfs, path, config)?)
                }
                LogFormat::Jsonl(config) => Arc::new(JsonlBackend::open(vfs, path, config)?),
            })
        })
        .await
        .map_err(|e| Error::io("open log", std::io::Error::other(e.to_string())))?
    }

    async fn remove(&self, id: &LogId) -> Result<()> {
        let vfs = self.vfs.as_ref();
        let path = self.log_path(id);
        let logs = self.root.join("logs");
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        match self.format {
            LogFormat::Segmented(_) => {
                match vfs.list(&path) {
                    Ok(names) => {
                        for name in names {
                            vfs.remove(&path.join(name))
                                .or_else(|e| if gone(&e) { Ok(()) } else { Err(e) })
                                .map_err(|e| Error::io("remove log file", e))?;
                        }
                    }
                    Err(e) if gone(&e) => return Ok(()),
                    Err(e) => return Err(Error::io("list log directory", e)),
                }
                vfs.sync_dir(&path)
                    .map_err(|e| Error::io("sync log directory", e))?;
                vfs.remove_dir(&path)
                    .or_else(|e| if gone(&e) { Ok(()) } else { Err(e) })
                    .map_err(|e| Error::io("remove log directory", e))?;
            }
            LogFormat::Jsonl(ref config) => {
                let sidecar = crate::jsonl::sidecar_path(&path, config);
                for file in std::iter::once(path.clone()).chain(sidecar) {
                    vfs.remove(&file)
                        .or_else(|e| if gone(&e) { Ok(()) } else { Err(e) })
                        .map_err(|e| Error::io("remove log file", e))?;
                }
            }
        }
        vfs.sync_dir(&logs)
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
