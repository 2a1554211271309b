//! Opening a segmented log after whatever happened to it: find the segments,
//! repair a torn roll, scan the active (last) segment only, and apply the
//! recovery decision table of docs/format.md, which [`decide`] mirrors as one
//! `match`.
//!
//! Recovery is idempotent: every step either changes nothing or moves the
//! files toward the state the next open would also reach (a truncation is
//! redone, a torn roll removed again), so a crash during recovery is just
//! another crash (F11).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spool_engine::{
    Clock as _, CorruptKind, Error, OpenMode, Result, Seq, SystemClock, Vfs, VfsFile, frame,
};

use super::layout::{
    CommitSlot, FRAMES_START, HeaderProblem, SLOT_LEN, SLOT_OFFSETS, SegmentHeader,
    parse_segment_name, path_in, segment_name,
};
use super::segment::{ReadMode, Scan, Segment};
use super::{RecoveryMode, SegmentedConfig};

/// What recovery did, for operators and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of the active segment read to recover it (sealed segments are
    /// never read at open).
    pub scanned_bytes: u64,
    /// Bytes cut from the end of the active segment (a torn tail, or salvage).
    pub truncated_bytes: u64,
    /// A segment whose creation never completed was removed.
    pub removed_torn_segment: bool,
    /// Where salvage saved the bytes it cut, if it cut any.
    pub salvaged_to: Option<PathBuf>,
    /// Where segments that followed lost records were set aside (the one
    /// before was sealed but never confirmed durable, and lost its tail).
    pub set_aside: Vec<PathBuf>,
}

/// The outcome of scanning the active segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every byte is a valid frame of a complete batch.
    Clean,
    /// Damage after the durable point: cut back to the last complete batch.
    TornTail { cut: u64 },
    /// Damage before the durable point, strict mode: refuse to open.
    Corrupt { offset: u64, kind: CorruptKind },
    /// Damage before the durable point, salvage mode: save and cut.
    Salvage { cut: u64 },
}

/// The recovery decision table (docs/format.md), as one `match`.
pub(crate) fn decide(scan: &Scan, len: u64, durable_len: u64, mode: RecoveryMode) -> Verdict {
    // Bytes that were durable and are gone count as damage where they end.
    let lost = (len < durable_len).then_some((
        len,
        CorruptKind::Truncated {
            needed: durable_len,
            available: len,
        },
    ));
    match (scan.damage.or(lost), mode) {
        (None, _) => Verdict::Clean,
        // A checksummed frame with values this build does not know was
        // written by a newer spool: never a torn tail to cut.
        (Some((offset, kind @ CorruptKind::BadField { .. })), _) => {
            Verdict::Corrupt { offset, kind }
        }
        (Some((offset, _)), _) if offset >= durable_len => Verdict::TornTail {
            cut: scan.batch_end,
        },
        (Some((offset, kind)), RecoveryMode::Strict) => Verdict::Corrupt { offset, kind },
        (Some(_), RecoveryMode::Salvage) => Verdict::Salvage {
            cut: scan.batch_end,
        },
    }
}

/// The state of a log after recovery.
pub(crate) struct Recovered {
    pub(crate) segments: Vec<Arc<Segment>>,
    pub(crate) write_len: u64,
    pub(crate) next_seq: Seq,
    pub(crate) slot_generation: u64,
    /// How much of the active segment a commit slot vouches for (the rest
    /// was recovered from the page cache, or is new, and becomes durable
    /// at the writer's first sync).
    pub(crate) synced_len: u64,
    /// Records below this seq are known durable.
    pub(crate) durable_seq: Seq,
    /// The segment before the active one, when its seal is unconfirmed but
    /// it is intact: the writer confirms it (in the background, from its
    /// first append) before any acknowledgement of durability.
    pub(crate) unsealed: Option<PendingSeal>,
    /// Everything kept is durable under a synced slot (`make_durable` ran).
    pub(crate) all_durable: bool,
    pub(crate) report: RecoveryReport,
}

/// A sealed segment whose seal is not confirmed yet, found at open.
pub(crate) struct PendingSeal {
    /// Opened for writing: its confirming slot is written into it.
    pub(crate) segment: Arc<Segment>,
    pub(crate) len: u64,
    pub(crate) slot_generation: u64,
}

/// What the segment before the active one turned out to be.
enum Previous {
    /// None, or durable: its seal was confirmed.
    Confirmed,
    /// Intact, its seal not confirmed yet; and the seq below which its own
    /// last commit slot says records are durable.
    Pending((PendingSeal, Seq)),
    /// Its tail was lost; the active segment was set aside to this path.
    Lost(PathBuf),
}

impl Recovered {
    /// Makes everything recovered durable now, as a clean close would:
    /// confirms a pending seal and syncs the active segment under a new
    /// commit slot. Open does not (a crashed writer may have left tens of
    /// MiB dirty in the page cache, and open must stay fast: R18); repair
    /// does, so that what it leaves needs nothing more.
    pub(crate) fn make_durable(&mut self) -> Result<()> {
        if self.all_durable {
            return Ok(());
        }
        let active = self
            .segments
            .last()
            .ok_or_else(|| Error::io("recover", std::io::Error::other("no active segment")))?;
        if let Some(pending) = self.unsealed.take() {
            write_synced_slot(
                &pending.segment,
                CommitSlot {
                    generation: pending.slot_generation + 1,
                    durable_len: pending.len,
                    end_seq: active.base,
                },
            )?;
        }
        self.slot_generation += 1;
        write_synced_slot(
            active,
            CommitSlot {
                generation: self.slot_generation,
                durable_len: self.write_len,
                end_seq: self.next_seq,
            },
        )?;
        self.synced_len = self.write_len;
        self.durable_seq = self.next_seq;
        self.all_durable = true;
        Ok(())
    }
}

/// fdatasync of `segment`, then `slot` written and synced: the slot lands
/// after the data it vouches for.
fn write_synced_slot(segment: &Segment, slot: CommitSlot) -> Result<()> {
    segment
        .file
        .sync_data()
        .and_then(|()| {
            segment
                .file
                .write_all_at(&slot.encode(), CommitSlot::offset_for(slot.generation))
        })
        .and_then(|()| segment.file.sync_data())
        .map_err(|e| Error::io("sync recovered segment", e))
}

/// Creates an empty segment at `base` durably: preamble written and synced,
/// then the directory entry.
pub(crate) fn create_segment(vfs: &dyn Vfs, dir: &Path, base: Seq) -> Result<Segment> {
    let name = segment_name(base);
    let file = write_segment_file(vfs, &path_in(dir, &name), base, &[])?;
    vfs.sync_dir(dir)
        .map_err(|e| Error::io("sync log directory", e))?;
    Ok(Segment::new(base, name, file, FRAMES_START, base, false))
}

/// Replaces segment `base` with a new file: a fresh preamble (empty commit
/// slots) and `frames`, written under a temporary name, synced, and renamed
/// over the old one (which readers that mapped it keep whole).
pub(crate) fn replace_segment(vfs: &dyn Vfs, dir: &Path, base: Seq, frames: &[u8]) -> Result<()> {
    let name = segment_name(base);
    let tmp = path_in(dir, &format!("{name}.tmp"));
    match vfs.remove(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("remove temporary segment", e));
        }
        _ => {}
    }
    drop(write_segment_file(vfs, &tmp, base, frames)?);
    vfs.rename(&tmp, &path_in(dir, &name))
        .map_err(|e| Error::io("replace segment", e))?;
    vfs.sync_dir(dir)
        .map_err(|e| Error::io("sync log directory", e))
}

/// Creates the new file `path` as a segment at `base`: a fresh preamble
/// (empty commit slots), then `frames`, synced. The caller makes its
/// directory entry durable.
pub(crate) fn write_segment_file(
    vfs: &dyn Vfs,
    path: &Path,
    base: Seq,
    frames: &[u8],
) -> Result<Box<dyn VfsFile>> {
    let file = vfs
        .open(path, OpenMode::CreateNew)
        .map_err(|e| Error::io("create segment", e))?;
    let preamble = SegmentHeader {
        base,
        created_ms: SystemClock.now_ms(),
    }
    .encode_preamble();
    file.write_all_at(&preamble, 0)
        .map_err(|e| Error::io("write segment header", e))?;
    if !frames.is_empty() {
        file.write_all_at(frames, FRAMES_START)
            .map_err(|e| Error::io("write segment", e))?;
    }
    file.sync_data()
        .map_err(|e| Error::io("sync segment header", e))?;
    Ok(file)
}

/// Opens and recovers the log in `dir` (which the caller holds the lock of).
pub(crate) fn recover(vfs: &dyn Vfs, dir: &Path, config: &SegmentedConfig) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    let mut bases = list_bases(vfs, dir)?;
    let (mut active, len, pending) = loop {
        let (active, len) = open_active(vfs, dir, &mut bases, &mut report)?;
        match previous_lost(vfs, dir, &bases, &active, config, &mut report)? {
            Previous::Confirmed => break (active, len, None),
            Previous::Pending(pending) => break (active, len, Some(pending)),
            // The one before is the active segment now.
            Previous::Lost(set_aside) => {
                report.set_aside.push(set_aside);
                bases.pop();
            }
        }
    };
    let (best, slots_damaged) = read_slots(&active, len)?;
    let (durable_len, slot_generation) = point_of(best, slots_damaged, len);
    let scan = active.scan(
        ReadMode::Pread,
        FRAMES_START,
        active.base,
        len,
        frame::PAYLOAD_MAX_BYTES,
    )?;
    report.scanned_bytes += len.saturating_sub(FRAMES_START);
    let cut = match decide(&scan, len, durable_len, config.recovery) {
        Verdict::Clean => len,
        Verdict::TornTail { cut } => cut,
        Verdict::Corrupt { offset, kind } => {
            return Err(Error::Corrupt {
                object: active.name.clone(),
                offset,
                kind,
            });
        }
        Verdict::Salvage { cut } => {
            report.salvaged_to = Some(save_cut(vfs, dir, &active, cut, len)?);
            cut
        }
    };
    // Synced now only where the next open could otherwise misread the
    // files: after a cut (new records written over a cut that a power loss
    // undid could be followed by the cut's old frames, read as theirs),
    // after salvage cut below what a slot vouches for, over a rewritten
    // segment (fresh, empty slots over durable records), or when a slot is
    // damaged (the whole file counts as durable, so it must be). Otherwise
    // nothing is synced here: what a slot vouches for stays so, and the
    // rest becomes durable at the writer's first sync.
    if cut < len {
        let was_sealed = !report.set_aside.is_empty();
        active = cut_active(vfs, dir, active, cut, was_sealed)?;
        report.truncated_bytes = len - cut;
    }
    active.install_index(scan.index.clone());
    active.publish(&[], cut, scan.batch_end_seq);
    // What a slot vouches for (a damaged slot makes it all count, as in
    // `durable_point`): its length, and the seq it ends at.
    let (synced_len, synced_seq) = match best {
        _ if slots_damaged => (cut, scan.batch_end_seq),
        Some(slot) if slot.durable_len <= cut => (slot.durable_len, slot.end_seq),
        Some(_) => (cut, scan.batch_end_seq),
        None => (FRAMES_START, active.base),
    };

    let mut segments = open_sealed(vfs, dir, &bases)?;
    let (unsealed, durable_seq) = match pending {
        // Its read-only entry gives way to the writable handle, so the
        // writer confirms the very segment readers read. Not even it is
        // known durable past its own last slot.
        Some((pending, durable_seq)) => {
            if let Some(last) = segments.last_mut() {
                *last = Arc::clone(&pending.segment);
            }
            (Some(pending), durable_seq)
        }
        None => (None, synced_seq),
    };
    segments.push(Arc::new(active));
    let mut recovered = Recovered {
        segments,
        write_len: cut,
        next_seq: scan.batch_end_seq,
        slot_generation,
        synced_len,
        durable_seq,
        unsealed,
        all_durable: false,
        report,
    };
    if cut < len || slots_damaged {
        recovered.make_durable()?;
    }
    Ok(recovered)
}

/// Checks the segment before the active one. It is durable once its seal
/// was confirmed: a commit slot covering its whole length, written in the
/// background from the roll that sealed it, and waited for by the next
/// roll, sync or close. A crash inside that window leaves it unconfirmed;
/// then it is read whole and, if intact, handed back to be confirmed by
/// the writer (not here: a crashed writer may have left all of it dirty in
/// the page cache, and open must not wait for that). If its tail was lost, the active segment's records follow
/// lost ones (and none was acknowledged as durable: every sync confirms the
/// seal first), so the active segment is set aside as `<segment>.cut-0`
/// (never deleted) and the one before becomes the active one; returns where
/// it went. Damage before the unconfirmed segment's own durable point is
/// `Corrupt`, as in the active segment.
fn previous_lost(
    vfs: &dyn Vfs,
    dir: &Path,
    bases: &[Seq],
    active: &Segment,
    config: &SegmentedConfig,
    report: &mut RecoveryReport,
) -> Result<Previous> {
    let [.., prev_base, _] = bases else {
        return Ok(Previous::Confirmed);
    };
    let name = segment_name(*prev_base);
    let file = vfs
        .open(&path_in(dir, &name), OpenMode::ReadWrite)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let prev = Segment::new(*prev_base, name, file, len, *prev_base, false);
    let (best, damaged) = read_slots(&prev, len)?;
    // Confirmed: a slot vouches for all of it, up to the active segment's
    // base. (A damaged slot makes all of it count as durable: damage is then
    // reported when read, never cut.)
    if damaged || best.is_some_and(|s| s.durable_len == len && s.end_seq == active.base) {
        return Ok(Previous::Confirmed);
    }
    let (durable_len, generation) = durable_point(&prev, len)?;
    let scan = prev.scan_all(len)?;
    report.scanned_bytes += len.saturating_sub(FRAMES_START);
    match decide(&scan, len, durable_len, config.recovery) {
        Verdict::Clean if scan.batch_end_seq == active.base => {
            // Intact (a crashed process, not lost disk writes): the writer
            // confirms it. As a sealed segment it is read by index.
            prev.install_index(scan.index);
            prev.publish(&[], len, active.base);
            prev.seal();
            let durable = best.map_or(prev.base, |s| s.end_seq);
            Ok(Previous::Pending((
                PendingSeal {
                    segment: Arc::new(prev),
                    len,
                    slot_generation: generation,
                },
                durable,
            )))
        }
        Verdict::Corrupt { offset, kind } => Err(prev.corrupt(offset, kind)),
        // Its tail is gone (torn, cut at a frame boundary, or damaged in
        // salvage mode): what follows it cannot stay.
        Verdict::Clean | Verdict::TornTail { .. } | Verdict::Salvage { .. } => {
            let path = path_in(dir, &active.name);
            let to = crate::check::free_side_path(vfs, &path, "cut-0")?;
            vfs.rename(&path, &to)
                .map_err(|e| Error::io("set segment aside", e))?;
            vfs.sync_dir(dir)
                .map_err(|e| Error::io("sync log directory", e))?;
            Ok(Previous::Lost(to))
        }
    }
}

/// Cuts the active segment back to `cut`. One that was sealed until the
/// segment after it was set aside may be mapped by a reader in another
/// process (R11): its kept part goes to a new file renamed over it (such a
/// reader keeps the old one whole; the new file has fresh, empty commit
/// slots). Otherwise it is cut in place: readers read an active segment by
/// pread only, never mapped.
fn cut_active(
    vfs: &dyn Vfs,
    dir: &Path,
    active: Segment,
    cut: u64,
    was_sealed: bool,
) -> Result<Segment> {
    if !was_sealed {
        active
            .file
            .set_len(cut)
            .map_err(|e| Error::io("truncate torn tail", e))?;
        return Ok(active);
    }
    let kept = active
        .file
        .read_vec_at(
            usize::try_from(cut - FRAMES_START).unwrap_or(0),
            FRAMES_START,
        )
        .map_err(|e| Error::io("read segment", e))?;
    replace_segment(vfs, dir, active.base, &kept)?;
    let file = vfs
        .open(&path_in(dir, &active.name), OpenMode::ReadWrite)
        .map_err(|e| Error::io("open segment", e))?;
    let segment = Segment::new(
        active.base,
        active.name.clone(),
        file,
        cut,
        active.base,
        false,
    );
    Ok(segment)
}

/// Opens the last segment as the active one. A last segment whose preamble
/// never became durable is a roll that did not finish and holds no records:
/// it is removed and the one before it becomes active again.
fn open_active(
    vfs: &dyn Vfs,
    dir: &Path,
    bases: &mut Vec<Seq>,
    report: &mut RecoveryReport,
) -> Result<(Segment, u64)> {
    // The last segment is the active one; a last segment whose preamble never
    // became durable is a roll that did not finish, and holds no records.
    loop {
        let Some(&base) = bases.last() else {
            let segment = create_segment(vfs, dir, Seq::ZERO)?;
            bases.push(Seq::ZERO);
            return Ok((segment, FRAMES_START));
        };
        let name = segment_name(base);
        let path = path_in(dir, &name);
        let file = vfs
            .open(&path, OpenMode::ReadWrite)
            .map_err(|e| Error::io("open segment", e))?;
        let len = file.len().map_err(|e| Error::io("size segment", e))?;
        let mut preamble = vec![0u8; usize::try_from(len.min(FRAMES_START)).unwrap_or(0)];
        file.read_exact_at(&mut preamble, 0)
            .map_err(|e| Error::io("read segment header", e))?;
        report.scanned_bytes += preamble.len() as u64;
        match SegmentHeader::decode(&preamble) {
            Ok(h) if h.base == base => {
                // The header landed but the slot sectors did not: restore
                // them (empty) so frames start where they always do.
                let len = if len < FRAMES_START {
                    file.set_len(FRAMES_START)
                        .map_err(|e| Error::io("restore segment preamble", e))?;
                    FRAMES_START
                } else {
                    len
                };
                return Ok((Segment::new(base, name, file, len, base, false), len));
            }
            Ok(h) => {
                return Err(Error::Corrupt {
                    object: name,
                    offset: 8,
                    kind: CorruptKind::BadField {
                        field: "base seq",
                        value: h.base.0,
                    },
                });
            }
            Err(HeaderProblem::Version(found)) => {
                return Err(Error::UnsupportedVersion {
                    what: "segment",
                    found,
                    supported: 1,
                });
            }
            Err(HeaderProblem::Damaged(_)) if len <= FRAMES_START => {
                drop(file);
                vfs.remove(&path)
                    .map_err(|e| Error::io("remove torn segment", e))?;
                vfs.sync_dir(dir)
                    .map_err(|e| Error::io("sync log directory", e))?;
                report.removed_torn_segment = true;
                bases.pop();
            }
            Err(HeaderProblem::Damaged(kind)) => {
                return Err(Error::Corrupt {
                    object: name,
                    offset: 0,
                    kind,
                });
            }
        }
    }
}

/// Opens every segment but the last as sealed, without reading them (R18).
pub(crate) fn open_sealed(vfs: &dyn Vfs, dir: &Path, bases: &[Seq]) -> Result<Vec<Arc<Segment>>> {
    let mut segments = Vec::with_capacity(bases.len());
    for pair in bases.windows(2) {
        let name = segment_name(pair[0]);
        let file = vfs
            .open(&path_in(dir, &name), OpenMode::Read)
            .map_err(|e| Error::io("open sealed segment", e))?;
        // Only the size: sealed segments are not read at open (R18).
        let len = file
            .len()
            .map_err(|e| Error::io("size sealed segment", e))?;
        segments.push(Arc::new(Segment::new(
            pair[0], name, file, len, pair[1], true,
        )));
    }
    Ok(segments)
}

/// The durable point of `segment` (of `len` bytes): `durable_len` of the
/// valid commit slot with the highest generation, or 1536 when no slot was
/// ever written. A slot that is neither valid nor empty is damage outside
/// the media model (a slot sits in its own sector, written whole or not at
/// all): then nothing is known to be torn, and the whole file counts as
/// durable, so damage anywhere is reported rather than cut.
pub(crate) fn durable_point(segment: &Segment, len: u64) -> Result<(u64, u64)> {
    let (best, damaged) = read_slots(segment, len)?;
    Ok(point_of(best, damaged, len))
}

/// [`durable_point`] from slots already read.
fn point_of(best: Option<CommitSlot>, damaged: bool, len: u64) -> (u64, u64) {
    let generation = best.map_or(0, |s| s.generation);
    let durable = if damaged {
        len.max(FRAMES_START)
    } else {
        best.map_or(FRAMES_START, |s| s.durable_len)
    };
    (durable, generation)
}

/// The valid commit slot of `segment` with the highest generation, and
/// whether a slot is neither valid nor empty (damaged).
pub(crate) fn read_slots(segment: &Segment, len: u64) -> Result<(Option<CommitSlot>, bool)> {
    let mut best: Option<CommitSlot> = None;
    let mut damaged = false;
    for offset in SLOT_OFFSETS {
        if offset + SLOT_LEN as u64 > len {
            continue;
        }
        let mut bytes = [0u8; SLOT_LEN];
        segment
            .file
            .read_exact_at(&mut bytes, offset)
            .map_err(|e| Error::io("read commit slot", e))?;
        match CommitSlot::decode(&bytes) {
            Some(slot) if best.is_none_or(|b| slot.generation > b.generation) => best = Some(slot),
            Some(_) => {}
            None => damaged |= bytes.iter().any(|b| *b != 0),
        }
    }
    Ok((best, damaged))
}

/// Salvage never loses bytes silently: what it cuts goes to a side file
/// first (a new one: an earlier salvage's is never overwritten).
fn save_cut(vfs: &dyn Vfs, dir: &Path, segment: &Segment, cut: u64, len: u64) -> Result<PathBuf> {
    crate::check::save_tail(vfs, &path_in(dir, &segment.name), cut, len)
}

/// The segment bases in `dir`, ascending.
pub(crate) fn list_bases(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<Seq>> {
    let listed = vfs
        .list(dir)
        .map_err(|e| Error::io("list log directory", e))?;
    let mut bases: Vec<Seq> = listed
        .iter()
        .filter_map(|n| parse_segment_name(n))
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// Opens `base` read-only as the active segment of a log another process
/// writes, or `None` if its preamble is not complete yet (a roll in flight).
pub(crate) fn observe_segment(vfs: &dyn Vfs, dir: &Path, base: Seq) -> Result<Option<Segment>> {
    let name = segment_name(base);
    let file = vfs
        .open(&path_in(dir, &name), OpenMode::Read)
        .map_err(|e| Error::io("open segment", e))?;
    let len = file.len().map_err(|e| Error::io("size segment", e))?;
    let mut preamble = vec![0u8; usize::try_from(len.min(FRAMES_START)).unwrap_or(0)];
    file.read_exact_at(&mut preamble, 0)
        .map_err(|e| Error::io("read segment header", e))?;
    match SegmentHeader::decode(&preamble) {
        Ok(h) if h.base == base && len >= FRAMES_START => Ok(Some(Segment::new(
            base,
            name,
            file,
            FRAMES_START,
            base,
            false,
        ))),
        Ok(_) | Err(HeaderProblem::Damaged(_)) if len <= FRAMES_START => Ok(None),
        Ok(h) => Err(Error::Corrupt {
            object: name,
            offset: 8,
            kind: CorruptKind::BadField {
                field: "base seq",
                value: h.base.0,
            },
        }),
        Err(HeaderProblem::Version(found)) => Err(Error::UnsupportedVersion {
            what: "segment",
            found,
            supported: 1,
        }),
        Err(HeaderProblem::Damaged(kind)) => Err(Error::Corrupt {
            object: name,
            offset: 0,
            kind,
        }),
    }
}

/// Publishes the complete batches a writer added to `segment` since it was
/// last looked at. Damage before the segment's durable point is corruption;
/// after it, it is the writer's write in flight, and reading stops there.
pub(crate) fn follow(segment: &Segment, max_payload: usize) -> Result<()> {
    let len = segment
        .file
        .len()
        .map_err(|e| Error::io("size segment", e))?;
    let from = segment.published_len();
    if len <= from {
        return Ok(());
    }
    let scan = segment.scan(ReadMode::Pread, from, segment.end_seq(), len, max_payload)?;
    if let Some((offset, kind)) = scan.damage {
        let (durable, _) = durable_point(segment, len)?;
        if offset < durable {
            return Err(segment.corrupt(offset, kind));
        }
    }
    let entries: Vec<(u64, u64)> = scan.index.iter().copied().filter(|e| e.1 > from).collect();
    segment.publish(&entries, scan.batch_end, scan.batch_end_seq);
    Ok(())
}
