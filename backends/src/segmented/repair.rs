//! Repairing a segmented log on an operator's request (`spool repair`):
//! what open does to a torn tail, plus what open never does on its own:
//! rewriting sealed segments' indexes and, in salvage mode, cutting the log
//! at damage before the durable point, even in a sealed segment.
//!
//! Nothing is lost silently: every byte cut is first copied to a side file
//! `<segment>.cut-<offset>` beside the segment, and segments after a salvage
//! cut (whose seqs can no longer follow on) are renamed to
//! `<segment>.cut-0`, never deleted. The writer lock is held throughout, so
//! no writer opens the log half-repaired; every step leaves a state that a
//! rerun (or a plain open) takes further, so a crash during repair is safe.

use std::path::{Path, PathBuf};

use spool_engine::{Error, OpenMode, Result, Seq, Vfs, frame};

use super::layout::{FRAMES_START, index_name, parse_segment_name, path_in};
use super::recovery;
use super::segment::{ReadMode, Segment};
use super::verify::verify;
use super::{LOCK_FILE, RecoveryMode, SegmentedConfig, write_index};
use crate::check::{Finding, LogCheck, Problem, Remedy, RepairReport, save_tail, side_path};
use crate::lifecycle::take_lock;

/// Repairs the segmented log in `dir`: torn tails are cut and torn segment
/// creations removed (as open does), bad indexes rewritten, and with
/// `salvage` the log is cut at the first damage before the durable point.
/// Without `salvage`, such damage is `Corrupt` and nothing is changed; a
/// segment of a newer format is `UnsupportedVersion`. `Locked` while a
/// writer has the log open.
pub fn repair(vfs: &dyn Vfs, dir: &Path, salvage: bool) -> Result<RepairReport> {
    let lock = take_lock(vfs, &dir.join(LOCK_FILE))?;
    let before = verify(vfs, dir)?;
    refuse_unless_repairable(&before, salvage)?;
    let mut saved = Vec::new();
    let mut set_aside = Vec::new();
    let mut indexes_written = 0;
    for finding in &before.findings {
        match finding.remedy {
            Remedy::Truncate { at } | Remedy::Salvage { at } if at >= FRAMES_START => {
                saved.extend(save_from(vfs, &finding.file, at)?);
            }
            Remedy::RewriteIndex => {
                rewrite_index(vfs, dir, &finding.file)?;
                indexes_written += 1;
            }
            _ => {}
        }
        if let Remedy::Salvage { at } = finding.remedy {
            set_aside = set_aside_from(vfs, dir, finding, at)?;
        }
    }
    let config = SegmentedConfig {
        recovery: if salvage {
            RecoveryMode::Salvage
        } else {
            RecoveryMode::Strict
        },
        ..SegmentedConfig::default()
    };
    // Open's own recovery, under the lock already held.
    drop(recovery::recover(vfs, dir, &config)?);
    drop(lock);
    Ok(RepairReport {
        after: verify(vfs, dir)?,
        before,
        saved,
        set_aside,
        indexes_written,
    })
}

/// The typed error for a finding repair may not (or cannot) handle.
fn refuse_unless_repairable(check: &LogCheck, salvage: bool) -> Result<()> {
    for f in &check.findings {
        let object = f.file.display().to_string();
        match (&f.problem, f.remedy) {
            (Problem::UnsupportedVersion(found), _) => {
                return Err(Error::UnsupportedVersion {
                    what: "segment",
                    found: *found,
                    supported: 1,
                });
            }
            (Problem::Corrupt(kind), Remedy::None) => {
                return Err(Error::Corrupt {
                    object,
                    offset: f.offset,
                    kind: *kind,
                });
            }
            (Problem::Corrupt(kind), Remedy::Salvage { .. }) if !salvage => {
                return Err(Error::Corrupt {
                    object,
                    offset: f.offset,
                    kind: *kind,
                });
            }
            (Problem::SeqGap { expected, found }, _) if !salvage => {
                return Err(Error::Corrupt {
                    object,
                    offset: 0,
                    kind: spool_engine::CorruptKind::SeqMismatch {
                        expected: *expected,
                        found: *found,
                    },
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Copies the bytes of `file` from `at` to its end into `<file>.cut-<at>`
/// (durably); `None` if there are none.
fn save_from(vfs: &dyn Vfs, file: &Path, at: u64) -> Result<Option<PathBuf>> {
    let source = vfs
        .open(file, OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = source.len().map_err(|e| Error::io("size segment", e))?;
    if len <= at {
        return Ok(None);
    }
    save_tail(vfs, file, at, len).map(Some)
}

/// Sets aside every segment after the salvage point (newest first, so a
/// crash leaves a contiguous prefix), and the damaged one too when it is cut
/// at its very start; drops the indexes of what changes. Returns the new
/// names.
fn set_aside_from(vfs: &dyn Vfs, dir: &Path, finding: &Finding, at: u64) -> Result<Vec<PathBuf>> {
    let file_name = finding.file.file_name().map(Path::new);
    let damaged = file_name
        .and_then(parse_segment_name)
        .ok_or_else(|| Error::io("salvage", std::io::Error::other("not a segment file")))?;
    let first_kept_out = if at < FRAMES_START {
        damaged
    } else {
        Seq(damaged.0 + 1)
    };
    let mut moved = Vec::new();
    let bases = recovery::list_bases(vfs, dir)?;
    for &base in bases.iter().rev().filter(|b| **b >= first_kept_out) {
        let from = path_in(dir, &super::layout::segment_name(base));
        let to = side_path(&from, 0);
        remove_if_there(vfs, &path_in(dir, &index_name(base)))?;
        vfs.rename(&from, &to)
            .map_err(|e| Error::io("set segment aside", e))?;
        moved.push(to);
    }
    // The damaged segment becomes the active one: its old index is stale.
    remove_if_there(vfs, &path_in(dir, &index_name(damaged)))?;
    vfs.sync_dir(dir)
        .map_err(|e| Error::io("sync log directory", e))?;
    if !bases.iter().any(|b| *b < first_kept_out) {
        // Nothing left: an empty segment keeps the log's seqs where they
        // were (a new log would start again at 0).
        let base = match finding.problem {
            Problem::SeqGap { expected, .. } => expected,
            _ => damaged,
        };
        recovery::create_segment(vfs, dir, base)?;
    }
    moved.reverse();
    Ok(moved)
}

fn remove_if_there(vfs: &dyn Vfs, path: &Path) -> Result<()> {
    match vfs.remove(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove index", e)),
        _ => Ok(()),
    }
}

/// Writes the sparse index of the sealed segment whose index is `index_file`.
fn rewrite_index(vfs: &dyn Vfs, dir: &Path, index_file: &Path) -> Result<()> {
    let base = index_file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(super::layout::INDEX_SUFFIX))
        .and_then(|d| d.parse().ok())
        .map(Seq)
        .ok_or_else(|| Error::io("rewrite index", std::io::Error::other("not an index file")))?;
    let name = super::layout::segment_name(base);
    let file = vfs
        .open(&path_in(dir, &name), OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let segment = Segment::new(base, name, file, len, base, false);
    let scan = segment.scan(
        ReadMode::Pread,
        FRAMES_START,
        base,
        len,
        frame::PAYLOAD_MAX_BYTES,
    )?;
    write_index(vfs, dir, base, len, &scan.index).map_err(|e| Error::io("write index", e))
}
