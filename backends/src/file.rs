//! `StdFs`: the real file system behind the `Vfs` seam. Every `std::fs` call
//! of the file backends lives in this file, so that nothing bypasses the seam
//! that the crash and fault tests replace.
//!
//! Positional I/O (`pread`/`pwrite` through `FileExt`), `fdatasync` for
//! `sync_data`, `fsync` on a directory handle for `sync_dir`, and `flock`
//! through std's `File::try_lock` for the cross-process writer lock (released
//! by the kernel when the holder dies, SIGKILL included). Unix only for now:
//! the positional I/O and directory fsync are Unix calls.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use spool_engine::{OpenMode, Vfs, VfsFile, VfsLock};

/// The operating system's file system. Files and directories it creates
/// are owner-only (0600 and 0700, further narrowed by the umask): agent
/// transcripts hold secrets. [`StdFsModes`] creates them with other modes.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

/// The operating system's file system, creating files and directories with
/// the given permission bits (still narrowed by the process umask), for a
/// store that a group must read. Existing files keep their modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdFsModes {
    /// Mode of created files. [`StdFs`] uses 0o600.
    pub file: u32,
    /// Mode of created directories. [`StdFs`] uses 0o700.
    pub dir: u32,
}

impl StdFsModes {
    /// What [`StdFs`] uses: owner-only.
    pub const OWNER_ONLY: StdFsModes = StdFsModes {
        file: 0o600,
        dir: 0o700,
    };
}

/// `StdFs` is `StdFsModes::OWNER_ONLY`: every call delegates.
impl Vfs for StdFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        StdFsModes::OWNER_ONLY.open(path, mode)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        StdFsModes::OWNER_ONLY.remove(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFsModes::OWNER_ONLY.rename(from, to)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        StdFsModes::OWNER_ONLY.list(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdFsModes::OWNER_ONLY.create_dir_all(dir)
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        StdFsModes::OWNER_ONLY.remove_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFsModes::OWNER_ONLY.sync_dir(dir)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        StdFsModes::OWNER_ONLY.lock(path)
    }
}

/// An open file of [`StdFs`].
#[derive(Debug)]
pub struct StdFile {
    file: File,
}

/// A held lock file of [`StdFs`]; the lock goes when this is dropped.
#[derive(Debug)]
pub struct StdLock {
    // Holding the handle holds the flock; closing it releases.
    _file: File,
}

impl VfsLock for StdLock {}

impl Vfs for StdFsModes {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let mut options = OpenOptions::new();
        options.read(true).mode(self.file);
        match mode {
            OpenMode::Read => {}
            OpenMode::ReadWrite => {
                options.write(true);
            }
            OpenMode::Create => {
                options.write(true).create(true);
            }
            OpenMode::CreateNew => {
                options.write(true).create_new(true);
            }
        }
        let file = options.open(path)?;
        Ok(Box::new(StdFile { file }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(PathBuf::from(entry.file_name()));
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(self.dir)
            .create(dir)
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Linux a directory opened read-only can be fsynced, which makes
        // the entries created, removed or renamed in it durable.
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(self.file)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked by another writer", path.display()),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl VfsFile for StdFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(&self.file, buf, offset)
    }

    fn read_vec_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        // rustix reads into the vector's spare capacity and extends its
        // length by what was read: no zero fill, and no unsafe here.
        let mut buf = Vec::with_capacity(len);
        while buf.len() < len {
            let at = offset + buf.len() as u64;
            match rustix::io::pread(&self.file, rustix::buffer::spare_capacity(&mut buf), at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "read past the end",
                    ));
                }
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // The capacity may exceed `len`; never hand out more than asked.
        buf.truncate(len);
        Ok(buf)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        // Loops over short writes and EINTR.
        FileExt::write_all_at(&self.file, buf, offset)
    }

    fn write_vectored_all_at(&self, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
        // pwritev takes at most IOV_MAX slices and may write short: resume
        // from the first unwritten byte until everything is written.
        const IOV_MAX: usize = 1024;
        let mut first = 0; // first slice not yet fully written
        let mut done = 0; // bytes of bufs[first] already written
        let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(bufs.len().min(IOV_MAX));
        while first < bufs.len() {
            iov.clear();
            iov.push(IoSlice::new(&bufs[first][done..]));
            iov.extend(
                bufs[first + 1..]
                    .iter()
                    .take(IOV_MAX - 1)
                    .map(|b| IoSlice::new(b)),
            );
            let mut written = match rustix::io::pwritev(&self.file, &iov, offset) {
                Ok(0) if iov.iter().any(|s| !s.is_empty()) => {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            offset += written as u64;
            // Skip what was written, including any empty slices behind it.
            while first < bufs.len() && bufs[first].len() - done <= written {
                written -= bufs[first].len() - done;
                first += 1;
                done = 0;
            }
            done += written;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    #[expect(
        unsafe_code,
        reason = "implements the unsafe mapping contract of VfsFile::map"
    )]
    unsafe fn map(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        // SAFETY: this function's own contract (`VfsFile::map`) is passed on
        // unchanged: the caller guarantees the range is immutable and never
        // truncated while the returned bytes live.
        unsafe { crate::mmap::map(&self.file, offset, len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn positional_io_set_len_and_sync() {
        let d = dir();
        let path = d.path().join("f");
        let f = StdFs.open(&path, OpenMode::CreateNew).unwrap();
        f.write_all_at(b"hello world", 0).unwrap();
        f.write_all_at(b"W", 6).unwrap();
        f.sync_data().unwrap();
        let mut buf = [0u8; 5];
        f.read_exact_at(&mut buf, 6).unwrap();
        assert_eq!(&buf, b"World");
        f.set_len(5).unwrap();
        assert_eq!(f.len().unwrap(), 5);
        let err = f.read_exact_at(&mut buf, 3).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            StdFs.open(&path, OpenMode::CreateNew).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(
            StdFs
                .open(&d.path().join("missing"), OpenMode::Read)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn vectored_writes_land_whole_past_iov_max_and_empty_slices() {
        let d = dir();
        let f = StdFs
            .open(&d.path().join("v"), OpenMode::CreateNew)
            .unwrap();
        // 3,000 slices (more than one pwritev's IOV_MAX of 1,024), some
        // empty, of varying lengths, written at a non-zero offset.
        let parts: Vec<Vec<u8>> = (0..3_000u32)
            .map(|i| vec![(i % 251) as u8; (i % 7) as usize * 3])
            .collect();
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        f.write_vectored_all_at(&slices, 100).unwrap();
        let want = parts.concat();
        assert_eq!(f.len().unwrap(), 100 + want.len() as u64);
        let mut got = vec![0u8; want.len()];
        f.read_exact_at(&mut got, 100).unwrap();
        assert_eq!(got, want);
        // Nothing but empty slices writes nothing and succeeds.
        f.write_vectored_all_at(&[&[], &[]], 0).unwrap();
        assert_eq!(f.len().unwrap(), 100 + want.len() as u64);
    }

    #[test]
    fn read_vec_at_reads_exactly_or_reports_eof() {
        let d = dir();
        let f = StdFs
            .open(&d.path().join("r"), OpenMode::CreateNew)
            .unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        f.write_all_at(&data, 0).unwrap();
        assert_eq!(f.read_vec_at(150_000, 7).unwrap(), &data[7..150_007]);
        assert_eq!(f.read_vec_at(0, 5).unwrap(), Vec::<u8>::new());
        assert_eq!(
            f.read_vec_at(10, 199_995).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn namespace_operations() {
        let d = dir();
        let sub = d.path().join("a/b");
        StdFs.create_dir_all(&sub).unwrap();
        for name in ["2.seg", "1.seg"] {
            StdFs.open(&sub.join(name), OpenMode::Create).unwrap();
        }
        StdFs.create_dir_all(&sub.join("nested")).unwrap();
        assert_eq!(
            StdFs.list(&sub).unwrap(),
            vec![PathBuf::from("1.seg"), PathBuf::from("2.seg")]
        );
        StdFs
            .rename(&sub.join("1.seg"), &sub.join("3.seg"))
            .unwrap();
        StdFs.remove(&sub.join("2.seg")).unwrap();
        StdFs.sync_dir(&sub).unwrap();
        assert_eq!(StdFs.list(&sub).unwrap(), vec![PathBuf::from("3.seg")]);
    }

    #[test]
    fn created_files_and_directories_are_owner_only_unless_told_otherwise() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        StdFs.create_dir_all(&d.path().join("a/b")).unwrap();
        StdFs
            .open(&d.path().join("a/b/f"), OpenMode::CreateNew)
            .unwrap();
        drop(StdFs.lock(&d.path().join("a/LOCK")).unwrap());
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(mode(&d.path().join("a/b")), 0o700);
        assert_eq!(mode(&d.path().join("a/b/f")), 0o600);
        assert_eq!(mode(&d.path().join("a/LOCK")), 0o600);
        // A group-readable store, within what the umask allows.
        let shared = StdFsModes {
            file: 0o640,
            dir: 0o750,
        };
        shared.create_dir_all(&d.path().join("s")).unwrap();
        shared
            .open(&d.path().join("s/f"), OpenMode::Create)
            .unwrap();
        let umask = !mode(&d.path().join("s")) & 0o750;
        assert_eq!(mode(&d.path().join("s")), 0o750 & !umask);
        assert_eq!(mode(&d.path().join("s/f")) | umask, 0o640 | umask);
    }

    #[test]
    fn a_second_lock_on_the_same_file_would_block_until_the_first_is_dropped() {
        let d = dir();
        let path = d.path().join("LOCK");
        let held = StdFs.lock(&path).unwrap();
        // flock locks belong to open file descriptions, so a second open in
        // the same process conflicts just like another process would.
        let err = StdFs.lock(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(held);
        StdFs.lock(&path).unwrap();
    }

    #[test]
    #[expect(
        unsafe_code,
        reason = "exercises the mapping; the file is private to the test"
    )]
    fn maps_exactly_the_requested_range() {
        let d = dir();
        let path = d.path().join("sealed");
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let f = StdFs.open(&path, OpenMode::CreateNew).unwrap();
        f.write_all_at(&data, 0).unwrap();
        // SAFETY: the file is private to this test and not written again.
        let mapped = unsafe { f.map(5_000, 10_000) }.unwrap();
        assert_eq!(&mapped[..], &data[5_000..15_000]);
        // SAFETY: as above.
        let empty = unsafe { f.map(0, 0) }.unwrap();
        assert!(empty.is_empty());
        // A range past the end is refused, never mapped (it would SIGBUS).
        // SAFETY: as above.
        assert!(unsafe { f.map(19_000, 2_000) }.is_err());
    }
}
