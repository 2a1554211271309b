//! Segmented backend unit tests: round trips across rolls in both read modes,
//! reopen, torn tails, the writer lock, index rebuilds, strict vs salvage
//! recovery, and what open reads.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use spool_engine::{Backend, Durability, Error, NewRecord, ReadRange, Seq, Vfs};

use super::*;
use crate::sim::{Fault, FaultMode, SimFs};

pub(super) fn small(read_mode: ReadMode) -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 4096,
        read_mode,
        ..SegmentedConfig::default()
    }
}

pub(super) fn rec(i: u64) -> NewRecord {
    let len = usize::try_from(i % 300).unwrap();
    NewRecord {
        timestamp_ms: i64::try_from(i).unwrap(),
        payload: Bytes::from(vec![u8::try_from(i % 251).unwrap(); len]),
    }
}

pub(super) async fn append_n(b: &SegmentedBackend, from: u64, n: u64, per_batch: u64) {
    let mut i = from;
    while i < from + n {
        let batch: Vec<NewRecord> = (i..(i + per_batch).min(from + n)).map(rec).collect();
        let got = b.append(Seq(i), &batch).await.unwrap();
        assert_eq!(got.start, Seq(i));
        i = got.end.0;
    }
}

pub(super) async fn read_all(b: &SegmentedBackend) -> Vec<spool_engine::Record> {
    b.read(ReadRange::all_from(Seq(0))).await.unwrap()
}

pub(super) fn check_records(records: &[spool_engine::Record], n: u64) {
    assert_eq!(records.len() as u64, n);
    for (i, r) in records.iter().enumerate() {
        let want = rec(i as u64);
        assert_eq!(r.seq, Seq(i as u64));
        assert_eq!(r.payload, want.payload, "payload of {i}");
        assert_eq!(r.timestamp_ms, want.timestamp_ms);
    }
}

pub(super) fn sim() -> (Arc<SimFs>, Arc<dyn Vfs>) {
    let fs = Arc::new(SimFs::new(7));
    let vfs: Arc<dyn Vfs> = fs.clone();
    (fs, vfs)
}

#[tokio::test]
async fn round_trips_across_many_segments_in_both_read_modes() {
    for mode in [ReadMode::Mmap, ReadMode::Pread] {
        let dir = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(crate::StdFs);
        let b = SegmentedBackend::open(vfs.clone(), dir.path(), small(mode)).unwrap();
        append_n(&b, 0, 500, 7).await;
        assert!(b.segment_count() > 10, "rolled {} times", b.segment_count());
        check_records(&read_all(&b).await, 500);
        // Reads starting mid-segment, bounded by records and bytes.
        let page = b
            .read(ReadRange {
                from: Seq(123),
                to: Seq(200),
                max_records: 10,
                max_bytes: usize::MAX,
            })
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.seq.0).collect::<Vec<_>>(),
            (123..133).collect::<Vec<_>>()
        );
        let one = b
            .read(ReadRange {
                from: Seq(299),
                to: Seq(400),
                max_records: 100,
                max_bytes: 1,
            })
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
        b.close().await.unwrap();

        let again = SegmentedBackend::open(vfs, dir.path(), small(mode)).unwrap();
        assert_eq!(again.next_seq(), Seq(500));
        assert_eq!(again.recovery_report().truncated_bytes, 0);
        check_records(&read_all(&again).await, 500);
        append_n(&again, 500, 20, 3).await;
        check_records(&read_all(&again).await, 520);
    }
}

#[tokio::test]
async fn a_second_writer_is_locked_out_until_the_first_closes() {
    let (_, vfs) = sim();
    let first = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    let err = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    first.close().await.unwrap();
    SegmentedBackend::open(vfs, "/log", small(ReadMode::Mmap)).unwrap();
}

#[tokio::test]
async fn synced_records_survive_every_crash_and_the_rest_is_a_prefix() {
    for seed in 0..150 {
        let (fs, vfs) = sim();
        let b = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
        append_n(&b, 0, 40, 4).await;
        b.sync(Durability::Data).await.unwrap();
        append_n(&b, 40, 30, 5).await; // unsynced
        fs.crash(seed);
        let again = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let n = again.next_seq().0;
        assert!((40..=70).contains(&n), "seed {seed}: {n}");
        // Batches of 5 after the durable 40 are whole or absent.
        assert_eq!((n - 40) % 5, 0, "seed {seed}: torn batch kept");
        check_records(&read_all(&again).await, n);
    }
}

#[tokio::test]
async fn a_missing_or_damaged_index_is_rebuilt() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Pread)).unwrap();
    append_n(&b, 0, 200, 10).await;
    b.close().await.unwrap();
    let idx: Vec<_> = vfs
        .list(Path::new("/log"))
        .unwrap()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".idx"))
        .collect();
    assert!(idx.len() > 2);
    vfs.remove(&Path::new("/log").join(&idx[0])).unwrap();
    fs.flip_bit(&Path::new("/log").join(&idx[1]), 100).unwrap();
    let again = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Pread)).unwrap();
    check_records(&read_all(&again).await, 200);
    assert!(
        vfs.list(Path::new("/log")).unwrap().contains(&idx[0]),
        "rebuilt index written back"
    );
}

#[tokio::test]
async fn damage_before_the_durable_point_is_corrupt_unless_salvaging() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", SegmentedConfig::default()).unwrap();
    append_n(&b, 0, 30, 3).await;
    b.sync(Durability::Data).await.unwrap();
    append_n(&b, 30, 3, 3).await;
    b.close().await.unwrap(); // durable through seq 33
    let seg = Path::new("/log/00000000000000000000.seg");
    // A bit in the payload of the 4th frame (seq 3, 3 payload bytes), well
    // before the durable end.
    let frame3 = FRAMES_START
        + (0..3)
            .map(|i| frame::encoded_len(usize::try_from(i % 300).unwrap()) as u64)
            .sum::<u64>();
    fs.flip_bit(seg, (frame3 + 33) * 8).unwrap();
    let err = SegmentedBackend::open(vfs.clone(), "/log", SegmentedConfig::default()).unwrap_err();
    match err {
        Error::Corrupt { object, offset, .. } => {
            assert_eq!(object, "00000000000000000000.seg");
            assert_eq!(offset, frame3);
        }
        other => panic!("{other:?}"),
    }
    let salvage = SegmentedConfig {
        recovery: RecoveryMode::Salvage,
        ..SegmentedConfig::default()
    };
    let saved = SegmentedBackend::open(vfs.clone(), "/log", salvage).unwrap();
    // Cut back to the batch boundary before the damage: seqs 0..3 remain.
    assert_eq!(saved.next_seq(), Seq(3));
    let side = saved.recovery_report().salvaged_to.clone().unwrap();
    let cut = vfs.open(&side, OpenMode::Read).unwrap().len().unwrap();
    assert!(cut > 0, "the cut bytes were kept in {}", side.display());
}

#[tokio::test]
async fn open_reads_only_the_active_segment() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    append_n(&b, 0, 2_000, 10).await;
    b.close().await.unwrap();
    let active_len = {
        let names = vfs.list(Path::new("/log")).unwrap();
        let last = names
            .iter()
            .rfind(|n| n.to_string_lossy().ends_with(".seg"))
            .unwrap()
            .clone();
        vfs.open(&Path::new("/log").join(last), OpenMode::Read)
            .unwrap()
            .len()
            .unwrap()
    };
    let before = fs.bytes_read();
    let again = SegmentedBackend::open(vfs, "/log", small(ReadMode::Mmap)).unwrap();
    let read = fs.bytes_read() - before;
    assert!(again.segment_count() > 50);
    assert!(
        read <= active_len + 4 * layout::SLOT_LEN as u64,
        "open read {read} bytes; active segment has {active_len}"
    );
    assert_eq!(again.recovery_report().scanned_bytes, active_len);
}

#[tokio::test]
async fn a_roll_that_never_finished_is_undone() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    append_n(&b, 0, 30, 5).await;
    b.close().await.unwrap();
    // A next segment whose preamble never landed: a few zero bytes.
    let torn = vfs
        .open(
            Path::new("/log/00000000000000000030.seg"),
            OpenMode::CreateNew,
        )
        .unwrap();
    torn.write_all_at(&[0u8; 100], 0).unwrap();
    drop(torn);
    let _ = fs;
    let again = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    assert!(again.recovery_report().removed_torn_segment);
    assert_eq!(again.next_seq(), Seq(30));
    append_n(&again, 30, 10, 5).await;
    check_records(&read_all(&again).await, 40);
}

#[tokio::test]
async fn failed_writes_and_syncs_poison_until_reopen() {
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    append_n(&b, 0, 5, 5).await;
    fs.fail_after(0, crate::sim::Fault::Eio, crate::sim::FaultMode::Once);
    assert!(matches!(
        b.sync(Durability::Data).await,
        Err(Error::Io { .. })
    ));
    // Never retried: the next sync fails too, though the disk works again.
    assert!(matches!(
        b.sync(Durability::Data).await,
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(
        b.append(Seq(5), &[rec(5)]).await,
        Err(Error::Poisoned { .. })
    ));
    // Reads still work.
    check_records(&read_all(&b).await, 5);
    assert!(matches!(b.close().await, Err(Error::Poisoned { .. })));
    let again = SegmentedBackend::open(vfs, "/log", small(ReadMode::Mmap)).unwrap();
    assert_eq!(again.next_seq(), Seq(5));
}

#[tokio::test]
async fn retention_drops_whole_sealed_segments_and_mapped_records_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(crate::StdFs);
    let b = SegmentedBackend::open(vfs.clone(), dir.path(), small(ReadMode::Mmap)).unwrap();
    append_n(&b, 0, 300, 5).await;
    // Hold records read through a map of the first (sealed) segment.
    let held = b
        .read(ReadRange {
            from: Seq(0),
            to: Seq(5),
            max_records: 5,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap();
    let before = b.segment_count();
    let start = b.truncate_before(Seq(150)).await.unwrap();
    assert!(start <= Seq(150) && start > Seq(0), "new start {start}");
    assert!(b.segment_count() < before);
    // The unlinked, still-mapped segment's records read fine (R11a).
    for (i, r) in held.iter().enumerate() {
        assert_eq!(r.payload, rec(i as u64).payload);
    }
    assert_eq!(b.start_seq(), start);
    let rest = b
        .read(ReadRange {
            from: start,
            to: Seq(300),
            max_records: usize::MAX,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap();
    assert_eq!(rest.len() as u64, 300 - start.0);
    // The active segment is never dropped, whatever is asked.
    b.truncate_before(Seq(u64::MAX)).await.unwrap();
    assert_eq!(b.segment_count(), 1);
    b.close().await.unwrap();
    let again = SegmentedBackend::open(vfs, dir.path(), small(ReadMode::Mmap)).unwrap();
    assert_eq!(again.next_seq(), Seq(300));
    assert_eq!(again.start_seq(), again.segments()[0].base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_racing_the_writer_see_dense_verified_records_only() {
    // R9c: readers ask for everything (`to = u64::MAX`), so only the
    // published length and end seq bound them, across rolls and seals.
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(crate::StdFs);
    let config = SegmentedConfig {
        segment_bytes: 16 * 1024,
        ..SegmentedConfig::default()
    };
    let b = SegmentedBackend::open(vfs, dir.path(), config).unwrap();
    let total = 6_000u64;
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                let mut seen = 0u64;
                while seen < total {
                    let got = b
                        .read(ReadRange {
                            from: Seq(seen),
                            to: Seq(u64::MAX),
                            max_records: 500,
                            max_bytes: usize::MAX,
                        })
                        .await
                        .unwrap_or_else(|e| panic!("reader at {seen}: {e}"));
                    for r in got {
                        assert_eq!(r.seq, Seq(seen));
                        assert_eq!(r.payload, rec(seen).payload, "seq {seen}");
                        seen += 1;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    append_n(&b, 0, total, 3).await;
    for r in readers {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn a_read_only_reader_follows_the_writer_and_cannot_write() {
    let (_, vfs) = sim();
    let writer = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    append_n(&writer, 0, 100, 4).await;
    let reader =
        SegmentedBackend::open_read_only(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    assert_eq!(reader.next_seq(), Seq(100));
    check_records(&read_all(&reader).await, 100);
    // The writer goes on, through several rolls.
    append_n(&writer, 100, 200, 5).await;
    assert_eq!(reader.next_seq(), Seq(100), "nothing new until refresh");
    assert_eq!(reader.refresh().await.unwrap(), Seq(300));
    check_records(&read_all(&reader).await, 300);
    // Readers never write.
    for err in [
        reader.append(Seq(300), &[rec(300)]).await.unwrap_err(),
        reader.sync(Durability::Data).await.unwrap_err(),
        reader.truncate_before(Seq(10)).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    }
    // A reader takes no lock: the writer can close and reopen meanwhile.
    writer.close().await.unwrap();
    let writer = SegmentedBackend::open(vfs.clone(), "/log", small(ReadMode::Mmap)).unwrap();
    append_n(&writer, 300, 10, 2).await;
    assert_eq!(reader.refresh().await.unwrap(), Seq(310));
    check_records(&read_all(&reader).await, 310);
    reader.close().await.unwrap();
}

#[tokio::test]
async fn a_read_only_reader_stops_at_a_batch_in_flight() {
    let (_, vfs) = sim();
    let writer = SegmentedBackend::open(vfs.clone(), "/log", SegmentedConfig::default()).unwrap();
    append_n(&writer, 0, 12, 3).await;
    // Half a batch lands (the writer's write is in flight): cut its last frame.
    let seg = Path::new("/log/00000000000000000000.seg");
    let f = vfs.open(seg, OpenMode::ReadWrite).unwrap();
    let len = f.len().unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    let reader = SegmentedBackend::open_read_only(vfs, "/log", SegmentedConfig::default()).unwrap();
    assert_eq!(
        reader.next_seq(),
        Seq(9),
        "the torn batch 9..12 is not visible"
    );
    check_records(&read_all(&reader).await, 9);
}

#[tokio::test]
async fn records_stay_readable_after_reopening_with_a_smaller_record_limit() {
    // Regression (review): recovery decoded with the current limit and cut a
    // valid larger frame as a torn tail.
    let (_, vfs) = sim();
    let b = SegmentedBackend::open(vfs.clone(), "/log", SegmentedConfig::default()).unwrap();
    let big = NewRecord {
        timestamp_ms: 0,
        payload: Bytes::from(vec![7u8; 600 * 1024]),
    };
    b.append(Seq(0), &[rec(0), big.clone(), rec(2)])
        .await
        .unwrap();
    drop(b); // as after kill -9: nothing closed
    let smaller = SegmentedConfig {
        max_record_bytes: 512 * 1024,
        ..SegmentedConfig::default()
    };
    let again = SegmentedBackend::open(vfs, "/log", smaller).unwrap();
    assert_eq!(again.next_seq(), Seq(3));
    assert_eq!(again.recovery_report().truncated_bytes, 0);
    assert_eq!(read_all(&again).await[1].payload, big.payload);
    // The smaller limit still bounds new appends.
    assert!(matches!(
        again.append(Seq(3), &[big]).await,
        Err(Error::RecordTooLarge { .. })
    ));
}

/// A batch larger than the write chunk (several vectored writes, payloads
/// both staged and, past the chunk size, passed through) reads back byte
/// for byte, before and after reopening; a crash that keeps only some of
/// its chunks loses the whole batch, never a part of it.
#[tokio::test]
async fn a_batch_of_many_write_chunks_is_whole_or_absent() {
    let pass_through = usize::try_from(batch::WRITE_CHUNK_BYTES).unwrap() + 1000;
    let batch: Vec<NewRecord> = (0..200u64)
        .map(|i| NewRecord {
            timestamp_ms: 7,
            payload: Bytes::from(vec![
                u8::try_from(i % 251).unwrap();
                match i {
                    100 => pass_through,
                    _ if i % 3 == 0 => 70_000,
                    _ => 100,
                }
            ]),
        })
        .collect();
    let total: usize = batch.iter().map(|r| r.payload.len()).sum();
    assert!(
        total as u64 > 4 * batch::WRITE_CHUNK_BYTES,
        "must span several chunks"
    );
    for seed in 0..40 {
        let (fs, vfs) = sim();
        let b = SegmentedBackend::open(vfs.clone(), "/log", SegmentedConfig::default()).unwrap();
        b.append(Seq(0), &batch[..1]).await.unwrap();
        b.sync(Durability::Data).await.unwrap();
        let writes_before = fs.mutations();
        b.append(Seq(1), &batch).await.unwrap();
        assert!(
            fs.mutations() - writes_before > 1,
            "the batch went out in one write; the chunked path is untested"
        );
        let got = read_all(&b).await;
        assert_eq!(got.len(), 201);
        for (r, want) in got[1..].iter().zip(&batch) {
            assert_eq!(r.payload, want.payload);
        }
        if seed == 0 {
            // Synced and reopened: all there.
            b.sync(Durability::Data).await.unwrap();
            drop(b);
            fs.crash(seed);
        } else {
            // Unsynced: the synced record stays, the batch is all or nothing.
            fs.crash(seed);
        }
        let again = SegmentedBackend::open(vfs, "/log", SegmentedConfig::default())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let n = again.next_seq().0;
        if seed == 0 {
            assert_eq!(n, 201);
        }
        assert!(n == 1 || n == 201, "seed {seed}: {n} records survived");
        let got = read_all(&again).await;
        assert_eq!(got.len() as u64, n);
        for (r, want) in got[1..].iter().zip(&batch) {
            assert_eq!(r.payload, want.payload, "seed {seed}");
        }
    }
}

/// Reads that start before the segment's first index entry start at the
/// segment's first frame, not at the entry (the sparse index's first entry
/// is at least 4 KiB in).
#[tokio::test]
async fn reads_before_the_first_index_entry_start_at_the_first_frame() {
    let (_, vfs) = sim();
    let b = SegmentedBackend::open(vfs, "/log", SegmentedConfig::default()).unwrap();
    append_n(&b, 0, 200, 10).await;
    for from in [0u64, 1, 17, 150] {
        let got = b
            .read(ReadRange {
                from: Seq(from),
                to: Seq(from + 5),
                max_records: 5,
                max_bytes: usize::MAX,
            })
            .await
            .unwrap();
        let seqs: Vec<u64> = got.iter().map(|r| r.seq.0).collect();
        assert_eq!(seqs, (from..from + 5).collect::<Vec<_>>(), "from {from}");
    }
}

/// Background writeback: past `writeback_bytes`, the active segment's bytes
/// become durable without a sync call, while the durable point (what an
/// acknowledgement promises) moves only with the writer's own syncs; with
/// it off, nothing reaches the disk until a sync.
#[tokio::test]
async fn background_writeback_flushes_early_without_moving_the_durable_point() {
    for every in [0u64, 16 << 10] {
        let (fs, vfs) = sim();
        let config = SegmentedConfig {
            segment_bytes: 1 << 20,
            writeback_bytes: every,
            ..SegmentedConfig::default()
        };
        let b = SegmentedBackend::open(vfs, "/log", config).unwrap();
        append_n(&b, 0, 300, 10).await;
        assert_eq!(
            b.durable_seq(),
            Seq(0),
            "only the writer's syncs move the durable point"
        );
        let segment = Path::new("/log/00000000000000000000.seg");
        let mut durable = 0;
        for _ in 0..500 {
            durable = fs.durable_bytes(segment).unwrap().len() as u64;
            if every == 0 || durable > every {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if every == 0 {
            assert_eq!(durable, FRAMES_START, "only the preamble is durable");
        } else {
            assert!(durable > every, "written out in the background: {durable}");
        }
        b.close().await.unwrap();
    }
}

/// A failed background writeback poisons the log, and the writer's own
/// fsync after it never reports success: the kernel reports a writeback
/// error to one fsync only (SimFs does the same), so without waiting for
/// the writeback and checking the poison, the next sync would acknowledge
/// pages that never reached the disk.
#[tokio::test]
async fn a_failed_background_writeback_fails_the_next_sync() {
    let config = |every| SegmentedConfig {
        segment_bytes: 1 << 20,
        writeback_bytes: every,
        ..SegmentedConfig::default()
    };
    let batch: Vec<NewRecord> = (0..100).map(rec).collect();
    // How many mutations the append itself makes (no writeback).
    let (probe_fs, probe_vfs) = sim();
    let probe = SegmentedBackend::open(probe_vfs, "/log", config(0)).unwrap();
    let before = probe_fs.mutations();
    probe.append(Seq(0), &batch).await.unwrap();
    let writes = probe_fs.mutations() - before;

    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(vfs, "/log", config(4096)).unwrap();
    // The mutation after the append's writes is the background fsync.
    fs.fail_after(writes, Fault::Eio, FaultMode::Once);
    b.append(Seq(0), &batch).await.unwrap();
    let err = b.sync(Durability::Data).await.unwrap_err();
    assert!(
        matches!(err, Error::Poisoned { .. } | Error::Io { .. }),
        "{err:?}"
    );
    assert_eq!(
        b.durable_seq(),
        Seq(0),
        "nothing was acknowledged as durable"
    );
    assert!(b.append(Seq(100), &[rec(100)]).await.is_err(), "poisoned");
}

/// A roll does not wait for the old segment to reach the disk: its seal is
/// confirmed by the next sync (before that sync is acknowledged). A crash
/// before that loses only unacknowledged records: if the old segment lost
/// its tail, the segment after it is set aside (kept), and the log is a
/// prefix of what was appended.
#[tokio::test]
async fn a_seal_is_confirmed_by_the_next_sync_and_a_crash_before_it_keeps_a_prefix() {
    let config = SegmentedConfig {
        segment_bytes: 4096,
        writeback_bytes: 0,
        ..SegmentedConfig::default()
    };
    // Confirmed by a sync.
    let (fs, vfs) = sim();
    let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", config.clone()).unwrap();
    append_n(&b, 0, 80, 5).await;
    assert!(b.segment_count() >= 2, "rolled");
    // The segment the last roll sealed (earlier ones were confirmed by the
    // rolls after them).
    let mut segs: Vec<_> = vfs
        .list(Path::new("/log"))
        .unwrap()
        .into_iter()
        .filter(|n| n.to_string_lossy().ends_with(".seg"))
        .collect();
    segs.sort();
    let sealed = Path::new("/log").join(&segs[segs.len() - 2]);
    let first = sealed.as_path();
    let sealed_len = vfs.open(first, OpenMode::Read).unwrap().len().unwrap();
    assert!(
        (fs.durable_bytes(first).unwrap().len() as u64) < sealed_len,
        "the roll did not wait for the old segment"
    );
    b.sync(Durability::Data).await.unwrap();
    assert_eq!(
        fs.durable_bytes(first).unwrap().len() as u64,
        sealed_len,
        "the sync made the sealed segment durable first"
    );
    fs.crash(3);
    let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config.clone()).unwrap();
    assert_eq!(again.next_seq(), Seq(80), "everything synced survives");
    check_records(&read_all(&again).await, 80);

    // Crashed before any sync: whatever survives is a prefix, and a segment
    // after a lost tail is kept aside, never deleted.
    for seed in 0..60 {
        let (fs, vfs) = sim();
        let b = SegmentedBackend::open(Arc::clone(&vfs), "/log", config.clone()).unwrap();
        append_n(&b, 0, 80, 5).await;
        fs.crash(seed);
        let again = SegmentedBackend::open(Arc::clone(&vfs), "/log", config.clone())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let n = again.next_seq().0;
        check_records(&read_all(&again).await, n);
        for aside in &again.recovery_report().set_aside {
            assert!(vfs.open(aside, OpenMode::Read).is_ok(), "seed {seed}: kept");
        }
    }
}
