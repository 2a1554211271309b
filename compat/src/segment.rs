//! One rollout file opened as a spool log: a *segment* of a thread.
//!
//! A Codex thread is one file, or several since reverts write a new file
//! per segment (`rollout-<ts>-<thread>_<segment>.jsonl`, §1.3). Each file
//! is a JSONL log read through the lenient, read-only JSONL backend: seqs
//! are line indexes, every byte is kept, a torn tail is reported and not
//! read, and nothing is written. A `.jsonl.zst` file is decompressed into
//! memory first (bounded by the configured limit) and read through the very
//! same backend, as Codex reads it (§1.5).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use spool_backends::{JsonlBackend, JsonlConfig, StdFs};
use spool_engine::{Backend, LineFault, ReadRange, Seq};

use crate::error::{CodexError, Result};
use crate::header::{Header, header_step};
use crate::line::RolloutLine;
use crate::name::RolloutFile;

/// Lines read per step while looking for a header.
const HEAD_STEP: usize = 64;

/// A rollout file, open for reading.
#[derive(Clone, Debug)]
pub struct Segment {
    file: RolloutFile,
    backend: JsonlBackend,
}

impl Segment {
    /// Opens `file` read-only (decompressing a `.zst` into memory, at most
    /// `max_decompressed` bytes). Blocking: reads the file to index it.
    pub fn open(file: RolloutFile, config: &JsonlConfig, max_decompressed: u64) -> Result<Segment> {
        let backend = if file.name.compressed {
            let image = decompress(&file.path, max_decompressed)?;
            JsonlBackend::open_image(&file.path, image, config)?
        } else {
            JsonlBackend::open_read_only(Arc::new(StdFs), &file.path, config.clone())?
        };
        Ok(Segment { file, backend })
    }

    /// The file.
    #[must_use]
    pub fn file(&self) -> &RolloutFile {
        &self.file
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The log of the file's lines.
    #[must_use]
    pub fn backend(&self) -> &JsonlBackend {
        &self.backend
    }

    /// Complete lines in the file.
    #[must_use]
    pub fn lines(&self) -> u64 {
        self.backend.next_seq().0
    }

    /// The first line (or torn tail) that is not UTF-8, as its byte
    /// offset: Codex's full load fails on any (§3.6).
    #[must_use]
    pub fn invalid_utf8(&self) -> Option<u64> {
        let line = self
            .backend
            .invalid_lines()
            .into_iter()
            .find(|l| l.fault == LineFault::InvalidUtf8)
            .map(|l| l.offset);
        let tail = self
            .backend
            .report()
            .torn_tail
            .filter(|t| t.fault == Some(LineFault::InvalidUtf8))
            .map(|t| t.offset);
        line.or(tail)
    }

    /// Fails as Codex's full load does if the file holds bytes that are
    /// not UTF-8, under the floors that mirror Codex.
    pub fn check_codex_load(&self, floor: crate::Floor) -> Result<()> {
        if floor == crate::Floor::Full {
            return Ok(());
        }
        match self.invalid_utf8() {
            Some(offset) => Err(CodexError::InvalidUtf8 {
                path: self.path().to_owned(),
                offset,
            }),
            None => Ok(()),
        }
    }

    /// Reads lines `[from, to)` and views each.
    pub async fn read_lines(&self, from: u64, to: u64) -> Result<Vec<RolloutLine>> {
        Ok(read_records(&self.backend, from, to)
            .await?
            .into_iter()
            .map(|r| RolloutLine::parse(r.payload))
            .collect())
    }

    /// The file's header, read as Codex's header reader does: from the
    /// first line until the first session_meta it accepts. Streams the
    /// file in steps, holding none of the lines it passed.
    pub async fn header(&self) -> Result<Header> {
        let end = self.lines();
        let mut from = 0;
        while from < end {
            let to = (from + HEAD_STEP as u64).min(end);
            for (i, line) in self.read_lines(from, to).await?.iter().enumerate() {
                if let Some(found) = header_step(self.path(), from + i as u64, line) {
                    return found;
                }
            }
            from = to;
        }
        Err(CodexError::Empty {
            path: self.path().to_owned(),
        })
    }

    /// The bytes of the torn tail (a final line without `\n`), if any and
    /// no longer than `max` bytes: a writer's open ends it with `\n`,
    /// making it a line of its own.
    pub fn torn_tail(&self, max: u64) -> Result<Option<Bytes>> {
        let Some(tail) = self.backend.report().torn_tail else {
            return Ok(None);
        };
        if tail.len > max {
            return Ok(None);
        }
        Ok(Some(self.backend.read_bytes(tail.offset, tail.len)?))
    }
}

/// Every record of `backend` in `[from, to)`, read in bounded steps.
pub(crate) async fn read_records(
    backend: &dyn Backend,
    from: u64,
    to: u64,
) -> Result<Vec<spool_engine::Record>> {
    let mut out = Vec::new();
    let mut next = from;
    while next < to {
        let records = backend
            .read(ReadRange {
                from: Seq(next),
                to: Seq(to),
                max_records: 4096,
                max_bytes: 64 << 20,
            })
            .await?;
        let Some(last) = records.last() else { break };
        next = last.seq.0 + 1;
        out.extend(records);
    }
    Ok(out)
}

/// Decompresses the zstd file at `path`, refusing images over `max` bytes
/// before holding them.
fn decompress(path: &Path, max: u64) -> Result<Bytes> {
    let file = std::fs::File::open(path).map_err(|e| CodexError::io("open", path, e))?;
    let decoder = zstd::stream::read::Decoder::new(file).map_err(|e| CodexError::Zstd {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut image = Vec::new();
    decoder
        .take(max.saturating_add(1))
        .read_to_end(&mut image)
        .map_err(|e| CodexError::Zstd {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if image.len() as u64 > max {
        return Err(CodexError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(Bytes::from(image))
}
