//! The one I/O seam of the file backends.
//!
//! Every byte the JSONL and segmented backends read or write goes through a
//! [`Vfs`]. `StdFs` (the real file system) and `SimFs` (in-memory files with a
//! written and a durable image, crashes, torn writes and injected errors) live
//! in spool-backends; the engine only defines the contract, and never touches
//! `std::fs` itself.
//!
//! The trait is small and object-safe so that wrappers (fault injection, an
//! obfuscating layer that writes one byte per call) compose.
//!
//! Contract, which every implementation keeps and the crash tests rely on:
//! - `write_all_at`, `write_vectored_all_at` and `set_len` change the *written* image at once; they
//!   reach the *durable* image only through `sync_data` on the same file.
//! - Creating, removing or renaming a file is durable only after `sync_dir` on
//!   its directory.
//! - After an error from `write_all_at` or `sync_data` the file's state is
//!   unknown; callers never retry a failed `sync_data` and report success
//!   (they poison the log instead).
//! - Errors are `io::Error`s, classified by `ErrorKind` (`StorageFull` for
//!   ENOSPC, `WouldBlock` for a held lock), never by their text.
//! - A mapping (`map`, an `unsafe fn`) is only taken of bytes that never
//!   change again (a sealed segment); nothing spool does shrinks a mapped
//!   file, because touching a truncated mapped page raises SIGBUS.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// How to open a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    ReadWrite,
    /// Read and write, creating the file if missing.
    Create,
    /// Read and write; the file must not exist yet.
    CreateNew,
}

/// A file system, as the backends see it.
pub trait Vfs: Send + Sync + Debug + 'static {
    /// Opens the file at `path`.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>>;
    /// Removes a file (durable after `sync_dir`).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to` (durable after `sync_dir`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// The file names directly inside `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Removes the empty directory `dir` (durable after `sync_dir` on its
    /// parent).
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// Makes creates, removes and renames inside `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive, cross-process lock on `path` (creating it), or
    /// fails with `ErrorKind::WouldBlock` if another holder has it. The lock is
    /// released when the returned guard is dropped or the process dies.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>>;
}

/// An open file.
pub trait VfsFile: Send + Sync + Debug {
    /// The file's current (written) length.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fills `buf` from `offset`; `UnexpectedEof` if the file is shorter.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Reads `len` bytes from `offset` into a new buffer; `UnexpectedEof` if
    /// the file is shorter. Callers bound `len` first. The default zero-fills
    /// the buffer and calls `read_exact_at`; `StdFs` reads into the vector's
    /// uninitialized capacity (zeroing a buffer the read overwrites anyway
    /// cost scans a sixth of their time).
    fn read_vec_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
    /// Writes all of `buf` at `offset` (handling short writes inside).
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Writes the concatenation of `bufs` at `offset`, as one write (the
    /// crash model treats it exactly like `write_all_at` of the joined
    /// bytes). The default joins them; `StdFs` hands them to `pwritev`, so a
    /// batch's payloads reach the page cache without an extra copy.
    fn write_vectored_all_at(&self, bufs: &[&[u8]], offset: u64) -> io::Result<()> {
        self.write_all_at(&bufs.concat(), offset)
    }
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes written data (and the length) durable: fdatasync.
    fn sync_data(&self) -> io::Result<()>;
    /// Maps `len` bytes from `offset` read-only; fails (never maps) if the
    /// range extends past the end of the file. Implementations without
    /// mappings return a copy.
    ///
    /// # Safety
    ///
    /// While the returned bytes (or any slice of them) are alive, no process
    /// may write to the range or shrink the file below its end: the bytes
    /// would change under a shared reference, or a touched page would raise
    /// SIGBUS. spool maps only sealed segments, which nothing rewrites.
    #[expect(
        unsafe_code,
        reason = "declares the mapping contract; the engine itself runs no unsafe code"
    )]
    unsafe fn map(&self, offset: u64, len: usize) -> io::Result<Bytes>;
}

/// A held cross-process lock; dropping it releases the lock.
pub trait VfsLock: Send + Sync + Debug {}
