//! Open after a crash inside a seal's window (the roll sealed a segment,
//! its background confirmation had not finished): open syncs nothing,
//! hands the seal to the writer, reports as durable only what a commit
//! slot vouches for, and the first sync confirms it all. A power loss at
//! any point after such an open still leaves a prefix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spool_engine::{Backend, Durability, NewRecord, OpenMode, Seq, Vfs};

use super::tests::{append_n, check_records, read_all, sim};
use super::{SegmentedBackend, SegmentedConfig};

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 4096,
        ..SegmentedConfig::default()
    }
}

/// The segment files of `/log`, oldest first.
fn segments(vfs: &Arc<dyn Vfs>) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = vfs
        .list(Path::new("/log"))
        .unwrap()
        .into_iter()
        .filter(|n| n.to_string_lossy().ends_with(".seg"))
        .map(|n| Path::new("/log").join(n))
        .collect();
    names.sort();
    names
}

/// A log of 80 records over several segments whose writer "died" (dropped
/// without close, so the page cache keeps everything) right after its last
/// roll: the confirmation that roll started never ran (this runtime has one
/// thread and nothing yielded).
async fn crashed_in_a_seal_window() -> (Arc<crate::sim::SimFs>, Arc<dyn Vfs>) {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", config()).unwrap();
    append_n(&b, 0, 80, 5).await;
    drop(b);
    (fs, vfs)
}

fn len(vfs: &Arc<dyn Vfs>, path: &Path) -> u64 {
    vfs.open(path, OpenMode::Read).unwrap().len().unwrap()
}

#[tokio::test]
async fn open_inside_a_seal_window_syncs_nothing_and_the_first_sync_confirms_it() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", config()).unwrap();
    append_n(&b, 0, 80, 5).await;
    let segs = segments(&vfs);
    let (sealed, active) = (&segs[segs.len() - 2], &segs[segs.len() - 1]);
    let sealed_len = len(&vfs, sealed);
    // The confirmation the last roll started has not run (this runtime has
    // one thread and the test never yielded), and the process "dies".
    drop(b);
    assert!((fs.durable_bytes(sealed).unwrap().len() as u64) < sealed_len);

    let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config()).unwrap();
    assert_eq!(again.next_seq(), Seq(80), "everything written is recovered");
    check_records(&read_all(&again).await, 80);
    assert!(
        (fs.durable_bytes(sealed).unwrap().len() as u64) < sealed_len,
        "open synced the sealed segment"
    );
    assert!(
        (fs.durable_bytes(active).unwrap().len() as u64) < len(&vfs, active),
        "open synced the active segment"
    );
    let active_base: u64 = active
        .file_stem()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        again.durable_seq().0 < active_base,
        "durable {} claims records of a segment whose seal is unconfirmed",
        again.durable_seq()
    );

    assert_eq!(again.sync(Durability::Data).await.unwrap(), Seq(80));
    assert_eq!(again.durable_seq(), Seq(80));
    assert_eq!(
        fs.durable_bytes(sealed).unwrap().len() as u64,
        sealed_len,
        "the sync confirmed the seal"
    );
    fs.crash(5);
    let last = SegmentedBackend::open(vfs, "/log", config()).unwrap();
    assert_eq!(last.next_seq(), Seq(80), "everything synced survives");
    check_records(&read_all(&last).await, 80);
}

/// A power loss after such an open (before any sync, or after appends that
/// started the confirmation in the background) keeps a prefix, never less
/// than what a sync acknowledged nor than the `durable_seq` open reported.
/// (The test never yields before the crash, so the background confirmation
/// only runs when a sync waits for it: every seed replays exactly.)
#[tokio::test]
async fn a_power_loss_after_opening_inside_a_seal_window_keeps_a_prefix() {
    for seed in 0..80 {
        let (fs, vfs) = crashed_in_a_seal_window().await;
        let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let mut durable = again.durable_seq().0;
        if seed % 2 == 1 {
            // The first append starts the pending confirmation.
            append_n(&again, 80, 10, 5).await;
            if seed % 4 == 3 {
                again.sync(Durability::Data).await.unwrap();
                durable = 90;
            }
        }
        drop(again);
        fs.crash(seed);
        let last = SegmentedBackend::open(Arc::clone(&vfs), "/log", config())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let n = last.next_seq().0;
        assert!(
            n >= durable,
            "seed {seed}: {n} < {durable} reported durable"
        );
        check_records(&read_all(&last).await, n);
    }
}

/// The confirmation the first append starts makes the pending seal durable
/// by itself, with no sync.
#[tokio::test]
async fn the_first_append_after_such_an_open_confirms_the_seal_in_the_background() {
    let (fs, vfs) = crashed_in_a_seal_window().await;
    let segs = segments(&vfs);
    let sealed = &segs[segs.len() - 2];
    let sealed_len = len(&vfs, sealed);
    let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config()).unwrap();
    append_n(&again, 80, 1, 1).await;
    let mut confirmed = false;
    for _ in 0..500 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        if fs.durable_bytes(sealed).unwrap().len() as u64 == sealed_len {
            confirmed = true;
            break;
        }
    }
    assert!(confirmed, "the seal was not confirmed in the background");
}

/// A payload that says which history it belongs to: a record of an earlier
/// history read back after a later one's records is a resurrection, which a
/// payload that depends on the seq alone would hide.
fn tagged(tag: u8, seq: u64) -> Bytes {
    let mut payload = vec![tag; 300];
    payload[1..9].copy_from_slice(&seq.to_le_bytes());
    Bytes::from(payload)
}

/// Power loss, a torn tail cut at open, new records of the same sizes over
/// the cut, power loss again: the old history's cut frames never come back
/// behind the new ones (the cut is durable before anything is written
/// over it).
#[tokio::test]
async fn records_written_over_a_cut_tail_never_resurrect_the_cut_ones() {
    // One segment: a roll would confirm (sync) the cut segment anyway.
    let config = SegmentedConfig::default;
    let mut cuts = 0;
    for seed in 0..400 {
        let (fs, vfs) = sim();
        let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", config()).unwrap();
        for i in 0..30u64 {
            let record = NewRecord {
                timestamp_ms: 0,
                payload: tagged(b'A', i),
            };
            b.append(Seq(i), &[record]).await.unwrap();
            if i == 4 {
                b.sync(Durability::Data).await.unwrap();
            }
        }
        drop(b);
        fs.crash(seed);
        let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        cuts += usize::from(again.recovery_report().truncated_bytes > 0);
        let kept = again.next_seq().0;
        for i in kept..kept + 1 + seed % 4 {
            let record = NewRecord {
                timestamp_ms: 0,
                payload: tagged(b'B', i),
            };
            again.append(Seq(i), &[record]).await.unwrap();
        }
        drop(again);
        fs.crash(seed + 1_000);
        let last = SegmentedBackend::open(Arc::clone(&vfs), "/log", config())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        for r in read_all(&last).await {
            let tag = if r.seq.0 < kept { b'A' } else { b'B' };
            assert_eq!(
                r.payload,
                tagged(tag, r.seq.0),
                "seed {seed}: seq {}",
                r.seq
            );
        }
    }
    assert!(
        cuts > 10,
        "only {cuts} runs cut a torn tail: the case is untested"
    );
}

/// Repair leaves nothing for a writer to do: the pending seal confirmed and
/// the active segment synced.
#[tokio::test]
async fn repair_confirms_a_pending_seal() {
    let (fs, vfs) = crashed_in_a_seal_window().await;
    let segs = segments(&vfs);
    super::repair(vfs.as_ref(), Path::new("/log"), false).unwrap();
    for seg in &segs[segs.len() - 2..] {
        assert_eq!(
            fs.durable_bytes(seg).unwrap().len() as u64,
            len(&vfs, seg),
            "{} not durable after repair",
            seg.display()
        );
    }
    fs.crash(9);
    let again = SegmentedBackend::open(vfs, "/log", config()).unwrap();
    assert_eq!(again.next_seq(), Seq(80));
    assert_eq!(again.durable_seq(), Seq(80), "a slot vouches for all of it");
}

/// A writer killed right after a sync may leave that sync's commit slot in
/// the page cache only; reopened and closed with nothing appended, close
/// still makes it durable, so a power loss then keeps what it vouches for.
#[tokio::test]
async fn close_after_a_reopen_makes_the_last_slot_durable() {
    for seed in 0..20 {
        let (fs, vfs) = sim();
        let b =
            SegmentedBackend::open(Arc::clone(&vfs), "/log", SegmentedConfig::default()).unwrap();
        append_n(&b, 0, 40, 5).await;
        b.sync(Durability::Data).await.unwrap();
        drop(b);
        let again =
            SegmentedBackend::open(Arc::clone(&vfs), "/log", SegmentedConfig::default()).unwrap();
        assert_eq!(
            again.durable_seq(),
            Seq(40),
            "the slot (in the cache) says so"
        );
        again.close().await.unwrap();
        fs.crash(seed);
        let last = SegmentedBackend::open(vfs, "/log", SegmentedConfig::default()).unwrap();
        assert_eq!(
            last.durable_seq(),
            Seq(40),
            "seed {seed}: the slot was lost"
        );
    }
}

/// A damaged commit slot makes the whole segment count as durable (damage
/// anywhere is then reported, never cut), so open makes it so before it
/// says so.
#[tokio::test]
async fn a_damaged_slot_is_made_true_at_open() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", SegmentedConfig::default()).unwrap();
    append_n(&b, 0, 10, 5).await;
    b.sync(Durability::Data).await.unwrap();
    append_n(&b, 10, 10, 5).await;
    drop(b);
    let seg = segments(&vfs).pop().unwrap();
    // The second slot (never written, all zeros) gets one bit set: damaged.
    fs.flip_bit(&seg, super::layout::SLOT_OFFSETS[1] * 8 + 3)
        .unwrap();
    let again =
        SegmentedBackend::open(Arc::clone(&vfs), "/log", SegmentedConfig::default()).unwrap();
    assert_eq!(again.durable_seq(), Seq(20));
    assert_eq!(
        fs.durable_bytes(&seg).unwrap().len() as u64,
        len(&vfs, &seg),
        "open reported unsynced bytes as durable"
    );
}
