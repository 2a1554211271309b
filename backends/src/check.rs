//! What verifying a log found, in one shape for every file backend: the
//! findings (file, byte offset, problem, and what repair would do) and the
//! log's vital statistics. `spool verify`, `spool repair` and `spool stat`
//! print these; the segmented and JSONL backends produce them.

use std::path::{Path, PathBuf};

use spool_engine::{CorruptKind, Error, OpenMode, Result, Seq, Vfs};

/// What is wrong at one place of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Bytes after the durable point that are not a complete batch: a write
    /// that was never acknowledged as durable. Open (and `repair`) cut it.
    TornTail {
        /// Bytes from the cut to the end of the file.
        bytes: u64,
    },
    /// Damage where records were durable (a bit flip, lost bytes, a bad
    /// header). Strict open refuses the log; only salvage cuts it.
    Corrupt(CorruptKind),
    /// A segment does not start at the seq after the previous one's end
    /// (a segment file is missing or cut short).
    SeqGap {
        /// The seq the previous segment ends at.
        expected: Seq,
        /// The base seq of this segment.
        found: Seq,
    },
    /// The last segment's creation never completed (no records); open
    /// removes it.
    TornSegment,
    /// A segment of a newer format than this build reads.
    UnsupportedVersion(u32),
    /// This segment follows one whose seal was never confirmed durable and
    /// which lost its tail: its records follow lost ones (none was
    /// acknowledged as durable). Open sets it aside as `<segment>.cut-0`.
    FollowsLostRecords,
    /// A sealed segment's sparse index is missing (rebuilt on read).
    IndexMissing,
    /// A sealed segment's sparse index is damaged or does not match its
    /// segment (ignored and rebuilt on read).
    IndexStale,
}

/// What repairing a finding takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remedy {
    /// Plain repair (what open does): cut the file at `at`.
    Truncate {
        /// Where the file is cut.
        at: u64,
    },
    /// Remove a segment that holds no records.
    RemoveSegment,
    /// Set the segment aside (renamed `<segment>.cut-0`, kept).
    SetAside,
    /// Write the index again from the segment.
    RewriteIndex,
    /// Salvage only: keep the segment up to `at`, set aside the rest of it
    /// and every later segment (their seqs can no longer follow on).
    Salvage {
        /// Where the segment is cut.
        at: u64,
    },
    /// Nothing this build can do (a newer format: use a newer spool).
    None,
}

/// One finding: where, what, and what repair would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// The byte offset in it.
    pub offset: u64,
    /// What is wrong.
    pub problem: Problem,
    /// What repair would do.
    pub remedy: Remedy,
}

/// One segment as verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentCheck {
    /// Its file.
    pub file: PathBuf,
    /// Its first seq.
    pub base: Seq,
    /// The seq after its last complete batch.
    pub end: Seq,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether it is sealed (every segment but the last).
    pub sealed: bool,
    /// Whether its index was present and matched (sealed segments only;
    /// the active segment's index lives in memory).
    pub index_ok: bool,
}

/// The outcome of verifying one log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogCheck {
    /// The log's directory (segmented) or file (JSONL).
    pub path: PathBuf,
    /// Its segments, oldest first (none for a JSONL file).
    pub segments: Vec<SegmentCheck>,
    /// Its first seq (retention may have removed older ones).
    pub first_seq: Seq,
    /// The seq after its last readable record.
    pub end_seq: Seq,
    /// Bytes of its files (segments and indexes, or the JSONL file).
    pub bytes: u64,
    /// Timestamps of the oldest and newest records (ms since the epoch).
    pub oldest_ms: Option<i64>,
    /// See `oldest_ms`.
    pub newest_ms: Option<i64>,
    /// What is wrong, in file order.
    pub findings: Vec<Finding>,
}

impl LogCheck {
    /// Records readable in the log.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.end_seq.0.saturating_sub(self.first_seq.0)
    }

    /// Whether only plain repair is needed (no salvage, nothing unrepairable).
    #[must_use]
    pub fn repairable_without_salvage(&self) -> bool {
        self.findings.iter().all(|f| {
            matches!(
                f.remedy,
                Remedy::Truncate { .. }
                    | Remedy::RemoveSegment
                    | Remedy::SetAside
                    | Remedy::RewriteIndex
            )
        })
    }
}

/// What `repair` found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairReport {
    /// The log as found.
    pub before: LogCheck,
    /// Side files holding bytes cut from segments.
    pub saved: Vec<PathBuf>,
    /// Segments set aside after a salvage cut (renamed, not deleted).
    pub set_aside: Vec<PathBuf>,
    /// Sparse indexes written again.
    pub indexes_written: usize,
    /// The log as left.
    pub after: LogCheck,
}

/// A name for bytes set aside from `file`: `<file>.<tag>`, or
/// `<file>.<tag>.1`, `.2`, … when taken, so an earlier repair's side file
/// is never overwritten.
pub(crate) fn free_side_path(vfs: &dyn Vfs, file: &Path, tag: &str) -> Result<PathBuf> {
    let mut n = 0u32;
    loop {
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".{tag}"));
        if n > 0 {
            name.push(format!(".{n}"));
        }
        let path = PathBuf::from(name);
        // Only a name that is certainly not there is free: any other
        // failure to look is an error, never a reason to overwrite.
        match vfs.open(&path, OpenMode::Read) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(Error::io("look for a free side file name", e)),
            Ok(_) => n += 1,
        }
    }
}

/// Copies bytes `at..len` of `file` to a new side file `<file>.cut-<at>`
/// (see [`free_side_path`]), durably (file and directory entry), in bounded
/// chunks; returns the side file's path.
pub(crate) fn save_tail(vfs: &dyn Vfs, file: &Path, at: u64, len: u64) -> Result<PathBuf> {
    let source = vfs
        .open(file, OpenMode::Read)
        .map_err(|e| Error::io("open file to save from", e))?;
    let side = free_side_path(vfs, file, &format!("cut-{at}"))?;
    let out = vfs
        .open(&side, OpenMode::CreateNew)
        .map_err(|e| Error::io("create side file", e))?;
    let mut offset = at;
    while offset < len {
        let n = (len - offset).min(4 << 20);
        let bytes = source
            .read_vec_at(usize::try_from(n).unwrap_or(0), offset)
            .map_err(|e| Error::io("read file to save from", e))?;
        out.write_all_at(&bytes, offset - at)
            .map_err(|e| Error::io("write side file", e))?;
        offset += n;
    }
    out.sync_data()
        .map_err(|e| Error::io("sync side file", e))?;
    if let Some(dir) = crate::lifecycle::parent_dir(file) {
        vfs.sync_dir(dir)
            .map_err(|e| Error::io("sync directory", e))?;
    }
    Ok(side)
}
