//! The raw limit every spool number is compared with: length + CRC framed
//! records through a `BufWriter` on one file (appends), and a mapped or
//! pread scan verifying each CRC (reads). No seqs, no index, no recovery:
//! what a log could cost at best on this machine.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;

/// A framed append-only file.
#[derive(Debug)]
pub struct RawLog {
    writer: BufWriter<File>,
}

impl RawLog {
    /// Creates (truncates) the file at `path`.
    pub fn create(path: &Path) -> io::Result<RawLog> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(path)?;
        Ok(RawLog {
            writer: BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Appends one framed record (8-byte header: length, CRC-32).
    pub fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("too large"))?;
        self.writer.write_all(&len.to_le_bytes())?;
        self.writer
            .write_all(&crc32fast::hash(payload).to_le_bytes())?;
        self.writer.write_all(payload)
    }

    /// Hands buffered bytes to the OS (survives a process crash).
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// Flushes and `fdatasync`s (survives power loss).
    pub fn sync(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()
    }
}

/// Reads every frame of a raw log with one pread, verifying each CRC;
/// returns the payloads (as `Bytes` views of one buffer).
pub fn scan(path: &Path) -> io::Result<Vec<Bytes>> {
    let file = File::open(path)?;
    read_span(&file, 0, file.metadata()?.len())
}

/// Byte offsets of every frame of a raw log (an in-memory index, built once).
pub fn offsets(path: &Path) -> io::Result<Vec<u64>> {
    let data = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        out.push(at as u64);
        at += 8 + u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
    }
    Ok(out)
}

/// Reads the frames in `start..end` (frame offsets, from [`offsets`]) with
/// one pread, verifying each CRC: the least a page read can cost.
pub fn read_span(file: &File, start: u64, end: u64) -> io::Result<Vec<Bytes>> {
    let len = usize::try_from(end - start).map_err(io::Error::other)?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, start)?;
    let buf = Bytes::from(buf);
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= buf.len() {
        let n = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
        let crc = u32::from_le_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]);
        let payload = buf.slice(at + 8..at + 8 + n);
        if crc32fast::hash(&payload) != crc {
            return Err(io::Error::other("bad crc"));
        }
        out.push(payload);
        at += 8 + n;
    }
    Ok(out)
}

impl crate::harness::Baseline for RawLog {
    fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        RawLog::append(self, payload)
    }

    fn flush(&mut self) -> io::Result<()> {
        RawLog::flush(self)
    }

    fn sync(&mut self) -> io::Result<()> {
        RawLog::sync(self)
    }
}
