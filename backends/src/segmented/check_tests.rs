//! `verify` and `repair` on real files: a clean log, a torn tail, a flipped
//! bit in a sealed segment (strict refusal, then salvage), a lost index, a
//! missing segment, and a live writer's lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spool_engine::{Backend, CorruptKind, Error, NewRecord, ReadRange, Seq, Vfs};

use super::layout::{FRAMES_START, index_name, segment_name};
use super::{ReadMode, SegmentedBackend, SegmentedConfig, repair, verify};
use crate::check::{Problem, Remedy};

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 4096,
        read_mode: ReadMode::Pread,
        ..SegmentedConfig::default()
    }
}

/// A log of `n` records of 100 bytes in many 4 KiB segments, closed.
async fn log(dir: &Path, n: u64) -> Arc<dyn Vfs> {
    let vfs: Arc<dyn Vfs> = Arc::new(crate::StdFs);
    let b = SegmentedBackend::open(Arc::clone(&vfs), dir, config()).unwrap();
    for i in 0..n {
        let r = NewRecord {
            timestamp_ms: 1_000 + i64::try_from(i).unwrap(),
            payload: Bytes::from(vec![b'a'; 100]),
        };
        b.append(Seq(i), &[r]).await.unwrap();
    }
    b.close().await.unwrap();
    vfs
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

async fn count(vfs: &Arc<dyn Vfs>, dir: &Path) -> u64 {
    let b = SegmentedBackend::open(Arc::clone(vfs), dir, config()).unwrap();
    let n = b.read(ReadRange::all_from(Seq(0))).await.unwrap().len() as u64;
    b.close().await.unwrap();
    n
}

#[tokio::test]
async fn a_clean_log_has_no_findings_and_its_vital_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    assert!(check.findings.is_empty(), "{:?}", check.findings);
    assert_eq!(check.records(), 200);
    assert_eq!(check.end_seq, Seq(200));
    assert!(check.segments.len() > 3);
    assert!(
        check
            .segments
            .iter()
            .filter(|s| s.sealed)
            .all(|s| s.index_ok)
    );
    assert_eq!(
        (check.oldest_ms, check.newest_ms),
        (Some(1_000), Some(1_199))
    );
    // Verify takes no lock, not even for a moment: a live writer goes on;
    // repair waits its turn.
    let b = SegmentedBackend::open(Arc::clone(&vfs), dir.path(), config()).unwrap();
    assert!(
        verify(vfs.as_ref(), dir.path())
            .unwrap()
            .findings
            .is_empty()
    );
    let r = NewRecord {
        timestamp_ms: 0,
        payload: Bytes::from_static(b"live"),
    };
    b.append(Seq(200), &[r]).await.unwrap();
    let err = repair(vfs.as_ref(), dir.path(), false).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_torn_tail_is_found_where_open_cuts_and_repair_saves_it() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 50).await;
    let active = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&active).unwrap().len();
    let mut bytes = std::fs::read(&active).unwrap();
    bytes.extend_from_slice(b"\x57half a frame");
    std::fs::write(&active, &bytes).unwrap();
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    assert_eq!(check.findings.len(), 1, "{:?}", check.findings);
    let f = &check.findings[0];
    assert_eq!((&f.file, f.offset), (&active, len));
    assert_eq!(f.problem, Problem::TornTail { bytes: 13 });
    assert_eq!(f.remedy, Remedy::Truncate { at: len });
    assert!(check.repairable_without_salvage());

    let report = repair(vfs.as_ref(), dir.path(), false).unwrap();
    assert!(report.after.findings.is_empty(), "{:?}", report.after);
    assert_eq!(report.saved.len(), 1);
    assert_eq!(
        std::fs::read(&report.saved[0]).unwrap(),
        b"\x57half a frame"
    );
    assert_eq!(std::fs::metadata(&active).unwrap().len(), len);
    assert_eq!(count(&vfs, dir.path()).await, 50);
}

#[tokio::test]
async fn damage_in_a_sealed_segment_needs_salvage_which_sets_the_rest_aside() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let all = segments(dir.path());
    let victim = &all[2];
    let mut bytes = std::fs::read(victim).unwrap();
    let at = usize::try_from(FRAMES_START).unwrap() + 3 * 128 + 60;
    bytes[at] ^= 0x04;
    std::fs::write(victim, &bytes).unwrap();

    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let f = check.findings.last().unwrap();
    assert_eq!(&f.file, victim);
    assert!(
        matches!(f.problem, Problem::Corrupt(CorruptKind::Checksum { .. })),
        "{f:?}"
    );
    let Remedy::Salvage { at: cut } = f.remedy else {
        panic!("{f:?}")
    };
    assert!(cut <= f.offset);
    assert!(!check.repairable_without_salvage());

    // Strict repair refuses and changes nothing.
    let err = repair(vfs.as_ref(), dir.path(), false).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_eq!(segments(dir.path()), all);
    assert_eq!(std::fs::read(victim).unwrap(), bytes);

    let report = repair(vfs.as_ref(), dir.path(), true).unwrap();
    assert!(report.after.findings.is_empty(), "{:?}", report.after);
    assert_eq!(report.set_aside.len(), all.len() - 3);
    for moved in &report.set_aside {
        assert!(moved.to_string_lossy().ends_with(".seg.cut-0"), "{moved:?}");
        assert!(moved.exists());
    }
    // The sealed segment was replaced, not shrunk in place (a reader may
    // map it): it now ends at the cut.
    assert_eq!(std::fs::read(victim).unwrap().len() as u64, cut);
    // The cut bytes are saved, byte for byte.
    let side = &report.saved[0];
    let cut_at = usize::try_from(cut).unwrap();
    assert_eq!(std::fs::read(side).unwrap(), bytes[cut_at..]);
    let kept = report.after.end_seq.0;
    assert!(kept > 0 && kept < 200);
    assert_eq!(count(&vfs, dir.path()).await, kept);
    // The log goes on from where it was cut.
    let b = SegmentedBackend::open(Arc::clone(&vfs), dir.path(), config()).unwrap();
    let r = NewRecord {
        timestamp_ms: 0,
        payload: Bytes::from_static(b"after"),
    };
    assert_eq!(b.append(Seq(kept), &[r]).await.unwrap().start, Seq(kept));
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_lost_index_and_a_stale_one_are_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let (first, second) = (check.segments[0].base, check.segments[1].base);
    std::fs::remove_file(dir.path().join(index_name(first))).unwrap();
    std::fs::write(dir.path().join(index_name(second)), b"junk").unwrap();
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let problems: Vec<&Problem> = check.findings.iter().map(|f| &f.problem).collect();
    assert_eq!(problems, [&Problem::IndexMissing, &Problem::IndexStale]);
    assert!(check.repairable_without_salvage());
    let report = repair(vfs.as_ref(), dir.path(), false).unwrap();
    assert_eq!(report.indexes_written, 2);
    assert!(report.after.findings.is_empty(), "{:?}", report.after);
    assert!(
        report
            .after
            .segments
            .iter()
            .filter(|s| s.sealed)
            .all(|s| s.index_ok)
    );
}

#[tokio::test]
async fn a_missing_segment_is_a_seq_gap() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let gone = check.segments[2].base;
    let after = check.segments[3].base;
    std::fs::remove_file(dir.path().join(segment_name(gone))).unwrap();
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let f = check.findings.last().unwrap();
    assert_eq!(
        f.problem,
        Problem::SeqGap {
            expected: gone,
            found: after
        }
    );
    assert_eq!(check.end_seq, gone);
    assert!(repair(vfs.as_ref(), dir.path(), false).is_err());
    let report = repair(vfs.as_ref(), dir.path(), true).unwrap();
    assert!(report.after.findings.is_empty(), "{:?}", report.after);
    assert_eq!(report.after.end_seq, gone);
    assert_eq!(count(&vfs, dir.path()).await, gone.0);
}

#[tokio::test]
async fn a_sealed_segment_is_replaced_not_shrunk_and_side_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let victim = segments(dir.path())[1].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[usize::try_from(FRAMES_START).unwrap() + 60] ^= 0x10;
    std::fs::write(&victim, &bytes).unwrap();
    let held = std::fs::File::open(&victim).unwrap();
    let first = repair(vfs.as_ref(), dir.path(), true).unwrap();
    // The old inode, as a reader holding it (or a map of it) sees it, is
    // whole: the segment was replaced by rename, never shrunk.
    assert_eq!(held.metadata().unwrap().len(), bytes.len() as u64);
    assert!(first.after.findings.is_empty(), "{:?}", first.after);

    // The log goes on, durably; then the same place is damaged again: the
    // second salvage saves to a new side file and the first one's bytes stay.
    let side = first.saved[0].clone();
    let kept = std::fs::read(&side).unwrap();
    let b = SegmentedBackend::open(Arc::clone(&vfs), dir.path(), config()).unwrap();
    let end = first.after.end_seq.0;
    for i in 0..5 {
        let r = NewRecord {
            timestamp_ms: 0,
            payload: Bytes::from(vec![b'b'; 100]),
        };
        b.append(Seq(end + i), &[r]).await.unwrap();
        b.sync(spool_engine::Durability::Data).await.unwrap();
    }
    b.close().await.unwrap();
    let cut_at = usize::try_from(first.after.segments.last().unwrap().bytes).unwrap();
    let mut damaged = std::fs::read(&victim).unwrap();
    damaged[cut_at + 60] ^= 0x10;
    std::fs::write(&victim, &damaged).unwrap();
    let second = repair(vfs.as_ref(), dir.path(), true).unwrap();
    assert!(!second.saved.is_empty());
    assert!(
        second.saved.iter().all(|p| *p != side),
        "{:?}",
        second.saved
    );
    assert_eq!(
        std::fs::read(&side).unwrap(),
        kept,
        "the first side file is intact"
    );
    assert!(second.after.findings.is_empty(), "{:?}", second.after);
}

#[tokio::test]
async fn a_frame_of_a_newer_format_in_a_sealed_segment_is_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let vfs = log(dir.path(), 200).await;
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let victim = check.segments[1].file.clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    // The first frame, rewritten as a newer spool might: a reserved field
    // set, and a checksum that covers it.
    let at = usize::try_from(FRAMES_START).unwrap();
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    bytes[at + 26] = 1;
    let crc = spool_engine::crc32(&[&bytes[at..at + 28], &bytes[at + 32..at + 32 + len]]);
    bytes[at + 28..at + 32].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&victim, &bytes).unwrap();
    let check = verify(vfs.as_ref(), dir.path()).unwrap();
    let f = check.findings.last().unwrap();
    assert!(
        matches!(f.problem, Problem::Corrupt(CorruptKind::BadField { .. })),
        "{f:?}"
    );
    assert_eq!(f.remedy, Remedy::None);
    let before = segments(dir.path());
    assert!(repair(vfs.as_ref(), dir.path(), true).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), bytes, "nothing was cut");
    assert_eq!(segments(dir.path()), before, "nothing set aside");
}
