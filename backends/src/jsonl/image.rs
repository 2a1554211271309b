//! A JSONL log over bytes held in memory: the decompressed image of a
//! `.jsonl.zst` rollout (ROLLOUT-FORMAT.md §1.5).
//!
//! Codex reads a compressed rollout by decompressing it; spool reads it the
//! same way, and then through the very same line index, lenient-line rules
//! and torn-tail decision as a plain file, so a `.zst` thread and its plain
//! twin read alike. The image is one read-only file of a one-file `Vfs`:
//! every other operation fails, so nothing can be written through it.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use spool_engine::{OpenMode, Vfs, VfsFile, VfsLock};

/// A one-file, read-only `Vfs` serving `image` at `path`.
#[derive(Debug)]
pub(crate) struct ImageVfs {
    pub(crate) path: PathBuf,
    pub(crate) image: Bytes,
}

#[derive(Debug)]
struct ImageFile {
    image: Bytes,
}

fn read_only(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} is an in-memory image: read-only", path.display()),
    )
}

impl Vfs for ImageVfs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        if path != self.path {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not this image", path.display()),
            ));
        }
        if mode != OpenMode::Read {
            return Err(read_only(path));
        }
        Ok(Box::new(ImageFile {
            image: self.image.clone(),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        Err(read_only(path))
    }

    fn rename(&self, from: &Path, _to: &Path) -> io::Result<()> {
        Err(read_only(from))
    }

    fn list(&self, _dir: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(vec![self.path.clone()])
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        Err(read_only(dir))
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        Err(read_only(dir))
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        Err(read_only(path))
    }
}

impl VfsFile for ImageFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.image.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        let Some(bytes) = self.image.get(start..end) else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {} bytes at {offset} past the image's {} bytes",
                    buf.len(),
                    self.image.len()
                ),
            ));
        };
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn write_all_at(&self, _buf: &[u8], _offset: u64) -> io::Result<()> {
        Err(read_only(Path::new("image")))
    }

    fn set_len(&self, _len: u64) -> io::Result<()> {
        Err(read_only(Path::new("image")))
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    #[expect(
        unsafe_code,
        reason = "implements the unsafe mapping contract of VfsFile::map"
    )]
    unsafe fn map(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        // A slice of immutable shared bytes, not a mapping: nothing here can
        // dangle or fault.
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(len);
        if end > self.image.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "map past the image's end",
            ));
        }
        Ok(self.image.slice(start..end))
    }
}
