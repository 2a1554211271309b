//! All memory mapping in spool: one function, one `unsafe` block.
//!
//! Mapped reads are where scan speed comes from (no copy, no syscall per
//! read), and they are unsound the moment the mapped bytes change or the file
//! shrinks under the mapping (a truncated page is SIGBUS). So mapping is
//! confined here and offered only through the `unsafe fn VfsFile::map`, whose
//! callers promise immutability: spool maps sealed segments only, never
//! truncates or rewrites them, and deletes them by unlinking (safe: the pages
//! stay valid until unmapped). What an *outside* process must not do is in
//! docs/format.md: truncate or rewrite a sealed segment of a live log.

use std::fs::File;
use std::io;

use bytes::Bytes;
use memmap2::MmapOptions;

/// Maps `len` bytes of `file` from `offset`, read-only, as `Bytes` that keep
/// the mapping alive. Refuses ranges that extend past the end of the file.
///
/// # Safety
///
/// No process may write to or shrink the mapped range of `file` while the
/// returned bytes (or any slice of them) are alive.
#[expect(unsafe_code, reason = "the one place spool creates a memory map")]
pub(crate) unsafe fn map(file: &File, offset: u64, len: usize) -> io::Result<Bytes> {
    if len == 0 {
        // mmap(2) rejects zero-length maps; nothing to map anyway.
        return Ok(Bytes::new());
    }
    let end = offset
        .checked_add(len as u64)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "map range overflows"))?;
    let file_len = file.metadata()?.len();
    if end > file_len {
        // Pages past the end of the file would fault (SIGBUS) when touched.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("map of [{offset}, {end}) past the file's end {file_len}"),
        ));
    }
    // SAFETY: the range lies within the file (checked just above), so every
    // mapped page is backed by file data when mapped; the caller guarantees
    // (this function's contract) that nobody writes or shrinks the range
    // while the mapping lives, so the `&[u8]` views `Bytes` hands out never
    // change and never fault. The map is read-only and private to this
    // process's `Bytes` owner, which unmaps it on drop.
    let mmap = unsafe { MmapOptions::new().offset(offset).len(len).map(file)? };
    Ok(Bytes::from_owner(mmap))
}
