//! Repairing a segmented log on an operator's request (`spool repair`):
//! what open does to a torn tail, plus what open never does on its own:
//! rewriting sealed segments' indexes and, in salvage mode, cutting the log
//! at damage before the durable point, even in a sealed segment.
//!
//! Nothing is lost silently: every byte cut is first copied to a new side
//! file `<segment>.cut-<offset>` beside the segment (`.1`, `.2`, … if that
//! name is taken: an earlier repair's file is never overwritten), and
//! segments after a salvage cut (whose seqs can no longer follow on) are
//! renamed to `<segment>.cut-0`, never deleted. A sealed segment is never
//! shrunk in place (a reader may have it mapped, R11): its kept prefix is
//! written to a new file renamed over it. The writer lock is held
//! throughout, so no writer opens the log half-repaired, and every step
//! leaves a state that a rerun (or a strict open, which refuses damage)
//! takes further: a crash during repair loses nothing.

use std::path::{Path, PathBuf};

use spool_engine::{Error, OpenMode, Result, Seq, Vfs};

use super::layout::{FRAMES_START, index_name, parse_segment_name, path_in, segment_name};
use super::recovery;
use super::segment::Segment;
use super::verify::verify;
use super::{LOCK_FILE, RecoveryMode, SegmentedConfig, write_index};
use crate::check::{Finding, LogCheck, Problem, Remedy, RepairReport, free_side_path, save_tail};
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
            // What open cuts without saving (a torn tail): saved first.
            Remedy::Truncate { at } => saved.extend(save_from(vfs, &finding.file, at)?),
            Remedy::RewriteIndex => {
                rewrite_index(vfs, dir, &finding.file)?;
                indexes_written += 1;
            }
            Remedy::Salvage { at } => {
                salvage_at(vfs, dir, finding, at, &mut saved, &mut set_aside)?;
            }
            // What open would remove, kept beside the log instead.
            Remedy::SetAside => {
                let base = finding
                    .file
                    .file_name()
                    .and_then(|n| parse_segment_name(Path::new(n)))
                    .ok_or_else(|| {
                        Error::io("set aside", std::io::Error::other("not a segment file"))
                    })?;
                set_aside.push(set_segment_aside(vfs, dir, base)?);
            }
            Remedy::RemoveSegment | Remedy::None => {}
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
    // Open's own recovery, under the lock already held (for damage in the
    // active segment, salvage mode saves and cuts it here).
    let mut recovered = recovery::recover(vfs, dir, &config)?;
    // Open leaves the confirmation of what it kept to the writer; repair
    // has none, and leaves nothing to do.
    recovered.make_durable()?;
    saved.extend(recovered.report.salvaged_to.clone());
    set_aside.extend(recovered.report.set_aside.iter().cloned());
    drop(recovered);
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

/// Cuts the log at `at` in the segment `finding` names: every later
/// segment set aside (newest first, each rename durable before the next, so
/// a crash leaves a contiguous prefix); then the damaged segment itself:
/// - cut at its start (bad header, or it follows a gap): set aside too, or,
///   if it is the first, replaced by an empty segment at its base (a log
///   must not start its seqs again at 0), atomically by rename;
/// - cut inside, sealed: the cut bytes saved, the kept prefix written to a
///   new file (its commit slots cleared: everything in it is intact) and
///   renamed over it;
/// - cut inside, the active one: left to recovery's salvage, which saves
///   and truncates it (only pread readers ever read an active segment).
fn salvage_at(
    vfs: &dyn Vfs,
    dir: &Path,
    finding: &Finding,
    at: u64,
    saved: &mut Vec<PathBuf>,
    set_aside: &mut Vec<PathBuf>,
) -> Result<()> {
    let damaged = finding
        .file
        .file_name()
        .and_then(|n| parse_segment_name(Path::new(n)))
        .ok_or_else(|| Error::io("salvage", std::io::Error::other("not a segment file")))?;
    let bases = recovery::list_bases(vfs, dir)?;
    let first = bases.first() == Some(&damaged);
    let sealed = bases.last() != Some(&damaged);
    let path = path_in(dir, &segment_name(damaged));
    // Save before anything moves: until the later segments are set aside,
    // the damaged segment is sealed and a strict open refuses nothing of
    // it; once it is the last one, only its saved copy protects its bytes.
    let len = file_len(vfs, &path)?;
    let whole = at < FRAMES_START;
    if (whole && first) || (!whole && sealed && at < len) {
        saved.push(save_tail(vfs, &path, if whole { 0 } else { at }, len)?);
    }
    for &base in bases.iter().rev().filter(|b| **b > damaged) {
        set_aside.push(set_segment_aside(vfs, dir, base)?);
    }
    remove_if_there(vfs, &path_in(dir, &index_name(damaged)))?;
    if whole {
        if first {
            recovery::replace_segment(vfs, dir, damaged, &[])?;
        } else {
            set_aside.push(set_segment_aside(vfs, dir, damaged)?);
        }
    } else if sealed {
        let file = vfs
            .open(&path, OpenMode::Read)
            .map_err(|e| Error::io("open segment", e))?;
        let kept = file
            .read_vec_at(
                usize::try_from(at - FRAMES_START).unwrap_or(0),
                FRAMES_START,
            )
            .map_err(|e| Error::io("read segment", e))?;
        recovery::replace_segment(vfs, dir, damaged, &kept)?;
    }
    set_aside.reverse();
    Ok(())
}

/// Renames segment `base` (and drops its index) out of the log, durably.
fn set_segment_aside(vfs: &dyn Vfs, dir: &Path, base: Seq) -> Result<PathBuf> {
    let from = path_in(dir, &segment_name(base));
    let to = free_side_path(vfs, &from, "cut-0")?;
    remove_if_there(vfs, &path_in(dir, &index_name(base)))?;
    vfs.rename(&from, &to)
        .map_err(|e| Error::io("set segment aside", e))?;
    vfs.sync_dir(dir)
        .map_err(|e| Error::io("sync log directory", e))?;
    Ok(to)
}

fn file_len(vfs: &dyn Vfs, path: &Path) -> Result<u64> {
    vfs.open(path, OpenMode::Read)
        .and_then(|f| f.len())
        .map_err(|e| Error::io("size segment", e))
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
    let name = segment_name(base);
    let file = vfs
        .open(&path_in(dir, &name), OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let segment = Segment::new(base, name, file, len, base, false);
    let scan = segment.scan_all(len)?;
    write_index(vfs, dir, base, len, &scan.index).map_err(|e| Error::io("write index", e))
}
