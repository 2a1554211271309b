//! Goal: promises P1 and P3 of the segmented backend at every in-order crash
//! point of a short scripted workload (RELIABILITY.md R5b, in the manner of
//! dm-log-writes and CrashMonkey): synced records survive, what survives is
//! whole batches of exactly what was appended, and recovery never refuses
//! an in-order state or changes its mind when run twice.
//! Method: `SimFs` records every change in program order; each crash point
//! (after every change, and at every 512-byte boundary inside every write)
//! is rebuilt as a fresh file system and opened.

use std::sync::Arc;

use spool_backends::{CrashPoint, SegmentedBackend, SegmentedConfig, SimFs};
use spool_engine::{Backend, Durability, NewRecord, ReadRange, Record, Seq, Vfs};
use spool_tests::simulation::payload;

const DIR: &str = "/log";

fn config() -> SegmentedConfig {
    // Room for a few frames per segment, so the script rolls twice.
    SegmentedConfig {
        segment_bytes: 2048,
        ..SegmentedConfig::default()
    }
}

/// What the script did, and what it was told, up to some journal length.
#[derive(Clone, Copy, Debug)]
struct Ack {
    /// Journal length when the call returned.
    journal: usize,
    /// The backend's durable seq then: records below it must survive any
    /// crash after this point.
    durable: Seq,
    /// Retention asked for records below this seq to go.
    retained_from: Seq,
}

/// The scripted workload: appends of batches of 1–4 records (payloads of
/// the simulation, ~40 B to ~1 KiB), syncs, two rolls, retention, close.
/// Returns the batch boundaries and the acknowledgements.
fn run_script(fs: &Arc<SimFs>) -> (Vec<u64>, Vec<Ack>) {
    let vfs: Arc<dyn Vfs> = fs.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = SegmentedBackend::open(vfs, DIR, config()).unwrap();
        let mut acks = Vec::new();
        let mut boundaries = vec![0];
        let mut retained_from = Seq(0);
        let ack = |b: &SegmentedBackend, retained_from: Seq, acks: &mut Vec<Ack>| {
            acks.push(Ack {
                journal: fs.journal_len(),
                durable: b.durable_seq(),
                retained_from,
            });
        };
        ack(&b, retained_from, &mut acks);
        let script: [(u64, bool); 9] = [
            (3, true),
            (1, false),
            (4, true),
            (2, false),
            (2, true),
            (1, false),
            (3, false),
            (2, true),
            (1, false),
        ];
        let mut next = 0u64;
        for (step, (n, sync)) in script.into_iter().enumerate() {
            let batch: Vec<NewRecord> = (next..next + n)
                .map(|i| NewRecord {
                    timestamp_ms: i64::try_from(i).unwrap(),
                    payload: payload(i),
                })
                .collect();
            next = b.append(Seq(next), &batch).await.unwrap().end.0;
            boundaries.push(next);
            ack(&b, retained_from, &mut acks);
            if sync {
                b.sync(Durability::Data).await.unwrap();
                ack(&b, retained_from, &mut acks);
            }
            if step == 6 {
                retained_from = b.truncate_before(Seq(5)).await.unwrap();
                ack(&b, retained_from, &mut acks);
            }
        }
        b.close().await.unwrap();
        ack(&b, retained_from, &mut acks);
        (boundaries, acks)
    })
}

async fn read_all(b: &SegmentedBackend) -> Vec<Record> {
    b.read(ReadRange::all_from(b.start_seq())).await.unwrap()
}

/// Opens the state at `point` and checks it; returns (start, next).
async fn check_point(
    fs: &SimFs,
    point: CrashPoint,
    boundaries: &[u64],
    acks: &[Ack],
) -> (Seq, Seq) {
    let context = format!("crash point {point:?}");
    let crashed: Arc<dyn Vfs> = Arc::new(fs.at_crash_point(point));
    let b = SegmentedBackend::open(crashed.clone(), DIR, config())
        .unwrap_or_else(|e| panic!("{context}: an in-order state was refused: {e}"));
    let (start, next) = (b.start_seq(), b.next_seq());
    // Everything acknowledged as durable before this point survived.
    let floor = acks
        .iter()
        .filter(|a| a.journal <= point.landed)
        .map(|a| a.durable)
        .max()
        .unwrap_or(Seq(0));
    assert!(
        next >= floor,
        "{context}: next {next:?} below durable {floor:?}"
    );
    // Whole batches only, and nothing never appended.
    assert!(
        boundaries.contains(&next.0),
        "{context}: {next:?} cuts a batch"
    );
    // Retention only removes what it was asked to, and nothing is read
    // that retention removed.
    let retained = acks.iter().map(|a| a.retained_from).max().unwrap_or(Seq(0));
    assert!(start <= retained, "{context}: start {start:?}");
    let records = read_all(&b).await;
    assert_eq!(records.len() as u64, next.0 - start.0, "{context}");
    for (r, seq) in records.iter().zip(start.0..) {
        assert_eq!(r.seq, Seq(seq), "{context}");
        assert_eq!(r.payload, payload(seq), "{context}: payload of {seq}");
        assert_eq!(r.timestamp_ms, i64::try_from(seq).unwrap(), "{context}");
    }
    drop(b);
    // Recovery is idempotent: a second open finds what the first left.
    let again = SegmentedBackend::open(crashed, DIR, config())
        .unwrap_or_else(|e| panic!("{context}: second open: {e}"));
    assert_eq!(
        (again.start_seq(), again.next_seq()),
        (start, next),
        "{context}"
    );
    (start, next)
}

#[test]
fn r5b_every_in_order_crash_point_of_a_scripted_workload_recovers() {
    let fs = Arc::new(SimFs::new(5));
    fs.record_journal();
    let (boundaries, acks) = run_script(&fs);
    let writes = fs.journal_len();
    assert!(
        writes <= 80,
        "R5b is for short workloads; this one made {writes} changes"
    );
    let points = fs.crash_points();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut ends = std::collections::BTreeSet::new();
    let mut starts = std::collections::BTreeSet::new();
    for point in &points {
        let (start, next) = rt.block_on(check_point(&fs, *point, &boundaries, &acks));
        ends.insert(next);
        starts.insert(start);
    }
    // The enumeration reached every batch boundary and the retention, so
    // the checks above ran against every outcome the script can have.
    let all: std::collections::BTreeSet<Seq> = boundaries.iter().copied().map(Seq).collect();
    assert_eq!(ends, all, "not every batch end was a crash outcome");
    assert!(starts.len() > 1, "no crash point saw the retention land");
    eprintln!(
        "R5b: {} crash points over {writes} changes, all recovered",
        points.len()
    );
}
