//! The line index and the scanner that builds it.
//!
//! A JSONL log's seqs are line numbers, so every read needs to know where
//! each line starts. The scanner finds every `\n` with memchr, reading the
//! file in bounded windows, and classifies each complete line once (JSON,
//! blank, zero-filled, …), so reads never re-parse. Memory stays bounded
//! whatever the file holds: one window, plus at most `max_line_bytes` of a
//! line that spans windows; a longer line is measured, never held (R13).

use std::collections::BTreeMap;
use std::io;

use serde::de::IgnoredAny;
use spool_engine::{LineFault, VfsFile};

/// Bytes read per scan step. Large enough that syscalls cost nothing next
/// to the newline search, small enough to stay in cache.
pub(crate) const WINDOW_BYTES: usize = 1 << 20;

/// Where every complete line of a file lies, and which lines are not JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LineIndex {
    /// `bounds[i]` is where line `i` starts and `bounds[i + 1] - 1` is its
    /// `\n`; the last entry is the end of the last complete line.
    bounds: Vec<u64>,
    /// The lines that are not one JSON value, by line index (0-based).
    faults: BTreeMap<u64, LineFault>,
}

impl LineIndex {
    /// An index of no lines, for a file that starts at byte 0.
    pub(crate) fn new() -> LineIndex {
        LineIndex {
            bounds: vec![0],
            faults: BTreeMap::new(),
        }
    }

    /// Rebuilds an index from its parts (the sidecar's decoded form).
    pub(crate) fn from_parts(bounds: Vec<u64>, faults: BTreeMap<u64, LineFault>) -> LineIndex {
        debug_assert!(!bounds.is_empty() && bounds.windows(2).all(|w| w[0] < w[1]));
        LineIndex { bounds, faults }
    }

    /// Number of complete lines.
    pub(crate) fn lines(&self) -> u64 {
        self.bounds.len() as u64 - 1
    }

    /// The byte just past the last complete line's `\n`.
    pub(crate) fn end(&self) -> u64 {
        self.bounds.last().copied().unwrap_or(0)
    }

    /// Where line `line` starts, and its length without the `\n`.
    /// `line` must be below [`lines`](Self::lines).
    pub(crate) fn span(&self, line: u64) -> (u64, u64) {
        let i = usize::try_from(line).unwrap_or(usize::MAX);
        let start = self.bounds[i];
        (start, self.bounds[i + 1] - start - 1)
    }

    /// Where line `line` starts (`line` may equal `lines()`: the end).
    pub(crate) fn start(&self, line: u64) -> u64 {
        self.bounds[usize::try_from(line).unwrap_or(usize::MAX)]
    }

    /// What is wrong with line `line`, if anything.
    pub(crate) fn fault(&self, line: u64) -> Option<LineFault> {
        self.faults.get(&line).copied()
    }

    /// The non-JSON lines, in order.
    pub(crate) fn faults(&self) -> &BTreeMap<u64, LineFault> {
        &self.faults
    }

    /// The line starts (and the end), for the sidecar.
    pub(crate) fn bounds(&self) -> &[u64] {
        &self.bounds
    }

    /// The last line that is one JSON value.
    pub(crate) fn last_json(&self) -> Option<u64> {
        let mut line = self.lines().checked_sub(1)?;
        // Faulty lines are rare: walk back over them only.
        while self.faults.contains_key(&line) {
            line = line.checked_sub(1)?;
        }
        Some(line)
    }

    /// Adds the line that ends (its `\n` included) at `end`.
    pub(crate) fn push(&mut self, end: u64, fault: Option<LineFault>) {
        debug_assert!(end > self.end());
        if let Some(fault) = fault {
            self.faults.insert(self.lines(), fault);
        }
        self.bounds.push(end);
    }

    /// Forgets every line from `lines` on.
    pub(crate) fn truncate(&mut self, lines: u64) {
        let keep = usize::try_from(lines).unwrap_or(usize::MAX);
        self.bounds.truncate(keep + 1);
        self.faults.split_off(&lines);
    }
}

/// An unterminated last line: what a crash mid-append leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Where it starts.
    pub offset: u64,
    /// Its length (it has no `\n`).
    pub len: u64,
    /// What it would be as a line: `None` if it is complete JSON (a valid
    /// record whose `\n` did not make it to disk).
    pub fault: Option<LineFault>,
}

/// Indexes every complete line from `index.end()` to `file_len`, and returns
/// the unterminated fragment after the last `\n`, if any.
///
/// A line that spans two windows is read again, whole, once its end is
/// found (if it is within the bound): memory is one window plus one line,
/// and no buffer ever grows by doubling past the bound.
pub(crate) fn scan(
    file: &dyn VfsFile,
    index: &mut LineIndex,
    file_len: u64,
    max_line_bytes: usize,
) -> io::Result<Option<Fragment>> {
    scan_in_windows(file, index, (file_len, max_line_bytes), WINDOW_BYTES)
}

/// [`scan`] with a chosen window (tests use tiny ones).
fn scan_in_windows(
    file: &dyn VfsFile,
    index: &mut LineIndex,
    (file_len, max_line_bytes): (u64, usize),
    window_bytes: usize,
) -> io::Result<Option<Fragment>> {
    let max = max_line_bytes as u64;
    let mut line_start = index.end();
    let mut pos = line_start;
    while pos < file_len {
        let want = usize::try_from((file_len - pos).min(window_bytes as u64)).unwrap_or(0);
        let window = file.read_vec_at(want, pos)?;
        for nl in memchr::memchr_iter(b'\n', &window) {
            let end = pos + nl as u64;
            let fault = if end - line_start > max {
                Some(LineFault::TooLong)
            } else if line_start >= pos {
                let from = usize::try_from(line_start - pos).unwrap_or(0);
                classify(&window[from..nl])
            } else {
                classify(&read_line(file, line_start, end)?)
            };
            index.push(end + 1, fault);
            line_start = end + 1;
        }
        pos += window.len() as u64;
    }
    if line_start == file_len {
        return Ok(None);
    }
    let len = file_len - line_start;
    let fault = if len > max {
        Some(LineFault::TooLong)
    } else {
        classify(&read_line(file, line_start, file_len)?)
    };
    Ok(Some(Fragment {
        offset: line_start,
        len,
        fault,
    }))
}

/// Reads `[start, end)` (a line already known to be within the bound).
fn read_line(file: &dyn VfsFile, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(end - start).map_err(|_| io::Error::other("line exceeds memory"))?;
    file.read_vec_at(len, start)
}

/// What is wrong with one line (its `\n` removed), or `None` for one JSON
/// value. CRLF lines are JSON: `\r` is JSON whitespace.
pub(crate) fn classify(line: &[u8]) -> Option<LineFault> {
    if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        return Some(LineFault::Blank);
    }
    if memchr::memchr(0, line).is_some() {
        return Some(LineFault::Nul);
    }
    // serde_json skips over strings without checking their UTF-8 when it
    // ignores them, so check the encoding first.
    let Ok(text) = std::str::from_utf8(line) else {
        return Some(LineFault::InvalidUtf8);
    };
    match serde_json::from_str::<IgnoredAny>(text) {
        Ok(_) => None,
        Err(_) => Some(LineFault::NotJson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_kind_of_line() {
        assert_eq!(classify(br#"{"a":1}"#), None);
        assert_eq!(classify(b"{\"a\":1}\r"), None);
        assert_eq!(classify(b" 42 "), None);
        assert_eq!(classify(b""), Some(LineFault::Blank));
        assert_eq!(classify(b" \t\r"), Some(LineFault::Blank));
        assert_eq!(classify(b"\0\0\0"), Some(LineFault::Nul));
        assert_eq!(classify(b"{\"a\":\"\xff\"}"), Some(LineFault::InvalidUtf8));
        assert_eq!(classify(b"\xEF\xBB\xBF{}"), Some(LineFault::NotJson));
        assert_eq!(classify(b"{\"a\":"), Some(LineFault::NotJson));
        assert_eq!(classify(b"1 2"), Some(LineFault::NotJson));
    }

    /// The naive reading: split on `\n`, classify each line whole.
    fn naive(bytes: &[u8], max: usize) -> (Vec<(u64, Option<LineFault>)>, Option<Fragment>) {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                let line = &bytes[start..i];
                let fault = if line.len() > max {
                    Some(LineFault::TooLong)
                } else {
                    classify(line)
                };
                lines.push((i as u64 + 1, fault));
                start = i + 1;
            }
        }
        let fragment = (start < bytes.len()).then(|| {
            let rest = &bytes[start..];
            Fragment {
                offset: start as u64,
                len: rest.len() as u64,
                fault: if rest.len() > max {
                    Some(LineFault::TooLong)
                } else {
                    classify(rest)
                },
            }
        });
        (lines, fragment)
    }

    #[test]
    fn any_window_size_finds_the_same_lines_as_a_naive_split() {
        use crate::sim::SimFs;
        use spool_engine::{OpenMode, Vfs};
        let text: &[u8] = b"{\"a\":1}\n\n{\"long\":\"xxxxxxxxxxxxxxxxxxxx\"}\r\n\0\0\0\n\xff\n[1,\n{\"b\":2}\n{\"torn\"";
        let sim = SimFs::new(0);
        let file = sim
            .open(std::path::Path::new("/f"), OpenMode::Create)
            .unwrap();
        file.write_all_at(text, 0).unwrap();
        for max in [5, 12, 40, 1000] {
            let (want_lines, want_fragment) = naive(text, max);
            for window in 1..=text.len() + 1 {
                let mut index = LineIndex::new();
                let fragment =
                    scan_in_windows(file.as_ref(), &mut index, (text.len() as u64, max), window)
                        .unwrap();
                let got: Vec<(u64, Option<LineFault>)> = (0..index.lines())
                    .map(|l| (index.start(l + 1), index.fault(l)))
                    .collect();
                assert_eq!(got, want_lines, "window {window}, max {max}");
                assert_eq!(fragment, want_fragment, "window {window}, max {max}");
            }
            // Resuming from a partial index gives the same result.
            let mut index = LineIndex::new();
            index.push(want_lines[0].0, want_lines[0].1);
            scan_in_windows(file.as_ref(), &mut index, (text.len() as u64, max), 3).unwrap();
            assert_eq!(index.lines(), want_lines.len() as u64);
        }
    }

    #[test]
    fn index_push_truncate_and_last_json() {
        let mut index = LineIndex::new();
        index.push(5, None);
        index.push(6, Some(LineFault::Blank));
        index.push(10, Some(LineFault::NotJson));
        assert_eq!(index.lines(), 3);
        assert_eq!(index.span(0), (0, 4));
        assert_eq!(index.span(1), (5, 0));
        assert_eq!(index.last_json(), Some(0));
        index.truncate(1);
        assert_eq!((index.lines(), index.end()), (1, 5));
        assert!(index.faults().is_empty());
        assert_eq!(LineIndex::new().last_json(), None);
    }
}
