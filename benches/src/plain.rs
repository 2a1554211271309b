//! The JSONL baselines spool's JSONL backend is compared with: what a
//! program does without spool. A plain `BufWriter` of lines flushed per
//! batch, the Codex-style writer (serialize, `write_all` and flush per
//! line: one syscall per record), a `BufReader` scan, a memchr line index,
//! and page reads by pread from that index. No checks of any kind: the
//! limit, not a competitor.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;
use serde::Serialize;

/// A JSONL file written through a 1 MiB `BufWriter`.
#[derive(Debug)]
pub struct PlainJsonl {
    writer: BufWriter<File>,
}

impl PlainJsonl {
    /// Creates (truncates) the file at `path`.
    pub fn create(path: &Path) -> io::Result<PlainJsonl> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(path)?;
        Ok(PlainJsonl {
            writer: BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Buffers one line.
    pub fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.writer.write_all(line)?;
        self.writer.write_all(b"\n")
    }

    /// The Codex writer's way: serialize, write the line, flush it.
    pub fn append_codex_style<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(item)?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        self.writer.flush()
    }

    /// Hands buffered lines to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// Flushes and `fdatasync`s.
    pub fn sync(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()
    }
}

/// Reads every line with a `BufReader`, as most JSONL readers do.
pub fn scan(path: &Path) -> io::Result<Vec<Bytes>> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(lines);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        lines.push(Bytes::from(line));
    }
}

/// Where every line starts (then the end), by a memchr scan in 1 MiB reads.
pub fn index(path: &Path) -> io::Result<Vec<u64>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut starts = vec![0u64];
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < len {
        let n = usize::try_from((len - pos).min(buf.len() as u64)).unwrap_or(0);
        file.read_exact_at(&mut buf[..n], pos)?;
        starts.extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| pos + i as u64 + 1));
        pos += n as u64;
    }
    Ok(starts)
}

/// Reads the lines in `[start, end)` (line boundaries) with one pread.
pub fn read_lines(file: &File, start: u64, end: u64) -> io::Result<Vec<Bytes>> {
    let mut buf = vec![0u8; usize::try_from(end - start).map_err(io::Error::other)?];
    file.read_exact_at(&mut buf, start)?;
    let buf = Bytes::from(buf);
    let mut lines = Vec::new();
    let mut from = 0;
    for nl in memchr::memchr_iter(b'\n', &buf) {
        lines.push(buf.slice(from..nl));
        from = nl + 1;
    }
    Ok(lines)
}

impl crate::harness::Baseline for PlainJsonl {
    fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        PlainJsonl::append(self, payload)
    }

    fn flush(&mut self) -> io::Result<()> {
        PlainJsonl::flush(self)
    }

    fn sync(&mut self) -> io::Result<()> {
        PlainJsonl::sync(self)
    }
}
