//! Checking a segmented log without changing it: every segment's header,
//! every frame's checksum and seq, the continuity of seqs from one segment
//! to the next, each sealed segment's sparse index, and the active
//! segment's tail against its durable point (the same decision table open
//! applies, so what `verify` calls a torn tail is exactly what open cuts).
//!
//! Open reads only the active segment (R18); this reads everything, which
//! is what `spool verify` and `spool stat` are for. It takes no lock (not
//! even briefly: a writer opening meanwhile must not fail) and writes
//! nothing: beside a live writer it reports what it saw, and a tail still
//! being written may look torn.

use std::path::Path;

use spool_engine::{CorruptKind, Error, OpenMode, Result, Seq, Vfs};

use crate::check::{Finding, LogCheck, Problem, Remedy, SegmentCheck};

use super::RecoveryMode;
use super::index;
use super::layout::{
    FRAMES_START, HeaderProblem, SegmentHeader, index_name, path_in, segment_name,
};
use super::recovery::{Verdict, decide, durable_point, list_bases, read_slots};
use super::segment::{Scan, Segment};

/// Verifies the segmented log in `dir`, reading every byte of it once.
pub fn verify(vfs: &dyn Vfs, dir: &Path) -> Result<LogCheck> {
    let bases = list_bases(vfs, dir)?;
    let mut check = LogCheck {
        path: dir.to_path_buf(),
        first_seq: bases.first().copied().unwrap_or(Seq::ZERO),
        ..LogCheck::default()
    };
    check.end_seq = check.first_seq;
    // Which segment open takes as the active one, as recovery decides it:
    // a last segment whose creation never finished is removed first (the
    // one before is then active); a last segment with a bad header stops
    // open before anything else is looked at.
    let (active, header_bad) = match bases.last() {
        Some(&b) => match last_header(vfs, dir, b)? {
            LastHeader::Good => (bases.len() - 1, false),
            LastHeader::TornRoll => (bases.len().saturating_sub(2), false),
            LastHeader::Bad => (bases.len() - 1, true),
        },
        None => (0, false),
    };
    for (i, &base) in bases.iter().enumerate() {
        let last = i + 1 == bases.len();
        let is_active = i == active && !header_bad;
        let name = segment_name(base);
        let file = path_in(dir, &name);
        if base != check.end_seq {
            // Everything from here on no longer follows on.
            check.findings.push(Finding {
                file: file.clone(),
                offset: 0,
                problem: Problem::SeqGap {
                    expected: check.end_seq,
                    found: base,
                },
                remedy: Remedy::Salvage { at: 0 },
            });
            break;
        }
        let Some((segment, len)) = open_segment(vfs, dir, base, last, &mut check)? else {
            break;
        };
        check.bytes += len;
        let scan = segment.scan_all(len)?;
        if scan.batch_end > FRAMES_START {
            check.oldest_ms = check.oldest_ms.or(scan.first_ms);
            check.newest_ms = scan.last_ms.or(check.newest_ms);
        }
        let mut index_ok = false;
        let next = bases.get(i + 1).copied();
        let unconfirmed = match next {
            Some(next) if i + 1 == active && !header_bad => !sealed_confirmed(&segment, len, next)?,
            _ => false,
        };
        let damaged = if is_active {
            // A header without its slot sectors yet: open restores them.
            len >= FRAMES_START && judge_active(&segment, &file, len, &scan, &mut check)?
        } else if unconfirmed {
            let next = next.unwrap_or(base);
            let next_file = path_in(dir, &segment_name(next));
            let damaged =
                judge_unconfirmed(&segment, &file, len, &scan, (next, &next_file), &mut check)?;
            if !damaged {
                index_ok = check_index(vfs, dir, base, len, &scan, &mut check);
            }
            damaged
        } else {
            let damaged = judge_sealed(&file, len, &scan, &mut check);
            // A damaged segment's index cannot match its (cut) scan: one
            // finding is enough.
            if !damaged {
                index_ok = check_index(vfs, dir, base, len, &scan, &mut check);
            }
            damaged
        };
        check.end_seq = scan.batch_end_seq;
        check.segments.push(SegmentCheck {
            file,
            base,
            end: scan.batch_end_seq,
            bytes: len,
            sealed: !is_active,
            index_ok,
        });
        if damaged {
            // Later segments cannot follow a segment cut short.
            break;
        }
    }
    Ok(check)
}

/// Opens segment `base` read-only and checks its header; `None` (with a
/// finding) when it cannot be read as a segment.
fn open_segment(
    vfs: &dyn Vfs,
    dir: &Path,
    base: Seq,
    last: bool,
    check: &mut LogCheck,
) -> Result<Option<(Segment, u64)>> {
    let name = segment_name(base);
    let path = path_in(dir, &name);
    let file = vfs
        .open(&path, OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let mut preamble = vec![0u8; usize::try_from(len.min(FRAMES_START)).unwrap_or(0)];
    file.read_exact_at(&mut preamble, 0)
        .map_err(|e| Error::io("read segment header", e))?;
    let finding = |problem, offset, remedy| Finding {
        file: path.clone(),
        offset,
        problem,
        remedy,
    };
    let problem = match SegmentHeader::decode(&preamble) {
        Ok(h) if h.base == base => {
            return Ok(Some((
                Segment::new(base, name, file, len, base, false),
                len,
            )));
        }
        Err(HeaderProblem::Damaged(_)) if last && len <= FRAMES_START => {
            finding(Problem::TornSegment, 0, Remedy::RemoveSegment)
        }
        Ok(h) => finding(
            Problem::Corrupt(CorruptKind::BadField {
                field: "base seq",
                value: h.base.0,
            }),
            8,
            Remedy::Salvage { at: 0 },
        ),
        Err(HeaderProblem::Version(found)) => {
            finding(Problem::UnsupportedVersion(found), 4, Remedy::None)
        }
        Err(HeaderProblem::Damaged(kind)) => {
            finding(Problem::Corrupt(kind), 0, Remedy::Salvage { at: 0 })
        }
    };
    check.bytes += len;
    check.findings.push(problem);
    Ok(None)
}

/// What open's decision table (asked in salvage mode, so it also says where
/// salvage would cut) makes of a segment whose tail open judges: `None` if
/// every byte is a complete batch, else the finding.
fn tail_finding(segment: &Segment, file: &Path, len: u64, scan: &Scan) -> Result<Option<Finding>> {
    let (durable_len, _) = durable_point(segment, len)?;
    let finding = |offset, problem, remedy| Finding {
        file: file.to_path_buf(),
        offset,
        problem,
        remedy,
    };
    Ok(
        match decide(scan, len, durable_len, RecoveryMode::Salvage) {
            Verdict::Clean => None,
            Verdict::TornTail { cut } => Some(finding(
                cut,
                Problem::TornTail {
                    bytes: len.saturating_sub(cut),
                },
                Remedy::Truncate { at: cut },
            )),
            // Written by a newer spool: not damage to cut away.
            Verdict::Corrupt { offset, kind } => {
                Some(finding(offset, Problem::Corrupt(kind), Remedy::None))
            }
            Verdict::Salvage { cut } => {
                let (offset, kind) = scan.damage.unwrap_or((
                    len,
                    CorruptKind::Truncated {
                        needed: durable_len,
                        available: len,
                    },
                ));
                Some(finding(
                    offset,
                    Problem::Corrupt(kind),
                    Remedy::Salvage { at: cut },
                ))
            }
        },
    )
}

/// The active segment, judged by open's own decision table. Returns whether
/// it is damaged.
fn judge_active(
    segment: &Segment,
    file: &Path,
    len: u64,
    scan: &Scan,
    check: &mut LogCheck,
) -> Result<bool> {
    let finding = tail_finding(segment, file, len, scan)?;
    let damaged = finding.is_some();
    check.findings.extend(finding);
    Ok(damaged)
}

/// What the last segment's header says, as open reads it.
enum LastHeader {
    Good,
    /// Damaged in a file of at most the preamble: a roll that never
    /// finished, which open removes.
    TornRoll,
    /// Damaged in a longer file, or of a newer version: open refuses.
    Bad,
}

fn last_header(vfs: &dyn Vfs, dir: &Path, base: Seq) -> Result<LastHeader> {
    let file = vfs
        .open(&path_in(dir, &segment_name(base)), OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let preamble = file
        .read_vec_at(usize::try_from(len.min(FRAMES_START)).unwrap_or(0), 0)
        .map_err(|e| Error::io("read segment header", e))?;
    Ok(match SegmentHeader::decode(&preamble) {
        Ok(h) if h.base == base => LastHeader::Good,
        Err(HeaderProblem::Damaged(_)) if len <= FRAMES_START => LastHeader::TornRoll,
        _ => LastHeader::Bad,
    })
}

/// Whether the segment before the active one (which starts at `next`) is
/// confirmed durable: a commit slot covering all of it (recovery.rs,
/// `previous_lost`, asks the same).
fn sealed_confirmed(segment: &Segment, len: u64, next: Seq) -> Result<bool> {
    let (best, damaged) = read_slots(segment, len)?;
    Ok(damaged || best.is_some_and(|s| s.durable_len == len && s.end_seq == next))
}

/// The segment before the active one, sealed but never confirmed durable,
/// judged as open judges it: intact is fine (open confirms it); a lost tail
/// is a torn tail, and the active segment, whose records follow lost ones,
/// is set aside; damage before its own durable point is corruption.
/// Returns whether the log ends here.
fn judge_unconfirmed(
    segment: &Segment,
    file: &Path,
    len: u64,
    scan: &Scan,
    (next, next_file): (Seq, &Path),
    check: &mut LogCheck,
) -> Result<bool> {
    match tail_finding(segment, file, len, scan)? {
        None if scan.batch_end_seq == next => return Ok(false),
        // Ends short of the next segment's base: nothing to cut in it.
        None => {}
        Some(
            torn @ Finding {
                problem: Problem::TornTail { .. },
                ..
            },
        ) => check.findings.push(torn),
        // Damage before its own durable point: corruption, as in open.
        Some(corrupt) => {
            check.findings.push(corrupt);
            return Ok(true);
        }
    }
    check.findings.push(Finding {
        file: next_file.to_path_buf(),
        offset: 0,
        problem: Problem::FollowsLostRecords,
        remedy: Remedy::SetAside,
    });
    Ok(true)
}

/// A sealed segment was fully durable when it sealed: any damage in it is
/// corruption, and its frames must run to its very end. Returns whether it
/// is damaged.
fn judge_sealed(file: &Path, len: u64, scan: &Scan, check: &mut LogCheck) -> bool {
    let damage = scan.damage.or_else(|| {
        (scan.batch_end < len).then_some((
            scan.batch_end,
            CorruptKind::Truncated {
                needed: len,
                available: scan.batch_end,
            },
        ))
    });
    let Some((offset, kind)) = damage else {
        return false;
    };
    check.findings.push(Finding {
        file: file.to_path_buf(),
        offset,
        problem: Problem::Corrupt(kind),
        remedy: if matches!(kind, CorruptKind::BadField { .. }) {
            // A checksummed frame of a newer spool: not damage to cut.
            Remedy::None
        } else {
            Remedy::Salvage { at: scan.batch_end }
        },
    });
    true
}

/// Checks a sealed segment's index against its frames; returns whether it is
/// present and right.
fn check_index(
    vfs: &dyn Vfs,
    dir: &Path,
    base: Seq,
    len: u64,
    scan: &Scan,
    check: &mut LogCheck,
) -> bool {
    let path = path_in(dir, &index_name(base));
    let present = vfs.open(&path, OpenMode::Read).and_then(|f| f.len()).ok();
    if let Some(bytes) = present {
        check.bytes += bytes;
    }
    let problem = match (present, index::load(vfs, &path, base, len)) {
        (Some(_), Some(entries)) if entries == scan.index => return true,
        (None, _) => Problem::IndexMissing,
        (Some(_), _) => Problem::IndexStale,
    };
    check.findings.push(Finding {
        file: path,
        offset: 0,
        problem,
        remedy: Remedy::RewriteIndex,
    });
    false
}
