//! JSON lines from stdin, in batches of what has arrived: `spool append`'s
//! input.
//!
//! A batch waits for one line, then takes every further line already in
//! the read buffer (up to 1,024 lines or 4 MiB), so a fast producer gets
//! large atomic batches and a slow one gets each line acknowledged as it
//! comes. Memory stays bounded by one buffer, one batch and one line
//! (8 MiB at most). A line may end in `\n` or `\r\n`; blank lines are
//! skipped; every line must be UTF-8 JSON, and the first that is not ends
//! the input after the lines before it.

use memchr::memchr;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader, Stdin};

use crate::failure::Failure;

/// Most lines one batch takes.
const BATCH_LINES: usize = 1024;
/// Most bytes one batch takes (a larger single line is a batch of its own).
const BATCH_BYTES: usize = 4 << 20;
/// Longest line accepted, without its line end.
pub(crate) const MAX_LINE_BYTES: usize = 8 << 20;

/// One line, numbered from 1 as editors count.
pub(crate) struct Line {
    pub(crate) number: u64,
    pub(crate) bytes: Vec<u8>,
}

/// Stdin, read a line at a time.
pub(crate) struct Input {
    reader: BufReader<Stdin>,
    number: u64,
}

impl Input {
    pub(crate) fn stdin() -> Input {
        Input {
            reader: BufReader::with_capacity(1 << 20, tokio::io::stdin()),
            number: 0,
        }
    }

    /// The next batch and what ended it early (a bad line, after the good
    /// lines before it); `None` at the end of the input.
    pub(crate) async fn batch(&mut self) -> Option<(Vec<Line>, Option<Failure>)> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        loop {
            match self.line().await {
                Ok(Some(line)) => {
                    bytes += line.bytes.len();
                    batch.push(line);
                }
                Ok(None) if batch.is_empty() => return None,
                Ok(None) => break,
                Err(failure) => return Some((batch, Some(failure))),
            }
            let buffered = memchr(b'\n', self.reader.buffer()).is_some();
            if !buffered || batch.len() >= BATCH_LINES || bytes >= BATCH_BYTES {
                break;
            }
        }
        Some((batch, None))
    }

    /// The next non-blank line, checked; `None` at the end.
    async fn line(&mut self) -> Result<Option<Line>, Failure> {
        loop {
            self.number += 1;
            let number = self.number;
            let mut bytes = Vec::new();
            // The bound (a line, `\r` and `\n`) is read, never more.
            let read = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 2)
                .read_until(b'\n', &mut bytes)
                .await
                .map_err(|e| {
                    Failure::usage("io", format!("cannot read stdin at line {number}: {e}"))
                })?;
            if read == 0 {
                return Ok(None);
            }
            let ended = bytes.last() == Some(&b'\n');
            if ended {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            if bytes.len() > MAX_LINE_BYTES || (!ended && read > MAX_LINE_BYTES) {
                return Err(Failure::usage(
                    "too_large",
                    format!(
                        "stdin line {number} is longer than {MAX_LINE_BYTES} bytes; it and the lines after it were not appended"
                    ),
                ));
            }
            if bytes.is_empty() {
                continue;
            }
            check(number, &bytes)?;
            return Ok(Some(Line { number, bytes }));
        }
    }
}

/// Every record appended is one UTF-8 JSON value.
fn check(number: u64, bytes: &[u8]) -> Result<(), Failure> {
    let bad = |why: String| {
        Failure::usage(
            "invalid",
            format!(
                "stdin line {number} {why}; the lines before it were appended, it and the lines after it were not"
            ),
        )
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(bad(format!("is not UTF-8 (at byte {})", e.valid_up_to())));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map(|_| ())
        .map_err(|e| bad(format!("is not JSON ({e})")))
}
