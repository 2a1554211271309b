//! Writing a thread's files out of spool into another CODEX_HOME, byte for
//! byte: every file of the thread (each segment, archived or not) at the
//! same relative place, rebuilt from its log's records and its torn tail,
//! so what was read is exactly what is written. A `.zst` file is written
//! plain (Codex reads a plain file before its `.zst` twin, §1.5).
//! Existing files are never overwritten. Import into a spool store, and
//! export from one, are issue 8's; this is the byte-exact half they share.

use std::path::{Path, PathBuf};

use spool_engine::Backend;

use crate::error::{CodexError, Result};
use crate::home::CodexHome;
use crate::segment::Segment;

impl CodexHome {
    /// Writes every file of thread `id` into `dest` at the same relative
    /// path (a `.zst` as its plain twin). Returns the paths written.
    pub async fn export_thread(&self, id: &uuid::Uuid, dest: &Path) -> Result<Vec<PathBuf>> {
        let files = self.thread_files(id)?;
        let mut written = Vec::new();
        for file in files.files {
            let relative = file
                .path
                .strip_prefix(self.root())
                .map_err(|_| {
                    CodexError::Invalid(format!("{} is outside the home", file.path.display()))
                })?
                .to_owned();
            // A `.zst` is written as its plain twin: the name without `.zst`.
            let relative = if file.name.compressed {
                relative.with_extension("")
            } else {
                relative
            };
            let segment = self.open_segment(file)?;
            let bytes = file_bytes(&segment, self.config().jsonl.max_line_bytes as u64).await?;
            let target = dest.join(relative);
            write_new(&target, &bytes)?;
            written.push(target);
        }
        Ok(written)
    }

    /// Writes `session_index.jsonl` into `dest`, byte for byte (if the home
    /// has one). Returns whether it did.
    pub async fn export_session_index(&self, dest: &Path) -> Result<bool> {
        let path = self.root().join("session_index.jsonl");
        if !path.exists() {
            return Ok(false);
        }
        let backend = spool_backends::JsonlBackend::open_read_only(
            std::sync::Arc::new(spool_backends::StdFs),
            &path,
            self.config().jsonl.clone(),
        )?;
        let mut bytes = Vec::new();
        for record in backend
            .read(spool_engine::ReadRange::all_from(spool_engine::Seq(0)))
            .await?
        {
            bytes.extend_from_slice(&record.payload);
            bytes.push(b'\n');
        }
        if let Some(tail) = backend.report().torn_tail {
            bytes.extend_from_slice(&backend.read_bytes(tail.offset, tail.len)?);
        }
        write_new(&dest.join("session_index.jsonl"), &bytes)?;
        Ok(true)
    }
}

/// A file's bytes rebuilt from its log: each line and its `\n`, then the
/// torn tail as it was. A line too long to have been read refuses.
async fn file_bytes(segment: &Segment, max_line: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let lines = segment.read_lines(0, segment.lines()).await?;
    for (seq, line) in lines.iter().enumerate() {
        if segment.backend().line_fault(spool_engine::Seq(seq as u64))
            == Some(spool_engine::LineFault::TooLong)
        {
            return Err(CodexError::Invalid(format!(
                "line {} of {} is longer than the line bound; raise max_line_bytes to export it",
                seq + 1,
                segment.path().display()
            )));
        }
        bytes.extend_from_slice(line.bytes());
        bytes.push(b'\n');
    }
    if let Some(report) = segment.backend().report().torn_tail {
        let Some(tail) = segment.torn_tail(max_line)? else {
            return Err(CodexError::Invalid(format!(
                "the torn tail of {} ({} bytes) is too long to export",
                segment.path().display(),
                report.len
            )));
        };
        bytes.extend_from_slice(&tail);
    }
    Ok(bytes)
}

/// Creates `path` (and its directories) with `bytes`, never over an
/// existing file, and makes it durable.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| CodexError::io("create directory", dir, e))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| CodexError::io("create exported file", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CodexError::io("write exported file", path, e))
}
