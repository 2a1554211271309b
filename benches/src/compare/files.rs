//! The file-writing contenders that are not storage engines: the raw
//! framed limit, the Codex-style JSONL writer (serialize, `write_all` and
//! flush per line; a read parses the whole file, as Codex loads a rollout)
//! and batched JSONL (lines through a `BufWriter` flushed per batch; pages
//! by pread from a memchr line index).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Contender, Records, Result};
use crate::harness::{BatchEnd, try_write_batches};
use crate::plain::{self, PlainJsonl};
use crate::raw::{self, RawLog};

/// How a batch ends: flushed to the OS, or fdatasynced.
fn batch_end(sync: bool) -> BatchEnd {
    if sync {
        BatchEnd::Sync
    } else {
        BatchEnd::Flush
    }
}

/// Checks a page's length.
fn check_page(name: &str, got: usize, len: usize, start: u64) -> Result<()> {
    if got == len {
        Ok(())
    } else {
        Err(format!("{name}: a page at {start} held {got} records, not {len}").into())
    }
}

/// Times `read` once per start.
fn timed_pages(starts: &[u64], mut read: impl FnMut(u64) -> Result<()>) -> Result<Vec<Duration>> {
    starts
        .iter()
        .map(|&start| {
            let began = Instant::now();
            read(start)?;
            Ok(began.elapsed())
        })
        .collect()
}

/// The raw limit: length + CRC32 frames through a 1 MiB `BufWriter`,
/// flushed per batch (fdatasync per batch when durable); reads by pread
/// from a dense offset index built at open, every CRC checked.
#[derive(Default)]
pub struct Raw {
    path: PathBuf,
    writer: Option<RawLog>,
    reader: Option<(File, Vec<u64>)>,
}

impl Contender for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("raw.log");
        self.writer = Some(RawLog::create(&self.path)?);
        Ok(())
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let log = self.writer.as_mut().ok_or("raw: not open")?;
        Ok(try_write_batches(
            log,
            &records.payloads,
            batch,
            batch_end(sync),
        )?)
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut log) = self.writer.take() {
            log.flush()?;
        }
        self.reader = None;
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("raw.log");
        // What raw needs to serve a page: an offset per record.
        let offsets = raw::offsets(&self.path)?;
        self.reader = Some((File::open(&self.path)?, offsets));
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let records = raw::scan(&self.path)?;
        let bytes = records.iter().map(|r| r.len() as u64).sum();
        Ok((records.len() as u64, bytes))
    }

    fn concurrent_durable(&mut self, records: &Records) -> Option<Result<()>> {
        let mut run = || -> Result<()> {
            let log = self.writer.as_mut().ok_or("raw: not open")?;
            for payload in records.payloads.iter() {
                log.append(payload)?;
                log.sync()?;
            }
            Ok(())
        };
        Some(run())
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let (file, offsets) = self.reader.as_ref().ok_or("raw: not open")?;
        let end = file.metadata()?.len();
        timed_pages(starts, |start| {
            let from = usize::try_from(start)?;
            let to = offsets.get(from + len).copied().unwrap_or(end);
            let page = raw::read_span(file, offsets[from], to)?;
            check_page("raw", page.len(), len, start)
        })
    }
}

/// What Codex does: each record serialized, written and flushed on its
/// own (no batching, whatever the batch size); fdatasync per batch only in
/// the durable rows (Codex never calls it). A read parses the whole file.
#[derive(Default)]
pub struct CodexJsonl {
    path: PathBuf,
    writer: Option<PlainJsonl>,
}

impl CodexJsonl {
    /// Every event, parsed, and the bytes of their lines.
    fn parse_all(&self) -> Result<(Vec<crate::BenchEvent>, u64)> {
        let bytes = std::fs::read(&self.path)?;
        let mut line_bytes = 0;
        let events = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                line_bytes += l.len() as u64;
                Ok(serde_json::from_slice(l)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((events, line_bytes))
    }
}

impl Contender for CodexJsonl {
    fn name(&self) -> &'static str {
        "codex-jsonl"
    }

    fn pages_read_everything(&self) -> bool {
        true
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("rollout.jsonl");
        self.writer = Some(PlainJsonl::create(&self.path)?);
        Ok(())
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let log = self.writer.as_mut().ok_or("codex-jsonl: not open")?;
        for chunk in records.events.chunks(batch) {
            for event in chunk {
                log.append_codex_style(event)?;
            }
            if sync {
                log.sync()?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut log) = self.writer.take() {
            log.flush()?;
        }
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("rollout.jsonl");
        // Codex reads the file when it needs it: nothing to do at open.
        File::open(&self.path)?;
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let (events, bytes) = self.parse_all()?;
        Ok((events.len() as u64, bytes))
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        timed_pages(starts, |start| {
            let (events, _) = self.parse_all()?;
            let from = usize::try_from(start)?;
            let got = events.len().saturating_sub(from).min(len);
            check_page("codex-jsonl", got, len, start)
        })
    }
}

/// JSONL as a program that batches would write it: lines through a 1 MiB
/// `BufWriter`, flushed (or fdatasynced) per batch; pages by pread from a
/// memchr line index built at open; a scan splits lines without parsing.
#[derive(Default)]
pub struct BatchedJsonl {
    path: PathBuf,
    writer: Option<PlainJsonl>,
    reader: Option<(File, Vec<u64>)>,
}

impl Contender for BatchedJsonl {
    fn name(&self) -> &'static str {
        "jsonl-batched"
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("log.jsonl");
        self.writer = Some(PlainJsonl::create(&self.path)?);
        Ok(())
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let log = self.writer.as_mut().ok_or("jsonl-batched: not open")?;
        Ok(try_write_batches(
            log,
            &records.payloads,
            batch,
            batch_end(sync),
        )?)
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut log) = self.writer.take() {
            log.flush()?;
        }
        self.reader = None;
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        self.path = dir.join("log.jsonl");
        let index = plain::index(&self.path)?;
        self.reader = Some((File::open(&self.path)?, index));
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let lines = plain::scan(&self.path)?;
        let bytes = lines.iter().map(|l| l.len() as u64).sum();
        Ok((lines.len() as u64, bytes))
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let (file, index) = self.reader.as_ref().ok_or("jsonl-batched: not open")?;
        timed_pages(starts, |start| {
            let from = usize::try_from(start)?;
            let to = index.get(from + len).copied().ok_or("page past the end")?;
            let page = plain::read_lines(file, index[from], to)?;
            check_page("jsonl-batched", page.len(), len, start)
        })
    }
}
