//! Goal: `verify` says what open will do, and `repair` leaves a log that
//! verifies clean and holds a prefix of what was appended, whatever the
//! damage. Method: seeded logs on `SimFs` (tiny segments), damaged one way
//! each (a torn tail, a cut, a flipped bit anywhere, a lost segment, a lost
//! or damaged index); then verify, a strict open, and a salvage repair are
//! checked against each other and against the appended records. Each run
//! prints its seed on failure; `SEED=<n>` replays one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spool_backends::segmented::{repair, verify};
use spool_backends::{LogCheck, Problem, Remedy, SegmentedBackend, SegmentedConfig, SimFs, SimRng};
use spool_engine::{Backend, Durability, Error, NewRecord, OpenMode, ReadRange, Seq, Vfs};
use spool_tests::simulation::payload;

const DIR: &str = "/log";

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 2048,
        ..SegmentedConfig::default()
    }
}

fn files(vfs: &dyn Vfs, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = vfs
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| Path::new(DIR).join(p))
        .collect();
    v.sort();
    v
}

fn len(vfs: &dyn Vfs, path: &Path) -> u64 {
    vfs.open(path, OpenMode::Read).unwrap().len().unwrap()
}

/// Writes a log of 5..125 records in batches of 1..6, synced now and then,
/// then closed, or crashed (unsynced writes torn, lost or kept, as SimFs
/// decides from the seed); returns how many were appended.
fn write_log(
    rt: &tokio::runtime::Runtime,
    fs: &SimFs,
    vfs: &Arc<dyn Vfs>,
    rng: &mut SimRng,
) -> u64 {
    rt.block_on(async {
        let b = SegmentedBackend::open(Arc::clone(vfs), DIR, config()).unwrap();
        let total = 5 + rng.below(120);
        let mut next = 0;
        while next < total {
            let n = (1 + rng.below(6)).min(total - next);
            let batch: Vec<NewRecord> = (next..next + n)
                .map(|i| NewRecord {
                    timestamp_ms: 0,
                    payload: payload(i),
                })
                .collect();
            b.append(Seq(next), &batch).await.unwrap();
            next += n;
            if rng.chance(1, 3) {
                b.sync(Durability::Data).await.unwrap();
            }
        }
        if rng.chance(1, 2) {
            b.close().await.unwrap();
        } else {
            drop(b);
            fs.crash(rng.next_u64());
        }
        next
    })
}

/// Damages the log one way; returns which.
fn damage(fs: &SimFs, vfs: &dyn Vfs, rng: &mut SimRng) -> u64 {
    let segments = files(vfs, ".seg");
    let last = segments.last().unwrap().clone();
    let kind = rng.below(5);
    match kind {
        // A torn tail: bytes after the last frame.
        0 => {
            let f = vfs.open(&last, OpenMode::ReadWrite).unwrap();
            let at = f.len().unwrap();
            let junk: Vec<u8> = (0..=rng.below(80))
                .map(|_| u8::try_from(rng.below(256)).unwrap())
                .collect();
            f.write_all_at(&junk, at).unwrap();
        }
        // The last segment cut anywhere after its header.
        1 => {
            let l = len(vfs, &last);
            let f = vfs.open(&last, OpenMode::ReadWrite).unwrap();
            f.set_len(1536 + rng.below(l.saturating_sub(1536) + 1))
                .unwrap();
        }
        // One bit flipped anywhere in any segment.
        2 => {
            let victim = &segments[usize::try_from(rng.below(segments.len() as u64)).unwrap()];
            let bits = len(vfs, victim) * 8;
            fs.flip_bit(victim, rng.below(bits)).unwrap();
        }
        // A segment lost from the middle.
        3 if segments.len() >= 3 => {
            let gone =
                &segments[1 + usize::try_from(rng.below(segments.len() as u64 - 2)).unwrap()];
            vfs.remove(gone).unwrap();
        }
        // An index lost or damaged.
        _ => {
            if let Some(index) = files(vfs, ".idx").first() {
                if rng.chance(1, 2) {
                    vfs.remove(index).unwrap();
                } else {
                    fs.flip_bit(index, rng.below(len(vfs, index) * 8)).unwrap();
                }
            }
        }
    }
    kind
}

/// What verify says is what a strict open does: it refuses exactly where
/// verify found corruption it reads (the active segment, or the one before
/// it when that one's seal was never confirmed), ends where verify ends when
/// all damage is in the active segment, and cuts a torn tail where verify
/// said.
fn check_open(rt: &tokio::runtime::Runtime, vfs: &Arc<dyn Vfs>, check: &LogCheck, kind: u64) {
    let last = files(vfs.as_ref(), ".seg").pop().unwrap();
    // Open reads only the active segment (R18) and, after a crash, the one
    // before it: damage elsewhere, or a segment missing before it, is
    // verify's to find (and reads' to refuse).
    let only_active = check.findings.iter().all(|f| match f.problem {
        Problem::IndexMissing | Problem::IndexStale => true,
        Problem::SeqGap { .. } => false,
        _ => f.file == last,
    });
    let torn_at = check.findings.iter().find_map(|f| match f.remedy {
        Remedy::Truncate { at } if f.file == last => Some(at),
        _ => None,
    });
    let opened = SegmentedBackend::open(Arc::clone(vfs), DIR, config());
    match &opened {
        Err(Error::Corrupt { object, .. }) => assert!(
            check.findings.iter().any(|f| {
                f.file.to_string_lossy().ends_with(object.as_str())
                    && matches!(f.problem, Problem::Corrupt(_))
            }),
            "damage {kind}: open refused {object}, verify found {:?}",
            check.findings
        ),
        Ok(b) => {
            assert!(
                !check
                    .findings
                    .iter()
                    .any(|f| f.file == last && matches!(f.problem, Problem::Corrupt(_))),
                "damage {kind}: open accepted what verify calls corrupt: {:?}",
                check.findings
            );
            let lost_tail = check
                .findings
                .iter()
                .any(|f| f.problem == Problem::FollowsLostRecords);
            if only_active || lost_tail {
                assert_eq!(b.next_seq(), check.end_seq, "damage {kind}: {check:?}");
            }
            if let Some(at) = torn_at {
                assert_eq!(len(vfs.as_ref(), &last), at, "open cut where verify said");
            }
        }
        Err(other) => panic!("damage {kind}: open failed: {other:?}"),
    }
    if let Ok(b) = opened {
        rt.block_on(b.close()).unwrap();
    }
}

/// Salvage repair: a clean log holding a prefix of what was written (or a
/// refusal, exactly when something must not be cut).
fn check_repair(rt: &tokio::runtime::Runtime, vfs: &Arc<dyn Vfs>, check: &LogCheck, written: u64) {
    let unrepairable = check.findings.iter().any(|f| f.remedy == Remedy::None);
    let report = match repair(vfs.as_ref(), Path::new(DIR), true) {
        Ok(report) => report,
        Err(e) => {
            assert!(unrepairable, "repair failed: {e:?}");
            return;
        }
    };
    assert!(!unrepairable, "repaired what it must not cut");
    assert!(
        report.after.findings.is_empty(),
        "{:?}",
        report.after.findings
    );
    let again = verify(vfs.as_ref(), Path::new(DIR)).unwrap();
    assert!(again.findings.is_empty(), "{:?}", again.findings);
    let end = again.end_seq.0;
    assert!(end <= written);
    rt.block_on(async {
        let b = SegmentedBackend::open(Arc::clone(vfs), DIR, config()).unwrap();
        let records = b.read(ReadRange::all_from(Seq(0))).await.unwrap();
        assert_eq!(records.len() as u64, end, "every kept record reads");
        for r in &records {
            assert_eq!(r.payload, payload(r.seq.0), "seq {}", r.seq.0);
        }
        b.close().await.unwrap();
    });
}

/// One seeded case: write, damage, then check verify, open and repair.
fn case(seed: u64) {
    let mut rng = SimRng::new(seed);
    let fs = Arc::new(SimFs::new(seed));
    let vfs: Arc<dyn Vfs> = fs.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let written = write_log(&rt, &fs, &vfs, &mut rng);
    let kind = damage(&fs, vfs.as_ref(), &mut rng);
    let check = verify(vfs.as_ref(), Path::new(DIR)).unwrap();
    check_open(&rt, &vfs, &check, kind);
    check_repair(&rt, &vfs, &check, written);
}

#[test]
fn verify_agrees_with_open_and_salvage_repair_leaves_a_clean_prefix() {
    if let Ok(seed) = std::env::var("SEED") {
        let seed = seed.parse().expect("SEED must be a number");
        println!("replaying SEED={seed}");
        case(seed);
        return;
    }
    let start: u64 = 0x0EAF_0000;
    for seed in start..start + 3_000 {
        let outcome = std::panic::catch_unwind(|| case(seed));
        assert!(
            outcome.is_ok(),
            "verify/repair case failed; replay with SEED={seed} cargo test -p spool-tests --test suite verify_agrees"
        );
    }
}
