//! Paginated ordinals: what each line should carry, and what a writer
//! continues from (ROLLOUT-FORMAT.md §3.3, CODEX-0.169.md §3).
//!
//! A paginated line's `ordinal` is expected to be its file's ordinal base
//! (`history_base.end_ordinal_exclusive`, or 0) plus its line index. Codex
//! accepts files that deviate (ordinals shifted, duplicated, only on the
//! last line, gaps after a torn line that consumed no ordinal), so spool
//! reports each deviation and reads on, keeping every byte. What Codex
//! refuses is continuing a paginated file whose last record has no
//! ordinal; [`next_ordinal`] refuses it the same way.

use std::path::Path;

use crate::error::{CodexError, Result};
use crate::line::{LineView, RolloutLine};
use crate::segment::Segment;
use crate::thread::Thread;

/// How a line's ordinal differs from the expected one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deviation {
    /// No ordinal at all.
    Missing,
    /// Larger than expected (a gap, or shifted).
    Ahead,
    /// The same as the previous line's (a writer reused it, §8 case 37).
    Duplicated,
    /// Smaller than expected, and not a repeat.
    Behind,
}

/// One line whose ordinal is not the expected one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrdinalDeviation {
    /// The line's seq in the thread's history.
    pub seq: u64,
    /// Its file.
    pub path: std::path::PathBuf,
    /// Its 1-based line in that file.
    pub line: u64,
    /// What it should carry.
    pub expected: u64,
    /// What it carries.
    pub found: Option<u64>,
    /// How they differ.
    pub kind: Deviation,
}

/// Every ordinal deviation of a paginated thread, in history order (empty
/// for a legacy thread: its mode says ordinals mean nothing, and Codex
/// ignores them).
pub async fn check_ordinals(thread: &Thread) -> Result<Vec<OrdinalDeviation>> {
    let mut out = Vec::new();
    if *thread.mode() != crate::HistoryMode::Paginated {
        return Ok(out);
    }
    let mut previous = None;
    for link in thread.chain() {
        let lines = thread
            .read_lines(link.start, link.start + link.lines)
            .await?;
        for (seq, line) in lines {
            let LineView::Envelope(envelope) = line.view() else {
                continue;
            };
            let local = seq - link.start;
            let expected = link.ordinal_base.saturating_add(local);
            let kind = match envelope.ordinal {
                Some(found) if found == expected => None,
                None => Some(Deviation::Missing),
                Some(found) if found > expected => Some(Deviation::Ahead),
                Some(found) if Some(found) == previous => Some(Deviation::Duplicated),
                Some(_) => Some(Deviation::Behind),
            };
            if let Some(kind) = kind {
                out.push(OrdinalDeviation {
                    seq,
                    path: link.segment.path().to_owned(),
                    line: local + 1,
                    expected,
                    found: envelope.ordinal,
                    kind,
                });
            }
            if envelope.ordinal.is_some() {
                previous = envelope.ordinal;
            }
        }
    }
    Ok(out)
}

/// Whether Codex's typed decoder reads this line as a record (so that its
/// ordinal counts): a modern envelope whose item Codex decodes. Lines that
/// fail its decoder are skipped by its tail scan.
#[must_use]
pub fn is_record(line: &RolloutLine) -> bool {
    line.envelope()
        .is_some_and(|e| crate::load::item_decodes(&e.item))
}

/// The ordinal a paginated writer gives its next line in `segment` (the
/// current file): one past the last record's, found scanning back from the
/// end over damaged lines; the file's ordinal base if it has no record.
/// Refuses, as Codex does, a last record without an ordinal (§8 case 35)
/// and a sub-agent file that ends before its own history starts (case 36).
pub async fn next_ordinal(
    segment: &Segment,
    ordinal_base: u64,
    subagent_start: Option<u64>,
) -> Result<u64> {
    next_ordinal_after(segment, None, ordinal_base, subagent_start).await
}

/// [`next_ordinal`] as it will be once a writer has ended the file's torn
/// tail with `\n`: `tail` (that fragment, viewed as a line) comes last.
/// This lets every check run before the file is touched.
pub async fn next_ordinal_after(
    segment: &Segment,
    tail: Option<&RolloutLine>,
    ordinal_base: u64,
    subagent_start: Option<u64>,
) -> Result<u64> {
    let mut to = segment.lines();
    let mut last = None;
    if let Some(tail) = tail.filter(|t| is_record(t)) {
        let Some(ordinal) = tail.envelope().and_then(|e| e.ordinal) else {
            return Err(CodexError::MissingOrdinal {
                path: segment.path().to_owned(),
                line: to + 1,
            });
        };
        last = Some(ordinal);
        to = 0;
    }
    'scan: while to > 0 {
        let from = to.saturating_sub(64);
        let chunk = segment.read_lines(from, to).await?;
        for (i, line) in chunk.iter().enumerate().rev() {
            if !is_record(line) {
                continue;
            }
            let Some(ordinal) = line.envelope().and_then(|e| e.ordinal) else {
                return Err(CodexError::MissingOrdinal {
                    path: segment.path().to_owned(),
                    line: from + i as u64 + 1,
                });
            };
            last = Some(ordinal);
            break 'scan;
        }
        to = from;
    }
    if let Some(start) = subagent_start
        && last.is_none_or(|l| l.saturating_add(1) < start)
    {
        return Err(CodexError::IncompleteSubagent {
            path: segment.path().to_owned(),
            start,
            last,
        });
    }
    match last {
        Some(last) => last.checked_add(1).ok_or_else(|| {
            CodexError::Invalid(format!(
                "{}: the last ordinal is u64::MAX; no ordinal is left",
                Path::display(segment.path())
            ))
        }),
        None => Ok(ordinal_base),
    }
}
